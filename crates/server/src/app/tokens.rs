//! A short-lived memory of machine tokens already checked.
//!
//! A machine client (the hotline's integration, an Open311 app) sends its token with every
//! request. Looking it up each time was a query per request: on SQLite a round trip to a
//! connection's thread and back, about a sixth of the server's CPU while filing cases and two
//! more thread wake-ups on the path of every new case. A token checked in the last second is
//! taken from here instead.
//!
//! What changes a token's standing in this process (revoking it, changing or disabling its
//! account) empties the memory at once. A change made by another process on the same database
//! (`safegrid token revoke` from the shell, a second server on PostgreSQL) takes effect here
//! within [`TokenCache::TTL`].
//!
//! Open311 apps' api_keys are remembered the same way (their own memory): they are created and
//! revoked only from the shell (`safegrid token revoke --open311 NAME`), so a revocation reaches a running server
//! within the same second.

use crate::app::auth::{hash_secret, random_secret};
use crate::app::state::SharedState;
use safegrid_store::{Open311Client, StoreError, TokenUser};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a remembered credential stands for, and whether it has lapsed on its own since.
pub trait Credential: Clone {
    fn lapsed(&self, now: chrono::DateTime<chrono::Utc>) -> bool;
}

impl Credential for TokenUser {
    fn lapsed(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now) || self.scope_until.is_some_and(|e| e <= now)
    }
}

impl Credential for Open311Client {
    fn lapsed(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.revoked_at.is_some_and(|r| r <= now)
    }
}

pub struct TokenCache<V = TokenUser> {
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    entries: HashMap<String, (Instant, V)>,
    /// Bumped by every [`TokenCache::clear`]: an answer the database gave before a clear must
    /// not be remembered after it (a request racing a revocation would otherwise put the
    /// revoked token back for a second).
    generation: u64,
}

impl<V> Default for Inner<V> {
    fn default() -> Self {
        Inner {
            entries: HashMap::new(),
            generation: 0,
        }
    }
}

impl<V: Credential> TokenCache<V> {
    /// How long a checked token is trusted without asking the database again.
    pub const TTL: Duration = Duration::from_secs(1);
    /// Past this many distinct live tokens the memory starts over: a bound on what a flood of
    /// made-up tokens could cost (unknown tokens are never kept, but this keeps the bound
    /// obvious).
    const MAX_ENTRIES: usize = 4096;

    pub fn new() -> TokenCache<V> {
        TokenCache {
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The account behind `hash` if it was checked less than [`Self::TTL`] ago and has not
    /// expired since; otherwise `Err` with the generation to pass to [`TokenCache::put`] once
    /// the database has answered.
    pub fn get(&self, hash: &str) -> Result<V, u64> {
        let inner = self.lock();
        match inner.entries.get(hash) {
            Some((at, t)) if at.elapsed() < Self::TTL && !t.lapsed(chrono::Utc::now()) => {
                Ok(t.clone())
            }
            _ => Err(inner.generation),
        }
    }

    /// Remembers a token the database vouched for, unless the memory was cleared since
    /// `generation` (from [`TokenCache::get`]) was read.
    pub fn put(&self, hash: &str, t: &V, generation: u64) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= Self::MAX_ENTRIES {
            inner.entries.retain(|_, (at, _)| at.elapsed() < Self::TTL);
            if inner.entries.len() >= Self::MAX_ENTRIES {
                inner.entries.clear();
            }
        }
        inner
            .entries
            .insert(hash.to_string(), (Instant::now(), t.clone()));
    }

    /// Forgets every token: called after anything that may narrow what a token allows.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.generation += 1;
    }
}

impl<V: Credential> Default for TokenCache<V> {
    fn default() -> Self {
        TokenCache::new()
    }
}

/// Prefix of Open311 api_keys (Open311 client applications: issued by the CLI, `safegrid token
/// create --open311 NAME`, shown once, stored as a SHA-256 hash), so a leaked one is recognisable (and never mistaken for a `sgt_` token).
pub const KEY_PREFIX: &str = "o311_";

