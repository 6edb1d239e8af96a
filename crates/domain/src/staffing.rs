//! Grid staffing (一人一格): each grid has one responsible grid worker (网格员) and a grid leader
//! (网格长); a worker may hold several grids. A grid changes hands by an assignment, a handover
//! (交接, its open work moves with it) or a vacancy; an absence is covered for a period (代班).
//! Pure rules: which post a role fills, how a grid list changes, whether a cover's period is
//! sound and overlaps another.

use crate::Role;
use crate::error::FieldError;
use chrono::{DateTime, Duration, Utc};

/// A post on a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Post {
    /// 网格员: the one responsible worker of the grid.
    Worker,
    /// 网格长: the grid's leader.
    Leader,
}

impl Post {
    pub fn parse(s: &str) -> Result<Post, FieldError> {
        match s.trim() {
            "worker" | "grid_worker" | "网格员" => Ok(Post::Worker),
            "leader" | "grid_leader" | "网格长" => Ok(Post::Leader),
            _ => Err(FieldError::new("post", "must be worker or leader")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Post::Worker => "worker",
            Post::Leader => "leader",
        }
    }

    /// The role an account must have to fill this post.
    pub fn role(self) -> Role {
        match self {
            Post::Worker => Role::GridWorker,
            Post::Leader => Role::GridLeader,
        }
    }
}

/// What a staffing history row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Assign,
    Handover,
    Vacate,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Assign => "assign",
            ChangeKind::Handover => "handover",
            ChangeKind::Vacate => "vacate",
        }
    }
}

/// `grids` with `grid` added (kept once, in code order).
pub fn with_grid(grids: &[String], grid: &str) -> Vec<String> {
    let mut v: Vec<String> = grids.iter().filter(|g| *g != grid).cloned().collect();
    v.push(grid.to_string());
    v.sort();
    v
}

/// `grids` without `grid`.
pub fn without_grid(grids: &[String], grid: &str) -> Vec<String> {
    grids.iter().filter(|g| *g != grid).cloned().collect()
}

/// The longest cover one request may arrange: an absence beyond it is a new assignment.
pub const MAX_COVER_DAYS: i64 = 366;

/// Checks a cover's period: it ends after it starts and lasts at most [`MAX_COVER_DAYS`].
pub fn check_period(starts: DateTime<Utc>, ends: DateTime<Utc>) -> Result<(), FieldError> {
    if ends <= starts {
        return Err(FieldError::new("ends_at", "must be after starts_at"));
    }
    if ends - starts > Duration::days(MAX_COVER_DAYS) {
        return Err(FieldError::new(
            "ends_at",
            format!("a cover lasts at most {MAX_COVER_DAYS} days"),
        ));
    }
    Ok(())
}

/// Whether two half-open periods `[a0, a1)` and `[b0, b1)` share a moment.
pub fn overlaps(a0: i64, a1: i64, b0: i64, b1: i64) -> bool {
    a0 < b1 && b0 < a1
}

/// The case states in which a grid worker verifies (核查) a case, in every built-in workflow:
/// the cases a handover moves as "awaiting verification".
pub fn verification_states() -> Vec<String> {
    crate::workflow::builtin()
        .values()
        .flat_map(|w| {
            w.states
                .iter()
                .filter(|s| w.actions_for(&s.name, Role::GridWorker).contains(&"verify"))
                .map(|s| s.name.clone())
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap()
    }

    #[test]
    fn a_cover_ends_after_it_starts() {
        assert_eq!(check_period(t(2), t(1)).unwrap_err().field, "ends_at");
        assert_eq!(check_period(t(1), t(1)).unwrap_err().field, "ends_at");
        assert!(check_period(t(1), t(2)).is_ok());
        assert!(check_period(t(0), t(24 * 400)).is_err());
    }

    #[test]
    fn periods_touching_at_an_end_do_not_overlap() {
        assert!(!overlaps(0, 10, 10, 20));
        assert!(overlaps(0, 11, 10, 20));
        assert!(overlaps(5, 6, 0, 20));
    }

    #[test]
    fn grid_lists_keep_each_grid_once() {
        let g = vec!["b".to_string(), "a".to_string()];
        assert_eq!(with_grid(&g, "a"), vec!["a", "b"]);
        assert_eq!(with_grid(&g, "c"), vec!["a", "b", "c"]);
        assert_eq!(without_grid(&g, "a"), vec!["b"]);
        assert_eq!(Post::parse("网格长").unwrap(), Post::Leader);
        assert_eq!(Post::parse("x").unwrap_err().field, "post");
    }

    #[test]
    fn grid_workers_verify_handled_service_events_and_rectified_hazards() {
        let v = verification_states();
        assert!(v.contains(&"handled".to_string()), "{v:?}");
        assert!(v.contains(&"rectified".to_string()), "{v:?}");
    }
}
