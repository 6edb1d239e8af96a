//! What every request shares: the store, and in-memory copies of what changes rarely (the
//! working calendar, deadline limits, the catalog and the point→grid index), swapped whole on import.

use crate::config::Settings;
use anyhow::Context as _;
use safegrid_domain::calendar::{CalendarEntry, DayKind, Limit, WorkCalendar, WorkingHours};
use safegrid_domain::catalog::{Stage, Urgency};
use safegrid_domain::engine::Limits;
use safegrid_geo::locate::Locator;
use safegrid_store::{CategoryRow, Store};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Deadline limits per (category, urgency, stage), with a conservative fallback so that a
/// category added without limits still gets a deadline rather than none.
#[derive(Debug, Default)]
pub struct LimitTable {
    map: HashMap<(String, Urgency, Stage), Limit>,
}

impl LimitTable {
    pub fn from_rows(rows: &[(String, String, String, String)]) -> LimitTable {
        let mut map = HashMap::new();
        for (cat, urg, stage, lim) in rows {
            let (Ok(u), Ok(s), Ok(l)) = (
                serde_json::from_value::<Urgency>(serde_json::Value::String(urg.clone())),
                serde_json::from_value::<Stage>(serde_json::Value::String(stage.clone())),
                lim.parse::<Limit>(),
            ) else {
                tracing::warn!(category = %cat, urgency = %urg, stage = %stage, limit = %lim, "unreadable deadline limit ignored");
                continue;
            };
            map.insert((cat.clone(), u, s), l);
        }
        LimitTable { map }
    }

    pub fn fallback(stage: Stage) -> Limit {
        let text = match stage {
            Stage::Register | Stage::Dispatch => "2 working_hours",
            Stage::Handle => "5 working_days",
            Stage::Verify | Stage::Close => "1 working_days",
        };
        text.parse().expect("fallback limits are well formed")
    }
}

impl Limits for LimitTable {
    fn limit(&self, category: &str, urgency: Urgency, stage: Stage) -> Limit {
        self.map
            .get(&(category.to_string(), urgency, stage))
            .copied()
            .unwrap_or_else(|| LimitTable::fallback(stage))
    }
}

pub struct AppState {
    pub store: Store,
    pub settings: Settings,
    calendar: RwLock<Arc<WorkCalendar>>,
    limits: RwLock<Arc<LimitTable>>,
    categories: RwLock<Arc<HashMap<String, CategoryRow>>>,
    locator: RwLock<Arc<Locator>>,
    /// Region names by code, for labels.
    region_names: RwLock<Arc<HashMap<String, String>>>,
    /// Buckets of every rate-limited door (keys say which door); rates come from `settings.rate_limits`.
    pub limiter: crate::ratelimit::Limiter,
    /// Lockout of names that are no account, and the count of password checks (`app/auth.rs`).
    pub logins: crate::app::auth::LoginGuard,
    /// Machine tokens checked in the last second (see `app/tokens.rs`).
    pub tokens: crate::app::tokens::TokenCache,
    /// Open311 api_keys checked in the last second (same memory, its own entries).
    pub open311_keys: crate::app::tokens::TokenCache<safegrid_store::Open311Client>,
    /// Group commit of new cases (see `intake.rs`).
    pub intake: crate::app::intake::Intake,
    /// Whether warming the write path's B-trees into the page cache is over (see
    /// [`crate::app::jobs::prewarm`]): `/healthz` says so, for a load balancer or a benchmark that wants
    /// the warm server.
    pub warm: std::sync::atomic::AtomicBool,
}

pub type SharedState = Arc<AppState>;

/// A stored geometry as polygons: the fast reader for what this system wrote, the checked one
/// for anything else; `None` when the checks refuse it (it is then left out of the locator),
/// an error when the text is not JSON at all.
pub(crate) fn stored_shape(
    text: &str,
    what: &'static str,
) -> anyhow::Result<Option<safegrid_geo::geo::MultiPolygon<f64>>> {
    if let Some(mp) = safegrid_geo::from_stored_geojson(text) {
        return Ok(Some(mp));
    }
    let v: serde_json::Value = serde_json::from_str(text).context(what)?;
    Ok(safegrid_geo::from_geojson_value(&v).ok())
}

/// Stored grid geometries as polygons, on all cores (the stored form was validated on import; the
/// checked reader is the fallback for anything unexpected).
fn parse_grids(
    page: Vec<(String, String)>,
) -> anyhow::Result<Vec<(String, safegrid_geo::geo::MultiPolygon<f64>)>> {
    let parse = |rows: &[(String, String)]| -> anyhow::Result<Vec<_>> {
        let mut out = Vec::with_capacity(rows.len());
        for (code, text) in rows {
            if let Some(mp) = stored_shape(text, "stored grid geometry")? {
                out.push((code.clone(), mp));
            }
        }
        Ok(out)
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = page.len().div_ceil(workers).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = page
            .chunks(chunk)
            .map(|c| s.spawn(move || parse(c)))
            .collect();
        let mut all = Vec::with_capacity(page.len());
        for h in handles {
            all.extend(
                h.join()
                    .map_err(|_| anyhow::anyhow!("a grid parser panicked"))??,
            );
        }
        Ok(all)
    })
}

