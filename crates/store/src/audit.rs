//! The audit trail (审计日志): who did what, when, from where. Append-only and tamper-evident:
//! every entry carries SHA-256 over its own fields and the previous entry's hash, so editing or
//! deleting any row breaks the chain from there on, and `verify_audit` says where.
//!
//! Appends serialise on the one `audit_head` row (a row lock in PostgreSQL, the write lock in
//! SQLite), so the chain has no forks even with many writers. Entries about a change are written
//! in the change's own transaction: a case transition and its audit entry commit together or not at all.

use crate::time::{from_ms, to_ms};
use crate::{Result, Store, with_pool};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Where the current request came from; the HTTP layer sets it for the request's task so that
/// entries written deep in storage still know the client address.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub ip: Option<String>,
    /// The request's id (`X-Request-Id`), so that error answers quote the id its log lines carry.
    pub request_id: Option<String>,
}

tokio::task_local! {
    pub static REQUEST: RequestContext;
}

/// The client address of the current request, if this task serves one.
pub fn current_ip() -> Option<String> {
    REQUEST.try_with(|r| r.ip.clone()).ok().flatten()
}

/// The id of the current request, if this task serves one.
pub fn current_request_id() -> Option<String> {
    REQUEST.try_with(|r| r.request_id.clone()).ok().flatten()
}

/// What happened: `action` is a dotted name (`auth.login`, `case.dispatch`, `privacy.reveal`, …).
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub detail: serde_json::Value,
}

impl AuditEntry {
    pub fn new(
        actor_id: Option<Uuid>,
        actor_name: impl Into<String>,
        action: impl Into<String>,
        target_type: impl Into<String>,
        target_id: Option<String>,
        detail: serde_json::Value,
    ) -> AuditEntry {
        AuditEntry {
            actor_id,
            actor_name: actor_name.into(),
            action: action.into(),
            target_type: target_type.into(),
            target_id,
            detail,
        }
    }
}

/// A stored entry.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub ip: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The chain hash of an entry: SHA-256 over the previous hash and the entry's fields as a JSON
/// array (unambiguous: no field can bleed into the next).
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev: &str,
    seq: i64,
    at_ms: i64,
    actor_id: Option<Uuid>,
    actor_name: &str,
    ip: Option<&str>,
    action: &str,
    target_type: &str,
    target_id: Option<&str>,
    detail: &str,
) -> String {
    let fields = serde_json::json!([
        seq,
        at_ms,
        actor_id.map(|u| u.to_string()),
        actor_name,
        ip,
        action,
        target_type,
        target_id,
        detail
    ]);
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(fields.to_string().as_bytes());
    let mut hex = String::with_capacity(64);
    for b in h.finalize() {
        // Two pushes per byte instead of a formatted String per byte (the intake writer hashes
        // every new case's entry on its one thread).
        hex.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        hex.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
    }
    hex
}

/// Appends `$entry` inside the open transaction `$tx` (used in `with_pool!` arms, so it is
/// type-checked for each backend), with the request's client address. Evaluates to
/// `Result<i64, sqlx::Error>` (the new seq).
macro_rules! append_audit {
    ($tx:expr, $entry:expr, $at:expr) => {{
        let e: &$crate::audit::AuditEntry = $entry;
        let one = [(e.clone(), $at, $crate::audit::current_ip())];
        $crate::audit::append_many!($tx, &one)
    }};
}
pub(crate) use append_audit;

/// An entry ready to store: its place in the chain and its hashes.
pub(crate) struct Chained<'a> {
    seq: i64,
    at_ms: i64,
    entry: &'a AuditEntry,
    ip: Option<String>,
    detail: String,
    prev_hash: String,
    hash: String,
}

