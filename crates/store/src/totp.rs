//! Second-factor state (动态口令) per account: the secret being confirmed, the confirmed one, and
//! the last step a code was accepted for. Accepting a code moves `last_step` forward with a
//! compare-and-set, so two logins racing with the same code cannot both pass.

use crate::time::to_ms;
use crate::{Result, Store, with_pool};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// An account's second factor as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TotpState {
    /// A secret shown to the user and not yet confirmed with a code.
    pub pending_secret: Option<String>,
    /// The confirmed secret (base32): when set, every login asks for a code.
    pub secret: Option<String>,
    pub last_step: Option<i64>,
}

impl Store {
    /// The account's second factor (`Default` when it never enrolled).
    pub async fn totp_state(&self, user: Uuid) -> Result<TotpState> {
        let row: Option<(Option<String>, Option<String>, Option<i64>)> = with_pool!(self, p => sqlx::query_as(
            "SELECT pending_secret, secret, last_step FROM user_totp WHERE user_id = $1")
            .bind(user).fetch_optional(p).await)?;
        Ok(row.map_or_else(TotpState::default, |r| TotpState {
            pending_secret: r.0,
            secret: r.1,
            last_step: r.2,
        }))
    }

    /// Stores a secret to confirm (replacing an earlier unconfirmed one; a confirmed secret stays
    /// in force until the new one is confirmed).
    pub async fn totp_set_pending(&self, user: Uuid, secret: &str) -> Result<()> {
        with_pool!(self, p => sqlx::query(
            "INSERT INTO user_totp (user_id, pending_secret) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET pending_secret = excluded.pending_secret")
            .bind(user).bind(secret).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Makes the pending secret the account's, with the step its confirming code used; `false`
    /// when the pending secret changed meanwhile.
    pub async fn totp_confirm(
        &self,
        user: Uuid,
        pending: &str,
        step: i64,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_pool!(self, p => sqlx::query(
            "UPDATE user_totp SET secret = pending_secret, pending_secret = NULL, last_step = $3, enabled_at = $4 \
             WHERE user_id = $1 AND pending_secret = $2")
            .bind(user).bind(pending).bind(step).bind(to_ms(at)).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Records that a code of `step` was accepted; `false` when that step (or a later one) was
    /// already used — the caller refuses the login.
    pub async fn totp_use_step(&self, user: Uuid, step: i64) -> Result<bool> {
        let n = with_pool!(self, p => sqlx::query(
            "UPDATE user_totp SET last_step = $2 WHERE user_id = $1 AND secret IS NOT NULL \
             AND (last_step IS NULL OR last_step < $2)")
            .bind(user).bind(step).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Removes the account's second factor (a reset by the security administrator).
    pub async fn totp_remove(&self, user: Uuid) -> Result<bool> {
        let n = with_pool!(self, p => sqlx::query("DELETE FROM user_totp WHERE user_id = $1")
            .bind(user).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}
