//! Case workflows as data (流程定义): per case type the states, the transitions, which roles may fire
//! each, and which clock (stage of the deadline) each state runs on. Definitions live in
//! `data/workflows/*.toml`; this module parses and checks them so that no transition can reach an
//! undefined state, and answers "what may this role do now?".

use crate::calendar::Limit;
use crate::catalog::Stage;
use crate::role::Role;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The clock a state runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Time counts against this stage's limit.
    Stage(Stage),
    /// Time does not count (挂起 suspended).
    Paused,
    /// Terminal: no clock.
    None,
}

#[derive(Debug, Clone, Deserialize)]
struct RawState {
    name: String,
    zh: String,
    en: String,
    #[serde(default)]
    clock: Option<String>,
    #[serde(default)]
    terminal: bool,
    #[serde(default)]
    limit: Option<String>,
    #[serde(default)]
    party_window: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct RawTransition {
    action: String,
    #[serde(default)]
    guard: Option<String>,
    from: Vec<String>,
    to: String,
    roles: Vec<Role>,
    #[serde(default)]
    note_required: bool,
    #[serde(default)]
    within: Option<String>,
    #[serde(default)]
    max_extension: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawWorkflow {
    case_type: String,
    name_zh: String,
    name_en: String,
    initial: String,
    states: Vec<RawState>,
    transitions: Vec<RawTransition>,
}

/// One state of a workflow.
#[derive(Debug, Clone)]
pub struct StateDef {
    pub name: String,
    pub zh: String,
    pub en: String,
    pub clock: Clock,
    pub terminal: bool,
    /// A limit the law sets for this state whatever the category or urgency (e.g. "60 days" to
    /// handle a petition): it replaces the catalog's stage limit, and re-dispatching within the
    /// stage does not restart it.
    pub limit: Option<Limit>,
    /// The clock is a window for a party (the petitioner's 30 days to ask for review), not an
    /// official's limit: the stage has no due time (so no light, no watch, never overdue); the
    /// window is enforced by the leaving transitions' `within`.
    pub party_window: bool,
}

/// Where a transition leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    State(String),
    /// Stay in the current state (supervise, expedite, rate).
    Same,
    /// Back to the state held before suspension (resume).
    Previous,
}

/// One transition: an action fired from one of several states by one of several roles.
#[derive(Debug, Clone)]
pub struct TransitionDef {
    pub action: String,
    /// `passed` / `failed` for verification; the engine picks the variant from the request.
    pub guard: Option<String>,
    pub from: Vec<String>,
    pub to: Target,
    pub roles: Vec<Role>,
    pub note_required: bool,
    /// The action may be fired only within this limit of entering the state it leaves (an
    /// objection within 5 working_days, a review request within 30 days).
    pub within: Option<Limit>,
    /// The most an extension asked for with this action may add (信访 handling: 30 days).
    pub max_extension: Option<Limit>,
}

/// A checked workflow for one case type.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub case_type: String,
    pub name_zh: String,
    pub name_en: String,
    pub initial: String,
    pub states: Vec<StateDef>,
    pub transitions: Vec<TransitionDef>,
}

/// Why a workflow definition was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WorkflowError {
    #[error("workflow file is not valid TOML: {0}")]
    Toml(String),
    #[error("{case_type}: state {state} is defined twice")]
    DuplicateState { case_type: String, state: String },
    #[error("{case_type}: {what} names undefined state {state}")]
    UndefinedState {
        case_type: String,
        what: String,
        state: String,
    },
    #[error("{case_type}: state {state} has unknown clock {clock}")]
    UnknownClock {
        case_type: String,
        state: String,
        clock: String,
    },
    #[error("{case_type}: transition {action} leaves terminal state {state}")]
    LeavesTerminal {
        case_type: String,
        action: String,
        state: String,
    },
    #[error("{case_type}: transition {action} has no roles")]
    NoRoles { case_type: String, action: String },
    #[error("{case_type}: {what} has an unreadable limit: {reason}")]
    BadLimit {
        case_type: String,
        what: String,
        reason: String,
    },
    #[error("{case_type}: action {action} is ambiguous from state {state}")]
    Ambiguous {
        case_type: String,
        action: String,
        state: String,
    },
}

