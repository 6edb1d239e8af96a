//! Addresses (门牌) and visits (走访): writes of many addresses in one transaction with their
//! audit entries, a visit stored with its audit entry (keyed by the phone's id), the erasure of
//! an address's contacts and the purge of old care visits (each with its audit entry in the same
//! transaction), coverage counted per grid, and the figures of a worker's work log. The caller
//! checks scopes and care-visit visibility; this module stores and counts what it is asked.

use crate::audit::{AuditEntry, append_many, current_ip};
use crate::time::{from_ms, to_ms};
use crate::{Result, Store, StoreError, with_pool};
use chrono::{DateTime, NaiveDate, Utc};
use safegrid_domain::visit::{Address, AddressStatus, Visit, VisitKind};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

const ADDRESS_COLS: &str = "county_code, id, grid_code, region_code, building, unit, door, place_id, \
     status, created_by, created_at, updated_at, version";

const VISIT_COLS: &str = "county_code, id, grid_code, region_code, address_id, place_id, visited_on, \
     kind, raised, contact_name, contact_phone, case_id, recorded_by, recorded_at";

const INSERT_BATCH: usize = 500;

#[derive(sqlx::FromRow)]
struct AddressRow {
    county_code: String,
    id: Uuid,
    grid_code: String,
    region_code: String,
    building: String,
    unit: String,
    door: String,
    place_id: Option<Uuid>,
    status: String,
    created_by: Option<Uuid>,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl TryFrom<AddressRow> for Address {
    type Error = StoreError;
    fn try_from(r: AddressRow) -> Result<Address> {
        let status = AddressStatus::parse(&r.status)
            .map_err(|_| StoreError::Corrupt(format!("address {}: status", r.id)))?;
        Ok(Address {
            county_code: r.county_code,
            id: r.id,
            grid_code: r.grid_code,
            region_code: r.region_code,
            building: r.building,
            unit: r.unit,
            door: r.door,
            place_id: r.place_id,
            status,
            created_by: r.created_by,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
            version: r.version,
        })
    }
}

#[derive(sqlx::FromRow)]
struct VisitRow {
    county_code: String,
    id: Uuid,
    grid_code: String,
    region_code: String,
    address_id: Option<Uuid>,
    place_id: Option<Uuid>,
    visited_on: String,
    kind: String,
    raised: String,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    case_id: Option<Uuid>,
    recorded_by: Uuid,
    recorded_at: i64,
}

impl TryFrom<VisitRow> for Visit {
    type Error = StoreError;
    fn try_from(r: VisitRow) -> Result<Visit> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("visit {}: {what}", r.id));
        Ok(Visit {
            kind: VisitKind::parse(&r.kind).map_err(|_| corrupt("kind"))?,
            visited_on: NaiveDate::parse_from_str(&r.visited_on, "%Y-%m-%d")
                .map_err(|_| corrupt("visited_on"))?,
            county_code: r.county_code,
            id: r.id,
            grid_code: r.grid_code,
            region_code: r.region_code,
            address_id: r.address_id,
            place_id: r.place_id,
            raised: r.raised,
            contact_name: r.contact_name,
            contact_phone: r.contact_phone,
            case_id: r.case_id,
            recorded_by: r.recorded_by,
            recorded_at: from_ms(r.recorded_at),
        })
    }
}

enum Arg {
    S(String),
    U(Uuid),
}

macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::S(s) => q.bind(s.clone()),
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

/// A region prefix as a range of 12-digit codes (and the county when the prefix names one: the
/// indexes lead with it). `col` is prefixed with the table's alias where needed.
fn region_cond(alias: &str, prefix: &str, args: &mut Vec<Arg>) -> String {
    let lo = push(args, Arg::S(format!("{prefix:0<12}")));
    let hi = push(args, Arg::S(format!("{prefix:9<12}")));
    if prefix.len() >= 6 {
        let c = push(args, Arg::S(prefix[..6].to_string()));
        format!("({alias}county_code = {c} AND {alias}region_code BETWEEN {lo} AND {hi})")
    } else {
        format!("({alias}region_code BETWEEN {lo} AND {hi})")
    }
}

fn in_list(col: &str, vals: Vec<Arg>, args: &mut Vec<Arg>) -> String {
    let ps: Vec<String> = vals.into_iter().map(|v| push(args, v)).collect();
    format!("{col} IN ({})", ps.join(", "))
}

