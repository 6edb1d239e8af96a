//! Inputs that used to crash or exhaust the server (issue 26, findings 11 and 12 and two extras),
//! on SQLite and PostgreSQL alike: NUL (U+0000) in every kind of field, pages past the maximum,
//! a 413 on a connection the client reuses, JSON endpoints fed other content types, a CSV cell
//! hiding a formula behind a byte-order mark, and photo headers declaring huge images. Every
//! probe expects a 4xx naming the field, never a 500.

use crate::helpers::{PASSWORD, TestApp, browser, csrf_of, login};
use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

story!(nul_anywhere);
story!(nul_in_import_files);
story!(pages_past_the_maximum);
story!(oversized_bodies_are_answered_and_close);
story!(json_endpoints_want_json);
story!(csv_cells_cannot_hide_formulas);
story!(photo_bombs_are_refused_before_decoding);

/// Asserts a JSON API refusal: a 4xx (never 5xx) whose error names `field`.
async fn api_refuses(r: reqwest::Response, field: &str, what: &str) {
    let s = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert!(s.is_client_error(), "{what}: {s} {v}");
    assert_eq!(v["error"]["field"], field, "{what}: {v}");
}

/// Asserts a page refusal: 400 and the page names `field`.
async fn page_refuses(r: reqwest::Response, field: &str, what: &str) {
    let s = r.status();
    let html = r.text().await.unwrap();
    assert_eq!(s, StatusCode::BAD_REQUEST, "{what}: {html}");
    assert!(
        html.contains(&format!("{field}: must not contain the NUL character")),
        "{what}: {html}"
    );
}

/// Asserts an Open311 refusal: 400 whose description starts with `field`.
async fn open311_refuses(r: reqwest::Response, field: &str, what: &str) {
    let s = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(s, StatusCode::BAD_REQUEST, "{what}: {v}");
    let d = v[0]["description"].as_str().unwrap_or("");
    assert!(d.starts_with(&format!("{field}: ")), "{what}: {v}");
}

