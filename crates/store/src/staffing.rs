//! Grid staffing (一人一格): changes of the grids accounts hold, each written with its history row
//! and audit entries in one transaction (`users.grids` stays the one thing scope reads); absence
//! covers (代班) with their overlap check under a lock; accounts imported in bulk. The caller
//! checks permissions and scopes; this module stores what it is given.

use crate::audit::{AuditEntry, append_many, current_ip};
use crate::time::{from_ms, to_ms};
use crate::{NewUser, Result, Store, StoreError, with_pool};
use chrono::{DateTime, Utc};
use safegrid_domain::FieldError;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use uuid::Uuid;

/// One row of a grid's staffing history.
#[derive(Debug, Clone, Serialize)]
pub struct StaffingRecord {
    pub id: Uuid,
    pub grid_code: String,
    /// worker | leader
    pub post: String,
    /// assign | handover | vacate
    pub kind: String,
    pub user_id: Option<Uuid>,
    pub previous_user_id: Option<Uuid>,
    /// What moved with a handover.
    pub moved: Option<Moved>,
    pub note: Option<String>,
    pub by_user_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// What a handover moved with the grid: counted in its transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Moved {
    /// Open tasks of published campaigns on the grid's places.
    pub campaign_tasks: i64,
    /// Cases of the grid waiting for the grid worker's verification (核查).
    pub awaiting_verification: i64,
    /// Every open case of the grid (the two above included where they are cases).
    pub open_cases: i64,
}

/// An account's grids before and after a change (the write is compare-and-swap on `before`).
#[derive(Debug, Clone)]
pub struct GridsChange {
    pub user_id: Uuid,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

/// Which states count as what, for a handover's [`Moved`].
pub struct MoveCount<'a> {
    pub grid: &'a str,
    pub verification_states: &'a [String],
    pub terminal_states: &'a [String],
}

/// An absence cover (代班).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cover {
    pub id: Uuid,
    pub absent_user_id: Uuid,
    pub cover_user_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub note: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct StaffingRow {
    id: Uuid,
    grid_code: String,
    post: String,
    kind: String,
    user_id: Option<Uuid>,
    previous_user_id: Option<Uuid>,
    moved: Option<String>,
    note: Option<String>,
    by_user_id: Option<Uuid>,
    at: i64,
}

