//! The demo city: 湖州市 (Huzhou, 330500) with its real counties, townships and villages (NBS 2023
//! codes), the real county boundaries (Tianditu), synthetic township/village/grid polygons that
//! partition each county exactly (deterministic from a seed), departments, the category catalog,
//! one account per role and about a year of cases. Data sources: `data/README.md`.

mod campaigns;
mod cases;
mod disputes;
mod places;
mod staffing;
mod teams;
mod visits;

use crate::app::auth::{hash_password, random_secret};
use crate::app::import::parse_divisions;
use crate::app::state::SharedState;
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_domain::Role;
use safegrid_domain::catalog::Catalog;
use safegrid_domain::codes::GridCode;
use safegrid_geo::geo::MultiPolygon;
use safegrid_geo::{area_m2, order_west_east_north_south, partition, to_geojson_geometry};
use safegrid_store::{CategoryRow, Department, Grid, NewUser, Region};
use std::collections::BTreeMap;
use std::time::Instant;

const DIVISIONS_CSV: &[u8] = include_bytes!("../../../../data/huzhou/divisions_nbs2023.csv");
const COUNTIES_GEOJSON: &str = include_str!("../../../../data/huzhou/counties_tianditu.geojson");

/// The demo's root region: 湖州市.
pub const ROOT: &str = "330500000000";
/// The point the demo grid worker's grid must contain (吴兴区).
pub const GRIDWORKER_POINT: (f64, f64) = (120.02352, 30.78412);

/// (username, role, what the account covers)
pub const ACCOUNTS: [(&str, Role, &str); 7] = [
    ("demo-admin", Role::Admin, "全部 / everything"),
    (
        "demo-dispatcher",
        Role::Dispatcher,
        "湖州市综治中心 / Huzhou command center",
    ),
    (
        "demo-gridworker",
        Role::GridWorker,
        "吴兴区的一个网格 / one grid in 吴兴区",
    ),
    (
        "demo-handler",
        Role::Handler,
        "吴兴区城管 / 吴兴区 urban management",
    ),
    ("demo-mediator", Role::Mediator, "湖州市 / Huzhou"),
    ("demo-leader", Role::Leader, "湖州市 / Huzhou"),
    ("demo-citizen", Role::Citizen, "市民 / resident"),
];

pub struct DemoOptions {
    pub seed: u64,
    pub cases: usize,
    pub password: Option<String>,
    pub quiet: bool,
}

pub struct DemoSummary {
    pub regions: usize,
    pub grids: usize,
    pub departments: usize,
    pub categories: usize,
    pub cases: usize,
    pub events: usize,
    /// The generated password, when none was given.
    pub password: Option<String>,
    pub seconds: f64,
    pub gridworker_grid: String,
}

fn bar(quiet: bool, len: u64, msg: &'static str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(msg);
    pb
}

/// What the database holds, as far as the demo is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoState {
    /// No territory at all: the demo can be built.
    Empty,
    /// A demo whose build ran to the end.
    Built,
    /// Territory that is not a complete demo: a real deployment, or an interrupted build.
    Other,
}

/// The demo's last step records this setting, so an interrupted build is never taken for a demo.
const BUILT_MARK: &str = "demo_built_at";

pub async fn state(st: &SharedState) -> anyhow::Result<DemoState> {
    if st.store.setting(BUILT_MARK).await?.is_some() {
        Ok(DemoState::Built)
    } else if st.store.region_count().await? == 0 {
        Ok(DemoState::Empty)
    } else {
        Ok(DemoState::Other)
    }
}

pub(crate) struct Built {
    pub(crate) regions: Vec<Region>,
    pub(crate) grids: Vec<Grid>,
}

/// How many grids each village is cut into.
#[derive(Clone, Copy)]
pub(crate) enum GridsPerVillage {
    /// A random count in this range per village (the demo city).
    Random(usize, usize),
    /// This many grids in all, spread over the villages as evenly as possible (the benchmark's
    /// province with its official grid count).
    #[cfg_attr(
        not(feature = "bench"),
        expect(
            dead_code,
            reason = "only `safegrid bench` (feature `bench`) asks for a total"
        )
    )]
    Total(usize),
}

