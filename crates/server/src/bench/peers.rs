//! The peers a team would reach for instead: PostGIS (`ST_Contains` over a GiST index) for
//! point → grid, DuckDB over the raw case rows for KPIs. Both get the same data as safegrid.

use super::{Latencies, Shapes, step};
use crate::demo::Built;
use anyhow::{Context, bail};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_domain::kpi::Counters;
use safegrid_store::{Store, kpi_day};
use sqlx::{AssertSqlSafe, Connection, Row};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Drops and recreates database `name` on the server at `admin`; returns its URL.
pub async fn fresh_pg_database(admin: &str, name: &str) -> anyhow::Result<String> {
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

/// The URL of database `name` on the server at `admin`, which must exist (an error naming
/// `--keep` if it does not; the server not answering is an error of its own).
pub async fn existing_pg_database(admin: &str, name: &str) -> anyhow::Result<String> {
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    let found: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await?;
    conn.close().await?;
    if found.is_none() {
        return Err(NoKeptDatabase(format!(
            "--reuse: no database {name} on {admin} (run once with --keep and the same --dir, \
             or add --no-postgres)"
        ))
        .into());
    }
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

/// `--reuse` found the PostgreSQL server but not the kept database: an error, not a skip.
#[derive(Debug)]
pub struct NoKeptDatabase(pub String);

impl std::fmt::Display for NoKeptDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoKeptDatabase {}

/// A scratch database name of this run: `base` and the process id.
pub fn run_db(base: &str) -> String {
    format!("{base}_{}", std::process::id())
}

pub async fn drop_database(admin: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await?;
    Ok(())
}

/// PostGIS's figures for the same points.
pub struct PostGis {
    pub load_secs: f64,
    pub one_core: f64,
    pub all_cores: f64,
    /// Share of points where PostGIS and safegrid name the same grid (or both none).
    pub agreement: f64,
}

/// Loads the grids into a scratch PostGIS database with a GiST index and times the
/// point-in-polygon join for `points`, without and with parallel workers.
pub async fn postgis(
    admin: &str,
    shapes: &Shapes,
    points: &[(f64, f64)],
    ours: &[Option<String>],
    cores: usize,
) -> anyhow::Result<PostGis> {
    let name = run_db("safegrid_bench_postgis");
    let url = fresh_pg_database(admin, &name).await?;
    // Dropped whatever happened: a server without PostGIS fails at CREATE EXTENSION, and the
    // scratch database used to stay behind.
    let result = postgis_in(&url, shapes, points, ours, cores).await;
    drop_database(admin, &name).await?;
    result
}

async fn postgis_in(
    url: &str,
    shapes: &Shapes,
    points: &[(f64, f64)],
    ours: &[Option<String>],
    cores: usize,
) -> anyhow::Result<PostGis> {
    let mut c = sqlx::PgConnection::connect(url).await?;
    sqlx::query("CREATE EXTENSION IF NOT EXISTS postgis")
        .execute(&mut c)
        .await
        .context("CREATE EXTENSION postgis (install Debian's postgresql-15-postgis-3)")?;
    let t = Instant::now();
    sqlx::query(
        "CREATE TABLE grids (code text PRIMARY KEY, geom geometry(MultiPolygon, 4326) NOT NULL)",
    )
    .execute(&mut c)
    .await?;
    for chunk in shapes.grids.chunks(2000) {
        let codes: Vec<&str> = chunk.iter().map(|(code, _)| code.as_str()).collect();
        let wkts: Vec<String> = chunk.iter().map(|(_, g)| wkt(g)).collect();
        sqlx::query(
            "INSERT INTO grids SELECT c, ST_Multi(ST_GeomFromText(g, 4326)) FROM unnest($1::text[], $2::text[]) AS t(c, g)",
        )
        .bind(&codes)
        .bind(&wkts)
        .execute(&mut c)
        .await?;
    }
    sqlx::query("CREATE INDEX grids_geom ON grids USING gist (geom)")
        .execute(&mut c)
        .await?;
    sqlx::query("ANALYZE grids").execute(&mut c).await?;
    let load_secs = t.elapsed().as_secs_f64();
    sqlx::query("CREATE TABLE pts (id integer PRIMARY KEY, geom geometry(Point, 4326) NOT NULL)")
        .execute(&mut c)
        .await?;
    for (i, chunk) in points.chunks(20_000).enumerate() {
        let ids: Vec<i32> = (0..chunk.len()).map(|j| (i * 20_000 + j) as i32).collect();
        let xs: Vec<f64> = chunk.iter().map(|p| p.0).collect();
        let ys: Vec<f64> = chunk.iter().map(|p| p.1).collect();
        sqlx::query("INSERT INTO pts SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) FROM unnest($1::int[], $2::float8[], $3::float8[]) AS t(i, x, y)")
            .bind(&ids).bind(&xs).bind(&ys).execute(&mut c).await?;
    }
    sqlx::query("ANALYZE pts").execute(&mut c).await?;
    let join = "SELECT count(g.code) FROM pts p JOIN grids g ON ST_Contains(g.geom, p.geom)";
    // Best of three runs each way: the peer gets every benefit of the doubt.
    let mut time_join = async |workers: usize| -> anyhow::Result<f64> {
        sqlx::query(AssertSqlSafe(format!(
            "SET max_parallel_workers_per_gather = {workers}"
        )))
        .execute(&mut c)
        .await?;
        if workers > 0 {
            for s in [
                "SET parallel_setup_cost = 0",
                "SET parallel_tuple_cost = 0",
                "SET min_parallel_table_scan_size = 0",
            ] {
                sqlx::query(s).execute(&mut c).await?;
            }
        }
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            sqlx::query(join).fetch_one(&mut c).await?;
            best = best.min(t.elapsed().as_secs_f64());
        }
        Ok(points.len() as f64 / best)
    };
    step("PostGIS: timing the join on one core, then with parallel workers…");
    let one_core = time_join(0).await?;
    let all_cores = time_join(cores).await?;
    let pairs =
        sqlx::query("SELECT p.id, g.code FROM pts p JOIN grids g ON ST_Contains(g.geom, p.geom)")
            .fetch_all(&mut c)
            .await?;
    let mut theirs: Vec<Option<String>> = vec![None; points.len()];
    for r in pairs {
        let id: i32 = r.try_get(0)?;
        theirs[id as usize] = Some(r.try_get(1)?);
    }
    let same = theirs.iter().zip(ours).filter(|(a, b)| a == b).count();
    c.close().await?;
    Ok(PostGis {
        load_secs,
        one_core,
        all_cores,
        agreement: same as f64 / points.len().max(1) as f64,
    })
}

/// Well-known text of a multipolygon.
fn wkt(g: &safegrid_geo::geo::MultiPolygon<f64>) -> String {
    let ring = |ls: &safegrid_geo::geo::LineString<f64>| {
        let pts: Vec<String> = ls.coords().map(|c| format!("{} {}", c.x, c.y)).collect();
        format!("({})", pts.join(","))
    };
    let polys: Vec<String> =
        g.0.iter()
            .map(|p| {
                let mut rings = vec![ring(p.exterior())];
                rings.extend(p.interiors().iter().map(ring));
                format!("({})", rings.join(","))
            })
            .collect();
    format!("MULTIPOLYGON({})", polys.join(","))
}

/// Which nodes the KPI queries ask about: per level, `n` nodes drawn at random (the province
/// itself at the top), and the period (the last twelve months, as the leaders' page shows).
#[derive(Debug, Clone, serde::Serialize)]
pub struct KpiPlan {
    pub levels: Vec<KpiLevel>,
    pub from_day: i32,
    pub to_day: i32,
    /// The same period as instants (ms), for DuckDB filtering raw `created_at`.
    pub from_ms: i64,
    pub to_ms: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct KpiLevel {
    pub level: String,
    pub grid: bool,
    /// KPI node codes.
    pub codes: Vec<String>,
    /// What DuckDB filters on: the region code's significant prefix, or the grid code.
    pub keys: Vec<String>,
}

pub fn kpi_plan(built: &Built, root: &str, n: usize, seed: u64) -> KpiPlan {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4b50);
    let mut pick = |codes: Vec<String>| -> Vec<String> {
        if codes.is_empty() {
            return vec![];
        }
        (0..n)
            .map(|_| codes[rng.random_range(0..codes.len())].clone())
            .collect()
    };
    let regions = |level: i16| -> Vec<String> {
        built
            .regions
            .iter()
            .filter(|r| r.level == level && r.code.starts_with(crate::demo::significant(root)))
            .map(|r| r.code.clone())
            .collect()
    };
    let mut levels = vec![];
    for (name, level) in [("province", 1), ("city", 2), ("county", 3)] {
        let codes = if level == 1 {
            vec![super::PROVINCE.to_string(); n]
        } else {
            pick(regions(level))
        };
        if codes.is_empty() {
            // A run on part of the province (`--only` a county) has no city of its own.
            continue;
        }
        let keys = codes
            .iter()
            .map(|c| crate::demo::significant(c).to_string())
            .collect();
        levels.push(KpiLevel {
            level: name.into(),
            grid: false,
            codes,
            keys,
        });
    }
    let grids = pick(built.grids.iter().map(|g| g.code.clone()).collect());
    levels.push(KpiLevel {
        level: "grid".into(),
        grid: true,
        keys: grids.clone(),
        codes: grids,
    });
    let cst = crate::app::time::shanghai();
    let today = Utc::now().with_timezone(&cst).date_naive();
    let first = today - Duration::days(365);
    let start_ms = |d: NaiveDate| {
        cst.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
            .single()
            .map_or(0, |t| t.timestamp_millis())
    };
    KpiPlan {
        levels,
        from_day: kpi_day(first),
        to_day: kpi_day(today),
        from_ms: start_ms(first),
        to_ms: start_ms(today + Duration::days(1)),
    }
}

/// The counters both sides compute, in the order of `duckdb_kpi.py`'s FIGURES.
fn figures(c: &Counters) -> Vec<i64> {
    vec![
        c.reported,
        c.registered,
        c.voided,
        c.closed,
        c.closed_on_time,
        c.handled,
        c.reworked,
        c.rated,
        c.satisfied,
        c.rating_sum,
    ]
}

/// KPI timings per level and the figures per node.
#[derive(Debug, Default)]
pub struct KpiFigures {
    pub levels: Vec<(String, Latencies)>,
    pub values: HashMap<String, Vec<i64>>,
}

/// safegrid's KPI read: one node's counters over the period, then its rates (what
/// `GET /api/v1/stats/kpi` does), timed per query after one warm-up pass.
pub async fn our_kpis(store: &Store, plan: &KpiPlan) -> anyhow::Result<KpiFigures> {
    let mut out = KpiFigures::default();
    for level in &plan.levels {
        for code in &level.codes {
            store.kpi(code, plan.from_day, plan.to_day).await?;
        }
        let mut lat = Latencies::default();
        for code in &level.codes {
            let t = Instant::now();
            let c = store.kpi(code, plan.from_day, plan.to_day).await?;
            std::hint::black_box(c.rates());
            lat.push(t.elapsed());
            out.values.insert(code.clone(), figures(&c));
        }
        out.levels.push((level.level.clone(), lat));
    }
    Ok(out)
}

/// DuckDB's figures for the same plan.
pub struct Duck {
    pub export_secs: f64,
    pub load_secs: f64,
    pub levels: Vec<(String, Latencies)>,
    pub values: HashMap<String, Vec<i64>>,
}

/// Exports the raw case rows as CSV (what DuckDB reads).
pub async fn export_rows(store: &Store, path: &Path) -> anyhow::Result<f64> {
    let t = Instant::now();
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "region_code",
        "grid_code",
        "status",
        "created_at",
        "registered_at",
        "handled_at",
        "closed_at",
        "ever_overdue",
        "rating",
        "rework_count",
    ])?;
    let opt = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    // Pages in key order (SQLite's rowid, PostgreSQL's time-ordered id), so a province's
    // millions of rows never sit in memory at once. Casts give both backends the same types.
    const COLS: &str = "region_code, grid_code, status, created_at, registered_at, handled_at, \
        closed_at, CAST(CAST(ever_overdue AS INTEGER) AS BIGINT), CAST(rating AS BIGINT), \
        CAST(rework_count AS BIGINT)";
    macro_rules! pages {
        ($pool:expr, $key:literal, $after:expr) => {{
            let sql = format!(
                "SELECT {}, {COLS} FROM cases WHERE {} > $1 ORDER BY {} LIMIT 50000",
                $key, $key, $key
            );
            let mut after = $after;
            loop {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(after)
                    .fetch_all($pool)
                    .await?;
                let Some(last) = rows.last() else { break };
                after = last.try_get(0)?;
                for r in &rows {
                    w.write_record([
                        r.try_get::<String, _>(1)?,
                        r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
                        r.try_get::<String, _>(3)?,
                        r.try_get::<i64, _>(4)?.to_string(),
                        opt(r.try_get(5)?),
                        opt(r.try_get(6)?),
                        opt(r.try_get(7)?),
                        r.try_get::<i64, _>(8)?.to_string(),
                        opt(r.try_get(9)?),
                        r.try_get::<i64, _>(10)?.to_string(),
                    ])?;
                }
            }
        }};
    }
    match store {
        Store::Sqlite(pool) => pages!(pool, "rowid", 0i64),
        Store::Postgres(pool) => pages!(pool, "id", uuid::Uuid::nil()),
    }
    w.flush()?;
    Ok(t.elapsed().as_secs_f64())
}

