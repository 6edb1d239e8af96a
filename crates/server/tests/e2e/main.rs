//! End-to-end test of the web interface in headless Chromium (Debian `chromium` +
//! `chromium-driver`, driven over WebDriver with fantoccini): the whole story of one case across
//! every role, through the pages only, in both languages, at phone and wall sizes.
//!
//! Skipped loudly when Chromium or chromedriver is missing; a failure under `CI=true`.
//! `SAFEGRID_SCREENSHOTS=docs/screenshots` also saves each main page at 360×800 and 1920×1080.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use fantoccini::{Client, ClientBuilder, Locator};
use helpers::{Backend, PASSWORD, TestApp, act_ok, login, post, spawn_app};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMIUM: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];
const DRIVER: &[&str] = &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

fn first_existing(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.exists())
}

fn skipped(why: &str) {
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         !!! SKIPPED the browser end-to-end test: {why}\n\
         !!! (apt-get install chromium chromium-driver)\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("a skipped test is a failure under CI=true: {why}");
    }
}

/// chromedriver on a free port and a WebDriver session on headless Chromium with a fresh profile.
struct Browser {
    c: Client,
    driver: Child,
    _profile: helpers::tempdir::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

async fn start_browser(chromium: &Path, driver: &Path) -> Browser {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let profile = helpers::tempdir::TempDir::new();
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1920,1080",
                format!("--user-data-dir={}", profile.0.display()),
            ],
        }
    });
    let caps = caps.as_object().unwrap().clone();
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..50 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => {
                return Browser {
                    c,
                    driver: child,
                    _profile: profile,
                };
            }
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("could not start a WebDriver session: {last:?}");
}

/// Steps of the story, with the page's state in the message when one fails.
struct Story<'a> {
    b: &'a Browser,
    base: String,
    shots: Option<PathBuf>,
}

