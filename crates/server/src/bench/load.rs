//! The server as a user meets it: a separate `safegrid serve` process on the province database,
//! timed from start to its first answer, loaded with case intake over HTTP, asked for case
//! lists, and measured for peak resident memory. Plain inserts into the same database (no HTTP,
//! no counters, no audit) give the ceiling intake is compared with.

use super::{BenchOptions, Latencies, step};
use crate::demo::Built;
use anyhow::{Context, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safegrid_domain::Role;
use safegrid_domain::catalog::{Catalog, Texts, Urgency};
use safegrid_domain::codes::{CaseNumber, GridCode, PersonName, Phone, RegionCode};
use safegrid_domain::engine::{self, Actor, Case, Context as EngineContext, Event, NewCase};
use safegrid_geo::geo::{BoundingRect, Contains, MultiPolygon, Point};
use safegrid_store::Store;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// What the served process did.
pub struct Served {
    pub startup_secs: f64,
    /// From serving to `/healthz` saying the write path's caches are warm.
    pub warm_secs: f64,
    /// Bytes the server process read from storage (not the page cache) and had written to it
    /// during the timed intake.
    pub intake_disk_io: DiskIo,
    /// On-CPU time of the server's threads during the timed intake, busiest first.
    pub intake_cpu: ThreadCpu,
    /// KPI latencies per level read after intake, before the fold: every read then sums the
    /// settled rows and the intake's counter changes still waiting in the delta.
    pub kpi_unfolded: Vec<(String, Latencies)>,
    /// KPI counter rows the intake left in the delta, and the seconds folding them took.
    pub fold_rows: u64,
    pub fold_secs: f64,
    pub intake: Latencies,
    pub intake_rate: f64,
    pub ceiling: Latencies,
    pub ceiling_rate: f64,
    pub lists: Vec<(String, Latencies)>,
    pub peak_rss: u64,
}

/// One report as a resident or the hotline would file it.
struct Report {
    category: String,
    description: String,
    lat: f64,
    lon: f64,
    urgency: Urgency,
    reporter: (String, String),
}

/// `n` reports at random points inside random grids, with catalog categories and texts.
fn reports(built: &Built, n: usize, seed: u64) -> anyhow::Result<Vec<Report>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let catalog = Catalog::builtin();
    let texts = Texts::builtin();
    let cats: Vec<&str> = catalog
        .categories
        .iter()
        .filter(|c| c.case_type.as_str() == "service_event")
        .map(|c| c.code.as_str())
        .collect();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let g = &built.grids[rng.random_range(0..built.grids.len())];
        let v: serde_json::Value = serde_json::from_str(&g.geometry)?;
        let shape: MultiPolygon<f64> =
            safegrid_geo::from_geojson_value(&v).map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(b) = shape.bounding_rect() else {
            continue;
        };
        let (x, y) = (
            rng.random_range(b.min().x..=b.max().x),
            rng.random_range(b.min().y..=b.max().y),
        );
        if !shape.contains(&Point::new(x, y)) {
            continue;
        }
        let category = cats[rng.random_range(0..cats.len())].to_string();
        let mut pick = |k: usize| rng.random_range(0..k.max(1));
        let description = texts.describe(&category, &mut pick);
        out.push(Report {
            category,
            description,
            lat: (y * 1e6).round() / 1e6,
            lon: (x * 1e6).round() / 1e6,
            urgency: if rng.random_bool(0.1) {
                Urgency::Urgent
            } else {
                Urgency::Normal
            },
            reporter: (
                "王先生".into(),
                format!("139{:08}", rng.random_range(0..100_000_000u32)),
            ),
        });
    }
    Ok(out)
}

/// The child server; killed when dropped, so a failed run leaves no process behind.
struct Server(Child);

