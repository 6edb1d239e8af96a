//! Intake and registration (受理立案): registering, rejecting, voiding, linking a duplicate,
//! a grid worker's self-handling, a dispute's or petition's acceptance.

use super::{Effect, EngineError, Step};
use crate::error::FieldError;
use uuid::Uuid;

pub(super) fn register(s: &mut Step) {
    s.mark_registered();
    if s.case.channel == "grid_worker" {
        s.k.grid_reports_registered += 1;
    }
}

/// Not registered (不予立案) or not accepted (不予受理): counted as rejected.
pub(super) fn reject(s: &mut Step) {
    s.k.rejected += 1;
}

pub(super) fn void(s: &mut Step) {
    s.k.voided += 1;
}

pub(super) fn link_duplicate(s: &mut Step, of: Uuid) -> Result<(), EngineError> {
    if of == s.case.id {
        return Err(FieldError::new("of", "a case cannot duplicate itself").into());
    }
    s.c.duplicate_of = Some(of);
    s.data.insert("of".into(), of.to_string().into());
    s.k.merged += 1;
    s.effects.push(Effect::LinkDuplicate { of });
    Ok(())
}

/// A grid worker fixes what they found on the spot (自行处置): registered and handled at once.
pub(super) fn self_handle(s: &mut Step) {
    let now = s.now();
    s.c.registered_at = Some(now);
    s.c.handled_at = Some(now);
    s.k.registered += 1;
    s.k.registered_on_time += 1;
    s.k.self_handled += 1;
    s.k.handled += 1;
    s.k.handled_on_time += 1;
    if s.case.channel == "grid_worker" {
        s.k.grid_reports_registered += 1;
    }
}

/// A dispute or petition accepted (受理) is registered; a service event's department accepting
/// it (签收) only moves it on.
pub(super) fn accept(s: &mut Step) {
    if s.case.case_type != "service_event" {
        s.mark_registered();
    }
}
