//! The case engine (案件引擎): one engine for every case type. Given a case, an actor and an
//! action, it consults the case type's workflow (data), checks the actor may fire it here, runs
//! the deadline clocks and returns the new case, the history entry and the KPI counter delta.
//! Pure: storage persists the result atomically with a version check.

use crate::calendar::{Light, Limit, LimitUnit, WorkCalendar, light};
use crate::catalog::{Stage, Urgency};
use crate::error::FieldError;
use crate::kpi::Counters;
use crate::role::Role;
use crate::workflow::{Clock, StateDef, Target, Workflow, workflow};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A case as the engine sees it; storage keeps exactly these fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: Uuid,
    /// The 6-digit county code: part of every key so the schema can be distributed by county.
    pub county_code: String,
    pub number: String,
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
    pub grid_code: Option<String>,
    pub region_code: String,
    /// No grid contains the point: a dispatcher must assign one by hand.
    pub needs_grid: bool,
    /// Reported by address only: a dispatcher must place it on the map.
    pub needs_location: bool,
    pub department: Option<String>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
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

/// An action request as it arrives from the API.
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
            Some(g) => actor.grids.is_empty() || actor.grids.contains(g),
            None => actor.covers_region(&case.region_code),
        },
        Role::Citizen => {
            action == "rate"
                && ((case.reporter_user.is_some() && case.reporter_user == actor.id)
                    || (actor.id.is_none() && actor.username == tracking_holder(case).username))
        }
        _ => actor.covers_region(&case.region_code),
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

/// Hands a case to a department (派遣, and a petition's 转送): the department from the request,
/// counted as dispatched once and as a dispatch event every time.
fn send_to_department(
    case: &Case,
    c: &mut Case,
    k: &mut Counters,
    data: &mut serde_json::Map<String, serde_json::Value>,
    req: &ActionRequest,
    now: DateTime<Utc>,
    missing: &str,
) -> Result<(), FieldError> {
    let dept = req
        .department
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| FieldError::new("department", missing))?;
    c.department = Some(dept.to_string());
    if case.dispatched_at.is_none() {
        k.dispatched += 1;
    }
    c.dispatched_at = Some(now);
    k.dispatch_events += 1;
    data.insert("department".into(), dept.into());
    Ok(())
}

/// A department gives a case back (退回, and a petition's 异议): recorded and counted as returned.
fn take_back(
    case: &Case,
    c: &mut Case,
    k: &mut Counters,
    data: &mut serde_json::Map<String, serde_json::Value>,
) {
    data.insert("department".into(), case.department.clone().into());
    c.department = None;
    c.return_count += 1;
    k.returned += 1;
}

/// Closes a dispute or petition (办结): counted once, on time unless it ever ran late.
fn close_case(c: &mut Case, k: &mut Counters, now: DateTime<Utc>) {
    if c.closed_at.is_none() {
        c.closed_at = Some(now);
        k.closed += 1;
        k.closed_on_time += i64::from(!c.ever_overdue);
    }
}

fn stop_clock(case: &mut Case) {
    case.stage = None;
    case.stage_limit = None;
    case.stage_started_at = None;
    case.stage_due_at = None;
    case.stage_yellow_at = None;
}

fn parse_limit(s: &str, field: &str) -> Result<Limit, FieldError> {
    s.parse::<Limit>()
        .map_err(|e| FieldError::new(field, e.reason))
}

fn require_note(req: &ActionRequest, needed: bool) -> Result<Option<String>, FieldError> {
    let note = req.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = note
        && n.chars().count() > 4000
    {
        return Err(FieldError::new("note", "must be at most 4000 characters"));
    }
    if needed && note.is_none() {
        return Err(FieldError::new(
            "note",
            format!("is required for {} (give the reason)", req.action),
        ));
    }
    Ok(note.map(str::to_string))
}