/// Where a territory comes from: an NBS divisions CSV (`code,name`) and the county boundaries
/// (GeoJSON, `gb` = "156" + six-digit code).
pub(crate) struct TerritorySource<'a> {
    pub(crate) divisions: &'a [u8],
    pub(crate) counties_geojson: &'a str,
    pub(crate) grids: GridsPerVillage,
    /// Keep only divisions whose code starts with this (a smaller territory for quick runs).
    pub(crate) only: Option<&'a str>,
}

/// Invents township, village and grid polygons inside the real county boundaries of the demo city.
fn build_territory(seed: u64, quiet: bool) -> anyhow::Result<Built> {
    build_territory_from(
        &TerritorySource {
            divisions: DIVISIONS_CSV,
            counties_geojson: COUNTIES_GEOJSON,
            grids: GridsPerVillage::Random(10, 20),
            only: None,
        },
        seed,
        quiet,
    )
}

/// One county's share of the work: its townships', villages' and grids' polygons.
struct CountyParts {
    geoms: Vec<(String, MultiPolygon<f64>)>,
    grids: Vec<Grid>,
}

/// Invents township, village and grid polygons inside real county boundaries. Counties are cut
/// on all cores; each county's random stream is seeded from its code, so the result does not
/// depend on how the work was shared out.
pub(crate) fn build_territory_from(
    src: &TerritorySource,
    seed: u64,
    quiet: bool,
) -> anyhow::Result<Built> {
    let mut regions =
        parse_divisions(src.divisions).map_err(|e| anyhow::anyhow!("embedded divisions: {e:?}"))?;
    if let Some(only) = src.only {
        // Keep the chosen subtree and its ancestors.
        regions.retain(|r| r.code.starts_with(only) || only.starts_with(significant(&r.code)));
    }
    let fc: serde_json::Value = serde_json::from_str(src.counties_geojson)?;
    let mut county_geom: BTreeMap<String, MultiPolygon<f64>> = BTreeMap::new();
    let known: std::collections::HashSet<&str> = regions.iter().map(|r| r.code.as_str()).collect();
    for f in fc["features"].as_array().context("county features")? {
        let gb = f["properties"]["gb"].as_str().unwrap_or("");
        let code = format!("{:0<12}", gb.trim_start_matches("156"));
        if !known.contains(code.as_str()) {
            continue;
        }
        let mp = safegrid_geo::from_geojson_value(&f["geometry"])
            .map_err(|e| anyhow::anyhow!("county {code}: {e}"))?;
        county_geom.insert(code, mp);
    }
    let mut children: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &regions {
        if let Some(p) = &r.parent_code {
            children.entry(p.clone()).or_default().push(r.code.clone());
        }
    }
    let names: BTreeMap<String, String> = regions
        .iter()
        .map(|r| (r.code.clone(), r.name.clone()))
        .collect();
    // Villages in code order, for the even spread of a total grid count.
    let villages: Vec<&str> = regions
        .iter()
        .filter(|r| r.level == 5 && county_geom.contains_key(&format!("{}000000", &r.code[..6])))
        .map(|r| r.code.as_str())
        .collect();
    let fixed: BTreeMap<&str, usize> = match src.grids {
        GridsPerVillage::Total(total) => {
            let n = villages.len().max(1);
            villages
                .iter()
                .enumerate()
                .map(|(i, v)| (*v, total / n + usize::from(i < total % n)))
                .collect()
        }
        GridsPerVillage::Random(..) => BTreeMap::new(),
    };
    let pb = bar(quiet, villages.len() as u64, "grids");
    let counties: Vec<(&String, &MultiPolygon<f64>)> = county_geom.iter().collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cut_county = |county: &str, shape: &MultiPolygon<f64>| -> anyhow::Result<CountyParts> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ county.parse::<u64>().unwrap_or(0));
        let mut out = CountyParts {
            geoms: vec![],
            grids: vec![],
        };
        let none = Vec::new();
        let towns = children.get(county).unwrap_or(&none);
        if towns.is_empty() {
            return Ok(out);
        }
        let town_villages: Vec<&Vec<String>> = towns
            .iter()
            .map(|t| children.get(t).unwrap_or(&none))
            .collect();
        let weights: Vec<f64> = town_villages
            .iter()
            .map(|v| (v.len().max(1) as f64) * rng.random_range(0.7..1.3))
            .collect();
        let town_parts = partition(shape, &weights, &mut rng)
            .map_err(|e| anyhow::anyhow!("partitioning {county}: {e}"))?;
        for ((town, villages), tshape) in towns.iter().zip(&town_villages).zip(town_parts) {
            out.geoms.push((town.clone(), tshape.clone()));
            if villages.is_empty() {
                continue;
            }
            let vw: Vec<f64> = villages
                .iter()
                .map(|_| rng.random_range(0.6..1.4))
                .collect();
            let vparts = partition(&tshape, &vw, &mut rng)
                .map_err(|e| anyhow::anyhow!("partitioning {town}: {e}"))?;
            for (village, vshape) in villages.iter().zip(vparts) {
                let n = match src.grids {
                    GridsPerVillage::Random(lo, hi) => rng.random_range(lo..=hi),
                    GridsPerVillage::Total(_) => fixed.get(village.as_str()).copied().unwrap_or(1),
                }
                .max(1);
                let gw: Vec<f64> = (0..n).map(|_| rng.random_range(0.7..1.3)).collect();
                let gparts = partition(&vshape, &gw, &mut rng)
                    .map_err(|e| anyhow::anyhow!("partitioning {village}: {e}"))?;
                let order = order_west_east_north_south(&gparts);
                let vcode = safegrid_domain::codes::RegionCode::parse(village)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let short = names
                    .get(village)
                    .map(|n| short_name(n))
                    .unwrap_or_default();
                for (seq, idx) in order.iter().enumerate() {
                    let g = &gparts[*idx];
                    let code = GridCode::new(&vcode, (seq + 1) as u16)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    out.grids.push(Grid {
                        county_code: code.county().to_string(),
                        code: code.as_str().to_string(),
                        village_code: village.clone(),
                        name: format!("{short}第{}网格", seq + 1),
                        geometry: serde_json::to_string(&to_geojson_geometry(g))?,
                        households: rng.random_range(120..600),
                        area_m2: area_m2(g),
                    });
                }
                out.geoms.push((village.clone(), vshape));
                pb.inc(1);
            }
        }
        out.geoms.push((county.to_string(), shape.clone()));
        Ok(out)
    };
    let mut parts: Vec<Option<anyhow::Result<CountyParts>>> =
        (0..counties.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers.min(counties.len()).max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = vec![];
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((county, shape)) = counties.get(i) else {
                            break;
                        };
                        mine.push((i, cut_county(county, shape)));
                    }
                    mine
                })
            })
            .collect();
        for h in handles {
            for (i, r) in h.join().unwrap_or_default() {
                parts[i] = Some(r);
            }
        }
    });
    pb.finish_and_clear();
    let mut geoms: BTreeMap<String, MultiPolygon<f64>> = BTreeMap::new();
    let mut grids = Vec::new();
    for p in parts {
        let p = p.context("a partition worker stopped")??;
        geoms.extend(p.geoms);
        grids.extend(p.grids);
    }
    for r in &mut regions {
        if let Some(g) = geoms.get(&r.code) {
            r.geometry = Some(serde_json::to_string(&to_geojson_geometry(g))?);
        }
    }
    Ok(Built { regions, grids })
}

