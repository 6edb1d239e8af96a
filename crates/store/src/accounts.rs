//! Accounts, web sessions and machine tokens. Only hashes of session and token secrets are stored.

use crate::time::{from_ms, to_ms};
use crate::{Result, Store, StoreError, unique_to_conflict, with_pool};
use chrono::{DateTime, Utc};
use safegrid_domain::Role;
use safegrid_domain::engine::Actor;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

/// An account.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    pub department: Option<String>,
    /// 12-digit region codes covered (empty: nothing, except for the root administrator).
    pub regions: Vec<String>,
    /// Grid codes looked after.
    pub grids: Vec<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// Locked after repeated failed logins until this time.
    pub locked_until: Option<DateTime<Utc>>,
}

impl User {
    pub fn actor(&self) -> Actor {
        Actor {
            id: Some(self.id),
            username: self.username.clone(),
            role: self.role,
            department: self.department.clone(),
            grids: self.grids.clone(),
            regions: self.regions.clone(),
        }
    }

    /// The root administrator (no region, grid or department; created with the CLI): the one
    /// account whose empty scope means the whole deployment.
    pub fn is_root(&self) -> bool {
        safegrid_domain::scope::is_root(
            self.role,
            &self.regions,
            &self.grids,
            self.department.as_deref(),
        )
    }

    /// Whether a region (or grid) code lies in this account's territory. An empty region list
    /// covers nothing, except for the root administrator.
    pub fn covers_region(&self, region: &str) -> bool {
        self.is_root() || safegrid_domain::scope::regions_cover(&self.regions, region)
    }

    /// The account's scope as a grant (what it could hand on), with its department's region.
    pub fn grant<'a>(
        &'a self,
        department_region: Option<&'a str>,
    ) -> safegrid_domain::scope::Grant<'a> {
        safegrid_domain::scope::Grant {
            role: self.role,
            regions: &self.regions,
            grids: &self.grids,
            department_region,
        }
    }
}

/// Input of a new account; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub department: Option<String>,
    pub regions: Vec<String>,
    pub grids: Vec<String>,
}

/// A change to an account; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)` clears the department.
    pub department: Option<Option<String>>,
    pub regions: Option<Vec<String>>,
    pub grids: Option<Vec<String>>,
    pub disabled: Option<bool>,
}

/// A machine token's metadata (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `read` or `read,write`.
    pub scopes: String,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    username: String,
    display_name: String,
    password_hash: String,
    role: String,
    department_code: Option<String>,
    regions: String,
    grids: String,
    disabled: bool,
    created_at: i64,
    locked_until: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct TokenUserRow {
    #[sqlx(flatten)]
    user: UserRow,
    scopes: String,
    expires_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SessionUserRow {
    #[sqlx(flatten)]
    user: UserRow,
    last_seen_at: i64,
}

/// The account behind a live machine token, with what the token allows.
#[derive(Debug, Clone)]
pub struct TokenUser {
    pub user: User,
    /// `read` or `read,write`.
    pub scopes: String,
    /// When the token stops working (`None`: until revoked).
    pub expires_at: Option<DateTime<Utc>>,
    /// When an absence cover (代班) that widens the account's grids ends: a remembered token
    /// must be checked again from then on.
    pub scope_until: Option<DateTime<Utc>>,
}

/// `SELECT <every user column of u>, <extra> <rest>`: one query for a credential and its account
/// (on SQLite each query is a round trip to a connection's thread).
fn user_join_sql(extra: &str, rest: &str) -> String {
    let cols: Vec<String> = USER_COLS.split(", ").map(|c| format!("u.{c}")).collect();
    format!("SELECT {}, {extra} {rest}", cols.join(", "))
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<User> {
        Ok(User {
            id: r.id,
            role: r
                .role
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("role {}", r.role)))?,
            username: r.username,
            display_name: r.display_name,
            password_hash: r.password_hash,
            department: r.department_code,
            regions: split(&r.regions),
            grids: split(&r.grids),
            disabled: r.disabled,
            created_at: from_ms(r.created_at),
            locked_until: r.locked_until.map(from_ms),
        })
    }
}

const USER_COLS: &str = "id, username, display_name, password_hash, role, department_code, regions, grids, disabled, created_at, locked_until";