/// Applies `req` to `case` on behalf of `actor`. Existence checks that need storage (the
/// department of a dispatch, the original of a duplicate) are the caller's.
pub fn apply(
    case: &Case,
    req: &ActionRequest,
    actor: &Actor,
    ctx: &Context,
) -> Result<Applied, EngineError> {
    let wf = wf_of(&case.case_type)?;
    let action = req.action.trim();
    let known = wf.action_names();
    if !known.contains(&action) {
        return Err(EngineError::UnknownAction {
            action: action.to_string(),
            case_type: case.case_type.clone(),
            known: known.iter().map(|s| s.to_string()).collect(),
        });
    }
    let guard = if action == "verify" {
        match req.passed {
            Some(true) => Some("passed"),
            Some(false) => Some("failed"),
            None => {
                return Err(
                    FieldError::new("passed", "is required for verify (true or false)").into(),
                );
            }
        }
    } else {
        None
    };
    let not_allowed = || EngineError::NotAllowed {
        action: action.to_string(),
        state: case.status.clone(),
        allowed: allowed_actions(case, actor),
    };
    let Some(t) = wf.transition(&case.status, action, guard) else {
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
    let note = require_note(req, t.note_required)?;
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
    let mut c = case.clone();
    let mut k = Counters::default();
    let mut data = serde_json::Map::new();

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
    if leaving_stage
        && !left_on_time
        && !from_window
        && !case.ever_overdue
        && !matches!(to_clock, Clock::Paused)
    {
        c.ever_overdue = true;
        k.overdue += 1;
    }

    // Action side effects.
    match action {
        "register" => {
            c.registered_at = Some(now);
            k.registered += 1;
            k.registered_on_time += i64::from(left_on_time);
            if case.channel == "grid_worker" {
                k.grid_reports_registered += 1;
            }
        }
        "reject" => k.rejected += 1,
        "void" => k.voided += 1,
        "link_duplicate" => {
            let of = req.of.ok_or_else(|| {
                FieldError::new("of", "is required: the id of the case this one duplicates")
            })?;
            if of == case.id {
                return Err(FieldError::new("of", "a case cannot duplicate itself").into());
            }
            c.duplicate_of = Some(of);
            data.insert("of".into(), of.to_string().into());
            k.merged += 1;
        }
        "self_handle" => {
            c.registered_at = Some(now);
            c.handled_at = Some(now);
            k.registered += 1;
            k.registered_on_time += 1;
            k.self_handled += 1;
            k.handled += 1;
            k.handled_on_time += 1;
            if case.channel == "grid_worker" {
                k.grid_reports_registered += 1;
            }
        }
        "dispatch" => send_to_department(
            case,
            &mut c,
            &mut k,
            &mut data,
            req,
            now,
            "is required for dispatch (a department code)",
        )?,
        "return" => take_back(case, &mut c, &mut k, &mut data),
        "request_extension" => {
            let by = match (req.extend_by.as_deref(), t.max_extension) {
                (Some(s), _) => parse_limit(s, "extend_by")?,
                (None, Some(max)) => max,
                (None, None) => limit_of(ctx, case, Stage::Handle),
            };
            if let Some(max) = t.max_extension {
                if case.extension_count > 0 {
                    return Err(FieldError::new(
                        "extend_by",
                        format!("this case was extended once already; the law allows one extension of at most {max}"),
                    )
                    .into());
                }
                if by.unit != max.unit || by.amount > max.amount {
                    return Err(
                        FieldError::new("extend_by", format!("must be at most {max}")).into(),
                    );
                }
            }
            c.pending_extension = Some(by.to_string());
            data.insert("extend_by".into(), by.to_string().into());
        }
        "approve_extension" => {
            let by = match case.pending_extension.as_deref() {
                Some(s) => parse_limit(s, "extend_by")?,
                None => limit_of(ctx, case, Stage::Handle),
            };
            if let Some(due) = case.stage_due_at {
                let new_due = ctx.calendar.due(due, by);
                c.stage_due_at = Some(new_due);
                c.due_at = Some(new_due);
                if let (Some(start), Some(limit)) =
                    (case.stage_started_at, case.stage_limit.as_deref())
                {
                    let total = parse_limit(limit, "stage_limit")?;
                    let unit = total.unit;
                    let minutes = ctx.calendar.clock_minutes_between(start, new_due, unit);
                    c.stage_yellow_at =
                        Some(ctx.calendar.add_clock_minutes(start, minutes * 4 / 5, unit));
                }
                data.insert("due_at".into(), new_due.to_rfc3339().into());
            }
            c.pending_extension = None;
            c.extension_count += 1;
            data.insert("extend_by".into(), by.to_string().into());
            k.extended += 1;
        }
        "refuse_extension" => c.pending_extension = None,
        "suspend" => {
            if let (Some(due), Some(limit)) = (case.stage_due_at, case.stage_limit.as_deref()) {
                let unit = parse_limit(limit, "stage_limit")?.unit;
                c.suspended_remaining =
                    Some(ctx.calendar.clock_minutes_between(now, due, unit).max(0));
            }
            c.suspended_from = Some(case.status.clone());
            k.suspended += 1;
        }
        "resume" => {}
        "handle" => {
            if case.handled_at.is_none() {
                k.handled += 1;
                k.handled_on_time += i64::from(left_on_time);
            }
            c.handled_at = Some(now);
        }
        "verify" => {
            k.verifications += 1;
            k.verifications_on_time += i64::from(left_on_time);
            if req.passed == Some(true) {
                c.verified_at = Some(now);
            } else {
                if case.rework_count == 0 {
                    k.reworked += 1;
                }
                c.rework_count += 1;
            }
            data.insert("passed".into(), req.passed.into());
        }
        "close" => {
            c.closed_at = Some(now);
            k.closed += 1;
            if !c.ever_overdue {
                k.closed_on_time += 1;
            }
        }
        "supervise" => {
            let level = match req.level.as_deref() {
                Some(l @ ("yellow" | "red")) => l.to_string(),
                Some(_) => return Err(FieldError::new("level", "must be yellow or red").into()),
                None if live_light(case, now) == Light::Red => "red".into(),
                None => "yellow".into(),
            };
            data.insert("level".into(), level.clone().into());
            c.supervision = Some(level);
            k.supervised += 1;
        }
        "expedite" => {
            let raised = match case.urgency {
                Urgency::Normal => Urgency::Urgent,
                _ => Urgency::Emergency,
            };
            c.urgency = raised;
            c.expedited = true;
            data.insert(
                "urgency".into(),
                serde_json::to_value(raised).unwrap_or_default(),
            );
            // A shorter limit applies from the stage's start, never a longer one.
            if let (Some(stage), Some(start), Some(due)) =
                (case.stage, case.stage_started_at, case.stage_due_at)
            {
                let limit = ctx.limits.limit(&case.category, raised, stage);
                let new_due = ctx.calendar.due(start, limit);
                if new_due < due {
                    c.stage_limit = Some(limit.to_string());
                    c.stage_due_at = Some(new_due);
                    c.stage_yellow_at = Some(ctx.calendar.yellow_at(start, limit));
                    if stage == Stage::Handle {
                        c.due_at = Some(new_due);
                    }
                }
            }
        }
        "rate" => {
            if case.rating.is_some() {
                return Err(EngineError::NotAllowed {
                    action: "rate".into(),
                    state: format!("{} (already rated)", case.status),
                    allowed: vec![],
                });
            }
            let score = req
                .score
                .ok_or_else(|| FieldError::new("score", "is required for rate (1 to 5)"))?;
            if !(1..=5).contains(&score) {
                return Err(FieldError::new("score", "must be between 1 and 5").into());
            }
            c.rating = Some(score as i16);
            k.rated += 1;
            k.rating_sum += score;
            k.satisfied += i64::from(score >= 4);
            data.insert("score".into(), score.into());
        }
        "accept" if case.case_type != "service_event" => {
            c.registered_at = Some(now);
            k.registered += 1;
            k.registered_on_time += i64::from(left_on_time);
        }
        "not_accept" => k.rejected += 1,
        "assign" => {
            let mediator = req.mediator.ok_or_else(|| {
                FieldError::new(
                    "mediator",
                    "is required for assign (a mediator's id, see GET /api/v1/mediators)",
                )
            })?;
            if let Some(m) = req.method.as_deref() {
                data.insert("method".into(), crate::dispute::mediation_method(m)?.into());
            }
            data.insert("mediator".into(), mediator.to_string().into());
            if case.dispatched_at.is_none() {
                k.dispatched += 1;
            }
            c.dispatched_at = Some(now);
            k.dispatch_events += 1;
        }
        "record_session" => {
            let s = req
                .session
                .as_ref()
                .ok_or_else(|| FieldError::new("session", "is required for record_session"))?;
            let today = crate::calendar::to_local(now).date_naive();
            let checked = s.validate(today)?;
            // The names and notes stay in the session record, where viewing them is controlled;
            // the history (shown on the public tracking page too) keeps when and where only.
            data.insert(
                "session".into(),
                serde_json::json!({
                    "held_on": checked.held_on.to_string(),
                    "place": checked.place,
                    "attendees": checked.attendees.len(),
                }),
            );
        }
        "reach_agreement" => {
            let a = req
                .agreement
                .as_ref()
                .ok_or_else(|| FieldError::new("agreement", "is required for reach_agreement"))?;
            let checked = a.validate()?;
            data.insert("form".into(), checked.form.into());
            if case.handled_at.is_none() {
                k.handled += 1;
                k.handled_on_time += i64::from(left_on_time);
            }
            c.handled_at = Some(now);
        }
        "follow_up" => {
            let honoured = req.honoured.ok_or_else(|| {
                FieldError::new("honoured", "is required for follow_up (true or false)")
            })?;
            data.insert("honoured".into(), honoured.into());
        }
        "record_court_confirmation" => {
            let court = req
                .court
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| FieldError::new("court", "is required: the court that ruled"))?;
            if court.chars().count() > 100 {
                return Err(FieldError::new("court", "must be at most 100 characters").into());
            }
            let confirmed = req.confirmed.ok_or_else(|| {
                FieldError::new(
                    "confirmed",
                    "is required (true if the court confirmed the agreement)",
                )
            })?;
            data.insert("court".into(), court.into());
            data.insert("confirmed".into(), confirmed.into());
        }
        "hand_on" => {
            let dest = req
                .destination
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    FieldError::new(
                        "destination",
                        "is required: arbitration, litigation or administrative",
                    )
                })?;
            let method = crate::dispute::hand_on_method(dest, req.method.as_deref())?;
            let body = req
                .destination_body
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    FieldError::new(
                        "destination_body",
                        "is required: the body the dispute goes to",
                    )
                })?;
            if body.chars().count() > 100 {
                return Err(
                    FieldError::new("destination_body", "must be at most 100 characters").into(),
                );
            }
            data.insert("destination".into(), dest.into());
            data.insert("destination_body".into(), body.into());
            data.insert("method".into(), method.into());
            close_case(&mut c, &mut k, now);
            k.disputes_concluded += 1;
        }
        "close_resolved" => {
            close_case(&mut c, &mut k, now);
            k.disputes_concluded += 1;
            k.disputes_resolved += 1;
        }
        "fail_mediation" | "close_unresolved" => {
            close_case(&mut c, &mut k, now);
            k.disputes_concluded += 1;
        }
        "refuse_mediation" | "conclude" | "answer_re_review" => close_case(&mut c, &mut k, now),
        "forward" => send_to_department(
            case,
            &mut c,
            &mut k,
            &mut data,
            req,
            now,
            "is required for forward (the competent body's department code)",
        )?,
        "object" => take_back(case, &mut c, &mut k, &mut data),
        "reply" => {
            if case.handled_at.is_none() {
                k.handled += 1;
                k.handled_on_time += i64::from(left_on_time);
            }
            c.handled_at = Some(now);
        }
        _ => {}
    }

    // Clocks of the new state.
    match (from_clock, to_clock) {
        (_, Clock::None) => {
            stop_clock(&mut c);
            c.suspended_from = None;
        }
        (_, Clock::Paused) => {
            c.stage_due_at = None;
            c.stage_yellow_at = None;
        }
        (Clock::Paused, Clock::Stage(stage)) if action == "resume" => {
            let limit_s = case.stage_limit.clone();
            match (limit_s.as_deref(), case.suspended_remaining) {
                (Some(ls), Some(rem)) => {
                    let limit = parse_limit(ls, "stage_limit")?;
                    let total = ctx.calendar.limit_minutes(limit);
                    let unit: LimitUnit = limit.unit;
                    let due = ctx.calendar.add_clock_minutes(now, rem, unit);
                    let to_yellow = rem - total / 5;
                    c.stage_due_at = Some(due);
                    c.stage_yellow_at =
                        Some(ctx.calendar.add_clock_minutes(now, to_yellow.max(0), unit));
                    if stage == Stage::Handle {
                        c.due_at = Some(due);
                    }
                    data.insert("due_at".into(), due.to_rfc3339().into());
                }
                _ => start_stage(ctx, &mut c, stage, to_def),
            }
            c.suspended_from = None;
            c.suspended_remaining = None;
        }
        // A statutory clock runs from the event the law names: dispatching within it does not restart it.
        (Clock::Stage(a), Clock::Stage(b))
            if a == b && (action != "dispatch" || to_def.is_some_and(|d| d.limit.is_some())) => {}
        (_, Clock::Stage(b)) => start_stage(ctx, &mut c, b, to_def),
    }

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
        note,
        data: serde_json::Value::Object(data),
    };
    Ok(Applied {
        case: c,
        event,
        counters: k,
    })
}