/// Chains `entries` after the head `(last, prev)` returned by moving the head `entries.len()`
/// places on (`UPDATE audit_head SET seq = seq + n … RETURNING seq, hash`): the entries take
/// seqs `last - n + 1 ..= last`. Returns them and the new head hash.
pub(crate) fn chain<'a>(
    entries: &'a [(AuditEntry, i64, Option<String>)],
    last: i64,
    mut prev: String,
) -> (Vec<Chained<'a>>, String) {
    let n = entries.len() as i64;
    let mut rows = Vec::with_capacity(entries.len());
    for (k, (e, at_ms, ip)) in entries.iter().enumerate() {
        let seq = last - n + 1 + k as i64;
        let detail = e.detail.to_string();
        let hash = entry_hash(
            &prev,
            seq,
            *at_ms,
            e.actor_id,
            &e.actor_name,
            ip.as_deref(),
            &e.action,
            &e.target_type,
            e.target_id.as_deref(),
            &detail,
        );
        rows.push(Chained {
            seq,
            at_ms: *at_ms,
            entry: e,
            ip: ip.clone(),
            detail,
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
        });
    }
    (rows, prev)
}

/// Adds to `stmts` the inserts of chained entries and the head's new hash.
pub(crate) fn push_chained<DB>(
    stmts: &mut crate::batch::Statements<DB>,
    verb: &str,
    rows: Vec<Chained<'_>>,
    head_hash: String,
) where
    DB: sqlx::Database,
    i64: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<Uuid>: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    if rows.is_empty() {
        return;
    }
    let sql = format!("{verb} audit_log ({AUDIT_COLS}) ");
    for chunk in rows.chunks(1000) {
        let qb = stmts.next(&sql, "audit entries");
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(r.seq)
                .push_bind(r.at_ms)
                .push_bind(r.entry.actor_id)
                .push_bind(r.entry.actor_name.clone())
                .push_bind(r.ip.clone())
                .push_bind(r.entry.action.clone())
                .push_bind(r.entry.target_type.clone())
                .push_bind(r.entry.target_id.clone())
                .push_bind(r.detail.clone())
                .push_bind(r.prev_hash.clone())
                .push_bind(r.hash.clone());
        });
    }
    stmts
        .next("UPDATE audit_head SET hash = ", "audit head")
        .push_bind(head_hash)
        .push(" WHERE id = 1");
}

/// Appends `$entries` — `&[(AuditEntry, at_ms, ip)]` — inside the open transaction `$tx`: one
/// move of the head for all of them, one multi-row insert. Evaluates to `crate::Result<i64>`
/// (the last seq).
macro_rules! append_many {
    ($tx:expr, $entries:expr) => {{
        async {
            let entries: &[($crate::audit::AuditEntry, i64, Option<String>)] = $entries;
            let (last, prev): (i64, String) = sqlx::query_as(
                "UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash",
            )
            .bind(entries.len() as i64)
            .fetch_one(&mut *$tx)
            .await?;
            let (rows, head) = $crate::audit::chain(entries, last, prev);
            let mut stmts = $crate::batch::Statements::for_tx(&$tx);
            $crate::audit::push_chained(&mut stmts, "INSERT INTO", rows, head);
            stmts.run(&mut $tx).await?;
            Ok::<i64, $crate::StoreError>(last)
        }
        .await
    }};
}
pub(crate) use append_many;

/// Filters of an audit search; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// An action or a prefix ending in `.` (`auth.` matches every login event).
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only entries by these accounts (an administrator below the root sees its own accounts'
    /// entries); `None` for every entry.
    pub actors_in: Option<Vec<String>>,
    pub limit: i64,
    pub offset: i64,
}

/// What `verify_audit` found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditVerdict {
    /// Entries checked in the live trail (after the archive anchor, if any).
    pub entries: i64,
    /// Entries moved out to archive files before the live trail starts (`audit archive`).
    pub archived: i64,
    /// The first entry at which the chain breaks, with the reason; `None` when intact.
    pub broken_at: Option<i64>,
    pub reason: Option<String>,
}

type AuditRow = (
    i64,
    i64,
    Option<Uuid>,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
);

const AUDIT_COLS: &str =
    "seq, at, actor_id, actor_name, ip, action, target_type, target_id, detail, prev_hash, hash";

fn record(r: AuditRow) -> AuditRecord {
    AuditRecord {
        seq: r.0,
        at: from_ms(r.1),
        actor_id: r.2,
        actor_name: r.3,
        ip: r.4,
        action: r.5,
        target_type: r.6,
        target_id: r.7,
        detail: serde_json::from_str(&r.8).unwrap_or(serde_json::Value::String(r.8)),
        prev_hash: r.9,
        hash: r.10,
    }
}

