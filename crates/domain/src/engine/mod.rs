//! The case engine (案件引擎): one engine for every case type. Given a case, an actor and an
//! action, it consults the case type's workflow (data), checks the actor may fire it here, runs
//! the deadline clocks and returns the new case, the history entry and the KPI counter delta.
//! Pure: storage persists the result atomically with a version check.
//!
//! An action arrives typed ([`Command`], parsed once from the wire's [`ActionRequest`]) and is
//! applied by concern: intake and registration, dispatch and handling, deadlines, supervision,
//! closing and rating, dispute mediation, petition handling. What a dispute or petition must
//! record beside the case comes back as [`Effect`]s.

mod action;
mod closing;
mod deadlines;
mod handling;
mod intake;
mod mediation;
mod petition;
mod supervision;

pub use action::{ACTION_NAMES, Action, AnswerKind, Command, Effect, Level, Outcome};

use crate::calendar::{Light, Limit, WorkCalendar, light};
use crate::catalog::{Stage, Urgency};
use crate::codes::{CaseNumber, GridCode, PersonName, Phone, RegionCode};
use crate::error::FieldError;
use crate::kpi::Counters;
use crate::role::Role;
use crate::workflow::{Clock, StateDef, Target, TransitionDef, Workflow, workflow};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A case as the engine sees it; storage keeps exactly these fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: Uuid,
    /// The 6-digit county code: part of every key so the schema can be distributed by county.
    pub county_code: String,
    /// None only before the case is first stored: the intake writer draws the number from the
    /// county's and day's sequence in the transaction that stores it.
    pub number: Option<CaseNumber>,
    /// Public tracking code given to the reporter (查询码).
    pub tracking_code: String,
    pub case_type: String,
    pub category: String,
    pub status: String,
    pub urgency: Urgency,
    pub channel: String,
    pub description: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub grid_code: Option<GridCode>,
    pub region_code: RegionCode,
    /// No grid contains the point: a dispatcher must assign one by hand.
    pub needs_grid: bool,
    /// Reported by address only: a dispatcher must place it on the map.
    pub needs_location: bool,
    pub department: Option<String>,
    pub reporter_name: Option<PersonName>,
    pub reporter_phone: Option<Phone>,
    pub reporter_user: Option<Uuid>,
    /// The reporter asked to stay anonymous (匿名): contact kept only for the call-back.
    pub reporter_anonymous: bool,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub registered_at: Option<DateTime<Utc>>,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub handled_at: Option<DateTime<Utc>>,
    pub verified_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The handling deadline (处置时限): provisional until dispatch, moved by extension and suspension.
    pub due_at: Option<DateTime<Utc>>,
    pub stage: Option<Stage>,
    /// The current stage's limit, e.g. "3 working_days".
    pub stage_limit: Option<String>,
    pub stage_started_at: Option<DateTime<Utc>>,
    pub stage_due_at: Option<DateTime<Utc>>,
    /// When the current stage reaches 80 % of its limit (将到期, yellow).
    pub stage_yellow_at: Option<DateTime<Utc>>,
    /// The light last recorded by the deadline job (the live light is computed on read).
    pub light: Light,
    pub suspended_from: Option<String>,
    /// Clock minutes left in the stage when it was suspended.
    pub suspended_remaining: Option<i64>,
    pub supervision: Option<String>,
    pub expedited: bool,
    pub duplicate_of: Option<Uuid>,
    pub rating: Option<i16>,
    pub rework_count: i32,
    pub return_count: i32,
    pub extension_count: i32,
    /// Requested extension awaiting approval, e.g. "2 working_days".
    pub pending_extension: Option<String>,
    pub ever_overdue: bool,
    pub version: i64,
}

impl Case {
    /// The case number as people read it (案件编号); empty before the case is first stored.
    pub fn number_text(&self) -> String {
        self.number.map(|n| n.to_string()).unwrap_or_default()
    }
}

