//! Account scopes (管辖范围): which territory an account covers, and which scopes one account may
//! grant to another. Pure rules, asked by every face (API, web pages, CLI) through the store's
//! `User`.
//!
//! The rules, as docs/security.md states them:
//! - a region list covers those regions and everything beneath them;
//! - an empty region list covers **nothing**, except for the root administrator (an administrator
//!   with no region, grid or department, which only the CLI creates);
//! - an account may grant (create, change) only a role and scope within its own: every region, grid
//!   and department it names lies in the granting account's territory, and an empty scope (the
//!   root's "everywhere") is granted by the root alone.
//!
//! Internal actors built by code (the deadline job, generators) are `engine::Actor`s, whose empty
//! region list still means the whole deployment; accounts never reach the engine without passing
//! these rules first.

use crate::Role;
use crate::codes::{GridCode, RegionCode};

/// The root administrator: an administrator with no region, grid or department.
pub fn is_root(role: Role, regions: &[String], grids: &[String], department: Option<&str>) -> bool {
    role == Role::Admin && regions.is_empty() && grids.is_empty() && department.is_none()
}

/// Whether `region` (any level, 2–12 digits, or a 15-digit grid code) lies under one of `regions`.
/// An empty list covers nothing: the root's "everywhere" is decided by the caller with [`is_root`].
pub fn regions_cover(regions: &[String], region: &str) -> bool {
    regions.iter().any(|r| match RegionCode::parse(r) {
        Ok(code) => region.starts_with(code.short()),
        Err(_) => false,
    })
}

/// A scope to grant: what a new or changed account would cover.
#[derive(Debug, Clone, Copy)]
pub struct Grant<'a> {
    pub role: Role,
    pub regions: &'a [String],
    pub grids: &'a [String],
    /// The region the department serves, when the account belongs to one.
    pub department_region: Option<&'a str>,
}

impl Grant<'_> {
    /// Whether the scope is empty (the root's "everywhere", or a resident's account).
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty() && self.grids.is_empty() && self.department_region.is_none()
    }
}

/// Why a grant was refused: the field it concerns and the reason, for the error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: &'static str,
    pub reason: String,
}

/// Whether an account with `granter`'s scope may give `grant` (to another account or itself).
/// The root may grant anything; any other administrator only a non-empty scope inside its own
/// regions, and never the root's empty scope.
pub fn may_grant(
    granter: Grant<'_>,
    granter_is_root: bool,
    grant: Grant<'_>,
) -> Result<(), Refusal> {
    if granter_is_root {
        return Ok(());
    }
    let mine = granter.regions;
    if grant.is_empty() {
        let reason = if grant.role == Role::Citizen {
            "resident accounts are managed by the root administrator"
        } else {
            "an account without a region, grid or department would cover everything; only the root administrator (created with the CLI) does"
        };
        return Err(Refusal {
            field: "regions",
            reason: reason.into(),
        });
    }
    for (i, r) in grant.regions.iter().enumerate() {
        let short = RegionCode::parse(r).map(|c| c.as_str().to_string());
        if !short.as_deref().is_ok_and(|r| regions_cover(mine, r)) {
            return Err(Refusal {
                field: "regions",
                reason: format!("regions[{i}] {r} lies outside your own territory"),
            });
        }
    }
    for (i, g) in grant.grids.iter().enumerate() {
        let ok = GridCode::parse(g).is_ok_and(|g| regions_cover(mine, g.as_str()));
        if !ok {
            return Err(Refusal {
                field: "grids",
                reason: format!("grids[{i}] {g} lies outside your own territory"),
            });
        }
    }
    if let Some(d) = grant.department_region
        && !regions_cover(mine, d)
    {
        return Err(Refusal {
            field: "department",
            reason: "the department serves a region outside your own territory".into(),
        });
    }
    Ok(())
}

/// Whether an action's actor may name something in `region` (or in `grid`): the case it links,
/// the department it dispatches to. Code's own actors (the system, generators without an account)
/// with no region act everywhere; an account only within its regions or grids, an empty region
/// list being "everywhere" for the root administrator alone.
pub fn actor_reaches(actor: &crate::engine::Actor, region: &str, grid: Option<&str>) -> bool {
    if actor.role == Role::System
        || (actor.regions.is_empty() && actor.grids.is_empty() && actor.id.is_none())
        || is_root(
            actor.role,
            &actor.regions,
            &actor.grids,
            actor.department.as_deref(),
        )
    {
        return true;
    }
    regions_cover(&actor.regions, region)
        || grid.is_some_and(|g| actor.grids.iter().any(|x| x == g))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn grant<'a>(
        role: Role,
        regions: &'a [String],
        grids: &'a [String],
        dept: Option<&'a str>,
    ) -> Grant<'a> {
        Grant {
            role,
            regions,
            grids,
            department_region: dept,
        }
    }

    #[test]
    fn an_empty_region_list_covers_nothing() {
        assert!(!regions_cover(&[], "330521"));
        let deqing = s(&["330521"]);
        assert!(regions_cover(&deqing, "330521001001"));
        assert!(regions_cover(&deqing, "330521001001003"));
        assert!(!regions_cover(&deqing, "330502001001"));
        assert!(!regions_cover(&deqing, "3305"));
    }

    #[test]
    fn only_the_root_has_an_empty_scope_and_grants_it() {
        assert!(is_root(Role::Admin, &[], &[], None));
        assert!(!is_root(Role::Admin, &s(&["3305"]), &[], None));
        assert!(!is_root(Role::Dispatcher, &[], &[], None));
        assert!(!is_root(Role::Admin, &[], &[], Some("330502-cgj")));
        let none: Vec<String> = vec![];
        let deqing = s(&["330521"]);
        let county_admin = grant(Role::Admin, &deqing, &none, None);
        // The finding: a county administrator widening its own scope to "everything".
        let widen = grant(Role::Admin, &none, &none, None);
        let e = may_grant(county_admin, false, widen).unwrap_err();
        assert_eq!(e.field, "regions");
        assert!(may_grant(county_admin, true, widen).is_ok());
    }

    #[test]
    fn a_county_administrator_grants_within_its_county_only() {
        let none: Vec<String> = vec![];
        let deqing = s(&["330521"]);
        let wuxing = s(&["330502"]);
        let city = s(&["3305"]);
        let admin = grant(Role::Admin, &deqing, &none, None);
        let (township, own_grid, other_grid) = (
            s(&["330521001"]),
            s(&["330521001001001"]),
            s(&["330502001001001"]),
        );
        let ok = [
            grant(Role::Leader, &deqing, &none, None),
            grant(Role::Dispatcher, &township, &none, None),
            grant(Role::GridWorker, &none, &own_grid, None),
            grant(Role::Handler, &none, &none, Some("330521")),
            grant(Role::Admin, &deqing, &none, None),
        ];
        for g in ok {
            assert!(may_grant(admin, false, g).is_ok(), "{g:?}");
        }
        let refused = [
            (grant(Role::Leader, &wuxing, &none, None), "regions"),
            (grant(Role::Leader, &city, &none, None), "regions"),
            (grant(Role::GridWorker, &none, &other_grid, None), "grids"),
            (
                grant(Role::Handler, &none, &none, Some("330502")),
                "department",
            ),
            (
                grant(Role::Handler, &none, &none, Some("330500")),
                "department",
            ),
            (grant(Role::Citizen, &none, &none, None), "regions"),
        ];
        for (g, field) in refused {
            assert_eq!(
                may_grant(admin, false, g).unwrap_err().field,
                field,
                "{g:?}"
            );
        }
    }
}