/// Runs `duckdb_kpi.py` in a venv under `dir` (made, and DuckDB installed from PyPI, on first use).
pub fn duckdb(dir: &Path, csv: &Path, plan: &KpiPlan, export_secs: f64) -> anyhow::Result<Duck> {
    let python = venv(dir)?;
    let script = dir.join("duckdb_kpi.py");
    std::fs::write(&script, include_str!("duckdb_kpi.py"))?;
    let plan_path = dir.join("kpi-plan.json");
    std::fs::write(&plan_path, serde_json::to_string(plan)?)?;
    let out_path = dir.join("duckdb-kpi.json");
    let status = Command::new(&python)
        .arg(&script)
        .arg(csv)
        .arg(&plan_path)
        .arg(&out_path)
        .status()
        .context("running DuckDB")?;
    if !status.success() {
        bail!("duckdb_kpi.py failed ({status})");
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out_path)?)?;
    let mut levels = vec![];
    for l in v["levels"].as_array().context("levels")? {
        let mut lat = Latencies::default();
        for s in l["seconds"].as_array().context("seconds")? {
            lat.push(std::time::Duration::from_secs_f64(
                s.as_f64().unwrap_or(0.0),
            ));
        }
        levels.push((l["level"].as_str().unwrap_or("").to_string(), lat));
    }
    let values = serde_json::from_value(v["values"].clone())?;
    Ok(Duck {
        export_secs,
        load_secs: v["load_secs"].as_f64().unwrap_or(0.0),
        levels,
        values,
    })
}

/// A venv with DuckDB from PyPI: `dir/venv/bin/python`.
fn venv(dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let venv = dir.join("venv");
    let python = venv.join("bin/python");
    let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
    if python.exists() && ok(Command::new(&python).args(["-c", "import duckdb"])) {
        return Ok(python);
    }
    step("DuckDB: making a Python venv and installing duckdb from PyPI…");
    if !ok(Command::new("python3").args(["-m", "venv"]).arg(&venv)) {
        bail!("python3 -m venv failed (is python3 with venv installed?)");
    }
    if !ok(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "duckdb>=1.1,<2",
    ])) {
        bail!("pip install duckdb failed (is PyPI reachable?)");
    }
    Ok(python)
}
