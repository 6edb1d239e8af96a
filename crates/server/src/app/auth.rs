//! Identity (身份认证): argon2id passwords, session and token secrets (only their SHA-256 is
//! stored), the CSRF token bound to a session, and the one login check every face uses.

use crate::app::error::AppError;
use crate::app::state::SharedState;
use crate::ratelimit::RetryAfter;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use safegrid_domain::FieldError;
use safegrid_store::{AuditEntry, StoreError, User};
use serde_json::json;
use sha2::{Digest, Sha256};

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
    /// Wrong username or password, or a wrong or used second-factor code.
    Bad,
    /// The password was right; the account has a second factor and no code came.
    CodeRequired,
    /// The password was right; the deployment requires a second factor of this role and the
    /// account has none yet (`admin_totp_required`).
    EnrolmentRequired,
    /// Storage failed.
    Error(AppError),
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
    code: Option<&str>,
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
    // The second factor, once the password passed: a wrong code counts as a failed login
    // (towards the lockout) like a wrong password; a missing one only asks for it.
    let factor = if ok {
        Some(
            crate::app::totp::check_login(st, user, code, now)
                .await
                .map_err(LoginRefused::Error)?,
        )
    } else {
        None
    };
    match factor {
        Some(crate::app::totp::LoginFactor::Missing) => {
            st.store
                .audit(&failed(Some(user), "second factor missing"))
                .await?;
            return Err(LoginRefused::CodeRequired);
        }
        Some(crate::app::totp::LoginFactor::NotEnrolled) => {
            st.store
                .audit(&failed(Some(user), "second factor not enrolled"))
                .await?;
            return Err(LoginRefused::EnrolmentRequired);
        }
        _ => {}
    }
    let wrong = if ok {
        "wrong second-factor code"
    } else {
        "wrong password"
    };
    if !ok || matches!(factor, Some(crate::app::totp::LoginFactor::Wrong)) {
        let locked = st
            .store
            .login_failed(user.id, st.settings.lockout_failures, lock)
            .await?;
        st.store.audit(&failed(Some(user), wrong)).await?;
        if let Some(until) = locked {
            st.store
                .audit(&AuditEntry::new(
                    Some(user.id),
                    username.to_string(),
                    "auth.locked",
                    "user",
                    Some(user.id.to_string()),
                    json!({ "until": crate::app::time::local_time(until), "via": door }),
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
