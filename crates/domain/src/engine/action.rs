//! Typed actions: what a channel asks the engine to do, parsed once from the wire request
//! ([`ActionRequest`]) so that each action carries exactly the fields it needs, and a missing or
//! invalid field is refused naming it before anything is read or written. Which action may be
//! fired from which state, by whom and with what note stays data (the workflows); the name that
//! data refers to is [`Action::name`].

use super::ActionRequest;
use crate::calendar::Limit;
use crate::dispute::{Agreement, AgreementInput, Session, SessionInput};
use crate::error::FieldError;
use uuid::Uuid;

/// A supervision level (督办): a yellow or a red card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Yellow,
    Red,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Yellow => "yellow",
            Level::Red => "red",
        }
    }
}

/// One action with the fields it needs, grouped as the engine applies them.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    // Intake and registration (受理立案).
    Register,
    Reject,
    Void,
    /// Marks the case a duplicate of `of` (an earlier case the caller checks exists).
    LinkDuplicate {
        of: Uuid,
    },
    SelfHandle,
    Accept,
    NotAccept,
    /// A note from a machine channel (an Open311 update); changes nothing else.
    Comment,
    // Dispatch and handling (派遣处置).
    /// A department code; the caller checks it exists and serves the case.
    Dispatch {
        department: String,
    },
    Return,
    Handle,
    Verify {
        passed: bool,
    },
    Acknowledge,
    // Deadlines: extensions, suspension, urgency (时限).
    /// `None`: the transition's statutory maximum, or the handling stage's limit.
    RequestExtension {
        extend_by: Option<Limit>,
    },
    ApproveExtension,
    RefuseExtension,
    Suspend,
    Resume,
    Expedite,
    // Supervision (督办).
    /// `None`: red when the case is overdue now, yellow otherwise.
    Supervise {
        level: Option<Level>,
    },
    // Closing and rating (结案、评价).
    Close,
    Rate {
        score: u8,
    },
    // Dispute mediation (人民调解).
    /// A mediator record's id; `method` a checked mediation method code (01xx), else the
    /// committee's default.
    Assign {
        mediator: Uuid,
        method: Option<String>,
    },
    /// Checked by the engine against the day it is recorded on (no session in the future).
    RecordSession(SessionInput),
    ReachAgreement(Agreement),
    FollowUp {
        honoured: bool,
    },
    RecordCourtConfirmation {
        court: String,
        confirmed: bool,
    },
    RemindCourtConfirmation,
    /// Where a failed mediation goes (诉调对接); `method` is checked against the destination.
    HandOn {
        destination: String,
        body: String,
        method: String,
    },
    CloseResolved,
    CloseUnresolved,
    FailMediation,
    RefuseMediation,
    Evaluate,
    // Petition handling (信访).
    /// The competent body's department code (转送).
    Forward {
        department: String,
    },
    Object,
    Reply,
    TakeCharge,
    RequestReview,
    AnswerReview,
    RequestReReview,
    AnswerReReview,
    Conclude,
}

/// An action with what every action may carry: the note (some workflows require it).
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub action: Action,
    /// Trimmed, non-empty, at most 4,000 characters.
    pub note: Option<String>,
}

impl Command {
    /// An action without a note.
    pub fn new(action: Action) -> Command {
        Command { action, note: None }
    }

    /// An action with a note (the channel's own words, checked like a request's).
    pub fn noted(action: Action, note: impl Into<String>) -> Result<Command, FieldError> {
        Ok(Command {
            action,
            note: check_note(Some(&note.into()))?,
        })
    }
}

/// What a dispute's mediation ended in (调解结果).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Resolved,
    Unresolved,
    NotMediated,
    HandedOn {
        destination: String,
        body: String,
        method: String,
    },
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Resolved => "resolved",
            Outcome::Unresolved => "unresolved",
            Outcome::NotMediated => "not_mediated",
            Outcome::HandedOn { .. } => "handed_on",
        }
    }
}

/// Which answer of a petition an answer effect records (答复, 复查意见, 复核意见).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    Reply,
    ReviewAnswer,
    ReReviewAnswer,
}

