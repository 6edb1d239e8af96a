//! The offline outbox's server side (docs/offline.md), told over HTTP on each backend as the
//! phone's service worker sends: a report and a verification sent twice are stored once; a
//! verification queued before someone else closed the case is refused 409 naming the state, with
//! nothing written; an oversized photo is refused naming the field while the next submission
//! lands; the app's manifest, icons and worker; and the HTTPS listener.

use super::helpers::*;
use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::io::Cursor;
use uuid::Uuid;

story!(an_offline_report_sent_twice_is_stored_once);
story!(a_queued_verification_sent_twice_or_too_late);
story!(the_installable_app_is_served);
story!(an_api_submission_retried_with_its_client_id_is_stored_once);

const REPLAY: &str = "x-safegrid-offline";

/// One count, with UUID arguments.
async fn count(app: &TestApp, sql: &str, ids: &[Uuid]) -> i64 {
    macro_rules! run {
        ($p:expr) => {{
            let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()));
            for i in ids {
                q = q.bind(*i);
            }
            q.fetch_one($p).await.unwrap()
        }};
    }
    match &app.state.store {
        safegrid_store::Store::Sqlite(p) => run!(p),
        safegrid_store::Store::Postgres(p) => run!(p),
    }
}

fn jpeg() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    }))
    .write_to(&mut out, image::ImageFormat::Jpeg)
    .unwrap();
    out.into_inner()
}

async fn page(c: &Client, url: String) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

fn report(csrf: &str, client_id: Uuid, description: &str, photo: Option<Vec<u8>>) -> Form {
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;
    let mut f = Form::new()
        .text("csrf", csrf.to_string())
        .text("client_id", client_id.to_string())
        .text("category", "C0301")
        .text("description", description.to_string())
        .text("lat", lat.to_string())
        .text("lon", lon.to_string());
    if let Some(bytes) = photo {
        f = f.part("photos", Part::bytes(bytes).file_name("bin.jpg"));
    }
    f
}

