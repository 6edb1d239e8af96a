//! Cases and their history. Every write of a case goes with its history entry and its KPI
//! counter delta in one transaction, and updates compare-and-swap on the case's version so that
//! two dispatchers cannot both dispatch one case.

use crate::audit::{AuditEntry, append_audit};
use crate::batch::{GroupTx, Statements};
use crate::disputes::{SideWrite, Val, bind_vals};
use crate::time::{from_ms, opt_from_ms, opt_to_ms, to_ms};
use crate::{Result, Store, StoreError, unique_to_conflict, with_pool};
use chrono::{DateTime, FixedOffset, Utc};
use safegrid_domain::codes::{CaseNumber, GridCode, PersonName, Phone, RegionCode};
use safegrid_domain::engine::{Applied, Case, Event};
use safegrid_domain::kpi::Counters;
use serde::{Serialize, de::DeserializeOwned};
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

pub(crate) fn enum_str<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

pub(crate) fn str_enum<T: DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| StoreError::Corrupt(format!("{what} {s}")))
}

pub(crate) const CASE_COLS: &str = "county_code, id, number, tracking_code, case_type, category, status, urgency, channel, description, \
address, lat, lon, grid_code, region_code, needs_grid, needs_location, department, reporter_name, reporter_phone, reporter_user, \
created_by, created_at, updated_at, registered_at, dispatched_at, handled_at, verified_at, closed_at, due_at, stage, stage_limit, \
stage_started_at, stage_due_at, stage_yellow_at, light, suspended_from, suspended_remaining, supervision, expedited, duplicate_of, \
rating, rework_count, return_count, extension_count, pending_extension, ever_overdue, version, reporter_anonymous";

const CASE_COL_COUNT: usize = 49;

/// Columns of `tracking_codes`, the codes' own table (see migration 10).
const TRACKING_COLS: &str = "code, county_code, case_id";

#[derive(sqlx::FromRow)]
pub(crate) struct CaseRow {
    county_code: String,
    id: Uuid,
    number: String,
    tracking_code: String,
    case_type: String,
    category: String,
    status: String,
    urgency: String,
    channel: String,
    description: String,
    address: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    grid_code: Option<String>,
    region_code: String,
    needs_grid: bool,
    needs_location: bool,
    department: Option<String>,
    reporter_name: Option<String>,
    reporter_phone: Option<String>,
    reporter_user: Option<Uuid>,
    reporter_anonymous: bool,
    created_by: Option<Uuid>,
    created_at: i64,
    updated_at: i64,
    registered_at: Option<i64>,
    dispatched_at: Option<i64>,
    handled_at: Option<i64>,
    verified_at: Option<i64>,
    closed_at: Option<i64>,
    due_at: Option<i64>,
    stage: Option<String>,
    stage_limit: Option<String>,
    stage_started_at: Option<i64>,
    stage_due_at: Option<i64>,
    stage_yellow_at: Option<i64>,
    light: String,
    suspended_from: Option<String>,
    suspended_remaining: Option<i64>,
    supervision: Option<String>,
    expedited: bool,
    duplicate_of: Option<Uuid>,
    rating: Option<i16>,
    rework_count: i32,
    return_count: i32,
    extension_count: i32,
    pending_extension: Option<String>,
    ever_overdue: bool,
    version: i64,
}

impl TryFrom<CaseRow> for Case {
    type Error = StoreError;
    fn try_from(r: CaseRow) -> Result<Case> {
        Ok(Case {
            urgency: str_enum(&r.urgency, "urgency")?,
            stage: r
                .stage
                .as_deref()
                .map(|s| str_enum(s, "stage"))
                .transpose()?,
            light: str_enum(&r.light, "light")?,
            id: r.id,
            county_code: r.county_code,
            number: Some(
                CaseNumber::parse(&r.number)
                    .map_err(|e| StoreError::Corrupt(format!("case {}: number {e}", r.id)))?,
            ),
            tracking_code: r.tracking_code,
            case_type: r.case_type,
            category: r.category,
            status: r.status,
            channel: r.channel,
            description: r.description,
            address: r.address,
            lat: r.lat,
            lon: r.lon,
            grid_code: r
                .grid_code
                .as_deref()
                .map(|g| {
                    GridCode::parse(g)
                        .map_err(|e| StoreError::Corrupt(format!("case {}: grid_code {e}", r.id)))
                })
                .transpose()?,
            region_code: RegionCode::parse(&r.region_code)
                .map_err(|e| StoreError::Corrupt(format!("case {}: region_code {e}", r.id)))?,
            needs_grid: r.needs_grid,
            needs_location: r.needs_location,
            department: r.department,
            reporter_name: r.reporter_name.as_deref().map(PersonName::from_stored),
            reporter_phone: r.reporter_phone.as_deref().map(Phone::from_stored),
            reporter_user: r.reporter_user,
            reporter_anonymous: r.reporter_anonymous,
            created_by: r.created_by,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
            registered_at: opt_from_ms(r.registered_at),
            dispatched_at: opt_from_ms(r.dispatched_at),
            handled_at: opt_from_ms(r.handled_at),
            verified_at: opt_from_ms(r.verified_at),
            closed_at: opt_from_ms(r.closed_at),
            due_at: opt_from_ms(r.due_at),
            stage_limit: r.stage_limit,
            stage_started_at: opt_from_ms(r.stage_started_at),
            stage_due_at: opt_from_ms(r.stage_due_at),
            stage_yellow_at: opt_from_ms(r.stage_yellow_at),
            suspended_from: r.suspended_from,
            suspended_remaining: r.suspended_remaining,
            supervision: r.supervision,
            expedited: r.expedited,
            duplicate_of: r.duplicate_of,
            rating: r.rating,
            rework_count: r.rework_count,
            return_count: r.return_count,
            extension_count: r.extension_count,
            pending_extension: r.pending_extension,
            ever_overdue: r.ever_overdue,
            version: r.version,
        })
    }
}

