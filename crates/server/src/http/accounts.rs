//! Administration of accounts, scopes and machine tokens, and the audit trail's search. Every
//! change here is itself audited.

use super::auth::CurrentUser;
use super::json::ApiJson;
use crate::app::auth::{check_password, hash_password};
use crate::app::error::{AppError, AppResult};
use crate::app::policy::{Perm, require};
use crate::app::scope::check_grant;
use crate::app::scope::department_regions;
use crate::app::scope::{managed_accounts, manages};
use crate::app::state::SharedState;
use crate::app::time::local_time;
use crate::app::time::parse_day;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use safegrid_domain::Role;
use safegrid_domain::codes::{GridCode, RegionCode};
use safegrid_store::{AuditEntry, AuditFilter, NewUser, StoreError, User, UserChange};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
        "department": u.department, "regions": u.regions, "grids": u.grids, "disabled": u.disabled,
        "locked_until": u.locked_until.map(local_time), "created_at": local_time(u.created_at),
    })
}

/// Checks a scope: region codes (2–12 digits) and grid codes (15 digits), normalised.
pub fn parse_scope(regions: &[String], grids: &[String]) -> AppResult<(Vec<String>, Vec<String>)> {
    let r = regions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            RegionCode::parse(c)
                .map(|c| c.as_str().to_string())
                .map_err(|e| AppError::invalid(format!("regions[{i}]"), e.reason))
        })
        .collect::<AppResult<Vec<_>>>()?;
    let g = grids
        .iter()
        .enumerate()
        .map(|(i, c)| {
            GridCode::parse(c)
                .map(|c| c.as_str().to_string())
                .map_err(|e| AppError::invalid(format!("grids[{i}]"), e.reason))
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok((r, g))
}

async fn check_department(st: &SharedState, d: Option<&str>) -> AppResult<()> {
    if let Some(d) = d {
        match st.store.department(d).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(AppError::invalid("department", "no such department"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn parse_role(r: &str) -> AppResult<Role> {
    let role: Role = r
        .parse()
        .map_err(|e: safegrid_domain::FieldError| AppError::invalid("role", e.reason))?;
    if role == Role::System {
        return Err(AppError::invalid("role", "system is not a login role"));
    }
    Ok(role)
}

async fn audit(
    st: &SharedState,
    by: &User,
    action: &str,
    target: &User,
    detail: Value,
) -> AppResult<()> {
    st.store
        .audit(&AuditEntry::new(
            Some(by.id),
            by.username.clone(),
            action,
            "user",
            Some(target.username.clone()),
            detail,
        ))
        .await?;
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", summary = "Accounts with their roles and scopes",
    security(("session" = []), ("bearer" = [])), responses((status = 200, description = "The accounts", body = super::schema::UserList)))]
async fn list_users(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<Json<Value>> {
    require(&user, Perm::ManageAccounts)?;
    let depts = department_regions(&st).await?;
    let users = st.store.users().await?;
    Ok(Json(json!({ "items": users
        .iter()
        .filter(|u| manages(&user, u, &depts))
        .map(user_json)
        .collect::<Vec<_>>() })))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = NewUser)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    username: String,
    #[serde(default)]
    display_name: Option<String>,
    role: String,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    grids: Vec<String>,
    #[schema(format = Password, min_length = 10)]
    password: String,
}

#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", summary = "Create an account (password policy applies; audited)",
    security(("session" = []), ("bearer" = [])), request_body(content = NewUserBody, content_type = "application/json"),
    responses((status = 201, description = "Created", body = super::schema::UserRecord)))]
async fn create_user(
    State(st): State<SharedState>,
    CurrentUser(admin): CurrentUser,
    ApiJson(b): ApiJson<NewUserBody>,
) -> AppResult<(StatusCode, Json<Value>)> {
    require(&admin, Perm::ManageAccounts)?;
    let username = b.username.trim().to_string();
    if username.is_empty()
        || username.chars().count() > 64
        || !username
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.".contains(c))
    {
        return Err(AppError::invalid(
            "username",
            "must be 1–64 letters, digits, '-', '_' or '.'",
        ));
    }
    let role = parse_role(&b.role)?;
    let (regions, grids) = parse_scope(&b.regions, &b.grids)?;
    if role == Role::Handler && b.department.is_none() {
        return Err(AppError::invalid("department", "is required for a handler"));
    }
    check_department(&st, b.department.as_deref()).await?;
    let depts = department_regions(&st).await?;
    check_grant(
        &admin,
        safegrid_domain::scope::Grant {
            role,
            regions: &regions,
            grids: &grids,
            department_region: b
                .department
                .as_deref()
                .and_then(|d| depts.get(d))
                .map(String::as_str),
        },
    )?;
    check_password(&b.password, &username)?;
    let display_name = b.display_name.unwrap_or_else(|| username.clone());
    if display_name.chars().count() > 100 {
        return Err(AppError::invalid(
            "display_name",
            "must be at most 100 characters",
        ));
    }
    let u = st
        .store
        .create_user(&NewUser {
            username,
            display_name,
            password_hash: hash_password(b.password).await?,
            role,
            department: b.department,
            regions,
            grids,
        })
        .await?;
    audit(
        &st,
        &admin,
        "account.create",
        &u,
        json!({ "role": u.role, "department": u.department, "regions": u.regions, "grids": u.grids }),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user_json(&u))))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = UserChange)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    /// null clears it; absent leaves it.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    department: Option<Option<String>>,
    #[serde(default)]
    regions: Option<Vec<String>>,
    #[serde(default)]
    grids: Option<Vec<String>>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    #[schema(format = Password, min_length = 10)]
    password: Option<String>,
}