impl AnswerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerKind::Reply => "reply",
            AnswerKind::ReviewAnswer => "review_answer",
            AnswerKind::ReReviewAnswer => "re_review_answer",
        }
    }
}

/// What an applied action asks to be recorded beside the case (a dispute's or a petition's own
/// records), as data: the caller checks what needs storage and writes them in the case's
/// transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// The mediator takes the dispute; `method` `None` means the committee's default method.
    AssignMediator {
        mediator: Uuid,
        method: Option<String>,
    },
    RecordSession(Session),
    RecordAgreement(Agreement),
    FollowUp {
        honoured: bool,
    },
    /// Only a written agreement, within its confirmation window, can be confirmed.
    CourtConfirmation {
        court: String,
        confirmed: bool,
    },
    ConfirmationReminded,
    /// The dispute ends; `result` is the note given with it.
    Conclude {
        outcome: Outcome,
        result: Option<String>,
    },
    Evaluate {
        text: String,
    },
    /// The case duplicates `of`: a repeated petition is counted on its original.
    LinkDuplicate {
        of: Uuid,
    },
    /// The acting official takes charge of a petition (领导包案).
    TakeCharge,
    Answer {
        kind: AnswerKind,
        text: String,
    },
}

/// Every action name the engine knows; the workflows (data) may use any of them.
pub const ACTION_NAMES: [&str; 43] = [
    "register",
    "reject",
    "void",
    "link_duplicate",
    "self_handle",
    "accept",
    "not_accept",
    "comment",
    "dispatch",
    "return",
    "handle",
    "verify",
    "acknowledge",
    "request_extension",
    "approve_extension",
    "refuse_extension",
    "suspend",
    "resume",
    "expedite",
    "supervise",
    "close",
    "rate",
    "assign",
    "record_session",
    "reach_agreement",
    "follow_up",
    "record_court_confirmation",
    "remind_court_confirmation",
    "hand_on",
    "close_resolved",
    "close_unresolved",
    "fail_mediation",
    "refuse_mediation",
    "evaluate",
    "forward",
    "object",
    "reply",
    "take_charge",
    "request_review",
    "answer_review",
    "request_re_review",
    "answer_re_review",
    "conclude",
];

