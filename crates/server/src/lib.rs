//! safegrid (平安网格): grid-based community governance. This crate is the server, the CLI and
//! the demo city; the domain rules, geometry and storage live in their own crates.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

pub mod app;
#[cfg(feature = "bench")]
pub mod bench;
pub mod config;
pub mod demo;
pub mod http;
pub mod http_common;
pub mod metrics_listener;
pub mod open311;
pub mod ratelimit;
pub mod routes;
pub mod tls;
pub mod web;

use anyhow::Context;
use app::state::{AppState, SharedState};
use safegrid_store::Store;
use tokio::net::TcpListener;

/// Connects, migrates and loads the shared state.
pub async fn open(settings: config::Settings) -> anyhow::Result<SharedState> {
    let store = Store::connect(&settings.store_url())
        .await
        .with_context(|| {
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
    background.spawn(app::visits::run_purge(state.clone(), runner.clone()));
    background.spawn(app::jobs::run(state.clone(), runner));
    background.spawn(app::jobs::run_fold(state.clone()));
    background.spawn(app::jobs::prewarm(state.clone()));
    if let Some(addr) = state.settings.metrics_listen.clone() {
        let listener = TcpListener::bind(&addr)
            .await
            .with_context(|| format!("metrics_listen: cannot listen on {addr}"))?;
        tracing::info!(address = %addr, "Prometheus metrics at /metrics");
        let metrics = metrics_listener::app(state.clone());
        background.spawn(async move {
            if let Err(e) = axum::serve(listener, metrics).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let tls = tls::load(&state.settings)?;
    let app = routes::app(state);
    let served = if let Some(tls) = tls {
        tracing::info!(
            sha256 = %tls.fingerprint,
            ca = ?tls.ca_file,
            ca_sha256 = ?tls.ca_fingerprint,
            "serving HTTPS; the server certificate's fingerprint"
        );
        tls::serve(app, listener, tls.config, shutdown)
            .await
            .context("serving HTTPS")
    } else {
        // Peer addresses reach the handlers (per-address rate limits).
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP")
    };
    background.shutdown().await;
    served
}