/// `"department": null` clears it; an absent key leaves it.
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Ok(Some(Option::<String>::deserialize(d)?))
    }
}

#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin",
    summary = "Change role, scope, department, password or disable (ends sessions when narrowed; audited)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "account id (UUID)")),
    request_body(content = ChangeBody, content_type = "application/json"),
    responses((status = 200, description = "The account as changed", body = super::schema::UserRecord)))]
async fn change_user(
    State(st): State<SharedState>,
    CurrentUser(admin): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ChangeBody>,
) -> AppResult<Json<Value>> {
    require(&admin, Perm::ManageAccounts)?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found("account"))?;
    let depts = department_regions(&st).await?;
    let cur = match st.store.user(id).await {
        Ok(u) if manages(&admin, &u, &depts) => u,
        Ok(_) | Err(StoreError::NotFound) => return Err(AppError::not_found("account")),
        Err(e) => return Err(e.into()),
    };
    let role = b.role.as_deref().map(parse_role).transpose()?;
    let regions = b
        .regions
        .as_deref()
        .map(|r| parse_scope(r, &[]))
        .transpose()?
        .map(|x| x.0);
    let grids = b
        .grids
        .as_deref()
        .map(|g| parse_scope(&[], g))
        .transpose()?
        .map(|x| x.1);
    if let Some(Some(d)) = &b.department {
        check_department(&st, Some(d)).await?;
    }
    if id == admin.id && (b.disabled == Some(true) || role.is_some_and(|r| r != Role::Admin)) {
        return Err(AppError::invalid(
            "role",
            "you may not disable or demote your own account (ask another administrator)",
        ));
    }
    // The account as it would be after the change must still lie within the administrator's
    // own scope (the administrator's own account included: nobody widens their own scope).
    let after_role = role.unwrap_or(cur.role);
    let after_regions = regions.clone().unwrap_or_else(|| cur.regions.clone());
    let after_grids = grids.clone().unwrap_or_else(|| cur.grids.clone());
    let after_dept = match &b.department {
        Some(d) => d.clone(),
        None => cur.department.clone(),
    };
    if role.is_some() || regions.is_some() || grids.is_some() || b.department.is_some() {
        check_grant(
            &admin,
            safegrid_domain::scope::Grant {
                role: after_role,
                regions: &after_regions,
                grids: &after_grids,
                department_region: after_dept
                    .as_deref()
                    .map(|d| depts.get(d).map(String::as_str).unwrap_or(d)),
            },
        )?;
    }
    if let Some(p) = &b.password {
        check_password(p, &cur.username)?;
    }
    let change = UserChange {
        display_name: b.display_name.clone(),
        role,
        department: b.department.clone(),
        regions,
        grids,
        disabled: b.disabled,
    };
    let u = st.store.update_user(id, &change).await?;
    // A token lends its account's role and scope: none may outlive a narrower one.
    st.tokens.clear();
    let password_changed = b.password.is_some();
    if let Some(p) = b.password {
        st.store
            .set_password_hash(id, &hash_password(p).await?)
            .await?;
        st.store.delete_user_sessions(id).await?;
    }
    audit(
        &st,
        &admin,
        "account.update",
        &u,
        json!({
            "before": { "role": cur.role, "department": cur.department, "regions": cur.regions, "grids": cur.grids, "disabled": cur.disabled },
            "after": { "role": u.role, "department": u.department, "regions": u.regions, "grids": u.grids, "disabled": u.disabled },
            "password_changed": password_changed,
        }),
    )
    .await?;
    Ok(Json(user_json(&u)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Count>)]
    page: Option<i64>,
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Count>)]
    page_size: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", summary = "Search the audit trail, newest first",
    security(("session" = []), ("bearer" = [])), params(AuditQuery), responses((status = 200, description = "A page of entries", body = super::schema::AuditPage)))]
