//! `safegrid bench` end to end at a small scale (one county instead of the province): the
//! command runs, every section reports, the peers agree with safegrid. PostgreSQL, PostGIS and
//! DuckDB (Python) are needed; without them the bench prints loudly what it skipped, and under
//! CI=true it fails instead (`--strict` is implied there).

use std::process::Command;

#[test]
fn bench_runs_end_to_end_on_one_county() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-smoke");
    std::fs::create_dir_all(&dir).unwrap();
    let pg = std::env::var("SAFEGRID_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let out = Command::new(env!("CARGO_BIN_EXE_safegrid"))
        .args([
            "bench",
            "--only",
            "330502",
            "--grids",
            "900",
            "--cases",
            "800",
            "--lookups",
            "20000",
            "--postgis-lookups",
            "5000",
            "--intake",
            "300",
            "--concurrency",
            "8",
            "--queries",
            "8",
            "--postgres",
            &pg,
            "--dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let row = |prefix: &str| {
        rows.iter()
            .find(|r| r["measure"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no row {prefix:?} in\n{stdout}"))
    };
    assert!(
        row("territory:")["measure"]
            .as_str()
            .unwrap()
            .contains("900 grids")
    );
    assert!(
        row("point → grid, 1 core")["safegrid"]
            .as_str()
            .unwrap()
            .ends_with("lookups/s")
    );
    let skipped = report["skipped"].as_array().unwrap();
    if !skipped.is_empty() {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!! bench smoke test ran with parts SKIPPED: {skipped:?}\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return;
    }
    for backend in ["SQLite", "PostgreSQL"] {
        let intake = row(&format!("{backend}: intake via HTTP"));
        assert!(
            intake["safegrid"].as_str().unwrap().contains("cases/s"),
            "{intake}"
        );
        assert!(
            intake["peer"]
                .as_str()
                .unwrap()
                .starts_with("plain inserts")
        );
        row(&format!("{backend}: start-up to serving"));
        assert!(
            row(&format!("{backend}: write path's caches warm"))["safegrid"]
                .as_str()
                .unwrap()
                .ends_with(" s")
        );
        assert!(
            row(&format!("{backend}: server's disk I/O during intake"))["safegrid"]
                .as_str()
                .unwrap()
                .contains("KiB per case), written ")
        );
        assert!(
            row(&format!("{backend}: server's CPU per case during intake"))["safegrid"]
                .as_str()
                .unwrap()
                .starts_with("all threads ")
        );
        // The intake's counter changes were folded after it: one row at least per grid and
        // village its 300 cases touched.
        let fold = row(&format!(
            "{backend}: KPI counter changes of the intake folded"
        ))["safegrid"]
            .as_str()
            .unwrap()
            .to_string();
        let folded: f64 = fold
            .split(" rows")
            .next()
            .unwrap()
            .replace(',', "")
            .parse()
            .unwrap();
        assert!(folded >= 100.0, "{fold}");
        row(&format!("{backend}: KPI rates, one grid"));
        // Read again after intake, with its changes still in the delta: the row names them.
        let unfolded = row(&format!(
            "{backend}: KPI rates, one province, with the intake's {} counter changes",
            fold.split(" rows").next().unwrap()
        ));
        assert!(
            unfolded["safegrid"].as_str().unwrap().contains("p99"),
            "{unfolded}"
        );
        row(&format!("{backend}: list one grid's cases"));
        row(&format!("{backend}: server peak resident memory"));
    }
    // The peers computed the same answers as safegrid.
    assert_eq!(
        row("answers agreeing with PostGIS")["safegrid"],
        "100.0000 %",
        "{stdout}"
    );
    // One county has no city of its own: no city row (it used to print an empty one).
    assert!(
        !rows.iter().any(|r| r["measure"]
            .as_str()
            .unwrap()
            .starts_with("KPI rates, one city")),
        "{stdout}"
    );
    for level in ["province", "county", "grid"] {
        let r = row(&format!("KPI rates, one {level} (SQLite) vs DuckDB"));
        assert!(r["peer"].as_str().unwrap().contains("same figures"), "{r}");
    }
}

/// `--keep` leaves the databases, `--reuse` measures them without generating again (and refuses
/// a database of another territory), so a 10,000,000-case database is built once.
#[test]
fn bench_keeps_and_reuses_its_databases() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-reuse");
    std::fs::create_dir_all(&dir).unwrap();
    let pg = std::env::var("SAFEGRID_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_safegrid"))
            .args([
                "bench",
                "--only",
                "330502",
                "--no-peers",
                "--lookups",
                "2000",
                "--intake",
                "60",
                "--concurrency",
                "4",
                "--queries",
                "3",
                "--postgres",
                &pg,
            ])
            .args(extra)
            .arg("--dir")
            .arg(&dir)
            .output()
            .unwrap();
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let rows = || -> Vec<serde_json::Value> {
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                .unwrap();
        report["rows"].as_array().unwrap().clone()
    };
    let (ok, text) = run(&["--grids", "300", "--cases", "300", "--keep"]);
    assert!(ok, "{text}");
    let first = rows();
    let backends: Vec<&str> = ["SQLite", "PostgreSQL"]
        .into_iter()
        .filter(|b| {
            first.iter().any(|r| {
                r["measure"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{b}: generate"))
            })
        })
        .collect();
    assert!(backends.contains(&"SQLite"), "{text}");

    let (ok, text) = run(&["--grids", "300", "--reuse"]);
    assert!(ok, "{text}");
    let second = rows();
    for b in &backends {
        let measures: Vec<&str> = second
            .iter()
            .map(|r| r["measure"].as_str().unwrap())
            .collect();
        assert!(
            !measures
                .iter()
                .any(|m| m.starts_with(&format!("{b}: generate"))),
            "{b} generated again:\n{text}"
        );
        let kept = measures
            .iter()
            .find(|m| m.starts_with(&format!("{b}: ")) && m.contains("kept by an earlier run"))
            .unwrap_or_else(|| panic!("no kept row for {b}:\n{text}"));
        // The first run's generated cases plus its intake (warm-up, timed, plain inserts).
        let n: usize = kept
            .split_whitespace()
            .nth(1)
            .unwrap()
            .replace(',', "")
            .parse()
            .unwrap();
        assert!(n > 300, "{kept}");
        assert!(
            measures
                .iter()
                .any(|m| m.starts_with(&format!("{b}: intake via HTTP"))),
            "{text}"
        );
    }

    // Another territory is refused, naming the flag and the reason.
    let (ok, text) = run(&["--grids", "2000", "--reuse"]);
    assert!(!ok, "{text}");
    assert!(text.contains("--reuse") && text.contains("grids"), "{text}");

    if backends.contains(&"PostgreSQL") {
        let name = safegrid::bench::kept_database(&dir);
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&pg).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut c)
            .await
            .unwrap();
        });
    }
}
