//! Metrics (监控指标) for Prometheus: what an operator watches — requests by route and status
//! with their latency, intake batches and their commit time, job runs, the database pool and
//! SQLite's write-ahead log. Recorded through the `metrics` facade; the exporter and its own
//! listener (`metrics_listen`, off by default) are set up by the composition root. While no
//! exporter is installed nothing is recorded: one relaxed load per call, no label built.

use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

/// Turns recording on (once an exporter is installed).
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Describes every metric once, so the exporter prints its help and unit.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "safegrid_http_requests_total",
        "HTTP requests answered, by route template, method and status"
    );
    describe_histogram!(
        "safegrid_http_request_duration_seconds",
        Unit::Seconds,
        "Time to the answer's head, by route template and method"
    );
    describe_histogram!(
        "safegrid_intake_batch_cases",
        "New cases stored per group-commit transaction"
    );
    describe_histogram!(
        "safegrid_intake_commit_seconds",
        Unit::Seconds,
        "Time to store one intake batch (its transaction, retries included)"
    );
    describe_counter!(
        "safegrid_job_runs_total",
        "Background job runs, by job and outcome (ok, error)"
    );
    describe_gauge!(
        "safegrid_db_pool_connections",
        "Connections of the shared database pool, by state (open, idle)"
    );
    describe_gauge!(
        "safegrid_sqlite_wal_bytes",
        Unit::Bytes,
        "Size of SQLite's write-ahead log file (0 on PostgreSQL)"
    );
    describe_gauge!(
        "safegrid_kpi_delta_rows",
        "KPI counter changes waiting to be folded into the settled counters"
    );
}

/// One answered request. `route` is the route's template (`/api/v1/cases/{id}`), never the
/// path itself: ids and tracking codes would make a series per case.
pub fn request(route: &str, method: &str, status: u16, seconds: f64) {
    if !enabled() {
        return;
    }
    let labels = [("route", route.to_string()), ("method", method.to_string())];
    metrics::counter!(
        "safegrid_http_requests_total",
        &[
            ("route", route.to_string()),
            ("method", method.to_string()),
            ("status", status.to_string()),
        ]
    )
    .increment(1);
    metrics::histogram!("safegrid_http_request_duration_seconds", &labels).record(seconds);
}

/// One intake batch stored (or refused and retried case by case).
pub fn intake_batch(cases: usize, seconds: f64) {
    if !enabled() {
        return;
    }
    metrics::histogram!("safegrid_intake_batch_cases").record(cases as f64);
    metrics::histogram!("safegrid_intake_commit_seconds").record(seconds);
}

/// One run of a background job.
pub fn job_run(job: &'static str, ok: bool) {
    if !enabled() {
        return;
    }
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!("safegrid_job_runs_total", "job" => job, "outcome" => outcome).increment(1);
}

/// Figures read when Prometheus scrapes rather than kept up to date on every change.
pub fn scrape_gauges(pool_open: u32, pool_idle: usize, wal_bytes: u64, kpi_delta_rows: i64) {
    metrics::gauge!("safegrid_db_pool_connections", "state" => "open").set(pool_open as f64);
    metrics::gauge!("safegrid_db_pool_connections", "state" => "idle").set(pool_idle as f64);
    metrics::gauge!("safegrid_sqlite_wal_bytes").set(wal_bytes as f64);
    metrics::gauge!("safegrid_kpi_delta_rows").set(kpi_delta_rows as f64);
}

#[cfg(test)]
mod tests {
    /// The sample dashboard (docs/grafana/safegrid.json) asks only for metrics this module
    /// describes: a renamed metric fails here, not on an operator's blank panel.
    #[test]
    fn the_sample_dashboard_queries_only_metrics_that_exist() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../../docs/grafana/safegrid.json")).unwrap();
        let source = include_str!("metrics.rs");
        let mut seen = 0;
        for panel in doc["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                    if let Some(name) = word.strip_prefix("safegrid_") {
                        let base = ["_bucket", "_sum", "_count"]
                            .iter()
                            .find_map(|s| name.strip_suffix(s))
                            .unwrap_or(name);
                        assert!(
                            source.contains(&format!("\"safegrid_{base}\"")),
                            "the dashboard asks for safegrid_{name}"
                        );
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen >= 8, "{seen}");
    }
}
