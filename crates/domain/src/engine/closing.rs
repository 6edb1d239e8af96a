//! Closing and rating (结案、满意度评价).

use super::{EngineError, Step};

pub(super) fn close(s: &mut Step) {
    s.c.closed_at = Some(s.now());
    s.k.closed += 1;
    if !s.c.ever_overdue {
        s.k.closed_on_time += 1;
    }
}

/// The reporter's rating (1–5, 4 and up satisfied): once per case.
pub(super) fn rate(s: &mut Step, score: u8) -> Result<(), EngineError> {
    if s.case.rating.is_some() {
        return Err(EngineError::NotAllowed {
            action: "rate".into(),
            state: format!("{} (already rated)", s.case.status),
            allowed: vec![],
        });
    }
    s.c.rating = Some(i16::from(score));
    s.k.rated += 1;
    s.k.rating_sum += i64::from(score);
    s.k.satisfied += i64::from(score >= 4);
    s.data.insert("score".into(), score.into());
    Ok(())
}