impl Story<'_> {
    fn c(&self) -> &Client {
        &self.b.c
    }

    async fn go(&self, path: &str) {
        self.c()
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("goto {path}: {e}"));
    }

    async fn wait_css(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .c()
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let url = self
                    .c()
                    .current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                let src = self.c().source().await.unwrap_or_default();
                let body: String = src.chars().take(4000).collect();
                panic!("waiting for {css} on {url}: {e}\n{body}");
            }
        }
    }

    async fn text(&self, css: &str) -> String {
        self.wait_css(css).await.text().await.unwrap()
    }

    async fn click(&self, css: &str) {
        let e = self.wait_css(css).await;
        // Scripts may still lay the page out; a click through JS is not blocked by overlays.
        self.c()
            .execute(
                "arguments[0].scrollIntoView({block:'center'}); arguments[0].click();",
                vec![serde_json::to_value(&e).unwrap()],
            )
            .await
            .unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.wait_css(css).await;
        e.clear().await.ok();
        e.send_keys(text)
            .await
            .unwrap_or_else(|err| panic!("typing into {css}: {err}"));
    }

    /// Waits until `js` (an expression) is truthy.
    async fn until(&self, what: &str, js: &str) {
        for _ in 0..100 {
            let v = self
                .c()
                .execute(&format!("return !!({js});"), vec![])
                .await
                .unwrap();
            if v.as_bool() == Some(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let url = self
            .c()
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        panic!("timed out waiting for {what} on {url}");
    }

    async fn status(&self) -> String {
        self.wait_css("#status")
            .await
            .attr("data-status")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    async fn login(&self, user: &str) {
        self.go("/login").await;
        self.fill("#username", user).await;
        self.fill("#password", PASSWORD).await;
        self.click("#login-submit").await;
        self.wait_css("#logout").await;
    }

    async fn logout(&self) {
        self.click("#logout").await;
        self.wait_css("#login-link").await;
    }

    /// Saves this page at phone and wall sizes when screenshots are asked for.
    async fn snap(&self, name: &str) {
        let Some(dir) = &self.shots else { return };
        for (w, h, size) in [(360u32, 800u32, "phone"), (1920, 1080, "desktop")] {
            self.c().set_window_size(w, h).await.unwrap();
            // The window includes the browser's frame: grow it until the page sees w × h.
            let inner = self
                .c()
                .execute("return [window.innerWidth, window.innerHeight];", vec![])
                .await
                .unwrap();
            let (iw, ih) = (
                inner[0].as_u64().unwrap_or(w as u64) as u32,
                inner[1].as_u64().unwrap_or(h as u64) as u32,
            );
            self.c()
                .set_window_size(w + w.saturating_sub(iw), h + h.saturating_sub(ih))
                .await
                .unwrap();
            self.c().refresh().await.unwrap();
            tokio::time::sleep(Duration::from_millis(1200)).await;
            let png = self.c().screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}-{size}.png")), png).unwrap();
        }
        self.c().set_window_size(1920, 1080).await.unwrap();
    }

    async fn kpi(&self, key: &str) -> i64 {
        let t = self.text(&format!("[data-kpi={key}] .kpi-value")).await;
        t.trim()
            .parse()
            .unwrap_or_else(|_| panic!("KPI {key} is {t:?}"))
    }
}

/// A photo with some texture, written as PNG (the pages re-encode it).
fn photo_file(dir: &Path, name: &str) -> PathBuf {
    let img = image::RgbImage::from_fn(800, 600, |x, y| {
        image::Rgb([(x / 4) as u8, (y / 3) as u8, 120])
    });
    let p = dir.join(name);
    img.save(&p).unwrap();
    p
}

async fn story(app: &TestApp, b: &Browser) {
    let shots = std::env::var("SAFEGRID_SCREENSHOTS").ok().map(|d| {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(d);
        std::fs::create_dir_all(&p).unwrap();
        p
    });
    let s = Story {
        b,
        base: app.base.clone(),
        shots,
    };
    let files = helpers::tempdir::TempDir::new();
    let photo = photo_file(&files.0, "broken-bin.png");
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;
    let county = "330502000000"; // 吴兴区, where the grid worker's grid and the handler's department are

    // The leader's dashboard before: the county's figures for cases reported in the last year.
    s.login("demo-leader").await;
    s.go(&format!("/work/dashboard?region={county}")).await;
    let reported_before = s.kpi("reported").await;
    let closed_before = s.kpi("closed").await;
    s.until(
        "the trend chart",
        "document.querySelector('#trend-chart canvas')",
    )
    .await;
    s.logout().await;

    // A resident, on a phone, reports an overflowing litter bin at the grid worker's point.
    s.c().set_window_size(360, 800).await.unwrap();
    s.go(&format!("/?lat={lat}&lon={lon}")).await;
    s.until(
        "the grid under the point",
        "document.querySelector('#report-map').getAttribute('data-grid-code')",
    )
    .await;
    let grid =
        s.b.c
            .execute(
                "return document.querySelector('#report-map').getAttribute('data-grid-code')",
                vec![],
            )
            .await
            .unwrap();
    assert_eq!(
        grid.as_str().unwrap().len(),
        15,
        "a 15-digit grid code: {grid}"
    );
    s.until(
        "grid outlines drawn",
        "+document.querySelector('#report-map').getAttribute('data-outlines') > 0",
    )
    .await;
    // Submitting without a category comes back with the error next to the field.
    s.fill("#description", "E2E 垃圾箱满溢，垃圾散落一地").await;
    s.click("#submit-report").await;
    s.wait_css("#err-category").await;
    assert!(s.text("#err-category").await.contains("请选择问题分类"));
    s.fill("#cat-filter", "垃圾箱").await;
    s.click("input[name=category][value=C0301]").await;
    s.b.c
        .find(Locator::Css("#photos"))
        .await
        .unwrap()
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    s.fill("#name", "张三").await;
    s.fill("#phone", "13812345678").await;
    s.click("#submit-report").await;
    let code = s.text("#tracking-code").await.trim().to_string();
    assert_eq!(code.len(), 10, "tracking code {code}");
    assert!(s.text("#timeline").await.contains("上报"));
    s.c().set_window_size(1920, 1080).await.unwrap();

    // The command center registers it from the intake queue and dispatches it to 吴兴区 城管.
    s.login("demo-dispatcher").await;
    s.go("/work/queue").await;
    s.wait_css("#case-list .case-link").await;
    s.snap("queue").await;
    s.go("/work/cases?q=E2E").await;
    s.click(".case-link").await;
    assert_eq!(s.status().await, "reported");
    let case_url = s.c().current_url().await.unwrap().to_string();
    let case_url = case_url.split('?').next().unwrap().to_string();
    assert!(s.text("#actions").await.contains("立案"));
    s.click("#do-register").await;
    s.until(
        "registered",
        "document.querySelector('#status').dataset.status === 'registered'",
    )
    .await;
    s.snap("case").await;
    let dept = s.wait_css("#department-dispatch").await;
    assert_eq!(
        dept.prop("value").await.unwrap().as_deref(),
        Some("330502-cgj"),
        "the category's department is preselected"
    );
    assert!(
        s.text("#dispatch-deadline").await.contains("20"),
        "the computed deadline is shown before confirming"
    );
    s.click("#do-dispatch").await;
    s.until(
        "dispatched",
        "document.querySelector('#status').dataset.status === 'dispatched'",
    )
    .await;
    s.wait_css("#photos img").await; // the resident's photo, re-encoded
    s.logout().await;

    // The department accepts and reports it handled with a note and a photo.
    s.login("demo-handler").await;
    s.go("/work/inbox").await;
    s.wait_css("#case-list .case-link").await;
    s.snap("inbox").await;
    s.c().goto(&case_url).await.unwrap();
    s.click("#do-accept").await;
    s.until(
        "accepted",
        "document.querySelector('#status').dataset.status === 'accepted'",
    )
    .await;
    // A return without its reason is refused next to the note, nothing changes.
    s.click("#do-return").await;
    s.wait_css("#err-note-return").await;
    assert_eq!(s.status().await, "accepted");
    s.fill("#note-handle", "已清运并更换垃圾箱").await;
    s.b.c
        .find(Locator::Css("#photo-handle"))
        .await
        .unwrap()
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    s.click("#do-handle").await;
    s.until(
        "handled",
        "document.querySelector('#status').dataset.status === 'handled'",
    )
    .await;
    s.logout().await;

    // The grid worker finds it waiting for verification in their grid, and passes it.
    s.c().set_window_size(360, 800).await.unwrap();
    s.login("demo-gridworker").await;
    s.go("/work/grid").await;
    s.wait_css("#verify-list a").await;
    s.snap("grid").await;
    s.c().goto(&case_url).await.unwrap();
    s.click("#verify-pass").await;
    s.fill("#note-verify", "现场核实已处理").await;
    s.click("#do-verify").await;
    s.until(
        "verified",
        "document.querySelector('#status').dataset.status === 'verified'",
    )
    .await;
    s.logout().await;
    s.c().set_window_size(1920, 1080).await.unwrap();

    // The command center closes it.
    s.login("demo-dispatcher").await;
    s.c().goto(&case_url).await.unwrap();
    s.click("#do-close").await;
    s.until(
        "closed",
        "document.querySelector('#status').dataset.status === 'closed'",
    )
    .await;
    s.go("/work/overdue").await;
    s.snap("overdue").await;
    s.logout().await;

    // The resident follows it by code, sees the timeline with the photos, and rates it.
    s.go(&format!("/track/{code}")).await;
    assert_eq!(s.status().await, "closed");
    assert!(
        s.b.c
            .find_all(Locator::Css(".photos img"))
            .await
            .unwrap()
            .len()
            >= 2,
        "report and handling photos"
    );
    s.click("#score-5").await;
    s.fill("#rate-note", "处理很快，谢谢").await;
    s.click("#submit-rating").await;
    s.wait_css("#rated").await;
    assert_eq!(s.text("#rating").await.trim(), "5 / 5");
    assert!(
        s.b.c.find(Locator::Css("#rate-form")).await.is_err(),
        "rated once"
    );
    s.snap("track").await;
    // The same page in English, then back.
    s.click("#lang-switch").await;
    s.until("English", "document.documentElement.lang === 'en'")
        .await;
    assert!(s.text("h1").await.contains("Track a case"));
    assert!(s.text("#timeline").await.contains("Report handled"));
    s.go("/board").await;
    s.until(
        "board map",
        "document.querySelector('#board-map').dataset.ready",
    )
    .await;
    s.snap("board-en").await;
    s.go(&format!("/?lat={lat}&lon={lon}")).await;
    s.snap("report-en").await;
    s.click("#lang-switch").await;
    s.until("Chinese", "document.documentElement.lang === 'zh-CN'")
        .await;
    s.snap("report").await;
    s.go("/board").await;
    s.snap("board").await;

    // The leader's dashboard counts it.
    s.login("demo-leader").await;
    s.go(&format!("/work/dashboard?region={county}")).await;
    assert_eq!(s.kpi("reported").await, reported_before + 1);
    assert_eq!(s.kpi("closed").await, closed_before + 1);
    s.until(
        "the map of townships",
        "+document.querySelector('#dash-map').dataset.features > 0",
    )
    .await;
    s.snap("dashboard").await;
    s.logout().await;

    // A campaign: the command center designs one in the browser (a checklist row added by the
    // page's script) and publishes it; the grid worker inspects a place from a 360-px phone.
    s.login("demo-dispatcher").await;
    s.go("/work/campaigns/new").await;
    s.fill("#title", "网格消防安全回头看").await;
    s.fill("input[name=region]", "330502").await;
    s.fill("input[name=item_key]", "extinguisher").await;
    s.fill("input[name=item_text_zh]", "配备有效灭火器").await;
    s.fill("input[name=item_hazard]", "否").await;
    s.c()
        .execute(
            "document.querySelector('select[name=item_category]').value = 'H0101';",
            vec![],
        )
        .await
        .unwrap();
    s.click("#add-item").await;
    s.until(
        "a checklist row added",
        "document.querySelectorAll('.checklist-item').length === 4",
    )
    .await;
    s.click("#save-campaign").await;
    s.click("#publish").await;
    s.until(
        "published",
        "document.querySelector('#campaign-status').dataset.status === 'published'",
    )
    .await;
    s.snap("campaign").await;
    s.logout().await;
    s.c().set_window_size(360, 800).await.unwrap();
    s.login("demo-gridworker").await;
    s.go("/work/tasks").await;
    s.snap("tasks").await;
    s.click("#task-list a.task-link").await;
    s.wait_css("#inspect-form").await;
    s.until(
        "no sideways scrolling on a phone",
        "document.documentElement.scrollWidth <= window.innerWidth + 1",
    )
    .await;
    s.click("input[name=outcome][value=closed]").await;
    s.click("#submit-inspection").await;
    s.wait_css("#inspection-saved").await;
    // Her places on the same phone: the register and a place's page, with its history.
    s.go("/work/places").await;
    s.wait_css("#places-map").await;
    s.until(
        "the register without sideways scrolling on a phone",
        "document.documentElement.scrollWidth <= window.innerWidth + 1",
    )
    .await;
    s.snap("places").await;
    s.click("a.case-link").await;
    s.wait_css("#place-name").await;
    s.until(
        "a place's page without sideways scrolling on a phone",
        "document.documentElement.scrollWidth <= window.innerWidth + 1",
    )
    .await;
    s.logout().await;
    s.c().set_window_size(1920, 1080).await.unwrap();

    if s.shots.is_some() {
        s.login("demo-admin").await;
        s.go("/work/admin").await;
        s.snap("admin").await;
        s.logout().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_story_in_a_browser() {
    let (Some(chromium), Some(driver)) = (first_existing(CHROMIUM), first_existing(DRIVER)) else {
        skipped("chromium or chromedriver is not installed");
        return;
    };
    let app = spawn_app(Backend::Sqlite)
        .await
        .expect("app")
        .expect("sqlite is always available");
    let browser = start_browser(&chromium, &driver).await;
    story(&app, &browser).await;
    let _ = browser.c.clone().close().await;
}

// ---------------------------------------------------------------- offline (docs/offline.md)

/// The server of the offline story on a port of its own, stopped and started again on the same
/// port and database: the browser's own network emulation misses the service worker's requests,
/// so the server really goes away.
struct Server {
    state: safegrid::app::state::SharedState,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    async fn start(state: safegrid::app::state::SharedState, port: u16) -> Server {
        let mut last = None;
        for _ in 0..50 {
            match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                Ok(listener) => {
                    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                    let st = state.clone();
                    let task = tokio::spawn(async move {
                        let _ = safegrid::serve(st, listener, async move {
                            let _ = rx.await;
                        })
                        .await;
                    });
                    return Server {
                        state,
                        port,
                        stop: Some(tx),
                        task: Some(task),
                    };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot listen on {port} again: {last:?}");
    }

    /// Stops accepting, lets the requests in flight end (idle connections are closed).
    async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(mut t) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(10), &mut t)
                .await
                .is_err()
        {
            t.abort();
        }
    }
}

/// Counts rows with one text argument (straight from the tables, not through the code under test).
async fn count_text(
    state: &safegrid::app::state::SharedState,
    sql: &'static str,
    arg: &str,
) -> i64 {
    match &state.store {
        safegrid_store::Store::Sqlite(p) => sqlx::query_scalar(sql).bind(arg).fetch_one(p).await,
        safegrid_store::Store::Postgres(p) => sqlx::query_scalar(sql).bind(arg).fetch_one(p).await,
    }
    .unwrap()
}

impl Story<'_> {
    /// Submits an offline form (`form[data-offline]`) with the server gone: the service worker
    /// keeps it and the page lands on the outbox, where it waits. Returns its client id. A new
    /// offline form of the grid worker (a visit) is one more call of this after filling it in.
    async fn submit_offline(&self, form: &str, submit: &str) -> String {
        let id = self
            .c()
            .execute(
                &format!("return document.querySelector('{form} input[name=client_id]').value;"),
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(id.len(), 36, "the form has its client id: {id:?}");
        self.click(submit).await;
        self.until(
            "the outbox after queueing",
            "location.pathname === '/work/outbox'",
        )
        .await;
        self.until(
            "the submission waiting in the outbox",
            &format!(
                "document.querySelector('#outbox-waiting li[data-id=\"{id}\"][data-status=waiting]')"
            ),
        )
        .await;
        id
    }
}

async fn offline_story(app: &TestApp, b: &Browser) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Server::start(app.state.clone(), port).await;
    let s = Story {
        b,
        base: format!("http://127.0.0.1:{port}"),
        shots: None,
    };
    let files = helpers::tempdir::TempDir::new();
    let photo = photo_file(&files.0, "offline-bin.png");
    let (lon, lat) = safegrid::demo::GRIDWORKER_POINT;

    // On a phone, the grid worker opens her pages once: the service worker installs and keeps them.
    s.c().set_window_size(360, 800).await.unwrap();
    s.login("demo-gridworker").await;
    s.go("/work/tasks").await;
    s.until(
        "the service worker in control",
        "document.body.dataset.sw === 'ready' && navigator.serviceWorker.controller",
    )
    .await;
    s.go("/").await;
    s.wait_css("#report-form[data-offline]").await;
    s.go("/work/outbox").await;
    s.wait_css("#outbox-waiting").await;
    s.until(
        "the pages kept",
        "caches.open('safegrid-pages').then(c => c.keys()).then(k => { window.__kept = k.length; }), window.__kept >= 3",
    )
    .await;

    // A case of her grid waits for her verification; she opens it while she still has a signal.
    let api = |path: &str| format!("{}{path}", app.base);
    let (gw, disp, handler) = (
        login(app, "demo-gridworker").await,
        login(app, "demo-dispatcher").await,
        login(app, "demo-handler").await,
    );
    let (status, case) = post(
        &gw,
        api("/api/v1/cases"),
        json!({"category": "C0102", "description": "E2E 井盖破损待核查", "lat": lat, "lon": lon}),
    )
    .await;
    assert!(status.is_success(), "{case}");
    let case_id = case["id"].as_str().unwrap().to_string();
    act_ok(app, &disp, &case_id, json!({"action": "register"})).await;
    act_ok(
        app,
        &disp,
        &case_id,
        json!({"action": "dispatch", "department": "330502-cgj"}),
    )
    .await;
    act_ok(app, &handler, &case_id, json!({"action": "accept"})).await;
    act_ok(
        app,
        &handler,
        &case_id,
        json!({"action": "handle", "note": "已更换。"}),
    )
    .await;
    s.go(&format!("/work/cases/{case_id}")).await;
    s.wait_css("#form-verify[data-offline]").await;
    s.go("/work/visits").await;
    s.wait_css("#visit-form[data-offline]").await;

    // The connection goes: the server stops.
    server.stop().await;

    // Offline, she passes the verification; it waits. Meanwhile the command center (on its own
    // connection) verifies and closes the case.
    s.go(&format!("/work/cases/{case_id}")).await;
    s.click("#verify-pass").await;
    let verify = s.submit_offline("#form-verify", "#do-verify").await;
    act_ok(
        app,
        &disp,
        &case_id,
        json!({"action": "verify", "passed": true}),
    )
    .await;
    act_ok(app, &disp, &case_id, json!({"action": "close"})).await;

    // First a report whose photo is over the limit (10 MB): it waits like any other.
    let big = files.0.join("too-big.jpg");
    let mut bytes = std::fs::read(&photo).unwrap();
    bytes.resize(safegrid::app::photos::MAX_PHOTO_BYTES + 1024, 0);
    std::fs::write(&big, bytes).unwrap();
    s.go("/").await;
    s.wait_css("#report-form[data-offline]").await;
    s.fill("#lat", &lat.to_string()).await;
    s.fill("#lon", &lon.to_string()).await;
    s.click("input[name=category][value=C0301]").await;
    s.fill("#description", "E2E 离线上报：照片太大").await;
    s.b.c
        .find(Locator::Css("#photos"))
        .await
        .unwrap()
        .send_keys(&big.display().to_string())
        .await
        .unwrap();
    let too_big = s.submit_offline("#report-form", "#submit-report").await;

    // She reports an overflowing bin with a photo; it waits on the phone.
    s.go("/").await;
    s.wait_css("#report-form[data-offline]").await;
    s.fill("#lat", &lat.to_string()).await;
    s.fill("#lon", &lon.to_string()).await;
    s.click("input[name=category][value=C0301]").await;
    s.fill("#description", "E2E 离线上报：垃圾箱满溢").await;
    s.b.c
        .find(Locator::Css("#photos"))
        .await
        .unwrap()
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    let id = s.submit_offline("#report-form", "#submit-report").await;
    // On her round she records a visit to a door of her grid (走访); it waits too.
    s.go("/work/visits").await;
    s.wait_css("#visit-form[data-offline]").await;
    s.c()
        .execute(
            "const a = document.querySelector('#address_id'); a.selectedIndex = 1; return a.value;",
            vec![],
        )
        .await
        .unwrap();
    s.fill("#raised", "E2E 离线走访：楼道灯不亮").await;
    let visit = s.submit_offline("#visit-form", "#visit-submit").await;
    s.until(
        "the header counts four waiting",
        "document.querySelector('#outbox-count').textContent === '4' && !document.querySelector('#outbox-badge').hidden",
    )
    .await;
    assert!(s.text("#outbox-waiting").await.contains("E2E 离线上报"));
    s.until(
        "the outbox, badge shown, without sideways scrolling on a phone",
        "document.documentElement.scrollWidth <= window.innerWidth + 1",
    )
    .await;
    let stored = "SELECT COUNT(*) FROM cases WHERE description = $1";
    assert_eq!(
        count_text(&server.state, stored, "E2E 离线上报：垃圾箱满溢").await,
        0
    );
    let visits = "SELECT COUNT(*) FROM visits WHERE raised = $1";
    assert_eq!(
        count_text(&server.state, visits, "E2E 离线走访：楼道灯不亮").await,
        0
    );

    // The server is back on the same port and database; "send now" flushes the queue.
    server = Server::start(server.state.clone(), server.port).await;
    s.click("#send-now").await;
    s.until(
        "the report sent",
        &format!("document.querySelector('#outbox-sent li[data-id=\"{id}\"]')"),
    )
    .await;
    s.until(
        "the visit sent",
        &format!("document.querySelector('#outbox-sent li[data-id=\"{visit}\"]')"),
    )
    .await;
    s.until(
        "nothing waiting",
        "document.querySelector('#outbox-count').textContent === '0'",
    )
    .await;
    assert_eq!(
        count_text(&server.state, visits, "E2E 离线走访：楼道灯不亮").await,
        1,
        "the visit stored exactly once"
    );
    // The oversized one was refused, its reason shown naming the photo; the other still went.
    s.until(
        "the refusal shown",
        &format!(
            "document.querySelector('#outbox-refused li[data-id=\"{too_big}\"] .outbox-refusal li[data-field=photo]')"
        ),
    )
    .await;
    assert!(
        s.text(&format!("#outbox-refused li[data-id=\"{too_big}\"]"))
            .await
            .contains("照片"),
        "the reason, in the page's language"
    );
    assert_eq!(
        count_text(&server.state, stored, "E2E 离线上报：照片太大").await,
        0
    );
    // The verification arrived after the case was closed: refused, the state named, nothing applied.
    s.until(
        "the late verification refused",
        &format!(
            "document.querySelector('#outbox-refused li[data-id=\"{verify}\"] .outbox-refusal[data-http=\"409\"][data-state=closed]')"
        ),
    )
    .await;
    assert!(
        s.text(&format!("#outbox-refused li[data-id=\"{verify}\"]"))
            .await
            .contains("已结案")
    );
    assert_eq!(
        count_text(
            &server.state,
            "SELECT COUNT(*) FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.description = $1 AND e.action = 'verify'",
            "E2E 井盖破损待核查"
        )
        .await,
        1,
        "only the command center's verification"
    );

    // The same submission sent again (as a phone that never saw the answer would): still one.
    s.c()
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
                 (async () => {{
                   const d = await new Promise(ok => {{ const r = indexedDB.open('safegrid-offline', 1); r.onsuccess = () => ok(r.result); }});
                   const item = await new Promise(ok => {{ const g = d.transaction('outbox').objectStore('outbox').get('{id}'); g.onsuccess = () => ok(g.result); }});
                   item.status = 'waiting';
                   await new Promise(ok => {{ const t = d.transaction('outbox', 'readwrite'); t.objectStore('outbox').put(item); t.oncomplete = ok; }});
                 }})().then(() => done(true));"
            ),
            vec![],
        )
        .await
        .unwrap();
    s.click("#send-now").await;
    s.until(
        "sent again",
        &format!("document.querySelector('#outbox-sent li[data-id=\"{id}\"]') && document.querySelector('#outbox-count').textContent === '0'"),
    )
    .await;
    assert_eq!(
        count_text(&server.state, stored, "E2E 离线上报：垃圾箱满溢").await,
        1,
        "stored exactly once"
    );
    assert_eq!(
        count_text(
            &server.state,
            "SELECT COUNT(*) FROM cases WHERE description = $1 AND id = (SELECT id FROM cases WHERE description = $1)",
            "E2E 离线上报：垃圾箱满溢"
        )
        .await,
        1
    );
    // The list is redrawn whenever the worker reports: read the link in one step.
    let link = format!("#outbox-sent li[data-id=\"{id}\"] a.outbox-result");
    s.until(
        "the link to the case",
        &format!("document.querySelector('{link}')"),
    )
    .await;
    let case_url = s
        .c()
        .execute(
            &format!("return document.querySelector('{link}').getAttribute('href');"),
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        case_url.starts_with(&format!("/work/cases/{id}")),
        "{case_url}"
    );
    s.go(&case_url).await;
    s.wait_css("#photos img").await;
    s.until(
        "no sideways scrolling on a phone",
        "document.documentElement.scrollWidth <= window.innerWidth + 1",
    )
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grid_worker_offline_in_a_browser() {
    let (Some(chromium), Some(driver)) = (first_existing(CHROMIUM), first_existing(DRIVER)) else {
        skipped("chromium or chromedriver is not installed");
        return;
    };
    let app = spawn_app(Backend::Sqlite)
        .await
        .expect("app")
        .expect("sqlite is always available");
    let browser = start_browser(&chromium, &driver).await;
    offline_story(&app, &browser).await;
    let _ = browser.c.clone().close().await;
}
