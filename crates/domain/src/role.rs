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

/// Where an account of a role may look (its scope), which decides every read and write filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    /// Its own reports only (residents with an account).
    OwnReports,
    /// Its grids, plus what it filed itself; its regions too when it has some (grid workers, grid
    /// leaders).
    Grids,
    /// Cases dispatched to its department (department handlers).
    Department,
    /// Its region subtrees (command center, leaders, mediators, administrators).
    Regions,
    /// Everything (the system's own jobs; never a login).
    Everything,
}

/// One role as data (角色表): its code, its names, its scope kind and aliases accepted on input. A
/// new role (petition office, hotline operator, surveyor …) is one variant and one row here, plus
/// its rows in the permission matrix (`app::policy`) and the workflow files that let it act.
#[derive(Debug, Clone, Copy)]
pub struct RoleInfo {
    pub role: Role,
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub scope: ScopeKind,
    pub aliases: &'static [&'static str],
}

/// Every role, in the order the interfaces list them.
pub const ROLES: [RoleInfo; 9] = [
    RoleInfo {
        role: Role::Citizen,
        code: "citizen",
        zh: "群众",
        en: "Citizen",
        scope: ScopeKind::OwnReports,
        aliases: &[],
    },
    RoleInfo {
        role: Role::GridWorker,
        code: "grid_worker",
        zh: "网格员",
        en: "Grid worker",
        scope: ScopeKind::Grids,
        aliases: &["gridworker"],
    },
    RoleInfo {
        role: Role::GridLeader,
        code: "grid_leader",
        zh: "网格长",
        en: "Grid leader",
        scope: ScopeKind::Grids,
        aliases: &["gridleader"],
    },
    RoleInfo {
        role: Role::Dispatcher,
        code: "dispatcher",
        zh: "受理派遣员",
        en: "Dispatcher",
        scope: ScopeKind::Regions,
        aliases: &["intake", "intake_dispatch"],
    },
    RoleInfo {
        role: Role::Handler,
        code: "handler",
        zh: "部门处置人员",
        en: "Department handler",
        scope: ScopeKind::Department,
        aliases: &["department_handler"],
    },
    RoleInfo {
        role: Role::Mediator,
        code: "mediator",
        zh: "调解员",
        en: "Mediator",
        scope: ScopeKind::Regions,
        aliases: &[],
    },
    RoleInfo {
        role: Role::Leader,
        code: "leader",
        zh: "领导",
        en: "Leader",
        scope: ScopeKind::Regions,
        aliases: &[],
    },
    RoleInfo {
        role: Role::Admin,
        code: "admin",
        zh: "管理员",
        en: "Administrator",
        scope: ScopeKind::Regions,
        aliases: &[],
    },
    RoleInfo {
        role: Role::System,
        code: "system",
        zh: "系统",
        en: "System",
        scope: ScopeKind::Everything,
        aliases: &[],
    },
];

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

    /// The role's row of [`ROLES`].
    pub fn info(self) -> &'static RoleInfo {
        ROLES
            .iter()
            .find(|r| r.role == self)
            .expect("every role has its row in ROLES (a test walks them)")
    }

    pub fn as_str(self) -> &'static str {
        self.info().code
    }

    pub fn zh(self) -> &'static str {
        self.info().zh
    }

    pub fn en(self) -> &'static str {
        self.info().en
    }

    /// Where an account of this role may look.
    pub fn scope_kind(self) -> ScopeKind {
        self.info().scope
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
        let key = s.trim().to_ascii_lowercase().replace('-', "_");
        ROLES
            .iter()
            .filter(|r| r.role != Role::System)
            .find(|r| r.code == key || r.aliases.contains(&key.as_str()))
            .map(|r| r.role)
            .ok_or_else(|| {
                let codes: Vec<&str> = Role::ALL_HUMAN.iter().map(|r| r.as_str()).collect();
                FieldError::new("role", format!("must be one of {}", codes.join(", ")))
            })
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
        for (i, r) in ROLES.iter().enumerate() {
            assert_eq!(r.role.info().code, r.code);
            assert!(
                ROLES[..i]
                    .iter()
                    .all(|o| o.role != r.role && o.code != r.code)
            );
        }
        assert_eq!("intake".parse::<Role>().unwrap(), Role::Dispatcher);
    }
}
