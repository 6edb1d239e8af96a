//! Storage of the Open311 door: client applications and their hashed api_keys, the update ids
//! each client has pushed, and the reads the GeoReport lists need (case lists with list filters,
//! histories of a page of cases, the updates feed by time).

use crate::cases::{CASE_COLS, CaseRow, EventRow};
use crate::time::{from_ms, to_ms};
use crate::{Result, Store, StoreError, unique_to_conflict, with_pool};
use chrono::{DateTime, Utc};
use safegrid_domain::engine::Case;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// A client application allowed to file into safegrid through Open311 (never its key).
#[derive(Debug, Clone, Serialize)]
pub struct Open311Client {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

type ClientRow = (Uuid, String, i64, Option<i64>);

fn client(r: ClientRow) -> Open311Client {
    Open311Client {
        id: r.0,
        name: r.1,
        created_at: from_ms(r.2),
        revoked_at: r.3.map(from_ms),
    }
}

/// Filters of the Open311 request list; empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub struct Open311Query {
    /// Case ids; when any are given (or `numbers`), the other filters are ignored except the region.
    pub ids: Vec<Uuid>,
    /// Case numbers, accepted as request ids too.
    pub numbers: Vec<String>,
    pub categories: Vec<String>,
    pub statuses: Vec<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub updated_after: Option<DateTime<Utc>>,
    pub updated_before: Option<DateTime<Utc>>,
    /// Significant prefix of the jurisdiction's region code.
    pub region_prefix: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Case types that are private matters between people (disputes 矛盾纠纷, petitions 信访): not
/// Open311 services, so its lists, lookups and updates feed never carry them.
const NOT_PRIVATE: &str = "case_type NOT IN ('dispute', 'petition')";

/// One history entry of the updates feed, with the case it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedEvent {
    pub case_id: Uuid,
    pub case_type: String,
    pub seq: i32,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub at: i64,
    pub note: Option<String>,
}

enum Arg {
    S(String),
    I(i64),
    U(Uuid),
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::S(s) => q.bind(s.clone()),
                Arg::I(i) => q.bind(*i),
                Arg::U(u) => q.bind(*u),
            };
        }
        q
    }};
}

fn push(args: &mut Vec<Arg>, a: Arg) -> String {
    args.push(a);
    format!("${}", args.len())
}

fn list(args: &mut Vec<Arg>, items: impl Iterator<Item = Arg>) -> String {
    items.map(|a| push(args, a)).collect::<Vec<_>>().join(", ")
}

fn region_range(args: &mut Vec<Arg>, prefix: &str) -> String {
    let a = push(args, Arg::S(format!("{prefix:0<12}")));
    let b = push(args, Arg::S(format!("{prefix:9<12}")));
    format!("region_code BETWEEN {a} AND {b}")
}

impl Store {
    /// Registers a client application by the hash of its key.
    pub async fn create_open311_client(&self, name: &str, key_hash: &str) -> Result<Open311Client> {
        let id = Uuid::now_v7();
        let now = Utc::now();
        with_pool!(self, p => sqlx::query("INSERT INTO open311_clients (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(id).bind(name).bind(key_hash).bind(to_ms(now)).execute(p).await.map(|_| ()))
            .map_err(|e| unique_to_conflict(e, "open311 client"))?;
        Ok(Open311Client {
            id,
            name: name.to_string(),
            created_at: now,
            revoked_at: None,
        })
    }

    /// The client holding this key hash, revoked or not (the caller tells the two apart).
    pub async fn open311_client_by_key(&self, key_hash: &str) -> Result<Open311Client> {
        let r: Option<ClientRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT id, name, created_at, revoked_at FROM open311_clients WHERE key_hash = $1")
            .bind(key_hash).fetch_optional(p).await)?;
        r.map(client).ok_or(StoreError::NotFound)
    }

    pub async fn open311_clients(&self) -> Result<Vec<Open311Client>> {
        let v: Vec<ClientRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT id, name, created_at, revoked_at FROM open311_clients ORDER BY name")
            .fetch_all(p).await)?;
        Ok(v.into_iter().map(client).collect())
    }