/// A viewer's territory as SQL: any of its regions or grids; nothing when `nothing`.
#[derive(Debug, Clone, Default)]
pub struct ScopeSql {
    pub everything: bool,
    pub regions: Vec<String>,
    pub grids: Vec<String>,
}

impl ScopeSql {
    fn cond(&self, alias: &str, args: &mut Vec<Arg>) -> Option<String> {
        if self.everything {
            return None;
        }
        let mut any = vec![];
        for r in &self.regions {
            any.push(region_cond(alias, r, args));
        }
        if !self.grids.is_empty() {
            let v = self.grids.iter().map(|g| Arg::S(g.clone())).collect();
            any.push(in_list(&format!("{alias}grid_code"), v, args));
        }
        Some(if any.is_empty() {
            "1 = 0".into()
        } else {
            format!("({})", any.join(" OR "))
        })
    }
}

/// Filters of a list of addresses; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AddressFilter {
    pub region_prefix: Option<String>,
    pub grids: Vec<String>,
    pub statuses: Vec<AddressStatus>,
    /// Text within the building, the unit or the door.
    pub text: Option<String>,
    pub ids: Vec<Uuid>,
    pub place_id: Option<Uuid>,
    pub scope: ScopeSql,
    /// Only addresses not visited between these local dates (both included).
    pub unvisited: Option<(NaiveDate, NaiveDate)>,
    /// Keyset on (grid, building, unit, door, id): the last row of the previous page.
    pub after: Option<Uuid>,
    /// Page size (at most 10,000); 0 or less for every match.
    pub limit: i64,
}

fn like(t: &str) -> String {
    let esc = t
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{esc}%")
}

/// A visit reaches an address when it names the door, or the place the door is linked to.
const REACHES: &str = "v.county_code = a.county_code AND (v.address_id = a.id OR \
     (v.place_id IS NOT NULL AND v.place_id = a.place_id))";

fn address_where(f: &AddressFilter, args: &mut Vec<Arg>) -> String {
    let mut w = vec!["1=1".to_string()];
    if let Some(p) = f.region_prefix.as_deref().filter(|p| !p.is_empty()) {
        w.push(region_cond("a.", p, args));
    }
    if !f.grids.is_empty() {
        let v = f.grids.iter().map(|g| Arg::S(g.clone())).collect();
        w.push(in_list("a.grid_code", v, args));
    }
    if !f.statuses.is_empty() {
        let v = f
            .statuses
            .iter()
            .map(|s| Arg::S(s.as_str().into()))
            .collect();
        w.push(in_list("a.status", v, args));
    }
    if !f.ids.is_empty() {
        let v = f.ids.iter().map(|u| Arg::U(*u)).collect();
        w.push(in_list("a.id", v, args));
    }
    if let Some(p) = f.place_id {
        let a = push(args, Arg::U(p));
        w.push(format!("a.place_id = {a}"));
    }
    if let Some(t) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let a = push(args, Arg::S(like(t)));
        w.push(format!(
            "(a.building LIKE {a} ESCAPE '\\' OR a.unit LIKE {a} ESCAPE '\\' OR a.door LIKE {a} ESCAPE '\\')"
        ));
    }
    if let Some((from, to)) = f.unvisited {
        let lo = push(args, Arg::S(from.to_string()));
        let hi = push(args, Arg::S(to.to_string()));
        w.push(format!(
            "NOT EXISTS (SELECT 1 FROM visits v WHERE {REACHES} AND v.visited_on BETWEEN {lo} AND {hi})"
        ));
    }
    if let Some(c) = f.scope.cond("a.", args) {
        w.push(c);
    }
    w.join(" AND ")
}

/// Filters of a list of visits. Care visits are kept only where `care` lets them through.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    pub region_prefix: Option<String>,
    pub grids: Vec<String>,
    pub kinds: Vec<VisitKind>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub address_id: Option<Uuid>,
    pub place_id: Option<Uuid>,
    pub recorded_by: Option<Uuid>,
    pub scope: ScopeSql,
    pub care: CareSql,
    /// Keyset: ids before this one (newest first).
    pub before: Option<Uuid>,
    pub limit: i64,
}

/// Which care visits (关爱走访) a viewer sees: those it recorded, those of grids it leads,
/// those of regions it serves as civil affairs; or all (root), or none.
#[derive(Debug, Clone, Default)]
pub struct CareSql {
    pub all: bool,
    pub recorder: Option<Uuid>,
    pub grids: Vec<String>,
    pub regions: Vec<String>,
}

