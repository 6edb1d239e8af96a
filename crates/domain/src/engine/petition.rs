//! Petition handling (信访): the answers a petition office gives, each kept beside the case.
//! Forwarding and objecting are a dispatch and a return ([`super::handling`]); concluding
//! closes the case.

use super::{AnswerKind, Effect, Step};

/// An answer (答复, 复查意见, 复核意见): the note is its text. The first one handles the case;
/// the answer to a re-review is final and closes it.
pub(super) fn answer(s: &mut Step, kind: AnswerKind) {
    match kind {
        AnswerKind::Reply => s.mark_handled(),
        AnswerKind::ReviewAnswer => {}
        AnswerKind::ReReviewAnswer => s.close_case(),
    }
    let text = s.note_text();
    s.effects.push(Effect::Answer { kind, text });
}
