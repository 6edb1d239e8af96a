//! Interoperability with a real Open311 client: the PyPI package `georeport`, in a virtual
//! environment this test creates under the cargo target directory, reads services, a service
//! definition, request lists with every standard filter and one request, in JSON and in XML;
//! what it reads must be what the JSON API reports. Python's xml.etree parses every XML answer.
//! Without python3 (or PyPI) the test says so loudly and passes, except under `CI=true`.

use super::helpers::*;
use super::open311::{base, no_address_limit, o_get};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const GEOREPORT: &str = "georeport==0.3.1";
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/api/open311_georeport.py"
);

fn skip(reason: &str) {
    super::python::skip_loudly("the georeport interoperability test", GEOREPORT, reason);
}

/// The venv's python with georeport installed, or why there is none.
fn venv() -> Result<PathBuf, String> {
    Ok(super::python::venv_with("georeport", GEOREPORT)?.join("python"))
}

/// JSON values the way the script writes them: strings, or null.
fn text(v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::Bool(b) => Value::String(b.to_string()),
        Value::String(s) => Value::String(s.clone()),
        other => Value::String(other.to_string()),
    }
}

async fn json_api(app: &TestApp, path: &str) -> Value {
    let r = o_get(app, path).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    r.json()
}

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let v = json_api(
        app,
        &format!("/requests.json?jurisdiction_id=330500&{query}"),
    )
    .await;
    let mut ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn compare(app: &TestApp, py: &Path) {
    let all = json_api(app, "/requests.json").await;
    let list = all.as_array().unwrap();
    let open = list
        .iter()
        .find(|r| r["status"] == "open")
        .expect("an open request");
    let rid = open["service_request_id"].as_str().unwrap().to_string();
    let mid = chrono::DateTime::parse_from_rfc3339(
        list[list.len() / 2]["requested_datetime"].as_str().unwrap(),
    )
    .unwrap()
    .to_utc();
    let start = mid.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let end = (chrono::Utc::now() + chrono::Duration::hours(1))
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    // Two services that have recent requests (the client cannot read an empty XML list).
    let mut codes: Vec<&str> = list
        .iter()
        .map(|r| r["service_code"].as_str().unwrap())
        .collect();
    codes.dedup();
    let codes = format!(
        "{},{}",
        codes[0],
        codes.iter().find(|c| **c != codes[0]).unwrap()
    );
    let (py, b, r2, s2, e2, c2) = (
        py.to_path_buf(),
        base(app),
        rid.clone(),
        start.clone(),
        end.clone(),
        codes.clone(),
    );
    let out = tokio::task::spawn_blocking(move || {
        super::python::run(
            Command::new(py)
                .arg(SCRIPT)
                .args([&b, "330500", &r2, &s2, &e2, &c2]),
        )
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("the georeport script failed: {e}"));
    let got: Value = serde_json::from_str(&out).expect("the script prints JSON");

    // What the JSON API reports, shaped like the script's output.
    let services: Vec<Value> = json_api(app, "/services.json")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut m = serde_json::Map::new();
            for k in [
                "service_code",
                "service_name",
                "metadata",
                "type",
                "keywords",
                "group",
            ] {
                m.insert(k.into(), text(&s[k]));
            }
            Value::Object(m)
        })
        .collect();
    let def = json_api(app, "/services/C0102.json").await;
    let attributes: Vec<Value> = def["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            serde_json::json!({
                "code": a["code"], "datatype": a["datatype"], "required": text(&a["required"]),
                "order": text(&a["order"]),
                "values": a["values"].as_array().unwrap().iter().map(|v| v["key"].clone()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let filters = [
        ("all", String::new()),
        ("by_code", format!("service_code={codes}")),
        ("open", "status=open".to_string()),
        ("closed", "status=closed".to_string()),
        ("open_closed", "status=open,closed".to_string()),
        (
            "dates",
            format!("start_date={start}&end_date={}", end.replace('+', "%2B")),
        ),
        ("by_id", format!("service_request_id={rid}&status=closed")),
    ];
    let one = &json_api(app, &format!("/requests/{rid}.json")).await[0];
    for fmt in ["json", "xml"] {
        let g = &got[fmt];
        assert_eq!(
            g["services"],
            Value::Array(services.clone()),
            "{fmt}: services"
        );
        assert_eq!(g["definition"]["service_code"], "C0102");
        assert_eq!(
            g["definition"]["attributes"],
            Value::Array(attributes.clone()),
            "{fmt}: definition"
        );
        for (name, q) in &filters {
            let want = ids(app, q).await;
            assert!(!want.is_empty(), "{name}: the demo data should match");
            assert_eq!(
                g[*name],
                serde_json::json!(want),
                "{fmt}: requests {name} ({q})"
            );
        }
        assert_eq!(g["by_id"], serde_json::json!([rid]));
        let seen = g["one"].as_object().unwrap();
        let fields = one.as_object().unwrap();
        assert_eq!(seen.len(), fields.len(), "{fmt}: one request's fields");
        for (k, v) in fields {
            let s = &seen[k];
            match v {
                Value::Number(n) => {
                    let p: f64 = s.as_str().unwrap().parse().unwrap();
                    assert_eq!(p, n.as_f64().unwrap(), "{fmt}: {k}");
                }
                _ => assert_eq!(s, &text(v), "{fmt}: {k}"),
            }
        }
    }
    assert_eq!(got["xml_checked"].as_array().unwrap().len(), 8);
}

story!(
    georeport_client_reads_what_the_json_api_reports,
    no_address_limit
);

async fn georeport_client_reads_what_the_json_api_reports(app: &TestApp) {
    // One virtual environment for both backends' tests, made by whichever asks first.
    static VENV: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let py = tokio::task::spawn_blocking(|| VENV.get_or_init(venv))
        .await
        .unwrap();
    match py {
        Ok(py) => compare(app, py).await,
        Err(reason) => skip(reason),
    }
}
