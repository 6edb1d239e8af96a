//! Coverage (走访覆盖率) and the work log (民情日志). Coverage: for a period (the setting
//! `coverage_period`, a quarter by default: "every address once a quarter"), per grid, village,
//! township and county of the caller's territory, the known (active) addresses, those visited in
//! the period, and the share; summed from per-grid counts the store takes from the rows, so a
//! level is exactly the sum of its grids. The work log: a worker's days (cases reported and
//! verified, inspections, visits), and the monthly summary of the workers of a leader's grids.
//! Care visits appear only as counts, never as a list of households.

use crate::app::error::{AppError, AppResult};
use crate::app::places::{Territory, territory};
use crate::app::policy::{Perm, allows, require};
use crate::app::state::SharedState;
use crate::app::table::{Cell, Sheet, write_xlsx};
use crate::app::visits::{local_day, scope_sql};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use safegrid_domain::Role;
use safegrid_domain::codes::RegionCode;
use safegrid_domain::visit::{Period, share};
use safegrid_store::visits::DayWork;
use safegrid_store::{AuditEntry, StoreError, User};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// A period of coverage: its name and its local dates (both included).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PeriodView {
    /// 2026Q4, 2026-12 or 2026.
    pub label: String,
    pub from: String,
    pub to: String,
    #[serde(skip)]
    #[schema(ignore)]
    pub bounds: (NaiveDate, NaiveDate),
}

pub fn period_kind(st: &SharedState) -> Period {
    Period::parse(&st.settings.coverage_period, "coverage_period").unwrap_or(Period::Quarter)
}

fn period_of(kind: Period, day: NaiveDate) -> PeriodView {
    let (from, to) = kind.bounds(day);
    PeriodView {
        label: kind.label(day),
        from: from.to_string(),
        to: to.to_string(),
        bounds: (from, to),
    }
}

/// The period holding `now` (local date).
pub fn current_period(st: &SharedState, now: DateTime<Utc>) -> PeriodView {
    period_of(period_kind(st), local_day(now))
}

/// One row of a coverage table.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CoverageRow {
    /// A grid code (15 digits) or a region code (12 digits).
    pub code: String,
    pub name: Option<String>,
    /// Active addresses of the register.
    pub known: i64,
    /// Of them, visited at least once in the period (by address, or by a place linked to it).
    pub visited: i64,
    /// visited / known, 0–1 (0 when nothing is known).
    pub share: f64,
}

/// Coverage of the caller's territory in a period, by level; each level sorted by share
/// (lowest first: where to go), then code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoverageReport {
    pub period: PeriodView,
    pub total: CoverageRow,
    pub grids: Vec<CoverageRow>,
    pub villages: Vec<CoverageRow>,
    pub townships: Vec<CoverageRow>,
    pub counties: Vec<CoverageRow>,
}

fn row(code: String, name: Option<String>, known: i64, visited: i64) -> CoverageRow {
    CoverageRow {
        code,
        name,
        known,
        visited,
        share: share(visited, known),
    }
}

/// Parses `period` ("2026Q4", "2026-12", "2026", or a date inside the period) or takes the current one.
pub fn parse_period(
    st: &SharedState,
    period: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<PeriodView> {
    let kind = period_kind(st);
    let Some(p) = period.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(current_period(st, now));
    };
    let bad = || {
        AppError::invalid(
            "period",
            "must be like 2026Q4, 2026-12, 2026 or a date YYYY-MM-DD",
        )
    };
    let (kind, day) = if let Some((y, q)) = p.split_once(['Q', 'q']) {
        let y: i32 = y.parse().map_err(|_| bad())?;
        let q: u32 = q.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&q) {
            return Err(bad());
        }
        (
            Period::Quarter,
            NaiveDate::from_ymd_opt(y, (q - 1) * 3 + 1, 1),
        )
    } else if p.len() == 4 {
        let y: i32 = p.parse().map_err(|_| bad())?;
        (Period::Year, NaiveDate::from_ymd_opt(y, 1, 1))
    } else if p.len() == 7 {
        (
            Period::Month,
            NaiveDate::parse_from_str(&format!("{p}-01"), "%Y-%m-%d").ok(),
        )
    } else {
        (kind, NaiveDate::parse_from_str(p, "%Y-%m-%d").ok())
    };
    let day = day
        .filter(|d| (2000..=2100).contains(&d.year()))
        .ok_or_else(bad)?;
    Ok(period_of(kind, day))
}