impl Workflow {
    /// Parses and checks one workflow definition.
    pub fn parse(text: &str) -> Result<Workflow, WorkflowError> {
        let raw: RawWorkflow =
            toml::from_str(text).map_err(|e| WorkflowError::Toml(e.to_string()))?;
        let ct = raw.case_type.clone();
        let mut states = Vec::new();
        for s in &raw.states {
            if states.iter().any(|x: &StateDef| x.name == s.name) {
                return Err(WorkflowError::DuplicateState {
                    case_type: ct,
                    state: s.name.clone(),
                });
            }
            let clock = match (s.terminal, s.clock.as_deref()) {
                (true, _) => Clock::None,
                (false, Some("paused")) => Clock::Paused,
                (false, Some(c)) => Clock::Stage(
                    serde_json::from_value(serde_json::Value::String(c.to_string())).map_err(
                        |_| WorkflowError::UnknownClock {
                            case_type: ct.clone(),
                            state: s.name.clone(),
                            clock: c.to_string(),
                        },
                    )?,
                ),
                (false, None) => {
                    return Err(WorkflowError::UnknownClock {
                        case_type: ct,
                        state: s.name.clone(),
                        clock: "(none)".into(),
                    });
                }
            };
            let limit = read_limit(&ct, &format!("state {}", s.name), s.limit.as_deref())?;
            states.push(StateDef {
                name: s.name.clone(),
                zh: s.zh.clone(),
                en: s.en.clone(),
                clock,
                terminal: s.terminal,
                limit,
                party_window: s.party_window,
            });
        }
        let exists = |n: &str| states.iter().any(|s| s.name == n);
        if !exists(&raw.initial) {
            return Err(WorkflowError::UndefinedState {
                case_type: ct,
                what: "initial".into(),
                state: raw.initial,
            });
        }
        let mut transitions = Vec::new();
        for t in raw.transitions {
            if t.roles.is_empty() {
                return Err(WorkflowError::NoRoles {
                    case_type: ct,
                    action: t.action,
                });
            }
            for f in &t.from {
                if !exists(f) {
                    return Err(WorkflowError::UndefinedState {
                        case_type: ct,
                        what: format!("transition {} (from)", t.action),
                        state: f.clone(),
                    });
                }
                if states.iter().any(|s| &s.name == f && s.terminal) && t.to != "@same" {
                    return Err(WorkflowError::LeavesTerminal {
                        case_type: ct,
                        action: t.action,
                        state: f.clone(),
                    });
                }
            }
            let to = match t.to.as_str() {
                "@same" => Target::Same,
                "@previous" => Target::Previous,
                s if exists(s) => Target::State(s.to_string()),
                s => {
                    return Err(WorkflowError::UndefinedState {
                        case_type: ct,
                        what: format!("transition {} (to)", t.action),
                        state: s.to_string(),
                    });
                }
            };
            let what = format!("transition {}", t.action);
            let within = read_limit(&ct, &what, t.within.as_deref())?;
            let max_extension = read_limit(&ct, &what, t.max_extension.as_deref())?;
            transitions.push(TransitionDef {
                action: t.action,
                guard: t.guard,
                from: t.from,
                to,
                roles: t.roles,
                note_required: t.note_required,
                within,
                max_extension,
            });
        }
        // One action from one state must lead to one place (guards excepted).
        for (i, a) in transitions.iter().enumerate() {
            for b in &transitions[i + 1..] {
                if a.action == b.action
                    && a.guard == b.guard
                    && let Some(s) = a.from.iter().find(|s| b.from.contains(s))
                {
                    return Err(WorkflowError::Ambiguous {
                        case_type: ct,
                        action: a.action.clone(),
                        state: s.clone(),
                    });
                }
            }
        }
        Ok(Workflow {
            case_type: raw.case_type,
            name_zh: raw.name_zh,
            name_en: raw.name_en,
            initial: raw.initial,
            states,
            transitions,
        })
    }

