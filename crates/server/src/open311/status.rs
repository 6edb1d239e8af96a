//! Our workflow states seen through Open311: the standard `open`/`closed`, and the mySociety
//! extended list that FixMyStreet reads from the updates feed. The table is documented in
//! docs/open311.md; keep the two in step.

use safegrid_domain::workflow::{builtin, workflow};

/// The extended statuses of the mySociety updates extension (lowercase, as read).
pub const EXTENDED: [&str; 14] = [
    "open",
    "closed",
    "fixed",
    "in_progress",
    "action_scheduled",
    "investigating",
    "duplicate",
    "not_councils_responsibility",
    "no_further_action",
    "internal_referral",
    "cancelled",
    "reopen",
    "for_triage",
    "planned",
];

/// `open` or `closed`: closed exactly when the state is terminal in its workflow.
pub fn standard(case_type: &str, state: &str) -> &'static str {
    match workflow(case_type) {
        Some(wf) if wf.is_terminal(state) => "closed",
        _ => "open",
    }
}

/// The extended status of a state. A fix counts as `fixed` only once verified (核查) — the
/// department's own "handled" is still `in_progress` until a grid worker has seen it.
pub fn extended(case_type: &str, state: &str) -> &'static str {
    match (case_type, state) {
        (_, "merged") => "duplicate",
        (_, "suspended") => "planned",
        ("service_event", s) => match s {
            "reported" => "open",
            "registered" => "investigating",
            "dispatched" => "action_scheduled",
            "accepted" | "extension_requested" | "rework" | "handled" => "in_progress",
            "returned" => "internal_referral",
            "verified" | "closed" => "fixed",
            "rejected" => "no_further_action",
            "voided" => "cancelled",
            _ => "open",
        },
        ("hazard", s) => match s {
            "found" => "open",
            "registered" => "investigating",
            "rectifying" | "rectified" => "in_progress",
            "closed" => "fixed",
            "rejected" => "no_further_action",
            _ => "open",
        },
        ("dispute", s) => match s {
            "reported" => "open",
            "accepted" => "investigating",
            "assigned" => "action_scheduled",
            "mediating" | "agreed" | "following_up" => "in_progress",
            "resolved" => "fixed",
            "unresolved" | "not_mediated" | "rejected" => "no_further_action",
            "handed_on" => "not_councils_responsibility",
            _ => "open",
        },
        ("petition", s) => match s {
            "received" => "open",
            "accepted" | "review_requested" | "re_review_requested" => "investigating",
            "forwarded" => "internal_referral",
            "handling" | "extension_requested" | "replied" | "reviewed" => "in_progress",
            "concluded" | "re_reviewed" => "closed",
            "not_accepted" => "not_councils_responsibility",
            _ => "open",
        },
        _ => "open",
    }
}

pub use safegrid_domain::workflow::terminal_states;

/// Every non-terminal state name of every workflow.
pub fn open_states() -> Vec<String> {
    let mut v: Vec<String> = builtin()
        .values()
        .flat_map(|w| {
            w.states
                .iter()
                .filter(|s| !s.terminal)
                .map(|s| s.name.clone())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_maps_to_a_known_status_that_agrees_with_open_and_closed() {
        for (ct, wf) in builtin() {
            for s in &wf.states {
                let ext = extended(ct, &s.name);
                assert!(EXTENDED.contains(&ext), "{ct}/{}", s.name);
                let std = standard(ct, &s.name);
                // A closed case never reads as still being worked on, an open one never as finished
                // for good (verified-awaiting-closure is `fixed` but still open).
                if std == "closed" {
                    assert!(
                        ![
                            "open",
                            "in_progress",
                            "action_scheduled",
                            "investigating",
                            "for_triage",
                            "planned",
                            "reopen"
                        ]
                        .contains(&ext),
                        "{ct}/{} closed but {ext}",
                        s.name
                    );
                } else {
                    assert!(
                        ![
                            "closed",
                            "duplicate",
                            "cancelled",
                            "no_further_action",
                            "not_councils_responsibility"
                        ]
                        .contains(&ext),
                        "{ct}/{} open but {ext}",
                        s.name
                    );
                }
            }
        }
        assert_eq!(extended("service_event", "handled"), "in_progress");
        assert_eq!(extended("service_event", "closed"), "fixed");
        assert_eq!(extended("service_event", "merged"), "duplicate");
    }

    #[test]
    fn no_state_name_is_open_in_one_workflow_and_closed_in_another() {
        let t = terminal_states();
        for o in open_states() {
            assert!(!t.contains(&o), "{o}");
        }
    }
}