/// Coverage of the caller's territory (or of `region` within it) in a period.
pub async fn coverage(
    st: &SharedState,
    user: &User,
    region: Option<&str>,
    period: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<CoverageReport> {
    require(user, Perm::ReadAddresses)?;
    let period = parse_period(st, period, now)?;
    let prefix = match region.map(str::trim).filter(|s| !s.is_empty()) {
        Some(r) => Some(RegionCode::parse_field(r, "region")?.short().to_string()),
        None => None,
    };
    let t = territory(st, user).await?;
    let (from, to) = period.bounds;
    let grids = st
        .store
        .coverage_by_grid(prefix.as_deref(), &scope_sql(&t), from, to)
        .await?;
    let names = st.region_names();
    let grid_names = grid_names(st, grids.iter().map(|g| g.grid_code.clone()).collect()).await?;
    let mut levels: [BTreeMap<String, (i64, i64)>; 3] = Default::default();
    let (mut known, mut visited) = (0, 0);
    for g in &grids {
        known += g.known;
        visited += g.visited;
        let village = g.grid_code[..12].to_string();
        let township = format!("{}000", &g.grid_code[..9]);
        let county = format!("{}000000", &g.grid_code[..6]);
        for (i, code) in [village, township, county].into_iter().enumerate() {
            let e = levels[i].entry(code).or_default();
            e.0 += g.known;
            e.1 += g.visited;
        }
    }
    let sorted = |mut v: Vec<CoverageRow>| {
        v.sort_by(|a, b| a.share.total_cmp(&b.share).then(a.code.cmp(&b.code)));
        v
    };
    let level = |m: &BTreeMap<String, (i64, i64)>| {
        sorted(
            m.iter()
                .map(|(c, (k, v))| row(c.clone(), names.get(c).cloned(), *k, *v))
                .collect(),
        )
    };
    Ok(CoverageReport {
        total: row(
            prefix.clone().unwrap_or_default(),
            prefix
                .as_ref()
                .and_then(|p| names.get(&format!("{p:0<12}")).cloned()),
            known,
            visited,
        ),
        grids: sorted(
            grids
                .iter()
                .map(|g| {
                    row(
                        g.grid_code.clone(),
                        grid_names.get(&g.grid_code).cloned(),
                        g.known,
                        g.visited,
                    )
                })
                .collect(),
        ),
        villages: level(&levels[0]),
        townships: level(&levels[1]),
        counties: level(&levels[2]),
        period,
    })
}

/// Grid names by code (the few grids of a table).
async fn grid_names(
    st: &SharedState,
    codes: Vec<String>,
) -> AppResult<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    for c in codes {
        match st.store.grid(&c).await {
            Ok(g) => {
                out.insert(c, g.name);
            }
            Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// The coverage table as XLSX, one sheet per level; audited. Counts only: no household list.
pub async fn coverage_xlsx(
    st: &SharedState,
    user: &User,
    region: Option<&str>,
    period: Option<&str>,
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<u8>> {
    let r = coverage(st, user, region, period, now).await?;
    let header: Vec<String> = [
        "编码 code",
        "名称 name",
        "门牌数 known",
        "已走访 visited",
        "覆盖率 share",
    ]
    .map(String::from)
    .to_vec();
    let sheet = |name: &str, rows: &[CoverageRow]| Sheet {
        name: format!("{name} {}", r.period.label),
        header: header.clone(),
        rows: rows
            .iter()
            .map(|x| {
                vec![
                    x.code.clone().into(),
                    x.name.clone().into(),
                    x.known.into(),
                    x.visited.into(),
                    Cell::Number((x.share * 1000.0).round() / 1000.0),
                ]
            })
            .collect(),
    };
    st.store
        .audit(&AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "coverage.export",
            "coverage",
            None,
            json!({ "period": r.period.label, "region": region, "grids": r.grids.len(), "via": via }),
        ))
        .await?;
    write_xlsx(&[
        sheet("网格 grids", &r.grids),
        sheet("村社区 villages", &r.villages),
        sheet("乡镇 townships", &r.townships),
        sheet("县 counties", &r.counties),
    ])
}

// ---------------------------------------------------------------------------------------------
// The work log

/// What a work log sums, one column each. Patrols (H2's `patrol_logs`) are added here at merge:
/// a variant, its names, and its count in [`DayCounts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkLogSource {
    CasesReported,
    CasesVerified,
    Inspections,
    Visits,
    Patrols,
}

impl WorkLogSource {
    pub const ALL: [WorkLogSource; 5] = [
        WorkLogSource::CasesReported,
        WorkLogSource::CasesVerified,
        WorkLogSource::Inspections,
        WorkLogSource::Visits,
        WorkLogSource::Patrols,
    ];

    pub fn code(self) -> &'static str {
        match self {
            WorkLogSource::CasesReported => "reported",
            WorkLogSource::CasesVerified => "verified",
            WorkLogSource::Inspections => "inspections",
            WorkLogSource::Visits => "visits",
            WorkLogSource::Patrols => "patrols",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            WorkLogSource::CasesReported => "上报事件",
            WorkLogSource::CasesVerified => "核查事件",
            WorkLogSource::Inspections => "排查检查",
            WorkLogSource::Visits => "走访",
            WorkLogSource::Patrols => "巡防",
        }
    }

    pub fn count(self, d: &DayCounts) -> i64 {
        match self {
            WorkLogSource::CasesReported => d.reported,
            WorkLogSource::CasesVerified => d.verified,
            WorkLogSource::Inspections => d.inspections,
            WorkLogSource::Visits => d.visits,
            WorkLogSource::Patrols => d.patrols,
        }
    }
}

/// A day's (or a span's) figures of one worker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct DayCounts {
    /// YYYY-MM-DD (the first day, for a span).
    pub day: String,
    pub reported: i64,
    pub verified: i64,
    pub inspections: i64,
    /// Visits of every kind; care visits are counted, never listed.
    pub visits: i64,
    pub care_visits: i64,
    /// Patrols (巡防) the worker logged, and their minutes.
    pub patrols: i64,
    pub patrol_minutes: i64,
}