/// Input of a new case, already validated by [`NewCase::validate`].
#[derive(Debug, Clone)]
pub struct NewCase {
    pub id: Uuid,
    pub county_code: String,
    pub number: String,
    pub tracking_code: String,
    pub case_type: String,
    pub category: String,
    pub urgency: Urgency,
    pub channel: String,
    pub description: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub grid_code: Option<String>,
    pub region_code: String,
    pub needs_grid: bool,
    pub needs_location: bool,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
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
            number: "3305022026112100001".into(),
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
            region_code: "330502001001".into(),
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
        let req = ActionRequest {
            action: "comment".into(),
            note: Some("今天路过，井盖还是没有".into()),
            ..Default::default()
        };
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
        let bare = ActionRequest {
            action: "comment".into(),
            ..Default::default()
        };
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
            number: "330502000001".into(),
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
            region_code: "330502001001".into(),
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
            let req = ActionRequest {
                action: action.into(),
                department: Some("330502-cgj".into()),
                passed: Some(true),
                ..Default::default()
            };
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
        let rate = ActionRequest {
            action: "rate".into(),
            score: Some(5),
            ..Default::default()
        };
        assert!(apply(&other, &rate, &holder, &ctx).is_err());
        let rated = apply(&case, &rate, &holder, &ctx).unwrap().case;
        assert_eq!(rated.rating, Some(5));
        assert!(allowed_actions(&rated, &holder).is_empty(), "once");
    }
}