impl Action {
    /// The name workflows know this action by.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::Reject => "reject",
            Action::Void => "void",
            Action::LinkDuplicate { .. } => "link_duplicate",
            Action::SelfHandle => "self_handle",
            Action::Accept => "accept",
            Action::NotAccept => "not_accept",
            Action::Comment => "comment",
            Action::Dispatch { .. } => "dispatch",
            Action::Return => "return",
            Action::Handle => "handle",
            Action::Verify { .. } => "verify",
            Action::Acknowledge => "acknowledge",
            Action::RequestExtension { .. } => "request_extension",
            Action::ApproveExtension => "approve_extension",
            Action::RefuseExtension => "refuse_extension",
            Action::Suspend => "suspend",
            Action::Resume => "resume",
            Action::Expedite => "expedite",
            Action::Supervise { .. } => "supervise",
            Action::Close => "close",
            Action::Rate { .. } => "rate",
            Action::Assign { .. } => "assign",
            Action::RecordSession(_) => "record_session",
            Action::ReachAgreement(_) => "reach_agreement",
            Action::FollowUp { .. } => "follow_up",
            Action::RecordCourtConfirmation { .. } => "record_court_confirmation",
            Action::RemindCourtConfirmation => "remind_court_confirmation",
            Action::HandOn { .. } => "hand_on",
            Action::CloseResolved => "close_resolved",
            Action::CloseUnresolved => "close_unresolved",
            Action::FailMediation => "fail_mediation",
            Action::RefuseMediation => "refuse_mediation",
            Action::Evaluate => "evaluate",
            Action::Forward { .. } => "forward",
            Action::Object => "object",
            Action::Reply => "reply",
            Action::TakeCharge => "take_charge",
            Action::RequestReview => "request_review",
            Action::AnswerReview => "answer_review",
            Action::RequestReReview => "request_re_review",
            Action::AnswerReReview => "answer_re_review",
            Action::Conclude => "conclude",
        }
    }

    /// The workflow guard this action picks among transitions of the same name.
    pub fn guard(&self) -> Option<&'static str> {
        match self {
            Action::Verify { passed: true } => Some("passed"),
            Action::Verify { passed: false } => Some("failed"),
            _ => None,
        }
    }

    /// The action named `name`, when it needs no field of its own.
    fn plain(name: &str) -> Option<Action> {
        Some(match name {
            "register" => Action::Register,
            "reject" => Action::Reject,
            "void" => Action::Void,
            "self_handle" => Action::SelfHandle,
            "accept" => Action::Accept,
            "not_accept" => Action::NotAccept,
            "comment" => Action::Comment,
            "return" => Action::Return,
            "handle" => Action::Handle,
            "acknowledge" => Action::Acknowledge,
            "approve_extension" => Action::ApproveExtension,
            "refuse_extension" => Action::RefuseExtension,
            "suspend" => Action::Suspend,
            "resume" => Action::Resume,
            "expedite" => Action::Expedite,
            "close" => Action::Close,
            "remind_court_confirmation" => Action::RemindCourtConfirmation,
            "close_resolved" => Action::CloseResolved,
            "close_unresolved" => Action::CloseUnresolved,
            "fail_mediation" => Action::FailMediation,
            "refuse_mediation" => Action::RefuseMediation,
            "evaluate" => Action::Evaluate,
            "object" => Action::Object,
            "reply" => Action::Reply,
            "take_charge" => Action::TakeCharge,
            "request_review" => Action::RequestReview,
            "answer_review" => Action::AnswerReview,
            "request_re_review" => Action::RequestReReview,
            "answer_re_review" => Action::AnswerReReview,
            "conclude" => Action::Conclude,
            _ => return None,
        })
    }
}

/// A trimmed, non-empty text field, or the error naming it.
fn required_text(v: Option<&str>, field: &str, missing: &str) -> Result<String, FieldError> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| FieldError::new(field, missing))
}

fn at_most(v: String, field: &str, max: usize) -> Result<String, FieldError> {
    if v.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v)
}

fn check_note(note: Option<&str>) -> Result<Option<String>, FieldError> {
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) => at_most(n.to_string(), "note", 4000).map(Some),
    }
}

impl TryFrom<&ActionRequest> for Command {
    type Error = FieldError;