    /// Revokes a client's key; `NotFound` when no live client has this name.
    pub async fn revoke_open311_client(&self, name: &str) -> Result<()> {
        let n = with_pool!(self, p => sqlx::query("UPDATE open311_clients SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(to_ms(Utc::now())).bind(name).execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Claims `update_id` for `client`: `false` when the client already sent it. The unique key
    /// decides, so two concurrent pushes of one update cannot both pass.
    pub async fn claim_open311_update(
        &self,
        client: Uuid,
        update_id: &str,
        case: &Case,
    ) -> Result<bool> {
        let n = with_pool!(self, p => sqlx::query(
            "INSERT INTO open311_updates (client_id, update_id, county_code, case_id, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (client_id, update_id) DO NOTHING")
            .bind(client).bind(update_id).bind(&case.county_code).bind(case.id).bind(to_ms(Utc::now()))
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Gives a claimed update id back when the update itself could not be stored.
    pub async fn release_open311_update(&self, client: Uuid, update_id: &str) -> Result<()> {
        with_pool!(self, p => sqlx::query("DELETE FROM open311_updates WHERE client_id = $1 AND update_id = $2")
            .bind(client).bind(update_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Cases for the Open311 request list, newest first. Disputes and petitions are no Open311
    /// services and never leave through it, not even by id.
    pub async fn open311_cases(&self, q: &Open311Query) -> Result<Vec<Case>> {
        let mut args = vec![];
        let mut w = vec![NOT_PRIVATE.to_string()];
        if let Some(r) = &q.region_prefix {
            w.push(region_range(&mut args, r));
        }
        if !q.ids.is_empty() || !q.numbers.is_empty() {
            let mut any = vec![];
            if !q.ids.is_empty() {
                let l = list(&mut args, q.ids.iter().map(|u| Arg::U(*u)));
                any.push(format!("id IN ({l})"));
            }
            if !q.numbers.is_empty() {
                let l = list(&mut args, q.numbers.iter().map(|n| Arg::S(n.clone())));
                any.push(format!("number IN ({l})"));
            }
            w.push(format!("({})", any.join(" OR ")));
        } else {
            if !q.categories.is_empty() {
                let l = list(&mut args, q.categories.iter().map(|n| Arg::S(n.clone())));
                w.push(format!("category IN ({l})"));
            }
            if !q.statuses.is_empty() {
                let l = list(&mut args, q.statuses.iter().map(|n| Arg::S(n.clone())));
                w.push(format!("status IN ({l})"));
            }
            for (col, op, t) in [
                ("created_at", ">=", q.created_from),
                ("created_at", "<=", q.created_to),
                ("updated_at", ">", q.updated_after),
                ("updated_at", "<", q.updated_before),
            ] {
                if let Some(t) = t {
                    let a = push(&mut args, Arg::I(to_ms(t)));
                    w.push(format!("{col} {op} {a}"));
                }
            }
        }
        let sql = format!(
            "SELECT {CASE_COLS} FROM cases WHERE {} ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}",
            w.join(" AND "),
            q.limit.clamp(0, 10_000),
            q.offset.max(0)
        );
        let rows: Vec<CaseRow> = with_pool!(self, p => bind_all!(sqlx::query_as(AssertSqlSafe(sql.as_str())), &args).fetch_all(p).await)?;
        rows.into_iter().map(Case::try_from).collect()
    }

    /// Histories of several cases at once (one query per county), oldest entry first.
    pub async fn events_of_cases(&self, cases: &[Case]) -> Result<HashMap<Uuid, Vec<EventRow>>> {
        let mut by_county: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
        for c in cases {
            by_county.entry(&c.county_code).or_default().push(c.id);
        }
        let mut out: HashMap<Uuid, Vec<EventRow>> = HashMap::new();
        for (county, ids) in by_county {
            for chunk in ids.chunks(500) {
                let mut args = vec![Arg::S(county.to_string())];
                let l = list(&mut args, chunk.iter().map(|u| Arg::U(*u)));
                let sql = format!(
                    "SELECT case_id, seq, action, from_status, to_status, actor_id, actor_name, actor_role, at, note, data
                     FROM case_events WHERE county_code = $1 AND case_id IN ({l}) ORDER BY case_id, seq"
                );
                let rows: Vec<CaseEventRow> = with_pool!(self, p => bind_all!(sqlx::query_as(AssertSqlSafe(sql.as_str())), &args).fetch_all(p).await)?;
                for r in rows {
                    out.entry(r.case_id).or_default().push(r.event);
                }
            }
        }
        Ok(out)
    }

    /// History entries recorded in `[from, to]` in a region, oldest first, leaving out `skip`
    /// actions: the mySociety updates feed.
    pub async fn open311_feed(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        region_prefix: Option<&str>,
        skip: &[&str],
        limit: i64,
    ) -> Result<Vec<FeedEvent>> {
        let mut args = vec![Arg::I(to_ms(from)), Arg::I(to_ms(to))];
        let mut w = vec![
            "e.at >= $1".to_string(),
            "e.at <= $2".to_string(),
            format!("c.{NOT_PRIVATE}"),
        ];
        if !skip.is_empty() {
            let l = list(&mut args, skip.iter().map(|s| Arg::S(s.to_string())));
            w.push(format!("e.action NOT IN ({l})"));
        }
        if let Some(r) = region_prefix {
            w.push(format!("c.{}", region_range(&mut args, r)));
        }
        let sql = format!(
            "SELECT e.case_id, c.case_type, e.seq, e.action, e.from_status, e.to_status, e.at, e.note
             FROM case_events e JOIN cases c ON c.county_code = e.county_code AND c.id = e.case_id
             WHERE {} ORDER BY e.at, e.case_id, e.seq LIMIT {}",
            w.join(" AND "),
            limit.clamp(0, 10_000)
        );
        let rows: Vec<FeedEvent> = with_pool!(self, p => bind_all!(sqlx::query_as(AssertSqlSafe(sql.as_str())), &args).fetch_all(p).await)?;
        Ok(rows)
    }
}

#[derive(sqlx::FromRow)]
struct CaseEventRow {
    case_id: Uuid,
    #[sqlx(flatten)]
    event: EventRow,
}