/// Who acts: an authenticated account, or the system job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub username: String,
    pub role: Role,
    pub department: Option<String>,
    /// Grid codes looked after (grid workers) — empty means no grid restriction.
    pub grids: Vec<String>,
    /// Region codes (12-digit) covered — empty means the whole deployment.
    pub regions: Vec<String>,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            id: None,
            username: "system".into(),
            role: Role::System,
            department: None,
            grids: vec![],
            regions: vec![],
        }
    }

    /// Whether a 12-digit region code lies in this actor's territory.
    pub fn covers_region(&self, region: &str) -> bool {
        self.regions.is_empty()
            || self
                .regions
                .iter()
                .any(|r| match crate::codes::RegionCode::parse(r) {
                    Ok(code) => region.starts_with(code.short()),
                    Err(_) => false,
                })
    }
}

/// An action request as it arrives from the API and the forms (the wire type): parsed into a
/// [`Command`] before anything else (`Command::try_from`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ActionRequest {
    pub action: String,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub passed: Option<bool>,
    #[serde(default)]
    pub score: Option<i64>,
    #[serde(default)]
    pub of: Option<Uuid>,
    /// Supervision level: "yellow" or "red" (黄牌/红牌).
    #[serde(default)]
    pub level: Option<String>,
    /// Extension asked for, e.g. "2 working_days".
    #[serde(default)]
    pub extend_by: Option<String>,
    /// The mediator (调解员) a dispute is assigned to: a mediator record's id.
    #[serde(default)]
    pub mediator: Option<Uuid>,
    /// Resolution method code (化解方式, GB/T 31000 table 30), with `assign` or `hand_on`.
    #[serde(default)]
    pub method: Option<String>,
    /// A mediation session, with `record_session`.
    #[serde(default)]
    pub session: Option<crate::dispute::SessionInput>,
    /// The agreement, with `reach_agreement`.
    #[serde(default)]
    pub agreement: Option<crate::dispute::AgreementInput>,
    /// Where a failed mediation goes (诉调对接): arbitration | litigation | administrative.
    #[serde(default)]
    pub destination: Option<String>,
    /// The body it goes to, e.g. "湖州市劳动人事争议仲裁委员会".
    #[serde(default)]
    pub destination_body: Option<String>,
    /// Whether the agreement was honoured, with `follow_up`.
    #[serde(default)]
    pub honoured: Option<bool>,
    /// The court of a joint confirmation (司法确认), with `record_court_confirmation`.
    #[serde(default)]
    pub court: Option<String>,
    /// Whether the court confirmed the agreement.
    #[serde(default)]
    pub confirmed: Option<bool>,
    #[serde(default)]
    pub version: Option<i64>,
}

/// One entry of a case's history: recorded for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub actor_role: Role,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
    pub data: serde_json::Value,
}

/// What applying an action produced.
#[derive(Debug, Clone)]
pub struct Applied {
    pub case: Case,
    pub event: Event,
    pub counters: Counters,
    /// What the case's type must record beside it (a dispute's mediator, a petition's answer).
    pub effects: Vec<Effect>,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error("action {action} is not allowed in state {state}; allowed: {}", allowed.join(", "))]
    NotAllowed {
        action: String,
        state: String,
        allowed: Vec<String>,
    },
    #[error("role {role} may not {action} this case")]
    Forbidden { role: Role, action: String },
    #[error("unknown action {action}; actions of {case_type}: {}", known.join(", "))]
    UnknownAction {
        action: String,
        case_type: String,
        known: Vec<String>,
    },
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("unknown case type {0}")]
    UnknownCaseType(String),
}

/// Limits of the case's category and urgency, per stage.
pub trait Limits: Send + Sync {
    fn limit(&self, category: &str, urgency: Urgency, stage: Stage) -> Limit;
}

/// What the engine needs from the deployment.
pub struct Context<'a> {
    pub calendar: &'a WorkCalendar,
    pub limits: &'a dyn Limits,
    pub now: DateTime<Utc>,
}

fn wf_of(case_type: &str) -> Result<&'static Workflow, EngineError> {
    workflow(case_type).ok_or_else(|| EngineError::UnknownCaseType(case_type.to_string()))
}

