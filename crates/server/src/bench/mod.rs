//! `safegrid bench`: a province at full scale (浙江省: real NBS codes, 304,000 grids that
//! partition the real county boundaries, N cases with the demo's mix), measured side by side with
//! the tools a team would reach for instead — PostGIS for point → grid, DuckDB for KPIs computed
//! from raw rows, and plain inserts as the ceiling for intake. Prints a table; docs/performance.md
//! explains every line and how to reproduce it.

mod load;
mod peers;
mod stats;

use crate::config::Settings;
use crate::demo::{self, Built, DemoOptions, GridsPerVillage, TerritorySource};
use anyhow::Context;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_geo::Locator;
use safegrid_geo::geo::{BoundingRect, MultiPolygon};
pub use stats::{Latencies, Row, markdown};
use stats::{mib, ms, thousands};
use std::path::PathBuf;
use std::time::Instant;

const DIVISIONS_GZ: &[u8] = include_bytes!("../../../../data/zhejiang/divisions_nbs2023.csv.gz");
const COUNTIES_GEOJSON: &str = include_str!("../../../../data/zhejiang/counties_tianditu.geojson");
/// 浙江省.
pub const PROVINCE: &str = "330000000000";

/// The PostgreSQL database a `--keep` run with working directory `dir` leaves and a `--reuse` run
/// with the same directory measures: named after the directory, so that a smoke test's kept
/// database never replaces the one a long run left in `target/bench`.
pub fn kept_database(dir: &std::path::Path) -> String {
    let path = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    // FNV-1a: stable across builds, unlike std's hasher.
    let hash = path
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    format!("safegrid_bench_kept_{:08x}", hash as u32)
}

/// What to build and measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Where the SQLite database, exports and the DuckDB venv go.
    pub dir: PathBuf,
    pub grids: usize,
    pub cases: usize,
    /// Keep only divisions under this code prefix (a quick run on part of the province).
    pub only: Option<String>,
    pub seed: u64,
    /// Run the SQLite backend (off: a PostgreSQL-only run, e.g. the full run's second half).
    pub sqlite: bool,
    /// A PostgreSQL server URL with CREATE DATABASE rights; `None` skips PostgreSQL and PostGIS.
    pub postgres: Option<String>,
    /// Run the peers (PostGIS, DuckDB).
    pub peers: bool,
    /// Point lookups timed per run.
    pub lookups: usize,
    /// Of those, how many PostGIS answers (it is much slower).
    pub postgis_lookups: usize,
    /// Intake requests per backend, and how many are in flight at once.
    pub intake: usize,
    pub concurrency: usize,
    /// Repetitions of each list and KPI query.
    pub queries: usize,
    /// A missing peer or backend is an error (CI), not a loud skip.
    pub strict: bool,
    /// Leave the generated databases behind (SQLite's file stays in `dir`; PostgreSQL's is
    /// [`kept_database`]) so that later runs can `reuse` them.
    pub keep: bool,
    /// Measure the databases a `keep` run left instead of generating them again: a 10,000,000-case
    /// database takes most of an hour to build, its measurements a few minutes. Each run's intake
    /// adds its cases to them.
    pub reuse: bool,
    /// The server warms its write path's caches (its `prewarm` setting) and intake waits for it.
    pub prewarm: bool,
    /// The safegrid binary the server child runs (this one by default).
    pub exe: PathBuf,
}

/// Everything measured: the table rows, and notes on what was skipped.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub rows: Vec<Row>,
    pub skipped: Vec<String>,
    pub machine: String,
}

impl Report {
    fn skip(&mut self, strict: bool, what: String) -> anyhow::Result<()> {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! SKIPPED {what}\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        if strict {
            anyhow::bail!("skipped under --strict (CI=true): {what}");
        }
        self.skipped.push(what);
        Ok(())
    }
}

fn step(msg: &str) {
    eprintln!("[bench] {msg}");
}

/// The province's grids and regions parsed once: for the lookups, the sample points and PostGIS.
pub(crate) struct Shapes {
    pub grids: Vec<(String, MultiPolygon<f64>)>,
    pub regions: Vec<(String, u8, MultiPolygon<f64>)>,
}