impl Store {
    pub async fn create_user(&self, u: &NewUser) -> Result<User> {
        let id = Uuid::now_v7();
        let now = to_ms(Utc::now());
        with_pool!(self, p => sqlx::query("INSERT INTO users (id, username, display_name, password_hash, role, department_code, regions, grids, disabled, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(id).bind(&u.username).bind(&u.display_name).bind(&u.password_hash).bind(u.role.as_str())
            .bind(&u.department).bind(u.regions.join(",")).bind(u.grids.join(",")).bind(false).bind(now)
            .execute(p).await.map(|_| ()))
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(format!("username {} already exists", u.username)),
                _ => unique_to_conflict(e, "department"),
            })?;
        self.user(id).await
    }

    pub async fn user(&self, id: Uuid) -> Result<User> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        let r: Option<UserRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)?;
        r.ok_or(StoreError::NotFound)?.try_into()
    }

    pub async fn user_by_name(&self, username: &str) -> Result<User> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE username = $1");
        let r: Option<UserRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(username).fetch_optional(p).await)?;
        r.ok_or(StoreError::NotFound)?.try_into()
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users ORDER BY username");
        let rows: Vec<UserRow> =
            with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).fetch_all(p).await)?;
        rows.into_iter().map(User::try_from).collect()
    }

    pub async fn set_password_hash(&self, id: Uuid, hash: &str) -> Result<()> {
        with_pool!(self, p => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(hash).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn set_user_grids(&self, id: Uuid, grids: &[String]) -> Result<()> {
        with_pool!(self, p => sqlx::query("UPDATE users SET grids = $1 WHERE id = $2").bind(grids.join(",")).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Records a session by the hash of its secret.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user: Uuid,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        let now = to_ms(Utc::now());
        with_pool!(self, p => sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $3)")
            .bind(token_hash).bind(user).bind(now).bind(to_ms(expires_at)).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The user of a live session; sessions idle longer than `idle_ms` or past their absolute
    /// expiry are refused. The last-seen time is rewritten only when it is older than a tenth of
    /// the idle limit (at most a minute): a page load is then a read, not a write that queues
    /// behind new cases for SQLite's one write lock.
    pub async fn session_user(&self, token_hash: &str, idle_ms: i64) -> Result<User> {
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| {
            user_join_sql(
                "s.last_seen_at",
                "FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3",
            )
        });
        let now = to_ms(Utc::now());
        let row: Option<SessionUserRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(token_hash).bind(now).bind(now - idle_ms).fetch_optional(p).await)?;
        let row = row.ok_or(StoreError::NotFound)?;
        let mut u: User = row.user.try_into()?;
        if u.disabled {
            return Err(StoreError::NotFound);
        }
        self.add_covered_grids(&mut u).await?;
        if now - row.last_seen_at > (idle_ms / 10).min(60_000) {
            with_pool!(self, p => sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2")
                .bind(token_hash).bind(now).execute(p).await.map(|_| ()))?;
        }
        Ok(u)
    }

    /// Adds the grids the account covers for absent workers right now (代班, `grid_covers`) to
    /// the grids of a signed-in account, so every scope check and the engine's grid rule see
    /// them; the covers are read at each request, so a cover ends by itself. Only accounts that
    /// work on grids can cover. Returns when the first of those covers ends.
    async fn add_covered_grids(&self, u: &mut User) -> Result<Option<DateTime<Utc>>> {
        if u.role.scope_kind() != safegrid_domain::role::ScopeKind::Grids {
            return Ok(None);
        }
        let (grids, until) = self.covered_grids(u.id, Utc::now()).await?;
        for g in grids {
            if !u.grids.contains(&g) {
                u.grids.push(g);
            }
        }
        Ok(until)
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        with_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Records a machine token by the hash of its secret.
    pub async fn create_token(
        &self,
        user: Uuid,
        name: &str,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<TokenInfo> {
        self.create_token_scoped(user, name, token_hash, expires_at, "read,write")
            .await
    }

    /// Records a machine token limited to `scopes` (`read` or `read,write`).
    pub async fn create_token_scoped(
        &self,
        user: Uuid,
        name: &str,
        token_hash: &str,
        expires_at: Option<DateTime<Utc>>,
        scopes: &str,
    ) -> Result<TokenInfo> {
        let id = Uuid::now_v7();
        let now = Utc::now();
        with_pool!(self, p => sqlx::query("INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at, scopes) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(id).bind(user).bind(name).bind(token_hash).bind(to_ms(now)).bind(expires_at.map(to_ms)).bind(scopes).execute(p).await.map(|_| ()))?;
        Ok(TokenInfo {
            id,
            user_id: user,
            name: name.to_string(),
            created_at: now,
            expires_at,
            revoked_at: None,
            scopes: scopes.to_string(),
        })
    }

    /// The user of a live (unrevoked, unexpired) token.
    pub async fn token_user(&self, token_hash: &str) -> Result<User> {
        Ok(self.token_user_scoped(token_hash).await?.user)
    }

    /// The user of a live token, the token's scopes and its expiry.
    pub async fn token_user_scoped(&self, token_hash: &str) -> Result<TokenUser> {
        // Built once: machine clients (Open311 apps, the hotline's integration) send a token
        // with every request.
        static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let sql = SQL.get_or_init(|| {
            user_join_sql(
                "t.scopes, t.expires_at",
                "FROM api_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)",
            )
        });
        let now = to_ms(Utc::now());
        let row: Option<TokenUserRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(token_hash).bind(now).fetch_optional(p).await)?;
        let row = row.ok_or(StoreError::NotFound)?;
        let mut user: User = row.user.try_into()?;
        if user.disabled {
            return Err(StoreError::NotFound);
        }
        let scope_until = self.add_covered_grids(&mut user).await?;
        Ok(TokenUser {
            user,
            scopes: row.scopes,
            expires_at: row.expires_at.map(from_ms),
            scope_until,
        })
    }

    /// Every token's metadata (never a secret), newest first.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>> {
        type Row = (Uuid, Uuid, String, i64, Option<i64>, Option<i64>, String);
        let rows: Vec<Row> = with_pool!(self, p => sqlx::query_as(
            "SELECT id, user_id, name, created_at, expires_at, revoked_at, scopes FROM api_tokens ORDER BY created_at DESC")
            .fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|r| TokenInfo {
                id: r.0,
                user_id: r.1,
                name: r.2,
                created_at: from_ms(r.3),
                expires_at: r.4.map(from_ms),
                revoked_at: r.5.map(from_ms),
                scopes: r.6,
            })
            .collect())
    }

    /// Counts a failed login; at `max` consecutive failures the account locks until `now + lock`
    /// (and the count restarts). Returns the lock's end when this failure locked it.
    pub async fn login_failed(
        &self,
        id: Uuid,
        max: i32,
        lock: chrono::Duration,
    ) -> Result<Option<DateTime<Utc>>> {
        let now = Utc::now();
        let until = to_ms(now + lock);
        let row: Option<(i32, Option<i64>)> = with_pool!(self, p => sqlx::query_as(
            "UPDATE users SET failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END,
                              locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END
             WHERE id = $1 RETURNING failed_logins, locked_until")
            .bind(id).bind(max).bind(until).fetch_optional(p).await)?;
        Ok(match row {
            Some((0, Some(t))) if t == until => Some(from_ms(t)),
            _ => None,
        })
    }

    /// A successful login clears the failure count.
    pub async fn login_succeeded(&self, id: Uuid) -> Result<()> {
        with_pool!(self, p => sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1").bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Applies `change` to an account; disabling it or changing its role or scope ends its sessions,
    /// so a narrower scope takes effect at once.
    pub async fn update_user(&self, id: Uuid, change: &UserChange) -> Result<User> {
        let cur = self.user(id).await?;
        let role = change.role.unwrap_or(cur.role);
        let department = change.department.clone().unwrap_or(cur.department.clone());
        let regions = change.regions.clone().unwrap_or(cur.regions.clone());
        let grids = change.grids.clone().unwrap_or(cur.grids.clone());
        let disabled = change.disabled.unwrap_or(cur.disabled);
        let name = change
            .display_name
            .clone()
            .unwrap_or(cur.display_name.clone());
        let narrowed = role != cur.role
            || department != cur.department
            || regions != cur.regions
            || grids != cur.grids
            || (disabled && !cur.disabled);
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE users SET display_name = $2, role = $3, department_code = $4, regions = $5, grids = $6, disabled = $7 WHERE id = $1")
                .bind(id).bind(&name).bind(role.as_str()).bind(&department).bind(regions.join(",")).bind(grids.join(",")).bind(disabled)
                .execute(&mut *tx).await.map_err(|e| unique_to_conflict(e, "department"))?;
            if narrowed {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        self.user(id).await
    }

    /// Ends every session of an account (after a password change, for instance).
    pub async fn delete_user_sessions(&self, id: Uuid) -> Result<()> {
        with_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn revoke_token(&self, id: Uuid) -> Result<()> {
        let n = with_pool!(self, p => sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(to_ms(Utc::now())).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