    /// Reads the fields the named action needs and checks each; the first missing or invalid
    /// one is the error. Fields the action does not use are ignored, as they always were.
    fn try_from(req: &ActionRequest) -> Result<Command, FieldError> {
        let name = req.action.trim();
        if name.is_empty() {
            return Err(FieldError::new("action", "is required"));
        }
        let note = check_note(req.note.as_deref())?;
        let action = match name {
            "link_duplicate" => Action::LinkDuplicate {
                of: req.of.ok_or_else(|| {
                    FieldError::new("of", "is required: the id of the case this one duplicates")
                })?,
            },
            "dispatch" => Action::Dispatch {
                department: required_text(
                    req.department.as_deref(),
                    "department",
                    "is required for dispatch (a department code)",
                )?,
            },
            "forward" => Action::Forward {
                department: required_text(
                    req.department.as_deref(),
                    "department",
                    "is required for forward (the competent body's department code)",
                )?,
            },
            "verify" => Action::Verify {
                passed: req.passed.ok_or_else(|| {
                    FieldError::new("passed", "is required for verify (true or false)")
                })?,
            },
            "request_extension" => Action::RequestExtension {
                extend_by: req
                    .extend_by
                    .as_deref()
                    .map(|s| {
                        s.parse::<Limit>()
                            .map_err(|e| FieldError::new("extend_by", e.reason))
                    })
                    .transpose()?,
            },
            "supervise" => Action::Supervise {
                level: match req.level.as_deref() {
                    None => None,
                    Some("yellow") => Some(Level::Yellow),
                    Some("red") => Some(Level::Red),
                    Some(_) => return Err(FieldError::new("level", "must be yellow or red")),
                },
            },
            "rate" => {
                let score = req
                    .score
                    .ok_or_else(|| FieldError::new("score", "is required for rate (1 to 5)"))?;
                match u8::try_from(score) {
                    Ok(s @ 1..=5) => Action::Rate { score: s },
                    _ => return Err(FieldError::new("score", "must be between 1 and 5")),
                }
            }
            "assign" => Action::Assign {
                mediator: req.mediator.ok_or_else(|| {
                    FieldError::new(
                        "mediator",
                        "is required for assign (a mediator's id, see GET /api/v1/mediators)",
                    )
                })?,
                method: req
                    .method
                    .as_deref()
                    .map(crate::dispute::mediation_method)
                    .transpose()?,
            },
            "record_session" => Action::RecordSession(
                req.session
                    .clone()
                    .ok_or_else(|| FieldError::new("session", "is required for record_session"))?,
            ),
            "reach_agreement" => Action::ReachAgreement(
                req.agreement
                    .as_ref()
                    .ok_or_else(|| FieldError::new("agreement", "is required for reach_agreement"))
                    .and_then(AgreementInput::validate)?,
            ),
            "follow_up" => Action::FollowUp {
                honoured: req.honoured.ok_or_else(|| {
                    FieldError::new("honoured", "is required for follow_up (true or false)")
                })?,
            },
            "record_court_confirmation" => {
                let court = required_text(
                    req.court.as_deref(),
                    "court",
                    "is required: the court that ruled",
                )?;
                Action::RecordCourtConfirmation {
                    court: at_most(court, "court", 100)?,
                    confirmed: req.confirmed.ok_or_else(|| {
                        FieldError::new(
                            "confirmed",
                            "is required (true if the court confirmed the agreement)",
                        )
                    })?,
                }
            }
            "hand_on" => {
                let destination = required_text(
                    req.destination.as_deref(),
                    "destination",
                    "is required: arbitration, litigation or administrative",
                )?;
                let method = crate::dispute::hand_on_method(&destination, req.method.as_deref())?;
                let body = required_text(
                    req.destination_body.as_deref(),
                    "destination_body",
                    "is required: the body the dispute goes to",
                )?;
                Action::HandOn {
                    destination,
                    body: at_most(body, "destination_body", 100)?,
                    method,
                }
            }
            other => Action::plain(other).ok_or_else(|| {
                FieldError::new(
                    "action",
                    format!(
                        "unknown action {other}; actions: {}",
                        ACTION_NAMES.join(", ")
                    ),
                )
            })?,
        };
        Ok(Command { action, note })
    }
}

impl TryFrom<ActionRequest> for Command {
    type Error = FieldError;