impl Drop for Server {
    /// Stops the server as an operator would (SIGTERM: it finishes its requests and closes the
    /// database, which on SQLite folds the write-ahead log into the file), so that the next
    /// `--reuse` run does not start by checkpointing this one's log under load; killed if it has
    /// not stopped within a minute.
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let asked = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        if asked {
            let until = Instant::now() + Duration::from_secs(60);
            while Instant::now() < until {
                if let Ok(Some(_)) = self.0.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            eprintln!("[bench] the server did not stop within 60 s of SIGTERM; killing it");
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The peak resident set (VmHWM) of a process, in bytes.
fn peak_rss(pid: u32) -> u64 {
    super::proc_number(&format!("/proc/{pid}/status"), "VmHWM:").map_or(0, |kb| kb * 1024)
}

/// Bytes a process has had read from storage (page-cache hits not counted) and caused to be
/// written to it.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiskIo {
    pub read: u64,
    pub written: u64,
}

impl DiskIo {
    fn of(pid: u32) -> DiskIo {
        let io = format!("/proc/{pid}/io");
        DiskIo {
            read: super::proc_number(&io, "read_bytes:").unwrap_or(0),
            written: super::proc_number(&io, "write_bytes:").unwrap_or(0),
        }
    }

    fn since(self, before: DiskIo) -> DiskIo {
        DiskIo {
            read: self.read.saturating_sub(before.read),
            written: self.written.saturating_sub(before.written),
        }
    }
}

/// Nanoseconds on a CPU per thread of a process (`/proc/<pid>/task/*/schedstat`), by thread
/// name. Why: intake has one serial part, the thread that runs the writer's SQLite connection;
/// its CPU time per case bounds the rate and shows which part a change made cheaper, where the
/// rate alone moved ±20 % between identical runs (docs/performance.md, ninth round).
#[derive(Debug)]
pub struct ThreadCpu {
    /// `(thread id, name, nanoseconds)`.
    pub threads: Vec<(u32, String, u64)>,
}

impl ThreadCpu {
    fn of(pid: u32) -> ThreadCpu {
        let mut threads = vec![];
        if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for t in dir.flatten() {
                let Some(tid) = t.file_name().to_str().and_then(|s| s.parse().ok()) else {
                    continue;
                };
                let read = |f: &str| std::fs::read_to_string(t.path().join(f)).ok();
                let ns = read("schedstat")
                    .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()));
                if let (Some(name), Some(ns)) = (read("comm"), ns) {
                    threads.push((tid, name.trim().to_string(), ns));
                }
            }
        }
        ThreadCpu { threads }
    }

    /// What each thread used since `before` (threads started since count from zero), busiest
    /// first.
    fn since(self, before: &ThreadCpu) -> ThreadCpu {
        let mut threads: Vec<(u32, String, u64)> = self
            .threads
            .into_iter()
            .map(|(tid, name, ns)| {
                let was = before
                    .threads
                    .iter()
                    .find(|b| b.0 == tid)
                    .map_or(0, |b| b.2);
                (tid, name, ns.saturating_sub(was))
            })
            .collect();
        threads.sort_by_key(|t| std::cmp::Reverse(t.2));
        ThreadCpu { threads }
    }

    /// All threads' nanoseconds.
    pub fn total(&self) -> u64 {
        self.threads.iter().map(|t| t.2).sum()
    }
}

