//! The `safegrid` command: serve, build the demo, migrate, import, export, tokens and accounts.
#![forbid(unsafe_code)]

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use safegrid::app::auth::{hash_password, hash_secret, random_secret};
use safegrid::app::import::ImportError;
use safegrid::config::Settings;
use safegrid::demo::{self, DemoOptions};
use safegrid_domain::Role;
use safegrid_domain::codes::{GridCode, RegionCode};
use safegrid_store::{CaseFilter, NewUser, SortOrder};
use std::io::{Read, Write};
use std::path::PathBuf;

/// mimalloc instead of glibc's malloc for the Rust side (SQLite keeps its own): perf put about
/// a tenth of intake's request handling in malloc and free (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "safegrid",
    version,
    about = "safegrid (平安网格): grid-based community governance"
)]
struct Cli {
    /// Configuration file (TOML); default ./safegrid.toml when present.
    #[arg(long, global = true, env = "SAFEGRID_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://FILE (default sqlite://safegrid.db) or postgres://…
    #[arg(long, global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum ConfigWhat {
    /// Check every setting and print them as in force (password hidden); --connect also reaches
    /// the database and says whether migrations are pending.
    Check {
        #[arg(long)]
        connect: bool,
    },
    /// Print docs/safegrid.example.toml: every setting at its default, explained.
    Example,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (and run the deadline job).
    Serve {
        /// Build the Huzhou demo first if the database is empty.
        #[arg(long)]
        demo: bool,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Build the Huzhou demo city into an empty database.
    Demo {
        #[arg(long)]
        seed: Option<u64>,
        /// Number of cases to generate (default 50000).
        #[arg(long)]
        cases: Option<usize>,
    },
    /// Apply database migrations.
    Migrate,
    /// Rewrite the SQLite database file whole with 2 KiB pages (VACUUM): converts a database made
    /// with SQLite's 4 KiB pages (before the ninth round of docs/performance.md) and gives back
    /// free pages. Stop the server first; needs as much free disk again as the file.
    Vacuum,
    /// Check the configuration (file, SAFEGRID__* variables, flags) and print what is in force,
    /// or print the example file documenting every setting.
    Config {
        #[command(subcommand)]
        what: ConfigWhat,
    },
    /// Back up the database while it serves: SQLite a consistent copy (one snapshot), PostgreSQL
    /// pg_dump's custom format; checked (integrity, audit chain) before it takes its name.
    Backup {
        /// The backup file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into --database: a SQLite file (--replace overwrites one no program is
    /// using), or an empty PostgreSQL database; migrated and its audit chain verified.
    Restore {
        /// The backup file (`safegrid backup --out`).
        #[arg(long)]
        from: PathBuf,
        /// Overwrite an existing SQLite file (stop the server first).
        #[arg(long)]
        replace: bool,
    },
    /// Build a province at full scale (浙江省, 304,000 grids, N cases) and measure it side by side
    /// with PostGIS, DuckDB and plain inserts; prints a table (see docs/performance.md).
    #[cfg(feature = "bench")]
    Bench {
        /// Cases to generate: 1,000,000 for a routine run, 10,000,000 for the full one.
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
        /// Grids that partition the territory (Zhejiang has 304,000).
        #[arg(long, default_value_t = 304_000)]
        grids: usize,
        /// Only the divisions under this code prefix (e.g. 3305 for 湖州市): a quick run.
        #[arg(long)]
        only: Option<String>,
        /// Working directory: the SQLite database, exports, the DuckDB venv, report.md/json.
        #[arg(long, default_value = "target/bench")]
        dir: PathBuf,
        /// PostgreSQL server (CREATE DATABASE rights) for the PostgreSQL backend and PostGIS.
        #[arg(
            long,
            env = "SAFEGRID_BENCH_POSTGRES",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        postgres: String,
        /// Skip PostgreSQL (backend and PostGIS).
        #[arg(long)]
        no_postgres: bool,
        /// Skip the SQLite backend (a PostgreSQL-only run; DuckDB is then compared with it).
        #[arg(long)]
        no_sqlite: bool,
        /// Skip the peers (PostGIS, DuckDB).
        #[arg(long)]
        no_peers: bool,
        /// Point lookups timed; PostGIS answers the first --postgis-lookups of them.
        #[arg(long, default_value_t = 2_000_000)]
        lookups: usize,
        #[arg(long, default_value_t = 100_000)]
        postgis_lookups: usize,
        /// Intake requests per backend, and how many are in flight at once.
        #[arg(long, default_value_t = 20_000)]
        intake: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Repetitions of each list and KPI query.
        #[arg(long, default_value_t = 200)]
        queries: usize,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Fail instead of skipping a missing peer or backend (the default under CI=true).
        #[arg(long)]
        strict: bool,
        /// Leave the generated databases for --reuse (SQLite: DIR/province.db; PostgreSQL: a
        /// database named after DIR, safegrid_bench_kept_…; the run prints its name).
        #[arg(long)]
        keep: bool,
        /// Measure the databases a --keep run left instead of generating them again (same
        /// --grids, --only and --seed); each run's intake adds its cases.
        #[arg(long, conflicts_with = "cases")]
        reuse: bool,
        /// Serve without warming the write path's caches (`prewarm = false`): intake as a
        /// restarted server meets it, for comparison.
        #[arg(long)]
        no_prewarm: bool,
    },
    /// Not in this build: says how to build it (a production binary carries no load generator).
    #[cfg(not(feature = "bench"))]
    #[command(hide = true, disable_help_flag = true)]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        _args: Vec<String>,
    },
    /// Import divisions, grids or the official calendar.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Export cases (CSV) or grids (GeoJSON).
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// Machine tokens.
    Token {
        #[command(subcommand)]
        what: TokenWhat,
    },
    /// Accounts.
    User {
        #[command(subcommand)]
        what: UserWhat,
    },
    /// Mediation committees and mediators (人民调解).
    Mediation {
        #[command(subcommand)]
        what: safegrid::app::disputes::MediationCommand,
    },
    /// Screening campaigns (专项行动): list, show with progress, export the table.
    Campaigns {
        #[command(subcommand)]
        what: safegrid::app::campaign_cli::CampaignCommand,
    },
    /// The audit trail: check its hash chain, or search it.
    Audit {
        #[command(subcommand)]
        what: AuditWhat,
    },
    /// Residents' personal data: retention purge and erasure on request.
    Privacy {
        #[command(subcommand)]
        what: PrivacyWhat,
    },
    /// Accounts in bulk: import a table (initial passwords shown once), the template.
    Accounts {
        #[command(subcommand)]
        what: safegrid::app::accounts_io::AccountsCommand,
    },
    /// The register of places (场所): import, export, the import template.
    Places {
        #[command(subcommand)]
        what: safegrid::app::places_cli::PlacesCommand,
    },
    /// The addresses register (门牌): import, export, the import template.
    Addresses {
        #[command(subcommand)]
        what: safegrid::app::visits_cli::AddressesCommand,
    },
    /// Visits (走访): the care-visit retention purge by hand.
    Visits {
        #[command(subcommand)]
        what: safegrid::app::visits_cli::VisitsCommand,
    },
    /// Volunteer and patrol teams (群防群治): import and export a team's members.
    Teams {
        #[command(subcommand)]
        what: safegrid::app::teams_cli::TeamsCommand,
    },
    /// KPI counters (综合评价).
    Kpi {
        #[command(subcommand)]
        what: KpiWhat,
    },
}

#[derive(Subcommand)]
enum KpiWhat {
    /// Fold every waiting counter change into the settled counters now (the server does it at
    /// `kpi_fold_hour` or past `kpi_fold_rows`); figures read the same before and after.
    Fold,
}

#[derive(Subcommand)]
enum AuditWhat {
    /// Walk the chain; exits non-zero and names the first bad entry when a row was edited or removed.
    /// With `--archive`, check archive files too: each one's chain, their order, and that the
    /// newest one ends where the live trail's anchor says.
    Verify {
        #[arg(long)]
        archive: Vec<PathBuf>,
    },
    /// Move entries older than `--before` (a date, Asia/Shanghai; outside the retention period
    /// `audit_retention_days`) to a gzip JSON-lines file; the live trail keeps verifying.
    Archive {
        #[arg(long)]
        before: String,
        /// The archive file, or a directory for `audit-<first>-<last>.jsonl.gz`.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print entries, newest first (tab-separated).
    Search {
        #[arg(long)]
        actor: Option<String>,
        /// An action, or a prefix ending in '.', e.g. `auth.`
        #[arg(long)]
        action: Option<String>,
        #[arg(long)]
        target: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum PrivacyWhat {
    /// Erase reporter name and phone of cases closed more than DAYS days ago.
    Purge {
        #[arg(long)]
        older_than: i64,
    },
    /// Erase a resident's contact data on their request: of one case, or of every case with a phone.
    Erase {
        #[arg(long)]
        case: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Divisions in the NBS CSV layout (code,name,…).
    Divisions { file: PathBuf },
    /// Grids from a GeoJSON FeatureCollection.
    Grids {
        file: PathBuf,
        /// Coordinate system of the file: wgs84 or gcj02 (converted to WGS84).
        #[arg(long, default_value = "wgs84")]
        crs: String,
        /// Property holding each grid's 15-digit code.
        #[arg(long, default_value = "code")]
        code_property: String,
        /// Property holding each grid's name.
        #[arg(long, default_value = "name")]
        name_property: String,
    },
    /// Official calendar days (date,kind,holiday_en,holiday_zh); a year in the file replaces that year.
    Calendar { file: PathBuf },
}

#[derive(Subcommand)]
enum ExportWhat {
    /// Cases as CSV (UTF-8), optionally limited to a region's subtree.
    Cases {
        #[arg(long)]
        region: Option<String>,
        /// Only cases of this type: service_event, dispute, petition or hazard.
        #[arg(long = "type", value_name = "TYPE")]
        case_type: Option<String>,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Grids as a GeoJSON FeatureCollection.
    Grids {
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum TokenWhat {
    /// Create a bearer token for an account, or with --open311 NAME an Open311 api_key for a
    /// client application; prints the secret once and nothing else.
    Create {
        #[arg(long, required_unless_present = "open311", conflicts_with = "open311")]
        user: Option<String>,
        /// Issue an Open311 api_key to the client application NAME (stored hashed).
        #[arg(long, value_name = "NAME")]
        open311: Option<String>,
        /// A label for the token.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until it expires (0: never).
        #[arg(long, default_value_t = 365)]
        expires_days: i64,
        /// Allow reads only (GET); the default allows writes too.
        #[arg(long)]
        read_only: bool,
    },
    /// List account tokens (never their secrets).
    List,
    /// Revoke an account token by id or name, or with --open311 NAME a client's api_key.
    Revoke {
        #[arg(required_unless_present = "open311", conflicts_with = "open311")]
        token: Option<String>,
        #[arg(long, value_name = "NAME")]
        open311: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserWhat {
    /// Create an account. The password is read from standard input with --password-stdin,
    /// else generated and printed.
    Add {
        name: String,
        /// citizen, grid_worker, grid_leader, dispatcher, handler, mediator, leader, admin
        #[arg(long)]
        role: String,
        /// Region codes covered (comma-separated; 2–12 digits) or grid codes (15 digits).
        #[arg(long, value_delimiter = ',')]
        scope: Vec<String>,
        /// Department code (handlers).
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Enrol an account's second factor (动态口令, TOTP): prints the secret and its otpauth URI
    /// for the authenticator app, then reads the app's first code from standard input.
    TotpEnrol { name: String },
    /// Remove an account's second factor (a lost phone); it enrols again.
    TotpReset {
        name: String,
        #[arg(long)]
        reason: String,
    },
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::field::MakeExt;
    let filter = EnvFilter::try_from_env("SAFEGRID_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // One JSON object per line for a log collector; the request's span (its id, method and
    // path) rides in every line logged inside it.
    if std::env::var("SAFEGRID_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .try_init();
        return;
    }
    // sqlx's slow-statement warning carries the whole statement: a bulk load's multi-row
    // inserts are ~100 KB each, and a 10,000,000-case bench wrote a gigabyte of them. The
    // statement's start says which one it was.
    let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let text = format!("{value:?}");
        let text = clip(&text, MAX_LOGGED_FIELD);
        if field.name() == "message" {
            w.write_str(&text)
        } else {
            write!(w, "{}={text}", field.name())
        }
    })
    .delimited(" ");
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .fmt_fields(fields)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The longest field value a log line carries whole, in bytes.
const MAX_LOGGED_FIELD: usize = 2_000;

/// How long a stopping server waits for requests in flight, and then for the database to close,
/// before it exits anyway (each step is bounded, so at worst twice this): inside the 90 s
/// systemd and the 30 s Kubernetes give before SIGKILL. Docker's default is 10 s (`docker stop
/// --time 30` leaves room); a kill in the middle loses nothing committed.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// `text` if it is at most `max` bytes, else its first `max` bytes (at a character boundary)
/// and how much was left out.
fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &text[..end], text.len() - end).into()
}

#[tokio::main]
async fn main() {
    init_tracing();
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {}", describe(&e));
        std::process::exit(1);
    }
}

/// The error and its causes, "a: b: c", leaving out a cause whose text the message before it
/// already ends with: a store error shows the database's message and also gives it as its
/// source, which `{:#}` printed twice ("database error: x: x").
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if out.ends_with(&msg) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&msg);
    }
    out
}

fn import_result(
    r: Result<safegrid::app::import::ImportReport, ImportError>,
) -> anyhow::Result<()> {
    match r {
        Ok(rep) => {
            println!("imported {} {}", rep.imported, rep.what);
            Ok(())
        }
        Err(ImportError::Refused(f)) => bail!("{f}"),
        Err(ImportError::Internal(e)) => Err(e),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(db) = cli.database {
        settings.database = db;
    }
    match cli.command {
        Command::Serve {
            demo: with_demo,
            listen,
        } => {
            if let Some(l) = listen {
                settings.listen = l;
            }
            let listen = settings.listen.clone();
            let st = safegrid::open(settings).await?;
            let password_env = std::env::var("SAFEGRID_DEMO_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            if with_demo {
                let demo_state = demo::state(&st).await?;
                if demo_state == demo::DemoState::Other {
                    bail!(
                        "{} holds territory but no complete demo (a real deployment, or an interrupted demo build): \
                         serve it without --demo, or give --demo an empty database",
                        safegrid::redact(&st.settings.database)
                    );
                }
                if demo_state == demo::DemoState::Empty {
                    let opts = DemoOptions {
                        seed: st.settings.demo_seed,
                        cases: st.settings.demo_cases,
                        password: password_env.clone(),
                        quiet: false,
                    };
                    eprintln!("building the Huzhou (湖州市) demo…");
                    let s = demo::build(&st, &opts).await?;
                    print_summary(&s);
                    print_accounts(s.password.as_deref().or(password_env.as_deref()));
                } else {
                    if let Some(p) = &password_env {
                        demo::reset_passwords(&st, p).await?;
                    }
                    print_accounts(password_env.as_deref());
                }
            }
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            let addr = listener.local_addr()?;
            let scheme = safegrid::tls::scheme(&st.settings);
            println!(
                "safegrid is serving on {scheme}://{addr}/  (API docs: {scheme}://{addr}/api/docs, database: {})",
                safegrid::redact(&st.settings.database)
            );
            std::io::stdout().flush().ok();
            let (signalled, stopping) = tokio::sync::oneshot::channel::<()>();
            let serving = safegrid::serve(st.clone(), listener, async move {
                stop_signal().await;
                tracing::info!("stopping: finishing the requests in flight");
                let _ = signalled.send(());
            });
            // A request that never ends (a stalled client upload) must not keep the service
            // from stopping: a supervisor would kill it anyway, without closing the database.
            let late = async {
                match stopping.await {
                    Ok(()) => tokio::time::sleep(SHUTDOWN_GRACE).await,
                    Err(_) => std::future::pending().await,
                }
            };
            tokio::select! {
                served = serving => served?,
                () = late => tracing::warn!(
                    grace_s = SHUTDOWN_GRACE.as_secs(),
                    "requests still running after the grace period; closing without them"
                ),
            }
            // Store what intake has queued, then close the database (on SQLite the last
            // connection folds the write-ahead log into the file). Bounded like the above: a
            // connection still held by an abandoned request would hold the close forever.
            tracing::info!("stopping: storing queued intake and closing the database");
            let closing = async {
                st.intake.close().await;
                st.store.close().await;
            };
            if tokio::time::timeout(SHUTDOWN_GRACE, closing).await.is_err() {
                tracing::warn!(
                    grace_s = SHUTDOWN_GRACE.as_secs(),
                    "the database did not close within the grace period; exiting (committed writes are safe)"
                );
            } else {
                tracing::info!("stopped");
            }
            Ok(())
        }
        Command::Demo { seed, cases } => {
            let st = safegrid::open(settings).await?;
            let password_env = std::env::var("SAFEGRID_DEMO_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            let opts = DemoOptions {
                seed: seed.unwrap_or(st.settings.demo_seed),
                cases: cases.unwrap_or(st.settings.demo_cases),
                password: password_env.clone(),
                quiet: false,
            };
            let s = demo::build(&st, &opts).await?;
            print_summary(&s);
            print_accounts(s.password.as_deref().or(password_env.as_deref()));
            Ok(())
        }
        #[cfg(not(feature = "bench"))]
        Command::Bench { .. } => bail!(
            "this safegrid was built without the benchmark: build it with \
             `cargo build --release --features bench` (docs/performance.md)"
        ),
        #[cfg(feature = "bench")]
        Command::Bench {
            cases,
            grids,
            only,
            dir,
            postgres,
            no_postgres,
            no_sqlite,
            no_peers,
            lookups,
            postgis_lookups,
            intake,
            concurrency,
            queries,
            seed,
            strict,
            keep,
            reuse,
            no_prewarm,
        } => {
            if let Some(o) = &only
                && (o.is_empty() || o.len() > 12 || !o.bytes().all(|b| b.is_ascii_digit()))
            {
                bail!("--only: must be a division code prefix of up to 12 digits, e.g. 3305");
            }
            if no_sqlite && no_postgres {
                bail!("--no-sqlite, --no-postgres: at least one backend must run");
            }
            for (name, v) in [
                ("--cases", cases),
                ("--grids", grids),
                ("--lookups", lookups),
                ("--intake", intake),
                ("--concurrency", concurrency),
                ("--queries", queries),
            ] {
                if v == 0 {
                    bail!("{name}: must be at least 1");
                }
            }
            let opts = safegrid::bench::BenchOptions {
                dir,
                grids,
                cases,
                only,
                seed,
                sqlite: !no_sqlite,
                postgres: (!no_postgres).then_some(postgres),
                peers: !no_peers,
                lookups,
                postgis_lookups,
                intake,
                concurrency,
                queries,
                strict: strict || std::env::var("CI").is_ok_and(|v| v == "true"),
                keep,
                reuse,
                prewarm: !no_prewarm,
                exe: std::env::current_exe()?,
            };
            let report = safegrid::bench::run(&opts).await?;
            println!("\nsafegrid bench — {}\n", report.machine);
            print!("{}", safegrid::bench::markdown(&report.rows));
            for s in &report.skipped {
                println!("SKIPPED: {s}");
            }
            println!(
                "\n(also in {}/report.md and report.json)",
                opts.dir.display()
            );
            Ok(())
        }
        Command::Vacuum => {
            let spinner = indicatif::ProgressBar::new_spinner()
                .with_message("rewriting the database file (all or nothing)…");
            spinner.enable_steady_tick(std::time::Duration::from_millis(200));
            let t = std::time::Instant::now();
            let result = safegrid_store::Store::rewrite_sqlite(&settings.database).await;
            spinner.finish_and_clear();
            let (before, after) = result
                .with_context(|| format!("vacuum {}", safegrid::redact(&settings.database)))?;
            println!(
                "database {} rewritten in {:.1} s: {before}-byte pages, now {after}",
                safegrid::redact(&settings.database),
                t.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Config { what } => match what {
            ConfigWhat::Example => {
                print!("{}", include_str!("../../../docs/safegrid.example.toml"));
                Ok(())
            }
            ConfigWhat::Check { connect } => {
                settings.check()?;
                let mut shown = settings.clone();
                shown.database = safegrid::redact(&shown.database);
                println!("{}", toml::to_string(&shown)?);
                // The certificate is read (a self-signed one made) now, not at the first phone.
                if let Some(t) = safegrid::tls::load(&settings)? {
                    println!("# HTTPS: server certificate SHA-256 {}", t.fingerprint);
                    if let (Some(ca), Some(fp)) = (&t.ca_file, &t.ca_fingerprint) {
                        println!("# phones install {} (SHA-256 {fp})", ca.display());
                    }
                }
                let missing =
                    safegrid::app::backup::sqlite_file(&settings.database).filter(|f| !f.exists());
                if let (true, Some(f)) = (connect, &missing) {
                    println!(
                        "# {} does not exist yet: the server creates it at its first start",
                        f.display()
                    );
                } else if connect {
                    let store = safegrid_store::Store::connect(&settings.database)
                        .await
                        .with_context(|| {
                            format!("database: {}", safegrid::redact(&settings.database))
                        })?;
                    store.ping().await?;
                    let pending = store.pending_migrations().await?;
                    store.close().await;
                    println!(
                        "# database {} reached ({}); {}",
                        safegrid::redact(&settings.database),
                        store.backend(),
                        if pending == 0 {
                            "migrations up to date".to_string()
                        } else {
                            format!(
                                "{pending} migrations pending (safegrid migrate, or they run at start)"
                            )
                        }
                    );
                }
                eprintln!("configuration OK");
                Ok(())
            }
        },
        Command::Backup { out } => {
            let st = safegrid::open(settings).await?;
            let spinner = indicatif::ProgressBar::new_spinner()
                .with_message(format!("backing up to {}…", out.display()));
            spinner.enable_steady_tick(std::time::Duration::from_millis(200));
            let r = safegrid::app::backup::backup(&st.store, &st.settings.database, &out).await;
            spinner.finish_and_clear();
            let r = r?;
            cli_audit(
                &st,
                "backup.made",
                "database",
                None,
                serde_json::json!({ "file": r.path, "bytes": r.bytes, "cases": r.count("cases") }),
            )
            .await?;
            print_backup("backed up", &r);
            Ok(())
        }
        Command::Restore { from, replace } => {
            let spinner = indicatif::ProgressBar::new_spinner()
                .with_message(format!("restoring {}…", from.display()));
            spinner.enable_steady_tick(std::time::Duration::from_millis(200));
            let r = safegrid::app::backup::restore(&from, &settings.database, replace).await;
            spinner.finish_and_clear();
            let r = r?;
            let st = safegrid::open(settings).await?;
            cli_audit(
                &st,
                "backup.restored",
                "database",
                None,
                serde_json::json!({ "from": from, "cases": r.count("cases") }),
            )
            .await?;
            print_backup("restored", &r);
            Ok(())
        }
        Command::Migrate => {
            let st = safegrid::open(settings).await?;
            println!(
                "database {} is migrated",
                safegrid::redact(&st.settings.database)
            );
            Ok(())
        }
        Command::Import { what } => {
            let st = safegrid::open(settings).await?;
            // Imports run as one transaction, so progress is a ticking spinner rather than a count.
            let spinner =
                indicatif::ProgressBar::new_spinner().with_message("importing (all or nothing)…");
            spinner.enable_steady_tick(std::time::Duration::from_millis(120));
            let result = match what {
                ImportWhat::Divisions { file } => {
                    let bytes = read_file(&file)?;
                    import_result(st.import_divisions(&bytes).await)
                }
                ImportWhat::Grids {
                    file,
                    crs,
                    code_property,
                    name_property,
                } => {
                    let crs = crs
                        .parse()
                        .map_err(|e: safegrid_geo::UnknownCrs| anyhow::anyhow!("--crs: {e}"))?;
                    let bytes = read_file(&file)?;
                    let text = String::from_utf8(bytes)
                        .map_err(|_| anyhow::anyhow!("{}: not valid UTF-8", file.display()))?;
                    import_result(
                        st.import_grids(&text, crs, &code_property, &name_property)
                            .await,
                    )
                }
                ImportWhat::Calendar { file } => {
                    let bytes = read_file(&file)?;
                    import_result(st.import_calendar(&bytes).await)
                }
            };
            spinner.finish_and_clear();
            if result.is_ok() {
                cli_audit(
                    &st,
                    "territory.import",
                    "territory",
                    None,
                    serde_json::json!({}),
                )
                .await?;
            }
            result
        }
        Command::Mediation { what } => {
            let st = safegrid::open(settings).await?;
            safegrid::app::disputes::run_command(&st, what).await
        }
        Command::Campaigns { what } => {
            let st = safegrid::open(settings).await?;
            safegrid::app::campaign_cli::run_command(&st, what).await
        }
        Command::Export { what } => {
            let st = safegrid::open(settings).await?;
            match what {
                ExportWhat::Cases {
                    region,
                    case_type,
                    out,
                } => export_cases(&st, region, case_type, out).await,
                ExportWhat::Grids { region, out } => export_grids(&st, region, out).await,
            }
        }
        Command::Token { what } => {
            let st = safegrid::open(settings).await?;
            match what {
                TokenWhat::Create {
                    open311: Some(client),
                    ..
                } => {
                    let key = safegrid::app::tokens::issue_open311_key(&st, &client).await?;
                    cli_audit(
                        &st,
                        "open311.issue",
                        "open311_client",
                        Some(client.clone()),
                        serde_json::json!({}),
                    )
                    .await?;
                    println!("{key}");
                }
                TokenWhat::Revoke {
                    open311: Some(client),
                    ..
                } => {
                    st.store
                        .revoke_open311_client(client.trim())
                        .await
                        .map_err(|_| anyhow::anyhow!("no live Open311 client named {client}"))?;
                    cli_audit(
                        &st,
                        "open311.revoke",
                        "open311_client",
                        Some(client.clone()),
                        serde_json::json!({}),
                    )
                    .await?;
                    eprintln!("revoked the api_key of Open311 client {client}");
                }
                TokenWhat::Create {
                    user,
                    open311: None,
                    name,
                    expires_days,
                    read_only,
                } => {
                    let user = user.unwrap_or_default();
                    let u = st
                        .store
                        .user_by_name(&user)
                        .await
                        .map_err(|_| anyhow::anyhow!("no account named {user}"))?;
                    let secret = random_secret("sgt_");
                    let expires = (expires_days > 0)
                        .then(|| chrono::Utc::now() + chrono::Duration::days(expires_days));
                    let scopes = if read_only { "read" } else { "read,write" };
                    let t = st
                        .store
                        .create_token_scoped(u.id, &name, &hash_secret(&secret), expires, scopes)
                        .await?;
                    cli_audit(&st, "token.create", "token", Some(t.id.to_string()),
                        serde_json::json!({ "user": user, "name": name, "scopes": scopes, "expires_days": expires_days })).await?;
                    println!("{secret}");
                }
                TokenWhat::List => {
                    for t in st.store.tokens().await? {
                        println!(
                            "{}\t{}\t{}\t{}\texpires {}\t{}",
                            t.id,
                            t.name,
                            t.user_id,
                            t.scopes,
                            t.expires_at
                                .map(safegrid::app::time::local_time)
                                .unwrap_or_else(|| "never".into()),
                            if t.revoked_at.is_some() {
                                "revoked"
                            } else {
                                "live"
                            }
                        );
                    }
                }
                TokenWhat::Revoke {
                    token,
                    open311: None,
                } => {
                    let token = token.unwrap_or_default();
                    let all = st.store.tokens().await?;
                    let t = all
                        .iter()
                        .find(|t| {
                            t.id.to_string() == token || (t.name == token && t.revoked_at.is_none())
                        })
                        .ok_or_else(|| anyhow::anyhow!("no live token with id or name {token}"))?;
                    st.store.revoke_token(t.id).await?;
                    cli_audit(
                        &st,
                        "token.revoke",
                        "token",
                        Some(t.id.to_string()),
                        serde_json::json!({ "name": t.name }),
                    )
                    .await?;
                    println!("revoked {} ({})", t.id, t.name);
                }
            }
            Ok(())
        }
        Command::Audit { what } => {
            let st = safegrid::open(settings).await?;
            match what {
                AuditWhat::Archive { before, out } => {
                    let before = safegrid::app::time::parse_day(&before, "--before", false)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let pb = indicatif::ProgressBar::new_spinner();
                    let done = safegrid::app::audit_archive::archive(
                        &st.store,
                        before,
                        chrono::Utc::now(),
                        st.settings.audit_retention_days,
                        &out,
                        &cli_actor(),
                        |n| pb.set_message(format!("{n} entries written")),
                    )
                    .await?;
                    pb.finish_and_clear();
                    match done {
                        None => println!("nothing to archive: no entry is older than that"),
                        Some(a) => println!(
                            "archived entries {}..{} ({} entries, {:.1} KB) to {}\n  sha256 {}",
                            a.first_seq,
                            a.last_seq,
                            a.entries,
                            a.bytes as f64 / 1e3,
                            a.path.display(),
                            a.sha256
                        ),
                    }
                    Ok(())
                }
                AuditWhat::Verify { archive } => {
                    if !archive.is_empty() {
                        let anchor = st.store.audit_anchor().await?;
                        for line in
                            safegrid::app::audit_archive::verify_files(&archive, anchor.as_ref())?
                        {
                            println!("{line}");
                        }
                    }
                    let pb = indicatif::ProgressBar::new_spinner();
                    let v = st
                        .store
                        .verify_audit(|n| pb.set_message(format!("{n} entries checked")))
                        .await?;
                    pb.finish_and_clear();
                    match v.broken_at {
                        None => {
                            if v.archived > 0 {
                                println!(
                                    "audit trail intact: {} entries (after {} archived)",
                                    v.entries, v.archived
                                );
                            } else {
                                println!("audit trail intact: {} entries", v.entries);
                            }
                            Ok(())
                        }
                        Some(at) => bail!(
                            "audit trail BROKEN at entry {at}: {} ({} entries verified before it)",
                            v.reason.unwrap_or_default(),
                            v.entries
                        ),
                    }
                }
                AuditWhat::Search {
                    actor,
                    action,
                    target,
                    limit,
                } => {
                    let (rows, total) = st
                        .store
                        .audit_search(&safegrid_store::AuditFilter {
                            actor,
                            action,
                            target_id: target,
                            limit,
                            ..Default::default()
                        })
                        .await?;
                    for r in rows {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}:{}\t{}",
                            r.seq,
                            safegrid::app::time::local_time(r.at),
                            r.actor_name,
                            r.ip.unwrap_or_default(),
                            r.action,
                            r.target_type,
                            r.target_id.unwrap_or_default(),
                            r.detail
                        );
                    }
                    eprintln!("{total} matching entries");
                    Ok(())
                }
            }
        }
        Command::Accounts { what } => {
            let st = safegrid::open(settings).await?;
            safegrid::app::accounts_io::run_command(&st, what, &cli_actor()).await
        }
        Command::Places { what } => {
            let st = safegrid::open(settings).await?;
            safegrid::app::places_cli::run_command(&st, what, &cli_actor()).await
        }
        Command::Addresses { what } => {
            let st = safegrid::open(settings).await?;
            safegrid::app::visits_cli::run_addresses(&st, what, &cli_actor()).await
        }
        Command::Visits { what } => {
            let st = safegrid::open(settings).await?;
            safegrid::app::visits_cli::run_visits(&st, what).await
        }
        Command::Teams { what } => {
            let st = safegrid::open(settings).await?;
            safegrid::app::teams_cli::run_command(&st, what, &cli_actor()).await
        }
        Command::Kpi { what } => {
            let st = safegrid::open(settings).await?;
            match what {
                KpiWhat::Fold => {
                    let waiting = st.store.kpi_delta_rows().await?;
                    let pb = indicatif::ProgressBar::new(waiting.max(0) as u64).with_style(
                        indicatif::ProgressStyle::with_template(
                            "{bar:40} {pos}/{len} counter rows folded",
                        )?,
                    );
                    let t = std::time::Instant::now();
                    let moved =
                        safegrid::app::jobs::fold_counters(&st.store, |n| pb.set_position(n))
                            .await?;
                    pb.finish_and_clear();
                    println!(
                        "{moved} counter rows folded in {:.1} s",
                        t.elapsed().as_secs_f64()
                    );
                }
            }
            Ok(())
        }
        Command::Privacy { what } => {
            let st = safegrid::open(settings).await?;
            let by = safegrid_store::Eraser {
                actor_id: None,
                actor_name: cli_actor(),
                reason: String::new(),
            };
            match what {
                PrivacyWhat::Purge { older_than } => {
                    if older_than < 0 {
                        bail!("--older-than: must be 0 or more days");
                    }
                    let cutoff = chrono::Utc::now() - chrono::Duration::days(older_than);
                    let terminal = safegrid_domain::workflow::terminal_states();
                    let pb = indicatif::ProgressBar::new_spinner();
                    let by = safegrid_store::Eraser {
                        reason: format!("retention: closed more than {older_than} days ago"),
                        ..by
                    };
                    let n = st
                        .store
                        .purge_contacts(cutoff, &terminal, &by, 1000, |n| {
                            pb.set_message(format!("{n} cases erased"))
                        })
                        .await?;
                    pb.finish_and_clear();
                    println!(
                        "erased the reporter contact of {n} cases closed before {}",
                        safegrid::app::time::local_time(cutoff)
                    );
                }
                PrivacyWhat::Erase {
                    case,
                    phone,
                    reason,
                } => {
                    if reason.trim().chars().count() < 4 {
                        bail!("--reason: say why (at least 4 characters)");
                    }
                    let by = safegrid_store::Eraser { reason, ..by };
                    let erased = match (case, phone) {
                        (Some(c), None) => {
                            let case = match uuid::Uuid::parse_str(&c) {
                                Ok(id) => st.store.case(id).await,
                                Err(_) => st.store.case_by_number(&c).await,
                            }
                            .map_err(|_| anyhow::anyhow!("--case: no case {c}"))?;
                            st.store.erase_contact(Some(case.id), None, &by).await?
                        }
                        (None, Some(p)) => {
                            let p = safegrid_domain::codes::Phone::parse(&p)
                                .map_err(|e| anyhow::anyhow!("--phone: {}", e.reason))?;
                            st.store.erase_contact(None, Some(p.as_str()), &by).await?
                        }
                        _ => bail!("give exactly one of --case or --phone"),
                    };
                    println!(
                        "erased the reporter contact of {} cases: {}",
                        erased.len(),
                        erased.join(", ")
                    );
                }
            }
            Ok(())
        }
        Command::User {
            what: UserWhat::TotpEnrol { name },
        } => {
            let st = safegrid::open(settings).await?;
            let u = st
                .store
                .user_by_name(&name)
                .await
                .map_err(|_| anyhow::anyhow!("no account named {name}"))?;
            let e = safegrid::app::totp::start(&st, &u, &cli_actor())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("secret (type into the app): {}", e.secret);
            println!("otpauth URI (as a QR code): {}", e.otpauth_uri);
            eprint!("the app's current 6-digit code: ");
            let mut code = String::new();
            std::io::stdin().read_line(&mut code)?;
            safegrid::app::totp::confirm(&st, &u, code.trim(), chrono::Utc::now(), &cli_actor())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("second factor on for {name}: every login now asks for its code");
            Ok(())
        }
        Command::User {
            what: UserWhat::TotpReset { name, reason },
        } => {
            let st = safegrid::open(settings).await?;
            let u = st
                .store
                .user_by_name(&name)
                .await
                .map_err(|_| anyhow::anyhow!("no account named {name}"))?;
            let had = safegrid::app::totp::reset(&st, &u, &cli_actor(), &reason)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if had {
                println!("second factor removed for {name}; it enrols again");
            } else {
                println!("{name} had no second factor");
            }
            Ok(())
        }
        Command::User {
            what:
                UserWhat::Add {
                    name,
                    role,
                    scope,
                    department,
                    display_name,
                    password_stdin,
                },
        } => {
            let st = safegrid::open(settings).await?;
            let role: Role = role.parse().map_err(|e: safegrid_domain::FieldError| {
                anyhow::anyhow!("--role: {}", e.reason)
            })?;
            let (mut regions, mut grids) = (vec![], vec![]);
            for s in scope.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                if s.len() == 15 {
                    grids.push(
                        GridCode::parse(s)
                            .map_err(|e| anyhow::anyhow!("--scope {s}: {}", e.reason))?
                            .as_str()
                            .to_string(),
                    );
                } else {
                    regions.push(
                        RegionCode::parse(s)
                            .map_err(|e| anyhow::anyhow!("--scope {s}: {}", e.reason))?
                            .as_str()
                            .to_string(),
                    );
                }
            }
            if role == Role::Handler && department.is_none() {
                bail!("--department is required for a handler");
            }
            if let Some(d) = &department {
                st.store
                    .department(d)
                    .await
                    .map_err(|_| anyhow::anyhow!("--department: unknown department {d}"))?;
            }
            let (password, generated) = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                (s.trim_end_matches(['\n', '\r']).to_string(), false)
            } else {
                (random_secret("")[..16].to_string(), true)
            };
            safegrid::app::auth::check_password(&password, &name)
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.reason))?;
            let u = st
                .store
                .create_user(&NewUser {
                    username: name.clone(),
                    display_name: display_name.unwrap_or_else(|| name.clone()),
                    password_hash: hash_password(password.clone()).await?,
                    role,
                    department,
                    regions,
                    grids,
                })
                .await?;
            cli_audit(&st, "account.create", "user", Some(u.username.clone()),
                serde_json::json!({ "role": u.role, "department": u.department, "regions": u.regions, "grids": u.grids })).await?;
            println!("created account {} ({}) id {}", u.username, u.role, u.id);
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
    }
}

/// Who runs the CLI, for the audit trail: the operating-system account.
fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into())
    )
}

