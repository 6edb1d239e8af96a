//! Stories of grid staffing (一人一格), told over HTTP on each backend: a township of 安吉县 enrols
//! its grid workers from a table (a refused file first: nothing written), the staffing page shows
//! the vacant grids, a grid is handed over with a campaign task and a case awaiting verification
//! (the old worker loses them, the new one has them), an absence is covered in the past, the
//! future and now (scope follows the period, no sleeping), and the bad input of the issue, each a
//! clear error naming the field with nothing written. Figures are checked against the rows.

use super::helpers::*;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

story!(township_staffing_import_handover_and_cover);
story!(staffing_scope_and_bad_input);

/// One count, with text arguments.
async fn count(app: &TestApp, sql: &str, texts: &[&str]) -> i64 {
    macro_rules! run {
        ($p:expr) => {{
            let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()));
            for t in texts {
                q = q.bind(t.to_string());
            }
            q.fetch_one($p).await.unwrap()
        }};
    }
    match &app.state.store {
        safegrid_store::Store::Sqlite(p) => run!(p),
        safegrid_store::Store::Postgres(p) => run!(p),
    }
}

/// Text rows of a query with text arguments.
async fn texts(app: &TestApp, sql: &str, args: &[&str]) -> Vec<String> {
    macro_rules! run {
        ($p:expr) => {{
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_string()));
            for t in args {
                q = q.bind(t.to_string());
            }
            q.fetch_all($p).await.unwrap()
        }};
    }
    match &app.state.store {
        safegrid_store::Store::Sqlite(p) => run!(p),
        safegrid_store::Store::Postgres(p) => run!(p),
    }
}