/// The significant prefix of a 12-digit division code ("330502000000" → "330502").
pub(crate) fn significant(code: &str) -> &str {
    let mut end = code.len();
    for cut in [9, 6, 4, 2] {
        if code.len() >= cut && code[cut..].bytes().all(|b| b == b'0') {
            end = cut;
        }
    }
    &code[..end]
}

/// "八里店镇潘店村民委员会" → "潘店村": drop the committee suffix for labels.
fn short_name(n: &str) -> String {
    for suffix in ["村民委员会", "居民委员会", "社区居委会", "居委会", "委员会"]
    {
        if let Some(s) = n.strip_suffix(suffix) {
            let s = s.to_string();
            return if suffix.starts_with('村') {
                format!("{s}村")
            } else {
                format!("{s}社区")
            };
        }
    }
    n.to_string()
}

fn departments(catalog: &Catalog, regions: &[Region]) -> Vec<Department> {
    let mut out = vec![];
    for r in regions.iter().filter(|r| r.level == 2 || r.level == 3) {
        let six = &r.code[..6];
        for k in &catalog.departments {
            out.push(Department {
                code: format!("{six}-{}", k.code),
                kind: k.code.clone(),
                name_zh: k.full_name(&r.name),
                name_en: format!("{} ({six})", k.name_en),
                region_code: r.code.clone(),
                active: true,
            });
        }
    }
    out
}

