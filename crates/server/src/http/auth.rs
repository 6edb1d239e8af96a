//! Authentication: argon2id passwords, a session cookie for the web, bearer tokens for machines.
//! Session and token secrets are random; only their SHA-256 is stored.

use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use crate::ratelimit::RetryAfter;
use crate::state::SharedState;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use rand::RngCore;
use safegrid_domain::FieldError;
use safegrid_store::{AuditEntry, StoreError, User};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "safegrid_session";

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn random_secret(prefix: &str) -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    format!("{prefix}{}", hex::encode(b))
}

/// The CSRF token (防跨站请求伪造) bound to a session: derived from the session secret, so it needs no
/// storage and changes with every login. Forms carry it in a hidden `csrf` field, scripts in the
/// `X-CSRF-Token` header; the session cookie alone is never enough to change anything.
pub fn csrf_token(session_secret: &str) -> String {
    hash_secret(&format!("csrf:{session_secret}"))[..32].to_string()
}

/// Hashes a password with argon2id (default parameters), off the async threads.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let salt = SaltString::encode_b64(&bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
    })
    .await?
}

pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// The authenticated account of a request; rejects with 401 when there is none.
pub struct CurrentUser(pub User);

/// The account of a request when there is one (public endpoints).
pub struct MaybeUser(pub Option<User>);

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