/// A copy of a demo service case, put in `grid` with `status` and nobody's report, so that only
/// the grid decides who sees it.
async fn case_in_grid(app: &TestApp, grid: &str, village: &str, status: &str) -> Uuid {
    let id = Uuid::now_v7();
    let county = &grid[..6];
    let number = format!(
        "{county}20260101{:05}",
        90000 + (id.as_u128() % 9999) as u32
    );
    macro_rules! run {
        ($p:expr) => {{
            let mut tx = $p.begin().await.unwrap();
            sqlx::query("CREATE TEMP TABLE staffing_case AS SELECT * FROM cases WHERE case_type = 'service_event' ORDER BY id LIMIT 1")
                .execute(&mut *tx).await.unwrap();
            sqlx::query("UPDATE staffing_case SET id = $1, number = $2, grid_code = $3, region_code = $4, county_code = $5,
                         status = $6, created_by = NULL, reporter_user = NULL, duplicate_of = NULL, tracking_code = $7")
                .bind(id).bind(&number).bind(grid).bind(village).bind(county).bind(status)
                .bind(format!("T{}", &id.simple().to_string()[..9]))
                .execute(&mut *tx).await.unwrap();
            sqlx::query("INSERT INTO cases SELECT * FROM staffing_case").execute(&mut *tx).await.unwrap();
            sqlx::query("DROP TABLE staffing_case").execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        }};
    }
    match &app.state.store {
        safegrid_store::Store::Sqlite(p) => run!(p),
        safegrid_store::Store::Postgres(p) => run!(p),
    }
    id
}

/// A group-rental place of the register in `grid`.
async fn place_in_grid(app: &TestApp, grid: &str, village: &str) {
    let sql = "INSERT INTO places (county_code, id, kind, name, address, grid_code, region_code, tags, status, created_at, updated_at, version)
               VALUES ($1, $2, 'group_rental', '递铺街道出租楼', '安吉县递铺街道1号', $3, $4, '[]', 'active', 0, 0, 1)";
    macro_rules! run {
        ($p:expr) => {{
            sqlx::query(sql)
                .bind(&grid[..6])
                .bind(Uuid::now_v7())
                .bind(grid)
                .bind(village)
                .execute($p)
                .await
                .unwrap();
        }};
    }
    match &app.state.store {
        safegrid_store::Store::Sqlite(p) => run!(p),
        safegrid_store::Store::Postgres(p) => run!(p),
    }
}

/// The first township of 安吉县 (no demo staff there) and its grids with their villages.
async fn township(app: &TestApp, nth: i64) -> (String, Vec<(String, String)>) {
    let t = texts(
        app,
        "SELECT code FROM regions WHERE level = 4 AND code LIKE '330523%' ORDER BY code",
        &[],
    )
    .await;
    let t = t[nth as usize].clone();
    let short = t[..9].to_string();
    let codes = texts(
        app,
        "SELECT code FROM grids WHERE code LIKE $1 ORDER BY code",
        &[&format!("{short}%")],
    )
    .await;
    let villages = texts(
        app,
        "SELECT village_code FROM grids WHERE code LIKE $1 ORDER BY code",
        &[&format!("{short}%")],
    )
    .await;
    assert!(codes.len() >= 3, "township {t} has {} grids", codes.len());
    (t, codes.into_iter().zip(villages).collect())
}

/// A township administrator made by the root one.
async fn township_admin(app: &TestApp, root: &Client, name: &str, region: &str) -> Client {
    let (s, v) = post(
        root,
        format!("{}/api/v1/admin/users", app.base),
        json!({"username": name, "role": "admin", "regions": [region], "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    login(app, name).await
}

async fn import(app: &TestApp, c: &Client, csv: &str) -> (StatusCode, Value) {
    let r = c
        .post(format!("{}/api/v1/admin/users/import", app.base))
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn case_status(app: &TestApp, c: &Client, id: Uuid) -> StatusCode {
    get(c, format!("{}/api/v1/cases/{id}", app.base)).await.0
}

async fn task_grids(app: &TestApp, c: &Client) -> Vec<String> {
    let (s, t) = get(c, format!("{}/api/v1/tasks/today", app.base)).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x["grid"].as_str().map(str::to_string))
        .collect()
}

fn user_id(report: &Value, username: &str) -> String {
    report["grids"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| [g["worker"].clone(), g["leader"].clone()])
        .chain(report["workers"].as_array().unwrap().iter().cloned())
        .find(|p| p["username"] == username)
        .and_then(|p| p["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("{username} not in {report}"))
}

async fn township_staffing_import_handover_and_cover(app: &TestApp) {
    let base = &app.base;
    let root = login(app, "demo-admin").await;
    let (town, grids) = township(app, 0).await;
    let (g1, v1) = grids[0].clone();
    let (g2, _) = grids[1].clone();
    let (g3, _) = grids[2].clone();
    let admin = township_admin(app, &root, "anji-town-admin", &town).await;
    let (_, other_town) = township(app, 1).await;
    let outside = other_town[0].0.clone();
    // The demo's own staffing rows and cover lie elsewhere.
    let staffing_rows = count(app, "SELECT COUNT(*) FROM grid_staffing", &[]).await;
    let assigns = count(
        app,
        "SELECT COUNT(*) FROM grid_staffing WHERE kind = 'assign'",
        &[],
    )
    .await;
    let covers = count(app, "SELECT COUNT(*) FROM grid_covers", &[]).await;

    // A table with three bad rows: nothing is written, every problem is named.
    let bad = format!(
        "用户名 username,姓名 display_name,角色 role,行政区划 regions,网格 grids\n\
         aj-wang,王芳,grid_worker,,{g1}\n\
         aj-boss,李总,boss,,\n\
         aj-far,赵远,网格员,,{outside}\n\
         aj-ghost,钱空,grid_worker,,{}999\n",
        &v1
    );
    let (s, v) = import(app, &admin, &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "file", "{v}");
    let problems: Vec<(i64, String)> = v["error"]["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|p| {
            (
                p["row"].as_i64().unwrap(),
                p["column"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        vec![(3, "role".into()), (4, "grids".into()), (5, "grids".into())],
        "{v}"
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM users WHERE username LIKE 'aj-%'",
            &[]
        )
        .await,
        0
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM grid_staffing", &[]).await,
        staffing_rows
    );

    // The clean table: four accounts, initial passwords shown once.
    let good = format!(
        "用户名 username,姓名 display_name,角色 role,行政区划 regions,网格 grids\n\
         aj-wang,王芳,grid_worker,,{g1}\n\
         aj-li,李强,网格员,,{g2}\n\
         aj-zhou,周敏,grid_worker,,\n\
         aj-chen,陈建国,网格长,,\"{g1},{g2}\"\n"
    );
    let (s, r) = import(app, &admin, &good).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (r["created"].clone(), r["unchanged"].clone()),
        (json!(4), json!(0)),
        "{r}"
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM users WHERE username LIKE 'aj-%'",
            &[]
        )
        .await,
        4
    );
    let password = |name: &str| -> String {
        r["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["username"] == name)
            .and_then(|a| a["password"].as_str())
            .unwrap()
            .to_string()
    };
    // Three worker/leader grids assigned, as the history says; no password in the audit trail.
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM grid_staffing WHERE kind = 'assign'",
            &[]
        )
        .await,
        assigns + 4
    );
    let pw = password("aj-wang");
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM audit_log WHERE detail LIKE $1",
            &[&format!("%{pw}%")]
        )
        .await,
        0
    );
    // Idempotent by username: the same table again changes nothing.
    let (s, again) = import(app, &admin, &good).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(
        (again["created"].clone(), again["unchanged"].clone()),
        (json!(0), json!(4))
    );
    assert!(
        again["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["password"].is_null())
    );

    let wang = login_with(app, "aj-wang", &pw)
        .await
        .expect("initial password works");
    let zhou = login_with(app, "aj-zhou", &password("aj-zhou"))
        .await
        .unwrap();
    let li = login_with(app, "aj-li", &password("aj-li")).await.unwrap();
    // The grid leader reads the staffing of the grids it leads (their village or township).
    let chen = login_with(app, "aj-chen", &password("aj-chen"))
        .await
        .unwrap();
    let (s, led) = get(&chen, format!("{base}/api/v1/staffing")).await;
    assert_eq!(s, StatusCode::OK, "{led}");
    assert!(
        led["grids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["grid_code"] == g2.as_str())
    );
    let (s, _) = post(
        &chen,
        format!("{base}/api/v1/staffing/assign"),
        json!({"grid_code": g3, "post": "worker"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The staffing of the township: two grids staffed, the rest vacant.
    let (s, view) = get(&admin, format!("{base}/api/v1/staffing")).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    let n = grids.len();
    assert_eq!(view["grids"].as_array().unwrap().len(), n);
    assert_eq!(view["vacant"], json!(n - 2), "{view}");
    let g1_row = view["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["grid_code"] == g1.as_str())
        .unwrap()
        .clone();
    assert_eq!(g1_row["worker"]["username"], "aj-wang");
    assert_eq!(g1_row["leader"]["username"], "aj-chen");
    let zhou_id = user_id(&view, "aj-zhou");
    let wang_id = user_id(&view, "aj-wang");
    let li_id = user_id(&view, "aj-li");

    // Assign: 周敏 takes the vacant third grid; g1 has a worker (409: hand it over instead).
    let (s, a) = post(
        &admin,
        format!("{base}/api/v1/staffing/assign"),
        json!({"grid_code": g3, "post": "worker", "user_id": zhou_id}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["changed"], true);
    let (s, a) = post(
        &admin,
        format!("{base}/api/v1/staffing/assign"),
        json!({"grid_code": g1, "post": "worker", "user_id": zhou_id}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{a}");
    assert_eq!(a["error"]["field"], "grid_code");
    let (s, a) = post(
        &admin,
        format!("{base}/api/v1/staffing/assign"),
        json!({"grid_code": g1, "post": "worker", "user_id": wang_id}),
    )
    .await;
    assert_eq!(
        (s, a["changed"].clone()),
        (StatusCode::OK, json!(false)),
        "{a}"
    );
    assert_eq!(
        texts(
            app,
            "SELECT grids FROM users WHERE username = 'aj-zhou'",
            &[]
        )
        .await,
        vec![g3.clone()]
    );

    // Open work of g1: a campaign task on a place of the grid and a case awaiting verification.
    place_in_grid(app, &g1, &v1).await;
    let (s, c) = post(&root, format!("{base}/api/v1/campaigns"), json!({
        "title": "递铺群租房消防排查", "kind": "group_rental", "region": town, "place_kinds": ["group_rental"],
        "starts_on": chrono::Utc::now().with_timezone(&safegrid::app::time::shanghai()).date_naive().to_string(),
        "ends_on": (chrono::Utc::now() + chrono::Duration::days(30)).with_timezone(&safegrid::app::time::shanghai()).date_naive().to_string(),
        "checklist": [{"key": "extinguisher", "text_zh": "灭火器", "answer": "yes_no", "required": true}]
    })).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let cid = c["id"].as_str().unwrap();
    let (s, p) = post(
        &root,
        format!("{base}/api/v1/campaigns/{cid}/publish"),
        json!({"version": 1}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let case = case_in_grid(app, &g1, &v1, "handled").await;
    assert_eq!(case_status(app, &wang, case).await, StatusCode::OK);
    assert!(task_grids(app, &wang).await.contains(&g1));
    assert_eq!(case_status(app, &zhou, case).await, StatusCode::NOT_FOUND);

    let tasks_g1 = count(
        app,
        "SELECT COUNT(*) FROM campaign_tasks WHERE grid_code = $1 AND status = 'due'",
        &[&g1],
    )
    .await;
    let verify_g1 = count(
        app,
        "SELECT COUNT(*) FROM cases WHERE grid_code = $1 AND status IN ('handled', 'rectified')",
        &[&g1],
    )
    .await;
    let open_g1 = count(app, "SELECT COUNT(*) FROM cases WHERE grid_code = $1 AND status NOT IN ('closed', 'rejected', 'voided', 'merged', 'concluded', 'archived')", &[&g1]).await;
    assert!(tasks_g1 >= 1 && verify_g1 >= 1);

    // Handover g1 from 王芳 to 周敏: the summary counts what moved; the old worker loses it.
    let (s, h) = post(
        &admin,
        format!("{base}/api/v1/staffing/handover"),
        json!({"grid_code": g1, "to_user_id": zhou_id, "note": "王芳调岗"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["previous"]["username"], "aj-wang");
    assert_eq!(h["moved"]["campaign_tasks"], json!(tasks_g1), "{h}");
    assert_eq!(h["moved"]["awaiting_verification"], json!(verify_g1), "{h}");
    assert_eq!(h["moved"]["open_cases"], json!(open_g1), "{h}");
    assert_eq!(case_status(app, &wang, case).await, StatusCode::NOT_FOUND);
    assert!(!task_grids(app, &wang).await.contains(&g1));
    assert_eq!(case_status(app, &zhou, case).await, StatusCode::OK);
    assert!(task_grids(app, &zhou).await.contains(&g1));
    let (s, hist) = get(&zhou, format!("{base}/api/v1/cases/{case}/history")).await;
    assert_eq!(s, StatusCode::OK, "{hist}");
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM grid_staffing WHERE kind = 'handover' AND grid_code = $1",
            &[&g1]
        )
        .await,
        1
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'staffing.handover' AND target_id = $1",
            &[&g1]
        )
        .await,
        1
    );
    let (_, view) = get(&admin, format!("{base}/api/v1/staffing")).await;
    assert_eq!(view["history"][0]["kind"], "handover", "{view}");

    // Covers: 李强 covers 周敏 (g1, g3). A past cover and a future one give him nothing now.
    let now = chrono::Utc::now();
    let at = |h: i64| (now + chrono::Duration::hours(h)).to_rfc3339();
    let cover = |s: i64, e: i64| json!({"absent_user_id": zhou_id, "cover_user_id": li_id, "starts_at": at(s), "ends_at": at(e)});
    let (s, c) = post(
        &admin,
        format!("{base}/api/v1/staffing/covers"),
        cover(-72, -48),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["status"], "ended");
    let (s, c) = post(
        &admin,
        format!("{base}/api/v1/staffing/covers"),
        cover(48, 72),
    )
    .await;
    assert_eq!(
        (s, c["status"].clone()),
        (StatusCode::CREATED, json!("upcoming")),
        "{c}"
    );
    assert_eq!(case_status(app, &li, case).await, StatusCode::NOT_FOUND);
    assert!(!task_grids(app, &li).await.contains(&g1));
    // Overlapping the future one, and ending before it starts: 422 naming the field.
    let (s, e) = post(
        &admin,
        format!("{base}/api/v1/staffing/covers"),
        cover(60, 90),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("starts_at")),
        "{e}"
    );
    let (s, e) = post(
        &admin,
        format!("{base}/api/v1/staffing/covers"),
        cover(10, 5),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("ends_at")),
        "{e}"
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM grid_covers", &[]).await,
        covers + 2
    );
    // The cover running now: 李强 sees 周敏's grid, its case and tasks, with a client id (a retry
    // answers the same cover).
    let id = Uuid::now_v7().to_string();
    let mut body = cover(-1, 24);
    body["id"] = json!(id);
    let (s, c) = post(
        &admin,
        format!("{base}/api/v1/staffing/covers"),
        body.clone(),
    )
    .await;
    assert_eq!(
        (s, c["status"].clone()),
        (StatusCode::CREATED, json!("active")),
        "{c}"
    );
    let (s, _) = post(&admin, format!("{base}/api/v1/staffing/covers"), body).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM grid_covers", &[]).await,
        covers + 3
    );
    assert_eq!(case_status(app, &li, case).await, StatusCode::OK);
    assert!(task_grids(app, &li).await.contains(&g1));
    let (_, view) = get(&admin, format!("{base}/api/v1/staffing")).await;
    let g1_row = view["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["grid_code"] == g1.as_str())
        .unwrap()
        .clone();
    assert_eq!(g1_row["covered_by"]["username"], "aj-li", "{g1_row}");
    // Cancelled, it ends at once; 李强's own grid stays his.
    let r = admin
        .delete(format!("{base}/api/v1/staffing/covers/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
    assert_eq!(case_status(app, &li, case).await, StatusCode::NOT_FOUND);
    assert_eq!(
        texts(app, "SELECT grids FROM users WHERE username = 'aj-li'", &[]).await,
        vec![g2.clone()]
    );
}

async fn staffing_scope_and_bad_input(app: &TestApp) {
    let base = &app.base;
    let root = login(app, "demo-admin").await;
    let (town, grids) = township(app, 0).await;
    let (other, other_grids) = township(app, 1).await;
    let (g1, v1) = grids[0].clone();
    let admin = township_admin(app, &root, "anji-a", &town).await;
    let far = township_admin(app, &root, "anji-b", &other).await;
    let (s, r) = import(
        app,
        &admin,
        &format!("username,role,grids\naj-sun,grid_worker,{g1}\naj-wu,grid_worker,\n"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let (_, view) = get(&admin, format!("{base}/api/v1/staffing")).await;
    let sun = user_id(&view, "aj-sun");
    let wu = user_id(&view, "aj-wu");
    let before = count(app, "SELECT COUNT(*) FROM grid_staffing", &[]).await;
    let covers = count(app, "SELECT COUNT(*) FROM grid_covers", &[]).await;
    let audit_before = count(
        app,
        "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'staffing.%'",
        &[],
    )
    .await;

    // Another township's administrator: 404 on the township, its grids and its covers.
    let (s, _) = get(&far, format!("{base}/api/v1/staffing?region={town}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = post(
        &far,
        format!("{base}/api/v1/staffing/assign"),
        json!({"grid_code": g1, "post": "worker"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = post(
        &far,
        format!("{base}/api/v1/staffing/handover"),
        json!({"grid_code": g1, "to_user_id": wu}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A grid of the other township named by the first administrator: 404 too.
    let (s, _) = post(
        &admin,
        format!("{base}/api/v1/staffing/assign"),
        json!({"grid_code": other_grids[0].0, "post": "worker", "user_id": wu}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A grid worker reads no staffing.
    let gw = login(app, "demo-gridworker").await;
    let (s, _) = get(&gw, format!("{base}/api/v1/staffing")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Bad input, each naming its field: a NUL, an unknown grid, a malformed grid, an unknown
    // post, a leader's post for a worker, an unknown account, a cover ending before it starts.
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"grid_code": g1, "post": "worker", "user_id": wu, "note": "a\u{0}b"}),
            "assign",
            "note",
        ),
        (
            json!({"grid_code": format!("{v1}999"), "post": "worker", "user_id": wu}),
            "assign",
            "grid_code",
        ),
        (
            json!({"grid_code": "12ab", "post": "worker", "user_id": wu}),
            "assign",
            "grid_code",
        ),
        (
            json!({"grid_code": g1, "post": "captain", "user_id": wu}),
            "assign",
            "post",
        ),
        (
            json!({"grid_code": grids[1].0, "post": "leader", "user_id": wu}),
            "assign",
            "user_id",
        ),
        (
            json!({"grid_code": g1, "to_user_id": "not-a-uuid"}),
            "handover",
            "to_user_id",
        ),
        (
            json!({"grid_code": g1, "to_user_id": sun}),
            "handover",
            "to_user_id",
        ),
        (
            json!({"absent_user_id": sun, "cover_user_id": wu, "starts_at": "2026-12-10T08:00", "ends_at": "2026-12-09T08:00"}),
            "covers",
            "ends_at",
        ),
        (
            json!({"absent_user_id": sun, "cover_user_id": wu, "starts_at": "yesterday", "ends_at": "2026-12-09T08:00"}),
            "covers",
            "starts_at",
        ),
        (
            json!({"absent_user_id": sun, "cover_user_id": sun, "starts_at": "2026-12-08T08:00", "ends_at": "2026-12-09T08:00"}),
            "covers",
            "cover_user_id",
        ),
    ];
    for (body, path, field) in cases {
        let (s, v) = post(
            &admin,
            format!("{base}/api/v1/staffing/{path}"),
            body.clone(),
        )
        .await;
        assert!(
            s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST,
            "{path} {body} → {s} {v}"
        );
        assert_eq!(v["error"]["field"], field, "{path} {body} → {v}");
    }
    // An unknown account is not found; an import with an unknown role names the row and column.
    let (s, _) = post(
        &admin,
        format!("{base}/api/v1/staffing/assign"),
        json!({"grid_code": g1, "post": "worker", "user_id": Uuid::now_v7()}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = import(app, &admin, "username,role\naj-x,warden\n").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["problems"][0]["column"], "role", "{v}");
    assert_eq!(v["error"]["problems"][0]["row"], 2, "{v}");
    // Only the root may grant an administrator's role outside its own regions.
    let (s, v) = import(
        app,
        &admin,
        &format!("username,role,regions\naj-y,admin,{other}\n"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["problems"][0]["column"], "regions", "{v}");

    assert_eq!(
        count(app, "SELECT COUNT(*) FROM grid_staffing", &[]).await,
        before
    );
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM grid_covers", &[]).await,
        covers
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'staffing.%'",
            &[]
        )
        .await,
        audit_before
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM users WHERE username IN ('aj-x', 'aj-y')",
            &[]
        )
        .await,
        0
    );
}

story!(staffing_pages);

/// The pages: the demo township's staffing (every grid staffed but two, in red; one cover
/// running, one handover in the history), a cover arranged and refused through the form, and
/// the accounts import page showing the initial passwords once.
async fn staffing_pages(app: &TestApp) {
    let base = &app.base;
    let b = web_session(app, "demo-admin", PASSWORD).await;
    let gw = texts(
        app,
        "SELECT grids FROM users WHERE username = 'demo-gridworker'",
        &[],
    )
    .await;
    let town = gw[0][..9].to_string();
    let grids = count(
        app,
        "SELECT COUNT(*) FROM grids WHERE code LIKE $1",
        &[&format!("{town}%")],
    )
    .await;
    let r = b
        .get(format!("{base}/work/staffing?region={town}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"staffing-table\""), "{html}");
    assert_eq!(html.matches("<tr data-grid=").count() as i64, grids);
    assert_eq!(
        html.matches("class=\"vacant\"").count(),
        2,
        "the demo leaves two grids vacant"
    );
    assert!(
        html.contains("data-status=\"active\""),
        "the demo's cover runs now"
    );
    assert!(
        html.contains("原网格员调往街道综治中心"),
        "the demo's handover is in the history"
    );
    // The county: only its townships to choose.
    let r = b
        .get(format!("{base}/work/staffing?region={}", &town[..6]))
        .send()
        .await
        .unwrap();
    let county = r.text().await.unwrap();
    assert!(county.contains("id=\"staffing-choose\"") && !county.contains("id=\"staffing-table\""));
    // English.
    let r = b
        .get(format!("{base}/work/staffing?region={town}&lang=en"))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Grid staffing"));

    // A cover through the form: two of the township's workers; then one ending before it starts.
    let ids = texts(app, "SELECT username FROM users WHERE username LIKE 'demo-gw-%' AND grids <> '' ORDER BY username", &[]).await;
    let id_of = |name: &str| {
        let at = html
            .find(&format!("({name})"))
            .unwrap_or_else(|| panic!("{name} in the form"));
        let opt = html[..at].rfind("<option value=\"").unwrap();
        html[opt + 15..].split('"').next().unwrap().to_string()
    };
    let (absent, cover) = (id_of(&ids[5]), id_of(&ids[6]));
    let csrf = csrf_of(&html);
    let form = |s: &str, e: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("region", town.clone()),
            ("absent_user_id", absent.clone()),
            ("cover_user_id", cover.clone()),
            ("starts_at", s.to_string()),
            ("ends_at", e.to_string()),
            ("note", "年休假".to_string()),
        ]
    };
    let before = count(app, "SELECT COUNT(*) FROM grid_covers", &[]).await;
    let r = b
        .post(format!("{base}/work/staffing/covers"))
        .form(&form("2026-12-20T08:00", "2026-12-19T08:00"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("id=\"staffing-error\""));
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM grid_covers", &[]).await,
        before
    );
    let r = b
        .post(format!("{base}/work/staffing/covers"))
        .form(&form("2026-12-20T08:00", "2026-12-24T18:00"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        count(app, "SELECT COUNT(*) FROM grid_covers", &[]).await,
        before + 1
    );

    // The accounts import page: a clean table shows the passwords once.
    let r = b
        .get(format!("{base}/work/staffing/accounts-import"))
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_of(&page))
        .text("result", "page")
        .part(
            "file",
            reqwest::multipart::Part::bytes(
                b"username,display_name,role\nweb-import-1,\xe5\xbc\xa0\xe4\xb8\x89,grid_worker\n"
                    .to_vec(),
            )
            .file_name("a.csv"),
        );
    let r = b
        .post(format!("{base}/work/staffing/accounts-import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let done = r.text().await.unwrap();
    assert!(
        done.contains("id=\"passwords-once\"") && done.contains("<code>Sg"),
        "{done}"
    );
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM users WHERE username = 'web-import-1'",
            &[]
        )
        .await,
        1
    );
}
