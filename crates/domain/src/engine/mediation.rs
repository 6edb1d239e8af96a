//! Dispute mediation (人民调解): assigning a mediator, sessions, the agreement and its
//! follow-up, court confirmation, and how the dispute ends. Each returns what the dispute's
//! records need as an [`Effect`]; whether the mediator exists and serves the region, or the
//! agreement can still be confirmed, is the caller's check (it needs storage).

use super::{Effect, Outcome};
use super::{EngineError, Step};
use crate::dispute::{Agreement, SessionInput};

/// The mediator takes the dispute: counted as a dispatch, as handing it to a department is.
pub(super) fn assign(s: &mut Step, mediator: uuid::Uuid, method: &Option<String>) {
    if let Some(m) = method {
        s.data.insert("method".into(), m.clone().into());
    }
    s.data
        .insert("mediator".into(), mediator.to_string().into());
    if s.case.dispatched_at.is_none() {
        s.k.dispatched += 1;
    }
    s.c.dispatched_at = Some(s.now());
    s.k.dispatch_events += 1;
    s.effects.push(Effect::AssignMediator {
        mediator,
        method: method.clone(),
    });
}

/// A session (调解记录), checked against the day it is recorded on.
pub(super) fn record_session(s: &mut Step, session: &SessionInput) -> Result<(), EngineError> {
    let today = crate::calendar::to_local(s.now()).date_naive();
    let checked = session.validate(today)?;
    // The names and notes stay in the session record, where viewing them is controlled;
    // the history (shown on the public tracking page too) keeps when and where only.
    s.data.insert(
        "session".into(),
        serde_json::json!({
            "held_on": checked.held_on.to_string(),
            "place": checked.place,
            "attendees": checked.attendees.len(),
        }),
    );
    s.effects.push(Effect::RecordSession(checked));
    Ok(())
}

/// An agreement (调解协议) handles the dispute.
pub(super) fn reach_agreement(s: &mut Step, agreement: &Agreement) {
    s.data.insert("form".into(), agreement.form.clone().into());
    s.mark_handled();
    s.effects.push(Effect::RecordAgreement(agreement.clone()));
}

pub(super) fn follow_up(s: &mut Step, honoured: bool) {
    s.data.insert("honoured".into(), honoured.into());
    s.effects.push(Effect::FollowUp { honoured });
}

pub(super) fn court_confirmation(s: &mut Step, court: &str, confirmed: bool) {
    s.data.insert("court".into(), court.into());
    s.data.insert("confirmed".into(), confirmed.into());
    s.effects.push(Effect::CourtConfirmation {
        court: court.to_string(),
        confirmed,
    });
}

/// A failed mediation goes on to another body (诉调对接): the dispute ends here.
pub(super) fn hand_on(s: &mut Step, destination: &str, body: &str, method: &str) {
    s.data.insert("destination".into(), destination.into());
    s.data.insert("destination_body".into(), body.into());
    s.data.insert("method".into(), method.into());
    conclude(
        s,
        Outcome::HandedOn {
            destination: destination.to_string(),
            body: body.to_string(),
            method: method.to_string(),
        },
    );
}

/// The dispute ends: closed, and counted as concluded (and resolved) unless the parties
/// refused mediation, which was never a mediation to count.
pub(super) fn conclude(s: &mut Step, outcome: Outcome) {
    s.close_case();
    match outcome {
        Outcome::NotMediated => {}
        Outcome::Resolved => {
            s.k.disputes_concluded += 1;
            s.k.disputes_resolved += 1;
        }
        Outcome::Unresolved | Outcome::HandedOn { .. } => s.k.disputes_concluded += 1,
    }
    let result = s.note.map(str::to_string);
    s.effects.push(Effect::Conclude { outcome, result });
}

/// The evaluation of a concluded mediation (评估): the note is its text.
pub(super) fn evaluate(s: &mut Step) {
    let text = s.note_text();
    s.effects.push(Effect::Evaluate { text });
}