async fn send(c: &Client, url: String, form: Form) -> reqwest::Response {
    c.post(url)
        .header(REPLAY, "1")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn an_offline_report_sent_twice_is_stored_once(app: &TestApp) {
    let b = &app.base;
    let gw = web_session(app, "demo-gridworker", PASSWORD).await;
    let home = page(&gw, format!("{b}/")).await;
    // The staff report form is an offline one; it carries the id the page fills in.
    assert!(home.contains("id=\"report-form\"") && home.contains("data-offline="));
    assert!(home.contains("name=\"client_id\""));
    let csrf = csrf_of(&home);
    let id = Uuid::now_v7();
    let photos_before = count(app, "SELECT COUNT(*) FROM case_photos", &[]).await;

    // Sent, then sent again (the phone did not see the first answer): one case, its id the phone's.
    let mut locations = vec![];
    for _ in 0..2 {
        let r = send(
            &gw,
            format!("{b}/report"),
            report(&csrf, id, "离线上报：垃圾箱满溢", Some(jpeg())),
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        locations.push(r.headers()["location"].to_str().unwrap().to_string());
    }
    assert_eq!(locations[0], format!("/work/cases/{id}?created=1"));
    assert_eq!(
        locations[0], locations[1],
        "the retry answers the first case"
    );
    let cases = "SELECT COUNT(*) FROM cases WHERE id = $1";
    assert_eq!(count(app, cases, &[id]).await, 1);
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM case_events WHERE case_id = $1",
            &[id]
        )
        .await,
        1,
        "one history entry"
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM case_photos", &[]).await,
        photos_before + 1,
        "the photo stored once"
    );

    // Two copies at once (a flush from two tabs): still one case.
    let id2 = Uuid::now_v7();
    let (r1, r2) = tokio::join!(
        send(
            &gw,
            format!("{b}/report"),
            report(&csrf, id2, "离线上报：并发重发", None)
        ),
        send(
            &gw,
            format!("{b}/report"),
            report(&csrf, id2, "离线上报：并发重发", None)
        ),
    );
    assert_eq!(r1.status(), StatusCode::SEE_OTHER);
    assert_eq!(r2.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(app, cases, &[id2]).await, 1);

    // Another account cannot reach a case through its id: refused naming client_id, nothing new.
    let other = web_session(app, "demo-dispatcher", PASSWORD).await;
    let other_csrf = csrf_of(&page(&other, format!("{b}/")).await);
    let r = send(
        &other,
        format!("{b}/report"),
        report(&other_csrf, id, "别人的编号", None),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["refused"]["status"], 422);
    assert!(
        v["refused"]["errors"].to_string().contains("client_id"),
        "{v}"
    );

    // An oversized photo: refused naming the field, as JSON the outbox reads; nothing written;
    // the next submission in the queue still lands.
    let big_id = Uuid::now_v7();
    let mut big = jpeg();
    big.resize(safegrid::app::photos::MAX_PHOTO_BYTES + 1, 0);
    let r = send(
        &gw,
        format!("{b}/report"),
        report(&csrf, big_id, "离线上报：照片太大", Some(big)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v: Value = r.json().await.unwrap();
    let errors = v["refused"]["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["field"] == "photo"), "{v}");
    assert_eq!(count(app, cases, &[big_id]).await, 0);
    let next = Uuid::now_v7();
    let r = send(
        &gw,
        format!("{b}/report"),
        report(&csrf, next, "离线上报：下一条", None),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(app, cases, &[next]).await, 1);

    // A field error of the form itself, and a NUL byte: refused, named, nothing written.
    let bad = Uuid::now_v7();
    let r = send(&gw, format!("{b}/report"), report(&csrf, bad, "", None)).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["refused"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "description"),
        "{v}"
    );
    let r = send(
        &gw,
        format!("{b}/report"),
        report(&csrf, bad, "空字符\0在这里", None),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(app, cases, &[bad]).await, 0);
    // Not a UUID version 7 (the page makes v7 ids, as the server does).
    let v4 = Uuid::new_v4();
    let r = send(
        &gw,
        format!("{b}/report"),
        report(&csrf, v4, "版本不对", None),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(app, cases, &[v4]).await, 0);
}

/// Walks a new case of the grid worker's to `handled` over the API; returns its id.
async fn handled_case(app: &TestApp) -> String {
    let b = &app.base;
    let gw = login(app, "demo-gridworker").await;
    let disp = login(app, "demo-dispatcher").await;
    let handler = login(app, "demo-handler").await;
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;
    let (s, case) = post(
        &gw,
        format!("{b}/api/v1/cases"),
        json!({"category": "C0102", "description": "井盖破损，需要更换。", "lat": lat, "lon": lon}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let id = case["id"].as_str().unwrap().to_string();
    act_ok(app, &disp, &id, json!({"action": "register"})).await;
    act_ok(
        app,
        &disp,
        &id,
        json!({"action": "dispatch", "department": "330502-cgj"}),
    )
    .await;
    act_ok(app, &handler, &id, json!({"action": "accept"})).await;
    let v = act_ok(
        app,
        &handler,
        &id,
        json!({"action": "handle", "note": "已更换新井盖。"}),
    )
    .await;
    assert_eq!(v["status"], "handled");
    id
}

fn verify_form(page: &str, client_id: Uuid) -> Form {
    let field = |name: &str| {
        let at = page.find("id=\"form-verify\"").expect("the verify form");
        let rest = &page[at..];
        let needle = format!("name=\"{name}\" value=\"");
        let v = rest.find(&needle).expect(name);
        rest[v + needle.len()..]
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    Form::new()
        .text("csrf", csrf_of(page))
        .text("action", "verify")
        .text("version", field("version"))
        .text("state", field("state"))
        .text("client_id", client_id.to_string())
        .text("passed", "yes")
        .part("photo", Part::bytes(jpeg()).file_name("fixed.jpg"))
}

async fn a_queued_verification_sent_twice_or_too_late(app: &TestApp) {
    let b = &app.base;
    let gw = web_session(app, "demo-gridworker", PASSWORD).await;

    // Sent twice: one verification, one photo, one history entry noting the phone's id.
    let id = handled_case(app).await;
    let case_id = Uuid::parse_str(&id).unwrap();
    let shown = page(&gw, format!("{b}/work/cases/{id}")).await;
    assert!(
        shown.contains("data-offline="),
        "the verify form works offline"
    );
    let cid = Uuid::now_v7();
    // A deadline light or a supervision entry moves the version on without changing the state:
    // the queued verification still applies.
    let disp = login(app, "demo-dispatcher").await;
    act_ok(
        app,
        &disp,
        &id,
        json!({"action": "supervise", "note": "请尽快核查。"}),
    )
    .await;
    for _ in 0..2 {
        let r = send(
            &gw,
            format!("{b}/work/cases/{id}/act"),
            verify_form(&shown, cid),
        )
        .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{:?}", r.text().await);
        assert_eq!(
            r.headers()["location"],
            format!("/work/cases/{id}?done=verify").as_str()
        );
    }
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM case_events WHERE case_id = $1 AND action = 'verify'",
            &[case_id]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM case_photos WHERE case_id = $1 AND action = 'verify'",
            &[case_id]
        )
        .await,
        1
    );

    // Queued while handled; meanwhile the command center verified and closed it.
    let id = handled_case(app).await;
    let case_id = Uuid::parse_str(&id).unwrap();
    let shown = page(&gw, format!("{b}/work/cases/{id}")).await;
    act_ok(app, &disp, &id, json!({"action": "verify", "passed": true})).await;
    act_ok(app, &disp, &id, json!({"action": "close"})).await;
    let events = "SELECT COUNT(*) FROM case_events WHERE case_id = $1";
    let before = count(app, events, &[case_id]).await;
    let r = send(
        &gw,
        format!("{b}/work/cases/{id}/act"),
        verify_form(&shown, Uuid::now_v7()),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["refused"]["state"], "closed");
    assert_eq!(v["refused"]["errors"][0]["field"], "state");
    assert!(
        v["refused"]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("已结案"),
        "names the state: {v}"
    );
    assert_eq!(
        count(app, events, &[case_id]).await,
        before,
        "nothing written"
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM case_photos WHERE case_id = $1 AND action = 'verify'",
            &[case_id]
        )
        .await,
        0
    );
}

async fn the_installable_app_is_served(app: &TestApp) {
    let b = &app.base;
    let c = browser();
    let r = c
        .get(format!("{b}/manifest.webmanifest"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/manifest+json");
    let m: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(m["name"], "平安网格");
    assert_eq!(m["start_url"], "/work");
    for icon in m["icons"].as_array().unwrap() {
        let r = c
            .get(format!("{b}{}", icon["src"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], "image/png");
        let img = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(
            format!("{}x{}", img.width(), img.height()),
            icon["sizes"].as_str().unwrap()
        );
    }
    let r = c.get(format!("{b}/sw.js")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(r.headers()["service-worker-allowed"], "/");
    let sw = r.text().await.unwrap();
    assert!(
        sw.contains("/assets/vendor/leaflet-1.9.4/leaflet.js") && sw.contains("/assets/offline.js")
    );
    assert!(sw.contains("const TILE_URL = \"\";"), "no tiles by default");
    // The outbox is a staff page; the header links to it and the pages register the worker.
    let r = c.get(format!("{b}/work/outbox")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let gw = web_session(app, "demo-gridworker", PASSWORD).await;
    let outbox = page(&gw, format!("{b}/work/outbox")).await;
    assert!(outbox.contains("id=\"outbox-waiting\"") && outbox.contains("id=\"send-now\""));
    assert!(outbox.contains("id=\"outbox-badge\"") && outbox.contains("/assets/offline.js"));
    assert!(outbox.contains("rel=\"manifest\""));
    for bad in ["<style", " style=", "<script>", "onclick="] {
        assert!(!outbox.contains(bad), "inline {bad} on the outbox");
    }
    let tasks = page(&gw, format!("{b}/work/tasks")).await;
    assert!(
        tasks.contains("data-offline-cache"),
        "inspection forms kept for offline use"
    );
}

/// HTTPS served by safegrid itself with a certificate it made: a client trusting only the made
/// authority completes the handshake for `localhost` and reads `/healthz`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_self_signed_certificate() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        open_limits(s);
        s.tls_self_signed = true;
        s.tls_hosts = vec!["localhost".into(), "127.0.0.1".into()];
    })
    .await
    .expect("app")
    .expect("sqlite is always available");
    let dir = safegrid::tls::self_signed_dir(&app.state.settings);
    let port = app.base.rsplit(':').next().unwrap().to_string();
    // The server makes the files as it starts serving.
    let ca = dir.join("ca.pem");
    for _ in 0..100 {
        if dir.join("cert.pem").exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(&ca).unwrap();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(safegrid::tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tls.read_to_string(&mut answer).await.ok();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""), "{answer}");
    // Plain HTTP on the TLS port is not served.
    let r = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(r.is_err() || !r.unwrap().status().is_success());
}

/// The API takes the same client-made id as the offline forms: a staff client retrying a
/// submission (a lost answer, a timeout) gets the case it made the first time.
async fn an_api_submission_retried_with_its_client_id_is_stored_once(app: &TestApp) {
    let gw = login(app, "demo-gridworker").await;
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;
    let id = Uuid::now_v7();
    let body = json!({"category": "C0102", "description": "接口重试：井盖破损", "lat": lat, "lon": lon,
        "client_id": id});
    let (s, first) = post(&gw, format!("{}/api/v1/cases", app.base), body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["id"], id.to_string());
    let (s, again) = post(&gw, format!("{}/api/v1/cases", app.base), body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["number"], first["number"]);
    let page = app
        .state
        .store
        .list_cases(
            &safegrid_store::CaseFilter {
                text: Some("接口重试".into()),
                limit: 10,
                ..Default::default()
            },
            &safegrid_domain::workflow::terminal_states(),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    // Another account's retry with that id is refused naming it; a non-v7 id too.
    let other = login(app, "demo-dispatcher").await;
    let (s, v) = post(&other, format!("{}/api/v1/cases", app.base), body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "client_id", "{v}");
    let (s, v) = post(
        &gw,
        format!("{}/api/v1/cases", app.base),
        json!({"category": "C0102",
        "description": "x", "lat": lat, "lon": lon, "client_id": Uuid::new_v4()}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "client_id", "{v}");
}
