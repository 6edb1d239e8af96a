//! Test helpers: each story's app on a database of its own, copied from a template seeded once
//! per test binary and backend (the demo territory with a few hundred cases): a temporary SQLite
//! file, or a PostgreSQL database made with `CREATE DATABASE … TEMPLATE`; the server on port 0;
//! the [`story!`] macro that makes a story a test on each backend; typed requests.

use reqwest::{Client, StatusCode};
use safegrid::config::Settings;
use safegrid::demo::{self, DemoOptions};
use serde_json::{Value, json};
use std::str::FromStr;
use std::sync::OnceLock;

pub const PASSWORD: &str = "test-password-2026";

/// Makes the story `name` (an `async fn(&TestApp)` of the module it is written in) two tests,
/// `name::on_sqlite` and `name::on_postgres`, each on a copy of the seeded database of its own
/// (see [`story`]): `cargo test -p safegrid --test api name` runs that story on both. With a
/// second argument, an `fn(&mut Settings)` adjusts the settings (e.g. low rate limits); without
/// one the rate limits are lifted ([`open_limits`]).
#[allow(unused_macros)] // tests/e2e shares this file and has no stories of this kind
macro_rules! story {
    ($name:ident) => {
        story!($name, $crate::helpers::open_limits);
    };
    ($name:ident, $adjust:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                $crate::helpers::story(
                    $crate::helpers::Backend::Sqlite,
                    concat!(module_path!(), "::on_sqlite"),
                    $adjust,
                    super::$name,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                $crate::helpers::story(
                    $crate::helpers::Backend::Postgres,
                    concat!(module_path!(), "::on_postgres"),
                    $adjust,
                    super::$name,
                )
                .await;
            }
        }
    };
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub state: safegrid::app::state::SharedState,
    pub backend: &'static str,
    server: tokio::task::JoinHandle<()>,
    /// The PostgreSQL copy's name, dropped with the app.
    pg_database: Option<(String, &'static PgCopies)>,
    _tmp: Option<tempdir::TempDir>,
}

