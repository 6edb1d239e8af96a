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
use chrono::{DateTime, Duration, Utc};
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

/// A hash of a random secret made with the same parameters as every account's, so that checking
/// a password against it costs what a real check costs (unknown and disabled accounts).
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let salt = SaltString::encode_b64(&bytes).expect("16 bytes encode as a salt");
        Argon2::default()
            .hash_password(random_secret("").as_bytes(), &salt)
            .map(|h| h.to_string())
            .expect("argon2 hashes a 64-byte secret")
    })
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

/// Failures counted against a name that is no usable account, and the end of its lock.
type UnknownName = (i32, Option<DateTime<Utc>>);

/// Login bookkeeping shared by every way in (the API, the web form): one lockout, one audit.
#[derive(Default)]
pub struct LoginGuard {
    /// Failed attempts on names that are no usable account (unknown or disabled), so that they
    /// lock after as many failures as a real account does and answer the same.
    unknown: std::sync::Mutex<std::collections::HashMap<String, UnknownName>>,
    /// Password hashes checked so far: exactly one per attempt that reaches the accounts,
    /// whatever the account (a test counts them to show that unknown names cost the same work).
    pub checks: std::sync::atomic::AtomicU64,
}

impl LoginGuard {
    /// The names remembered at most; past this the oldest knowledge is dropped (an attacker
    /// spraying names must not grow memory without end).
    const MAX_NAMES: usize = 100_000;

    fn locked_until(&self, name: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let map = self.unknown.lock().unwrap_or_else(|e| e.into_inner());
        map.get(name)
            .and_then(|(_, until)| *until)
            .filter(|t| *t > now)
    }

    /// Counts a failure; returns the lock's end when this failure locks the name.
    fn failed(
        &self,
        name: &str,
        failures: i32,
        lock: Duration,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut map = self.unknown.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX_NAMES && !map.contains_key(name) {
            map.retain(|_, (_, until)| until.is_some_and(|t| t > now));
            if map.len() >= Self::MAX_NAMES {
                map.clear();
            }
        }
        let e = map.entry(name.to_string()).or_insert((0, None));
        if e.1.is_some_and(|t| t <= now) {
            *e = (0, None);
        }
        e.0 += 1;
        if e.0 >= failures {
            e.1 = Some(now + lock);
            e.0 = 0;
            return e.1;
        }
        None
    }

    async fn check(&self, password: String, hash: String) -> bool {
        self.checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        verify_password(password, hash).await
    }
}

/// Why a login was refused. Unknown, disabled and real accounts are refused alike: the answer
/// and the work done never tell whether a name is an account.
pub enum LoginRefused {
    /// Too many attempts from this client address; seconds to wait.
    RateLimited(u64),
    /// Locked after repeated failures; seconds to wait.
    Locked(u64),
    /// Wrong username or password.
    Bad,
    /// Storage failed.
    Error(ApiError),
}

impl From<StoreError> for LoginRefused {
    fn from(e: StoreError) -> Self {
        LoginRefused::Error(e.into())
    }
}

/// A new session: its secret (the cookie) and when it ends.
pub struct NewSession {
    pub user: User,
    pub secret: String,
    pub expires: DateTime<Utc>,
}

/// Checks a login and opens a session: the one way in for every face. Rate limit per client
/// address, lockout after `lockout_failures` consecutive failures (unknown names too), exactly
/// one password-hash check per attempt, every attempt audited with the door it came by.
pub async fn authenticate(
    st: &SharedState,
    username: &str,
    password: String,
    door: &'static str,
) -> Result<NewSession, LoginRefused> {
    let ip = safegrid_store::audit::current_ip().unwrap_or_default();
    if let Err(RetryAfter(secs)) = st
        .limiter
        .check(&format!("login:ip:{ip}"), st.settings.rate_limits.login)
    {
        return Err(LoginRefused::RateLimited(secs));
    }
    let failed = |user: Option<&User>, why: &'static str| {
        AuditEntry::new(
            user.map(|u| u.id),
            username.to_string(),
            "auth.login_failed",
            "user",
            user.map(|u| u.id.to_string()),
            json!({ "reason": why, "via": door }),
        )
    };
    let account = match st.store.user_by_name(username).await {
        Ok(u) => Some(u),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let usable = account.as_ref().filter(|u| !u.disabled);
    let now = Utc::now();
    let locked = match usable {
        Some(u) => u.locked_until.filter(|t| *t > now),
        None => st.logins.locked_until(username, now),
    };
    let hash = usable.map_or_else(|| dummy_hash().to_string(), |u| u.password_hash.clone());
    let ok = st.logins.check(password, hash).await;
    if let Some(until) = locked {
        st.store.audit(&failed(account.as_ref(), "locked")).await?;
        return Err(LoginRefused::Locked(
            (until - now).num_seconds().max(1) as u64
        ));
    }
    let lock = Duration::minutes(st.settings.lockout_minutes);
    let Some(user) = usable else {
        let why = if account.is_some() {
            "disabled"
        } else {
            "unknown username"
        };
        st.logins
            .failed(username, st.settings.lockout_failures, lock, now);
        st.store.audit(&failed(account.as_ref(), why)).await?;
        return Err(LoginRefused::Bad);
    };
    if !ok {
        let locked = st
            .store
            .login_failed(user.id, st.settings.lockout_failures, lock)
            .await?;
        st.store
            .audit(&failed(Some(user), "wrong password"))
            .await?;
        if let Some(until) = locked {
            st.store
                .audit(&AuditEntry::new(
                    Some(user.id),
                    username.to_string(),
                    "auth.locked",
                    "user",
                    Some(user.id.to_string()),
                    json!({ "until": super::local_time(until), "via": door }),
                ))
                .await?;
        }
        return Err(LoginRefused::Bad);
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
            json!({ "via": door }),
        ))
        .await?;
    Ok(NewSession {
        user: user.clone(),
        secret,
        expires,
    })
}

/// The session cookie for a new session (`Secure` behind a TLS-terminating proxy).
pub fn session_cookie(st: &SharedState, headers: &HeaderMap, secret: &str) -> String {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        st.settings.session_absolute_hours * 3600,
        if secure { "; Secure" } else { "" }
    )
}

/// Whether a request comes from this site (login CSRF, 登录跨站伪造): a browser's
/// `Sec-Fetch-Site` must say same-origin (or none: typed by the person), and an `Origin` must
/// name the host the request was sent to. Clients that send neither (scripts, machines) pass;
/// they cannot carry a victim's browser along.
pub fn same_site(st: &SharedState, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        if !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")) {
            return false;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let origin = origin.to_str().unwrap_or("");
    let Some((_, host)) = origin.split_once("://") else {
        return false;
    };
    let host = host.trim_end_matches('/');
    let mut hosts = vec![headers.get(header::HOST)];
    if st.settings.trust_proxy {
        hosts.push(headers.get("x-forwarded-host"));
    }
    hosts
        .into_iter()
        .flatten()
        .filter_map(|h| h.to_str().ok())
        .any(|h| h.eq_ignore_ascii_case(host))
}

async fn login(
    State(st): State<SharedState>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<LoginBody>,
) -> ApiResult<Response> {
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
    let session = match authenticate(&st, &username, b.password, "api").await {
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
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad_credentials",
                "wrong username or password",
            ));
        }
        Err(LoginRefused::Error(e)) => return Err(e),
    };
    let cookie = session_cookie(&st, &headers, &session.secret);
    let mut resp = Json(json!({
        "user": user_json(&session.user),
        "expires_at": super::local_time(session.expires),
        "csrf_token": csrf_token(&session.secret),
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

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/me", get(me))
}
