//! Black-box API tests: a real server on port 0 with a fresh database, driven over HTTP.
//! Every scenario runs on SQLite and on PostgreSQL (one suite, two backends).

mod helpers;
mod scenarios;
mod web;

use helpers::{Backend, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_suite_on_sqlite() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    scenarios::run_all(&app.expect("sqlite is always available")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_suite_on_postgres() {
    match spawn_app(Backend::Postgres).await.expect("postgres app") {
        Some(app) => scenarios::run_all(&app).await,
        None => helpers::skipped("api_suite_on_postgres"),
    }
}
