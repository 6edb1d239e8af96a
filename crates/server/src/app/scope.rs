//! Scopes (管辖范围) as the application asks them: whether an account sees a case, the filter of
//! its lists, who reveals or sees the tracking code, which accounts an administrator manages, the
//! region statistics are read for. The pure rules are `safegrid_domain::scope`.

use crate::app::error::{AppError, AppResult};
use crate::app::policy::{self, Perm};
use crate::app::state::SharedState;
use safegrid_domain::Role;
use safegrid_domain::codes::RegionCode;
use safegrid_domain::engine::Case;
use safegrid_domain::role::ScopeKind;
use safegrid_store::{CaseFilter, User};
use serde_json::json;

/// Whether `user` may see `case` at all (out of scope reads answer 404). Decided by the role's
/// scope kind (`safegrid_domain::role::ROLES`), so a new role of an existing kind needs no rule here.
pub fn in_scope(user: &User, case: &Case) -> bool {
    match user.role.scope_kind() {
        ScopeKind::Department => case.department.is_some() && case.department == user.department,
        ScopeKind::Grids => {
            case.grid_code
                .as_ref()
                .is_some_and(|g| user.grids.iter().any(|u| u == g.as_str()))
                || (!user.regions.is_empty() && user.covers_region(case.region_code.as_str()))
                || case.created_by == Some(user.id)
        }
        ScopeKind::OwnReports => case.reporter_user == Some(user.id),
        ScopeKind::Regions => user.covers_region(case.region_code.as_str()),
        // The system's jobs never read through an account.
        ScopeKind::Everything => false,
    }
}

/// The filter of `user`'s case lists and exports: the same scope as [`in_scope`], as SQL.
pub fn scope_filter(user: &User, f: &mut CaseFilter) {
    let shorts = |codes: &[String]| -> Vec<String> {
        codes
            .iter()
            .filter_map(|c| RegionCode::parse(c).ok())
            .map(|c| c.short().to_string())
            .collect()
    };
    match user.role.scope_kind() {
        ScopeKind::Department => match &user.department {
            Some(d) => f.scope_department = Some(d.clone()),
            None => f.scope_nothing = true,
        },
        ScopeKind::Grids => {
            f.scope_grids = user.grids.clone();
            f.scope_regions = shorts(&user.regions);
            f.scope_creator = Some(user.id);
        }
        ScopeKind::OwnReports => f.scope_reporter = Some(user.id),
        // An empty region list is "everywhere" for the root administrator only.
        ScopeKind::Regions if user.is_root() => {}
        ScopeKind::Regions if user.regions.is_empty() => f.scope_nothing = true,
        ScopeKind::Regions => f.scope_regions = shorts(&user.regions),
        ScopeKind::Everything => f.scope_nothing = true,
    }
}

/// Whether `user` may reveal this case's reporter contact: a role that calls residents back, with
/// the case in scope; for anonymous reports only the command center.
pub fn may_reveal(user: &User, case: &Case) -> bool {
    policy::allows(user.role, Perm::RevealContact)
        && in_scope(user, case)
        && (!case.reporter_anonymous || user.role == Role::Dispatcher)
}

/// Whether `user` sees the case's tracking code (查询码), the resident's secret that lets anyone
/// holding it rate the case or erase its contact: the command center (it tells a caller their
/// code) and administrators, the resident who reported it and the account that filed it for
/// them. Nobody else needs it, and staff who hold it must not act as the resident.
pub fn sees_tracking_code(user: &User, case: &Case) -> bool {
    matches!(user.role, Role::Dispatcher | Role::Admin)
        || case.reporter_user == Some(user.id)
        || case.created_by == Some(user.id)
}

/// The regions of every department, for judging handlers' scopes.
pub async fn department_regions(
    st: &SharedState,
) -> AppResult<std::collections::HashMap<String, String>> {
    Ok(st
        .store
        .departments()
        .await?
        .into_iter()
        .map(|d| (d.code, d.region_code))
        .collect())
}

/// Refuses a role and scope beyond the granting administrator's own (403 naming the field): no
/// account grants, or gives itself, more than it has, and only the root administrator grants
/// the empty scope that means everywhere.
pub fn check_grant(by: &User, grant: safegrid_domain::scope::Grant<'_>) -> AppResult<()> {
    safegrid_domain::scope::may_grant(by.grant(None), by.is_root(), grant).map_err(|r| {
        AppError::forbidden(format!("{}: {}", r.field, r.reason))
            .with_extra(json!({ "field": r.field }))
    })
}

/// Whether `admin` manages `target`: the target's whole scope lies inside the administrator's
/// (the root administrator manages every account). Other accounts are not listed and answer
/// 404, as a missing one does.
pub fn manages(
    admin: &User,
    target: &User,
    dept_regions: &std::collections::HashMap<String, String>,
) -> bool {
    if admin.is_root() {
        return true;
    }
    if target.is_root() {
        return false;
    }
    let dr = target
        .department
        .as_deref()
        .map(|d| dept_regions.get(d).map(String::as_str).unwrap_or(d));
    check_grant(admin, target.grant(dr)).is_ok()
}

fn region_short(s: &str, field: &str) -> AppResult<String> {
    RegionCode::parse(s)
        .map(|r| r.short().to_string())
        .map_err(|e| AppError::invalid(field, e.reason))
}

/// The viewer's region prefix: the asked one if it lies in the viewer's territory, else their own
/// first region; 404 (as `/stats/kpi` answers) for a region outside the territory or for an
/// account without a region (grid workers, handlers), which has no territory to count. The root
/// administrator's prefix is empty: everything.
pub fn region_for(user: &User, asked: Option<&str>) -> AppResult<String> {
    match asked.map(str::trim).filter(|s| !s.is_empty()) {
        Some(r) => {
            let code = RegionCode::parse(r).map_err(|e| AppError::invalid("region", e.reason))?;
            if !user.covers_region(code.as_str()) {
                return Err(AppError::not_found("region"));
            }
            Ok(code.short().to_string())
        }
        None => match user.regions.first() {
            Some(r) => region_short(r, "region"),
            None if user.is_root() => Ok(String::new()),
            None => Err(AppError::not_found("region")),
        },
    }
}

/// The accounts an administrator manages (its audit entries, tokens and revocations are these
/// accounts'); `None` (every account) for the root administrator.
pub async fn managed_accounts(st: &SharedState, admin: &User) -> AppResult<Option<Vec<User>>> {
    if admin.is_root() {
        return Ok(None);
    }
    let depts = department_regions(st).await?;
    Ok(Some(
        st.store
            .users()
            .await?
            .into_iter()
            .filter(|u| manages(admin, u, &depts))
            .collect(),
    ))
}