async fn resolve(parts: &Parts, state: &SharedState) -> Result<Option<User>, ApiError> {
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        let v = auth.to_str().unwrap_or("");
        let token = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .ok_or_else(ApiError::unauthorized)?;
        let hash = hash_secret(token.trim());
        let t = match state.tokens.get(&hash) {
            Ok(t) => t,
            Err(generation) => match state.store.token_user_scoped(&hash).await {
                Ok(t) => {
                    state.tokens.put(&hash, &t, generation);
                    t
                }
                Err(StoreError::NotFound) => return Err(ApiError::unauthorized()),
                Err(e) => return Err(e.into()),
            },
        };
        let reads = matches!(parts.method, Method::GET | Method::HEAD);
        if !reads && !t.scopes.split(',').any(|s| s.trim() == "write") {
            return Err(ApiError::forbidden(
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
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        resolve(parts, state)
            .await?
            .map(CurrentUser)
            .ok_or_else(ApiError::unauthorized)
    }
}

impl FromRequestParts<SharedState> for MaybeUser {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(resolve(parts, state).await?))
    }
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

fn user_json(u: &User) -> serde_json::Value {
    json!({
        "id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
        "role_zh": u.role.zh(), "department": u.department, "regions": u.regions, "grids": u.grids,
    })
}

/// The password rules (口令策略): at least 10 characters, not one of the common passwords, not
/// the username, not a single repeated character.
pub fn check_password(password: &str, username: &str) -> Result<(), FieldError> {
    static COMMON: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    let common = COMMON.get_or_init(|| {
        include_str!("../../../../data/security/common-passwords.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    });
    let n = password.chars().count();
    if n < 10 {
        return Err(FieldError::new(
            "password",
            "must be at least 10 characters",
        ));
    }
    if n > 200 {
        return Err(FieldError::new(
            "password",
            "must be at most 200 characters",
        ));
    }
    let lower = password.to_lowercase();
    if common.contains(lower.as_str()) {
        return Err(FieldError::new(
            "password",
            "is one of the most common passwords; choose another",
        ));
    }
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Err(FieldError::new("password", "must not contain the username"));
    }
    let first = password.chars().next();
    if password.chars().all(|c| Some(c) == first) {
        return Err(FieldError::new(
            "password",
            "must not be one repeated character",
        ));
    }
    Ok(())
}

fn too_many(code: &'static str, message: &str, retry_after: u64) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        .with_extra(json!({ "retry_after_seconds": retry_after }))
        .with_retry_after(retry_after)
}

async fn login(
    State(st): State<SharedState>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let bad = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "wrong username or password",
        )
    };
    let username = b.username.trim().to_string();
    if username.is_empty() {
        return Err(ApiError::invalid("username", "must not be empty"));
    }
    if username.chars().count() > 64 {
        return Err(ApiError::invalid(
            "username",
            "must be at most 64 characters",
        ));
    }
    let ip = safegrid_store::audit::current_ip().unwrap_or_default();
    if let Err(RetryAfter(secs)) = st
        .limiter
        .check(&format!("login:ip:{ip}"), st.settings.rate_limits.login)
    {
        return Err(too_many(
            "rate_limited",
            "too many login attempts from this address; wait and try again",
            secs,
        ));
    }
    let failed = |user: Option<&User>, why: &'static str| {
        AuditEntry::new(
            user.map(|u| u.id),
            username.clone(),
            "auth.login_failed",
            "user",
            user.map(|u| u.id.to_string()),
            json!({ "reason": why }),
        )
    };
    let user = match st.store.user_by_name(&username).await {
        Ok(u) if !u.disabled => u,
        Ok(u) => {
            let _ = verify_password(b.password, DUMMY_HASH.to_string()).await;
            st.store.audit(&failed(Some(&u), "disabled")).await?;
            return Err(bad());
        }
        Err(StoreError::NotFound) => {
            // Spend the same time as a real check so that timing does not reveal accounts.
            let _ = verify_password(b.password, DUMMY_HASH.to_string()).await;
            st.store.audit(&failed(None, "unknown username")).await?;
            return Err(bad());
        }
        Err(e) => return Err(e.into()),
    };
    let now = Utc::now();
    if let Some(until) = user.locked_until.filter(|t| *t > now) {
        st.store.audit(&failed(Some(&user), "locked")).await?;
        let secs = (until - now).num_seconds().max(1) as u64;
        return Err(too_many(
            "account_locked",
            "this account is locked after repeated failed logins; wait and try again",
            secs,
        ));
    }
    if !verify_password(b.password, user.password_hash.clone()).await {
        let locked = st
            .store
            .login_failed(
                user.id,
                st.settings.lockout_failures,
                Duration::minutes(st.settings.lockout_minutes),
            )
            .await?;
        st.store
            .audit(&failed(Some(&user), "wrong password"))
            .await?;
        if let Some(until) = locked {
            st.store
                .audit(&AuditEntry::new(
                    Some(user.id),
                    username.clone(),
                    "auth.locked",
                    "user",
                    Some(user.id.to_string()),
                    json!({ "until": super::local_time(until) }),
                ))
                .await?;
        }
        return Err(bad());
    }
    st.store.login_succeeded(user.id).await?;
    let secret = random_secret("");
    let expires = now + Duration::hours(st.settings.session_absolute_hours);
    st.store
        .create_session(&hash_secret(&secret), user.id, expires)
        .await?;
    st.store
        .audit(&AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "auth.login",
            "user",
            Some(user.id.to_string()),
            json!({}),
        ))
        .await?;
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let cookie = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        st.settings.session_absolute_hours * 3600,
        if secure { "; Secure" } else { "" }
    );
    let mut resp = Json(json!({
        "user": user_json(&user),
        "expires_at": super::local_time(expires),
        "csrf_token": csrf_token(&secret),
    }))
    .into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    Ok(resp)
}

async fn logout(
    State(st): State<SharedState>,
    MaybeUser(user): MaybeUser,
    headers: HeaderMap,
) -> ApiResult<Response> {
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

async fn me(CurrentUser(u): CurrentUser, headers: HeaderMap) -> Json<serde_json::Value> {
    let mut v = user_json(&u);
    if let Some(s) = cookie_value(&headers, SESSION_COOKIE) {
        v["csrf_token"] = json!(csrf_token(&s));
    }
    Json(v)
}

/// A fixed argon2id hash of a random string, used to equalise timing for unknown usernames.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FmZWdyaWRzYWx0MTIz$0L7D3ujMHbwlSxoALmnLIQu34i3EGQo7Lq1m6CdMwSg";

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/me", get(me))
}