fn parse_shapes(built: &Built) -> anyhow::Result<Shapes> {
    let parse = |s: &str| -> anyhow::Result<MultiPolygon<f64>> {
        crate::app::state::stored_shape(s, "built geometry")?
            .context("a built polygon failed its checks")
    };
    let grids = built
        .grids
        .iter()
        .map(|g| Ok((g.code.clone(), parse(&g.geometry)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let regions = built
        .regions
        .iter()
        .filter_map(|r| r.geometry.as_ref().map(|g| (r, g)))
        .map(|(r, g)| Ok((r.code.clone(), r.level as u8, parse(g)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Shapes { grids, regions })
}

/// `n` points, each in the bounding box of a random grid: nearly all fall in some grid, some in
/// a neighbour, a few outside the province (the mix a locator meets).
pub(crate) fn sample_points(shapes: &Shapes, n: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let boxes: Vec<_> = shapes
        .grids
        .iter()
        .filter_map(|(_, g)| g.bounding_rect())
        .collect();
    (0..n)
        .map(|_| {
            let b = boxes[rng.random_range(0..boxes.len())];
            (
                rng.random_range(b.min().x..=b.max().x),
                rng.random_range(b.min().y..=b.max().y),
            )
        })
        .collect()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = proc_number("/proc/meminfo", "MemTotal:")
        .map(|kb| format!("{:.0} GiB", kb as f64 / 1048576.0))
        .unwrap_or_default();
    format!(
        "{} cores ({cpu}), {mem}, {} {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// Runs the whole benchmark and returns the report (also written to `dir/report.md` and
/// `dir/report.json`).
pub async fn run(opts: &BenchOptions) -> anyhow::Result<Report> {
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("creating {}", opts.dir.display()))?;
    let mut report = Report {
        machine: machine(),
        ..Report::default()
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    // 1. The territory.
    step("partitioning the province's counties into townships, villages and grids…");
    let divisions = {
        use std::io::Read;
        let mut s = Vec::new();
        flate2::read::GzDecoder::new(DIVISIONS_GZ).read_to_end(&mut s)?;
        s
    };
    let t = Instant::now();
    let (grids_wanted, seed, only) = (opts.grids, opts.seed, opts.only.clone());
    let built = tokio::task::spawn_blocking(move || {
        demo::build_territory_from(
            &TerritorySource {
                divisions: &divisions,
                counties_geojson: COUNTIES_GEOJSON,
                grids: GridsPerVillage::Total(grids_wanted),
                only: only.as_deref(),
            },
            seed,
            false,
        )
    })
    .await??;
    let secs = t.elapsed().as_secs_f64();
    let villages = built.regions.iter().filter(|r| r.level == 5).count();
    report.rows.push(Row::new(
        format!(
            "territory: {} regions ({} villages), {} grids partitioned",
            thousands(built.regions.len() as f64),
            thousands(villages as f64),
            thousands(built.grids.len() as f64)
        ),
        format!(
            "{secs:.1} s ({} grids/s, {cores} cores)",
            thousands(built.grids.len() as f64 / secs)
        ),
    ));
    let root = match &opts.only {
        Some(o) => format!("{o:0<12}"),
        None => PROVINCE.to_string(),
    };

    // 2. Point → grid.
    step("building the locator and timing lookups…");
    let shapes = parse_shapes(&built)?;
    let points = sample_points(&shapes, opts.lookups, seed ^ 0x5eed);
    let lookups = lookups(&shapes, &points, cores);
    report.rows.push(Row::new(
        "locator build (grids + regions, in memory)",
        format!("{:.2} s", lookups.build_secs),
    ));
    let one_core_row = Row::new(
        format!(
            "point → grid, 1 core ({} points)",
            thousands(points.len() as f64)
        ),
        format!("{} lookups/s", thousands(lookups.one_core)),
    );
    let all_core_row = Row::new(
        format!("point → grid, {cores} cores"),
        format!("{} lookups/s", thousands(lookups.all_cores)),
    );

    // 3. The backends: build, intake, queries, memory, size, start-up.
    let mut backends: Vec<(&str, String)> = vec![];
    let sqlite_path = opts.dir.join("province.db");
    if opts.reuse {
        if opts.sqlite && !sqlite_path.exists() {
            anyhow::bail!(
                "--reuse: no {} (run once with --keep to leave one)",
                sqlite_path.display()
            );
        }
    } else {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", sqlite_path.display()));
        }
    }
    if opts.sqlite {
        backends.push(("SQLite", format!("sqlite://{}", sqlite_path.display())));
    }
    // Named per run unless kept: two benches on one server (a CI smoke test beside a long run)
    // must not drop each other's databases.
    let pg_name = if opts.keep || opts.reuse {
        kept_database(&opts.dir)
    } else {
        peers::run_db("safegrid_bench")
    };
    match &opts.postgres {
        Some(admin) => {
            let url = if opts.reuse {
                peers::existing_pg_database(admin, &pg_name).await
            } else {
                peers::fresh_pg_database(admin, &pg_name).await
            };
            match url {
                Ok(url) => backends.push(("PostgreSQL", url)),
                Err(e) if e.is::<peers::NoKeptDatabase>() => return Err(e),
                Err(e) => report.skip(
                    opts.strict,
                    format!("PostgreSQL backend and PostGIS: {admin} is not usable ({e:#})"),
                )?,
            }
        }
        None => report.skip(
            opts.strict,
            "PostgreSQL backend and PostGIS (no --postgres URL)".into(),
        )?,
    }
    // DuckDB is compared with the first backend (SQLite unless --no-sqlite).
    let mut first_kpi = None;
    for (i, (name, url)) in backends.iter().enumerate() {
        let b = backend(opts, name, url, &built, &root, &lookups.locator, i == 0).await?;
        report.rows.extend(b.rows);
        if first_kpi.is_none() {
            first_kpi = Some((*name, b.kpi, b.plan, b.export));
        }
    }

    // 4. Peers.
    let mut one_core_row = one_core_row.target("≥ 1,000,000/s", lookups.one_core >= 1e6);
    let mut all_core_row = all_core_row;
    if opts.peers {
        if let Some(admin) = opts
            .postgres
            .as_ref()
            .filter(|_| backends.iter().any(|b| b.0 == "PostgreSQL"))
        {
            step("PostGIS: loading the same polygons into a scratch database…");
            let n = opts.postgis_lookups.min(points.len());
            match peers::postgis(admin, &shapes, &points[..n], &lookups.answers[..n], cores).await {
                Ok(pg) => {
                    let r1 = lookups.one_core / pg.one_core;
                    one_core_row = one_core_row
                        .peer(
                            format!("PostGIS ST_Contains + GiST: {} /s", thousands(pg.one_core)),
                            Some(r1),
                        )
                        .target(
                            "≥ 1,000,000/s and ≥ 20× PostGIS",
                            lookups.one_core >= 1e6 && r1 >= 20.0,
                        );
                    all_core_row = all_core_row.peer(
                        format!("PostGIS, parallel workers: {} /s", thousands(pg.all_cores)),
                        Some(lookups.all_cores / pg.all_cores),
                    );
                    report.rows.push(Row::new(
                        "PostGIS load + GiST index (same polygons)",
                        format!("{:.1} s", pg.load_secs),
                    ));
                    report.rows.push(Row::new(
                        format!(
                            "answers agreeing with PostGIS ({} points)",
                            thousands(n as f64)
                        ),
                        format!("{:.4} %", pg.agreement * 100.0),
                    ));
                }
                Err(e) => report.skip(opts.strict, format!("PostGIS: {e:#}"))?,
            }
        }
        step("DuckDB: the same KPIs from raw case rows…");
        if let Some((first, ours, plan, Some((csv, export_secs)))) = &first_kpi {
            match peers::duckdb(&opts.dir, csv, plan, *export_secs) {
                Ok(duck) => {
                    for ((level, o), (_, d)) in ours.levels.iter().zip(&duck.levels) {
                        let codes = plan
                            .levels
                            .iter()
                            .find(|l| &l.level == level)
                            .map(|l| l.codes.clone())
                            .unwrap_or_default();
                        let differ: Vec<&String> = codes
                            .iter()
                            .filter(|c| ours.values.get(*c) != duck.values.get(*c))
                            .collect();
                        for c in differ.iter().take(3) {
                            eprintln!(
                                "[bench] {c}: safegrid {:?}, DuckDB {:?}",
                                ours.values.get(*c),
                                duck.values.get(*c)
                            );
                        }
                        let (o50, d50) = (o.percentile_ms(50.0), d.percentile_ms(50.0));
                        report.rows.push(
                            Row::new(
                                format!("KPI rates, one {level} ({first}) vs DuckDB from raw rows"),
                                o.p50_p99(),
                            )
                            .peer(
                                format!(
                                    "DuckDB {}; {}",
                                    d.p50_p99(),
                                    if differ.is_empty() {
                                        "same figures".to_string()
                                    } else {
                                        format!("{} of {} nodes DIFFER", differ.len(), codes.len())
                                    }
                                ),
                                Some(d50 / o50),
                            )
                            .target("faster, same figures", o50 < d50 && differ.is_empty()),
                        );
                    }
                    report.rows.push(Row::new(
                        "DuckDB: raw rows exported as CSV, then loaded",
                        format!("{:.1} s + {:.1} s", duck.export_secs, duck.load_secs),
                    ));
                }
                Err(e) => report.skip(opts.strict, format!("DuckDB: {e:#}"))?,
            }
        }
    } else {
        // Asked for, not missing: not an error under --strict.
        report.skipped.push("the peers (--no-peers)".into());
    }
    let ran_postgres = backends.iter().any(|b| b.0 == "PostgreSQL");
    if let Some(admin) = opts.postgres.as_ref().filter(|_| ran_postgres) {
        if opts.keep || opts.reuse {
            step(&format!("PostgreSQL database {pg_name} kept for --reuse"));
        } else {
            peers::drop_database(admin, &pg_name).await?;
        }
    }
    report.rows.insert(2, one_core_row);
    report.rows.insert(3, all_core_row);

    let md = markdown(&report.rows);
    std::fs::write(opts.dir.join("report.md"), &md)?;
    std::fs::write(
        opts.dir.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    Ok(report)
}

/// What the in-memory locator did.
struct Lookups {
    build_secs: f64,
    one_core: f64,
    all_cores: f64,
    /// The grid found for each point (for the agreement check with PostGIS).
    answers: Vec<Option<String>>,
    /// Kept for placing the ceiling run's cases, as the server would.
    locator: Locator,
}

fn lookups(shapes: &Shapes, points: &[(f64, f64)], cores: usize) -> Lookups {
    let t = Instant::now();
    let locator = Locator::new(shapes.grids.clone(), shapes.regions.clone());
    let build_secs = t.elapsed().as_secs_f64();
    let count = |pts: &[(f64, f64)]| -> usize {
        pts.iter()
            .filter(|(x, y)| locator.grid_at(*x, *y).is_some())
            .count()
    };
    // Warm up the caches, then time.
    count(&points[..points.len().min(10_000)]);
    let t = Instant::now();
    let hits = count(points);
    let one_core = points.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let chunk = points.len().div_ceil(cores.max(1)).max(1);
    let hits_all: usize = std::thread::scope(|s| {
        let hs: Vec<_> = points
            .chunks(chunk)
            .map(|c| s.spawn(move || count(c)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let all_cores = points.len() as f64 / t.elapsed().as_secs_f64();
    debug_assert_eq!(hits, hits_all);
    let answers = points
        .iter()
        .map(|(x, y)| locator.grid_at(*x, *y).map(str::to_string))
        .collect();
    Lookups {
        build_secs,
        one_core,
        all_cores,
        answers,
        locator,
    }
}

/// One backend's rows, and its KPI figures (for DuckDB to match).
struct BackendResult {
    rows: Vec<Row>,
    kpi: peers::KpiFigures,
    plan: peers::KpiPlan,
    /// The raw rows as CSV and the seconds the export took (SQLite, with peers).
    export: Option<(PathBuf, f64)>,
}

async fn backend(
    opts: &BenchOptions,
    name: &str,
    url: &str,
    built: &Built,
    root: &str,
    locator: &Locator,
    export_for_duckdb: bool,
) -> anyhow::Result<BackendResult> {
    let mut rows = vec![];
    let settings = Settings {
        database: url.to_string(),
        ..Settings::default()
    };
    let st = crate::open(settings).await?;
    let cases = if opts.reuse {
        reused(&st.store, name, built, &mut rows).await?
    } else {
        generate(opts, &st, name, built, root, &mut rows).await?
    };

    // KPI queries, in process against the store (DuckDB is timed the same way).
    let plan = peers::kpi_plan(built, root, opts.queries, opts.seed);
    let kpi = peers::our_kpis(&st.store, &plan).await?;
    for (level, lat) in &kpi.levels {
        rows.push(
            Row::new(format!("{name}: KPI rates, one {level}"), lat.p50_p99())
                .target("≤ 20 ms (p99)", lat.percentile_ms(99.0) <= 20.0),
        );
    }
    // DuckDB gets the raw rows exactly as they are now, before intake adds more.
    let export = if opts.peers && export_for_duckdb {
        let path = opts.dir.join("cases.csv");
        step("exporting the raw case rows for DuckDB…");
        Some((path.clone(), peers::export_rows(&st.store, &path).await?))
    } else {
        None
    };
    let size = load::database_size(&st.store, url).await?;
    st.store.close().await;
    drop(st);

    // The server as a separate process: start-up, intake, lists, memory.
    let served = load::serve_and_load(opts, name, url, built, root, locator, &plan).await?;
    rows.push(
        Row::new(
            format!(
                "{name}: start-up to serving (province, {} cases)",
                thousands(cases as f64)
            ),
            format!("{:.2} s", served.startup_secs),
        )
        .target("≤ 3 s", served.startup_secs <= 3.0),
    );
    rows.push(Row::new(
        format!("{name}: write path's caches warm, after serving began"),
        format!("{:.1} s", served.warm_secs),
    ));
    let (rate, lat) = (served.intake_rate, &served.intake);
    let (goal, goal_text) = if name == "SQLite" {
        (
            rate >= 3000.0 && lat.percentile_ms(99.0) < 50.0,
            "≥ 3,000/s, p99 < 50 ms",
        )
    } else {
        (rate >= 1500.0, "≥ 1,500/s")
    };
    rows.push(
        Row::new(
            format!(
                "{name}: intake via HTTP ({} requests, {} in flight)",
                thousands(lat.len() as f64),
                opts.concurrency
            ),
            // The slowest request too: a checkpoint holding the writer shows there first.
            format!(
                "{} cases/s, {}, max {} ms",
                thousands(rate),
                lat.p50_p99(),
                ms(lat.percentile_ms(100.0))
            ),
        )
        .peer(
            format!(
                "plain inserts, no HTTP: {} rows/s, {}",
                thousands(served.ceiling_rate),
                served.ceiling.p50_p99()
            ),
            Some(rate / served.ceiling_rate),
        )
        .target(goal_text, goal),
    );
    let per_case = |bytes: u64| bytes as f64 / 1024.0 / lat.len().max(1) as f64;
    let io = served.intake_disk_io;
    rows.push(Row::new(
        format!("{name}: server's disk I/O during intake"),
        format!(
            "read {} ({:.1} KiB per case), written {} ({:.1} KiB per case)",
            mib(io.read),
            per_case(io.read),
            mib(io.written),
            per_case(io.written)
        ),
    ));
    let cpu = &served.intake_cpu;
    let us_per_case = |ns: u64| ns as f64 / 1000.0 / lat.len().max(1) as f64;
    let busiest: Vec<String> = cpu
        .threads
        .iter()
        .take(3)
        .map(|(_, name, ns)| format!("{name} {:.0}", us_per_case(*ns)))
        .collect();
    rows.push(Row::new(
        format!("{name}: server's CPU per case during intake (µs; busiest threads)"),
        format!(
            "all threads {:.0}; {}",
            us_per_case(cpu.total()),
            busiest.join(", ")
        ),
    ));
    rows.push(Row::new(
        format!("{name}: KPI counter changes of the intake folded afterwards (deferred work)"),
        format!(
            "{} rows in {:.2} s ({} rows/s)",
            thousands(served.fold_rows as f64),
            served.fold_secs,
            thousands(served.fold_rows as f64 / served.fold_secs.max(1e-9))
        ),
    ));
    for (level, lat) in &served.kpi_unfolded {
        rows.push(
            Row::new(
                format!(
                    "{name}: KPI rates, one {level}, with the intake's {} counter changes not yet folded",
                    thousands(served.fold_rows as f64)
                ),
                lat.p50_p99(),
            )
            .target("≤ 20 ms (p99)", lat.percentile_ms(99.0) <= 20.0),
        );
    }
    for (what, l) in &served.lists {
        rows.push(Row::new(format!("{name}: list {what}"), l.p50_p99()));
    }
    rows.push(
        Row::new(
            format!("{name}: server peak resident memory (after start-up, intake and queries)"),
            mib(served.peak_rss),
        )
        .target("≤ 2 GiB", served.peak_rss <= 2 << 30),
    );
    rows.push(Row::new(format!("{name}: database size"), mib(size)));
    Ok(BackendResult {
        rows,
        kpi,
        plan,
        export,
    })
}

/// Stores the territory and generates the cases (the rows of both steps); returns the cases.
async fn generate(
    opts: &BenchOptions,
    st: &crate::app::state::SharedState,
    name: &str,
    built: &Built,
    root: &str,
    rows: &mut Vec<Row>,
) -> anyhow::Result<usize> {
    step(&format!(
        "{name}: storing the territory and generating {} cases…",
        thousands(opts.cases as f64)
    ));
    let t = Instant::now();
    st.store.upsert_regions(&built.regions).await?;
    st.store.upsert_grids(&built.grids).await?;
    let secs = t.elapsed().as_secs_f64();
    rows.push(Row::new(
        format!("{name}: import regions + grids"),
        format!(
            "{secs:.1} s ({} grids/s)",
            thousands(built.grids.len() as f64 / secs)
        ),
    ));
    let t = Instant::now();
    let summary = demo::populate(
        st,
        &DemoOptions {
            seed: opts.seed,
            cases: opts.cases,
            password: Some(crate::app::auth::random_secret("")[..20].to_string()),
            quiet: false,
        },
        built,
        root,
    )
    .await?;
    let secs = t.elapsed().as_secs_f64();
    rows.push(Row::new(
        format!(
            "{name}: generate + store {} cases ({} events)",
            thousands(summary.cases as f64),
            thousands(summary.events as f64)
        ),
        format!(
            "{secs:.1} s ({} cases/s)",
            thousands(summary.cases as f64 / secs)
        ),
    ));
    Ok(summary.cases)
}

/// Checks that a kept database holds this run's territory (same `--grids`, `--only` and
/// `--seed`); returns its cases.
async fn reused(
    store: &safegrid_store::Store,
    name: &str,
    built: &Built,
    rows: &mut Vec<Row>,
) -> anyhow::Result<usize> {
    let grids = store.grid_count().await?;
    if grids != built.grids.len() as i64 {
        anyhow::bail!(
            "--reuse: the kept {name} database has {grids} grids, this run builds {} \
             (use the --grids, --only and --seed of the --keep run)",
            built.grids.len()
        );
    }
    let cases = store.case_count().await?;
    if cases == 0 {
        anyhow::bail!("--reuse: the kept {name} database has no cases");
    }
    step(&format!(
        "{name}: reusing {} kept cases",
        thousands(cases as f64)
    ));
    rows.push(Row::new(
        format!(
            "{name}: {} cases kept by an earlier run (--reuse: not generated)",
            thousands(cases as f64)
        ),
        "",
    ));
    Ok(cases as usize)
}

/// The number after `key` on its line of a `/proc` file: kB in `/proc/meminfo` and
/// `/proc/<pid>/status`, bytes in `/proc/<pid>/io`.
fn proc_number(path: &str, key: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse().ok())
    })
}