/// A deadline limit row: (category, urgency, stage, limit).
pub type LimitRow = (String, String, String, String);

/// The catalog as stored rows: categories and their deadline limits.
pub fn catalog_rows(catalog: &Catalog) -> (Vec<CategoryRow>, Vec<LimitRow>) {
    let mut rows = vec![];
    let mut limits = vec![];
    for c in &catalog.categories {
        let class = catalog.class(&c.class_code);
        rows.push(CategoryRow {
            code: c.code.clone(),
            case_type: c.case_type.as_str().to_string(),
            kind: c.kind.as_str().to_string(),
            class_code: c.class_code.clone(),
            class_zh: class.map(|k| k.name_zh.clone()).unwrap_or_default(),
            class_en: class.map(|k| k.name_en.clone()).unwrap_or_default(),
            name_zh: c.name_zh.clone(),
            name_en: c.name_en.clone(),
            department_kind: c.department.clone(),
            keywords: serde_json::to_string(&c.keywords).unwrap_or_else(|_| "[]".into()),
            icon: c.icon.clone(),
            attributes: serde_json::to_string(&c.attributes).unwrap_or_else(|_| "[]".into()),
            active: true,
        });
        for (u, stages) in &c.limits {
            for (s, l) in stages {
                limits.push((
                    c.code.clone(),
                    u.as_str().to_string(),
                    s.as_str().to_string(),
                    l.clone(),
                ));
            }
        }
    }
    (rows, limits)
}