    fn try_from(req: ActionRequest) -> Result<Command, FieldError> {
        Command::try_from(&req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: serde_json::Value) -> Result<Command, FieldError> {
        let req: ActionRequest = serde_json::from_value(v).expect("a well-formed request");
        Command::try_from(req)
    }

    fn missing(v: serde_json::Value) -> String {
        parse(v).expect_err("refused").field
    }

    #[test]
    fn every_name_parses_to_itself_or_names_its_missing_field() {
        for name in ACTION_NAMES {
            match parse(serde_json::json!({ "action": name })) {
                Ok(c) => assert_eq!(c.action.name(), name),
                Err(e) => assert_ne!(e.field, "action", "{name} is a known action"),
            }
        }
    }

    #[test]
    fn a_missing_field_is_named() {
        use serde_json::json;
        assert_eq!(missing(json!({"action": "dispatch"})), "department");
        assert_eq!(
            missing(json!({"action": "dispatch", "department": "  "})),
            "department"
        );
        assert_eq!(missing(json!({"action": "forward"})), "department");
        assert_eq!(missing(json!({"action": "verify"})), "passed");
        assert_eq!(missing(json!({"action": "rate"})), "score");
        assert_eq!(missing(json!({"action": "link_duplicate"})), "of");
        assert_eq!(missing(json!({"action": "assign"})), "mediator");
        assert_eq!(missing(json!({"action": "record_session"})), "session");
        assert_eq!(missing(json!({"action": "reach_agreement"})), "agreement");
        assert_eq!(missing(json!({"action": "follow_up"})), "honoured");
        assert_eq!(
            missing(json!({"action": "record_court_confirmation", "confirmed": true})),
            "court"
        );
        assert_eq!(
            missing(json!({"action": "record_court_confirmation", "court": "吴兴区人民法院"})),
            "confirmed"
        );
        assert_eq!(missing(json!({"action": "hand_on"})), "destination");
        assert_eq!(
            missing(json!({"action": "hand_on", "destination": "arbitration"})),
            "destination_body"
        );
        assert_eq!(missing(json!({"action": ""})), "action");
        assert_eq!(missing(json!({"action": "teleport"})), "action");
    }

    #[test]
    fn an_invalid_field_is_named() {
        use serde_json::json;
        assert_eq!(missing(json!({"action": "rate", "score": 0})), "score");
        assert_eq!(missing(json!({"action": "rate", "score": 6})), "score");
        assert_eq!(missing(json!({"action": "rate", "score": -300})), "score");
        assert_eq!(
            missing(json!({"action": "supervise", "level": "green"})),
            "level"
        );
        assert_eq!(
            missing(json!({"action": "request_extension", "extend_by": "soon"})),
            "extend_by"
        );
        let mediator = Uuid::now_v7();
        assert_eq!(
            missing(json!({"action": "assign", "mediator": mediator, "method": "0301"})),
            "method"
        );
        assert_eq!(
            missing(
                json!({"action": "reach_agreement", "agreement": {"form": "sung", "content": "x"}})
            ),
            "agreement.form"
        );
        assert_eq!(
            missing(json!({"action": "hand_on", "destination": "heaven", "destination_body": "x"})),
            "destination"
        );
        let long = "长".repeat(101);
        assert_eq!(
            missing(
                json!({"action": "record_court_confirmation", "court": long, "confirmed": true})
            ),
            "court"
        );
        assert_eq!(
            missing(json!({"action": "comment", "note": "长".repeat(4001)})),
            "note"
        );
    }

    #[test]
    fn the_fields_an_action_needs_are_carried_checked() {
        use serde_json::json;
        let c = parse(json!({"action": " dispatch ", "department": " 330502-cgj ", "note": "  "}))
            .unwrap();
        assert_eq!(
            c,
            Command {
                action: Action::Dispatch {
                    department: "330502-cgj".into()
                },
                note: None
            }
        );
        let c = parse(json!({"action": "verify", "passed": false, "note": " 未修好 "})).unwrap();
        assert_eq!(c.action, Action::Verify { passed: false });
        assert_eq!(c.action.guard(), Some("failed"));
        assert_eq!(c.note.as_deref(), Some("未修好"));
        let c =
            parse(json!({"action": "request_extension", "extend_by": "2 working_days"})).unwrap();
        assert_eq!(
            c.action,
            Action::RequestExtension {
                extend_by: Some("2 working_days".parse().unwrap())
            }
        );
        let c = parse(json!({"action": "supervise"})).unwrap();
        assert_eq!(c.action, Action::Supervise { level: None });
        let c = parse(json!({"action": "rate", "score": 4})).unwrap();
        assert_eq!(c.action, Action::Rate { score: 4 });
        let c = parse(
            json!({"action": "hand_on", "destination": "arbitration", "destination_body": "湖州市劳动人事争议仲裁委员会"}),
        )
        .unwrap();
        let Action::HandOn { method, .. } = c.action else {
            panic!("a hand-on")
        };
        assert!(
            method.starts_with("02"),
            "the destination's default: {method}"
        );
        // Fields another action would use are ignored, as the wire format always allowed.
        let c = parse(json!({"action": "register", "department": "x", "score": 9})).unwrap();
        assert_eq!(c.action, Action::Register);
    }
}
