//! Stories of addresses (门牌), visits (走访), coverage and the work log, told over HTTP on each
//! backend, in a grid whose village holds no demo address: a worker imports ten doors (a re-import
//! changes nothing, a bad row refuses the file), visits six of them and coverage says 60 % — the
//! hand count, checked against SQL; care visits are seen by their worker, the grid's leader and
//! civil affairs only, are in no export, and are purged after the retention; a resident's contact
//! is erased per address; a retried visit is stored once and opens one case; bad input names its
//! field and writes nothing.

use super::helpers::*;
use reqwest::{Client, StatusCode};
use safegrid_domain::Role;
use serde_json::{Value, json};

story!(coverage_matches_a_hand_count);
story!(care_visits_stay_with_the_worker_leader_and_civil_affairs);
story!(contacts_are_erased_per_address_and_care_visits_purged);
story!(a_retried_visit_is_stored_once_and_opens_one_case);
story!(bad_visits_name_their_field_and_write_nothing);
story!(pages_record_a_visit_once_and_show_coverage_and_the_log);

/// A count straight from the database (not through the code under test).
async fn sql_count(app: &TestApp, sql: &str, args: &[&str]) -> i64 {
    safegrid_store::with_pool!(&app.state.store, p => {
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()));
        for a in args {
            q = q.bind(a.to_string());
        }
        q.fetch_one(p).await.unwrap()
    })
}

async fn count_by_id(app: &TestApp, sql: &str, id: &str) -> i64 {
    let uuid = uuid::Uuid::parse_str(id).unwrap();
    safegrid_store::with_pool!(&app.state.store, p => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(uuid).fetch_one(p).await.unwrap())
}

