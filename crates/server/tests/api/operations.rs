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
story!(audit_archive_moves_old_entries_and_the_chain_still_verifies);
story!(xlsx_case_export_has_typed_columns_and_splits_into_sheets);

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

/// Runs one statement on the app's database.
async fn exec_sql(app: &TestApp, sql: &str) {
    match &app.state.store {
        Store::Sqlite(p) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await
                .unwrap();
        }
        Store::Postgres(p) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(p)
                .await
                .unwrap();
        }
    }
}

/// 等保 2.0's audit retention: entries older than the retention period move to a file, the live
/// trail verifies from the anchor on, the files verify alone and as one history, and an edited
/// anchor or archive is caught. The clock is moved instead of waiting six months.
async fn audit_archive_moves_old_entries_and_the_chain_still_verifies(app: &TestApp) {
    use chrono::{Duration, Utc};
    use safegrid::app::audit_archive;
    let dir = tempdir::TempDir::new();
    let store = &app.state.store;
    // Some traffic worth auditing.
    for _ in 0..3 {
        login(app, "demo-dispatcher").await;
    }
    let live = store.verify_audit(|_| {}).await.unwrap();
    assert_eq!(live.broken_at, None, "{live:?}");
    let written = live.entries;
    assert!(written >= 3, "{live:?}");

    // Inside the retention period: refused, naming the flag, nothing moved.
    let now = Utc::now();
    let err = audit_archive::archive(
        store,
        now - Duration::days(30),
        now,
        180,
        &dir.0,
        "cli:test",
        |_| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("--before") && err.contains("180 days"),
        "{err}"
    );
    // (Jobs of the running server may append entries meanwhile: counts are compared as bounds.)
    let v = store.verify_audit(|_| {}).await.unwrap();
    assert_eq!((v.archived, v.broken_at), (0, None), "{v:?}");
    assert!(v.entries >= written, "{v:?}");

    // Six months and more later, everything written so far is old enough; the newest entry
    // stays live so the chain has a tip to continue from.
    let later = now + Duration::days(200);
    let first = audit_archive::archive(
        store,
        now + Duration::seconds(5),
        later,
        180,
        &dir.0,
        "cli:test",
        |_| {},
    )
    .await
    .unwrap()
    .expect("entries to archive");
    assert_eq!(first.first_seq, 1);
    assert_eq!(first.entries, first.last_seq);
    assert!(first.entries >= written - 1, "{first:?}");
    assert_eq!(first.deleted as i64, first.entries);
    let v = store.verify_audit(|_| {}).await.unwrap();
    assert_eq!(v.broken_at, None, "{v:?}");
    assert_eq!(v.archived, first.last_seq);
    // The live trail holds at least the newest old entry and the archive's own record.
    assert!(v.entries >= 2, "{v:?}");
    let (recs, _) = store
        .audit_search(&safegrid_store::AuditFilter {
            action: Some("audit.archive".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].detail["file_sha256"], first.sha256.as_str());

    // The trail goes on; a second archive continues the first.
    login(app, "demo-leader").await;
    let second = audit_archive::archive(
        store,
        now + Duration::days(1),
        later + Duration::days(2),
        180,
        &dir.0,
        "cli:test",
        |_| {},
    )
    .await
    .unwrap()
    .expect("entries to archive");
    assert_eq!(second.first_seq, first.last_seq + 1);
    let v = store.verify_audit(|_| {}).await.unwrap();
    assert_eq!(v.broken_at, None, "{v:?}");
    assert_eq!(v.archived, second.last_seq);
    let anchor = store.audit_anchor().await.unwrap();
    let lines =
        audit_archive::verify_files(&[second.path.clone(), first.path.clone()], anchor.as_ref())
            .unwrap();
    assert_eq!(lines.len(), 3, "{lines:?}");
    // Only the newer file: it does not start at entry 1, so it is checked alone and against the anchor.
    audit_archive::verify_files(std::slice::from_ref(&second.path), anchor.as_ref()).unwrap();
    // The older file alone is not where the live trail starts.
    assert!(
        audit_archive::verify_files(std::slice::from_ref(&first.path), anchor.as_ref()).is_err()
    );

    // An anchor edited by hand no longer matches the entry that vouches for it.
    exec_sql(
        app,
        &format!(
            "UPDATE audit_archives SET file_sha256 = 'x' WHERE upto_seq = {}",
            second.last_seq
        ),
    )
    .await;
    let v = store.verify_audit(|_| {}).await.unwrap();
    assert!(v.broken_at.is_some(), "{v:?}");
    assert!(v.reason.unwrap().contains("anchor"));
    exec_sql(
        app,
        &format!(
            "UPDATE audit_archives SET file_sha256 = '{}' WHERE upto_seq = {}",
            second.sha256, second.last_seq
        ),
    )
    .await;
    assert_eq!(store.verify_audit(|_| {}).await.unwrap().broken_at, None);

    // An archive file edited after the fact fails its own check.
    let bytes = std::fs::read(&first.path).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(bytes.as_slice()),
        &mut text,
    )
    .unwrap();
    let edited = text.replacen("demo-dispatcher", "demo-nobody", 1);
    assert_ne!(edited, text);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, edited.as_bytes()).unwrap();
    let tampered = dir.0.join("tampered.jsonl.gz");
    std::fs::write(&tampered, gz.finish().unwrap()).unwrap();
    let err = audit_archive::verify_file(&tampered)
        .unwrap_err()
        .to_string();
    assert!(err.contains("edited"), "{err}");
    // And an archive is never written over.
    let err = audit_archive::archive(
        store,
        now + Duration::days(2),
        later + Duration::days(5),
        180,
        &first.path,
        "cli:test",
        |_| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("--out"), "{err}");
}