impl CareSql {
    fn cond(&self, args: &mut Vec<Arg>) -> Option<String> {
        if self.all {
            return None;
        }
        let mut any = vec!["v.kind <> 'care'".to_string()];
        if let Some(r) = self.recorder {
            let a = push(args, Arg::U(r));
            any.push(format!("v.recorded_by = {a}"));
        }
        if !self.grids.is_empty() {
            let v = self.grids.iter().map(|g| Arg::S(g.clone())).collect();
            any.push(in_list("v.grid_code", v, args));
        }
        for r in &self.regions {
            any.push(region_cond("v.", r, args));
        }
        Some(format!("({})", any.join(" OR ")))
    }
}

fn visit_where(f: &VisitFilter, args: &mut Vec<Arg>) -> String {
    let mut w = vec!["1=1".to_string()];
    if let Some(p) = f.region_prefix.as_deref().filter(|p| !p.is_empty()) {
        w.push(region_cond("v.", p, args));
    }
    if !f.grids.is_empty() {
        let v = f.grids.iter().map(|g| Arg::S(g.clone())).collect();
        w.push(in_list("v.grid_code", v, args));
    }
    if !f.kinds.is_empty() {
        let v = f.kinds.iter().map(|k| Arg::S(k.as_str().into())).collect();
        w.push(in_list("v.kind", v, args));
    }
    if let Some(d) = f.from {
        let a = push(args, Arg::S(d.to_string()));
        w.push(format!("v.visited_on >= {a}"));
    }
    if let Some(d) = f.to {
        let a = push(args, Arg::S(d.to_string()));
        w.push(format!("v.visited_on <= {a}"));
    }
    if let Some(u) = f.address_id {
        let a = push(args, Arg::U(u));
        w.push(format!("v.address_id = {a}"));
    }
    if let Some(u) = f.place_id {
        let a = push(args, Arg::U(u));
        w.push(format!("v.place_id = {a}"));
    }
    if let Some(u) = f.recorded_by {
        let a = push(args, Arg::U(u));
        w.push(format!("v.recorded_by = {a}"));
    }
    if let Some(c) = f.scope.cond("v.", args) {
        w.push(c);
    }
    if let Some(c) = f.care.cond(args) {
        w.push(c);
    }
    w.join(" AND ")
}

/// Known and visited addresses of one grid in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridCoverage {
    pub grid_code: String,
    pub known: i64,
    pub visited: i64,
}

/// What a worker did on one local day (the work log's figures).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayWork {
    pub day: String,
    pub reported: i64,
    pub verified: i64,
    pub inspections: i64,
    pub visits: i64,
    pub care_visits: i64,
    /// Patrols (巡防) the account logged, and their minutes.
    pub patrols: i64,
    pub patrol_minutes: i64,
}

fn stamped(entries: &[AuditEntry], at: DateTime<Utc>) -> Vec<(AuditEntry, i64, Option<String>)> {
    entries
        .iter()
        .map(|e| (e.clone(), to_ms(at), current_ip()))
        .collect()
}

fn address_conflict(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            if d.message().contains("addresses.id") || d.message().contains("pkey") {
                StoreError::Conflict("id: an address with this id already exists".into())
            } else {
                StoreError::Conflict(
                    "door: the grid already has this building, unit and door".into(),
                )
            }
        }
        _ => StoreError::Db(e),
    }
}

/// Milliseconds of a local midnight (Asia/Shanghai) as UTC.
fn local_midnight_ms(d: NaiveDate) -> i64 {
    let t = d.and_hms_opt(0, 0, 0).expect("midnight") - chrono::Duration::hours(8);
    t.and_utc().timestamp_millis()
}