impl From<StaffingRow> for StaffingRecord {
    fn from(r: StaffingRow) -> Self {
        StaffingRecord {
            id: r.id,
            grid_code: r.grid_code,
            post: r.post,
            kind: r.kind,
            user_id: r.user_id,
            previous_user_id: r.previous_user_id,
            moved: r.moved.and_then(|m| serde_json::from_str(&m).ok()),
            note: r.note,
            by_user_id: r.by_user_id,
            at: from_ms(r.at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct CoverRow {
    id: Uuid,
    absent_user_id: Uuid,
    cover_user_id: Uuid,
    starts_at: i64,
    ends_at: i64,
    note: Option<String>,
    created_by: Option<Uuid>,
    created_at: i64,
    cancelled_at: Option<i64>,
}

impl From<CoverRow> for Cover {
    fn from(r: CoverRow) -> Self {
        Cover {
            id: r.id,
            absent_user_id: r.absent_user_id,
            cover_user_id: r.cover_user_id,
            starts_at: from_ms(r.starts_at),
            ends_at: from_ms(r.ends_at),
            note: r.note,
            created_by: r.created_by,
            created_at: from_ms(r.created_at),
            cancelled_at: r.cancelled_at.map(from_ms),
        }
    }
}

const STAFFING_COLS: &str =
    "id, grid_code, post, kind, user_id, previous_user_id, moved, note, by_user_id, at";
const COVER_COLS: &str = "id, absent_user_id, cover_user_id, starts_at, ends_at, note, created_by, created_at, cancelled_at";

fn stamped(entries: &[AuditEntry], at: DateTime<Utc>) -> Vec<(AuditEntry, i64, Option<String>)> {
    entries
        .iter()
        .map(|e| (e.clone(), to_ms(at), current_ip()))
        .collect()
}

fn changed_meanwhile() -> StoreError {
    StoreError::Conflict(
        "grids: the staffing of this account changed meanwhile; reload and try again".into(),
    )
}

/// `$from, $from+1, …` for `n` values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Changes accounts' grids, with the history rows and audit entries, in one transaction. Each
    /// change is compare-and-swap on the grids read (`Conflict` naming `grids` when another change
    /// came first). With `count`, what the grid's handover moves is counted in the same
    /// transaction, written into every history row and returned.
    pub async fn save_staffing(
        &self,
        changes: &[GridsChange],
        records: &[StaffingRecord],
        audit: &[AuditEntry],
        count: Option<MoveCount<'_>>,
        now: DateTime<Utc>,
    ) -> Result<Option<Moved>> {
        let mut audit = audit.to_vec();
        let mut moved = None;
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for c in changes {
                let done = sqlx::query("UPDATE users SET grids = $2 WHERE id = $1 AND grids = $3")
                    .bind(c.user_id).bind(c.after.join(",")).bind(c.before.join(","))
                    .execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    return Err(changed_meanwhile());
                }
            }
            if let Some(mc) = &count {
                let county = mc.grid.get(..6).unwrap_or_default();
                let (tasks,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM campaign_tasks t JOIN campaigns c ON c.id = t.campaign_id
                     WHERE t.county_code = $1 AND t.grid_code = $2 AND t.status = 'due' AND c.status = 'published'")
                    .bind(county).bind(mc.grid).fetch_one(&mut *tx).await?;
                let sql = format!(
                    "SELECT COUNT(*) FROM cases WHERE county_code = $1 AND grid_code = $2 AND status IN ({})",
                    placeholders(3, mc.verification_states.len().max(1)));
                let mut q = sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql)).bind(county).bind(mc.grid);
                if mc.verification_states.is_empty() {
                    q = q.bind("");
                }
                for s in mc.verification_states {
                    q = q.bind(s);
                }
                let (verify,) = q.fetch_one(&mut *tx).await?;
                let sql = format!(
                    "SELECT COUNT(*) FROM cases WHERE county_code = $1 AND grid_code = $2 AND status NOT IN ({})",
                    placeholders(3, mc.terminal_states.len().max(1)));
                let mut q = sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql)).bind(county).bind(mc.grid);
                if mc.terminal_states.is_empty() {
                    q = q.bind("");
                }
                for s in mc.terminal_states {
                    q = q.bind(s);
                }
                let (open,) = q.fetch_one(&mut *tx).await?;
                let m = Moved { campaign_tasks: tasks, awaiting_verification: verify, open_cases: open };
                for e in &mut audit {
                    if let Some(d) = e.detail.as_object_mut() {
                        d.insert("moved".into(), serde_json::to_value(m).unwrap_or_default());
                    }
                }
                moved = Some(m);
            }
            for r in records {
                let m = r.moved.or(moved).map(|m| serde_json::to_string(&m).unwrap_or_default());
                sqlx::query("INSERT INTO grid_staffing (id, grid_code, post, kind, user_id, previous_user_id, moved, note, by_user_id, at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                    .bind(r.id).bind(&r.grid_code).bind(&r.post).bind(&r.kind).bind(r.user_id)
                    .bind(r.previous_user_id).bind(m).bind(&r.note).bind(r.by_user_id).bind(to_ms(r.at))
                    .execute(&mut *tx).await?;
            }
            let entries = stamped(&audit, now);
            if !entries.is_empty() {
                append_many!(tx, &entries)?;
            }
            tx.commit().await?;
        });
        Ok(moved)
    }

    /// Codes, villages and names of the grids whose code starts with `prefix` (no geometry), in
    /// code order, at most `limit`.
    pub async fn grid_names(
        &self,
        prefix: &str,
        limit: i64,
    ) -> Result<Vec<(String, String, String)>> {
        let like = format!("{prefix}%");
        let v: Vec<(String, String, String)> = with_pool!(self, p => sqlx::query_as(
            "SELECT code, village_code, name FROM grids WHERE code LIKE $1 ORDER BY code LIMIT $2")
            .bind(&like).bind(limit).fetch_all(p).await)?;
        Ok(v)
    }

    /// The staffing history of the grids whose code starts with `prefix`, newest first.
    pub async fn staffing_history(&self, prefix: &str, limit: i64) -> Result<Vec<StaffingRecord>> {
        let sql = format!(
            "SELECT {STAFFING_COLS} FROM grid_staffing WHERE grid_code LIKE $1 ORDER BY at DESC, id DESC LIMIT $2"
        );
        let like = format!("{prefix}%");
        let rows: Vec<StaffingRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(&like).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Records a cover, with its audit entry, unless it overlaps another live cover of the same
    /// absent worker, or its covering worker is itself covered meanwhile (`Invalid` naming
    /// `starts_at` or `cover_user_id`). The absent worker's row is locked first, so two covers
    /// arranged at once cannot both pass the check. A cover with this id already stored is
    /// returned as it is (a retry) with `false`.
    pub async fn insert_cover(&self, c: &Cover, audit: &AuditEntry) -> Result<(Cover, bool)> {
        let sql = format!("SELECT {COVER_COLS} FROM grid_covers WHERE id = $1");
        let entries = stamped(std::slice::from_ref(audit), c.created_at);
        let created = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            // A no-op write takes the absent worker's row lock on PostgreSQL (SQLite has one writer).
            sqlx::query("UPDATE users SET grids = grids WHERE id = $1").bind(c.absent_user_id).execute(&mut *tx).await?;
            let there: Option<CoverRow> = sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(c.id).fetch_optional(&mut *tx).await?;
            if let Some(r) = there {
                tx.rollback().await?;
                return Ok((r.into(), false));
            }
            let overlap = "SELECT COUNT(*) FROM grid_covers WHERE absent_user_id = $1 AND cancelled_at IS NULL AND starts_at < $3 AND ends_at > $2";
            let (n,): (i64,) = sqlx::query_as(overlap).bind(c.absent_user_id).bind(to_ms(c.starts_at)).bind(to_ms(c.ends_at))
                .fetch_one(&mut *tx).await?;
            if n > 0 {
                return Err(StoreError::Invalid(FieldError::new("starts_at",
                    "overlaps another cover of this worker's absence; change the period or cancel the other cover")));
            }
            let (n,): (i64,) = sqlx::query_as(overlap).bind(c.cover_user_id).bind(to_ms(c.starts_at)).bind(to_ms(c.ends_at))
                .fetch_one(&mut *tx).await?;
            if n > 0 {
                return Err(StoreError::Invalid(FieldError::new("cover_user_id",
                    "this worker is absent (covered by someone else) during the period")));
            }
            sqlx::query("INSERT INTO grid_covers (id, absent_user_id, cover_user_id, starts_at, ends_at, note, created_by, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(c.id).bind(c.absent_user_id).bind(c.cover_user_id).bind(to_ms(c.starts_at)).bind(to_ms(c.ends_at))
                .bind(&c.note).bind(c.created_by).bind(to_ms(c.created_at))
                .execute(&mut *tx).await?;
            append_many!(tx, &entries)?;
            tx.commit().await?;
            true
        });
        Ok((self.cover(c.id).await?, created))
    }

    pub async fn cover(&self, id: Uuid) -> Result<Cover> {
        let sql = format!("SELECT {COVER_COLS} FROM grid_covers WHERE id = $1");
        let r: Option<CoverRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(id).fetch_optional(p).await)?;
        Ok(r.ok_or(StoreError::NotFound)?.into())
    }

    /// Covers that end after `since` (cancelled ones included), latest start first.
    pub async fn covers_since(&self, since: DateTime<Utc>) -> Result<Vec<Cover>> {
        let sql = format!(
            "SELECT {COVER_COLS} FROM grid_covers WHERE ends_at > $1 ORDER BY starts_at DESC, id"
        );
        let rows: Vec<CoverRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(to_ms(since)).fetch_all(p).await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Cancels a cover (its row stays, for the record) with its audit entry; `NotFound` when it
    /// is gone or already cancelled.
    pub async fn cancel_cover(
        &self,
        id: Uuid,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let entries = stamped(std::slice::from_ref(audit), now);
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let done = sqlx::query("UPDATE grid_covers SET cancelled_at = $2 WHERE id = $1 AND cancelled_at IS NULL")
                .bind(id).bind(to_ms(now)).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            append_many!(tx, &entries)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The grids `user` covers at `at` (the absent workers' grids as they are now), and when the
    /// first of those covers ends.
    pub async fn covered_grids(
        &self,
        user: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(Vec<String>, Option<DateTime<Utc>>)> {
        let rows: Vec<(String, i64)> = with_pool!(self, p => sqlx::query_as(
            "SELECT a.grids, c.ends_at FROM grid_covers c JOIN users a ON a.id = c.absent_user_id
             WHERE c.cover_user_id = $1 AND c.cancelled_at IS NULL AND c.starts_at <= $2 AND c.ends_at > $2")
            .bind(user).bind(to_ms(at)).fetch_all(p).await)?;
        let until = rows.iter().map(|r| r.1).min().map(from_ms);
        let grids = rows
            .iter()
            .flat_map(|r| r.0.split(','))
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect();
        Ok((grids, until))
    }

    /// Creates and changes accounts of an import, with their staffing rows and audit entries, in
    /// one transaction: all or nothing. `updates` carry the account's id and what it becomes (its
    /// password hash is left as it is). A taken username is a `Conflict` naming `username`.
    pub async fn save_accounts(
        &self,
        inserts: &[(Uuid, NewUser)],
        updates: &[(Uuid, NewUser)],
        records: &[StaffingRecord],
        audit: &[AuditEntry],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let entries = stamped(audit, now);
        let at = to_ms(now);
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for (id, u) in inserts {
                sqlx::query("INSERT INTO users (id, username, display_name, password_hash, role, department_code, regions, grids, disabled, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                    .bind(*id).bind(&u.username).bind(&u.display_name).bind(&u.password_hash).bind(u.role.as_str())
                    .bind(&u.department).bind(u.regions.join(",")).bind(u.grids.join(",")).bind(false).bind(at)
                    .execute(&mut *tx).await.map_err(|e| match &e {
                        sqlx::Error::Database(d) if d.is_unique_violation() =>
                            StoreError::Conflict(format!("username: {} already exists", u.username)),
                        _ => StoreError::Db(e),
                    })?;
            }
            for (id, u) in updates {
                sqlx::query("UPDATE users SET display_name = $2, role = $3, department_code = $4, regions = $5, grids = $6 WHERE id = $1")
                    .bind(*id).bind(&u.display_name).bind(u.role.as_str()).bind(&u.department)
                    .bind(u.regions.join(",")).bind(u.grids.join(","))
                    .execute(&mut *tx).await?;
                // A changed role or scope takes effect at once, as an edit by hand does.
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(*id).execute(&mut *tx).await?;
            }
            for r in records {
                sqlx::query("INSERT INTO grid_staffing (id, grid_code, post, kind, user_id, previous_user_id, moved, note, by_user_id, at)
                    VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9)")
                    .bind(r.id).bind(&r.grid_code).bind(&r.post).bind(&r.kind).bind(r.user_id)
                    .bind(r.previous_user_id).bind(&r.note).bind(r.by_user_id).bind(to_ms(r.at))
                    .execute(&mut *tx).await?;
            }
            if !entries.is_empty() {
                append_many!(tx, &entries)?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
