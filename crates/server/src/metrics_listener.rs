//! The operator's listener (`metrics_listen`): Prometheus metrics, on an address of its own and
//! off the public one, so it is neither served to residents nor part of the API's document.

use crate::app::state::SharedState;
use axum::Router;

/// The process's Prometheus recorder, installed on first use (one per process, however many
/// servers a test starts); recording starts with it (`app::metrics::enabled`).
pub fn metrics_handle() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
                // Latency buckets from 1 ms to 30 s (the request timeout); batch sizes to 512.
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                        10.0, 30.0,
                    ],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        metrics_exporter_prometheus::Matcher::Full(
                            "safegrid_intake_batch_cases".into(),
                        ),
                        &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
                    )
                })
                .expect("bucket lists are not empty")
                .install_recorder()
                .expect("the only recorder of the process");
            crate::app::metrics::describe();
            crate::app::metrics::enable();
            handle
        })
        .clone()
}

/// The metrics listener's one route: `GET /metrics` in Prometheus' text format, with the figures
/// read at scrape time (pool, write-ahead log, waiting KPI changes) refreshed first.
pub fn app(state: SharedState) -> Router {
    let handle = metrics_handle();
    Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let (state, handle) = (state.clone(), handle.clone());
            async move {
                let (open, idle) = state.store.pool_connections();
                let wal = crate::app::backup::sqlite_file(&state.settings.database)
                    .and_then(|f| {
                        let mut w = f.into_os_string();
                        w.push("-wal");
                        std::fs::metadata(w).ok()
                    })
                    .map_or(0, |m| m.len());
                let delta = state.store.kpi_delta_rows().await.unwrap_or(-1);
                crate::app::metrics::scrape_gauges(open, idle, wal, delta);
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    )
}
