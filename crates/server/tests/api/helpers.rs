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
    pub state: safegrid::app::state::SharedState,
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

/// A fresh PostgreSQL database, or `None` when no server is reachable. Databases this suite
/// left more than six hours ago are dropped on the way.
pub async fn fresh_pg_database() -> Option<String> {
    safegrid_store::scratch_pg_database(
        &pg_admin_url(),
        "safegrid_test",
        std::time::Duration::from_secs(6 * 3600),
    )
    .await
    .expect("CREATE DATABASE")
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
/// Rate limits are lifted (one address runs the whole suite); tests of the limits use [`spawn_app_with`].
pub async fn spawn_app(backend: Backend) -> anyhow::Result<Option<TestApp>> {
    spawn_app_with(backend, |s| {
        let open = safegrid::ratelimit::Rate::new(100_000, 100_000);
        s.rate_limits.login = open;
        s.rate_limits.public_intake = open;
        s.rate_limits.open311_key = open;
        s.rate_limits.open311_address = open;
    })
    .await
}

/// Like [`spawn_app`], with the settings adjusted by `adjust`.
pub async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
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
    adjust(&mut settings);
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