impl Store {
    /// Appends one entry in its own transaction.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<i64> {
        let at = to_ms(Utc::now());
        let seq = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let seq = append_audit!(tx, entry, at)?;
            tx.commit().await?;
            seq
        });
        Ok(seq)
    }

    /// Searches the trail, newest first.
    pub async fn audit_search(&self, f: &AuditFilter) -> Result<(Vec<AuditRecord>, i64)> {
        let mut conds: Vec<String> = vec![];
        let mut args: Vec<String> = vec![];
        let mut arg = |v: String, conds: &mut Vec<String>, sql: &str| {
            args.push(v);
            conds.push(sql.replace('?', &format!("${}", args.len())));
        };
        if let Some(a) = f.actor.as_deref().filter(|s| !s.is_empty()) {
            arg(a.to_string(), &mut conds, "actor_name = ?");
        }
        if let Some(a) = f.action.as_deref().filter(|s| !s.is_empty()) {
            if let Some(prefix) = a.strip_suffix('.') {
                arg(format!("{prefix}.%"), &mut conds, "action LIKE ?");
            } else {
                arg(a.to_string(), &mut conds, "action = ?");
            }
        }
        if let Some(t) = f.target_type.as_deref().filter(|s| !s.is_empty()) {
            arg(t.to_string(), &mut conds, "target_type = ?");
        }
        if let Some(t) = f.target_id.as_deref().filter(|s| !s.is_empty()) {
            arg(t.to_string(), &mut conds, "target_id = ?");
        }
        if let Some(names) = &f.actors_in {
            if names.is_empty() {
                conds.push("1 = 0".into());
            } else {
                let mut marks = Vec::with_capacity(names.len());
                for n in names {
                    args.push(n.clone());
                    marks.push(format!("${}", args.len()));
                }
                conds.push(format!("actor_name IN ({})", marks.join(", ")));
            }
        }
        let n = args.len();
        let mut time_conds = vec![];
        if f.from.is_some() {
            time_conds.push(format!("at >= ${}", n + 1));
        }
        if f.to.is_some() {
            time_conds.push(format!("at <= ${}", n + 1 + usize::from(f.from.is_some())));
        }
        conds.extend(time_conds);
        let wh = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        let sql = format!(
            "SELECT {AUDIT_COLS} FROM audit_log {wh} ORDER BY seq DESC LIMIT {} OFFSET {}",
            f.limit.clamp(1, 1000),
            f.offset.max(0)
        );
        let count_sql = format!("SELECT COUNT(*) FROM audit_log {wh}");
        let (rows, total) = with_pool!(self, p => {
            let mut q = sqlx::query_as::<_, AuditRow>(AssertSqlSafe(sql.as_str()));
            let mut c = sqlx::query_as::<_, (i64,)>(AssertSqlSafe(count_sql.as_str()));
            for a in &args {
                q = q.bind(a.clone());
                c = c.bind(a.clone());
            }
            for t in [f.from, f.to].into_iter().flatten() {
                q = q.bind(to_ms(t));
                c = c.bind(to_ms(t));
            }
            let rows = q.fetch_all(p).await?;
            let (total,) = c.fetch_one(p).await?;
            (rows, total)
        });
        Ok((rows.into_iter().map(record).collect(), total))
    }

    /// Walks the whole chain in order and reports the first entry that does not fit: a changed
    /// field (hash mismatch), a deleted entry (a gap in `seq` or a `prev_hash` that does not match),
    /// or missing entries at the end (the head says there were more).
    pub async fn verify_audit(&self, mut progress: impl FnMut(i64)) -> Result<AuditVerdict> {
        let (head_seq, head_hash): (i64, String) = with_pool!(self, p => sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(p).await)?;
        // After an archive the live trail starts at the anchor: its hash stands for every entry
        // moved out, and an `audit.archive` entry further on must vouch for it.
        let anchor = self.audit_anchor().await?;
        let archived = anchor.as_ref().map_or(0, |a| a.upto_seq);
        let mut prev_hash = anchor
            .as_ref()
            .map_or_else(|| GENESIS.to_string(), |a| a.upto_hash.clone());
        let mut expect = archived + 1;
        let mut vouched = anchor.is_none();
        let mut seen = 0i64;
        // Only up to the head read above: entries appended while the walk runs (a job, a login)
        // belong to a later head and are checked by a later walk.
        let sql = format!(
            "SELECT {AUDIT_COLS} FROM audit_log WHERE seq >= $1 AND seq <= {head_seq} ORDER BY seq LIMIT 5000"
        );
        let broken = |at: i64, why: String, seen: i64| AuditVerdict {
            entries: seen,
            archived,
            broken_at: Some(at),
            reason: Some(why),
        };
        loop {
            let rows: Vec<AuditRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(expect).fetch_all(p).await)?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let rec = record(r.clone());
                if rec.seq != expect {
                    return Ok(broken(
                        expect,
                        format!("entry {expect} is missing (next entry is {})", rec.seq),
                        seen,
                    ));
                }
                if rec.prev_hash != prev_hash {
                    return Ok(broken(
                        rec.seq,
                        "its link to the previous entry does not match (an entry before it was changed or removed)".into(),
                        seen,
                    ));
                }
                let h = entry_hash(
                    &rec.prev_hash,
                    rec.seq,
                    r.1,
                    rec.actor_id,
                    &rec.actor_name,
                    rec.ip.as_deref(),
                    &rec.action,
                    &rec.target_type,
                    rec.target_id.as_deref(),
                    &r.8,
                );
                if h != rec.hash {
                    return Ok(broken(
                        rec.seq,
                        "its content does not match its hash (the entry was edited)".into(),
                        seen,
                    ));
                }
                if let Some(a) = anchor.as_ref().filter(|_| !vouched) {
                    vouched = rec.action == "audit.archive"
                        && rec.target_id.as_deref() == Some(a.upto_seq.to_string().as_str())
                        && rec.detail["upto_hash"] == a.upto_hash.as_str()
                        && rec.detail["file_sha256"] == a.file_sha256.as_str();
                }
                prev_hash = rec.hash;
                expect += 1;
                seen += 1;
            }
            progress(seen);
        }
        if !vouched {
            return Ok(broken(
                archived,
                "the archive anchor is not recorded by an audit.archive entry of the trail (the anchor was edited)".into(),
                seen,
            ));
        }
        if archived + seen != head_seq || prev_hash != head_hash {
            return Ok(broken(
                archived + seen + 1,
                format!(
                    "the trail ends at entry {} but {head_seq} were written (entries at the end were removed)",
                    archived + seen
                ),
                seen,
            ));
        }
        Ok(AuditVerdict {
            entries: seen,
            archived,
            broken_at: None,
            reason: None,
        })
    }
}