/// Waits until the server's `/healthz` says its caches are warm; the seconds it took.
async fn wait_warm(base: &str) -> anyhow::Result<f64> {
    let t = Instant::now();
    let client = reqwest::Client::new();
    loop {
        let h: serde_json::Value = client
            .get(format!("{base}/healthz"))
            .send()
            .await?
            .json()
            .await?;
        if h["warm"] == true {
            return Ok(t.elapsed().as_secs_f64());
        }
        if t.elapsed() > Duration::from_secs(1800) {
            bail!("the server's caches were not warm within 30 minutes: {h}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts `safegrid serve` on `url`; returns it, its base URL and the seconds until `/healthz`
/// answered.
async fn start(
    opts: &BenchOptions,
    name: &str,
    url: &str,
) -> anyhow::Result<(Server, String, f64)> {
    let config = opts.dir.join(format!("serve-{}.toml", name.to_lowercase()));
    std::fs::write(
        &config,
        format!(
            "database = {}\nlisten = \"127.0.0.1:0\"\nprewarm = {}\n",
            toml::Value::String(url.to_string()),
            opts.prewarm
        ),
    )?;
    let t = Instant::now();
    let mut child = Command::new(&opts.exe)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", opts.exe.display()))?;
    let stdout = child.stdout.take().context("server stdout")?;
    let server = Server(child);
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.split("serving on http://").nth(1)
                && let Some(tx) = tx.take()
            {
                let addr = rest.split('/').next().unwrap_or_default().to_string();
                let _ = tx.send(addr);
            }
        }
    });
    let addr = tokio::time::timeout(Duration::from_secs(300), rx)
        .await
        .context("the server did not start within 300 s")?
        .context("the server exited before serving")?;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            break;
        }
        if t.elapsed() > Duration::from_secs(300) {
            bail!("/healthz did not answer within 300 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok((server, base, t.elapsed().as_secs_f64()))
}

/// A machine token for the command center's dispatcher (who files hotline reports).
async fn dispatcher_token(url: &str) -> anyhow::Result<String> {
    let store = Store::connect(url).await?;
    let user = store.user_by_name("demo-dispatcher").await?;
    let secret = crate::app::auth::random_secret("sgt_");
    store
        .create_token(
            user.id,
            "bench",
            &crate::app::auth::hash_secret(&secret),
            None,
        )
        .await?;
    store.close().await;
    Ok(secret)
}

/// Runs `n` jobs with `concurrency` in flight; each returns its latency.
async fn in_flight<F, Fut>(n: usize, concurrency: usize, job: F) -> anyhow::Result<(Latencies, f64)>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = vec![];
    for _ in 0..concurrency.max(1) {
        let (job, next) = (job.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Latencies::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let s = Instant::now();
                job(i).await?;
                lat.push(s.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Latencies::default();
    for t in tasks {
        all.extend(t.await??);
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    Ok((all, rate))
}

fn body(r: &Report) -> serde_json::Value {
    serde_json::json!({
        "category": r.category,
        "description": r.description,
        "lat": r.lat,
        "lon": r.lon,
        "urgency": r.urgency.as_str(),
        "channel": "hotline",
        "reporter": {"name": r.reporter.0, "phone": r.reporter.1},
    })
}

pub async fn serve_and_load(
    opts: &BenchOptions,
    name: &str,
    url: &str,
    built: &Built,
    root: &str,
    locator: &safegrid_geo::Locator,
    plan: &super::peers::KpiPlan,
) -> anyhow::Result<Served> {
    let token = dispatcher_token(url).await?;
    step(&format!("{name}: starting the server process…"));
    let (server, base, startup_secs) = start(opts, name, url).await?;
    // Intake is measured on the warm server: what it does after its first minutes, not what a
    // restart's first minutes cost (that is `warm_secs`).
    step(&format!("{name}: waiting for the server's caches to warm…"));
    let warm_secs = wait_warm(&base).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(opts.concurrency)
        .build()?;
    let auth = format!("Bearer {token}");

    // Intake: a short warm-up, then the timed run.
    let warm = (opts.intake / 10).clamp(1, 500);
    let all = Arc::new(reports(built, opts.intake + warm, opts.seed ^ 0x1ae)?);
    let post = {
        let (client, base, auth, all) = (client.clone(), base.clone(), auth.clone(), all.clone());
        move |offset: usize| {
            let (client, base, auth, all) =
                (client.clone(), base.clone(), auth.clone(), all.clone());
            move |i: usize| {
                let (client, base, auth) = (client.clone(), base.clone(), auth.clone());
                let b = body(&all[offset + i]);
                async move {
                    let r = client
                        .post(format!("{base}/api/v1/cases"))
                        .header("Authorization", auth)
                        .json(&b)
                        .send()
                        .await?;
                    let status = r.status();
                    // Read to the end, as a client does: a body dropped unread can cost the
                    // connection its keep-alive.
                    let answer = r.bytes().await?;
                    if status != reqwest::StatusCode::CREATED {
                        bail!(
                            "POST /api/v1/cases answered {status}: {}",
                            String::from_utf8_lossy(&answer)
                        );
                    }
                    Ok(())
                }
            }
        }
    };
    step(&format!(
        "{name}: intake over HTTP ({} requests)…",
        opts.intake
    ));
    in_flight(warm, opts.concurrency, post(opts.intake)).await?;
    let io_before = DiskIo::of(server.0.id());
    let cpu_before = ThreadCpu::of(server.0.id());
    let (intake, intake_rate) = in_flight(opts.intake, opts.concurrency, post(0)).await?;
    let intake_cpu = ThreadCpu::of(server.0.id()).since(&cpu_before);
    let intake_disk_io = DiskIo::of(server.0.id()).since(io_before);

    // Case lists, one request at a time (what a dispatcher's page asks for).
    step(&format!("{name}: case list queries…"));
    let lists = lists(opts, &client, &base, &auth, built, root).await?;

    // The ceiling: the same rows inserted straight into the database.
    step(&format!("{name}: plain inserts (the ceiling)…"));
    let (ceiling, ceiling_rate) = ceiling(opts, url, built, locator, &all[..opts.intake]).await?;

    let peak = peak_rss(server.0.id());
    drop(server);

    // The intake's KPI counters wait in the delta: the fold a server runs at its quiet hour,
    // timed here so that the work deferred from intake is on the table too.
    step(&format!(
        "{name}: folding the intake's KPI counter changes…"
    ));
    let store = Store::connect(url).await?;
    // KPIs first, while the delta still holds the intake's changes (the reads before intake met
    // an empty one).
    let kpi_unfolded = super::peers::our_kpis(&store, plan).await?.levels;
    let t = Instant::now();
    let fold_rows = crate::app::jobs::fold_counters(&store, |_| {}).await?;
    let fold_secs = t.elapsed().as_secs_f64();
    store.close().await;
    Ok(Served {
        kpi_unfolded,
        fold_rows,
        fold_secs,
        startup_secs,
        warm_secs,
        intake_disk_io,
        intake_cpu,
        intake,
        intake_rate,
        ceiling,
        ceiling_rate,
        lists,
        peak_rss: peak,
    })
}

/// Makes one list query string from the random stream.
type QueryMaker<'a> = Box<dyn Fn(&mut ChaCha8Rng) -> String + 'a>;

async fn lists(
    opts: &BenchOptions,
    client: &reqwest::Client,
    base: &str,
    auth: &str,
    built: &Built,
    root: &str,
) -> anyhow::Result<Vec<(String, Latencies)>> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x1157);
    let prefix = crate::demo::significant(root);
    let counties: Vec<&str> = built
        .regions
        .iter()
        .filter(|r| r.level == 3 && r.code.starts_with(prefix))
        .map(|r| r.code.as_str())
        .collect();
    let words = ["垃圾", "井盖", "路灯", "噪音", "占道", "积水"];
    let statuses = ["dispatched", "registered", "closed", "handled"];
    let kinds: Vec<(&str, QueryMaker)> = vec![
        (
            "a county's open cases, newest first (20 per page, with total)",
            Box::new(|r: &mut ChaCha8Rng| {
                format!(
                    "region={}&open=true&page_size=20",
                    counties[r.random_range(0..counties.len())]
                )
            }),
        ),
        (
            "the whole territory by status (20 per page, with total)",
            Box::new(|r: &mut ChaCha8Rng| {
                format!(
                    "status={}&page_size=20",
                    statuses[r.random_range(0..statuses.len())]
                )
            }),
        ),
        (
            "one grid's cases",
            Box::new(|r: &mut ChaCha8Rng| {
                format!(
                    "grid={}",
                    built.grids[r.random_range(0..built.grids.len())].code
                )
            }),
        ),
        (
            "a department's open queue, due first",
            Box::new(|r: &mut ChaCha8Rng| {
                format!(
                    "department={}-cgj&open=true&sort=due&page_size=20",
                    &counties[r.random_range(0..counties.len())][..6]
                )
            }),
        ),
        (
            "text search in a county",
            Box::new(|r: &mut ChaCha8Rng| {
                format!(
                    "q={}&region={}&page_size=20",
                    words[r.random_range(0..words.len())],
                    counties[r.random_range(0..counties.len())]
                )
            }),
        ),
    ];
    let mut out = vec![];
    for (what, query) in &kinds {
        let mut lat = Latencies::default();
        for i in 0..opts.queries + 1 {
            let q = query(&mut rng);
            let t = Instant::now();
            let r = client
                .get(format!("{base}/api/v1/cases?{q}"))
                .header("Authorization", auth)
                .send()
                .await?;
            if !r.status().is_success() {
                bail!("GET /api/v1/cases?{q} answered {}", r.status());
            }
            r.bytes().await?;
            // The first request warms up.
            if i > 0 {
                lat.push(t.elapsed());
            }
        }
        out.push((what.to_string(), lat));
    }
    Ok(out)
}

/// The same reports as cases inserted straight into the database: the case row and its first
/// event in one transaction each, with the same number in flight, no HTTP, no counters, no audit.
async fn ceiling(
    opts: &BenchOptions,
    url: &str,
    built: &Built,
    locator: &safegrid_geo::Locator,
    reports: &[Report],
) -> anyhow::Result<(Latencies, f64)> {
    let store = Store::connect(url).await?;
    let cal = safegrid_domain::calendar::WorkCalendar::builtin();
    let (_, limit_rows) = crate::demo::catalog_rows(&Catalog::builtin());
    let limits = crate::app::state::LimitTable::from_rows(&limit_rows);
    let grid_village: std::collections::HashMap<&str, &str> = built
        .grids
        .iter()
        .map(|g| (g.code.as_str(), g.village_code.as_str()))
        .collect();
    let now = chrono::Utc::now();
    let actor = Actor {
        id: None,
        username: "bench".into(),
        role: Role::Dispatcher,
        department: None,
        grids: vec![],
        regions: vec![],
    };
    let mut rows: Vec<(Case, Vec<Event>)> = Vec::with_capacity(reports.len());
    for (i, r) in reports.iter().enumerate() {
        let grid = locator.grid_at(r.lon, r.lat).map(str::to_string);
        let region = grid
            .as_deref()
            .and_then(|g| grid_village.get(g))
            .map_or_else(|| super::PROVINCE.to_string(), |v| v.to_string());
        let county = region[..6].to_string();
        let new = NewCase {
            id: Uuid::now_v7(),
            // Valid numbers far above any day's real sequence, so they never meet the intake's.
            number: Some(CaseNumber::new(
                &county,
                safegrid_domain::calendar::to_local(now).date_naive(),
                900_000_000 + i as u32,
            )?),
            county_code: county,
            tracking_code: format!("B{i:09}"),
            case_type: "service_event".into(),
            category: r.category.clone(),
            urgency: r.urgency,
            channel: "hotline".into(),
            description: r.description.clone(),
            address: None,
            lat: Some(r.lat),
            lon: Some(r.lon),
            needs_grid: grid.is_none(),
            grid_code: grid.as_deref().map(GridCode::parse).transpose()?,
            region_code: RegionCode::parse(&region)?,
            needs_location: false,
            reporter_name: PersonName::parse(&r.reporter.0).ok(),
            reporter_phone: Phone::parse(&r.reporter.1).ok(),
            reporter_user: None,
            reporter_anonymous: false,
        };
        let ctx = EngineContext {
            calendar: &cal,
            limits: &limits,
            now,
        };
        let a = engine::create(new, Some(&actor), &ctx)?;
        rows.push((a.case, vec![a.event]));
    }
    let ids: Vec<Uuid> = rows.iter().map(|(c, _)| c.id).collect();
    let rows = Arc::new(rows);
    let store2 = store.clone();
    let result = in_flight(rows.len(), opts.concurrency, move |i| {
        let (store, rows) = (store2.clone(), rows.clone());
        async move {
            store
                .bulk_insert(std::slice::from_ref(&rows[i]), &[], &[])
                .await?;
            Ok(())
        }
    })
    .await;
    // Take the rows out again, so they do not count in later figures.
    for chunk in ids.chunks(1000) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let marks = marks.join(", ");
        for sql in [
            format!("DELETE FROM case_events WHERE case_id IN ({marks})"),
            format!("DELETE FROM tracking_codes WHERE case_id IN ({marks})"),
            format!("DELETE FROM cases WHERE id IN ({marks})"),
        ] {
            safegrid_store::with_pool!(&store, p => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(p).await?;
            });
        }
    }
    store.close().await;
    result
}

/// The database's size on disk: SQLite's file (after a checkpoint), PostgreSQL's database.
pub async fn database_size(store: &Store, url: &str) -> anyhow::Result<u64> {
    match store {
        Store::Sqlite(p) => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(p)
                .await?;
            let path = url.trim_start_matches("sqlite://");
            let path = path.split('?').next().unwrap_or(path);
            let mut total = 0;
            for suffix in ["", "-wal"] {
                total += std::fs::metadata(format!("{path}{suffix}")).map_or(0, |m| m.len());
            }
            Ok(total)
        }
        Store::Postgres(p) => {
            let (n,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())")
                .fetch_one(p)
                .await?;
            Ok(n as u64)
        }
    }
}