/// Binds every column of a case, in `CASE_COLS` order, to a query or a query builder's row.
macro_rules! bind_case {
    ($q:expr, $c:expr) => {{
        let c = $c;
        $q.bind(c.county_code.clone())
            .bind(c.id)
            .bind(c.number_text())
            .bind(c.tracking_code.clone())
            .bind(c.case_type.clone())
            .bind(c.category.clone())
            .bind(c.status.clone())
            .bind(enum_str(&c.urgency))
            .bind(c.channel.clone())
            .bind(c.description.clone())
            .bind(c.address.clone())
            .bind(c.lat)
            .bind(c.lon)
            .bind(c.grid_code.map(|g| g.as_str().to_string()))
            .bind(c.region_code.as_str().to_string())
            .bind(c.needs_grid)
            .bind(c.needs_location)
            .bind(c.department.clone())
            .bind(c.reporter_name.as_ref().map(|n| n.as_str().to_string()))
            .bind(c.reporter_phone.as_ref().map(|p| p.as_str().to_string()))
            .bind(c.reporter_user)
            .bind(c.created_by)
            .bind(to_ms(c.created_at))
            .bind(to_ms(c.updated_at))
            .bind(opt_to_ms(c.registered_at))
            .bind(opt_to_ms(c.dispatched_at))
            .bind(opt_to_ms(c.handled_at))
            .bind(opt_to_ms(c.verified_at))
            .bind(opt_to_ms(c.closed_at))
            .bind(opt_to_ms(c.due_at))
            .bind(c.stage.as_ref().map(enum_str))
            .bind(c.stage_limit.clone())
            .bind(opt_to_ms(c.stage_started_at))
            .bind(opt_to_ms(c.stage_due_at))
            .bind(opt_to_ms(c.stage_yellow_at))
            .bind(enum_str(&c.light))
            .bind(c.suspended_from.clone())
            .bind(c.suspended_remaining)
            .bind(c.supervision.clone())
            .bind(c.expedited)
            .bind(c.duplicate_of)
            .bind(c.rating)
            .bind(c.rework_count)
            .bind(c.return_count)
            .bind(c.extension_count)
            .bind(c.pending_extension.clone())
            .bind(c.ever_overdue)
            .bind(c.version)
            .bind(c.reporter_anonymous)
    }};
}

macro_rules! bind_event {
    ($q:expr, $c:expr, $seq:expr, $e:expr) => {{
        let (c, e) = ($c, $e);
        $q.bind(c.county_code.clone())
            .bind(c.id)
            .bind($seq)
            .bind(e.action.clone())
            .bind(e.from_status.clone())
            .bind(e.to_status.clone())
            .bind(e.actor_id)
            .bind(e.actor_name.clone())
            .bind(e.actor_role.as_str())
            .bind(to_ms(e.at))
            .bind(e.note.clone())
            .bind(e.data.to_string())
    }};
}

pub(crate) const EVENT_COLS: &str = "county_code, case_id, seq, action, from_status, to_status, actor_id, actor_name, actor_role, at, note, data";

fn placeholders(n: usize, start: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A history entry as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventRow {
    pub seq: i32,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub actor_role: String,
    pub at: i64,
    pub note: Option<String>,
    pub data: String,
}

/// Filters of the case list; every field optional.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub statuses: Vec<String>,
    pub case_type: Option<String>,
    pub category: Option<String>,
    /// Significant prefix of a region code (2/4/6/9/12 digits): the region's subtree.
    pub region_prefix: Option<String>,
    pub grid: Option<String>,
    pub department: Option<String>,
    /// green | yellow | red, evaluated at `now`.
    pub light: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub updated_after: Option<DateTime<Utc>>,
    pub text: Option<String>,
    pub open_only: bool,
    pub ids: Vec<Uuid>,
    /// Territory of the caller: region prefixes (any), grids (any), department.
    pub scope_regions: Vec<String>,
    pub scope_grids: Vec<String>,
    pub scope_department: Option<String>,
    /// Cases reported by this account (residents see their own reports).
    pub scope_reporter: Option<Uuid>,
    /// Cases filed by this account (grid workers see what they filed, wherever it landed).
    pub scope_creator: Option<Uuid>,
    /// The viewer's scope is empty: match nothing.
    pub scope_nothing: bool,
    pub now: Option<DateTime<Utc>>,
    pub order: SortOrder,
    pub limit: i64,
    pub offset: i64,
    /// Keyset paging (exports): only cases after this one (its `created_at`, `id`) in the
    /// order — `NewestFirst` or `OldestFirst` only — so page k costs what page 1 costs, where an
    /// offset re-reads every row before it.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    /// Do not count the matches (`total` is then 0): later pages of an export, whose first page
    /// counted.
    pub skip_total: bool,
    /// Stop counting the total here (lists on screen: "10,000+" is as good as the exact figure,
    /// and counting a province's million closed cases is not); `None` counts exactly (exports).
    pub count_limit: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    #[default]
    NewestFirst,
    OldestFirst,
    DueFirst,
    UpdatedFirst,
}

