//! Supervision (督办): a yellow or red card, by hand here; the deadline job's automatic cards
//! are [`super::watch`].

use super::{Level, Step, live_light};
use crate::calendar::Light;

/// Without a level, the card matches the case's light now: red when overdue, else yellow.
pub(super) fn supervise(s: &mut Step, level: Option<Level>) {
    let level = level.unwrap_or(if live_light(s.case, s.now()) == Light::Red {
        Level::Red
    } else {
        Level::Yellow
    });
    s.data.insert("level".into(), level.as_str().into());
    s.c.supervision = Some(level.as_str().into());
    s.k.supervised += 1;
}
