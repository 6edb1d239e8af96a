//! Roles of the people (and the one machine actor) who act on cases.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// What an account is for. The permission to fire each workflow action is given per role in the
/// workflow definitions (`data/workflows/*.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 群众 / 市民: reports, follows by tracking code, rates.
    Citizen,
    /// 网格员: patrols one grid, reports, verifies fixes (核查).
    GridWorker,
    /// 网格长: leads the grid workers of a village or community.
    GridLeader,
    /// 受理员 / 值班长 at the command center (综治中心): registers, dispatches, closes.
    Dispatcher,
    /// 职能部门处置人员: handles dispatched cases for one department.
    Handler,
    /// 调解员: runs people's mediation.
    Mediator,
    /// 领导: reads dashboards, supervises (督办).
    Leader,
    /// 管理员: territory, grids, categories, deadlines, accounts.
    Admin,
    /// The deadline job runner; never a login.
    System,
}

impl Role {
    pub const ALL_HUMAN: [Role; 8] = [
        Role::Citizen,
        Role::GridWorker,
        Role::GridLeader,
        Role::Dispatcher,
        Role::Handler,
        Role::Mediator,
        Role::Leader,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::GridWorker => "grid_worker",
            Role::GridLeader => "grid_leader",
            Role::Dispatcher => "dispatcher",
            Role::Handler => "handler",
            Role::Mediator => "mediator",
            Role::Leader => "leader",
            Role::Admin => "admin",
            Role::System => "system",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Role::Citizen => "群众",
            Role::GridWorker => "网格员",
            Role::GridLeader => "网格长",
            Role::Dispatcher => "受理派遣员",
            Role::Handler => "部门处置人员",
            Role::Mediator => "调解员",
            Role::Leader => "领导",
            Role::Admin => "管理员",
            Role::System => "系统",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let role = match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "citizen" => Role::Citizen,
            "grid_worker" | "gridworker" => Role::GridWorker,
            "grid_leader" | "gridleader" => Role::GridLeader,
            "dispatcher" | "intake" | "intake_dispatch" => Role::Dispatcher,
            "handler" | "department_handler" => Role::Handler,
            "mediator" => Role::Mediator,
            "leader" => Role::Leader,
            "admin" => Role::Admin,
            _ => {
                return Err(FieldError::new(
                    "role",
                    "must be one of citizen, grid_worker, grid_leader, dispatcher, handler, mediator, leader, admin",
                ));
            }
        };
        Ok(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_human_role_round_trips_and_system_is_no_login() {
        for r in Role::ALL_HUMAN {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("system".parse::<Role>().is_err());
        assert_eq!("intake".parse::<Role>().unwrap(), Role::Dispatcher);
    }
}