/// An entry exactly as stored, as an archive file keeps it: with the stored time and detail text,
/// so that its hash can be computed again from the file alone.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RawAuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub ip: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl RawAuditEntry {
    /// The entry's hash computed from its fields and `prev_hash`.
    pub fn computed_hash(&self) -> String {
        entry_hash(
            &self.prev_hash,
            self.seq,
            self.at_ms,
            self.actor_id,
            &self.actor_name,
            self.ip.as_deref(),
            &self.action,
            &self.target_type,
            self.target_id.as_deref(),
            &self.detail,
        )
    }
}

impl From<AuditRow> for RawAuditEntry {
    fn from(r: AuditRow) -> RawAuditEntry {
        RawAuditEntry {
            seq: r.0,
            at_ms: r.1,
            actor_id: r.2,
            actor_name: r.3,
            ip: r.4,
            action: r.5,
            target_type: r.6,
            target_id: r.7,
            detail: r.8,
            prev_hash: r.9,
            hash: r.10,
        }
    }
}

/// Where the live trail starts after an archive (审计归档锚点): the last entry moved out.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ArchiveAnchor {
    pub upto_seq: i64,
    pub upto_hash: String,
    pub first_seq: i64,
    pub entries: i64,
    pub file_name: String,
    pub file_sha256: String,
    pub archived_at: DateTime<Utc>,
    pub archived_by: String,
}

