//! Black-box API tests: a real server on port 0 with a fresh database, driven over HTTP.
//! Every scenario runs on SQLite and on PostgreSQL (one suite, two backends).

mod helpers;
mod open311;
mod open311_georeport;
mod probes;
mod scenarios;
mod security;
mod web;

use helpers::{Backend, spawn_app, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_suite_on_sqlite() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    let app = app.expect("sqlite is always available");
    scenarios::run_all(&app).await;
    security::run_all(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_suite_on_postgres() {
    match spawn_app(Backend::Postgres).await.expect("postgres app") {
        Some(app) => {
            scenarios::run_all(&app).await;
            security::run_all(&app).await;
        }
        None => helpers::skipped("api_suite_on_postgres"),
    }
}

fn low_limits(s: &mut safegrid::config::Settings) {
    s.rate_limits.public_intake = safegrid::ratelimit::Rate::new(1, 3);
    s.rate_limits.login = safegrid::ratelimit::Rate::new(1, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_on_sqlite() {
    let app = spawn_app_with(Backend::Sqlite, low_limits)
        .await
        .expect("sqlite app");
    let app = app.expect("sqlite is always available");
    security::rate_limits(&app).await;
    probes::tracking_lookups_are_limited(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_on_postgres() {
    match spawn_app_with(Backend::Postgres, low_limits)
        .await
        .expect("postgres app")
    {
        Some(app) => {
            security::rate_limits(&app).await;
            probes::tracking_lookups_are_limited(&app).await;
        }
        None => helpers::skipped("rate_limits_on_postgres"),
    }
}

mod disputes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disputes_and_petitions_on_sqlite() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    disputes::run_all(&app.expect("sqlite is always available")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disputes_and_petitions_on_postgres() {
    match spawn_app(Backend::Postgres).await.expect("postgres app") {
        Some(app) => disputes::run_all(&app).await,
        None => helpers::skipped("disputes_and_petitions_on_postgres"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attackers_probes_on_sqlite() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    probes::run_all(&app.expect("sqlite is always available")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attackers_probes_on_postgres() {
    match spawn_app(Backend::Postgres).await.expect("postgres app") {
        Some(app) => probes::run_all(&app).await,
        None => helpers::skipped("attackers_probes_on_postgres"),
    }
}

mod pii;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_in_free_text_on_sqlite() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    pii::run_all(&app.expect("sqlite is always available")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_in_free_text_on_postgres() {
    match spawn_app(Backend::Postgres).await.expect("postgres app") {
        Some(app) => pii::run_all(&app).await,
        None => helpers::skipped("personal_data_in_free_text_on_postgres"),
    }
}

mod inputs;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_on_sqlite() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    inputs::run_all(&app.expect("sqlite is always available")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_on_postgres() {
    match spawn_app(Backend::Postgres).await.expect("postgres app") {
        Some(app) => inputs::run_all(&app).await,
        None => helpers::skipped("inputs_on_postgres"),
    }
}

mod tracing;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_and_protocol_details_on_sqlite() {
    let app = spawn_app(Backend::Sqlite).await.expect("sqlite app");
    tracing::run_all(&app.expect("sqlite is always available")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_and_protocol_details_on_postgres() {
    match spawn_app(Backend::Postgres).await.expect("postgres app") {
        Some(app) => tracing::run_all(&app).await,
        None => helpers::skipped("request_ids_and_protocol_details_on_postgres"),
    }
}
