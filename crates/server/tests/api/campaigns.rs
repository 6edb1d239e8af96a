//! Stories of screening campaigns (专项行动, 隐患排查整治), told over HTTP on each backend:
//! 吴兴区 runs a 群租房 fire-safety campaign over 300 places; the demo grid worker inspects hers;
//! two hazards open cases that are rectified and re-inspected, one runs late and is supervised;
//! the township's table shows 100 % coverage and one overdue — every figure compared with counts
//! taken from the rows themselves, the XLSX read back with calamine. And the bad input of the
//! issue, each a clear error naming the field with nothing written.

use super::helpers::*;
use calamine::Reader;
use reqwest::{Client, StatusCode};
use safegrid_domain::calendar::{Limit, WorkCalendar};
use serde_json::{Value, json};
use uuid::Uuid;

story!(wuxing_group_rental_fire_safety_campaign);
story!(campaign_life_and_bad_input);

const POINT: (f64, f64) = (120.02352, 30.78412);

/// Runs one statement with text and UUID arguments (in that order of `$n`).
async fn exec(app: &TestApp, sql: &str, texts: &[&str], ids: &[Uuid]) -> u64 {
    macro_rules! run {
        ($p:expr) => {{
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
            for t in texts {
                q = q.bind(t.to_string());
            }
            for i in ids {
                q = q.bind(*i);
            }
            q.execute($p).await.unwrap().rows_affected()
        }};
    }
    match &app.state.store {
        safegrid_store::Store::Sqlite(p) => run!(p),
        safegrid_store::Store::Postgres(p) => run!(p),
    }
}