/// Two grids of one county whose villages hold no address yet (the demo fills others).
async fn clean_grids(app: &TestApp) -> (String, String) {
    let rows: Vec<(String,)> = safegrid_store::with_pool!(&app.state.store, p => sqlx::query_as(
        "SELECT code FROM grids g WHERE county_code = '330502'
         AND NOT EXISTS (SELECT 1 FROM addresses a WHERE a.region_code = g.village_code)
         ORDER BY code LIMIT 40").fetch_all(p).await.unwrap());
    let first = rows[0].0.clone();
    let other = rows
        .iter()
        .map(|r| r.0.clone())
        .find(|g| g[..12] != first[..12])
        .expect("a grid of another village");
    (first, other)
}

/// An account of `role` with these grids (or this department), logged in.
async fn account(
    app: &TestApp,
    name: &str,
    role: Role,
    grids: &[&str],
    dept: Option<&str>,
) -> (Client, String) {
    let username = format!("{name}-{}", app.backend);
    let u = app
        .state
        .store
        .create_user(&safegrid_store::NewUser {
            username: username.clone(),
            display_name: name.into(),
            password_hash: safegrid::app::auth::hash_password(PASSWORD.into())
                .await
                .unwrap(),
            role,
            department: dept.map(Into::into),
            regions: vec![],
            grids: grids.iter().map(|g| g.to_string()).collect(),
        })
        .await
        .unwrap();
    (login(app, &username).await, u.id.to_string())
}

fn today() -> chrono::NaiveDate {
    safegrid::app::visits::local_day(chrono::Utc::now())
}

/// Ten doors of `grid`: 1幢 1单元 101–105 and 2幢 (no unit) 201–205.
fn ten_doors(grid: &str) -> String {
    let mut csv = String::from("网格编码 grid_code,楼栋 building,单元 unit,门牌 door\n");
    for d in 101..=105 {
        csv.push_str(&format!("{grid},1幢,1单元,{d}\n"));
    }
    for d in 201..=205 {
        csv.push_str(&format!("{grid},2幢,,{d}\n"));
    }
    csv
}

async fn send_csv(c: &Client, url: String, csv: &str) -> (StatusCode, Value) {
    let r = c
        .post(url)
        .header("content-type", "text/csv")
        .body(csv.as_bytes().to_vec())
        .send()
        .await
        .expect("POST");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn addresses_of(app: &TestApp, c: &Client, grid: &str) -> Vec<Value> {
    let (s, page) = get(c, format!("{}/api/v1/addresses?grid={grid}", app.base)).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["addresses"].as_array().unwrap().clone()
}

async fn visit(app: &TestApp, c: &Client, body: Value) -> (StatusCode, Value) {
    post(c, format!("{}/api/v1/visits", app.base), body).await
}

fn routine(address: &str, on: chrono::NaiveDate) -> Value {
    json!({ "address_id": address, "visited_on": on.to_string(), "kind": "routine", "raised": "楼道灯坏了" })
}

async fn coverage_story(app: &TestApp) {
    let (grid, _) = clean_grids(app).await;
    let village = &grid[..12];
    let (w, _) = account(app, "cov-worker", Role::GridWorker, &[&grid], None).await;
    let url = format!("{}/api/v1/addresses/import", app.base);
    let (s, r) = send_csv(&w, url.clone(), &ten_doors(&grid)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["created"], 10);
    // The same file again: nothing new, nothing changed.
    let (s, r) = send_csv(&w, url.clone(), &ten_doors(&grid)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["created"].as_i64(), r["unchanged"].as_i64()),
        (Some(0), Some(10))
    );
    assert_eq!(
        sql_count(
            app,
            "SELECT COUNT(*) FROM addresses WHERE grid_code = $1",
            &[&grid]
        )
        .await,
        10
    );
    let doors = addresses_of(app, &w, &grid).await;
    assert_eq!(doors.len(), 10);
    assert_eq!(doors[0]["label"], "1幢 1单元 101");
    // Six doors visited this period; one of them twice; one door visited only last period.
    let on = today();
    for d in &doors[..6] {
        let (s, v) = visit(app, &w, routine(d["id"].as_str().unwrap(), on)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, _) = visit(app, &w, routine(doors[0]["id"].as_str().unwrap(), on)).await;
    assert_eq!(s, StatusCode::CREATED);
    let (from, _) = safegrid_domain::visit::Period::Quarter.bounds(on);
    let last_period = from.pred_opt().unwrap();
    let (s, v) = visit(
        app,
        &w,
        routine(doors[9]["id"].as_str().unwrap(), last_period),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // The hand count: 10 known, 6 visited, 60 %; and the same from the rows.
    let (s, c) = get(&w, format!("{}/api/v1/coverage?region={village}", app.base)).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let g = &c["grids"][0];
    assert_eq!(
        (
            g["code"].as_str(),
            g["known"].as_i64(),
            g["visited"].as_i64()
        ),
        (Some(grid.as_str()), Some(10), Some(6))
    );
    assert!((g["share"].as_f64().unwrap() - 0.6).abs() < 1e-9, "{g}");
    assert_eq!(c["villages"][0]["code"], village);
    assert_eq!(c["villages"][0]["visited"], 6);
    assert_eq!(c["total"]["known"], 10);
    let visited_sql = sql_count(
        app,
        "SELECT COUNT(DISTINCT a.id) FROM addresses a JOIN visits v ON v.address_id = a.id
         WHERE a.grid_code = $1 AND v.visited_on BETWEEN $2 AND $3",
        &[&grid, &from.to_string(), &on.to_string()],
    )
    .await;
    assert_eq!(visited_sql, 6);
    // Last quarter: one door of ten.
    let (_, c) = get(
        &w,
        format!(
            "{}/api/v1/coverage?region={village}&period={last_period}",
            app.base
        ),
    )
    .await;
    assert_eq!(c["grids"][0]["visited"], 1, "{c}");
    // Still to visit this period: four doors, in walking order.
    let (s, p) = get(
        &w,
        format!("{}/api/v1/addresses?grid={grid}&unvisited=true", app.base),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(p["total"], 4, "{p}");
    assert_eq!(p["addresses"][0]["label"], "2幢 202");
    // Deactivating an unvisited door: 9 known, 6 visited.
    let d = &doors[9];
    let (s, e) = put_json(&w, format!("{}/api/v1/addresses/{}", app.base, d["id"].as_str().unwrap()),
        json!({"version": d["version"], "grid_code": grid, "building": "2幢", "door": "205", "status": "inactive"})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (_, c) = get(&w, format!("{}/api/v1/coverage?region={village}", app.base)).await;
    assert_eq!(
        (
            c["grids"][0]["known"].as_i64(),
            c["grids"][0]["visited"].as_i64()
        ),
        (Some(9), Some(6))
    );
    // The coverage table as XLSX, and the export of addresses (doors only, no names).
    let r = w
        .get(format!(
            "{}/api/v1/coverage/export.xlsx?region={village}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    let r = w
        .get(format!(
            "{}/api/v1/addresses/export.csv?grid={grid}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert_eq!(text.lines().count(), 11, "{text}");
    // The worker's log: seven visits today.
    let (s, l) = get(&w, format!("{}/api/v1/worklog?from={on}&to={on}", app.base)).await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(l["total"]["visits"], 7, "{l}");
}

async fn coverage_matches_a_hand_count(app: &TestApp) {
    coverage_story(app).await;
}

async fn put_json(c: &Client, url: String, body: Value) -> (StatusCode, Value) {
    let r = c.put(url).json(&body).send().await.expect("PUT");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn care_visits_stay_with_the_worker_leader_and_civil_affairs(app: &TestApp) {
    let (grid, other) = clean_grids(app).await;
    let county = &grid[..6];
    let (w, _) = account(app, "care-worker", Role::GridWorker, &[&grid], None).await;
    let (w2, _) = account(app, "care-other", Role::GridWorker, &[&other], None).await;
    let (leader, _) = account(app, "care-leader", Role::GridLeader, &[&grid], None).await;
    let mzj = format!("{county}-mzj");
    let (civil, _) = account(app, "care-civil", Role::Handler, &[], Some(&mzj)).await;
    let (s, r) = send_csv(
        &w,
        format!("{}/api/v1/addresses/import", app.base),
        &ten_doors(&grid),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let doors = addresses_of(app, &w, &grid).await;
    let door = doors[0]["id"].as_str().unwrap();
    let (s, v) = visit(app, &w, json!({
        "address_id": door, "visited_on": today().to_string(), "kind": "care",
        "raised": "独居老人李秀英，电话13912345678，需要助餐", "contact_name": "李秀英", "contact_phone": "13912345678",
    })).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["contact"]["phone"], "139****5678");
    let (s, v) = visit(app, &w, routine(door, today())).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let routine_id = v["id"].as_str().unwrap().to_string();
    let one = |c: &Client| {
        let url = format!("{}/api/v1/visits/{id}", app.base);
        let c = c.clone();
        async move { get(&c, url).await.0 }
    };
    for (who, c) in [
        ("worker", &w),
        ("leader", &leader),
        ("civil affairs", &civil),
    ] {
        assert_eq!(one(c).await, StatusCode::OK, "{who} sees the care visit");
    }
    let dispatcher = login(app, "demo-dispatcher").await;
    let others = [
        ("another worker", w2.clone()),
        ("dispatcher", dispatcher.clone()),
        ("leader of the city", login(app, "demo-leader").await),
        ("administrator", login(app, "demo-admin").await),
        ("urban management", login(app, "demo-handler").await),
    ];
    for (who, c) in &others {
        assert_eq!(
            one(c).await,
            StatusCode::NOT_FOUND,
            "{who} must not see the care visit"
        );
        let (_, list) = get(c, format!("{}/api/v1/visits?address={door}", app.base)).await;
        let ids: Vec<&str> = list["visits"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v["id"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            !ids.contains(&id.as_str()),
            "{who} lists the care visit: {list}"
        );
    }
    // The dispatcher reads the routine visit, and the care one is not counted in its list.
    let (_, list) = get(
        &dispatcher,
        format!("{}/api/v1/visits?address={door}", app.base),
    )
    .await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["visits"][0]["id"], routine_id.as_str());
    // The leader lists both; the raised text is the worker's words for those close to it.
    let (_, list) = get(
        &leader,
        format!("{}/api/v1/visits?address={door}", app.base),
    )
    .await;
    assert_eq!(list["total"], 2, "{list}");
    // Reveal: the worker, with a reason, audited.
    let (s, r) = post(
        &w,
        format!("{}/api/v1/visits/{id}/reveal", app.base),
        json!({"reason": "安排助餐上门"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["contact_phone"], "13912345678");
    assert_eq!(
        sql_count(
            app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.reveal' AND target_id = $1",
            &[&id]
        )
        .await,
        1
    );
    // No export lists it: addresses carry no visit, the coverage table only counts.
    let r = leader
        .get(format!(
            "{}/api/v1/addresses/export.csv?grid={grid}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(
        !text.contains("李") && !text.contains("助餐") && !text.contains("care"),
        "{text}"
    );
    let (_, month) = get(&leader, format!("{}/api/v1/worklog/month", app.base)).await;
    let mine = month["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "care-worker")
        .expect("the worker in the leader's month")
        .clone();
    assert_eq!(mine["counts"]["care_visits"], 1, "{month}");
    assert!(!month.to_string().contains("助餐"));
}

async fn contacts_are_erased_per_address_and_care_visits_purged(app: &TestApp) {
    let (grid, _) = clean_grids(app).await;
    let (w, _) = account(app, "erase-worker", Role::GridWorker, &[&grid], None).await;
    let (leader, _) = account(app, "erase-leader", Role::GridLeader, &[&grid], None).await;
    let (s, _) = send_csv(
        &w,
        format!("{}/api/v1/addresses/import", app.base),
        &ten_doors(&grid),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let doors = addresses_of(app, &w, &grid).await;
    let (a, b) = (
        doors[0]["id"].as_str().unwrap(),
        doors[1]["id"].as_str().unwrap(),
    );
    let mut ids = vec![];
    for (door, kind) in [(a, "routine"), (a, "care"), (b, "opinions")] {
        let (s, v) = visit(
            app,
            &w,
            json!({
                "address_id": door, "visited_on": today().to_string(), "kind": kind, "raised": "",
                "contact_name": "张大伟", "contact_phone": "13812345678",
            }),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    // A worker may not erase; the grid's leader may, with a reason; it says how many.
    let url = format!("{}/api/v1/addresses/{a}/erase-contacts", app.base);
    let (s, _) = post(&w, url.clone(), json!({"reason": "住户申请删除"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, r) = post(&leader, url, json!({"reason": "住户申请删除"})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["visits"], 2);
    let left = |sql: &'static str| count_by_id(app, sql, a);
    assert_eq!(left("SELECT COUNT(*) FROM visits WHERE address_id = $1 AND (contact_name IS NOT NULL OR contact_phone IS NOT NULL)").await, 0);
    assert_eq!(
        count_by_id(
            app,
            "SELECT COUNT(*) FROM visits WHERE address_id = $1 AND contact_name IS NOT NULL",
            b
        )
        .await,
        1,
        "the other door keeps its contact"
    );
    assert_eq!(
        sql_count(
            app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.erase' AND target_id = $1",
            &[a]
        )
        .await,
        1
    );
    // Retention: a care visit recorded 400 days ago goes, a routine one of that age stays.
    let old = safegrid_store::to_ms(chrono::Utc::now() - chrono::Duration::days(400));
    for id in [&ids[0], &ids[1]] {
        let u = uuid::Uuid::parse_str(id).unwrap();
        safegrid_store::with_pool!(&app.state.store, p => sqlx::query("UPDATE visits SET recorded_at = $1 WHERE id = $2")
            .bind(old).bind(u).execute(p).await.map(|_| ()).unwrap());
    }
    let n = safegrid::app::visits::purge_care(&app.state, "test", chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        count_by_id(app, "SELECT COUNT(*) FROM visits WHERE id = $1", &ids[1]).await,
        0
    );
    assert_eq!(
        count_by_id(app, "SELECT COUNT(*) FROM visits WHERE id = $1", &ids[0]).await,
        1
    );
    assert_eq!(
        safegrid::app::visits::purge_care(&app.state, "test", chrono::Utc::now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        sql_count(
            app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'visit.purge'",
            &[]
        )
        .await,
        1
    );
}

async fn a_retried_visit_is_stored_once_and_opens_one_case(app: &TestApp) {
    let (grid, _) = clean_grids(app).await;
    let (w, _) = account(app, "retry-worker", Role::GridWorker, &[&grid], None).await;
    let (s, _) = send_csv(
        &w,
        format!("{}/api/v1/addresses/import", app.base),
        &ten_doors(&grid),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let doors = addresses_of(app, &w, &grid).await;
    let id = uuid::Uuid::now_v7().to_string();
    let body = json!({
        "client_id": id, "address_id": doors[3]["id"], "visited_on": today().to_string(),
        "kind": "follow_up", "raised": "楼道堆放杂物，消防通道堵塞",
        "case": {"category": "C0102"},
    });
    let (s, first) = visit(app, &w, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let case_id = first["case_id"].as_str().expect("a case").to_string();
    let (s, again) = visit(app, &w, body).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["case_id"], case_id.as_str());
    assert_eq!(
        count_by_id(app, "SELECT COUNT(*) FROM visits WHERE id = $1", &id).await,
        1
    );
    let cases_from_visit = sql_count(
        app,
        "SELECT COUNT(*) FROM case_events WHERE action = 'report' AND data LIKE $1",
        &[&format!("%{id}%")],
    )
    .await;
    assert_eq!(cases_from_visit, 1, "one case, named back to the visit");
    // The case lies in the visit's grid and says where it came from.
    let (s, case) = get(&w, format!("{}/api/v1/cases/{case_id}", app.base)).await;
    assert_eq!(s, StatusCode::OK, "{case}");
    assert_eq!(case["grid_code"], grid.as_str());
    let (_, history) = get(&w, format!("{}/api/v1/cases/{case_id}/history", app.base)).await;
    assert!(
        history.to_string().contains(&id),
        "the report names the visit: {history}"
    );
    // Another worker's visit under the same id is a conflict naming it.
    let (other, _) = account(app, "retry-other", Role::GridWorker, &[&grid], None).await;
    let (s, e) = visit(app, &other, json!({"id": id, "address_id": doors[4]["id"], "visited_on": today().to_string(), "kind": "routine"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"]["field"], "id", "{e}");
}

async fn bad_visits_name_their_field_and_write_nothing(app: &TestApp) {
    let (grid, other) = clean_grids(app).await;
    let (w, _) = account(app, "bad-worker", Role::GridWorker, &[&grid], None).await;
    let (w2, _) = account(app, "bad-other", Role::GridWorker, &[&other], None).await;
    let (s, _) = send_csv(
        &w,
        format!("{}/api/v1/addresses/import", app.base),
        &ten_doors(&grid),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = send_csv(
        &w2,
        format!("{}/api/v1/addresses/import", app.base),
        &ten_doors(&other),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let mine = addresses_of(app, &w, &grid).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let theirs = addresses_of(app, &w2, &other).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = sql_count(app, "SELECT COUNT(*) FROM visits", &[]).await;
    let t = today();
    let cases = [
        (
            json!({"address_id": theirs, "visited_on": t.to_string(), "kind": "routine"}),
            "address_id",
        ),
        (
            json!({"address_id": uuid::Uuid::now_v7().to_string(), "visited_on": t.to_string(), "kind": "routine"}),
            "address_id",
        ),
        (
            json!({"address_id": mine, "visited_on": t.succ_opt().unwrap().to_string(), "kind": "routine"}),
            "visited_on",
        ),
        (
            json!({"address_id": mine, "visited_on": t.to_string(), "kind": "party"}),
            "kind",
        ),
        (
            json!({"address_id": mine, "visited_on": t.to_string(), "kind": "routine", "raised": "有\u{0}人"}),
            "raised",
        ),
        (
            json!({"address_id": mine, "visited_on": t.to_string(), "kind": "routine", "contact_phone": "12"}),
            "contact_phone",
        ),
        (
            json!({"address_id": mine, "visited_on": t.to_string(), "kind": "routine", "raised": "路灯坏", "case": {"category": "NOPE"}}),
            "case.category",
        ),
    ];
    for (body, field) in cases {
        let (s, e) = visit(app, &w, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {e}");
        assert_eq!(e["error"]["field"], field, "{body} → {e}");
    }
    assert_eq!(
        sql_count(app, "SELECT COUNT(*) FROM visits", &[]).await,
        before,
        "nothing written"
    );
    // Someone else's visit is not found.
    let (s, v) = visit(app, &w2, routine(&theirs, t)).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = get(
        &w,
        format!("{}/api/v1/visits/{}", app.base, v["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // An import with a bad row: all refused, the row and column named.
    let n = sql_count(app, "SELECT COUNT(*) FROM addresses", &[]).await;
    let csv = format!(
        "grid_code,building,unit,door\n{grid},9幢,,901\n{grid},9幢,,\n{other},9幢,,903\n{grid},9幢,,9\u{0}04\n"
    );
    let (s, e) = send_csv(&w, format!("{}/api/v1/addresses/import", app.base), &csv).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let problems = e["error"]["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("{e}"));
    let got: Vec<(i64, &str)> = problems
        .iter()
        .map(|p| (p["row"].as_i64().unwrap(), p["column"].as_str().unwrap()))
        .collect();
    assert_eq!(got, vec![(3, "door"), (4, "grid_code"), (5, "door")], "{e}");
    assert_eq!(
        sql_count(app, "SELECT COUNT(*) FROM addresses", &[]).await,
        n,
        "nothing written"
    );
}

async fn page(c: &Client, url: String) -> (StatusCode, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The demo grid worker's pages: the visit form (its client_id makes a double submit, or the
/// offline queue's resend, store one visit), a refused form naming its field, the addresses,
/// coverage and the work log in both languages; the leader's coverage map and monthly summary.
async fn pages_record_a_visit_once_and_show_coverage_and_the_log(app: &TestApp) {
    let b = web_session(app, "demo-gridworker", PASSWORD).await;
    let (s, html) = page(&b, format!("{}/work/visits", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("href=\"/work/visits\"") && html.contains("本期待走访"),
        "nav and the doors to visit"
    );
    let client_id = html
        .split("name=\"client_id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let door = html
        .split("<option value=\"")
        .nth(2)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let csrf = csrf_of(&html);
    let form = |kind: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("client_id", client_id.clone()),
            ("address_id", door.clone()),
            ("visited_on", today().to_string()),
            ("kind", kind.to_string()),
            ("raised", "希望增设充电桩".to_string()),
        ]
    };
    let r = b
        .post(format!("{}/work/visits", app.base))
        .form(&form("party"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("id=\"err-kind\""));
    for _ in 0..2 {
        let r = b
            .post(format!("{}/work/visits", app.base))
            .form(&form("opinions"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(
        count_by_id(app, "SELECT COUNT(*) FROM visits WHERE id = $1", &client_id).await,
        1
    );
    // The addresses import page: a bad row is listed (nothing written), then a good file lands.
    let (s, html) = page(&b, format!("{}/work/addresses/import", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("导入门牌") && html.contains("id=\"import-form\""),
        "{html}"
    );
    let csrf = csrf_of(&html);
    let grid = login(app, "demo-gridworker").await;
    let (_, me) = get(&grid, format!("{}/api/v1/auth/me", app.base)).await;
    let grid = me["grids"][0].as_str().unwrap().to_string();
    let upload = |csv: String| {
        let b = b.clone();
        let csrf = csrf.clone();
        let url = format!("{}/work/addresses/import", app.base);
        async move {
            let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
                "file",
                reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("doors.csv"),
            );
            let r = b.post(url).multipart(form).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let doors = "SELECT COUNT(*) FROM addresses WHERE building = '网页导入楼'";
    let (s, html) = upload(format!(
        "grid_code,building,unit,door\n{grid},网页导入楼,1单元,101\n{grid},网页导入楼,1单元,\n"
    ))
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("id=\"import-problems\"") && html.contains("data-column=\"door\""),
        "{html}"
    );
    assert_eq!(sql_count(app, doors, &[]).await, 0);
    let (s, html) = upload(format!(
        "grid_code,building,unit,door\n{grid},网页导入楼,1单元,101\n{grid},网页导入楼,1单元,102\n"
    ))
    .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"import-done\""), "{html}");
    assert_eq!(sql_count(app, doors, &[]).await, 2);
    for path in [
        "/work/addresses",
        "/work/coverage",
        "/work/worklog",
        "/work/addresses?unvisited=1",
    ] {
        for lang in ["zh", "en"] {
            let (s, html) = page(
                &b,
                format!(
                    "{}{path}{}lang={lang}",
                    app.base,
                    if path.contains('?') { "&" } else { "?" }
                ),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{path} {lang}");
            assert!(!html.contains("…</"), "{path} {lang}: a missing string");
        }
    }
    let (_, log) = page(&b, format!("{}/work/worklog?lang=en", app.base)).await;
    assert!(
        log.contains("Work log") && log.contains("id=\"today-visits\""),
        "{log}"
    );
    let leader = web_session(app, "demo-leader", PASSWORD).await;
    let (s, cov) = page(&leader, format!("{}/work/coverage", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(cov.contains("data-map=\"choropleth\""), "the map of grids");
    let (s, m) = page(&leader, format!("{}/work/worklog", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        m.contains("id=\"month\"") && m.contains("演示网格员"),
        "the leader's monthly summary"
    );
    let r = leader
        .get(format!("{}/work/worklog/download/month.xlsx", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
}