fn print_backup(what: &str, r: &safegrid::app::backup::Report) {
    println!(
        "{what} {} ({:.1} MB) in {:.1} s",
        r.path.display(),
        r.bytes as f64 / 1e6,
        r.seconds
    );
    if let Some(n) = r.audit_entries {
        println!("  audit chain intact: {n} entries");
    }
    if let Some(n) = r.dumped_tables {
        println!("  pg_dump archive with the data of {n} tables (counted when restored)");
    }
    for (table, n) in r.counts.iter().filter(|(_, n)| *n > 0) {
        println!("  {table:<24} {n:>12}");
    }
}

async fn cli_audit(
    st: &safegrid::app::state::SharedState,
    action: &str,
    target_type: &str,
    target_id: Option<String>,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    st.store
        .audit(&safegrid_store::AuditEntry::new(
            None,
            cli_actor(),
            action,
            target_type,
            target_id,
            detail,
        ))
        .await?;
    Ok(())
}

fn read_file(p: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
    if p.extension().is_some_and(|e| e == "gz") {
        let mut out = vec![];
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .with_context(|| format!("decompressing {}", p.display()))?;
        return Ok(out);
    }
    Ok(bytes)
}

/// `--region CODE` as the significant prefix of its subtree.
fn region_prefix(region: Option<String>) -> anyhow::Result<Option<String>> {
    region
        .map(|r| RegionCode::parse(&r).map(|c| c.short().to_string()))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--region: {}", e.reason))
}

