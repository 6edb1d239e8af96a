//! Authentication: argon2id passwords, a session cookie for the web, bearer tokens for machines.
//! Session and token secrets are random; only their SHA-256 is stored.

use super::json::ApiJson;
use super::schema;
use crate::app::auth::LoginRefused;
use crate::app::auth::authenticate;
use crate::app::auth::csrf_token;
use crate::app::auth::hash_secret;
use crate::app::error::{AppError, AppResult};
use crate::app::state::SharedState;
use crate::http_common::SESSION_COOKIE;
use crate::http_common::cookie_value;
use crate::http_common::session_cookie;
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use safegrid_store::{AuditEntry, StoreError, User};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The authenticated account of a request; rejects with 401 when there is none.
pub struct CurrentUser(pub User);

/// The account of a request when there is one (public endpoints).
pub struct MaybeUser(pub Option<User>);

async fn resolve(parts: &Parts, state: &SharedState) -> Result<Option<User>, AppError> {
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        let v = auth.to_str().unwrap_or("");
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .ok_or_else(AppError::unauthorized)?;
        let hash = hash_secret(token.trim());
        let t = match state.tokens.get(&hash) {
            Ok(t) => t,
            Err(generation) => match state.store.token_user_scoped(&hash).await {
                Ok(t) => {
                    state.tokens.put(&hash, &t, generation);
                    t
                }
                Err(StoreError::NotFound) => return Err(AppError::unauthorized()),
                Err(e) => return Err(e.into()),
            },
        };
        let reads = matches!(parts.method, Method::GET | Method::HEAD);
        if !reads && !t.scopes.split(',').any(|s| s.trim() == "write") {
            return Err(AppError::forbidden(
                "this token is read-only (scope \"read\")",
            ));
        }
        return Ok(Some(t.user));
    }
    if let Some(s) = cookie_value(&parts.headers, SESSION_COOKIE) {
        let idle = state.settings.session_idle_minutes * 60_000;
        return match state.store.session_user(&hash_secret(&s), idle).await {
            Ok(u) => Ok(Some(u)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        };
    }
    Ok(None)
}

impl FromRequestParts<SharedState> for CurrentUser {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        resolve(parts, state)
            .await?
            .map(CurrentUser)
            .ok_or_else(AppError::unauthorized)
    }
}

impl FromRequestParts<SharedState> for MaybeUser {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(resolve(parts, state).await?))
    }
}

#[derive(Deserialize, ToSchema)]
#[schema(as = Login)]
struct LoginBody {
    username: String,
    #[schema(format = Password)]
    password: String,
    /// The 6-digit second-factor code (动态口令) of an account that enrolled one.
    #[serde(default)]
    totp: Option<String>,
}

fn user_json(u: &User) -> serde_json::Value {
    json!({
        "id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
        "role_zh": u.role.zh(), "department": u.department, "regions": u.regions, "grids": u.grids,
    })
}

fn too_many(code: &'static str, message: &str, retry_after: u64) -> AppError {
    AppError::new(crate::app::error::ErrorKind::TooMany, code, message)
        .with_extra(json!({ "retry_after_seconds": retry_after }))
        .with_retry_after(retry_after)
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", summary = "Log in; sets the session cookie",
    request_body(content = LoginBody, content_type = "application/json"),
    responses((status = 200, description = "Logged in; `Set-Cookie` carries the session", body = schema::LoginAnswer,
        headers(("Set-Cookie" = String, description = "the session cookie")))))]