fn read<T>(l: &RwLock<Arc<T>>) -> Arc<T> {
    match l.read() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

fn write<T>(l: &RwLock<Arc<T>>, v: T) {
    match l.write() {
        Ok(mut g) => *g = Arc::new(v),
        Err(p) => *p.into_inner() = Arc::new(v),
    }
}

impl AppState {
    pub async fn load(store: Store, settings: Settings) -> anyhow::Result<SharedState> {
        let writer = Store::dedicated_writer(&settings.store_url()).await?;
        let st = AppState {
            intake: crate::app::intake::Intake::start(writer, store.clone()),
            store,
            settings,
            calendar: RwLock::new(Arc::new(WorkCalendar::builtin())),
            limits: RwLock::new(Arc::new(LimitTable::default())),
            categories: RwLock::new(Arc::new(HashMap::new())),
            locator: RwLock::new(Arc::new(Locator::new(vec![], vec![]))),
            region_names: RwLock::new(Arc::new(HashMap::new())),
            limiter: crate::ratelimit::Limiter::new(),
            logins: Default::default(),
            tokens: crate::app::tokens::TokenCache::new(),
            open311_keys: crate::app::tokens::TokenCache::new(),
            warm: std::sync::atomic::AtomicBool::new(false),
        };
        st.reload_calendar().await?;
        st.reload_catalog().await?;
        st.reload_territory().await?;
        Ok(Arc::new(st))
    }

    pub fn calendar(&self) -> Arc<WorkCalendar> {
        read(&self.calendar)
    }
    pub fn limits(&self) -> Arc<LimitTable> {
        read(&self.limits)
    }
    pub fn categories(&self) -> Arc<HashMap<String, CategoryRow>> {
        read(&self.categories)
    }
    pub fn locator(&self) -> Arc<Locator> {
        read(&self.locator)
    }
    pub fn region_names(&self) -> Arc<HashMap<String, String>> {
        read(&self.region_names)
    }

    /// The official calendar from the database (the built-in table when none is loaded) with the
    /// configured working hours.
    pub async fn reload_calendar(&self) -> anyhow::Result<()> {
        let hours = WorkingHours::parse(&self.settings.working_hours)
            .map_err(|e| anyhow::anyhow!("working_hours in the configuration: {e}"))?;
        let rows = self.store.calendar_days().await?;
        let cal = if rows.is_empty() {
            WorkCalendar::new(WorkCalendar::builtin().entries().to_vec(), hours)
        } else {
            let entries = rows
                .into_iter()
                .filter_map(|(day, kind, zh, en)| {
                    Some(CalendarEntry {
                        date: day.parse().ok()?,
                        kind: if kind == "workday" {
                            DayKind::Workday
                        } else {
                            DayKind::Holiday
                        },
                        name_en: en,
                        name_zh: zh,
                    })
                })
                .collect();
            WorkCalendar::new(entries, hours)
        };
        write(&self.calendar, cal);
        Ok(())
    }

    pub async fn reload_catalog(&self) -> anyhow::Result<()> {
        let rows = self.store.deadline_limits().await?;
        write(&self.limits, LimitTable::from_rows(&rows));
        let cats = self.store.categories().await?;
        write(
            &self.categories,
            cats.into_iter().map(|c| (c.code.clone(), c)).collect(),
        );
        Ok(())
    }

    /// Rebuilds the point→grid index from the stored grids and region boundaries.
    pub async fn reload_territory(&self) -> anyhow::Result<()> {
        let regions = self.store.regions(None, None, true).await?;
        let mut names = HashMap::new();
        let mut region_polys = Vec::new();
        for r in &regions {
            names.insert(r.code.clone(), r.name.clone());
            if let Some(g) = &r.geometry
                && let Some(mp) = stored_shape(g, "stored region geometry")?
            {
                region_polys.push((r.code.clone(), r.level as u8, mp));
            }
        }
        // Pages of grids are read while the previous page is parsed on the other cores.
        let mut grid_polys = Vec::new();
        let mut after = String::new();
        let mut parsing: Option<tokio::task::JoinHandle<anyhow::Result<Vec<_>>>> = None;
        loop {
            let page = self.store.grid_shapes_after(&after, 20_000).await?;
            if let Some(h) = parsing.take() {
                grid_polys.extend(h.await??);
            }
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            parsing = Some(tokio::task::spawn_blocking(move || parse_grids(page)));
        }
        let locator =
            tokio::task::spawn_blocking(move || Locator::new(grid_polys, region_polys)).await?;
        write(&self.locator, locator);
        write(&self.region_names, names);
        Ok(())
    }

    /// The deployment's root region: the configured one, else the shallowest stored region
    /// that is not a province (a city deployment), else the first region.
    pub async fn root_region(&self) -> anyhow::Result<Option<String>> {
        if let Some(r) = &self.settings.root_region {
            return Ok(Some(format!("{r:0<12}")));
        }
        let cities = self.store.regions(None, Some(2), false).await?;
        if cities.len() == 1 {
            return Ok(Some(cities[0].code.clone()));
        }
        let provinces = self.store.regions(None, Some(1), false).await?;
        Ok(provinces.first().map(|r| r.code.clone()))
    }
}