/// Whether this particular actor (not just the role) may act on this case.
fn actor_fits(case: &Case, actor: &Actor, action: &str) -> bool {
    match actor.role {
        Role::System => true,
        Role::Handler => case.department.is_some() && case.department == actor.department,
        Role::GridWorker => match &case.grid_code {
            Some(g) => actor.grids.is_empty() || actor.grids.iter().any(|a| a == g.as_str()),
            None => actor.covers_region(case.region_code.as_str()),
        },
        Role::Citizen => {
            action == "rate"
                && ((case.reporter_user.is_some() && case.reporter_user == actor.id)
                    || (actor.id.is_none() && actor.username == tracking_holder(case).username))
        }
        _ => actor.covers_region(case.region_code.as_str()),
    }
}

/// The anonymous resident who holds the case's tracking code (查询码): without an account, the
/// code is what proves they reported it, so they may rate the result (once, like any citizen).
/// The channel that read the code builds this actor; it fits no other case.
pub fn tracking_holder(case: &Case) -> Actor {
    Actor {
        id: None,
        username: format!("resident:{}", case.tracking_code),
        role: Role::Citizen,
        department: None,
        grids: vec![],
        regions: vec![],
    }
}

/// The actions this actor may fire on this case now (for `allowed_actions`).
pub fn allowed_actions(case: &Case, actor: &Actor) -> Vec<String> {
    let Ok(wf) = wf_of(&case.case_type) else {
        return vec![];
    };
    wf.actions_for(&case.status, actor.role)
        .into_iter()
        .filter(|a| actor_fits(case, actor, a))
        .filter(|a| !(*a == "rate" && case.rating.is_some()))
        .map(str::to_string)
        .collect()
}

fn limit_of(ctx: &Context, case: &Case, stage: Stage) -> Limit {
    ctx.limits.limit(&case.category, case.urgency, stage)
}

/// Starts the clock of `stage` at `now`, with the limit the entered state sets by law (if any)
/// instead of the catalog's. A party's window has a due time but no yellow mark, so the
/// deadline job never supervises it.
fn start_stage(ctx: &Context, case: &mut Case, stage: Stage, state: Option<&StateDef>) {
    let limit = state
        .and_then(|s| s.limit)
        .unwrap_or_else(|| limit_of(ctx, case, stage));
    case.stage = Some(stage);
    case.stage_limit = Some(limit.to_string());
    case.stage_started_at = Some(ctx.now);
    if state.is_some_and(|s| s.party_window) {
        // No official is due anything: the window is enforced from `stage_started_at` by the
        // transitions' `within`, and no due time means no light, no watch, no overdue.
        case.stage_due_at = None;
        case.stage_yellow_at = None;
    } else {
        case.stage_due_at = Some(ctx.calendar.due(ctx.now, limit));
        case.stage_yellow_at = Some(ctx.calendar.yellow_at(ctx.now, limit));
    }
    case.light = Light::Green;
    if stage == Stage::Handle {
        case.due_at = case.stage_due_at;
    }
}

pub(crate) fn parse_limit(s: &str, field: &str) -> Result<Limit, FieldError> {
    s.parse::<Limit>()
        .map_err(|e| FieldError::new(field, e.reason))
}

/// One action being applied: the case as it was, the case as it becomes, and what the action
/// records (history data, KPI counters, the effects its type's records need).
struct Step<'a> {
    ctx: &'a Context<'a>,
    /// The case as it was before the action.
    case: &'a Case,
    /// The case as the action leaves it.
    c: Case,
    k: Counters,
    data: serde_json::Map<String, serde_json::Value>,
    effects: Vec<Effect>,
    note: Option<&'a str>,
    /// Whether the stage the case was in was left within its limit.
    left_on_time: bool,
    transition: &'a TransitionDef,
}