    pub fn state(&self, name: &str) -> Option<&StateDef> {
        self.states.iter().find(|s| s.name == name)
    }

    /// The transition for `action` from `state`, picking the guard variant when there are several.
    pub fn transition(
        &self,
        state: &str,
        action: &str,
        guard: Option<&str>,
    ) -> Option<&TransitionDef> {
        self.transitions.iter().find(|t| {
            t.action == action
                && t.from.iter().any(|f| f == state)
                && (t.guard.is_none() || t.guard.as_deref() == guard)
        })
    }

    /// Every action defined from `state`, whoever may fire it (sorted, unique).
    pub fn actions_from(&self, state: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .transitions
            .iter()
            .filter(|t| t.from.iter().any(|f| f == state))
            .map(|t| t.action.as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Actions `role` may fire from `state` (sorted, unique).
    pub fn actions_for(&self, state: &str, role: Role) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .transitions
            .iter()
            .filter(|t| t.from.iter().any(|f| f == state) && t.roles.contains(&role))
            .map(|t| t.action.as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Every action name of this workflow.
    pub fn action_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.transitions.iter().map(|t| t.action.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn is_terminal(&self, state: &str) -> bool {
        self.state(state).is_some_and(|s| s.terminal)
    }
}

fn read_limit(
    case_type: &str,
    what: &str,
    s: Option<&str>,
) -> Result<Option<Limit>, WorkflowError> {
    s.map(|s| {
        s.parse::<Limit>().map_err(|e| WorkflowError::BadLimit {
            case_type: case_type.to_string(),
            what: what.to_string(),
            reason: e.reason,
        })
    })
    .transpose()
}

const BUILTIN: [(&str, &str); 4] = [
    (
        "service_event",
        include_str!("../../../data/workflows/service_event.toml"),
    ),
    (
        "dispute",
        include_str!("../../../data/workflows/dispute.toml"),
    ),
    (
        "petition",
        include_str!("../../../data/workflows/petition.toml"),
    ),
    (
        "hazard",
        include_str!("../../../data/workflows/hazard.toml"),
    ),
];

/// The built-in workflows by case type. The definitions are tested, so a failure here is a build defect.
/// Every state name that is terminal in some workflow, sorted (state names never mean "open" in
/// one workflow and "closed" in another; Open311's status test checks it). Case lists use it for
/// "open only" filters.
pub fn terminal_states() -> Vec<String> {
    builtin()
        .values()
        .flat_map(|w| {
            w.states
                .iter()
                .filter(|s| s.terminal)
                .map(|s| s.name.clone())
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Every state name that is not terminal in any workflow, sorted: with [`terminal_states`], every
/// state there is, once. A count of open cases can name these instead of excluding the terminal
/// ones, which lets an index led by status read open entries only.
pub fn open_states() -> Vec<String> {
    let terminal = terminal_states();
    builtin()
        .values()
        .flat_map(|w| w.states.iter().map(|s| s.name.clone()))
        .filter(|n| !terminal.contains(n))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

pub fn builtin() -> &'static BTreeMap<String, Workflow> {
    static WORKFLOWS: OnceLock<BTreeMap<String, Workflow>> = OnceLock::new();
    WORKFLOWS.get_or_init(|| {
        BUILTIN
            .iter()
            .map(|(name, text)| {
                let wf = Workflow::parse(text)
                    .unwrap_or_else(|e| panic!("built-in workflow {name}: {e}"));
                (wf.case_type.clone(), wf)
            })
            .collect()
    })
}

/// The built-in workflow of one case type.
pub fn workflow(case_type: &str) -> Option<&'static Workflow> {
    builtin().get(case_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Open and terminal states split every state of every workflow, with none in both: a name
    /// terminal in one workflow is terminal in all (so an "open" filter can name either side).
    #[test]
    fn open_and_terminal_states_split_every_state() {
        let (open, terminal) = (open_states(), terminal_states());
        assert!(open.iter().all(|s| !terminal.contains(s)));
        for wf in builtin().values() {
            for s in &wf.states {
                let side = if s.terminal { &terminal } else { &open };
                assert!(side.contains(&s.name), "{} in {}", s.name, wf.case_type);
            }
        }
        assert!(open.contains(&"reported".to_string()));
        assert!(terminal.contains(&"closed".to_string()));
    }

    #[test]
    fn every_builtin_workflow_parses_and_every_state_is_reachable() {
        for (name, text) in BUILTIN {
            let wf = Workflow::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(wf.case_type, name);
            // Reachability from the initial state, following defined targets (resume returns
            // to a state that was itself reached, so it adds nothing).
            let mut seen = vec![wf.initial.clone()];
            let mut i = 0;
            while i < seen.len() {
                let s = seen[i].clone();
                for t in wf.transitions.iter().filter(|t| t.from.contains(&s)) {
                    if let Target::State(to) = &t.to
                        && !seen.contains(to)
                    {
                        seen.push(to.clone());
                    }
                }
                i += 1;
            }
            for st in &wf.states {
                assert!(
                    seen.contains(&st.name),
                    "{name}: state {} unreachable",
                    st.name
                );
            }
            // Every non-terminal state has a way forward, every terminal state none but @same.
            for st in &wf.states {
                let out = wf.actions_from(&st.name);
                assert_eq!(
                    st.terminal,
                    // Rating a closed case, evaluating a concluded dispute (评估) and residents'
                    // comments come after the end.
                    out.iter()
                        .all(|a| ["rate", "evaluate", "comment"].contains(a)),
                    "{name}: {}",
                    st.name
                );
            }
        }
    }

    #[test]
    fn service_event_carries_every_side_flow_of_gbt_30428() {
        let wf = workflow("service_event").unwrap();
        for a in [
            "register",
            "reject",
            "void",
            "dispatch",
            "accept",
            "return",
            "request_extension",
            "approve_extension",
            "refuse_extension",
            "suspend",
            "resume",
            "handle",
            "verify",
            "close",
            "supervise",
            "expedite",
            "self_handle",
            "rate",
            "link_duplicate",
        ] {
            assert!(wf.action_names().contains(&a), "missing {a}");
        }
        assert_eq!(
            wf.transition("handled", "verify", Some("failed"))
                .unwrap()
                .to,
            Target::State("rework".into())
        );
        assert_eq!(
            wf.actions_for("reported", Role::Dispatcher),
            [
                "expedite",
                "link_duplicate",
                "register",
                "reject",
                "supervise"
            ]
        );
        assert!(wf.actions_for("closed", Role::Handler).is_empty());
        // A note from a machine channel is possible in every state, for no human role.
        for st in &wf.states {
            let t = wf.transition(&st.name, "comment", None).unwrap();
            assert_eq!(t.to, Target::Same);
            assert_eq!(t.roles, [Role::System]);
            assert!(t.note_required);
        }
    }

    #[test]
    fn definitions_reaching_undefined_states_are_refused() {
        let bad = r#"case_type = "x"
name_zh = "x"
name_en = "x"
initial = "a"
[[states]]
name = "a"
zh = "a"
en = "a"
clock = "register"
[[transitions]]
action = "go"
from = ["a"]
to = "nowhere"
roles = ["dispatcher"]
"#;
        assert!(matches!(
            Workflow::parse(bad),
            Err(WorkflowError::UndefinedState { .. })
        ));
        let bad_clock = bad.replace("clock = \"register\"", "clock = \"lunch\"");
        assert!(matches!(
            Workflow::parse(&bad_clock),
            Err(WorkflowError::UnknownClock { .. })
        ));
    }
}