/// Prints loudly that a test was skipped; under `CI=true` a skip is a failure.
pub fn skipped(what: &str) {
    let msg = format!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPED {what}: PostgreSQL is not reachable at {}\n\
         !!! (set SAFEGRID_TEST_POSTGRES to a server URL with CREATE DATABASE rights)\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
        pg_admin_url()
    );
    eprintln!("{msg}");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("a skipped test is a failure under CI=true: {what}");
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("SAFEGRID_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Scratch databases are named `safegrid_test_<uuid v7>`: the ones left more than an hour
/// ago (a failed story's copy, a run's template) are dropped when the next template is made.
const PG_PREFIX: &str = "safegrid_test";

pub mod tempdir {
    /// A temporary directory removed on drop.
    pub struct TempDir(pub std::path::PathBuf);
    impl TempDir {
        pub fn new() -> TempDir {
            let p = std::env::temp_dir()
                .join(format!("safegrid-test-{}", uuid::Uuid::now_v7().simple()));
            std::fs::create_dir_all(&p).expect("temp dir");
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Lifts the rate limits: one address runs every story. Stories of the limits pass their own.
pub fn open_limits(s: &mut Settings) {
    let open = safegrid::ratelimit::Rate::new(100_000, 100_000);
    s.rate_limits.login = open;
    s.rate_limits.public_intake = open;
    s.rate_limits.open311_key = open;
    s.rate_limits.open311_address = open;
}

/// Low limits on public intake and login, for the stories of the limits.
pub fn low_limits(s: &mut Settings) {
    s.rate_limits.public_intake = safegrid::ratelimit::Rate::new(1, 3);
    s.rate_limits.login = safegrid::ratelimit::Rate::new(1, 3);
}

/// Runs one story on a copy of `backend`'s seeded database, with its own server. Without
/// PostgreSQL the story is [`skipped`] (loudly; a failure under `CI=true`).
pub async fn story(
    backend: Backend,
    test: &str,
    adjust: fn(&mut Settings),
    story: impl AsyncFnOnce(&TestApp),
) {
    // Each story's pool may open up to 17 connections (16 shared, the intake writer's one):
    // a few PostgreSQL stories at a time stay well under the server's default of 100, however
    // many test threads run.
    static PG_STORIES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
    let _permit = match backend {
        Backend::Postgres => Some(PG_STORIES.acquire().await.expect("semaphore")),
        Backend::Sqlite => None,
    };
    let app = spawn_app_with(backend, adjust)
        .await
        .unwrap_or_else(|e| panic!("{test}: starting the app: {e:#}"));
    match app {
        Some(app) => {
            eprintln!("{test} on {}", app.state.settings.database);
            story(&app).await;
        }
        None => skipped(test),
    }
}

/// The seeded database every story of a backend starts from, made once per test binary: the
/// demo territory with 300 cases takes seconds to build, a copy a fraction of one.
enum Template {
    /// The SQLite file's bytes (checkpointed, so the file is the whole database).
    Sqlite(Vec<u8>),
    /// A PostgreSQL database nobody is connected to (`CREATE DATABASE … TEMPLATE` needs that),
    /// copied ahead of the stories that want one.
    Postgres(PgCopies),
}

/// PostgreSQL copies are made ahead and dropped behind, each on a thread of its own: `CREATE
/// DATABASE … TEMPLATE` (about 0.3 s) and `DROP DATABASE` (0.1–1.5 s) are mostly the server's
/// disk work, which a story need not wait for. One copy waits ready; what is still there when the
/// test binary exits (that spare copy, the last drops, the template) is left to the sweep of
/// scratch databases older than an hour.
struct PgCopies {
    ready: std::sync::Mutex<std::sync::mpsc::Receiver<Result<String, String>>>,
    drops: std::sync::mpsc::Sender<String>,
}

impl PgCopies {
    fn start(template: String) -> PgCopies {
        let (ready_tx, ready) = std::sync::mpsc::sync_channel(0);
        let (drops, to_drop) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            let rt = runtime();
            loop {
                let made = rt.block_on(async {
                    let name = format!("{PG_PREFIX}_{}", uuid::Uuid::now_v7().simple());
                    pg_admin_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
                        .await
                        .map(|()| name)
                        .map_err(|e| format!("copying the PostgreSQL template: {e:#}"))
                });
                if ready_tx.send(made).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            let rt = runtime();
            for name in to_drop {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                if let Err(e) = rt.block_on(pg_admin_execute(&sql)) {
                    eprintln!("dropping {name}: {e:#}");
                }
            }
        });
        PgCopies {
            ready: std::sync::Mutex::new(ready),
            drops,
        }
    }

    /// The next copy's name (waits while none is ready).
    async fn take(&'static self) -> anyhow::Result<String> {
        let made =
            tokio::task::spawn_blocking(|| self.ready.lock().expect("copies").recv()).await?;
        made?.map_err(|e| anyhow::anyhow!("{e}"))
    }
}

static SQLITE_TEMPLATE: OnceLock<Result<Template, String>> = OnceLock::new();
static PG_TEMPLATE: OnceLock<Result<Option<Template>, String>> = OnceLock::new();

/// The backend's template: the first story to ask builds it on a runtime of its own (so that
/// nothing of it belongs to that story's runtime), the others wait for it.
async fn template(backend: Backend) -> anyhow::Result<Option<&'static Template>> {
    let built = tokio::task::spawn_blocking(move || match backend {
        Backend::Sqlite => SQLITE_TEMPLATE
            .get_or_init(|| {
                block_on(sqlite_template())
                    .map_err(|e| format!("building the SQLite template: {e:#}"))
            })
            .as_ref()
            .map(Some),
        Backend::Postgres => PG_TEMPLATE
            .get_or_init(|| {
                block_on(pg_template())
                    .map_err(|e| format!("building the PostgreSQL template: {e:#}"))
            })
            .as_ref()
            .map(Option::as_ref),
    })
    .await?;
    built.map_err(|e| anyhow::anyhow!("{e}"))
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    runtime().block_on(f)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Opens `url`, builds the demo city with its cases and closes everything again.
async fn seed(url: String) -> anyhow::Result<()> {
    let state = safegrid::open(Settings {
        database: url,
        ..Settings::default()
    })
    .await?;
    demo::build(
        &state,
        &DemoOptions {
            seed: 7,
            cases: 300,
            password: Some(PASSWORD.into()),
            quiet: true,
        },
    )
    .await?;
    state.intake.close().await;
    state.store.close().await;
    Ok(())
}

async fn sqlite_template() -> anyhow::Result<Template> {
    use sqlx::{ConnectOptions, Connection};
    let tmp = tempdir::TempDir::new();
    let path = tmp.0.join("test.db");
    let url = format!("sqlite://{}", path.display());
    seed(url.clone()).await?;
    // Everything in the write-ahead log goes into the file, so the file alone is the database.
    let mut c = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?
        .connect()
        .await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut c)
        .await?;
    c.close().await?;
    let wal = path.with_extension("db-wal");
    anyhow::ensure!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "{} still holds pages after the checkpoint",
        wal.display()
    );
    Ok(Template::Sqlite(std::fs::read(&path)?))
}

async fn pg_template() -> anyhow::Result<Option<Template>> {
    let Some(url) = safegrid_store::scratch_pg_database(
        &pg_admin_url(),
        PG_PREFIX,
        std::time::Duration::from_secs(3600),
    )
    .await?
    else {
        return Ok(None);
    };
    seed(url.clone()).await?;
    let name = url.rsplit_once('/').expect("database name").1.to_string();
    Ok(Some(Template::Postgres(PgCopies::start(name))))
}

/// Runs one statement on a connection of its own to the PostgreSQL server's admin database.
async fn pg_admin_execute(sql: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&pg_admin_url()).await?;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(())
}

/// Starts the app on a fresh copy of the seeded database, rate limits lifted (see [`spawn_app_with`]).
#[allow(dead_code)] // the stories use [`story`]; tests/e2e starts its app with this
pub async fn spawn_app(backend: Backend) -> anyhow::Result<Option<TestApp>> {
    spawn_app_with(backend, open_limits).await
}