impl Step<'_> {
    fn now(&self) -> DateTime<Utc> {
        self.ctx.now
    }

    /// The note given with the action, as the text of a record beside the case.
    fn note_text(&self) -> String {
        self.note.unwrap_or_default().to_string()
    }

    /// Marks the case handled (处置完成): counted once, on time if its stage was.
    fn mark_handled(&mut self) {
        if self.case.handled_at.is_none() {
            self.k.handled += 1;
            self.k.handled_on_time += i64::from(self.left_on_time);
        }
        self.c.handled_at = Some(self.now());
    }

    /// Marks the case registered (立案): counted once per registration.
    fn mark_registered(&mut self) {
        self.c.registered_at = Some(self.now());
        self.k.registered += 1;
        self.k.registered_on_time += i64::from(self.left_on_time);
    }

    /// Closes a dispute or petition (办结): counted once, on time unless it ever ran late.
    fn close_case(&mut self) {
        if self.c.closed_at.is_none() {
            self.c.closed_at = Some(self.now());
            self.k.closed += 1;
            self.k.closed_on_time += i64::from(!self.c.ever_overdue);
        }
    }
}

/// Applies `cmd` to `case` on behalf of `actor`: the workflow (data) says whether the action's
/// name may be fired from the case's state by this actor and whether a note is required; the
/// action's own fields were checked when it was parsed. Existence checks that need storage (the
/// department of a dispatch, the original of a duplicate, a dispute's mediator) are the
/// caller's, from the action and the returned [`Applied::effects`].
pub fn apply(
    case: &Case,
    cmd: &Command,
    actor: &Actor,
    ctx: &Context,
) -> Result<Applied, EngineError> {
    let wf = wf_of(&case.case_type)?;
    let action = cmd.action.name();
    let known = wf.action_names();
    if !known.contains(&action) {
        return Err(EngineError::UnknownAction {
            action: action.to_string(),
            case_type: case.case_type.clone(),
            known: known.iter().map(|s| s.to_string()).collect(),
        });
    }
    let not_allowed = || EngineError::NotAllowed {
        action: action.to_string(),
        state: case.status.clone(),
        allowed: allowed_actions(case, actor),
    };
    let Some(t) = wf.transition(&case.status, action, cmd.action.guard()) else {
        return Err(not_allowed());
    };
    if (actor.role != Role::System && !t.roles.contains(&actor.role))
        || !actor_fits(case, actor, action)
    {
        return Err(EngineError::Forbidden {
            role: actor.role,
            action: action.to_string(),
        });
    }
    if t.note_required && cmd.note.is_none() {
        return Err(FieldError::new(
            "note",
            format!("is required for {action} (give the reason)"),
        )
        .into());
    }
    let now = ctx.now;
    if let Some(window) = t.within {
        let entered = case.stage_started_at.unwrap_or(case.updated_at);
        let closes = ctx.calendar.due(entered, window);
        if now > closes {
            return Err(EngineError::NotAllowed {
                action: action.to_string(),
                state: format!(
                    "{} (the window of {window} for {action} closed at {})",
                    case.status,
                    crate::calendar::to_local(closes).to_rfc3339()
                ),
                allowed: allowed_actions(case, actor),
            });
        }
    }
    let to_state = match &t.to {
        Target::Same => case.status.clone(),
        Target::State(s) => s.clone(),
        Target::Previous => case
            .suspended_from
            .clone()
            .unwrap_or_else(|| wf.initial.clone()),
    };

    // Leaving the current stage: was it on time?
    let from_clock = wf
        .state(&case.status)
        .map(|s| s.clock)
        .unwrap_or(Clock::None);
    let to_def = wf.state(&to_state);
    let to_clock = to_def.map(|s| s.clock).unwrap_or(Clock::None);
    let from_window = wf.state(&case.status).is_some_and(|s| s.party_window);
    let leaving_stage = match (from_clock, to_clock) {
        (Clock::Stage(a), Clock::Stage(b)) => a != b,
        (Clock::Stage(_), _) => true,
        _ => false,
    };
    let left_on_time = case.stage_due_at.is_none_or(|d| now <= d);
    let mut s = Step {
        ctx,
        case,
        c: case.clone(),
        k: Counters::default(),
        data: serde_json::Map::new(),
        effects: vec![],
        note: cmd.note.as_deref(),
        left_on_time,
        transition: t,
    };
    if leaving_stage
        && !left_on_time
        && !from_window
        && !case.ever_overdue
        && !matches!(to_clock, Clock::Paused)
    {
        s.c.ever_overdue = true;
        s.k.overdue += 1;
    }

    // What the action itself does, by concern.
    match &cmd.action {
        Action::Register => intake::register(&mut s),
        Action::Reject | Action::NotAccept => intake::reject(&mut s),
        Action::Void => intake::void(&mut s),
        Action::LinkDuplicate { of } => intake::link_duplicate(&mut s, *of)?,
        Action::SelfHandle => intake::self_handle(&mut s),
        Action::Accept => intake::accept(&mut s),
        Action::Comment | Action::Acknowledge | Action::Resume => {}
        Action::Dispatch { department } | Action::Forward { department } => {
            handling::send_to_department(&mut s, department)
        }
        Action::Return | Action::Object => handling::take_back(&mut s),
        Action::Handle => s.mark_handled(),
        Action::Verify { passed } => handling::verify(&mut s, *passed),
        Action::RequestExtension { extend_by } => deadlines::request_extension(&mut s, *extend_by)?,
        Action::ApproveExtension => deadlines::approve_extension(&mut s)?,
        Action::RefuseExtension => s.c.pending_extension = None,
        Action::Suspend => deadlines::suspend(&mut s)?,
        Action::Expedite => deadlines::expedite(&mut s),
        Action::Supervise { level } => supervision::supervise(&mut s, *level),
        Action::Close => closing::close(&mut s),
        Action::Rate { score } => closing::rate(&mut s, *score)?,
        Action::Assign { mediator, method } => mediation::assign(&mut s, *mediator, method),
        Action::RecordSession(session) => mediation::record_session(&mut s, session)?,
        Action::ReachAgreement(agreement) => mediation::reach_agreement(&mut s, agreement),
        Action::FollowUp { honoured } => mediation::follow_up(&mut s, *honoured),
        Action::RecordCourtConfirmation { court, confirmed } => {
            mediation::court_confirmation(&mut s, court, *confirmed)
        }
        Action::RemindCourtConfirmation => s.effects.push(Effect::ConfirmationReminded),
        Action::HandOn {
            destination,
            body,
            method,
        } => mediation::hand_on(&mut s, destination, body, method),
        Action::CloseResolved => mediation::conclude(&mut s, Outcome::Resolved),
        Action::CloseUnresolved | Action::FailMediation => {
            mediation::conclude(&mut s, Outcome::Unresolved)
        }
        Action::RefuseMediation => mediation::conclude(&mut s, Outcome::NotMediated),
        Action::Evaluate => mediation::evaluate(&mut s),
        Action::Reply => petition::answer(&mut s, AnswerKind::Reply),
        Action::AnswerReview => petition::answer(&mut s, AnswerKind::ReviewAnswer),
        Action::AnswerReReview => petition::answer(&mut s, AnswerKind::ReReviewAnswer),
        Action::TakeCharge => s.effects.push(Effect::TakeCharge),
        Action::RequestReview | Action::RequestReReview => {}
        Action::Conclude => s.close_case(),
    }

    // Clocks of the new state.
    deadlines::enter_clock(&mut s, from_clock, to_clock, to_def, action)?;

    let Step {
        mut c,
        k,
        data,
        effects,
        ..
    } = s;
    c.status = to_state.clone();
    c.updated_at = now;
    c.version += 1;
    let event = Event {
        action: action.to_string(),
        from_status: Some(case.status.clone()),
        to_status: to_state,
        actor_id: actor.id,
        actor_name: actor.username.clone(),
        actor_role: actor.role,
        at: now,
        note: cmd.note.clone(),
        data: serde_json::Value::Object(data),
    };
    Ok(Applied {
        case: c,
        event,
        counters: k,
        effects,
    })
}

