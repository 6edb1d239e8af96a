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
        row(&format!("{backend}: KPI rates, one grid"));
        row(&format!("{backend}: list one grid's cases"));
        row(&format!("{backend}: server peak resident memory"));
    }
    // The peers computed the same answers as safegrid.
    assert_eq!(
        row("answers agreeing with PostGIS")["safegrid"],
        "100.0000 %",
        "{stdout}"
    );
    for level in ["province", "city", "county", "grid"] {
        let r = row(&format!("KPI rates, one {level} (SQLite) vs DuckDB"));
        assert!(r["peer"].as_str().unwrap().contains("same figures"), "{r}");
    }
}
