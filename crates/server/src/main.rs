//! The `safegrid` command: serve, build the demo, migrate, import, export, tokens and accounts.
#![forbid(unsafe_code)]

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use safegrid::config::Settings;
use safegrid::demo::{self, DemoOptions};
use safegrid::http::auth::{hash_password, hash_secret, random_secret};
use safegrid::import::ImportError;
use safegrid_domain::Role;
use safegrid_domain::codes::{GridCode, RegionCode};
use safegrid_store::{CaseFilter, NewUser, SortOrder};
use std::io::{Read, Write};
use std::path::PathBuf;

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
        what: safegrid::disputes::MediationCommand,
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
    /// Create a bearer token for an account; prints the token and nothing else.
    Create {
        #[arg(long)]
        user: String,
        /// A label for the token.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires_days: Option<i64>,
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
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SAFEGRID_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[tokio::main]
async fn main() {
    init_tracing();
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn import_result(r: Result<safegrid::import::ImportReport, ImportError>) -> anyhow::Result<()> {
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
            println!(
                "safegrid is serving on http://{addr}/  (API docs: http://{addr}/api/docs, database: {})",
                safegrid::redact(&st.settings.database)
            );
            std::io::stdout().flush().ok();
            safegrid::serve(st, listener, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
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
            result
        }
        Command::Mediation { what } => {
            let st = safegrid::open(settings).await?;
            safegrid::disputes::run_command(&st, what).await
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
        Command::Token {
            what:
                TokenWhat::Create {
                    user,
                    name,
                    expires_days,
                },
        } => {
            let st = safegrid::open(settings).await?;
            let u = st
                .store
                .user_by_name(&user)
                .await
                .map_err(|_| anyhow::anyhow!("no account named {user}"))?;
            let secret = random_secret("sgt_");
            let expires = expires_days.map(|d| chrono::Utc::now() + chrono::Duration::days(d));
            st.store
                .create_token(u.id, &name, &hash_secret(&secret), expires)
                .await?;
            println!("{secret}");
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
            if password.chars().count() < 10 {
                bail!("the password must have at least 10 characters");
            }
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
            println!("created account {} ({}) id {}", u.username, u.role, u.id);
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
    }
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
    st: &safegrid::state::SharedState,
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
    let mut f = CaseFilter {
        region_prefix: prefix,
        case_type,
        order: SortOrder::OldestFirst,
        limit: 1,
        ..Default::default()
    };
    let total = st.store.list_cases(&f, &[]).await?.total;
    let pb = indicatif::ProgressBar::new(total as u64);
    let mut w = csv::Writer::from_writer(output(out)?);
    w.write_record([
        "number",
        "id",
        "type",
        "category",
        "status",
        "urgency",
        "channel",
        "region_code",
        "grid_code",
        "department",
        "lat",
        "lon",
        "created_at",
        "registered_at",
        "dispatched_at",
        "handled_at",
        "closed_at",
        "due_at",
        "overdue",
        "rework_count",
        "rating",
        "description",
    ])?;
    f.limit = 5000;
    let t = |x: Option<chrono::DateTime<chrono::Utc>>| {
        x.map(safegrid::http::local_time).unwrap_or_default()
    };
    loop {
        let page = st.store.list_cases(&f, &[]).await?;
        if page.cases.is_empty() {
            break;
        }
        for c in &page.cases {
            // Reporter contact is personal data and never leaves in an export.
            w.write_record([
                c.number.clone(),
                c.id.to_string(),
                c.case_type.clone(),
                c.category.clone(),
                c.status.clone(),
                c.urgency.as_str().to_string(),
                c.channel.clone(),
                c.region_code.clone(),
                c.grid_code.clone().unwrap_or_default(),
                c.department.clone().unwrap_or_default(),
                c.lat.map(|v| v.to_string()).unwrap_or_default(),
                c.lon.map(|v| v.to_string()).unwrap_or_default(),
                t(Some(c.created_at)),
                t(c.registered_at),
                t(c.dispatched_at),
                t(c.handled_at),
                t(c.closed_at),
                t(c.due_at),
                c.ever_overdue.to_string(),
                c.rework_count.to_string(),
                c.rating.map(|r| r.to_string()).unwrap_or_default(),
                c.description.clone(),
            ])?;
        }
        pb.inc(page.cases.len() as u64);
        f.offset += page.cases.len() as i64;
    }
    w.flush()?;
    pb.finish_and_clear();
    eprintln!("exported {total} cases");
    Ok(())
}

async fn export_grids(
    st: &safegrid::state::SharedState,
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