/// Input of a new case, already validated by [`NewCase::validate`].
#[derive(Debug, Clone)]
pub struct NewCase {
    pub id: Uuid,
    pub county_code: String,
    /// None: drawn when the case is stored (`Case::number`).
    pub number: Option<CaseNumber>,
    pub tracking_code: String,
    pub case_type: String,
    pub category: String,
    pub urgency: Urgency,
    pub channel: String,
    pub description: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub grid_code: Option<GridCode>,
    pub region_code: RegionCode,
    pub needs_grid: bool,
    pub needs_location: bool,
    pub reporter_name: Option<PersonName>,
    pub reporter_phone: Option<Phone>,
    pub reporter_user: Option<Uuid>,
    pub reporter_anonymous: bool,
}

/// Reporting channels (来源渠道).
pub const CHANNELS: [&str; 7] = [
    "web",
    "grid_worker",
    "hotline",
    "open311",
    "app",
    "agency",
    "wechat",
];

/// Checks a description: present, at most 4,000 characters (GB/T 31000 summary length).
pub fn validate_description(d: &str) -> Result<String, FieldError> {
    let t = d.trim();
    if t.is_empty() {
        return Err(FieldError::new("description", "must not be empty"));
    }
    if t.chars().count() > 4000 {
        return Err(FieldError::new(
            "description",
            "must be at most 4000 characters",
        ));
    }
    Ok(t.to_string())
}