async fn search_audit(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Json<Value>> {
    require(&user, Perm::ReadAudit)?;
    let Query(q) = q.map_err(|e| AppError::bad_request(Some("query"), e.body_text()))?;
    let page = q.page.unwrap_or(1);
    let page_size = q.page_size.unwrap_or(100);
    if !(1..=1000).contains(&page_size) {
        return Err(AppError::invalid("page_size", "must be between 1 and 1000"));
    }
    let f = AuditFilter {
        actor: q.actor,
        action: q.action,
        target_type: q.target_type,
        target_id: q.target_id,
        from: q
            .from
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| parse_day(s, "from", false))
            .transpose()?,
        to: q
            .to
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| parse_day(s, "to", true))
            .transpose()?,
        actors_in: managed_accounts(&st, &user)
            .await?
            .map(|v| v.into_iter().map(|u| u.username).collect()),
        limit: page_size,
        offset: crate::app::input::page_offset(page, page_size)?,
    };
    let (rows, total) = st.store.audit_search(&f).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "seq": r.seq, "at": local_time(r.at), "actor": r.actor_name, "actor_id": r.actor_id,
                "ip": r.ip, "action": r.action, "target_type": r.target_type, "target_id": r.target_id,
                "detail": r.detail, "hash": r.hash,
            })
        })
        .collect();
    Ok(Json(
        json!({ "items": items, "total": total, "page": page, "page_size": page_size }),
    ))
}

#[utoipa::path(get, path = "/api/v1/admin/audit/verify", tag = "admin", summary = "Check the audit trail's hash chain",
    security(("session" = []), ("bearer" = [])), responses((status = 200, description = "The check", body = super::schema::AuditCheck)))]
async fn verify_audit(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<Json<Value>> {
    require(&user, Perm::ReadAudit)?;
    let v = st.store.verify_audit(|_| {}).await?;
    Ok(Json(
        json!({ "intact": v.broken_at.is_none(), "entries": v.entries, "broken_at": v.broken_at, "reason": v.reason }),
    ))
}

#[utoipa::path(get, path = "/api/v1/admin/tokens", tag = "admin", summary = "Machine tokens (never their secrets)",
    security(("session" = []), ("bearer" = [])), responses((status = 200, description = "The tokens", body = super::schema::TokenList)))]
async fn list_tokens(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<Json<Value>> {
    require(&user, Perm::ManageAccounts)?;
    let mine: Option<std::collections::HashSet<Uuid>> = managed_accounts(&st, &user)
        .await?
        .map(|v| v.iter().map(|u| u.id).collect());
    let toks = st.store.tokens().await?;
    Ok(Json(
        json!({ "items": toks.iter().filter(|t| mine.as_ref().is_none_or(|m| m.contains(&t.user_id))).map(|t| json!({
        "id": t.id, "user_id": t.user_id, "name": t.name, "scopes": t.scopes,
        "created_at": local_time(t.created_at), "expires_at": t.expires_at.map(local_time),
        "revoked_at": t.revoked_at.map(local_time),
    })).collect::<Vec<_>>() }),
    ))
}

#[utoipa::path(post, path = "/api/v1/admin/tokens/{id}/revoke", tag = "admin", summary = "Revoke a machine token (audited)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "token id (UUID)")),
    responses((status = 200, description = "Revoked", body = super::schema::Revoked)))]
async fn revoke_token(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    require(&user, Perm::ManageAccounts)?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found("token"))?;
    if let Some(mine) = managed_accounts(&st, &user).await? {
        let owner = st.store.tokens().await?.into_iter().find(|t| t.id == id);
        if !owner.is_some_and(|t| mine.iter().any(|u| u.id == t.user_id)) {
            return Err(AppError::not_found("token"));
        }
    }
    match st.store.revoke_token(id).await {
        Ok(()) => st.tokens.clear(),
        Err(StoreError::NotFound) => return Err(AppError::not_found("token")),
        Err(e) => return Err(e.into()),
    }
    st.store
        .audit(&AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "token.revoke",
            "token",
            Some(id.to_string()),
            json!({}),
        ))
        .await?;
    Ok(Json(json!({ "revoked": true })))
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(change_user))
        .routes(routes!(search_audit))
        .routes(routes!(verify_audit))
        .routes(routes!(list_tokens))
        .routes(routes!(revoke_token))
}
