//! The OpenAPI document against the server it describes.
//!
//! - Every route the API and Open311 mount is in the document: the faces' routers are built with
//!   `utoipa_axum::routes!` from handlers that carry their `#[utoipa::path]`, so a route mounted
//!   any other way is the one way to forget one; `routes_are_mounted_with_their_description`
//!   fails on it.
//! - Every documented operation is routed: requested as the document says, none meets the
//!   router's 404 or 405 (`every_documented_operation_is_routed`).
//! - Every answer is described (`the_document_describes_every_answer`).
//! - A schema fuzzer (schemathesis, from PyPI, in a virtual environment under the cargo target
//!   directory) sends generated and invalid requests to a server with the demo city and checks
//!   each answer against the document: documented status, content type, headers and schema, no
//!   5xx, 405 with `Allow`, invalid input refused. Without python3 (or PyPI) it says so loudly
//!   and passes, except under `CI=true`.

use super::helpers::*;
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

story!(every_documented_operation_is_routed);

/// The document: served as generated.
fn document() -> Value {
    safegrid::routes::openapi()
}

/// (method, path) of every operation in the document.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = vec![];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            out.push((method.clone(), path.clone()));
        }
    }
    out
}

#[test]
fn the_document_describes_every_answer() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "safegrid API (平安网格)");
    let text = doc.to_string();
    // Every reference resolves.
    for (i, _) in text.match_indices("\"$ref\":\"#/components/schemas/") {
        let rest = &text[i + "\"$ref\":\"#/components/schemas/".len()..];
        let name = &rest[..rest.find('"').expect("end of ref")];
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "unresolved reference to {name}"
        );
    }
    let mut ids = BTreeSet::new();
    let ops = operations(&doc);
    assert!(ops.len() >= 60, "only {} operations", ops.len());
    for (method, path) in &ops {
        let op = &doc["paths"][path][method];
        assert!(
            ids.insert(op["operationId"].as_str().expect("operationId").to_string()),
            "{method} {path}: operationId repeated"
        );
        let responses = op["responses"].as_object().expect("responses");
        let success = responses
            .iter()
            .find(|(s, _)| s.starts_with('2'))
            .unwrap_or_else(|| panic!("{method} {path}: no success answer"));
        let content = success.1["content"].as_object();
        assert!(
            content.is_some_and(|c| !c.is_empty() && c.values().all(|m| m["schema"].is_object())),
            "{method} {path}: the success answer has no schema"
        );
        // Errors: the API's envelope, Open311's list, each in its own format.
        if path != "/healthz" {
            let errors = &responses["4XX"]["content"];
            if path.starts_with("/open311/") {
                let json = &errors["application/json"]["schema"];
                if !path.ends_with(".xml") {
                    assert_eq!(json["type"], "array", "{method} {path}: {errors}");
                }
                if !path.ends_with(".json") {
                    assert!(errors["text/xml"].is_object(), "{method} {path}: {errors}");
                }
            } else {
                assert_eq!(
                    errors["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
                    "{method} {path}"
                );
            }
            assert!(responses.contains_key("503"), "{method} {path}");
        }
        if op.get("requestBody").is_some() {
            assert!(responses.contains_key("413"), "{method} {path}: no 413");
        }
        if op["requestBody"]["content"]["application/json"].is_object() {
            assert!(responses.contains_key("415"), "{method} {path}: no 415");
        }
    }
    // The content types the answers really have.
    let ct = |m: &str, p: &str, s: &str| {
        doc["paths"][p][m]["responses"][s]["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(ct("get", "/api/v1/cases/export.csv", "200"), ["text/csv"]);
    assert_eq!(
        ct("get", "/api/v1/disputes/{id}/agreement.html", "200"),
        ["text/html"]
    );
    assert_eq!(ct("get", "/open311/v2/requests.xml", "200"), ["text/xml"]);
    assert_eq!(
        ct("get", "/open311/v2/requests.json", "200"),
        ["application/json"]
    );
    assert!(
        doc["paths"]["/open311/v2/requests.json"]["post"]["requestBody"]["content"]
            ["application/x-www-form-urlencoded"]["schema"]
            .is_object()
    );
    for scheme in ["bearer", "session", "open311_api_key"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "{scheme}"
        );
    }
}

/// Non-comment lines of the Rust files under `dir`, with their file.
fn source_lines(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = vec![];
    let entries = if dir.is_file() {
        vec![dir.to_path_buf()]
    } else {
        std::fs::read_dir(dir)
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .collect()
    };
    for p in entries {
        if p.is_dir() {
            out.extend(source_lines(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&p).expect("source");
            out.extend(
                text.lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .map(|l| (p.clone(), l.to_string())),
            );
        }
    }
    out
}

/// A route mounted beside `routes!` (with axum's `.route`, a service, a plain `Router`) would be
/// served and not documented: the API's and Open311's routers, and the composition root that
/// merges them, mount nothing that way. The web pages are not in the document; they may not take
/// paths under `/api/` or `/open311/`.
#[test]
fn routes_are_mounted_with_their_description() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut documented_faces = source_lines(&src.join("http"));
    documented_faces.extend(source_lines(&src.join("open311")));
    documented_faces.extend(source_lines(&src.join("routes.rs")));
    let mut mounted = 0;
    for (file, line) in &documented_faces {
        mounted += line.matches(".routes(routes!(").count();
        for bad in [
            ".route(",
            ".route_service(",
            ".nest_service(",
            "axum::routing",
        ] {
            assert!(
                !line.contains(bad),
                "{}: `{}` mounts a route beside `routes!`, so the OpenAPI document misses it: give the handler a #[utoipa::path] and mount it with `.routes(routes!(handler))`",
                file.display(),
                line.trim()
            );
        }
        let plain_router = line
            .match_indices("Router::new()")
            .any(|(i, _)| !line[..i].ends_with("OpenApi"));
        assert!(
            !plain_router || file.ends_with("routes.rs"),
            "{}: `{}` builds a plain axum Router: build an OpenApiRouter",
            file.display(),
            line.trim()
        );
    }
    // The scan sees what it scans: the API and Open311 mount their routes.
    assert!(mounted >= 40, "only {mounted} `routes!` mounts found");
    for (file, line) in source_lines(&src.join("web")) {
        for taken in ["\"/api/", "\"/open311/"] {
            assert!(
                !(line.contains(".route(") && line.contains(taken)),
                "{}: the web pages mount `{}`, a path of the documented faces",
                file.display(),
                line.trim()
            );
        }
    }
}

/// A path of the document with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{id}", "01a250e6-0000-7000-8000-000000000000")
        .replace("{code}", "330502")
        .replace("{file}", "unknown.json")
}