type AnchorRow = (i64, String, i64, i64, String, String, i64, String);

impl Store {
    /// The newest archive anchor, if the trail was ever archived.
    pub async fn audit_anchor(&self) -> Result<Option<ArchiveAnchor>> {
        let row: Option<AnchorRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT upto_seq, upto_hash, first_seq, entries, file_name, file_sha256, archived_at, archived_by \
             FROM audit_archives ORDER BY upto_seq DESC LIMIT 1").fetch_optional(p).await)?;
        Ok(row.map(|r| ArchiveAnchor {
            upto_seq: r.0,
            upto_hash: r.1,
            first_seq: r.2,
            entries: r.3,
            file_name: r.4,
            file_sha256: r.5,
            archived_at: from_ms(r.6),
            archived_by: r.7,
        }))
    }

    /// The last entry that an archive of everything written before `before` would move out:
    /// every entry up to it is older (the chain's order, not only its clock, decides), and the
    /// live trail keeps at least its newest entry. `None` when nothing qualifies.
    pub async fn audit_archivable(&self, before: DateTime<Utc>) -> Result<Option<(i64, i64)>> {
        let (first, first_young, last): (Option<i64>, Option<i64>, Option<i64>) = with_pool!(self, p => sqlx::query_as(
            "SELECT (SELECT MIN(seq) FROM audit_log), (SELECT MIN(seq) FROM audit_log WHERE at >= $1), (SELECT MAX(seq) FROM audit_log)")
            .bind(to_ms(before)).fetch_one(p).await)?;
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(None);
        };
        let upto = first_young.map_or(last - 1, |y| y - 1).min(last - 1);
        Ok((upto >= first).then_some((first, upto)))
    }

    /// Live entries `from..=to` in chain order, at most `limit`, exactly as stored.
    pub async fn audit_raw(&self, from: i64, to: i64, limit: i64) -> Result<Vec<RawAuditEntry>> {
        let sql = format!(
            "SELECT {AUDIT_COLS} FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3"
        );
        let rows: Vec<AuditRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(from).bind(to).bind(limit).fetch_all(p).await)?;
        Ok(rows.into_iter().map(RawAuditEntry::from).collect())
    }

    /// Moves the entries up to `anchor.upto_seq` out of the live trail, once their archive file is
    /// written: in one transaction the anchor is stored, the entries deleted and `entry` (the
    /// `audit.archive` record that vouches for the anchor) appended. Refused when the trail no
    /// longer starts where the archive starts or the last archived entry changed since it was read.
    pub async fn audit_archive_commit(
        &self,
        anchor: &ArchiveAnchor,
        entry: &AuditEntry,
    ) -> Result<u64> {
        let at = to_ms(Utc::now());
        let deleted = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            // Serialise with appends (and with another archive) on the chain's head row.
            sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1").execute(&mut *tx).await?;
            let (first, upto_hash): (Option<i64>, Option<String>) = sqlx::query_as(
                "SELECT (SELECT MIN(seq) FROM audit_log), (SELECT hash FROM audit_log WHERE seq = $1)")
                .bind(anchor.upto_seq).fetch_one(&mut *tx).await?;
            if first != Some(anchor.first_seq) || upto_hash.as_deref() != Some(anchor.upto_hash.as_str()) {
                return Err(crate::StoreError::Conflict(
                    "the audit trail changed since the archive was read; run the archive again".into(),
                ));
            }
            sqlx::query(
                "INSERT INTO audit_archives (upto_seq, upto_hash, first_seq, entries, file_name, file_sha256, archived_at, archived_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(anchor.upto_seq).bind(&anchor.upto_hash).bind(anchor.first_seq).bind(anchor.entries)
                .bind(&anchor.file_name).bind(&anchor.file_sha256).bind(to_ms(anchor.archived_at)).bind(&anchor.archived_by)
                .execute(&mut *tx).await?;
            let deleted = sqlx::query("DELETE FROM audit_log WHERE seq <= $1")
                .bind(anchor.upto_seq).execute(&mut *tx).await?.rows_affected();
            append_audit!(tx, entry, at)?;
            tx.commit().await?;
            deleted
        });
        Ok(deleted)
    }
}