async fn nul_anywhere(app: &TestApp) {
    let b = &app.base;
    let anon = Client::new();
    // Tracking-code paths, no login.
    api_refuses(
        anon.get(format!("{b}/api/v1/track/%00"))
            .send()
            .await
            .unwrap(),
        "code",
        "api track",
    )
    .await;
    api_refuses(
        anon.post(format!("{b}/api/v1/track/AB%00CD/erase"))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        "code",
        "api track erase",
    )
    .await;
    page_refuses(
        anon.get(format!("{b}/track/%00")).send().await.unwrap(),
        "code",
        "web track",
    )
    .await;
    // Open311, in its own error format.
    for (path, field) in [
        ("tokens/%00.json", "token_id"),
        ("requests/%00.json", "service_request_id"),
        ("services/%00.json", "service_code"),
        ("requests.json?service_code=%00", "service_code"),
        (
            "requests.json?status=open&service_request_id=1%002",
            "service_request_id",
        ),
        ("services.json?jurisdiction_id=%00", "jurisdiction_id"),
    ] {
        let r = anon
            .get(format!("{b}/open311/v2/{path}"))
            .send()
            .await
            .unwrap();
        open311_refuses(r, field, path).await;
    }
    let r = anon
        .post(format!("{b}/open311/v2/requests.json"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("api_key=x&service_code=C0101&description=a%00b&lat=30.78&long=120.02")
        .send()
        .await
        .unwrap();
    open311_refuses(r, "description", "open311 post").await;

    // List filters, on the list and on the export, and any other parameter.
    let staff = login(app, "demo-dispatcher").await;
    for param in [
        "q",
        "category",
        "grid",
        "department",
        "status",
        "region",
        "sort",
    ] {
        for path in ["cases", "cases/export.csv"] {
            let r = staff
                .get(format!("{b}/api/v1/{path}?page_size=5&{param}=x%00y"))
                .send()
                .await
                .unwrap();
            api_refuses(r, param, &format!("{path} {param}")).await;
        }
    }
    api_refuses(
        anon.get(format!("{b}/api/v1/grids?region=%00"))
            .send()
            .await
            .unwrap(),
        "region",
        "grids region",
    )
    .await;
    api_refuses(
        staff
            .get(format!("{b}/api/v1/cases/%00"))
            .send()
            .await
            .unwrap(),
        "id",
        "case id",
    )
    .await;

    // Every string of a JSON body, named by its path.
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;
    let r = anon
        .post(format!("{b}/api/v1/cases"))
        .json(&json!({"category": "C0101", "description": "井盖\u{0}破损", "lat": lat, "lon": lon}))
        .send()
        .await
        .unwrap();
    api_refuses(r, "description", "json description").await;
    let r = anon
        .post(format!("{b}/api/v1/cases"))
        .json(
            &json!({"category": "C0101", "description": "井盖破损", "lat": lat, "lon": lon,
                      "reporter": {"name": "张\u{0}", "phone": "13812345678"}}),
        )
        .send()
        .await
        .unwrap();
    api_refuses(r, "reporter.name", "json reporter.name").await;
    let (_, list) = crate::helpers::get(&staff, format!("{b}/api/v1/cases?page_size=1")).await;
    let id = list["items"][0]["id"].as_str().expect("a case").to_string();
    let r = staff
        .post(format!("{b}/api/v1/cases/{id}/actions"))
        .json(&json!({"action": "supervise", "note": "催\u{0}办"}))
        .send()
        .await
        .unwrap();
    api_refuses(r, "note", "json note").await;

    // Web pages: query parameters, form fields and multipart fields.
    let web = browser();
    let r = web
        .get(format!("{b}/board?category=%00"))
        .send()
        .await
        .unwrap();
    page_refuses(r, "category", "board category").await;
    let r = web
        .get(format!("{b}/work/cases?q=%00"))
        .send()
        .await
        .unwrap();
    page_refuses(r, "q", "staff search q").await;
    let home = web.get(format!("{b}/")).send().await.unwrap();
    let csrf = csrf_of(&home.text().await.unwrap());
    let r = web
        .post(format!("{b}/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "demo-\u{0}admin"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    page_refuses(r, "username", "web login form").await;
    let f = Form::new()
        .text("csrf", csrf.clone())
        .text("category", "C0301")
        .text("description", "满溢\u{0}")
        .text("lat", lat.to_string())
        .text("lon", lon.to_string());
    let r = web
        .post(format!("{b}/report"))
        .multipart(f)
        .send()
        .await
        .unwrap();
    page_refuses(r, "description", "web report multipart").await;
}

/// Import files (administrators, API and CLI alike): a NUL in a stored text names its line or
/// feature and field.
async fn nul_in_import_files(app: &TestApp) {
    let admin = login(app, "demo-admin").await;
    let b = &app.base;
    let r = admin
        .post(format!("{b}/api/v1/admin/import/divisions"))
        .body(b"code,name\n330502001997,\"x\0y\"\n".to_vec())
        .send()
        .await
        .unwrap();
    let s = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "name", "{v}");
    assert_eq!(v["error"]["problems"][0]["at"], 2, "{v}");
    let r = admin
        .post(format!("{b}/api/v1/admin/import/calendar"))
        .body(b"date,kind,holiday_en,holiday_zh\n2027-01-01,holiday,New\0Year,x\n".to_vec())
        .send()
        .await
        .unwrap();
    let s = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "holiday_en", "{v}");
    let grid = json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"code": "330502001001099", "name": "网格\u{0}"},
        "geometry": {"type": "Polygon", "coordinates": [[[120.1, 30.8], [120.101, 30.8],
            [120.101, 30.801], [120.1, 30.801], [120.1, 30.8]]]}}]});
    let r = admin
        .post(format!("{b}/api/v1/admin/import/grids"))
        .body(grid.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "features[0].properties.name", "{v}");
}