async fn login(
    State(st): State<SharedState>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<LoginBody>,
) -> AppResult<Response> {
    let username = b.username.trim().to_string();
    if username.is_empty() {
        return Err(AppError::invalid("username", "must not be empty"));
    }
    if username.chars().count() > 64 {
        return Err(AppError::invalid(
            "username",
            "must be at most 64 characters",
        ));
    }
    let session = match authenticate(&st, &username, b.password, b.totp.as_deref(), "api").await {
        Ok(s) => s,
        Err(LoginRefused::RateLimited(secs)) => {
            return Err(too_many(
                "rate_limited",
                "too many login attempts from this address; wait and try again",
                secs,
            ));
        }
        Err(LoginRefused::Locked(secs)) => {
            return Err(too_many(
                "account_locked",
                "this account is locked after repeated failed logins; wait and try again",
                secs,
            ));
        }
        Err(LoginRefused::Bad) => {
            return Err(AppError::new(
                crate::app::error::ErrorKind::Unauthorized,
                "bad_credentials",
                "wrong username or password",
            ));
        }
        Err(LoginRefused::CodeRequired) => {
            return Err(AppError::new(
                crate::app::error::ErrorKind::Unauthorized,
                "totp_required",
                "this account logs in with a second factor: send the 6-digit code as `totp`",
            ));
        }
        Err(LoginRefused::EnrolmentRequired) => {
            return Err(AppError::new(
                crate::app::error::ErrorKind::Unauthorized,
                "totp_enrolment_required",
                "administrators log in with a second factor and this account has none yet; \
                 the security administrator enrols it (`safegrid user totp-enrol NAME`)",
            ));
        }
        Err(LoginRefused::Error(e)) => return Err(e),
    };
    let cookie = session_cookie(&st, &headers, &session.secret);
    let mut resp = Json(json!({
        "user": user_json(&session.user),
        "expires_at": crate::app::time::local_time(session.expires),
        "csrf_token": csrf_token(&session.secret),
    }))
    .into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(AppError::internal)?,
    );
    Ok(resp)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", summary = "Log out",
    security((), ("session" = []), ("bearer" = [])),
    responses((status = 200, description = "Logged out; the cookie is cleared", body = schema::Done)))]
async fn logout(
    State(st): State<SharedState>,
    MaybeUser(user): MaybeUser,
    headers: HeaderMap,
) -> AppResult<Response> {
    if let Some(s) = cookie_value(&headers, SESSION_COOKIE) {
        st.store.delete_session(&hash_secret(&s)).await?;
    }
    if let Some(u) = user {
        st.store
            .audit(&AuditEntry::new(
                Some(u.id),
                u.username.clone(),
                "auth.logout",
                "user",
                Some(u.id.to_string()),
                json!({}),
            ))
            .await?;
    }
    let mut resp = Json(json!({ "ok": true })).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("safegrid_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(resp)
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", summary = "The current account",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, description = "The account", body = schema::Account)))]
async fn me(CurrentUser(u): CurrentUser, headers: HeaderMap) -> Json<serde_json::Value> {
    let mut v = user_json(&u);
    if let Some(s) = cookie_value(&headers, SESSION_COOKIE) {
        v["csrf_token"] = json!(csrf_token(&s));
    }
    Json(v)
}

#[utoipa::path(get, path = "/api/v1/auth/totp", tag = "auth", summary = "The current account's second factor",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, description = "Whether a second factor is on, required, or waiting for its code", body = schema::TotpStatus)))]
async fn totp_status(
    State(st): State<SharedState>,
    CurrentUser(u): CurrentUser,
) -> AppResult<Json<crate::app::totp::Status>> {
    Ok(Json(crate::app::totp::status(&st, &u).await?))
}

#[utoipa::path(post, path = "/api/v1/auth/totp", tag = "auth",
    summary = "Draw a second-factor secret to add to an authenticator app (confirm it with a code)",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, description = "The secret, shown once", body = schema::TotpEnrolment)))]
async fn totp_start(
    State(st): State<SharedState>,
    CurrentUser(u): CurrentUser,
) -> AppResult<Json<crate::app::totp::Enrolment>> {
    Ok(Json(crate::app::totp::start(&st, &u, &u.username).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = TotpCode)]
struct TotpCodeBody {
    /// The 6-digit code the app shows for the new secret.
    code: String,
}

#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", tag = "auth",
    summary = "Confirm the drawn secret with its current code; every login then asks for a code",
    security(("session" = []), ("bearer" = [])),
    request_body(content = TotpCodeBody, content_type = "application/json"),
    responses((status = 200, description = "The second factor is on", body = schema::TotpStatus),
        (status = 422, description = "`code` is not the secret's current code")))]
async fn totp_confirm(
    State(st): State<SharedState>,
    CurrentUser(u): CurrentUser,
    ApiJson(b): ApiJson<TotpCodeBody>,
) -> AppResult<Json<crate::app::totp::Status>> {
    crate::app::totp::confirm(&st, &u, &b.code, chrono::Utc::now(), &u.username).await?;
    Ok(Json(crate::app::totp::status(&st, &u).await?))
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(totp_status, totp_start))
        .routes(routes!(totp_confirm))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}