/// Creates a case in its workflow's initial state with the register clock running.
pub fn create(new: NewCase, actor: Option<&Actor>, ctx: &Context) -> Result<Applied, EngineError> {
    let wf = wf_of(&new.case_type)?;
    let now = ctx.now;
    let mut c = Case {
        id: new.id,
        county_code: new.county_code,
        number: new.number,
        tracking_code: new.tracking_code,
        case_type: new.case_type,
        category: new.category,
        status: wf.initial.clone(),
        urgency: new.urgency,
        channel: new.channel,
        description: new.description,
        address: new.address,
        lat: new.lat,
        lon: new.lon,
        grid_code: new.grid_code,
        region_code: new.region_code,
        needs_grid: new.needs_grid,
        needs_location: new.needs_location,
        department: None,
        reporter_name: new.reporter_name,
        reporter_phone: new.reporter_phone,
        reporter_user: new.reporter_user,
        reporter_anonymous: new.reporter_anonymous,
        created_by: actor.and_then(|a| a.id),
        created_at: now,
        updated_at: now,
        registered_at: None,
        dispatched_at: None,
        handled_at: None,
        verified_at: None,
        closed_at: None,
        due_at: None,
        stage: None,
        stage_limit: None,
        stage_started_at: None,
        stage_due_at: None,
        stage_yellow_at: None,
        light: Light::Green,
        suspended_from: None,
        suspended_remaining: None,
        supervision: None,
        expedited: false,
        duplicate_of: None,
        rating: None,
        rework_count: 0,
        return_count: 0,
        extension_count: 0,
        pending_extension: None,
        ever_overdue: false,
        version: 1,
    };
    // The handling deadline is provisional until dispatch: "if dispatched now".
    c.due_at = Some(ctx.calendar.due(now, limit_of(ctx, &c, Stage::Handle)));
    if let Some(Clock::Stage(s)) = wf.state(&c.status).map(|s| s.clock) {
        let due_at = c.due_at;
        start_stage(ctx, &mut c, s, wf.state(&wf.initial));
        if s != Stage::Handle {
            c.due_at = due_at;
        }
    }
    let k = Counters {
        reported: 1,
        grid_reports: i64::from(c.channel == "grid_worker"),
        ..Default::default()
    };
    let (actor_id, actor_name, actor_role) = match actor {
        Some(a) => (a.id, a.username.clone(), a.role),
        None => (None, "public".to_string(), Role::Citizen),
    };
    let event = Event {
        action: "report".into(),
        from_status: None,
        to_status: c.status.clone(),
        actor_id,
        actor_name,
        actor_role,
        at: now,
        note: None,
        data: serde_json::json!({ "channel": c.channel }),
    };
    Ok(Applied {
        case: c,
        event,
        counters: k,
        effects: vec![],
    })
}

/// The light at `now` from the stage clock (the stored light may lag the job by a minute).
pub fn live_light(case: &Case, now: DateTime<Utc>) -> Light {
    match (case.stage_yellow_at, case.stage_due_at) {
        (_, Some(due)) if now > due => Light::Red,
        (Some(y), _) if now >= y => Light::Yellow,
        _ => Light::Green,
    }
}