/// One page of cases and the total matching count.
#[derive(Debug, Clone)]
pub struct CasePage {
    pub cases: Vec<Case>,
    /// The matching count, or the filter's `count_limit` when there are more.
    pub total: i64,
    /// More than `total` match (the count stopped at the filter's `count_limit`).
    pub total_capped: bool,
}

enum Arg {
    S(String),
    I(i64),
    U(Uuid),
}

/// The subtree of region `prefix` as a range on the 12-digit code, its bounds bound as `a`, `b`
/// (a range uses the index, unlike LIKE on PostgreSQL's default collation).
///
/// A province's or a city's subtree holds most cases: walking an index in the list's order
/// (`status, created_at` or `created_at`) and skipping the few rows outside it fills a page at
/// once, while the range index hands the sort every match (2.7 s for "closed, newest first" over
/// a province's 1,000,000 cases on SQLite, whose planner cannot tell how much a range holds).
/// `|| ''` keeps the condition and takes the range index out of the choice; a county and below
/// keep it, being a small part of the territory.
///
/// PostgreSQL (`planner_estimates`) gets the plain range: its statistics tell it how much a
/// range holds, while `region_code || ''` is an expression it has none for, which it guesses
/// holds 0.5 % of the rows. With a city-wide account's scope in every list that guess made it
/// fetch a department's every case to sort the few open ones (23 ms against 1 ms at 300,000
/// cases in one city) and a county's open cases the same way (46 ms against 0.45 ms).
fn region_range(prefix: &str, a: &str, b: &str, planner_estimates: bool) -> String {
    let column = if prefix.len() <= 4 && !planner_estimates {
        "region_code || ''"
    } else {
        "region_code"
    };
    format!("{column} BETWEEN {a} AND {b}")
}