async fn pages_past_the_maximum(app: &TestApp) {
    let b = &app.base;
    let anon = Client::new();
    let huge = "4611686018427387905";
    api_refuses(
        anon.get(format!("{b}/api/v1/grids?page={huge}&page_size=2"))
            .send()
            .await
            .unwrap(),
        "page",
        "grids huge page",
    )
    .await;
    api_refuses(
        anon.get(format!("{b}/api/v1/grids?page=1000001"))
            .send()
            .await
            .unwrap(),
        "page",
        "grids page past the maximum",
    )
    .await;
    let staff = login(app, "demo-dispatcher").await;
    // (The export ignores `page`: it pages through everything itself.)
    api_refuses(
        staff
            .get(format!("{b}/api/v1/cases?page={huge}&page_size=1000"))
            .send()
            .await
            .unwrap(),
        "page",
        "cases",
    )
    .await;
    let web = browser();
    let form = web.get(format!("{b}/login")).send().await.unwrap();
    let csrf = csrf_of(&form.text().await.unwrap());
    let r = web
        .post(format!("{b}/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "demo-dispatcher"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = web
        .get(format!("{b}/work/cases?page={huge}"))
        .send()
        .await
        .unwrap();
    let s = r.status();
    let html = r.text().await.unwrap();
    assert!(
        s.is_client_error() && html.contains("page"),
        "web page: {s} {html}"
    );
    let admin = login(app, "demo-admin").await;
    api_refuses(
        admin
            .get(format!("{b}/api/v1/admin/audit?page={huge}&page_size=1000"))
            .send()
            .await
            .unwrap(),
        "page",
        "audit",
    )
    .await;
    // A page just inside the maximum is an empty page, not page 1 again.
    let (s, v) =
        crate::helpers::get(&anon, format!("{b}/api/v1/grids?page=1000000&page_size=2")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["features"].as_array().map(Vec::len), Some(0), "{v}");
    let r = anon
        .get(format!("{b}/open311/v2/requests.json?page={huge}"))
        .send()
        .await
        .unwrap();
    open311_refuses(r, "page", "open311 page").await;
}

/// Sends one raw HTTP/1.1 request with an oversized body on a fresh connection and reads the
/// answer to the end: it must be the 413 with `Connection: close`, then a clean end of stream
/// (a reset would lose the answer for a client still writing).
async fn oversized_raw(app: &TestApp, path: &str, content_type: &str, size: usize) -> String {
    let addr = app.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {size}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    while sent < size {
        let n = chunk.len().min(size - sent);
        s.write_all(&chunk[..n])
            .await
            .unwrap_or_else(|e| panic!("{path}: writing the body: {e}"));
        sent += n;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .unwrap_or_else(|e| panic!("{path}: reading the answer: {e}"));
    let text = String::from_utf8_lossy(&answer).to_string();
    assert!(text.starts_with("HTTP/1.1 413"), "{path}: {text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{path}: {text}"
    );
    text
}

async fn oversized_bodies_are_answered_and_close(app: &TestApp) {
    let limit = app.state.settings.body_limit_bytes;
    let text = oversized_raw(app, "/api/v1/cases", "application/json", limit + 1).await;
    assert!(text.contains("\"too_large\""), "{text}");
    oversized_raw(
        app,
        "/report",
        "multipart/form-data; boundary=x",
        safegrid::web::UPLOAD_LIMIT_BYTES + 1,
    )
    .await;
    let limit311 = app.state.settings.open311.body_limit_bytes;
    oversized_raw(
        app,
        "/open311/v2/requests.json",
        "application/x-www-form-urlencoded",
        limit311 + 1,
    )
    .await;
    // A client that reuses its connections gets the 413 and then carries on normally.
    let c = Client::new();
    for _ in 0..3 {
        let r = c
            .post(format!("{}/api/v1/cases", app.base))
            .header("content-type", "application/json")
            .body(vec![b' '; limit + 10])
            .send()
            .await
            .expect("the 413 arrives, no reset");
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(r.headers()["connection"], "close");
        let r = c
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .expect("the next request on the same client");
        assert!(r.status().is_success());
    }
}

async fn json_endpoints_want_json(app: &TestApp) {
    let b = &app.base;
    let before = app.state.store.case_count().await.unwrap();
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;
    let body =
        json!({"category": "C0101", "description": "井盖破损", "lat": lat, "lon": lon}).to_string();
    let anon = Client::new();
    for ct in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/xml"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut r = anon.post(format!("{b}/api/v1/cases")).body(body.clone());
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["field"], "content-type", "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{v}"
        );
    }
    assert_eq!(app.state.store.case_count().await.unwrap(), before);
    // The same body as JSON (also with a charset) is taken.
    let r = anon
        .post(format!("{b}/api/v1/cases"))
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // The login endpoint refuses a text/plain body (a cross-site form can send one) and sets
    // no session.
    let r = anon
        .post(format!("{b}/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body(json!({"username": "demo-admin", "password": PASSWORD}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(r.headers().get("set-cookie").is_none());
}

async fn csv_cells_cannot_hide_formulas(app: &TestApp) {
    let b = &app.base;
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;
    let marker = "BOMFORMULA";
    let hidden = format!("\u{FEFF}=HYPERLINK(\"http://x.invalid\",\"{marker}\")");
    let (s, v) = crate::helpers::post(
        &Client::new(),
        format!("{b}/api/v1/cases"),
        json!({"category": "C0101", "description": hidden, "lat": lat, "lon": lon}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let staff = login(app, "demo-dispatcher").await;
    let r = staff
        .get(format!("{b}/api/v1/cases/export.csv?q={marker}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csv = r.text().await.unwrap();
    let row = csv
        .lines()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("the case is exported: {csv}"));
    assert!(
        row.contains(",\"'\u{FEFF}=HYPERLINK") || row.contains(",'\u{FEFF}=HYPERLINK"),
        "{row}"
    );
}

/// A PNG whose header declares 7000×7000 16-bit RGBA (392 MB decoded) in under 100 bytes.
fn png_bomb() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in bytes {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend(kind);
        out.extend(data);
        let crc = crc32(&out[start..]);
        out.extend(crc.to_be_bytes());
    }
    let mut ihdr = 7000u32.to_be_bytes().to_vec();
    ihdr.extend(7000u32.to_be_bytes());
    ihdr.extend([16, 6, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &[0x78, 0x9C, 0x03, 0x00]);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn bomb_form(csrf: Option<&str>) -> Form {
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;
    let mut f = Form::new();
    if let Some(c) = csrf {
        f = f.text("csrf", c.to_string());
    }
    f = f
        .text("category", "C0301")
        .text("description", "照片炸弹")
        .text("lat", lat.to_string())
        .text("lon", lon.to_string());
    for i in 0..4 {
        f = f.part(
            "photos",
            Part::bytes(png_bomb()).file_name(format!("bomb{i}.png")),
        );
    }
    f
}

async fn photo_bombs_are_refused_before_decoding(app: &TestApp) {
    let b = &app.base;
    let before = app.state.store.case_count().await.unwrap();
    let web = browser();
    let t = Instant::now();
    let r = web
        .post(format!("{b}/report"))
        .multipart(bomb_form(None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let home = web.get(format!("{b}/?lang=en")).send().await.unwrap();
    let csrf = csrf_of(&home.text().await.unwrap());
    let r = web
        .post(format!("{b}/report?lang=en"))
        .multipart(bomb_form(Some(&csrf)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"err-photo\"") && html.contains("dimensions are too large"),
        "{html}"
    );
    assert_eq!(app.state.store.case_count().await.unwrap(), before);
}