impl Store {
    /// Stores new addresses and updates of existing ones (version-checked), with their audit
    /// entries, in one transaction: all or nothing.
    pub async fn save_addresses(
        &self,
        inserts: &[Address],
        updates: &[Address],
        audit: &[AuditEntry],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let entries = stamped(audit, now);
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for chunk in inserts.chunks(INSERT_BATCH) {
                let mut qb = sqlx::QueryBuilder::new(format!("INSERT INTO addresses ({ADDRESS_COLS}) "));
                qb.push_values(chunk, |mut b, a| {
                    b.push_bind(a.county_code.clone())
                        .push_bind(a.id)
                        .push_bind(a.grid_code.clone())
                        .push_bind(a.region_code.clone())
                        .push_bind(a.building.clone())
                        .push_bind(a.unit.clone())
                        .push_bind(a.door.clone())
                        .push_bind(a.place_id)
                        .push_bind(a.status.as_str())
                        .push_bind(a.created_by)
                        .push_bind(to_ms(a.created_at))
                        .push_bind(to_ms(a.updated_at))
                        .push_bind(a.version);
                });
                qb.build().persistent(chunk.len() == INSERT_BATCH).execute(&mut *tx).await.map_err(address_conflict)?;
            }
            for a in updates {
                let done = sqlx::query(
                    "UPDATE addresses SET grid_code = $3, region_code = $4, building = $5, unit = $6, door = $7,
                     place_id = $8, status = $9, updated_at = $10, version = version + 1
                     WHERE county_code = $1 AND id = $2 AND version = $11")
                    .bind(&a.county_code).bind(a.id).bind(&a.grid_code).bind(&a.region_code)
                    .bind(&a.building).bind(&a.unit).bind(&a.door).bind(a.place_id)
                    .bind(a.status.as_str()).bind(to_ms(a.updated_at)).bind(a.version)
                    .execute(&mut *tx).await.map_err(address_conflict)?;
                if done.rows_affected() == 0 {
                    let there: Option<(i64,)> = sqlx::query_as("SELECT version FROM addresses WHERE county_code = $1 AND id = $2")
                        .bind(&a.county_code).bind(a.id).fetch_optional(&mut *tx).await?;
                    return Err(match there {
                        Some(_) => StoreError::Conflict(format!(
                            "version: address {} was changed by someone else; reload it and edit again", a.id)),
                        None => StoreError::NotFound,
                    });
                }
            }
            if !entries.is_empty() {
                append_many!(tx, &entries)?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// One address by its id alone.
    pub async fn address_by_id(&self, id: Uuid) -> Result<Address> {
        let sql = format!("SELECT {ADDRESS_COLS} FROM addresses WHERE id = $1");
        let r: Option<AddressRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(id).fetch_optional(p).await)?;
        r.ok_or(StoreError::NotFound)?.try_into()
    }

    /// A page of addresses, ordered as a worker walks them: grid, building, unit, door.
    pub async fn list_addresses(&self, f: &AddressFilter) -> Result<Vec<Address>> {
        let mut args = vec![];
        let mut wh = address_where(f, &mut args);
        if let Some(after) = f.after {
            let a = push(&mut args, Arg::U(after));
            wh.push_str(&format!(
                " AND (a.grid_code, a.building, a.unit, a.door, a.id) > \
                 (SELECT grid_code, building, unit, door, id FROM addresses WHERE id = {a})"
            ));
        }
        let limit = if f.limit <= 0 {
            String::new()
        } else {
            format!(" LIMIT {}", f.limit.min(10_000))
        };
        let cols: Vec<String> = ADDRESS_COLS.split(", ").map(|c| format!("a.{c}")).collect();
        let sql = format!(
            "SELECT {} FROM addresses a WHERE {wh} ORDER BY a.grid_code, a.building, a.unit, a.door, a.id{limit}",
            cols.join(", ")
        );
        let rows: Vec<AddressRow> = with_pool!(self, p =>
            bind_args!(sqlx::query_as(AssertSqlSafe(sql.as_str())), &args).fetch_all(p).await)?;
        rows.into_iter().map(Address::try_from).collect()
    }

    pub async fn count_addresses(&self, f: &AddressFilter) -> Result<i64> {
        let mut args = vec![];
        let wh = address_where(f, &mut args);
        let sql = format!("SELECT COUNT(*) FROM addresses a WHERE {wh}");
        let (n,): (i64,) = with_pool!(self, p =>
            bind_args!(sqlx::query_as(AssertSqlSafe(sql.as_str())), &args).fetch_one(p).await)?;
        Ok(n)
    }

    /// Stores a visit with its audit entry. A taken id is a `Conflict` naming `id`.
    pub async fn insert_visit(
        &self,
        v: &Visit,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let entries = stamped(std::slice::from_ref(audit), now);
        let sql = format!(
            "INSERT INTO visits ({VISIT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        );
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(&v.county_code).bind(v.id).bind(&v.grid_code).bind(&v.region_code)
                .bind(v.address_id).bind(v.place_id).bind(v.visited_on.to_string())
                .bind(v.kind.as_str()).bind(&v.raised).bind(&v.contact_name).bind(&v.contact_phone)
                .bind(v.case_id).bind(v.recorded_by).bind(to_ms(v.recorded_at))
                .execute(&mut *tx).await.map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() =>
                        StoreError::Conflict("id: a visit with this id already exists".into()),
                    _ => StoreError::Db(e),
                })?;
            append_many!(tx, &entries)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Stores many visits at once with their audit entries, in one transaction (the demo's
    /// season; an import of visits recorded on paper would use it too).
    pub async fn insert_visits(
        &self,
        visits: &[Visit],
        audit: &[AuditEntry],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let entries = stamped(audit, now);
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for chunk in visits.chunks(INSERT_BATCH) {
                let mut qb = sqlx::QueryBuilder::new(format!("INSERT INTO visits ({VISIT_COLS}) "));
                qb.push_values(chunk, |mut b, v| {
                    b.push_bind(v.county_code.clone()).push_bind(v.id).push_bind(v.grid_code.clone())
                        .push_bind(v.region_code.clone()).push_bind(v.address_id).push_bind(v.place_id)
                        .push_bind(v.visited_on.to_string()).push_bind(v.kind.as_str())
                        .push_bind(v.raised.clone()).push_bind(v.contact_name.clone())
                        .push_bind(v.contact_phone.clone()).push_bind(v.case_id)
                        .push_bind(v.recorded_by).push_bind(to_ms(v.recorded_at));
                });
                qb.build().persistent(false).execute(&mut *tx).await?;
            }
            if !entries.is_empty() {
                append_many!(tx, &entries)?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// One visit by its id alone.
    pub async fn visit_by_id(&self, id: Uuid) -> Result<Visit> {
        let sql = format!("SELECT {VISIT_COLS} FROM visits WHERE id = $1");
        let r: Option<VisitRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(id).fetch_optional(p).await)?;
        r.ok_or(StoreError::NotFound)?.try_into()
    }

    /// The visit a case was turned from, if any.
    pub async fn visit_of_case(&self, case_id: Uuid) -> Result<Option<Visit>> {
        let sql = format!("SELECT {VISIT_COLS} FROM visits WHERE case_id = $1");
        let r: Option<VisitRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str()))
            .bind(case_id).fetch_optional(p).await)?;
        r.map(Visit::try_from).transpose()
    }

    /// A page of visits, newest first.
    pub async fn list_visits(&self, f: &VisitFilter) -> Result<Vec<Visit>> {
        let mut args = vec![];
        let mut wh = visit_where(f, &mut args);
        if let Some(b) = f.before {
            let a = push(&mut args, Arg::U(b));
            wh.push_str(&format!(" AND v.id < {a}"));
        }
        let limit = if f.limit <= 0 {
            String::new()
        } else {
            format!(" LIMIT {}", f.limit.min(10_000))
        };
        let cols: Vec<String> = VISIT_COLS.split(", ").map(|c| format!("v.{c}")).collect();
        let sql = format!(
            "SELECT {} FROM visits v WHERE {wh} ORDER BY v.id DESC{limit}",
            cols.join(", ")
        );
        let rows: Vec<VisitRow> = with_pool!(self, p =>
            bind_args!(sqlx::query_as(AssertSqlSafe(sql.as_str())), &args).fetch_all(p).await)?;
        rows.into_iter().map(Visit::try_from).collect()
    }

    pub async fn count_visits(&self, f: &VisitFilter) -> Result<i64> {
        let mut args = vec![];
        let wh = visit_where(f, &mut args);
        let sql = format!("SELECT COUNT(*) FROM visits v WHERE {wh}");
        let (n,): (i64,) = with_pool!(self, p =>
            bind_args!(sqlx::query_as(AssertSqlSafe(sql.as_str())), &args).fetch_one(p).await)?;
        Ok(n)
    }

    /// Blanks every stored contact of the visits to one address (a resident's request), with the
    /// audit entry in the same transaction. Returns how many visits held a contact.
    pub async fn erase_address_contacts(
        &self,
        county: &str,
        address_id: Uuid,
        audit: impl Fn(u64) -> AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let n = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query("UPDATE visits SET contact_name = NULL, contact_phone = NULL
                 WHERE county_code = $1 AND address_id = $2
                 AND (contact_name IS NOT NULL OR contact_phone IS NOT NULL)")
                .bind(county).bind(address_id).execute(&mut *tx).await?.rows_affected();
            let entries = stamped(&[audit(n)], now);
            append_many!(tx, &entries)?;
            tx.commit().await?;
            n
        });
        Ok(n)
    }