/// `planner_estimates`: the backend estimates a range on `region_code` (PostgreSQL), see
/// [`region_range`].
/// How an "open only" filter names the statuses it keeps.
#[derive(Clone, Copy)]
enum OpenAs<'a> {
    /// `status NOT IN (terminal)`.
    NotTerminal(&'a [String]),
    /// `status IN (open)`: PostgreSQL's counts (see `list_cases`).
    Open(&'a [String]),
}

fn build_where(f: &CaseFilter, open_as: OpenAs<'_>, planner_estimates: bool) -> (String, Vec<Arg>) {
    let mut w = vec!["1=1".to_string()];
    let mut args: Vec<Arg> = vec![];
    let push = |args: &mut Vec<Arg>, a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    if !f.statuses.is_empty() {
        let ps: Vec<String> = f
            .statuses
            .iter()
            .map(|s| push(&mut args, Arg::S(s.clone())))
            .collect();
        w.push(format!("status IN ({})", ps.join(", ")));
    }
    let (states, keep) = match open_as {
        OpenAs::NotTerminal(t) => (t, "NOT IN"),
        OpenAs::Open(o) => (o, "IN"),
    };
    if f.open_only && !states.is_empty() {
        let ps: Vec<String> = states
            .iter()
            .map(|s| push(&mut args, Arg::S(s.clone())))
            .collect();
        w.push(format!("status {keep} ({})", ps.join(", ")));
    }
    if !f.ids.is_empty() {
        let ps: Vec<String> = f.ids.iter().map(|s| push(&mut args, Arg::U(*s))).collect();
        w.push(format!("id IN ({})", ps.join(", ")));
    }
    if let Some(v) = &f.case_type {
        w.push(format!(
            "case_type = {}",
            push(&mut args, Arg::S(v.clone()))
        ));
    }
    if let Some(v) = &f.category {
        w.push(format!("category = {}", push(&mut args, Arg::S(v.clone()))));
    }
    if let Some(v) = &f.region_prefix {
        let lo = format!("{v:0<12}");
        let hi = format!("{v:9<12}");
        let a = push(&mut args, Arg::S(lo));
        let b = push(&mut args, Arg::S(hi));
        w.push(region_range(v, &a, &b, planner_estimates));
    }
    if let Some(v) = &f.grid {
        w.push(format!(
            "grid_code = {}",
            push(&mut args, Arg::S(v.clone()))
        ));
    }
    if let Some(v) = &f.department {
        w.push(format!(
            "department = {}",
            push(&mut args, Arg::S(v.clone()))
        ));
    }
    let now = to_ms(f.now.unwrap_or_else(Utc::now));
    match f.light.as_deref() {
        Some("red") => w.push(format!("stage_due_at < {}", push(&mut args, Arg::I(now)))),
        Some("yellow") => {
            let a = push(&mut args, Arg::I(now));
            w.push(format!("stage_yellow_at <= {a} AND stage_due_at >= {a}"));
        }
        Some("green") => {
            let a = push(&mut args, Arg::I(now));
            w.push(format!(
                "(stage_yellow_at IS NULL OR stage_yellow_at > {a})"
            ));
        }
        _ => {}
    }
    if let Some(v) = f.created_from {
        w.push(format!(
            "created_at >= {}",
            push(&mut args, Arg::I(to_ms(v)))
        ));
    }
    if let Some(v) = f.created_to {
        w.push(format!(
            "created_at <= {}",
            push(&mut args, Arg::I(to_ms(v)))
        ));
    }
    if let Some(v) = f.updated_after {
        w.push(format!(
            "updated_at > {}",
            push(&mut args, Arg::I(to_ms(v)))
        ));
    }
    if let Some(t) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // Escape LIKE wildcards so that the user's text is matched literally.
        let esc = t
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let a = push(&mut args, Arg::S(format!("%{esc}%")));
        w.push(format!(
            "(description LIKE {a} ESCAPE '\\' OR number LIKE {a} ESCAPE '\\' OR address LIKE {a} ESCAPE '\\')"
        ));
    }
    if let Some((at, id)) = f.after {
        // A row-value comparison walks the (…, created_at, id) order of an index on both backends.
        let cmp = if f.order == SortOrder::OldestFirst {
            ">"
        } else {
            "<"
        };
        let a = push(&mut args, Arg::I(to_ms(at)));
        let b = push(&mut args, Arg::U(id));
        w.push(format!("(created_at, id) {cmp} ({a}, {b})"));
    }
    let mut scope = vec![];
    for r in &f.scope_regions {
        let a = push(&mut args, Arg::S(format!("{r:0<12}")));
        let b = push(&mut args, Arg::S(format!("{r:9<12}")));
        scope.push(region_range(r, &a, &b, planner_estimates));
    }
    if !f.scope_grids.is_empty() {
        let ps: Vec<String> = f
            .scope_grids
            .iter()
            .map(|s| push(&mut args, Arg::S(s.clone())))
            .collect();
        scope.push(format!("grid_code IN ({})", ps.join(", ")));
    }
    if let Some(d) = &f.scope_department {
        scope.push(format!(
            "department = {}",
            push(&mut args, Arg::S(d.clone()))
        ));
    }
    if let Some(u) = f.scope_reporter {
        scope.push(format!("reporter_user = {}", push(&mut args, Arg::U(u))));
    }
    if let Some(u) = f.scope_creator {
        scope.push(format!("created_by = {}", push(&mut args, Arg::U(u))));
    }
    if f.scope_nothing {
        scope.clear();
        scope.push("1 = 0".into());
    }
    if !scope.is_empty() {
        w.push(format!("({})", scope.join(" OR ")));
    }
    (w.join(" AND "), args)
}