/// Creates a client application and returns its key (only its hash is stored).
pub async fn issue_open311_key(st: &SharedState, name: &str) -> anyhow::Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        anyhow::bail!("--open311: the client name must be 1 to 100 printable characters");
    }
    let key = random_secret(KEY_PREFIX);
    match st
        .store
        .create_open311_client(name, &hash_secret(&key))
        .await
    {
        Ok(_) => Ok(key),
        Err(StoreError::Conflict(_)) => {
            anyhow::bail!("an Open311 client named {name} already exists; pick another name")
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safegrid_domain::Role;
    use safegrid_store::User;

    fn token(expires_at: Option<chrono::DateTime<chrono::Utc>>) -> TokenUser {
        TokenUser {
            user: User {
                id: uuid::Uuid::now_v7(),
                username: "hotline".into(),
                display_name: "12345 热线".into(),
                password_hash: String::new(),
                role: Role::Dispatcher,
                department: None,
                regions: vec![],
                grids: vec![],
                disabled: false,
                created_at: chrono::Utc::now(),
                locked_until: None,
            },
            scopes: "read,write".into(),
            expires_at,
            scope_until: None,
        }
    }

    #[test]
    fn a_token_is_kept_for_its_ttl_and_forgotten_on_clear() {
        let c = TokenCache::<TokenUser>::new();
        let g = c.get("h").expect_err("nothing is known before a put");
        c.put("h", &token(None), g);
        assert_eq!(c.get("h").unwrap().user.username, "hotline");
        assert!(c.get("other").is_err());
        c.clear();
        let g = c.get("h").expect_err("clear forgets every token");
        c.put("h", &token(None), g);
        std::thread::sleep(TokenCache::<TokenUser>::TTL + Duration::from_millis(50));
        assert!(
            c.get("h").is_err(),
            "a token is asked for again after the TTL"
        );
    }

    #[test]
    fn an_answer_from_before_a_clear_is_not_remembered() {
        let c = TokenCache::<TokenUser>::new();
        // A request looks the token up; meanwhile an administrator revokes it.
        let g = c.get("h").unwrap_err();
        c.clear();
        c.put("h", &token(None), g);
        assert!(c.get("h").is_err(), "the revoked token is asked for again");
    }

    #[test]
    fn a_token_that_expires_is_not_served_from_memory() {
        let c = TokenCache::<TokenUser>::new();
        let g = c.get("h").unwrap_err();
        c.put(
            "h",
            &token(Some(
                chrono::Utc::now() + chrono::Duration::milliseconds(30),
            )),
            g,
        );
        assert!(c.get("h").is_ok());
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.get("h").is_err(), "expiry is honoured inside the TTL");
    }

    #[test]
    fn a_revoked_open311_key_is_not_served_from_memory() {
        let c = TokenCache::<Open311Client>::new();
        let mut app = Open311Client {
            id: uuid::Uuid::now_v7(),
            name: "城市通".into(),
            created_at: chrono::Utc::now(),
            revoked_at: None,
        };
        c.put("k", &app, c.get("k").unwrap_err());
        assert_eq!(c.get("k").unwrap().name, "城市通");
        app.revoked_at = Some(chrono::Utc::now());
        c.put("k", &app, c.get("k").map(|_| 0).unwrap_or_else(|g| g));
        assert!(c.get("k").is_err(), "a revoked key is asked for again");
    }

    #[test]
    fn the_memory_is_bounded() {
        let c = TokenCache::<TokenUser>::new();
        for i in 0..(TokenCache::<TokenUser>::MAX_ENTRIES + 10) {
            c.put(&format!("h{i}"), &token(None), 0);
        }
        let n = c.lock().entries.len();
        assert!(
            n <= TokenCache::<TokenUser>::MAX_ENTRIES,
            "{n} entries kept"
        );
    }
}