/// Starts the app on a fresh copy of the seeded database (the demo territory and 300 cases),
/// with the settings adjusted by `adjust`; `None` when the backend is absent.
pub async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> anyhow::Result<Option<TestApp>> {
    let Some(template) = template(backend).await? else {
        return Ok(None);
    };
    let (url, tmp, pg_database) = match template {
        Template::Sqlite(bytes) => {
            let tmp = tempdir::TempDir::new();
            let path = tmp.0.join("test.db");
            tokio::fs::write(&path, bytes).await?;
            (format!("sqlite://{}", path.display()), Some(tmp), None)
        }
        Template::Postgres(copies) => {
            let name = copies.take().await?;
            let admin_url = pg_admin_url();
            let base = admin_url.rsplit_once('/').map_or(&*admin_url, |(b, _)| b);
            (format!("{base}/{name}"), None, Some((name, copies)))
        }
    };
    let mut settings = Settings {
        database: url,
        deadline_scan_seconds: 1,
        ..Settings::default()
    };
    adjust(&mut settings);
    let state = safegrid::open(settings).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let st = state.clone();
    let server = tokio::spawn(async move {
        let _ = safegrid::serve(st, listener, std::future::pending()).await;
    });
    Ok(Some(TestApp {
        base: format!("http://{addr}"),
        state,
        backend: match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        },
        server,
        pg_database,
        _tmp: tmp,
    }))
}

/// Stops the server and has a PostgreSQL copy dropped, a failed story's too (a run that fails
/// everywhere would otherwise leave a database per story); a SQLite copy goes with its
/// temporary directory.
impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        if let Some((name, copies)) = self.pg_database.take() {
            let _ = copies.drops.send(name);
        }
    }
}

/// A logged-in (cookie) client that sends the session's CSRF token on every request, as the
/// web pages do.
pub async fn login(app: &TestApp, user: &str) -> Client {
    login_with(app, user, PASSWORD).await.expect("login")
}

/// Logs in; `Err(status, body)` when refused.
pub async fn login_with(
    app: &TestApp,
    user: &str,
    password: &str,
) -> Result<Client, (StatusCode, Value)> {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let c = Client::builder()
        .cookie_provider(jar.clone())
        .build()
        .expect("client");
    let r = c
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .expect("login request");
    let status = r.status();
    let cookie_ok = r
        .headers()
        .get("set-cookie")
        .is_some_and(|v| v.to_str().unwrap().contains("HttpOnly"));
    let body: Value = r.json().await.unwrap_or(Value::Null);
    if status != StatusCode::OK {
        return Err((status, body));
    }
    assert!(cookie_ok, "session cookie is HttpOnly");
    let token = body["csrf_token"].as_str().expect("csrf_token").to_string();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-csrf-token", token.parse().unwrap());
    Ok(Client::builder()
        .cookie_provider(jar)
        .default_headers(headers)
        .build()
        .expect("client"))
}

/// A client holding `user`'s session cookie but not its CSRF token (a forged cross-site request).
pub async fn login_without_csrf(app: &TestApp, user: &str) -> Client {
    let c = Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let r = c
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "username": user, "password": PASSWORD }))
        .send()
        .await
        .expect("login request");
    assert_eq!(r.status(), StatusCode::OK);
    c
}

pub async fn get(c: &Client, url: String) -> (StatusCode, Value) {
    let r = c.get(url).send().await.expect("GET");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

pub async fn post(c: &Client, url: String, body: Value) -> (StatusCode, Value) {
    let r = c.post(url).json(&body).send().await.expect("POST");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

pub async fn act(app: &TestApp, c: &Client, id: &str, body: Value) -> (StatusCode, Value) {
    post(c, format!("{}/api/v1/cases/{id}/actions", app.base), body).await
}

/// Fires an action that must succeed; returns the case.
pub async fn act_ok(app: &TestApp, c: &Client, id: &str, body: Value) -> Value {
    let (s, v) = act(app, c, id, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body} → {v}");
    v
}

/// A browser-like client: keeps cookies, does not follow redirects (tests read `Location`).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `csrf` hidden field of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    html[at + 19..].split('"').next().unwrap().to_string()
}

/// One attempt at the web login form as `user`: the browser (keeping any session cookie) and
/// the form's answer.
pub async fn web_login_form(
    app: &TestApp,
    user: &str,
    password: &str,
) -> (reqwest::Client, reqwest::Response) {
    let c = browser();
    let html = c
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = c
        .post(format!("{}/login", app.base))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    (c, r)
}

/// A browser logged in through the web form as `user` (the session cookie is kept).
pub async fn web_session(app: &TestApp, user: &str, password: &str) -> reqwest::Client {
    let (c, r) = web_login_form(app, user, password).await;
    assert_eq!(
        r.status(),
        reqwest::StatusCode::SEE_OTHER,
        "web login of {user}"
    );
    c
}