/// Light from elapsed and limit clock minutes, re-exported for callers that count themselves.
pub fn light_of(elapsed: i64, limit: i64) -> Light {
    light(elapsed, limit)
}

/// The automatic deadline watch (the job runner calls it): turns a case yellow or red and
/// records a supervision entry (黄牌/红牌督办) the first time each happens. `None` when nothing changes.
pub fn watch(case: &Case, now: DateTime<Utc>) -> Option<Applied> {
    let wf = workflow(&case.case_type)?;
    if wf.is_terminal(&case.status) {
        return None;
    }
    let live = live_light(case, now);
    if live == case.light || live == Light::Green {
        return None;
    }
    let mut c = case.clone();
    let mut k = Counters::default();
    c.light = live;
    let level = if live == Light::Red { "red" } else { "yellow" };
    if live == Light::Red && !case.ever_overdue {
        c.ever_overdue = true;
        k.overdue += 1;
    }
    c.supervision = Some(level.into());
    k.supervised += 1;
    c.version += 1;
    c.updated_at = now;
    let note = if live == Light::Red {
        "超期自动红牌督办 (overdue: automatic red-card supervision)"
    } else {
        "将到期自动黄牌督办 (nearing its limit: automatic yellow-card supervision)"
    };
    let event = Event {
        action: "supervise".into(),
        from_status: Some(case.status.clone()),
        to_status: case.status.clone(),
        actor_id: None,
        actor_name: "system".into(),
        actor_role: Role::System,
        at: now,
        note: Some(note.into()),
        data: serde_json::json!({ "level": level, "automatic": true, "stage_due_at": case.stage_due_at }),
    };
    Some(Applied {
        case: c,
        event,
        counters: k,
        effects: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct ThreeDays;
    impl Limits for ThreeDays {
        fn limit(&self, _: &str, _: Urgency, _: Stage) -> Limit {
            "3 working_days".parse().expect("a valid limit")
        }
    }

    fn reported(ctx: &Context) -> Case {
        let new = NewCase {
            id: Uuid::now_v7(),
            county_code: "330502".into(),
            number: CaseNumber::parse("3305022026112100001").ok(),
            tracking_code: "ABCDEFGHJK".into(),
            case_type: "service_event".into(),
            category: "C0102".into(),
            urgency: Urgency::Normal,
            channel: "open311".into(),
            description: "污水井盖丢了".into(),
            address: None,
            lat: Some(30.78412),
            lon: Some(120.02352),
            grid_code: None,
            region_code: crate::codes::RegionCode::parse("330502001001").unwrap(),
            needs_grid: true,
            needs_location: false,
            reporter_name: None,
            reporter_phone: None,
            reporter_user: None,
            reporter_anonymous: false,
        };
        create(new, None, ctx).expect("created").case
    }

    #[test]
    fn a_comment_records_a_public_note_and_changes_nothing_else() {
        let cal = WorkCalendar::builtin();
        let t0 = "2026-11-20T02:00:00Z".parse().unwrap();
        let case = reported(&Context {
            calendar: &cal,
            limits: &ThreeDays,
            now: t0,
        });
        let later = Context {
            calendar: &cal,
            limits: &ThreeDays,
            now: t0 + chrono::Duration::hours(3),
        };
        let open311 = Actor {
            username: "open311:fixmystreet".into(),
            ..Actor::system()
        };
        let req = Command::noted(Action::Comment, "今天路过，井盖还是没有").unwrap();
        let a = apply(&case, &req, &open311, &later).expect("a machine channel may comment");
        assert_eq!(a.case.status, case.status);
        assert_eq!(a.case.stage_due_at, case.stage_due_at, "the clock runs on");
        assert_eq!(a.case.due_at, case.due_at);
        assert_eq!(a.case.version, case.version + 1);
        assert_eq!(a.case.updated_at, later.now);
        assert_eq!(a.counters, Counters::default(), "a note counts for nothing");
        assert_eq!(a.event.note.as_deref(), req.note.as_deref());
        assert_eq!(a.event.from_status.as_deref(), Some("reported"));
        assert_eq!(a.event.to_status, "reported");
        // A note is required; people comment through their own actions, not this one.
        let bare = Command::new(Action::Comment);
        assert!(matches!(
            apply(&case, &bare, &open311, &later),
            Err(EngineError::Invalid(f)) if f.field == "note"
        ));
        let dispatcher = Actor {
            id: Some(Uuid::now_v7()),
            username: "d".into(),
            role: Role::Dispatcher,
            ..Actor::system()
        };
        assert!(matches!(
            apply(&case, &req, &dispatcher, &later),
            Err(EngineError::Forbidden { .. })
        ));
        assert!(!allowed_actions(&case, &dispatcher).contains(&"comment".to_string()));
        // On a closed case the note is recorded and the case stays closed.
        let mut closed = case.clone();
        closed.status = "closed".into();
        let a = apply(&closed, &req, &open311, &later).expect("comment on a closed case");
        assert_eq!(a.case.status, "closed");
    }
}

#[cfg(test)]
mod tracking_holder_tests {
    use super::*;

    struct Fixed;
    impl Limits for Fixed {
        fn limit(&self, _: &str, _: Urgency, _: Stage) -> Limit {
            "1 natural_days".parse().unwrap()
        }
    }

    fn closed_case(code: &str) -> Case {
        let cal = WorkCalendar::builtin();
        let ctx = Context {
            calendar: &cal,
            limits: &Fixed,
            now: Utc::now(),
        };
        let new = NewCase {
            id: Uuid::now_v7(),
            county_code: "330502".into(),
            number: None,
            tracking_code: code.into(),
            case_type: "service_event".into(),
            category: "C0301".into(),
            urgency: Urgency::Normal,
            channel: "web".into(),
            description: "垃圾箱满溢".into(),
            address: None,
            lat: None,
            lon: None,
            grid_code: None,
            region_code: crate::codes::RegionCode::parse("330502001001").unwrap(),
            needs_grid: true,
            needs_location: false,
            reporter_name: None,
            reporter_phone: None,
            reporter_user: None,
            reporter_anonymous: false,
        };
        let mut case = create(new, None, &ctx).unwrap().case;
        let staff = |role: Role| Actor {
            id: Some(Uuid::now_v7()),
            username: role.as_str().into(),
            role,
            department: Some("330502-cgj".into()),
            grids: vec![],
            regions: vec![],
        };
        for (action, role) in [
            ("register", Role::Dispatcher),
            ("dispatch", Role::Dispatcher),
            ("handle", Role::Handler),
            ("verify", Role::Dispatcher),
            ("close", Role::Dispatcher),
        ] {
            let req = Command::try_from(ActionRequest {
                action: action.into(),
                department: Some("330502-cgj".into()),
                passed: Some(true),
                ..Default::default()
            })
            .unwrap();
            case = apply(&case, &req, &staff(role), &ctx).unwrap().case;
        }
        assert_eq!(case.status, "closed");
        case
    }

    #[test]
    fn the_holder_of_the_code_rates_its_own_closed_case_once() {
        let case = closed_case("ABCDEFGHJK");
        let other = closed_case("ZZZZZZZZZZ");
        let holder = tracking_holder(&case);
        assert_eq!(allowed_actions(&case, &holder), vec!["rate".to_string()]);
        assert!(
            allowed_actions(&other, &holder).is_empty(),
            "not another case's"
        );
        let cal = WorkCalendar::builtin();
        let ctx = Context {
            calendar: &cal,
            limits: &Fixed,
            now: Utc::now(),
        };
        let rate = Command::new(Action::Rate { score: 5 });
        assert!(apply(&other, &rate, &holder, &ctx).is_err());
        let rated = apply(&case, &rate, &holder, &ctx).unwrap().case;
        assert_eq!(rated.rating, Some(5));
        assert!(allowed_actions(&rated, &holder).is_empty(), "once");
    }
}

#[cfg(test)]
mod effects_tests;