/// Builds the demo into an empty database.
pub async fn build(st: &SharedState, opts: &DemoOptions) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    if state(st).await? != DemoState::Empty {
        bail!("the database already holds territory; the demo builds only into an empty database");
    }
    let (seed, quiet) = (opts.seed, opts.quiet);
    let built = tokio::task::spawn_blocking(move || build_territory(seed, quiet)).await??;
    let mut summary = populate(st, opts, &built, ROOT).await?;
    let t = Instant::now();
    let n_places = places::generate(st, seed, &summary.gridworker_grid).await?;
    tracing::info!(
        places = n_places,
        seconds = t.elapsed().as_secs_f64(),
        "demo places"
    );
    let t = Instant::now();
    let (n_campaigns, n_inspections, n_hazards) = campaigns::generate(st, seed).await?;
    tracing::info!(
        campaigns = n_campaigns,
        inspections = n_inspections,
        hazards = n_hazards,
        seconds = t.elapsed().as_secs_f64(),
        "demo campaigns"
    );
    summary.cases += n_hazards;
    let t = Instant::now();
    let (n_workers, n_leaders, n_vacant) =
        staffing::generate(st, seed, &summary.gridworker_grid).await?;
    tracing::info!(
        workers = n_workers,
        leaders = n_leaders,
        vacant = n_vacant,
        seconds = t.elapsed().as_secs_f64(),
        "demo staffing"
    );
    let (n_addresses, n_visits, n_visit_cases) =
        visits::generate(st, seed, &summary.gridworker_grid).await?;
    tracing::info!(
        addresses = n_addresses,
        visits = n_visits,
        cases = n_visit_cases,
        seconds = t.elapsed().as_secs_f64(),
        "demo addresses and visits"
    );
    summary.cases += n_visit_cases;
    let (n_teams, n_members, n_patrols, n_patrol_cases) =
        teams::generate(st, seed, &summary.gridworker_grid).await?;
    tracing::info!(
        teams = n_teams,
        members = n_members,
        patrols = n_patrols,
        cases = n_patrol_cases,
        seconds = t.elapsed().as_secs_f64(),
        "demo teams and patrols"
    );
    summary.cases += n_patrol_cases;
    // Disputes and petitions with their committees, through the live service.
    let t = Instant::now();
    let n_disputes = disputes::generate(st, seed, opts.cases).await?;
    tracing::info!(
        cases = n_disputes,
        seconds = t.elapsed().as_secs_f64(),
        "demo disputes and petitions"
    );
    summary.cases += n_disputes;
    st.store
        .set_setting(BUILT_MARK, &chrono::Utc::now().to_rfc3339())
        .await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Stores a built territory with departments, the catalog, one account per role (covering
/// `root`) and `opts.cases` service cases.
pub(crate) async fn populate(
    st: &SharedState,
    opts: &DemoOptions,
    built: &Built,
    root: &str,
) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    let catalog = Catalog::builtin();
    st.store.upsert_regions(&built.regions).await?;
    st.store.upsert_grids(&built.grids).await?;
    let depts = departments(&catalog, &built.regions);
    st.store.upsert_departments(&depts).await?;
    let (cat_rows, limit_rows) = catalog_rows(&catalog);
    st.store.upsert_categories(&cat_rows, &limit_rows).await?;
    st.store.set_setting("root_region", root).await?;
    st.reload_catalog().await?;
    st.reload_territory().await?;

    // Accounts.
    let (password, generated) = match &opts.password {
        Some(p) => (p.clone(), None),
        None => {
            let p = random_secret("")[..16].to_string();
            (p.clone(), Some(p))
        }
    };
    let hash = hash_password(password).await?;
    // The demo grid worker's grid: the one at the known point, else (a smaller benchmark
    // territory) the first grid.
    let gw_grid = st
        .locator()
        .locate(GRIDWORKER_POINT.0, GRIDWORKER_POINT.1)
        .grid
        .or_else(|| built.grids.first().map(|g| g.code.clone()))
        .context("the territory has no grid")?;
    // 吴兴区城管 in the demo; the first urban-management bureau in a smaller territory.
    let handler_dept = depts
        .iter()
        .find(|d| d.code == "330502-cgj")
        .or_else(|| depts.iter().find(|d| d.kind == "cgj"))
        .map(|d| d.code.clone());
    for (name, role, _) in ACCOUNTS {
        let (regions, grids, department) = match role {
            Role::GridWorker => (vec![], vec![gw_grid.clone()], None),
            Role::Handler => (vec![], vec![], handler_dept.clone()),
            // The demo's administrator is the root one (no scope: everything), as the CLI makes it.
            Role::Citizen | Role::Admin => (vec![], vec![], None),
            _ => (vec![root.to_string()], vec![], None),
        };
        st.store
            .create_user(&NewUser {
                username: name.into(),
                display_name: format!("演示{}", role.zh()),
                password_hash: hash.clone(),
                role,
                department,
                regions,
                grids,
            })
            .await?;
    }

    // A year of cases.
    let (n_cases, n_events) = cases::generate(st, opts, &catalog, &built.grids, root).await?;
    st.store.analyze().await?;
    Ok(DemoSummary {
        regions: built.regions.len(),
        grids: built.grids.len(),
        departments: depts.len(),
        categories: cat_rows.len(),
        cases: n_cases,
        events: n_events,
        password: generated,
        seconds: started.elapsed().as_secs_f64(),
        gridworker_grid: gw_grid,
    })
}

/// Sets every demo account's password (SAFEGRID_DEMO_PASSWORD on a later start).
pub async fn reset_passwords(st: &SharedState, password: &str) -> anyhow::Result<()> {
    let hash = hash_password(password.to_string()).await?;
    for (name, _, _) in ACCOUNTS {
        if let Ok(u) = st.store.user_by_name(name).await {
            st.store.set_password_hash(u.id, &hash).await?;
        }
    }
    // The demo township's grid workers and leaders share the demo password.
    for u in st.store.users().await? {
        if staffing::STAFF_PREFIXES
            .iter()
            .any(|p| u.username.starts_with(p))
        {
            st.store.set_password_hash(u.id, &hash).await?;
        }
    }
    Ok(())
}