macro_rules! bind_args {
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

/// The county-local date of an instant, for case numbers (Asia/Shanghai).
fn local_date(t: DateTime<Utc>) -> chrono::NaiveDate {
    let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    t.with_timezone(&cst).date_naive()
}

/// The audit entry of a case transition (its note stays in the case history: notes may hold personal data).
fn case_audit(c: &Case, e: &Event, action: &str) -> AuditEntry {
    AuditEntry::new(
        e.actor_id,
        e.actor_name.clone(),
        format!("case.{action}"),
        "case",
        Some(c.number_text()),
        serde_json::json!({ "id": c.id, "from": e.from_status, "to": e.to_status, "version": c.version }),
    )
}

impl Store {
    /// Inserts a new case with its first history entry and counters, allocating its number
    /// (county + day + sequence) inside the same transaction. Returns the stored case.
    pub async fn insert_case(&self, applied: &Applied, nodes: &[String]) -> Result<Case> {
        self.insert_case_with(applied, nodes, &[]).await
    }

    /// [`Store::insert_case`] plus the case type's own records, in the same transaction.
    pub async fn insert_case_with(
        &self,
        applied: &Applied,
        nodes: &[String],
        extra: &[SideWrite],
    ) -> Result<Case> {
        let item = NewCaseWrite {
            applied,
            nodes,
            extra,
            ip: crate::audit::current_ip(),
        };
        let mut v = self.insert_cases(std::slice::from_ref(&item)).await?;
        v.pop().ok_or(StoreError::NotFound)
    }

    /// Stores the result of an action if the case is still at `expected_version`; otherwise
    /// `Conflict`. History and counters go in the same transaction.
    pub async fn update_case(
        &self,
        expected_version: i64,
        applied: &Applied,
        nodes: &[String],
    ) -> Result<Case> {
        self.update_case_with(expected_version, applied, nodes, &[])
            .await
    }

    /// [`Store::update_case`] plus the writes the action implies for the case type's own
    /// records (a session, an agreement…), in the same transaction.
    pub async fn update_case_with(
        &self,
        expected_version: i64,
        applied: &Applied,
        nodes: &[String],
        extra: &[SideWrite],
    ) -> Result<Case> {
        let c = &applied.case;
        let sets: Vec<String> = CASE_COLS
            .split(", ")
            .enumerate()
            .skip(2)
            .map(|(i, col)| format!("{col} = ${}", i + 1))
            .collect();
        let update = format!(
            "UPDATE cases SET {} WHERE county_code = $1 AND id = $2 AND version = ${}",
            sets.join(", "),
            CASE_COL_COUNT + 1
        );
        let ins_ev = format!(
            "INSERT INTO case_events ({EVENT_COLS}) SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, {} FROM case_events WHERE county_code = $1 AND case_id = $2",
            placeholders(9, 3)
        );
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let n = bind_case!(sqlx::query(AssertSqlSafe(update.as_str())), c).bind(expected_version).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict(format!(
                    "case {} was changed by someone else (expected version {expected_version}); reload and try again",
                    c.number_text()
                )));
            }
            let e = &applied.event;
            sqlx::query(AssertSqlSafe(ins_ev.as_str()))
                .bind(&c.county_code).bind(c.id)
                .bind(&e.action).bind(&e.from_status).bind(&e.to_status).bind(e.actor_id)
                .bind(&e.actor_name).bind(e.actor_role.as_str()).bind(to_ms(e.at)).bind(&e.note).bind(e.data.to_string())
                .execute(&mut *tx).await?;
            crate::kpi::add_counters(&mut tx, c, nodes, &applied.counters).await?;
            for w in extra {
                bind_vals!(sqlx::query(AssertSqlSafe(w.sql)), &w.args).execute(&mut *tx).await
                    .map_err(|e| unique_to_conflict(e, "record"))?;
            }
            append_audit!(tx, &case_audit(c, e, &e.action), to_ms(e.at))?;
            tx.commit().await?;
        });
        Ok(c.clone())
    }

    pub async fn case(&self, id: Uuid) -> Result<Case> {
        let sql = format!("SELECT {CASE_COLS} FROM cases WHERE id = $1");
        let r: Option<CaseRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)?;
        r.ok_or(StoreError::NotFound)?.try_into()
    }

    pub async fn case_by_number(&self, number: &str) -> Result<Case> {
        let sql = format!("SELECT {CASE_COLS} FROM cases WHERE number = $1");
        let r: Option<CaseRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(number).fetch_optional(p).await)?;
        r.ok_or(StoreError::NotFound)?.try_into()
    }

    /// The case a tracking code (查询码) belongs to: the code's own table names the county and
    /// the case, so the case is read by its key (one shard's row where cases are distributed by
    /// county).
    pub async fn case_by_tracking_code(&self, code: &str) -> Result<Case> {
        let sql = format!(
            "SELECT {CASE_COLS} FROM cases WHERE (county_code, id) IN (SELECT county_code, case_id FROM tracking_codes WHERE code = $1)"
        );
        let r: Option<CaseRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(code).fetch_optional(p).await)?;
        r.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Whether a case already holds this tracking code: intake asks after a conflict, to tell a
    /// drawn code that was taken (draw another) from any other conflict.
    pub async fn tracking_code_taken(&self, code: &str) -> Result<bool> {
        let n: Option<(String,)> = with_pool!(self, p => sqlx::query_as("SELECT code FROM tracking_codes WHERE code = $1")
            .bind(code).fetch_optional(p).await)?;
        Ok(n.is_some())
    }

    /// History of a case, oldest first.
    pub async fn events(&self, case: &Case) -> Result<Vec<EventRow>> {
        let v: Vec<EventRow> = with_pool!(self, p => sqlx::query_as(
            "SELECT seq, action, from_status, to_status, actor_id, actor_name, actor_role, at, note, data
             FROM case_events WHERE county_code = $1 AND case_id = $2 ORDER BY seq")
            .bind(&case.county_code).bind(case.id).fetch_all(p).await)?;
        Ok(v)
    }

    /// A filtered, paged list. `terminal` lists the terminal states (for `open_only`).
    pub async fn list_cases(&self, f: &CaseFilter, terminal: &[String]) -> Result<CasePage> {
        let pg = matches!(self, Store::Postgres(_));
        if f.after.is_some() && !matches!(f.order, SortOrder::NewestFirst | SortOrder::OldestFirst)
        {
            return Err(StoreError::Invalid(safegrid_domain::FieldError::new(
                "after",
                "keyset paging follows the creation order only",
            )));
        }
        let (wh, args) = build_where(f, OpenAs::NotTerminal(terminal), pg);
        let order = match f.order {
            SortOrder::NewestFirst => "created_at DESC, id DESC",
            SortOrder::OldestFirst => "created_at ASC, id ASC",
            // Spelled so that PostgreSQL can walk `cases_department_due` in this order (an
            // `IS NULL` key first could not); the same order on SQLite.
            SortOrder::DueFirst => "stage_due_at ASC NULLS LAST, id ASC",
            SortOrder::UpdatedFirst => "updated_at DESC, id DESC",
        };
        let sql = format!(
            "SELECT {CASE_COLS} FROM cases WHERE {wh} ORDER BY {order} LIMIT {} OFFSET {}",
            f.limit.clamp(0, 10_000),
            f.offset.max(0)
        );
        // PostgreSQL counts open cases by naming the open statuses: its indexes led by status
        // (or by department, then status) then read open entries only, where `NOT IN` walked
        // every closed case of the county or department too — at 10,000,000 cases 44,767 index
        // entries to count a department's 329 open ones, 188 → 31 ms cold (docs/performance.md,
        // eleventh round). The page itself keeps `NOT IN`, which lets it walk an index in the
        // requested order and stop after a page (with `IN` PostgreSQL fetched and sorted every
        // open row: 0.3 → 48 ms). SQLite keeps `NOT IN` for both: given `IN` it chose the
        // status-led index for a department's queue and read every open case of the province.
        let open = (pg && f.open_only && terminal == safegrid_domain::workflow::terminal_states())
            .then(safegrid_domain::workflow::open_states);
        let open_where = open.as_ref().map(|o| build_where(f, OpenAs::Open(o), pg));
        let (count_wh, count_args) = match &open_where {
            Some((w, a)) => (w, a),
            None => (&wh, &args),
        };
        let count_sql = match f.count_limit {
            Some(n) => format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM cases WHERE {count_wh} LIMIT {}) AS capped",
                n.max(0) + 1
            ),
            None => format!("SELECT COUNT(*) FROM cases WHERE {count_wh}"),
        };
        let (rows, total): (Vec<CaseRow>, i64) = with_pool!(self, p => {
            let rows: Vec<CaseRow> = bind_args!(sqlx::query_as(AssertSqlSafe(sql.as_str())), &args).fetch_all(p).await?;
            let total = if f.skip_total {
                0
            } else {
                let (total,): (i64,) = bind_args!(sqlx::query_as(AssertSqlSafe(count_sql.as_str())), count_args).fetch_one(p).await?;
                total
            };
            (rows, total)
        });
        let cases = rows
            .into_iter()
            .map(Case::try_from)
            .collect::<Result<Vec<_>>>()?;
        let total_capped = f.count_limit.is_some_and(|n| total > n);
        let total = if total_capped {
            f.count_limit.unwrap_or(total)
        } else {
            total
        };
        Ok(CasePage {
            cases,
            total,
            total_capped,
        })
    }

    /// Open cases whose yellow or red mark is due at `now` and not yet recorded.
    pub async fn cases_to_watch(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Case>> {
        let sql = format!(
            "SELECT {CASE_COLS} FROM cases WHERE stage_yellow_at <= $1 AND
             ((light = 'green') OR (light = 'yellow' AND stage_due_at < $1)) ORDER BY stage_yellow_at LIMIT $2"
        );
        let rows: Vec<CaseRow> = with_pool!(self, p => sqlx::query_as(AssertSqlSafe(sql.as_str())).bind(to_ms(now)).bind(limit).fetch_all(p).await)?;
        rows.into_iter().map(Case::try_from).collect()
    }

    pub async fn case_count(&self) -> Result<i64> {
        let (n,): (i64,) =
            with_pool!(self, p => sqlx::query_as("SELECT COUNT(*) FROM cases").fetch_one(p).await)?;
        Ok(n)
    }

    /// Bulk load of already-numbered cases with their full histories and pre-aggregated counters
    /// (the demo city and imports): one transaction, multi-row inserts.
    pub async fn bulk_insert(
        &self,
        cases: &[(Case, Vec<Event>)],
        counters: &[(String, String, i32, Counters)],
        seqs: &[(String, String, i64)],
    ) -> Result<()> {
        let case_batch = 400usize;
        let event_batch = 2000usize;
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            for chunk in cases.chunks(case_batch) {
                let mut qb = sqlx::QueryBuilder::new(format!("INSERT INTO cases ({CASE_COLS}) "));
                qb.push_values(chunk, |b, (c, _)| {
                    let mut b = b;
                    bind_case!(push_bind_adapter(&mut b), c);
                });
                // Only the full chunks' text recurs (see `batch::PREPARED_SQL_MAX`).
                qb.build().persistent(chunk.len() == case_batch).execute(&mut *tx).await?;
                let mut qb = sqlx::QueryBuilder::new(format!("INSERT INTO tracking_codes ({TRACKING_COLS}) "));
                qb.push_values(chunk, |mut b, (c, _)| {
                    b.push_bind(c.tracking_code.clone()).push_bind(c.county_code.clone()).push_bind(c.id);
                });
                qb.build().persistent(chunk.len() == case_batch).execute(&mut *tx).await
                    .map_err(|e| unique_to_conflict(e, "one of the tracking codes"))?;
            }
            let events: Vec<(&Case, i32, &Event)> = cases
                .iter()
                .flat_map(|(c, evs)| evs.iter().enumerate().map(move |(i, e)| (c, i as i32 + 1, e)))
                .collect();
            for chunk in events.chunks(event_batch) {
                let mut qb = sqlx::QueryBuilder::new(format!("INSERT INTO case_events ({EVENT_COLS}) "));
                qb.push_values(chunk, |b, (c, seq, e)| {
                    let mut b = b;
                    bind_event!(push_bind_adapter(&mut b), *c, *seq, *e);
                });
                qb.build().persistent(chunk.len() == event_batch).execute(&mut *tx).await?;
            }
            let mut stmts = Statements::for_tx(&tx);
            crate::kpi::push_counters(&mut stmts, crate::kpi::SETTLED, counters);
            stmts.run(&mut tx).await?;
            for (county, day, last) in seqs {
                sqlx::query("INSERT INTO case_number_seq (county_code, day, last_seq) VALUES ($1, $2, $3)
                    ON CONFLICT (county_code, day) DO UPDATE SET last_seq = excluded.last_seq")
                    .bind(county).bind(day).bind(*last).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

/// Stores new cases for one writer, keeping its connection from batch to batch (see
/// [`GroupTx`]: a pooled connection taken per batch cost two more hand-offs to SQLite's
/// connection thread). The intake writer holds one over its dedicated store;
/// [`Store::insert_cases`] makes one per call.
pub struct CaseWriter {
    held: Held,
}

/// A pool and, between batches, the connection taken from it.
enum Held {
    Sqlite(sqlx::SqlitePool, Option<PoolConnection<sqlx::Sqlite>>),
    Postgres(sqlx::PgPool, Option<PoolConnection<sqlx::Postgres>>),
}

/// [`with_pool!`] for a [`Held`] pool and its connection slot.
macro_rules! with_held {
    ($held:expr, $pool:ident, $slot:ident => $body:expr) => {
        match $held {
            Held::Sqlite($pool, $slot) => $body,
            Held::Postgres($pool, $slot) => $body,
        }
    };
}

impl Store {
    /// A writer of new cases that keeps one connection of this store for as long as it lives:
    /// for a store of its own ([`Store::dedicated_writer`]), not for a shared pool.
    pub fn case_writer(&self) -> CaseWriter {
        CaseWriter {
            held: match self {
                Store::Sqlite(p) => Held::Sqlite(p.clone(), None),
                Store::Postgres(p) => Held::Postgres(p.clone(), None),
            },
        }
    }

    /// Inserts several new cases in one transaction (group commit, 批量提交): numbers are
    /// allocated per county and day with one statement per group, cases, first events, merged
    /// counter rows and the audit entries go in as multi-row statements. All or nothing: when
    /// it fails, callers retry the cases one by one to find the one at fault.
    pub async fn insert_cases(&self, items: &[NewCaseWrite<'_>]) -> Result<Vec<Case>> {
        self.case_writer().insert_cases(items).await
    }
}

impl CaseWriter {
    /// [`Store::insert_cases`] on this writer's connection.
    pub async fn insert_cases(&mut self, items: &[NewCaseWrite<'_>]) -> Result<Vec<Case>> {
        if items.is_empty() {
            return Ok(vec![]);
        }
        let mut cases: Vec<Case> = items.iter().map(|i| i.applied.case.clone()).collect();
        // Case numbers: how many each (county, local day) needs, in arrival order.
        let mut groups: Vec<((String, chrono::NaiveDate), Vec<usize>)> = vec![];
        for (i, c) in cases.iter().enumerate() {
            let key = (c.county_code.clone(), local_date(c.created_at));
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        // Counters: push_counters merges the rows that land on the same stored row.
        let counters: Vec<(String, String, i32, Counters)> = items
            .iter()
            .filter(|it| !it.applied.counters.is_zero())
            .flat_map(|it| {
                let c = &it.applied.case;
                let day = crate::kpi::case_day(c.created_at);
                it.nodes
                    .iter()
                    .map(move |n| (c.county_code.clone(), n.clone(), day, it.applied.counters))
            })
            .collect();
        let entries_n = items.len() as i64;
        let has_extra = items.iter().any(|it| !it.extra.is_empty());
        with_held!(&mut self.held, p, slot => {
            let mut tx = GroupTx::begin(p, slot).await?;
            let stored: Result<()> = async {
                // Numbers for every (county, day) of the batch, and the audit chain's head moved on
                // by the batch's entries: the two reads the rest depends on, sent together (with
                // SQLite's BEGIN).
                let mut head = tx.statements();
                let qb = head.next("INSERT INTO case_number_seq (county_code, day, last_seq) ", "case numbers");
                qb.push_values(&groups, |mut b, ((county, day), idx)| {
                    b.push_bind(county.clone()).push_bind(day.format("%Y%m%d").to_string()).push_bind(idx.len() as i64);
                });
                qb.push(" ON CONFLICT (county_code, day) DO UPDATE SET last_seq = case_number_seq.last_seq + excluded.last_seq RETURNING county_code, day, last_seq");
                // '' marks the head's row: no county has an empty code.
                head.next("UPDATE audit_head SET seq = seq + ", "audit head")
                    .push_bind(entries_n)
                    .push(" WHERE id = 1 RETURNING '', hash, seq");
                let returned: Vec<(String, String, i64)> = head
                    .run(tx.conn()?)
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                    .collect::<Result<_, sqlx::Error>>()?;
                let (audit_last, audit_prev) = returned
                    .iter()
                    .find(|r| r.0.is_empty())
                    .map(|r| (r.2, r.1.clone()))
                    .ok_or(StoreError::Db(sqlx::Error::RowNotFound))?;
                for ((county, day), idx) in &groups {
                    let key = day.format("%Y%m%d").to_string();
                    let last = returned
                        .iter()
                        .find(|(c, d, _)| c == county && *d == key)
                        .map(|r| r.2)
                        .ok_or(StoreError::Db(sqlx::Error::RowNotFound))?;
                    let first = last - idx.len() as i64 + 1;
                    for (k, i) in idx.iter().enumerate() {
                        cases[*i].number = Some(
                            CaseNumber::new(county, *day, (first + k as i64) as u32)
                                .map_err(StoreError::Invalid)?,
                        );
                    }
                }
                let entries: Vec<(AuditEntry, i64, Option<String>)> = cases
                    .iter()
                    .zip(items)
                    .map(|(c, i)| (case_audit(c, &i.applied.event, "create"), to_ms(i.applied.event.at), i.ip.clone()))
                    .collect();
                let (chained, head_hash) = crate::audit::chain(&entries, audit_last, audit_prev);
                // Everything else in one go: cases, first events, counters, audit entries.
                let verb = tx.insert();
                let mut writes = tx.statements();
                let case_sql = format!("{verb} cases ({CASE_COLS}) ");
                for chunk in cases.chunks(400) {
                    let qb = writes.next(&case_sql, "new cases");
                    qb.push_values(chunk, |b, c| {
                        let mut b = b;
                        bind_case!(push_bind_adapter(&mut b), c);
                    });
                }
                let tracking_sql = format!("{verb} tracking_codes ({TRACKING_COLS}) ");
                for chunk in cases.chunks(400) {
                    writes.next(&tracking_sql, "tracking codes").push_values(chunk, |mut b, c| {
                        b.push_bind(c.tracking_code.clone()).push_bind(c.county_code.clone()).push_bind(c.id);
                    });
                }
                let events: Vec<(&Case, &Event)> = cases.iter().zip(items).map(|(c, i)| (c, &i.applied.event)).collect();
                let event_sql = format!("{verb} case_events ({EVENT_COLS}) ");
                for chunk in events.chunks(2000) {
                    let qb = writes.next(&event_sql, "case events");
                    qb.push_values(chunk, |b, (c, e)| {
                        let mut b = b;
                        bind_event!(push_bind_adapter(&mut b), *c, 1i32, *e);
                    });
                }
                crate::kpi::push_counters(&mut writes, crate::kpi::DELTA, &counters);
                crate::audit::push_chained(&mut writes, verb, chained, head_hash);
                if has_extra {
                    // A case type's own records come as statements with numbered parameters of
                    // their own: they run one by one after the writes, and COMMIT on its own.
                    writes.run(tx.conn()?).await?;
                    for it in items {
                        for w in it.extra {
                            bind_vals!(sqlx::query(AssertSqlSafe(w.sql)), &w.args).execute(tx.conn()?).await
                                .map_err(|e| unique_to_conflict(e, "record"))?;
                        }
                    }
                    writes = tx.statements();
                }
                tx.commit(writes).await?;
                Ok(())
            }
            .await;
            if stored.is_err() {
                tx.rollback().await;
            }
            stored?;
        });
        Ok(cases)
    }
}

/// One new case for [`Store::insert_cases`]: the engine's result, the KPI nodes it counts
/// towards, the case type's own records, and the client address for its audit entry.
pub struct NewCaseWrite<'a> {
    pub applied: &'a Applied,
    pub nodes: &'a [String],
    pub extra: &'a [SideWrite],
    pub ip: Option<String>,
}

/// Lets the `bind_case!` chain (`.bind(x).bind(y)…`) drive a query builder's `push_bind`.
pub(crate) struct PushBind<'a, 'b, DB: sqlx::Database> {
    b: &'a mut sqlx::query_builder::Separated<'b, DB, &'static str>,
}

pub(crate) fn push_bind_adapter<'a, 'b, DB: sqlx::Database>(
    b: &'a mut sqlx::query_builder::Separated<'b, DB, &'static str>,
) -> PushBind<'a, 'b, DB> {
    PushBind { b }
}

impl<DB: sqlx::Database> PushBind<'_, '_, DB> {
    pub(crate) fn bind<'t, T>(self, v: T) -> Self
    where
        T: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    {
        self.b.push_bind(v);
        self
    }
}
