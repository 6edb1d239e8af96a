//! Deadlines (时限): extensions, suspension and resumption, expediting, and the clock of the
//! state an action enters.

use super::{Clock, EngineError, Stage, StateDef, Step, limit_of, parse_limit, start_stage};
use crate::calendar::{Limit, LimitUnit};
use crate::catalog::Urgency;
use crate::error::FieldError;

/// Asks for more time: the amount asked, else the transition's statutory maximum, else the
/// handling stage's limit; a statutory maximum allows one extension of at most that much.
pub(super) fn request_extension(s: &mut Step, extend_by: Option<Limit>) -> Result<(), EngineError> {
    let max = s.transition.max_extension;
    let by = match (extend_by, max) {
        (Some(by), _) => by,
        (None, Some(max)) => max,
        (None, None) => limit_of(s.ctx, s.case, Stage::Handle),
    };
    if let Some(max) = max {
        if s.case.extension_count > 0 {
            return Err(FieldError::new(
                "extend_by",
                format!(
                    "this case was extended once already; the law allows one extension of at most {max}"
                ),
            )
            .into());
        }
        if by.unit != max.unit || by.amount > max.amount {
            return Err(FieldError::new("extend_by", format!("must be at most {max}")).into());
        }
    }
    s.c.pending_extension = Some(by.to_string());
    s.data.insert("extend_by".into(), by.to_string().into());
    Ok(())
}

/// Grants the pending extension: the stage's due time (and yellow mark) move by it.
pub(super) fn approve_extension(s: &mut Step) -> Result<(), EngineError> {
    let (ctx, case) = (s.ctx, s.case);
    let by = match case.pending_extension.as_deref() {
        Some(p) => parse_limit(p, "extend_by")?,
        None => limit_of(ctx, case, Stage::Handle),
    };
    if let Some(due) = case.stage_due_at {
        let new_due = ctx.calendar.due(due, by);
        s.c.stage_due_at = Some(new_due);
        s.c.due_at = Some(new_due);
        if let (Some(start), Some(limit)) = (case.stage_started_at, case.stage_limit.as_deref()) {
            let unit = parse_limit(limit, "stage_limit")?.unit;
            let minutes = ctx.calendar.clock_minutes_between(start, new_due, unit);
            s.c.stage_yellow_at =
                Some(ctx.calendar.add_clock_minutes(start, minutes * 4 / 5, unit));
        }
        s.data.insert("due_at".into(), new_due.to_rfc3339().into());
    }
    s.c.pending_extension = None;
    s.c.extension_count += 1;
    s.data.insert("extend_by".into(), by.to_string().into());
    s.k.extended += 1;
    Ok(())
}

/// Suspends the case (挂起): the clock minutes left in the stage are kept for the resumption.
pub(super) fn suspend(s: &mut Step) -> Result<(), EngineError> {
    let case = s.case;
    if let (Some(due), Some(limit)) = (case.stage_due_at, case.stage_limit.as_deref()) {
        let unit = parse_limit(limit, "stage_limit")?.unit;
        s.c.suspended_remaining = Some(
            s.ctx
                .calendar
                .clock_minutes_between(s.now(), due, unit)
                .max(0),
        );
    }
    s.c.suspended_from = Some(case.status.clone());
    s.k.suspended += 1;
    Ok(())
}

/// Raises the urgency one step (加急): a shorter limit applies from the stage's start, never a
/// longer one.
pub(super) fn expedite(s: &mut Step) {
    let (ctx, case) = (s.ctx, s.case);
    let raised = match case.urgency {
        Urgency::Normal => Urgency::Urgent,
        _ => Urgency::Emergency,
    };
    s.c.urgency = raised;
    s.c.expedited = true;
    s.data.insert(
        "urgency".into(),
        serde_json::to_value(raised).unwrap_or_default(),
    );
    if let (Some(stage), Some(start), Some(due)) =
        (case.stage, case.stage_started_at, case.stage_due_at)
    {
        let limit = ctx.limits.limit(&case.category, raised, stage);
        let new_due = ctx.calendar.due(start, limit);
        if new_due < due {
            s.c.stage_limit = Some(limit.to_string());
            s.c.stage_due_at = Some(new_due);
            s.c.stage_yellow_at = Some(ctx.calendar.yellow_at(start, limit));
            if stage == Stage::Handle {
                s.c.due_at = Some(new_due);
            }
        }
    }
}

fn stop_clock(s: &mut Step) {
    s.c.stage = None;
    s.c.stage_limit = None;
    s.c.stage_started_at = None;
    s.c.stage_due_at = None;
    s.c.stage_yellow_at = None;
}

/// The clock of the state the action enters: stopped, paused, resumed with the minutes left at
/// suspension, kept (a statutory clock runs from the event the law names), or started afresh.
pub(super) fn enter_clock(
    s: &mut Step,
    from: Clock,
    to: Clock,
    to_def: Option<&StateDef>,
    action: &str,
) -> Result<(), EngineError> {
    let (ctx, case, now) = (s.ctx, s.case, s.now());
    match (from, to) {
        (_, Clock::None) => {
            stop_clock(s);
            s.c.suspended_from = None;
        }
        (_, Clock::Paused) => {
            s.c.stage_due_at = None;
            s.c.stage_yellow_at = None;
        }
        (Clock::Paused, Clock::Stage(stage)) if action == "resume" => {
            match (case.stage_limit.as_deref(), case.suspended_remaining) {
                (Some(ls), Some(rem)) => {
                    let limit = parse_limit(ls, "stage_limit")?;
                    let total = ctx.calendar.limit_minutes(limit);
                    let unit: LimitUnit = limit.unit;
                    let due = ctx.calendar.add_clock_minutes(now, rem, unit);
                    let to_yellow = rem - total / 5;
                    s.c.stage_due_at = Some(due);
                    s.c.stage_yellow_at =
                        Some(ctx.calendar.add_clock_minutes(now, to_yellow.max(0), unit));
                    if stage == Stage::Handle {
                        s.c.due_at = Some(due);
                    }
                    s.data.insert("due_at".into(), due.to_rfc3339().into());
                }
                _ => start_stage(ctx, &mut s.c, stage, to_def),
            }
            s.c.suspended_from = None;
            s.c.suspended_remaining = None;
        }
        // A statutory clock runs from the event the law names: dispatching within it does not restart it.
        (Clock::Stage(a), Clock::Stage(b))
            if a == b && (action != "dispatch" || to_def.is_some_and(|d| d.limit.is_some())) => {}
        (_, Clock::Stage(b)) => start_stage(ctx, &mut s.c, b, to_def),
    }
    Ok(())
}
