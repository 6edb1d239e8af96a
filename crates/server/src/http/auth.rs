//! Authentication: argon2id passwords, a session cookie for the web, bearer tokens for machines.
//! Session and token secrets are random; only their SHA-256 is stored.

use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use crate::state::SharedState;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use rand::RngCore;
use safegrid_store::{StoreError, User};
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
        return match state.store.token_user(&hash_secret(token.trim())).await {
            Ok(u) => Ok(Some(u)),
            Err(StoreError::NotFound) => Err(ApiError::unauthorized()),
            Err(e) => Err(e.into()),
        };
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

async fn login(
    State(st): State<SharedState>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let bad = || {
        ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "wrong username or password",
        )
    };
    if b.username.trim().is_empty() {
        return Err(ApiError::invalid("username", "must not be empty"));
    }
    let user = match st.store.user_by_name(b.username.trim()).await {
        Ok(u) if !u.disabled => u,
        Ok(_) | Err(StoreError::NotFound) => {
            // Spend the same time as a real check so that timing does not reveal accounts.
            let _ = verify_password(b.password, DUMMY_HASH.to_string()).await;
            return Err(bad());
        }
        Err(e) => return Err(e.into()),
    };
    if !verify_password(b.password, user.password_hash.clone()).await {
        return Err(bad());
    }
    let secret = random_secret("");
    let expires = Utc::now() + Duration::hours(st.settings.session_absolute_hours);
    st.store
        .create_session(&hash_secret(&secret), user.id, expires)
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
    let mut resp =
        Json(json!({ "user": user_json(&user), "expires_at": super::local_time(expires) }))
            .into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    Ok(resp)
}

async fn logout(State(st): State<SharedState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(s) = cookie_value(&headers, SESSION_COOKIE) {
        st.store.delete_session(&hash_secret(&s)).await?;
    }
    let mut resp = Json(json!({ "ok": true })).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("safegrid_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(resp)
}

async fn me(CurrentUser(u): CurrentUser) -> Json<serde_json::Value> {
    Json(user_json(&u))
}

/// A fixed argon2id hash of a random string, used to equalise timing for unknown usernames.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FmZWdyaWRzYWx0MTIz$0L7D3ujMHbwlSxoALmnLIQu34i3EGQo7Lq1m6CdMwSg";

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/me", get(me))
}