fn output(out: Option<PathBuf>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(&p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    })
}

async fn export_cases(
    st: &safegrid::app::state::SharedState,
    region: Option<String>,
    case_type: Option<String>,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let prefix = region_prefix(region)?;
    if let Some(t) = case_type.as_deref()
        && safegrid_domain::workflow::workflow(t).is_none()
    {
        anyhow::bail!("--type: must be one of service_event, dispute, petition, hazard");
    }
    let f = CaseFilter {
        region_prefix: prefix,
        case_type,
        order: SortOrder::OldestFirst,
        ..Default::default()
    };
    let pb = indicatif::ProgressBar::new(0);
    // An .xlsx file gets the workbook (typed columns, split into sheets of 1,048,575 rows).
    if let Some(path) = out.as_ref().filter(|p| {
        p.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
    }) {
        use safegrid::app::export::{CaseExport, XLSX_SHEET_ROWS, write_cases_xlsx};
        let export = CaseExport::start(st, None, f.clone(), None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let w = write_cases_xlsx(export, path, XLSX_SHEET_ROWS, |done, total| {
            pb.set_length(total.max(done) as u64);
            pb.set_position(done as u64);
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        pb.finish_and_clear();
        cli_audit(
            st,
            "export.cases",
            "cases",
            None,
            serde_json::json!({ "rows": w.rows, "format": "xlsx", "region": f.region_prefix }),
        )
        .await?;
        if w.sheets > 1 {
            eprintln!(
                "exported {} cases in {} sheets (cases-1 …) of at most {XLSX_SHEET_ROWS} rows",
                w.rows, w.sheets
            );
        } else {
            eprintln!("exported {} cases", w.rows);
        }
        return Ok(());
    }
    let (total, mut out) = safegrid::app::export::write_cases(
        st,
        None,
        f.clone(),
        None,
        output(out)?,
        |done, total| {
            pb.set_length(total.max(done) as u64);
            pb.set_position(done as u64);
        },
    )
    .await?;
    out.flush()?;
    pb.finish_and_clear();
    cli_audit(
        st,
        "export.cases",
        "cases",
        None,
        serde_json::json!({ "rows": total, "region": f.region_prefix }),
    )
    .await?;
    eprintln!("exported {total} cases");
    Ok(())
}

async fn export_grids(
    st: &safegrid::app::state::SharedState,
    region: Option<String>,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    let prefix = region_prefix(region)?;
    let mut w = output(out)?;
    write!(w, "{{\"type\":\"FeatureCollection\",\"features\":[")?;
    let mut offset = 0;
    let mut n = 0;
    loop {
        let page = st.store.grids(prefix.as_deref(), 2000, offset).await?;
        if page.is_empty() {
            break;
        }
        offset += page.len() as i64;
        for g in page {
            let geom: serde_json::Value = serde_json::from_str(&g.geometry)?;
            let feat = serde_json::json!({"type": "Feature", "geometry": geom, "properties": {
                "code": g.code, "name": g.name, "village_code": g.village_code, "households": g.households, "area_m2": g.area_m2 }});
            if n > 0 {
                write!(w, ",")?;
            }
            write!(w, "\n{feat}")?;
            n += 1;
        }
    }
    writeln!(w, "\n]}}")?;
    w.flush()?;
    eprintln!("exported {n} grids");
    Ok(())
}

fn print_summary(s: &demo::DemoSummary) {
    eprintln!(
        "demo built in {:.1} s: {} regions, {} grids, {} departments, {} categories, {} cases with {} history entries",
        s.seconds, s.regions, s.grids, s.departments, s.categories, s.cases, s.events
    );
}

fn print_accounts(password: Option<&str>) {
    println!("demo accounts (演示账号):");
    for (name, role, covers) in demo::ACCOUNTS {
        println!("  {name:<16} {:<12} {covers}", role.as_str());
    }
    match password {
        Some(p) => println!("  password (密码): {p}"),
        None => println!(
            "  password (密码): as printed when the demo was built; set SAFEGRID_DEMO_PASSWORD to reset it"
        ),
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM — what systemd, Docker and Kubernetes send to stop a
/// service — so either ends in a graceful shutdown.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C still stops");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::{clip, describe};
    use safegrid_store::StoreError;

    /// The default (production) build has no benchmark: `bench` is not listed, and asking for it
    /// says how to build it instead of "unrecognized subcommand".
    #[cfg(not(feature = "bench"))]
    #[tokio::test]
    async fn the_default_build_says_how_to_get_the_bench() {
        use clap::{CommandFactory, Parser};
        let help = super::Cli::command().render_long_help().to_string();
        assert!(!help.contains("bench"), "{help}");
        let cli = super::Cli::try_parse_from(["safegrid", "bench", "--only", "3305", "--keep"])
            .expect("bench parses to its stub");
        let err = super::run(cli).await.expect_err("no bench in this build");
        assert!(
            describe(&err).contains("cargo build --release --features bench"),
            "{err:#}"
        );
    }

    /// With the feature, `bench` is a listed command with its options.
    #[cfg(feature = "bench")]
    #[test]
    fn the_bench_build_lists_the_bench() {
        use clap::CommandFactory;
        let help = super::Cli::command().render_long_help().to_string();
        assert!(help.contains("bench"), "{help}");
    }

    #[test]
    fn long_log_fields_are_clipped_at_a_character_boundary() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("0123456789", 10), "0123456789");
        assert_eq!(clip("0123456789abc", 10), "0123456789… (3 more bytes)");
        // "网格" is 3 bytes a character: 4 bytes fall inside the second one.
        assert_eq!(clip("网格员", 4), "网… (6 more bytes)");
    }

    #[test]
    fn an_error_and_its_causes_are_told_once_each() {
        let e = anyhow::Error::from(StoreError::Db(sqlx::Error::PoolTimedOut)).context("kpi fold");
        assert_eq!(
            describe(&e),
            format!("kpi fold: database error: {}", sqlx::Error::PoolTimedOut)
        );
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::from(io).context("reading grids.geojson");
        assert_eq!(describe(&e), "reading grids.geojson: no such file");
    }
}