    /// Deletes care visits recorded before `before`, with the audit entry (saying how many) in
    /// the same transaction. Returns how many went.
    pub async fn purge_care_visits(
        &self,
        before: DateTime<Utc>,
        audit: impl Fn(u64) -> AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let n = with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = sqlx::query("DELETE FROM visits WHERE kind = 'care' AND recorded_at < $1")
                .bind(to_ms(before)).execute(&mut *tx).await?.rows_affected();
            if n > 0 {
                let entries = stamped(&[audit(n)], now);
                append_many!(tx, &entries)?;
            }
            tx.commit().await?;
            n
        });
        Ok(n)
    }

    /// Known (active) and visited addresses per grid in the scope, for visits dated between the
    /// two local dates (both included). Grids without addresses are absent.
    pub async fn coverage_by_grid(
        &self,
        region_prefix: Option<&str>,
        scope: &ScopeSql,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<GridCoverage>> {
        let mut args = vec![];
        let f = AddressFilter {
            region_prefix: region_prefix.map(String::from),
            statuses: vec![AddressStatus::Active],
            scope: scope.clone(),
            ..Default::default()
        };
        let wh = address_where(&f, &mut args);
        let lo = push(&mut args, Arg::S(from.to_string()));
        let hi = push(&mut args, Arg::S(to.to_string()));
        let sql = format!(
            "SELECT a.grid_code, COUNT(*),
                SUM(CASE WHEN EXISTS (SELECT 1 FROM visits v WHERE {REACHES}
                    AND v.visited_on BETWEEN {lo} AND {hi}) THEN 1 ELSE 0 END)
             FROM addresses a WHERE {wh} GROUP BY a.grid_code ORDER BY a.grid_code"
        );
        let rows: Vec<(String, i64, Option<i64>)> = with_pool!(self, p =>
            bind_args!(sqlx::query_as(AssertSqlSafe(sql.as_str())), &args).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(|(grid_code, known, visited)| GridCoverage {
                grid_code,
                known,
                visited: visited.unwrap_or(0),
            })
            .collect())
    }

    /// A worker's figures per local day between two dates (both included): cases reported and
    /// verified (their history), inspections submitted, visits recorded (care visits apart).
    pub async fn work_days(
        &self,
        user: Uuid,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayWork>> {
        use std::collections::BTreeMap;
        let lo = local_midnight_ms(from);
        let hi = local_midnight_ms(to.succ_opt().unwrap_or(to));
        let mut days: BTreeMap<String, DayWork> = BTreeMap::new();
        let day_of = |ms: i64| {
            (from_ms(ms) + chrono::Duration::hours(8))
                .date_naive()
                .to_string()
        };
        let events: Vec<(String, i64)> = with_pool!(self, p => sqlx::query_as(
            "SELECT action, at FROM case_events WHERE at >= $1 AND at < $2 AND actor_id = $3
             AND action IN ('report', 'verify')")
            .bind(lo).bind(hi).bind(user).fetch_all(p).await)?;
        for (action, at) in events {
            let d = days.entry(day_of(at)).or_default();
            if action == "report" {
                d.reported += 1;
            } else {
                d.verified += 1;
            }
        }
        let inspections: Vec<(i64,)> = with_pool!(self, p => sqlx::query_as(
            "SELECT submitted_at FROM inspections WHERE submitted_by = $1 AND submitted_at >= $2 AND submitted_at < $3")
            .bind(user).bind(lo).bind(hi).fetch_all(p).await)?;
        for (at,) in inspections {
            days.entry(day_of(at)).or_default().inspections += 1;
        }
        let visits: Vec<(String, String, i64)> = with_pool!(self, p => sqlx::query_as(
            "SELECT visited_on, kind, COUNT(*) FROM visits WHERE recorded_by = $1
             AND visited_on BETWEEN $2 AND $3 GROUP BY visited_on, kind")
            .bind(user).bind(from.to_string()).bind(to.to_string()).fetch_all(p).await)?;
        for (day, kind, n) in visits {
            let d = days.entry(day).or_default();
            d.visits += n;
            if kind == "care" {
                d.care_visits += n;
            }
        }
        let patrols: Vec<(i64, i64)> = with_pool!(self, p => sqlx::query_as(
            "SELECT started_at, minutes FROM patrol_logs WHERE submitted_by = $1 AND started_at >= $2 AND started_at < $3")
            .bind(user).bind(lo).bind(hi).fetch_all(p).await)?;
        for (at, minutes) in patrols {
            let d = days.entry(day_of(at)).or_default();
            d.patrols += 1;
            d.patrol_minutes += minutes;
        }
        Ok(days
            .into_iter()
            .map(|(day, mut w)| {
                w.day = day;
                w
            })
            .collect())
    }
}
