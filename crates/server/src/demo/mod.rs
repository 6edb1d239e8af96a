//! The demo city: 湖州市 (Huzhou, 330500) with its real counties, townships and villages (NBS 2023
//! codes), the real county boundaries (Tianditu), synthetic township/village/grid polygons that
//! partition each county exactly (deterministic from a seed), departments, the category catalog,
//! one account per role and about a year of cases. Data sources: `data/README.md`.

mod cases;
mod disputes;

use crate::http::auth::{hash_password, random_secret};
use crate::import::parse_divisions;
use crate::state::SharedState;
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

struct Built {
    regions: Vec<Region>,
    grids: Vec<Grid>,
}

/// Invents township, village and grid polygons inside the real county boundaries.
fn build_territory(seed: u64, quiet: bool) -> anyhow::Result<Built> {
    let mut regions =
        parse_divisions(DIVISIONS_CSV).map_err(|e| anyhow::anyhow!("embedded divisions: {e:?}"))?;
    let fc: serde_json::Value = serde_json::from_str(COUNTIES_GEOJSON)?;
    let mut county_geom: BTreeMap<String, MultiPolygon<f64>> = BTreeMap::new();
    for f in fc["features"].as_array().context("county features")? {
        let gb = f["properties"]["gb"].as_str().unwrap_or("");
        let code = format!("{:0<12}", gb.trim_start_matches("156"));
        let mp = safegrid_geo::from_geojson_value(&f["geometry"])
            .map_err(|e| anyhow::anyhow!("county {code}: {e}"))?;
        county_geom.insert(code, mp);
    }
    let children = |regions: &[Region], parent: &str| -> Vec<String> {
        regions
            .iter()
            .filter(|r| r.parent_code.as_deref() == Some(parent))
            .map(|r| r.code.clone())
            .collect()
    };
    let mut geoms: BTreeMap<String, MultiPolygon<f64>> = BTreeMap::new();
    let mut grids = Vec::new();
    let village_total = regions.iter().filter(|r| r.level == 5).count() as u64;
    let pb = bar(quiet, village_total, "grids");
    let names: BTreeMap<String, String> = regions
        .iter()
        .map(|r| (r.code.clone(), r.name.clone()))
        .collect();
    for (county, shape) in &county_geom {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ county.parse::<u64>().unwrap_or(0));
        let towns = children(&regions, county);
        if towns.is_empty() {
            continue;
        }
        let town_villages: Vec<Vec<String>> = towns.iter().map(|t| children(&regions, t)).collect();
        let weights: Vec<f64> = town_villages
            .iter()
            .map(|v| (v.len().max(1) as f64) * rng.random_range(0.7..1.3))
            .collect();
        let town_parts = partition(shape, &weights, &mut rng)
            .map_err(|e| anyhow::anyhow!("partitioning {county}: {e}"))?;
        for ((town, villages), tshape) in towns.iter().zip(&town_villages).zip(town_parts) {
            geoms.insert(town.clone(), tshape.clone());
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
                let n = rng.random_range(10..=20usize);
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
                    grids.push(Grid {
                        county_code: code.county().to_string(),
                        code: code.as_str().to_string(),
                        village_code: village.clone(),
                        name: format!("{short}第{}网格", seq + 1),
                        geometry: serde_json::to_string(&to_geojson_geometry(g))?,
                        households: rng.random_range(120..600),
                        area_m2: area_m2(g),
                    });
                }
                geoms.insert(village.clone(), vshape);
                pb.inc(1);
            }
        }
        geoms.insert(county.clone(), shape.clone());
    }
    pb.finish_and_clear();
    for r in &mut regions {
        if let Some(g) = geoms.get(&r.code) {
            r.geometry = Some(serde_json::to_string(&to_geojson_geometry(g))?);
        }
    }
    Ok(Built { regions, grids })
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
    let catalog = Catalog::builtin();
    st.store.upsert_regions(&built.regions).await?;
    st.store.upsert_grids(&built.grids).await?;
    let depts = departments(&catalog, &built.regions);
    st.store.upsert_departments(&depts).await?;
    let (cat_rows, limit_rows) = catalog_rows(&catalog);
    st.store.upsert_categories(&cat_rows, &limit_rows).await?;
    st.store.set_setting("root_region", ROOT).await?;
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
    let gw_grid = st
        .locator()
        .locate(GRIDWORKER_POINT.0, GRIDWORKER_POINT.1)
        .grid
        .context("the demo grid worker's point lies in no grid")?;
    for (name, role, _) in ACCOUNTS {
        let (regions, grids, department) = match role {
            Role::GridWorker => (vec![], vec![gw_grid.clone()], None),
            Role::Handler => (vec![], vec![], Some("330502-cgj".to_string())),
            Role::Citizen => (vec![], vec![], None),
            _ => (vec![ROOT.to_string()], vec![], None),
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
    let (n_cases, n_events) = cases::generate(st, opts, &catalog, &built.grids).await?;
    // Disputes and petitions with their committees, through the live service.
    let t = Instant::now();
    let n_disputes = disputes::generate(st, seed, opts.cases).await?;
    tracing::info!(
        cases = n_disputes,
        seconds = t.elapsed().as_secs_f64(),
        "demo disputes and petitions"
    );
    let n_cases = n_cases + n_disputes;
    st.store
        .set_setting(BUILT_MARK, &chrono::Utc::now().to_rfc3339())
        .await?;
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
    Ok(())
}
