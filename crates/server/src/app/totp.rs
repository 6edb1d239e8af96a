//! The second factor (动态口令, TOTP) for staff accounts: enrolment (a secret shown once as a
//! QR code and text, confirmed with a first code), the check at login (in `app::auth`), and the
//! security administrator's reset. 等保 2.0 asks administrators for two factors:
//! `admin_totp_required = true` refuses an administrator's login until a factor is enrolled
//! (enrol with `safegrid user totp-enrol NAME` or from the account page while it is optional).

use crate::app::error::{AppError, AppResult};
use crate::app::state::SharedState;
use chrono::{DateTime, Utc};
use rand::RngCore;
use safegrid_domain::role::Role;
use safegrid_domain::totp;
use safegrid_store::{AuditEntry, User};
use serde::Serialize;
use serde_json::json;

/// The issuer authenticator apps show beside the account name.
pub const ISSUER: &str = "平安网格 safegrid";

/// Roles that must have a second factor when `admin_totp_required` is set.
pub fn must_enrol(role: Role) -> bool {
    matches!(role, Role::Admin)
}

/// What an account's page and `GET /api/v1/auth/totp` show.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub enabled: bool,
    /// The deployment requires it of this account's role.
    pub required: bool,
    /// A secret was shown and waits for its confirming code.
    pub pending: bool,
}

/// A secret to enrol: shown once, as text and as the URI the QR code carries.
#[derive(Debug, Clone, Serialize)]
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

pub async fn status(st: &SharedState, user: &User) -> AppResult<Status> {
    let s = st.store.totp_state(user.id).await?;
    Ok(Status {
        enabled: s.secret.is_some(),
        required: st.settings.admin_totp_required && must_enrol(user.role),
        pending: s.pending_secret.is_some(),
    })
}

/// Draws a new secret (160 bits, as RFC 4226 recommends) and keeps it until confirmed.
/// `by` is who asked: the account itself, or `cli:<os user>` enrolling it.
pub async fn start(st: &SharedState, user: &User, by: &str) -> AppResult<Enrolment> {
    let mut raw = [0u8; 20];
    rand::rng().fill_bytes(&mut raw);
    let secret = totp::base32_encode(&raw);
    st.store.totp_set_pending(user.id, &secret).await?;
    st.store
        .audit(&AuditEntry::new(
            Some(user.id),
            by.to_string(),
            "auth.totp_start",
            "user",
            Some(user.id.to_string()),
            json!({}),
        ))
        .await?;
    Ok(Enrolment {
        otpauth_uri: totp::otpauth_uri(ISSUER, &user.username, &secret),
        secret,
    })
}

/// Confirms the pending secret with a code from the app; from then on every login asks for one.
pub async fn confirm(
    st: &SharedState,
    user: &User,
    code: &str,
    now: DateTime<Utc>,
    by: &str,
) -> AppResult<()> {
    let s = st.store.totp_state(user.id).await?;
    let Some(pending) = s.pending_secret else {
        return Err(AppError::invalid(
            "code",
            "no secret waits for confirmation; start the enrolment first",
        ));
    };
    let raw = totp::base32_decode(&pending).unwrap_or_default();
    let Some(step) = totp::verify(&raw, code, now.timestamp(), None) else {
        return Err(AppError::invalid(
            "code",
            "is not the current 6-digit code of this secret (check the phone's clock)",
        ));
    };
    if !st.store.totp_confirm(user.id, &pending, step, now).await? {
        return Err(AppError::new(
            crate::app::error::ErrorKind::Conflict,
            "conflict",
            "a newer secret was drawn meanwhile; confirm that one",
        ));
    }
    st.store
        .audit(&AuditEntry::new(
            Some(user.id),
            by.to_string(),
            "auth.totp_enabled",
            "user",
            Some(user.id.to_string()),
            json!({}),
        ))
        .await?;
    Ok(())
}

/// How a login's second factor came out (see `app::auth::authenticate`).
pub enum LoginFactor {
    /// No factor needed, or the code was right (and is now used up).
    Passed,
    /// The account has a factor and no code came.
    Missing,
    /// The code was wrong, or already used.
    Wrong,
    /// The deployment requires a factor of this role and the account has none.
    NotEnrolled,
}

/// Checks a login's code, after the password passed.
pub async fn check_login(
    st: &SharedState,
    user: &User,
    code: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<LoginFactor> {
    let s = st.store.totp_state(user.id).await?;
    let Some(secret) = s.secret else {
        let required = st.settings.admin_totp_required && must_enrol(user.role);
        return Ok(if required {
            LoginFactor::NotEnrolled
        } else {
            LoginFactor::Passed
        });
    };
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(LoginFactor::Missing);
    };
    let raw = totp::base32_decode(&secret).unwrap_or_default();
    match totp::verify(&raw, code, now.timestamp(), s.last_step) {
        Some(step) if st.store.totp_use_step(user.id, step).await? => Ok(LoginFactor::Passed),
        _ => Ok(LoginFactor::Wrong),
    }
}

/// Removes an account's second factor (a lost phone), by the security administrator at the
/// console; the account enrols again (and, while `admin_totp_required` holds, an administrator
/// cannot log in until it does). `false` when it had none.
pub async fn reset(st: &SharedState, user: &User, by: &str, reason: &str) -> AppResult<bool> {
    if reason.trim().is_empty() {
        return Err(AppError::invalid(
            "reason",
            "must say why the factor is removed",
        ));
    }
    let removed = st.store.totp_remove(user.id).await?;
    st.store
        .audit(&AuditEntry::new(
            Some(user.id),
            by.to_string(),
            "auth.totp_reset",
            "user",
            Some(user.id.to_string()),
            json!({ "reason": reason, "had_factor": removed }),
        ))
        .await?;
    Ok(removed)
}
