//! What an operator does to a running safegrid: back it up while it serves, restore the backup.

use super::helpers::*;
use reqwest::StatusCode;
use safegrid::app::backup;
use safegrid_store::Store;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

story!(backup_while_serving_and_restore_drill);
story!(metrics_count_requests_by_route_template);

/// A fresh database to restore into: a file in `dir` on SQLite, a new empty database on
/// PostgreSQL (dropped by the caller through `drop_pg`).
async fn restore_target(app: &TestApp, dir: &std::path::Path, name: &str) -> String {
    if app.backend == "sqlite" {
        return format!("sqlite://{}", dir.join(format!("{name}.db")).display());
    }
    safegrid_store::scratch_pg_database(
        &pg_admin_url(),
        "safegrid_test_restore",
        std::time::Duration::from_secs(3600),
    )
    .await
    .unwrap()
    .expect("the PostgreSQL server answers: the story runs on it")
}

async fn drop_pg(url: &str) {
    use sqlx::Connection;
    if !url.starts_with("postgres") {
        return;
    }
    let name = url.rsplit('/').next().unwrap();
    let mut admin = sqlx::PgConnection::connect(&pg_admin_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}

/// The restore drill: a backup taken while cases are being filed restores to a database whose
/// audit chain verifies and which holds every case it counted with its history; once filing
/// stops, a backup restores to exactly the live database's rows, table by table.
async fn backup_while_serving_and_restore_drill(app: &TestApp) {
    let dir = tempdir::TempDir::new();
    let st = &app.state;
    let url = st.settings.database.clone();
    let before = st.store.case_count().await.unwrap();

    // Grid workers keep filing while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let filed = Arc::new(AtomicUsize::new(0));
    let gw = login(app, "demo-gridworker").await;
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;
    let writer = {
        let (stop, filed, base) = (stop.clone(), filed.clone(), app.base.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let (s, v) = post(
                    &gw,
                    format!("{base}/api/v1/cases"),
                    json!({"category": "C0102", "description": "备份演练：井盖破损",
                           "lat": lat, "lon": lon}),
                )
                .await;
                assert_eq!(s, StatusCode::CREATED, "{v}");
                filed.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    while filed.load(Ordering::Relaxed) < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let during = dir.0.join("during.backup");
    let b1 = backup::backup(&st.store, &url, &during).await.unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(during.is_file() && b1.bytes > 0);
    assert!(!dir.0.join("during.backup.partial").exists());
    // A backup never overwrites.
    let again = backup::backup(&st.store, &url, &during).await.unwrap_err();
    assert!(again.to_string().contains("never overwrites"), "{again}");

    let target = restore_target(app, &dir.0, "during").await;
    let r1 = backup::restore(&during, &target, false).await.unwrap();
    let cases = r1.count("cases").unwrap();
    let live_after = st.store.case_count().await.unwrap();
    assert!(
        cases >= before + 5 && cases <= live_after,
        "the snapshot lies between the start and the end of the filing: {before} + 5 ≤ {cases} ≤ {live_after}"
    );
    assert!(r1.audit_entries.unwrap() > 0);
    if let Some(n) = b1.count("cases") {
        assert_eq!(
            n, cases,
            "SQLite counts its copy, and the restore finds as many"
        );
    }
    // Every case of the snapshot came with its number, tracking code and first history entry.
    let restored = Store::connect(&target).await.unwrap();
    assert_eq!(restored.table_counts().await.unwrap(), r1.counts);
    let orphans: (i64,) = match &restored {
        Store::Sqlite(p) => sqlx::query_as(ORPHANS).fetch_one(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_as(ORPHANS).fetch_one(p).await.unwrap(),
    };
    assert_eq!(orphans.0, 0, "cases without their tracking code or history");
    restored.close().await;
    drop_pg(&target).await;

    // At rest, the backup is the database, table by table (asked until no job wrote meanwhile).
    let mut matched = false;
    for attempt in 0..3 {
        let live = st.store.table_counts().await.unwrap();
        let out = dir.0.join(format!("rest{attempt}.backup"));
        backup::backup(&st.store, &url, &out).await.unwrap();
        if st.store.table_counts().await.unwrap() != live {
            continue;
        }
        let target = restore_target(app, &dir.0, &format!("rest{attempt}")).await;
        let r = backup::restore(&out, &target, false).await.unwrap();
        drop_pg(&target).await;
        assert_eq!(r.counts, live);
        matched = true;
        break;
    }
    assert!(
        matched,
        "the live database kept changing under three backups"
    );

    // A restore never lands on a database in use: a SQLite file needs --replace and no
    // program on it (this server holds it); PostgreSQL needs an empty database.
    let err = backup::restore(&during, &url, app.backend == "sqlite")
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("in use") || msg.contains("already holds a safegrid schema"),
        "{msg}"
    );
    assert_eq!(st.store.case_count().await.unwrap(), live_after);
}

const ORPHANS: &str = "SELECT COUNT(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM tracking_codes t WHERE t.county_code = c.county_code AND t.case_id = c.id) OR NOT EXISTS (SELECT 1 FROM case_events e WHERE e.county_code = c.county_code AND e.case_id = c.id)";

/// Prometheus metrics on their own listener: requests by route template (never a case's id),
/// status and latency; intake batches; the pool and the waiting KPI changes read at scrape time.
async fn metrics_count_requests_by_route_template(app: &TestApp) {
    // The listener `metrics_listen` opens, on a port of the test's choosing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = safegrid::metrics_listener::app(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, metrics).await.unwrap() });

    let disp = login(app, "demo-dispatcher").await;
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;
    let (s, case) = post(
        &disp,
        format!("{}/api/v1/cases", app.base),
        json!({"category": "C0102", "description": "指标：井盖破损", "lat": lat, "lon": lon}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let id = case["id"].as_str().unwrap();
    let (s, _) = get(&disp, format!("{}/api/v1/cases/{id}", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = get(&disp, format!("{}/api/v1/nothing-here", app.base)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let r = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    for want in [
        r#"safegrid_http_requests_total{route="/api/v1/cases",method="POST",status="201"}"#,
        r#"safegrid_http_requests_total{route="/api/v1/cases/{id}",method="GET",status="200"}"#,
        r#"safegrid_http_requests_total{route="unmatched",method="GET",status="404"}"#,
        r#"safegrid_http_request_duration_seconds_bucket{route="/api/v1/cases/{id}",method="GET",le="0.5"}"#,
        "safegrid_intake_batch_cases_count",
        r#"safegrid_db_pool_connections{state="open"}"#,
        "safegrid_kpi_delta_rows",
        "# HELP safegrid_http_requests_total",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
    assert!(!text.contains(id), "a case id became a label");
}
