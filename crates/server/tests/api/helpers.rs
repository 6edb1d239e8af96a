//! Test helpers: a fresh database per app (a temporary SQLite file, or a new PostgreSQL
//! database), the demo territory with a few cases, the server on port 0, and typed requests.

use reqwest::{Client, StatusCode};
use safegrid::config::Settings;
use safegrid::demo::{self, DemoOptions};
use serde_json::{Value, json};

pub const PASSWORD: &str = "test-password-2026";

pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub state: safegrid::state::SharedState,
    pub backend: &'static str,
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

/// A fresh PostgreSQL database, or `None` when no server is reachable.
pub async fn fresh_pg_database() -> Option<String> {
    use sqlx::Connection;
    let admin = pg_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
    let name = format!("safegrid_test_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE");
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin);
    Some(format!("{base}/{name}"))
}

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

/// Starts the app with the demo territory and a few hundred cases; `None` when the backend is absent.
pub async fn spawn_app(backend: Backend) -> anyhow::Result<Option<TestApp>> {
    spawn_app_with(backend, |_| {}).await
}

/// As [`spawn_app`], with settings adjusted by `tweak` (rate limits, Open311 options…).
pub async fn spawn_app_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
) -> anyhow::Result<Option<TestApp>> {
    let (url, tmp, name) = match backend {
        Backend::Sqlite => {
            let tmp = tempdir::TempDir::new();
            (
                format!("sqlite://{}/test.db", tmp.0.display()),
                Some(tmp),
                "sqlite",
            )
        }
        Backend::Postgres => match fresh_pg_database().await {
            Some(u) => (u, None, "postgres"),
            None => return Ok(None),
        },
    };
    let mut settings = Settings {
        database: url,
        deadline_scan_seconds: 1,
        ..Settings::default()
    };
    tweak(&mut settings);
    let state = safegrid::open(settings).await?;
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let st = state.clone();
    tokio::spawn(async move {
        let _ = safegrid::serve(st, listener, std::future::pending()).await;
    });
    Ok(Some(TestApp {
        base: format!("http://{addr}"),
        state,
        backend: name,
        _tmp: tmp,
    }))
}

/// A logged-in (cookie) client.
pub async fn login(app: &TestApp, user: &str) -> Client {
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
    assert_eq!(r.status(), StatusCode::OK, "login {user}");
    assert!(
        r.headers()
            .get("set-cookie")
            .is_some_and(|v| v.to_str().unwrap().contains("HttpOnly"))
    );
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