/// One count, with text and UUID arguments (in that order of `$n`).
async fn count(app: &TestApp, sql: &str, texts: &[&str], ids: &[Uuid]) -> i64 {
    macro_rules! run {
        ($p:expr) => {{
            let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()));
            for t in texts {
                q = q.bind(t.to_string());
            }
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

/// A place of the register, inserted as the places table defines it.
#[allow(clippy::too_many_arguments)]
async fn insert_place(
    app: &TestApp,
    kind: &str,
    name: &str,
    grid: Option<&str>,
    region: &str,
    point: Option<(f64, f64)>,
) -> Uuid {
    let id = Uuid::now_v7();
    let county = &region[..6];
    let sql = "INSERT INTO places (county_code, id, kind, name, address, lat, lon, grid_code, region_code, tags, status, created_at, updated_at, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '[]', 'active', 0, 0, 1)";
    let address = format!("吴兴区{name}号");
    macro_rules! run {
        ($p:expr) => {{
            sqlx::query(sql)
                .bind(county)
                .bind(id)
                .bind(kind)
                .bind(name)
                .bind(&address)
                .bind(point.map(|p| p.1))
                .bind(point.map(|p| p.0))
                .bind(grid)
                .bind(region)
                .execute($p)
                .await
                .unwrap();
        }};
    }
    match &app.state.store {
        safegrid_store::Store::Sqlite(p) => run!(p),
        safegrid_store::Store::Postgres(p) => run!(p),
    }
    id
}

/// Grids of a county with their villages.
async fn grids(app: &TestApp, county: &str) -> Vec<(String, String)> {
    let sql = "SELECT code, village_code FROM grids WHERE county_code = $1 ORDER BY code";
    match &app.state.store {
        safegrid_store::Store::Sqlite(p) => sqlx::query_as(sql).bind(county).fetch_all(p).await,
        safegrid_store::Store::Postgres(p) => sqlx::query_as(sql).bind(county).fetch_all(p).await,
    }
    .unwrap()
}

fn checklist() -> Value {
    json!([
        {"key": "extinguisher", "text_zh": "每层配备有效灭火器", "text_en": "Extinguishers on every floor",
         "answer": "yes_no", "required": true,
         "hazard": {"when": {"equals": false}, "category": "H0101", "severity": "general", "limit": "7 natural_days"}},
        {"key": "exit", "text_zh": "疏散通道", "answer": "choice", "options": ["畅通", "部分堵塞", "堵死"], "required": true,
         "hazard": {"when": {"any_of": ["部分堵塞", "堵死"]}, "category": "H0104", "severity": "major", "limit": "3 natural_days"}},
        {"key": "rooms", "text_zh": "隔断间数", "answer": "number"},
        {"key": "door", "text_zh": "门头照片", "answer": "photo"}
    ])
}

fn campaign_body(region: &str) -> Value {
    let today = chrono::Utc::now()
        .with_timezone(&safegrid::app::time::shanghai())
        .date_naive();
    json!({
        "title": "吴兴区群租房消防安全专项整治",
        "kind": "group_rental",
        "region": region,
        "place_kinds": ["group_rental"],
        "starts_on": today.to_string(),
        "ends_on": (today + chrono::Duration::days(30)).to_string(),
        "checklist": checklist(),
    })
}

/// A 1×1 PNG.
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(8, 8, image::Rgb([200, 10, 10]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

async fn inspect(c: &Client, app: &TestApp, body: &Value) -> (StatusCode, Value) {
    post(c, format!("{}/api/v1/inspections", app.base), body.clone()).await
}

async fn inspect_with_photo(
    c: &Client,
    app: &TestApp,
    body: &Value,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let form = reqwest::multipart::Form::new()
        .text("inspection", body.to_string())
        .part(
            "photo",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    let r = c
        .post(format!("{}/api/v1/inspections", app.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn row<'a>(p: &'a Value, level: &str, code: &str) -> &'a Value {
    p["levels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["level"] == level)
        .and_then(|l| {
            l["rows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["code"] == code)
        })
        .unwrap_or_else(|| panic!("no {level} row {code} in {p}"))
}

async fn wuxing_group_rental_fire_safety_campaign(app: &TestApp) {
    let admin = login(app, "demo-admin").await;
    let dispatcher = login(app, "demo-dispatcher").await;
    let gw = login(app, "demo-gridworker").await;
    let leader = login(app, "demo-leader").await;
    let (_, me) = get(&gw, format!("{}/api/v1/auth/me", app.base)).await;
    let my_grid = me["grids"][0]
        .as_str()
        .or_else(|| me["user"]["grids"][0].as_str())
        .unwrap_or_else(|| panic!("grid of the demo grid worker: {me}"))
        .to_string();
    let township = my_grid[..9].to_string();
    // The fire department's handler of 吴兴区.
    let (s, v) = post(
        &admin,
        format!("{}/api/v1/admin/users", app.base),
        json!({"username": "handler-xf", "role": "handler", "department": "330502-xf", "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let fire = login(app, "handler-xf").await;

    // 300 group rentals: 12 in the grid worker's grid (points inside it), the rest in grids of
    // 吴兴区's other townships; and three places the campaign does not cover.
    let all = grids(app, "330502").await;
    let others: Vec<&(String, String)> =
        all.iter().filter(|g| !g.0.starts_with(&township)).collect();
    assert!(!others.is_empty());
    let loc = app.state.locator();
    let mut mine = vec![];
    for i in 0..12 {
        let p = (
            POINT.0 + 0.00001 * f64::from(i % 4),
            POINT.1 + 0.00001 * f64::from(i / 4),
        );
        let p = if loc.locate(p.0, p.1).grid.as_deref() == Some(my_grid.as_str()) {
            p
        } else {
            POINT
        };
        mine.push(
            insert_place(
                app,
                "group_rental",
                &format!("凤凰路{}", i + 1),
                Some(&my_grid),
                &my_grid[..12],
                // The second is registered by address only (no point): its hazard must still
                // reach her grid for the re-inspection.
                (i != 1).then_some(p),
            )
            .await,
        );
    }
    for i in 0..288 {
        let (g, v) = others[i % others.len()];
        insert_place(
            app,
            "group_rental",
            &format!("织里路{}", i + 1),
            Some(g),
            v,
            None,
        )
        .await;
    }
    let shop = insert_place(
        app,
        "shop",
        "沿街商铺1",
        Some(&my_grid),
        &my_grid[..12],
        Some(POINT),
    )
    .await;
    let (og, ov) = others[0];
    let elsewhere = insert_place(app, "group_rental", "别的网格1", Some(og), ov, None).await;
    let nanxun = insert_place(app, "group_rental", "南浔1", None, "330503001001", None).await;

    // The design refers to a category that does not exist: refused naming it, nothing stored.
    let campaigns_before = count(app, "SELECT COUNT(*) FROM campaigns", &[], &[]).await;
    let mut bad = campaign_body("330502");
    bad["checklist"][1]["hazard"]["category"] = json!("H0999");
    let (s, v) = post(&dispatcher, format!("{}/api/v1/campaigns", app.base), bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "checklist[1].hazard.category", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown category H0999"),
        "{v}"
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM campaigns", &[], &[]).await,
        campaigns_before
    );

    // The command center designs and publishes the campaign.
    let (s, c) = post(
        &dispatcher,
        format!("{}/api/v1/campaigns", app.base),
        campaign_body("330502"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["status"], "draft");
    let cid = c["id"].as_str().unwrap().to_string();
    let campaign = Uuid::parse_str(&cid).unwrap();
    let (s, p) = post(
        &dispatcher,
        format!("{}/api/v1/campaigns/{cid}/publish", app.base),
        json!({"version": 1}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let due_in_wuxing = count(
        app,
        "SELECT COUNT(*) FROM places WHERE region_code LIKE '330502%' AND kind = 'group_rental' AND status = 'active'",
        &[],
        &[],
    )
    .await;
    assert!(due_in_wuxing >= 301);
    assert_eq!(p["tasks"], json!(due_in_wuxing), "{p}");
    assert_eq!(p["status"], "published");

    // Today's tasks of the grid worker: her 12 places, nearest first.
    let (s, t) = get(
        &gw,
        format!(
            "{}/api/v1/tasks/today?lat={}&lon={}",
            app.base, POINT.1, POINT.0
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let tasks: Vec<&Value> = t["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["campaign"] == cid.as_str())
        .collect();
    let in_my_grid = count(
        app,
        "SELECT COUNT(*) FROM places WHERE grid_code = $1 AND kind = 'group_rental' AND status = 'active'",
        &[&my_grid],
        &[],
    )
    .await;
    assert_eq!(tasks.len() as i64, in_my_grid);
    let d: Vec<Option<f64>> = tasks.iter().map(|x| x["distance_m"].as_f64()).collect();
    // Nearest first; a place without a point last.
    let known: Vec<f64> = d.iter().flatten().copied().collect();
    assert!(
        known.windows(2).all(|w| w[0] <= w[1]),
        "nearest first: {d:?}"
    );
    assert_eq!(d.last(), Some(&None), "{d:?}");

    // Bad inspections, each refused naming the field, nothing written.
    let inspections = || count(app, "SELECT COUNT(*) FROM inspections", &[], &[]);
    let before = inspections().await;
    let body = |place: Uuid| {
        json!({"id": Uuid::now_v7(), "campaign": cid, "place": place, "outcome": "inspected",
               "answers": {"extinguisher": true, "exit": "畅通"}})
    };
    for (place, field, what) in [
        (elsewhere, "place", "outside your grids"),
        (nanxun, "place", "no place"),
        (shop, "place", "not in the campaign"),
    ] {
        let (s, v) = inspect(&gw, app, &body(place)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], field, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(what),
            "{what}: {v}"
        );
    }
    let mut b = body(mine[0]);
    b["answers"]["door"] = json!("door.jpg");
    let (s, v) =
        inspect_with_photo(&gw, app, &b, "door.jpg", b"not an image at all".to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "photos[0]", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not an image"),
        "{v}"
    );
    let (s, v) = inspect(&gw, app, &json!({"id": Uuid::now_v7(), "campaign": cid, "place": mine[0], "outcome": "inspected", "answers": {"extinguisher": "maybe"}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "answers.extinguisher", "{v}");
    assert_eq!(inspections().await, before);
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM campaign_tasks WHERE campaign_id = $1 AND status <> 'due'",
            &[],
            &[campaign]
        )
        .await,
        0
    );

    // She inspects her places: the first with a photo and a missing extinguisher, the second with
    // a blocked exit (a major hazard), the third refuses entry, the rest are fine.
    let first = Uuid::now_v7();
    let mut b = json!({"id": first, "campaign": cid, "place": mine[0], "outcome": "inspected",
        "answers": {"extinguisher": false, "exit": "畅通", "rooms": 6, "door": "door.png"}, "lat": POINT.1, "lon": POINT.0});
    let (s, v) = inspect_with_photo(&gw, app, &b, "door.png", png()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["hazards"].as_array().unwrap().len(), 1, "{v}");
    let late_case = v["hazards"][0]["case"].as_str().unwrap().to_string();
    // The phone did not hear the answer and sends it again: the first copy, nothing doubled.
    let (s, again) = inspect_with_photo(&gw, app, &b, "door.png", png()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["replayed"], true);
    assert_eq!(again["hazards"][0]["case"], v["hazards"][0]["case"]);
    // The same place under another id: refused.
    b["id"] = json!(Uuid::now_v7());
    let (s, v) = inspect(&gw, app, &b).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM inspections WHERE campaign_id = $1",
            &[],
            &[campaign]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM campaign_hazards WHERE campaign_id = $1",
            &[],
            &[campaign]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM inspection_photos WHERE inspection_id = $1",
            &[],
            &[first]
        )
        .await,
        1
    );
    // The photo goes with the hazard it shows, once (the replay copied nothing more).
    let late_id: Uuid = late_case.parse().unwrap();
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM case_photos WHERE case_id = $1 AND action = 'report'",
            &[],
            &[late_id]
        )
        .await,
        1
    );
    // The campaign's page filters its table by the department the hazard went to.
    let (_, lc) = get(&gw, format!("{}/api/v1/cases/{late_case}", app.base)).await;
    let dept = lc["department"].as_str().expect("dispatched").to_string();
    let page = web_session(app, "demo-dispatcher", PASSWORD)
        .await
        .get(format!(
            "{}/work/campaigns/{cid}?department={dept}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("<option value=\"{dept}\" selected>")),
        "{html}"
    );

    let (s, v) = inspect(
        &gw,
        app,
        &json!({"id": Uuid::now_v7(), "campaign": cid, "place": mine[1], "outcome": "inspected",
        "answers": {"extinguisher": true, "exit": "堵死"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let on_time_case = v["hazards"][0]["case"].as_str().unwrap().to_string();
    assert_eq!(v["hazards"][0]["severity"], "major");
    let (_, hc) = get(&gw, format!("{}/api/v1/cases/{on_time_case}", app.base)).await;
    assert_eq!(
        (hc["grid_code"].as_str(), hc["needs_grid"].as_bool()),
        (Some(my_grid.as_str()), Some(false)),
        "an address-only place's hazard keeps its grid: {hc}"
    );
    let (s, v) = inspect(&gw, app, &json!({"id": Uuid::now_v7(), "campaign": cid, "place": mine[2], "outcome": "refused_entry"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    for p in &mine[3..] {
        let (s, v) = inspect(
            &gw,
            app,
            &json!({"id": Uuid::now_v7(), "campaign": cid, "place": p, "outcome": "inspected",
            "answers": {"extinguisher": true, "exit": "畅通"}}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // Places of the township outside her grid (none in this fixture unless the demo has some)
    // are inspected by their own grids' worker.
    let rest: Vec<String> = {
        let sql = "SELECT DISTINCT grid_code FROM campaign_tasks WHERE campaign_id = $2 AND region_code LIKE $1 AND status = 'due'";
        let like = format!("{township}%");
        match &app.state.store {
            safegrid_store::Store::Sqlite(p) => {
                sqlx::query_scalar(sql)
                    .bind(&like)
                    .bind(campaign)
                    .fetch_all(p)
                    .await
            }
            safegrid_store::Store::Postgres(p) => {
                sqlx::query_scalar(sql)
                    .bind(&like)
                    .bind(campaign)
                    .fetch_all(p)
                    .await
            }
        }
        .unwrap()
    };
    if !rest.is_empty() {
        let (s, v) = post(&admin, format!("{}/api/v1/admin/users", app.base),
            json!({"username": "gw-rest", "role": "grid_worker", "grids": rest, "password": PASSWORD})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let other = login(app, "gw-rest").await;
        let (_, t) = get(&other, format!("{}/api/v1/tasks/today", app.base)).await;
        for x in t["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["campaign"] == cid.as_str())
        {
            let (s, v) = inspect(&other, app, &json!({"id": Uuid::now_v7(), "campaign": cid, "place": x["place"], "outcome": "closed"})).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
    }

    // The hazard cases: registered with their notice and dispatched to 吴兴区's fire department,
    // with the item's limit as the deadline on the official calendar.
    let cal = WorkCalendar::builtin();
    for (id, limit, urgency) in [
        (&late_case, "7 natural_days", "normal"),
        (&on_time_case, "3 natural_days", "urgent"),
    ] {
        let (s, k) = get(&dispatcher, format!("{}/api/v1/cases/{id}", app.base)).await;
        assert_eq!(s, StatusCode::OK, "{k}");
        assert_eq!(k["type"], "hazard", "{k}");
        assert_eq!(k["status"], "rectifying", "{k}");
        assert_eq!(k["department"], "330502-xf", "{k}");
        assert_eq!(k["grid_code"], my_grid.as_str(), "{k}");
        assert_eq!(k["urgency"], urgency, "{k}");
        // The major one is supervised by name from the start; the general one not yet.
        assert_eq!(k["supervision"].is_string(), urgency == "urgent", "{k}");
        let dispatched = chrono::DateTime::parse_from_rfc3339(k["dispatched_at"].as_str().unwrap())
            .unwrap()
            .to_utc();
        let l: Limit = limit.parse().unwrap();
        assert_eq!(
            k["due_at"],
            safegrid::app::time::local_time(cal.due(dispatched, l)),
            "{k}"
        );
    }

    // One runs late: its deadline passes, the leader supervises it (督办), then it is rectified.
    exec(app, "UPDATE cases SET due_at = due_at - 864000000, stage_due_at = stage_due_at - 864000000, stage_started_at = stage_started_at - 864000000 WHERE id = $1", &[], &[Uuid::parse_str(&late_case).unwrap()]).await;
    act_ok(
        app,
        &leader,
        &late_case,
        json!({"action": "supervise", "note": "逾期未整改，挂牌督办。"}),
    )
    .await;
    for id in [&late_case, &on_time_case] {
        act_ok(
            app,
            &fire,
            id,
            json!({"action": "handle", "note": "已整改到位。"}),
        )
        .await;
    }
    // Both are on her list for re-inspection (复查); she passes them, and they are closed out (销号).
    let (_, t) = get(&gw, format!("{}/api/v1/tasks/today", app.base)).await;
    let re: Vec<&str> = t["reinspections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["case"].as_str().unwrap())
        .collect();
    assert!(
        re.contains(&late_case.as_str()) && re.contains(&on_time_case.as_str()),
        "{t}"
    );
    for id in [&late_case, &on_time_case] {
        let v = act_ok(app, &gw, id, json!({"action": "verify", "passed": true})).await;
        assert_eq!(v["status"], "closed", "{v}");
    }

    // The township's table, against counts taken from the rows.
    let like = format!("{township}%");
    let due = count(app, "SELECT COUNT(*) FROM places WHERE region_code LIKE $1 AND kind = 'group_rental' AND status = 'active'", &[&like], &[]).await;
    let refused = count(app, "SELECT COUNT(*) FROM inspections WHERE region_code LIKE $1 AND campaign_id = $2 AND outcome IN ('refused_entry', 'not_found')", &[&like], &[campaign]).await;
    let visited = count(
        app,
        "SELECT COUNT(*) FROM inspections WHERE region_code LIKE $1 AND campaign_id = $2",
        &[&like],
        &[campaign],
    )
    .await;
    let hazards = count(app, "SELECT COUNT(*) FROM cases c JOIN campaign_hazards h ON h.case_id = c.id WHERE h.region_code LIKE $1 AND h.campaign_id = $2", &[&like], &[campaign]).await;
    let late = count(app, "SELECT COUNT(*) FROM cases c JOIN campaign_hazards h ON h.case_id = c.id WHERE h.region_code LIKE $1 AND h.campaign_id = $2 AND c.handled_at > c.due_at", &[&like], &[campaign]).await;
    assert_eq!((visited, refused, hazards, late), (due, 1, 2, 1));
    let (s, p) = get(
        &leader,
        format!(
            "{}/api/v1/campaigns/{cid}/progress?region={township}",
            app.base
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let r = row(&p, "township", &township);
    assert_eq!(r["due"], json!(due), "{r}");
    assert_eq!(r["inspected"], json!(visited - refused), "{r}");
    assert_eq!(r["unreachable"], json!(refused), "{r}");
    assert_eq!(r["pending"], 0, "{r}");
    assert_eq!(r["coverage_percent"], 100.0, "{r}");
    assert_eq!(r["hazards"], json!(hazards), "{r}");
    assert_eq!(r["rectified_on_time"], json!(hazards - late), "{r}");
    assert_eq!(r["overdue"], 1, "{r}");
    assert_eq!(r["closed"], 2, "{r}");
    let g = row(&p, "grid", &my_grid);
    assert_eq!(g["due"], json!(in_my_grid));
    // The county's table: every place of 吴兴区 is due, and the other townships are still pending.
    let (_, pc) = get(
        &leader,
        format!("{}/api/v1/campaigns/{cid}/progress", app.base),
    )
    .await;
    let county = row(&pc, "county", "330502");
    assert_eq!(county["due"], json!(due_in_wuxing), "{county}");
    assert_eq!(
        county["pending"],
        json!(due_in_wuxing - visited),
        "{county}"
    );

    // The 表格 as XLSX, read back by a real reader.
    let r = leader
        .get(format!(
            "{}/api/v1/campaigns/{cid}/export?format=xlsx&region={township}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let names = wb.sheet_names();
    assert_eq!(
        names,
        [
            "县区 County",
            "乡镇街道 Township",
            "村社区 Village",
            "网格 Grid",
            "点位 Places"
        ]
    );
    let sheet = wb.worksheet_range("乡镇街道 Township").unwrap();
    let trow = sheet
        .rows()
        .find(|r| r[0].to_string() == township)
        .expect("township row");
    let num = |c: &calamine::Data| c.to_string().parse::<f64>().unwrap();
    assert_eq!(num(&trow[2]), due as f64); // 应查
    assert_eq!(num(&trow[6]), 100.0); // 覆盖率
    assert_eq!(num(&trow[7]), hazards as f64); // 隐患数
    assert_eq!(num(&trow[9]), 1.0); // 逾期
    let places = wb.worksheet_range("点位 Places").unwrap();
    let header: Vec<String> = places
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert!(
        header.contains(&"每层配备有效灭火器".to_string())
            && header.contains(&"疏散通道".to_string()),
        "{header:?}"
    );
    assert_eq!(places.rows().count() as i64 - 1, due);
    let col = header
        .iter()
        .position(|h| h == "每层配备有效灭火器")
        .unwrap();
    let noes = places.rows().skip(1).filter(|r| r[col] == "否").count();
    assert_eq!(noes, 1);

    // The place's history: its inspection and the hazard found there.
    let (s, h) = get(
        &gw,
        format!("{}/api/v1/places/{}/inspections", app.base, mine[0]),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["inspections"].as_array().unwrap().len(), 1, "{h}");
    assert_eq!(h["hazards"][0]["case"], late_case.as_str(), "{h}");
    assert_eq!(h["hazards"][0]["state"], "closed", "{h}");

    // And as CSV with a BOM.
    let r = leader
        .get(format!(
            "{}/api/v1/campaigns/{cid}/export?format=csv&region={township}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.bytes().await.unwrap();
    assert!(text.starts_with("\u{FEFF}".as_bytes()));
    assert_eq!(
        String::from_utf8_lossy(&text).lines().count() as i64,
        due + 1
    );
}

async fn campaign_life_and_bad_input(app: &TestApp) {
    let dispatcher = login(app, "demo-dispatcher").await;
    let gw = login(app, "demo-gridworker").await;
    let handler = login(app, "demo-handler").await;
    let base = format!("{}/api/v1/campaigns", app.base);
    // Grid workers do not design campaigns; a territory outside Huzhou is refused.
    let (s, _) = post(&gw, base.clone(), campaign_body("330502")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = post(&dispatcher, base.clone(), campaign_body("330100")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "region");
    for (path, value, field) in [
        ("/kind", json!("party"), "kind"),
        ("/place_kinds", json!(["castle"]), "place_kinds[0]"),
        ("/checklist/0/answer", json!("essay"), "checklist[0].answer"),
        (
            "/checklist/2",
            json!({"key": "rooms", "text_zh": "隔断间数", "answer": "number",
                   "hazard": {"when": {"equals": true}, "category": "H0101", "limit": "7 natural_days"}}),
            "checklist[2].hazard.when",
        ),
        (
            "/checklist/0/hazard/limit",
            json!("7 weeks"),
            "checklist[0].hazard.limit",
        ),
        (
            "/checklist/0/hazard/category",
            json!("E0101"),
            "checklist[0].hazard.category",
        ),
        ("/ends_on", json!("2020-01-01"), "ends_on"),
    ] {
        let mut b = campaign_body("330502");
        *b.pointer_mut(path).unwrap() = value;
        let (s, v) = post(&dispatcher, base.clone(), b).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        assert_eq!(v["error"]["field"], field, "{path}: {v}");
    }
    // A department runs its own: 吴兴区城管's handler designs one over 吴兴区.
    let (s, v) = post(&handler, base.clone(), campaign_body("330502")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["department"], "330502-cgj");

    let (s, c) = post(&dispatcher, base.clone(), campaign_body("330502")).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["id"].as_str().unwrap();
    // A draft is edited; a stale version is refused.
    let mut edit = campaign_body("330502");
    edit["title"] = json!("吴兴区群租房消防安全回头看");
    edit["version"] = json!(1);
    let r = dispatcher
        .put(format!("{base}/{id}"))
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = dispatcher
        .put(format!("{base}/{id}"))
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let (s, v) = post(&dispatcher, format!("{base}/{id}/close"), json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "status");
    let (s, v) = post(&dispatcher, format!("{base}/{id}/publish"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = dispatcher
        .put(format!("{base}/{id}"))
        .json(&campaign_body("330502"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Extended, then closed early; a closed campaign takes no inspection and is copied for next round.
    let end = c["ends_on"].as_str().unwrap();
    let later = (chrono::NaiveDate::parse_from_str(end, "%Y-%m-%d").unwrap()
        + chrono::Duration::days(10))
    .to_string();
    let (s, v) = post(
        &dispatcher,
        format!("{base}/{id}/extend"),
        json!({"ends_on": end}),
    )
    .await;
    assert_eq!(
        (s, v["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("ends_on"))
    );
    let (s, v) = post(
        &dispatcher,
        format!("{base}/{id}/extend"),
        json!({"ends_on": later}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ends_on"], later.as_str());
    let (s, v) = post(&dispatcher, format!("{base}/{id}/close"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "closed");
    let (s, v) = post(&dispatcher, format!("{base}/{id}/copy"), json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "draft");
    assert_eq!(v["copied_from"], id);
    assert_eq!(v["checklist"], c["checklist"]);
    let (s, v) = inspect(&gw, app, &json!({"id": Uuid::now_v7(), "campaign": id, "place": Uuid::now_v7(), "outcome": "inspected"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "campaign");
    // Every change is in the audit trail.
    let admin = login(app, "demo-admin").await;
    let (_, a) = get(
        &admin,
        format!("{}/api/v1/admin/audit?target_type=campaign", app.base),
    )
    .await;
    let actions: Vec<&str> = a["items"]
        .as_array()
        .map(|v| v.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    for want in [
        "campaign.create",
        "campaign.edit",
        "campaign.publish",
        "campaign.extend",
        "campaign.close",
        "campaign.copy",
    ] {
        assert!(actions.contains(&want), "{want} in {a}");
    }
}

story!(pages_design_publish_and_inspect);

/// The command center designs and publishes through the pages; the grid worker inspects from
/// "今日任务" with the form (photo included); the campaign page shows the table.
async fn pages_design_publish_and_inspect(app: &TestApp) {
    let gw_api = login(app, "demo-gridworker").await;
    let (_, me) = get(&gw_api, format!("{}/api/v1/auth/me", app.base)).await;
    let my_grid = me["grids"][0].as_str().unwrap().to_string();
    let place = insert_place(
        app,
        "hostel",
        "小旅馆1",
        Some(&my_grid),
        &my_grid[..12],
        Some(POINT),
    )
    .await;

    let d = web_session(app, "demo-dispatcher", PASSWORD).await;
    let page = d
        .get(format!("{}/work/campaigns/new", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"add-item\""));
    let csrf = csrf_of(&html);
    let today = chrono::Utc::now()
        .with_timezone(&safegrid::app::time::shanghai())
        .date_naive();
    let end = (today + chrono::Duration::days(10)).to_string();
    let mut form: Vec<(&str, String)> = vec![
        ("csrf", csrf.clone()),
        ("title", "节前小旅馆安全检查".into()),
        ("kind", "holiday".into()),
        ("region", "330502".into()),
        ("place_kind", "hostel".into()),
        ("starts_on", today.to_string()),
        ("ends_on", end.clone()),
    ];
    for (key, text, answer, hazard, category) in [
        ("smoke_alarm", "烟感报警器完好", "yes_no", "否", "H0101"),
        ("door", "门头照片", "photo", "", ""),
    ] {
        form.extend([
            ("item_key", key.to_string()),
            ("item_answer", answer.into()),
            ("item_text_zh", text.into()),
            ("item_text_en", String::new()),
            ("item_options", String::new()),
            (
                "item_required",
                if answer == "yes_no" { "yes" } else { "no" }.into(),
            ),
            ("item_hazard", hazard.into()),
            ("item_category", category.into()),
            ("item_severity", "general".into()),
            ("item_limit", "7 natural_days".into()),
        ]);
    }
    // An unknown category is named on the form again, with what was typed kept.
    let mut bad = form.clone();
    let at = bad.iter().position(|f| f.0 == "item_category").unwrap();
    bad[at].1 = "H0999".into();
    let r = d
        .post(format!("{}/work/campaigns", app.base))
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("checklist[0].hazard.category") && html.contains("节前小旅馆安全检查"),
        "{html}"
    );
    let r = d
        .post(format!("{}/work/campaigns", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let cid = to.rsplit('/').next().unwrap().to_string();
    // The draft opens in the designer again, as stored, and an edit is kept (version-checked).
    let html = d
        .get(format!("{}{to}/edit", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("节前小旅馆安全检查")
            && html.contains("value=\"smoke_alarm\"")
            && html.contains("value=\"否\"")
            && html.contains(&format!("action=\"{to}/edit\"")),
        "{html}"
    );
    let mut edited = form.clone();
    edited[1].1 = "节前小旅馆消防安全检查".into();
    edited.push(("version", "1".into()));
    let r = d
        .post(format!("{}{to}/edit", app.base))
        .form(&edited)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The same edit again carries a stale version: refused on the form, nothing changed.
    let r = d
        .post(format!("{}{to}/edit", app.base))
        .form(&edited)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = d
        .post(format!("{}{to}/publish", app.base))
        .form(&[("csrf", csrf.as_str()), ("version", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = d
        .get(format!("{}{to}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("节前小旅馆消防安全检查"), "the edited title");
    assert!(
        html.contains("data-status=\"published\"") && html.contains("id=\"progress-table\""),
        "{html}"
    );

    let gw = web_session(app, "demo-gridworker", PASSWORD).await;
    let html = gw
        .get(format!("{}/work/tasks", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = format!("/work/inspect?campaign={cid}&amp;place={place}");
    assert!(html.contains(&link), "{html}");
    // …and on the map, where a tap on the place opens the same form.
    assert!(
        html.contains("id=\"tasks-map\"") && html.contains(&format!("&#38;place={place}&#34;]")),
        "{html}"
    );
    let form_page = gw
        .get(format!(
            "{}/work/inspect?campaign={cid}&place={place}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(form_page.status(), StatusCode::OK);
    let html = form_page.text().await.unwrap();
    let csrf = csrf_of(&html);
    let id = html
        .split("name=\"id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let submit = || {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("id", id.clone())
            .text("campaign", cid.clone())
            .text("place", place.to_string())
            .text("outcome", "inspected")
            .text("a.smoke_alarm", "no")
            .part(
                "photo.door",
                reqwest::multipart::Part::bytes(png()).file_name("IMG_0001.png"),
            )
    };
    let r = gw
        .post(format!("{}/work/inspect", app.base))
        .multipart(submit())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/work/tasks?done=1");
    // A double tap sends the same form again: stored once.
    let r = gw
        .post(format!("{}/work/inspect", app.base))
        .multipart(submit())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let campaign = Uuid::parse_str(&cid).unwrap();
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM inspections WHERE campaign_id = $1",
            &[],
            &[campaign]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM campaign_hazards WHERE campaign_id = $1",
            &[],
            &[campaign]
        )
        .await,
        1
    );
    // The place's history shows the inspection with its photo; the photo is served only under
    // its own place.
    let history = gw
        .get(format!("{}/work/places/{place}/inspections", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let photo = history
        .split("<img src=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("a photo in the history: {history}"))
        .replace("&#38;", "&");
    let r = gw.get(format!("{}{photo}", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let elsewhere = photo.replace(&place.to_string(), &Uuid::now_v7().to_string());
    let r = gw
        .get(format!("{}{elsewhere}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let html = d
        .get(format!("{}{to}?level=grid", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("data-code=\"{my_grid}\"")), "{html}");
    // The place's page shows the inspection and its hazard.
    let html = gw
        .get(format!("{}/work/places/{place}/inspections", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-outcome=\"inspected\"") && html.contains("id=\"hazard-list\""),
        "{html}"
    );
    let html = gw
        .get(format!("{}/work/places/{place}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("hx-get=\"/work/places/{place}/inspections\"")),
        "{html}"
    );
    // English pages.
    let html = d
        .get(format!("{}{to}?lang=en", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Coverage") && html.contains("Rectified on time"));
}