impl DayCounts {
    fn add(&mut self, w: &DayWork) {
        self.reported += w.reported;
        self.verified += w.verified;
        self.inspections += w.inspections;
        self.visits += w.visits;
        self.care_visits += w.care_visits;
        self.patrols += w.patrols;
        self.patrol_minutes += w.patrol_minutes;
    }
}

/// A worker's log over a span: each day with work, and the totals.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkLog {
    #[schema(value_type = String, format = Uuid)]
    pub worker: Uuid,
    pub worker_name: String,
    pub from: String,
    pub to: String,
    pub days: Vec<DayCounts>,
    pub total: DayCounts,
}

/// Whether `user` may read `worker`'s log: its own (with `RecordVisits`), or, with `ReadVisits`,
/// a worker with a grid in the caller's territory (a grid leader's workers, a leader's county).
fn may_read_log(user: &User, t: &Territory, worker: &User) -> bool {
    if worker.id == user.id {
        return allows(user.role, Perm::RecordVisits);
    }
    allows(user.role, Perm::ReadVisits)
        && worker
            .grids
            .iter()
            .any(|g| g.len() >= 12 && t.covers(Some(g), &g[..12]))
}

/// One worker's log from `from` to `to` (at most 92 days).
pub async fn worklog(
    st: &SharedState,
    user: &User,
    worker: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<WorkLog> {
    if to < from || (to - from).num_days() > 92 {
        return Err(AppError::invalid(
            "to",
            "must be on or after from, at most 92 days later",
        ));
    }
    let worker = match worker.map(str::trim).filter(|s| !s.is_empty()) {
        None => user.clone(),
        Some(w) => {
            let id = crate::app::visits::parse_id(w, "worker")?;
            match st.store.user(id).await {
                Ok(u) => u,
                Err(StoreError::NotFound) => return Err(AppError::not_found("worker")),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let t = territory(st, user).await?;
    if !may_read_log(user, &t, &worker) {
        return Err(if worker.id == user.id {
            AppError::forbidden("the role keeps no work log of its own")
        } else {
            AppError::not_found("worker")
        });
    }
    let days = st.store.work_days(worker.id, from, to).await?;
    let mut total = DayCounts {
        day: from.to_string(),
        ..Default::default()
    };
    let days = days
        .iter()
        .map(|w| {
            total.add(w);
            let mut d = DayCounts {
                day: w.day.clone(),
                ..Default::default()
            };
            d.add(w);
            d
        })
        .collect();
    Ok(WorkLog {
        worker: worker.id,
        worker_name: worker.display_name.clone(),
        from: from.to_string(),
        to: to.to_string(),
        days,
        total,
    })
}

/// One worker's month in a leader's summary.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkerMonth {
    #[schema(value_type = String, format = Uuid)]
    pub worker: Uuid,
    pub name: String,
    pub grids: Vec<String>,
    pub counts: DayCounts,
    /// Days with any recorded work.
    pub active_days: i64,
}

/// The monthly summary of the grid workers whose grids lie in the caller's territory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MonthSummary {
    /// YYYY-MM
    pub month: String,
    pub workers: Vec<WorkerMonth>,
}

/// Parses a month "YYYY-MM" (the current one when empty).
pub fn parse_month(m: Option<&str>, now: DateTime<Utc>) -> AppResult<(NaiveDate, NaiveDate)> {
    let day = match m.map(str::trim).filter(|s| !s.is_empty()) {
        None => local_day(now),
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .map_err(|_| AppError::invalid("month", "must be YYYY-MM"))?,
    };
    Ok(Period::Month.bounds(day))
}

pub async fn month_summary(
    st: &SharedState,
    user: &User,
    month: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<MonthSummary> {
    require(user, Perm::ReadVisits)?;
    let (from, to) = parse_month(month, now)?;
    let t = territory(st, user).await?;
    let mut workers = vec![];
    let mut all = st.store.users().await?;
    all.sort_by(|a, b| a.username.cmp(&b.username));
    for w in all {
        if w.disabled || !matches!(w.role, Role::GridWorker | Role::GridLeader) {
            continue;
        }
        if w.id != user.id && !may_read_log(user, &t, &w) {
            continue;
        }
        let mut counts = DayCounts {
            day: from.to_string(),
            ..Default::default()
        };
        let days = st.store.work_days(w.id, from, to).await?;
        for d in &days {
            counts.add(d);
        }
        workers.push(WorkerMonth {
            worker: w.id,
            name: w.display_name.clone(),
            grids: w.grids.clone(),
            counts,
            active_days: days.len() as i64,
        });
    }
    Ok(MonthSummary {
        month: format!("{}-{:02}", from.year(), from.month()),
        workers,
    })
}

/// The monthly summary as XLSX; audited.
pub async fn month_xlsx(
    st: &SharedState,
    user: &User,
    month: Option<&str>,
    via: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<u8>> {
    let s = month_summary(st, user, month, now).await?;
    let mut header: Vec<String> = vec!["网格员 worker".into(), "网格 grids".into()];
    for src in WorkLogSource::ALL {
        header.push(format!("{} {}", src.zh(), src.code()));
    }
    header.push("其中关爱走访 care_visits".into());
    header.push("工作天数 active_days".into());
    let rows = s
        .workers
        .iter()
        .map(|w| {
            let mut r: Vec<Cell> = vec![w.name.clone().into(), w.grids.join(",").into()];
            for src in WorkLogSource::ALL {
                r.push(src.count(&w.counts).into());
            }
            r.push(w.counts.care_visits.into());
            r.push(w.active_days.into());
            r
        })
        .collect();
    st.store
        .audit(&AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "worklog.export",
            "worklog",
            None,
            json!({ "month": s.month, "workers": s.workers.len(), "via": via }),
        ))
        .await?;
    write_xlsx(&[Sheet {
        name: format!("民情日志 {}", s.month),
        header,
        rows,
    }])
}
