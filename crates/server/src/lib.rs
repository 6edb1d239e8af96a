//! safegrid (平安网格): grid-based community governance. This crate is the server, the CLI and
//! the demo city; the domain rules, geometry and storage live in their own crates.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

#[cfg(feature = "bench")]
pub mod bench;
pub mod config;
pub mod demo;
pub mod disputes;
pub mod export;
pub mod http;
pub mod import;
pub mod intake;
pub mod jobs;
pub mod open311;
pub mod pii;
pub mod ratelimit;
pub mod service;
pub mod state;
pub mod web;

use anyhow::Context;
use safegrid_store::Store;
use state::{AppState, SharedState};
use tokio::net::TcpListener;

/// Connects, migrates and loads the shared state.
pub async fn open(settings: config::Settings) -> anyhow::Result<SharedState> {
    let store = Store::connect(&settings.database).await.with_context(|| {
        format!(
            "connecting to the database ({})",
            redact(&settings.database)
        )
    })?;
    store.migrate().await.context("migrating the database")?;
    AppState::load(store, settings).await
}

/// The database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((scheme_user, host)) => match scheme_user.split_once("://") {
            Some((scheme, user)) => {
                format!("{scheme}://{}@{host}", user.split(':').next().unwrap_or(""))
            }
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Serves the API on `listener` until `shutdown` resolves, with the deadline job and the KPI
/// counter fold running.
pub async fn serve(
    state: SharedState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let runner = format!("{}-{}", std::process::id(), uuid::Uuid::now_v7());
    // Dropping the set aborts the jobs: when serving ends, and also when the caller gives up
    // on this future (the stop's grace period ran out) before closing the database under them.
    let mut background = tokio::task::JoinSet::new();
    background.spawn(jobs::run(state.clone(), runner));
    background.spawn(jobs::run_fold(state.clone()));
    background.spawn(prewarm(state.clone()));
    let app = http::app(state);
    // Peer addresses reach the handlers (per-address rate limits).
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP");
    background.shutdown().await;
    served
}

/// Warms the page cache with the B-trees a new case writes at random places (the store's
/// `prewarm`: at 10,000,000 cases, without it each new case after a restart waits for a disk
/// read per index), while the server already answers; then `/healthz` says `"warm": true`.
/// Logs each B-tree as it goes. A failure is logged and the server serves on, cold: `warm` turns
/// true all the same (warming is over), so a readiness check on it never keeps the server out.
pub async fn prewarm(state: SharedState) {
    use std::sync::atomic::Ordering;
    if !state.settings.prewarm {
        state.warm.store(true, Ordering::Relaxed);
        return;
    }
    let t = std::time::Instant::now();
    let warmed = state
        .store
        .prewarm(|w| {
            tracing::info!(
                btree = w.btree,
                entries = w.entries,
                ms = w.elapsed.as_millis() as u64,
                "page cache warmed"
            )
        })
        .await;
    match warmed {
        Ok(all) => {
            if !all.is_empty() {
                tracing::info!(
                    btrees = all.len(),
                    secs = t.elapsed().as_secs_f64(),
                    "write path warm"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "warming the page cache failed; serving cold"),
    }
    state.warm.store(true, Ordering::Relaxed);
}