/// The XLSX export, read back by a real reader: the same rows as the CSV, typed columns, and a
/// large export split into sheets (the sheet size made small to see it with 300 cases).
async fn xlsx_case_export_has_typed_columns_and_splits_into_sheets(app: &TestApp) {
    use calamine::{Data, Reader};
    use safegrid::app::export::{CaseExport, XLSX_SHEET_ROWS, write_cases_xlsx};
    let c = login(app, "demo-dispatcher").await;
    let csv = c
        .get(format!("{}/api/v1/cases/export.csv", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csv_rows = csv.lines().count() - 1;
    let r = c
        .get(format!("{}/api/v1/cases/export.xlsx", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-export-sheets"], "1");
    let bytes = r.bytes().await.unwrap();
    let mut wb =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(wb.sheet_names(), vec!["cases-1".to_string()]);
    let sheet = wb.worksheet_range("cases-1").unwrap();
    assert_eq!(sheet.height() - 1, csv_rows);
    let head: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(head, safegrid::app::export::CASE_COLUMNS);
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    // A case with a point (address-only cases leave lat and lon empty).
    let row = sheet
        .rows()
        .skip(1)
        .find(|r| !matches!(r[col("lat")], Data::Empty))
        .unwrap();
    assert!(
        matches!(row[col("lat")], Data::Float(_)),
        "{:?}",
        row[col("lat")]
    );
    assert!(
        matches!(row[col("created_at")], Data::DateTime(_)),
        "{:?}",
        row[col("created_at")]
    );
    assert!(
        matches!(row[col("overdue")], Data::Bool(_)),
        "{:?}",
        row[col("overdue")]
    );
    // Audited with its format.
    let (recs, _) = app
        .state
        .store
        .audit_search(&safegrid_store::AuditFilter {
            action: Some("export.cases".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(recs.iter().any(|r| r.detail["format"] == "xlsx"));

    // 300-odd cases in sheets of 100: every row once, each sheet with its header.
    let dir = tempdir::TempDir::new();
    let path = dir.0.join("cases.xlsx");
    let export = CaseExport::start(&app.state, None, Default::default(), None)
        .await
        .unwrap();
    let total = export.total();
    let w = write_cases_xlsx(export, &path, 100, |_, _| {})
        .await
        .unwrap();
    assert_eq!(w.rows, total);
    assert_eq!(i64::from(w.sheets), (total + 99) / 100);
    let mut wb = calamine::open_workbook_auto(&path).unwrap();
    let names = wb.sheet_names();
    assert_eq!(names.len() as u32, w.sheets);
    let mut ids = std::collections::HashSet::new();
    for n in &names {
        let s = wb.worksheet_range(n).unwrap();
        assert!(s.height() - 1 <= 100);
        assert_eq!(s.rows().next().unwrap()[0].to_string(), "number");
        for r in s.rows().skip(1) {
            assert!(ids.insert(r[1].to_string()), "a case twice");
        }
    }
    assert_eq!(ids.len() as i64, total);
    const { assert!(XLSX_SHEET_ROWS == 1_048_575) };
}