async fn every_documented_operation_is_routed(app: &TestApp) {
    let c = Client::new();
    let (s, served) = get(&c, format!("{}/api/v1/openapi.json", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        served,
        document(),
        "the served document is the generated one"
    );
    let page = c
        .get(format!("{}/api/docs", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (method, path) in operations(&served) {
        assert!(
            page.contains(&format!("<code>{path}</code>")),
            "the docs page lacks {path}"
        );
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = c
            .request(m, format!("{}{}", app.base, concrete(&path)))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.text().await.unwrap();
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but not routed: {body}"
        );
        // The routers' own 404s (the API's fallback, Open311's) name no resource of theirs.
        assert!(
            !(status == StatusCode::NOT_FOUND
                && (body.contains("no such endpoint") || body.contains("no such resource"))),
            "{method} {path} is documented but not routed: {body}"
        );
    }
}

const SCHEMATHESIS: &str = "schemathesis==4.32.5";

fn skip(reason: &str) {
    super::python::skip_loudly("the schema fuzzer", SCHEMATHESIS, reason);
}

/// The venv's `schemathesis` command, or why there is none.
fn schemathesis() -> Result<PathBuf, String> {
    Ok(super::python::venv_with("schemathesis", SCHEMATHESIS)?.join("schemathesis"))
}

/// Open311's own limits lifted too: the fuzzer sends thousands of requests from one address.
fn fuzz_limits(s: &mut safegrid::config::Settings) {
    open_limits(s);
    s.open311.read_limit = safegrid::ratelimit::Rate::new(0, 0);
}

/// The schema fuzzer, on SQLite: what it checks is the document against the answers, which
/// both databases give alike (the API stories run on both).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_fuzzer_finds_no_violation() {
    let st = match schemathesis() {
        Ok(st) => st,
        Err(reason) => return skip(&reason),
    };
    story(
        Backend::Sqlite,
        "openapi::schema_fuzzer_finds_no_violation",
        fuzz_limits,
        async |app: &TestApp| fuzz(app, &st).await,
    )
    .await;
}

async fn fuzz(app: &TestApp, st: &Path) {
    use safegrid::app::auth::hash_secret;
    let store = &app.state.store;
    // An administrator's bearer token (reads and writes everywhere) and an Open311 client's key.
    let admin = store.user_by_name("demo-admin").await.unwrap();
    let token = format!("sgt_fuzz_{}", uuid::Uuid::new_v4().simple());
    store
        .create_token_scoped(
            admin.id,
            "schema-fuzzer",
            &hash_secret(&token),
            None,
            "read,write",
        )
        .await
        .unwrap();
    let key = format!("o311_fuzz_{}", uuid::Uuid::new_v4().simple());
    store
        .create_open311_client("schema-fuzzer", &hash_secret(&key))
        .await
        .unwrap();
    // Records that exist, so that the reads of one record answer more than 404.
    let c = Client::new();
    let first = async |kind: &str| -> Value {
        let r = c
            .get(format!("{}/api/v1/cases?type={kind}&page_size=1", app.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        v["items"][0].clone()
    };
    let (case, dispute, petition) = (
        first("service_event").await,
        first("dispute").await,
        first("petition").await,
    );
    let id = |v: &Value| {
        v["id"]
            .as_str()
            .expect("a case of the demo city")
            .to_string()
    };
    let tracking = case["tracking_code"]
        .as_str()
        .expect("an administrator sees tracking codes")
        .to_string();
    let service = store
        .categories()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.code)
        .next()
        .expect("a category");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("schemathesis-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[operations]]
include-path-regex = '^/api/v1/cases/\{{id\}}'
parameters = {{ "path.id" = "{case}" }}

[[operations]]
include-path-regex = '^/api/v1/disputes/\{{id\}}'
parameters = {{ "path.id" = "{dispute}" }}

[[operations]]
include-path = "/api/v1/petitions/{{id}}"
parameters = {{ "path.id" = "{petition}" }}

[[operations]]
include-path = "/api/v1/track/{{code}}"
parameters = {{ "path.code" = "{tracking}" }}

[[operations]]
include-path = "/open311/v2/requests/{{file}}"
parameters = {{ "path.file" = "{case}.json" }}

[[operations]]
include-path = "/open311/v2/tokens/{{file}}"
parameters = {{ "path.file" = "{tracking}.xml" }}

[[operations]]
include-path = "/open311/v2/services/{{file}}"
parameters = {{ "path.file" = "{service}.json" }}

[[operations]]
include-path-regex = '^/open311/v2/'
include-method = "POST"
parameters = {{ "query.api_key" = "{key}" }}
"#,
            case = id(&case),
            dispute = id(&dispute),
            petition = id(&petition),
        ),
    )
    .unwrap();
    let examples = std::env::var("SAFEGRID_FUZZ_EXAMPLES").unwrap_or_else(|_| "40".into());
    let seed = std::env::var("SAFEGRID_FUZZ_SEED").unwrap_or_else(|_| "20261207".into());
    let checks = [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "missing_required_header",
        "unsupported_method",
        "allow_header_conformance",
    ]
    .join(",");
    let base = app.base.clone();
    let st = st.to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&st)
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .arg("--config-file")
            .arg(&config)
            .arg("run")
            .arg(format!("{base}/api/v1/openapi.json"))
            .args(["--url", &base])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args(["--checks", &checks])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--max-examples", &examples])
            .args(["--seed", &seed])
            .args(["--workers", "2", "--request-timeout", "20"])
            .arg("--no-shrink")
            .output()
    })
    .await
    .unwrap()
    .expect("running schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "the schema fuzzer found answers the OpenAPI document does not describe (above)"
    );
}
