//! Stories of the register of places (场所/点位), told over HTTP on each backend: the demo grid
//! worker registers a group rental in her grid (a retried upload does not register it twice),
//! edits it, cannot reach places outside her grid; contacts stay masked until revealed with a
//! reason (audited); a township's register is imported from CSV and XLSX — a bad row refuses the
//! whole file and names its row and column, a re-import updates by reference — and exported for
//! Excel. Every figure is checked against a count taken with SQL from the rows themselves.

use super::helpers::*;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// Inside the demo grid worker's grid (吴兴区).
const LAT: f64 = 30.78412;
const LON: f64 = 120.02352;

story!(grid_worker_registers_edits_and_stays_in_her_grid);
story!(contact_is_masked_until_revealed_with_a_reason);
story!(import_is_all_or_nothing_and_idempotent_by_reference);
story!(exports_open_in_excel_with_contacts_masked);
story!(pages_register_edit_and_import_in_both_languages);

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

async fn places_with_id(app: &TestApp, id: &str) -> i64 {
    let uuid = uuid::Uuid::parse_str(id).unwrap();
    safegrid_store::with_pool!(&app.state.store, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM places WHERE id = $1")
        .bind(uuid).fetch_one(p).await.unwrap())
}

async fn put(c: &Client, url: String, body: Value) -> (StatusCode, Value) {
    let r = c.put(url).json(&body).send().await.expect("PUT");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn send_bytes(c: &Client, url: String, bytes: Vec<u8>, ct: &str) -> (StatusCode, Value) {
    let r = c
        .post(url)
        .header("content-type", ct)
        .body(bytes)
        .send()
        .await
        .expect("POST");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// A point in 南浔区 (330503), outside the grid worker's grid.
fn nanxun_point(app: &TestApp) -> (f64, f64, String) {
    for (lon, lat) in [
        (120.418, 30.85),
        (120.43, 30.88),
        (120.35, 30.80),
        (120.40, 30.75),
    ] {
        if let Some(g) = app.state.locator().locate(lon, lat).grid
            && g.starts_with("330503")
        {
            return (lon, lat, g);
        }
    }
    panic!("no 南浔区 point found");
}

fn place_body(id: Option<&str>, name: &str) -> Value {
    json!({
        "id": id, "kind": "group_rental", "name": name,
        "address": format!("湖州市吴兴区{name}"), "lat": LAT, "lon": LON,
        "contact_name": "王小明", "contact_phone": "13912345678", "tags": ["电动车", "三合一"],
    })
}

async fn grid_worker_registers_edits_and_stays_in_her_grid(app: &TestApp) {
    let base = format!("{}/api/v1/places", app.base);
    let gw = login(app, "demo-gridworker").await;
    let me = app
        .state
        .store
        .user_by_name("demo-gridworker")
        .await
        .unwrap();
    let grid = me.grids[0].clone();

    // Registered with a client id; the retry answers the same place, stored once.
    let id = uuid::Uuid::now_v7().to_string();
    let (s, p) = post(
        &gw,
        base.clone(),
        place_body(Some(&id), "织里镇大港路88号出租楼"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["id"], id.as_str());
    assert_eq!(p["grid_code"], grid.as_str(), "located into her grid");
    assert_eq!(p["region_code"], &grid[..12], "and its village");
    assert_eq!(p["kind_name"]["zh"], "群租房");
    assert_eq!(p["version"], 1);
    assert_eq!(p["may_edit"], true);
    let (s, again) = post(
        &gw,
        base.clone(),
        place_body(Some(&id), "织里镇大港路88号出租楼"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["id"], p["id"]);
    assert_eq!(places_with_id(app, &id).await, 1, "a retry never doubles");
    let audits = sql_count(
        app,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'place.create' AND target_id = $1",
        &[&id],
    )
    .await;
    assert_eq!(audits, 1, "one creation, audited once");

    // Outside her grid: refused naming the point; in her list only what her grid holds.
    let (lon, lat, nanxun_grid) = nanxun_point(app);
    let mut far = place_body(None, "南浔古镇客栈");
    far["lat"] = json!(lat);
    far["lon"] = json!(lon);
    far["kind"] = json!("hostel");
    let (s, e) = post(&gw, base.clone(), far.clone()).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("lat")),
        "{e}"
    );
    let dispatcher = login(app, "demo-dispatcher").await;
    let (s, other) = post(&dispatcher, base.clone(), far).await;
    assert_eq!(s, StatusCode::CREATED, "{other}");
    assert_eq!(other["grid_code"], nanxun_grid.as_str());
    let other_id = other["id"].as_str().unwrap();
    let (s, _) = get(&gw, format!("{base}/{other_id}")).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "out of scope is 404, as for cases"
    );
    let (s, _) = get(&gw, format!("{base}/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, page) = get(&gw, format!("{base}?limit=500")).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let in_grid = sql_count(
        app,
        "SELECT COUNT(*) FROM places WHERE grid_code = $1",
        &[&grid],
    )
    .await;
    assert_eq!(page["total"].as_i64().unwrap(), in_grid);
    assert!(
        page["places"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["grid_code"] == grid.as_str())
    );
    // Someone else's id is a conflict naming it, not a silent answer of their place.
    let (s, e) = post(&gw, base.clone(), place_body(Some(other_id), "x")).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::CONFLICT, Some("id")),
        "{e}"
    );

    // Filters: kind, text, status; and a page walk with `after`.
    let (_, rentals) = get(&gw, format!("{base}?kind=group_rental&q=大港路88号")).await;
    assert_eq!(rentals["total"], 1, "{rentals}");
    let (s, e) = get(&gw, format!("{base}?kind=zoo")).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kind"))
    );
    let mut seen = 0;
    let mut url = format!("{base}?limit=2");
    loop {
        let (_, page) = get(&gw, url.clone()).await;
        seen += page["places"].as_array().unwrap().len() as i64;
        match page["next_after"].as_str() {
            Some(a) => url = format!("{base}?limit=2&after={a}"),
            None => break,
        }
    }
    assert_eq!(seen, in_grid, "the pages walk every place once");

    // Edit with the version read; a stale version is refused naming it.
    let mut edit = place_body(None, "织里镇大港路88号群租楼");
    edit.as_object_mut().unwrap().remove("id");
    edit["version"] = json!(1);
    edit["tags"] = json!(["电动车"]);
    let (s, p2) = put(&gw, format!("{base}/{id}"), edit.clone()).await;
    assert_eq!(s, StatusCode::OK, "{p2}");
    assert_eq!(
        (p2["version"].as_i64(), p2["name"].as_str()),
        (Some(2), Some("织里镇大港路88号群租楼"))
    );
    let (s, e) = put(&gw, format!("{base}/{id}"), edit).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::CONFLICT, Some("version")),
        "{e}"
    );
    let (s, p3) = post(
        &gw,
        format!("{base}/{id}/status"),
        json!({ "status": "closed", "version": 2 }),
    )
    .await;
    assert_eq!(
        (s, p3["status"].as_str()),
        (StatusCode::OK, Some("closed")),
        "{p3}"
    );
    let (_, active) = get(&gw, format!("{base}?status=active&q=大港路88号")).await;
    assert_eq!(active["total"], 0);

    // Bad input: each refused naming the field, nothing written.
    let before = sql_count(app, "SELECT COUNT(*) FROM places", &[]).await;
    for (change, field) in [
        (json!({ "name": "  " }), "name"),
        (json!({ "kind": "zoo" }), "kind"),
        (json!({ "contact_phone": "12345" }), "contact_phone"),
        (json!({ "name": "a\u{0}b" }), "name"),
        (json!({ "address": "a\u{0}b" }), "address"),
        (json!({ "lat": 95.0 }), "lat"),
        (json!({ "tags": ["a,b"] }), "tags"),
        (json!({ "id": "not-a-uuid" }), "id"),
        (json!({ "grid_code": "330503" }), "grid_code"),
    ] {
        let mut b = place_body(None, "临时名称");
        for (k, v) in change.as_object().unwrap() {
            b[k] = v.clone();
        }
        let (s, e) = post(&gw, base.clone(), b).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {e}");
        assert_eq!(e["error"]["field"], field, "{e}");
    }
    assert_eq!(
        sql_count(app, "SELECT COUNT(*) FROM places", &[]).await,
        before,
        "nothing written"
    );

    // Who reads and who manages: the department reads in its region, leaders read, residents not.
    let handler = login(app, "demo-handler").await;
    let (s, hp) = get(&handler, format!("{base}/{id}")).await;
    assert_eq!(
        (s, hp["may_edit"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{hp}"
    );
    let (s, _) = post(
        &handler,
        format!("{base}/{id}/status"),
        json!({ "status": "active", "version": 3 }),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = get(
        &login(app, "demo-leader").await,
        format!("{base}/{other_id}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = get(&login(app, "demo-citizen").await, base.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, kinds) = get(&gw, format!("{base}/kinds")).await;
    assert_eq!(
        (s, kinds.as_array().map(Vec::len)),
        (StatusCode::OK, Some(12))
    );
}

async fn contact_is_masked_until_revealed_with_a_reason(app: &TestApp) {
    let base = format!("{}/api/v1/places", app.base);
    let gw = login(app, "demo-gridworker").await;
    let (s, p) = post(&gw, base.clone(), place_body(None, "爱山街道小旅馆")).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let id = p["id"].as_str().unwrap();
    assert_eq!(p["contact"]["name"], "王**");
    assert_eq!(p["contact"]["phone"], "139****5678");
    assert_eq!(p["contact"]["may_reveal"], true);
    let leader = login(app, "demo-leader").await;
    let (_, seen) = get(&leader, format!("{base}/{id}")).await;
    assert_eq!(seen["contact"]["phone"], "139****5678", "{seen}");
    assert_eq!(seen["contact"]["may_reveal"], false);
    assert!(!seen.to_string().contains("13912345678"));
    let (s, _) = post(
        &leader,
        format!("{base}/{id}/reveal"),
        json!({ "reason": "回访核实情况" }),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "leaders read, they do not call places"
    );

    let ids = [id];
    let reveals = || {
        sql_count(
            app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.reveal' AND target_type = 'place' AND target_id = $1",
            &ids,
        )
    };
    let (s, e) = post(
        &gw,
        format!("{base}/{id}/reveal"),
        json!({ "reason": "看" }),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason"))
    );
    assert_eq!(reveals().await, 0);
    let (s, c) = post(
        &gw,
        format!("{base}/{id}/reveal"),
        json!({ "reason": "通知房东参加消防检查" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(
        (c["contact_name"].as_str(), c["contact_phone"].as_str()),
        (Some("王小明"), Some("13912345678"))
    );
    assert_eq!(reveals().await, 1, "the reveal is audited");
    let reason = sql_count(app, "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.reveal' AND target_id = $1 AND detail LIKE $2", &[id, "%通知房东参加消防检查%"]).await;
    assert_eq!(reason, 1, "with its reason");
    // An edit that leaves the contact out keeps it (the editor only sees it masked); "" removes it.
    let mut edit = place_body(None, "爱山街道小旅馆");
    for k in ["id", "contact_name", "contact_phone"] {
        edit.as_object_mut().unwrap().remove(k);
    }
    edit["version"] = json!(1);
    let (s, p2) = put(&gw, format!("{base}/{id}"), edit.clone()).await;
    assert_eq!(s, StatusCode::OK, "{p2}");
    assert_eq!(p2["contact"]["phone"], "139****5678", "kept");
    let stored = "SELECT COUNT(*) FROM places WHERE id = $1 AND contact_phone = '13912345678' AND contact_name = '王小明'";
    let by_id = |sql: &'static str| async move {
        let uuid = uuid::Uuid::parse_str(id).unwrap();
        safegrid_store::with_pool!(&app.state.store, p => sqlx::query_scalar::<_, i64>(sql).bind(uuid).fetch_one(p).await.unwrap())
    };
    assert_eq!(by_id(stored).await, 1);
    edit["version"] = json!(2);
    edit["contact_name"] = json!("");
    edit["contact_phone"] = json!("");
    let (s, p3) = put(&gw, format!("{base}/{id}"), edit).await;
    assert_eq!(s, StatusCode::OK, "{p3}");
    assert!(p3["contact"].is_null(), "{p3}");
    assert_eq!(by_id("SELECT COUNT(*) FROM places WHERE id = $1 AND contact_phone IS NULL AND contact_name IS NULL").await, 1);
}

/// A CSV file of the template's columns (with a BOM, as Excel saves "CSV UTF-8").
fn csv(rows: &[[&str; 8]]) -> Vec<u8> {
    let mut s = String::from(
        "\u{feff}编号 external_ref,类型 kind,名称 name,地址 address,纬度 lat,经度 lon,联系电话 contact_phone,标签 tags\r\n",
    );
    for r in rows {
        s.push_str(&r.join(","));
        s.push_str("\r\n");
    }
    s.into_bytes()
}

fn xlsx(rows: &[[&str; 6]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in [
        "编号",
        "类型",
        "名称",
        "地址",
        "网格编码 grid_code",
        "联系人",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

async fn import_is_all_or_nothing_and_idempotent_by_reference(app: &TestApp) {
    let url = format!("{}/api/v1/places/import", app.base);
    let gw = login(app, "demo-gridworker").await;
    let grid = app
        .state
        .store
        .user_by_name("demo-gridworker")
        .await
        .unwrap()
        .grids[0]
        .clone();
    let (lat, lon) = (LAT.to_string(), LON.to_string());
    let refs = "SELECT COUNT(*) FROM places WHERE external_ref LIKE 'IMP-%'";
    let good: Vec<[&str; 8]> = vec![
        [
            "IMP-1",
            "group_rental",
            "大港路1号出租楼",
            "织里镇大港路1号",
            &lat,
            &lon,
            "13800001111",
            "电动车；三合一",
        ],
        [
            "IMP-2",
            "群租房",
            "大港路2号出租楼",
            "织里镇大港路2号",
            &lat,
            &lon,
            "0572-2345678",
            "",
        ],
        [
            "IMP-3",
            "restaurant",
            "老王面馆",
            "织里镇大港路3号",
            &lat,
            &lon,
            "",
            "",
        ],
    ];
    let mut bad = good.clone();
    bad[1][6] = "12345"; // row 3: the phone
    bad[2][1] = "zoo"; // row 4: the kind
    let (s, e) = send_bytes(&gw, url.clone(), csv(&bad), "text/csv").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["field"], "file");
    let problems: Vec<(i64, String)> = e["error"]["problems"]
        .as_array()
        .unwrap()
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
        vec![(3, "contact_phone".to_string()), (4, "kind".to_string())],
        "{e}"
    );
    assert_eq!(
        sql_count(app, refs, &[]).await,
        0,
        "nothing of a refused file is written"
    );

    // A cell with a NUL, on both databases: a problem naming its column, nothing written.
    let mut nul = good.clone();
    nul[0][2] = "大港路\u{0}1号";
    let (s, e) = send_bytes(&gw, url.clone(), csv(&nul), "text/csv").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(
        (
            e["error"]["problems"][0]["row"].as_i64(),
            e["error"]["problems"][0]["column"].as_str()
        ),
        (Some(2), Some("name"))
    );
    // A place outside her grid and a reference given twice are row problems too.
    let mut outside = good.clone();
    outside[0][4] = "30.85";
    outside[0][5] = "120.418";
    outside[2][0] = "IMP-2";
    let (_, e) = send_bytes(&gw, url.clone(), csv(&outside), "text/csv").await;
    let problems: Vec<(i64, String)> = e["error"]["problems"]
        .as_array()
        .unwrap()
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
        vec![(2, "lat".to_string()), (4, "external_ref".to_string())],
        "{e}"
    );
    assert_eq!(sql_count(app, refs, &[]).await, 0);

    let (s, r) = send_bytes(&gw, url.clone(), csv(&good), "text/csv").await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        r,
        json!({ "rows": 3, "created": 3, "updated": 0, "unchanged": 0 })
    );
    assert_eq!(sql_count(app, refs, &[]).await, 3);
    assert_eq!(sql_count(app, "SELECT COUNT(*) FROM places WHERE external_ref = 'IMP-2' AND kind = 'group_rental' AND contact_phone = '0572-2345678' AND grid_code = $1", &[&grid]).await, 1);
    // The same file again changes nothing; a changed row updates its place in place.
    let (_, r) = send_bytes(&gw, url.clone(), csv(&good), "text/csv").await;
    assert_eq!(
        r,
        json!({ "rows": 3, "created": 0, "updated": 0, "unchanged": 3 })
    );
    let mut changed = good.clone();
    changed[2][2] = "老王面馆（新店）";
    let (_, r) = send_bytes(&gw, url.clone(), csv(&changed), "text/csv").await;
    assert_eq!(
        r,
        json!({ "rows": 3, "created": 0, "updated": 1, "unchanged": 2 })
    );
    assert_eq!(
        sql_count(app, refs, &[]).await,
        3,
        "re-imports never double"
    );
    assert_eq!(sql_count(app, "SELECT COUNT(*) FROM places WHERE external_ref = 'IMP-3' AND name = '老王面馆（新店）' AND version = 2", &[]).await, 1);
    let imports = sql_count(
        app,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'place.import' AND actor_name = 'demo-gridworker'",
        &[],
    )
    .await;
    assert_eq!(
        imports, 3,
        "each written import audited once, refused ones not at all"
    );

    // GB18030, as Excel on Chinese Windows saves CSV.
    let text = String::from_utf8(csv(&[[
        "IMP-4",
        "小旅馆",
        "大港路4号旅馆",
        "织里镇大港路4号",
        &lat,
        &lon,
        "",
        "",
    ]]))
    .unwrap();
    let (gb, _, _) = encoding_rs::GB18030.encode(text.trim_start_matches('\u{feff}'));
    let (s, r) = send_bytes(&gw, url.clone(), gb.into_owned(), "text/csv").await;
    assert_eq!((s, r["created"].as_i64()), (StatusCode::OK, Some(1)), "{r}");
    assert_eq!(sql_count(app, "SELECT COUNT(*) FROM places WHERE external_ref = 'IMP-4' AND kind = 'hostel' AND name = '大港路4号旅馆'", &[]).await, 1);

    // XLSX: address-only places placed by their grid; a bad row refuses the workbook.
    let ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let rows = [
        [
            "IMP-5",
            "shop",
            "大港路5号便利店",
            "织里镇大港路5号",
            grid.as_str(),
            "李四",
        ],
        [
            "IMP-6",
            "workshop",
            "大港路6号小作坊",
            "织里镇大港路6号",
            "330599999999001",
            "李四",
        ],
        [
            "IMP-7",
            "market",
            "",
            "织里镇大港路7号",
            grid.as_str(),
            "李4",
        ],
    ];
    let (s, e) = send_bytes(&gw, url.clone(), xlsx(&rows), ct).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let problems: Vec<(i64, String)> = e["error"]["problems"]
        .as_array()
        .unwrap()
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
        vec![(3, "grid_code".to_string()), (4, "name".to_string())],
        "{e}"
    );
    assert_eq!(sql_count(app, refs, &[]).await, 4);
    let (s, r) = send_bytes(&gw, url.clone(), xlsx(&rows[..1]), ct).await;
    assert_eq!((s, r["created"].as_i64()), (StatusCode::OK, Some(1)), "{r}");
    assert_eq!(sql_count(app, "SELECT COUNT(*) FROM places WHERE external_ref = 'IMP-5' AND lat IS NULL AND grid_code = $1 AND region_code = $2", &[&grid, &grid[..12]]).await, 1);

    // Not a table at all.
    let (s, e) = send_bytes(&gw, url.clone(), b"PK\x03\x04broken".to_vec(), ct).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("file"))
    );
    let (s, e) = send_bytes(&gw, url.clone(), b"a,b\n1,2\n".to_vec(), "text/csv").await;
    assert_eq!(
        (s, e["error"]["problems"][0]["column"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kind")),
        "{e}"
    );
    let (s, _) = send_bytes(
        &login(app, "demo-leader").await,
        url,
        csv(&good),
        "text/csv",
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "leaders read the register, they do not import"
    );
}

async fn exports_open_in_excel_with_contacts_masked(app: &TestApp) {
    use calamine::Reader;
    let base = format!("{}/api/v1/places", app.base);
    let gw = login(app, "demo-gridworker").await;
    let grid = app
        .state
        .store
        .user_by_name("demo-gridworker")
        .await
        .unwrap()
        .grids[0]
        .clone();
    let (s, _) = post(&gw, base.clone(), place_body(None, "大港路9号出租楼")).await;
    assert_eq!(s, StatusCode::CREATED);
    let in_grid = sql_count(
        app,
        "SELECT COUNT(*) FROM places WHERE grid_code = $1",
        &[&grid],
    )
    .await;

    let r = gw.get(format!("{base}/export.csv")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(
        text.starts_with("编号 external_ref,类型 kind,名称 name"),
        "{}",
        &text[..80]
    );
    assert_eq!(
        text.lines().count() as i64,
        in_grid + 1,
        "a row per place in her grid"
    );
    assert!(
        text.contains("139****5678") && !text.contains("13912345678"),
        "contacts masked"
    );

    // The export imports back as it is: every row is its place (by id), contacts masked as
    // stored, so nothing changes and nothing doubles.
    let url = format!("{base}/import");
    let (s, r) = send_bytes(&gw, url.clone(), bytes.to_vec(), "text/csv").await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["unchanged"].as_i64(), Some(in_grid), "{r}");
    assert_eq!(
        (r["created"].as_i64(), r["updated"].as_i64()),
        (Some(0), Some(0))
    );
    let edited = text.replacen("大港路9号出租楼", "大港路9号出租楼（已改）", 1);
    let (_, r) = send_bytes(&gw, url.clone(), edited.into_bytes(), "text/csv").await;
    assert_eq!(
        (r["updated"].as_i64(), r["created"].as_i64()),
        (Some(1), Some(0)),
        "{r}"
    );
    assert_eq!(
        sql_count(app, "SELECT COUNT(*) FROM places WHERE name = '大港路9号出租楼（已改）' AND contact_phone = '13912345678'", &[]).await,
        1,
        "the masked contact kept the stored one"
    );
    let forged = text.replacen("139****5678", "137****5678", 1);
    let (s, e) = send_bytes(&gw, url.clone(), forged.into_bytes(), "text/csv").await;
    assert_eq!(
        (s, e["error"]["problems"][0]["column"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("contact_phone")),
        "{e}"
    );
    assert_eq!(
        sql_count(
            app,
            "SELECT COUNT(*) FROM places WHERE grid_code = $1",
            &[&grid]
        )
        .await,
        in_grid,
        "nothing doubled"
    );
    let r = gw
        .get(format!("{base}/export.xlsx?kind=group_rental"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap().to_vec();
    let mut wb: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("an XLSX workbook");
    let sheet = wb.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][2], "名称 name");
    let rentals = sql_count(
        app,
        "SELECT COUNT(*) FROM places WHERE grid_code = $1 AND kind = 'group_rental'",
        &[&grid],
    )
    .await;
    assert_eq!(rows.len() as i64, rentals + 1, "the filter applies");
    assert!(rows[1..].iter().all(|r| r[1] == "group_rental"));
    let mine = rows
        .iter()
        .find(|r| r[2] == "大港路9号出租楼（已改）")
        .expect("the place registered above");
    assert_eq!(
        (mine[7].as_str(), mine[8].as_str()),
        ("王**", "139****5678")
    );
    let exports = sql_count(
        app,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'place.export'",
        &[],
    )
    .await;
    assert_eq!(exports, 2, "each export audited");

    // The template: the header in both languages, an example row, the kinds on a second sheet.
    let r = gw
        .get(format!("{base}/template.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut wb: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(r.bytes().await.unwrap().to_vec())).unwrap();
    assert_eq!(
        wb.sheet_names()[..2],
        ["场所 places".to_string(), "类型 kinds".to_string()]
    );
    let t = wb.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(t.rows().count(), 2);
    assert_eq!(t.get((0, 1)).unwrap().to_string(), "类型 kind");
    let kinds = wb.worksheet_range_at(1).unwrap().unwrap();
    let codes: Vec<String> = kinds
        .rows()
        .skip(1)
        .take(12)
        .map(|r| r[0].to_string())
        .collect();
    assert_eq!(codes[0], "group_rental");
    assert_eq!(codes[11], "other");
    // The example row names its kind by code, as an import reads it.
    let r = gw
        .get(format!("{base}/template.xlsx"))
        .send()
        .await
        .unwrap();
    let mut wb: calamine::Xlsx<_> =
        calamine::Xlsx::new(std::io::Cursor::new(r.bytes().await.unwrap().to_vec())).unwrap();
    let example = wb.worksheet_range_at(0).unwrap().unwrap();
    assert_eq!(example.get((1, 1)).unwrap().to_string(), "group_rental");
}

async fn page(c: &Client, url: String) -> (StatusCode, String) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The pages: the list (with the nav link) in Chinese and English, a new place from the form (a
/// double submit registers it once), its page with the masked contact and the empty inspections
/// section, an edit, and an import whose bad rows are listed by row and column.
async fn pages_register_edit_and_import_in_both_languages(app: &TestApp) {
    let b = web_session(app, "demo-gridworker", PASSWORD).await;
    let grid = app
        .state
        .store
        .user_by_name("demo-gridworker")
        .await
        .unwrap()
        .grids[0]
        .clone();
    let (s, html) = page(&b, format!("{}/work/places", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("href=\"/work/places\"") && html.contains("场所台账"),
        "nav link and title"
    );
    let in_grid = sql_count(
        app,
        "SELECT COUNT(*) FROM places WHERE grid_code = $1",
        &[&grid],
    )
    .await;
    assert!(
        html.contains(&format!("id=\"places-total\">({in_grid})")),
        "the count of her grid"
    );
    let (_, en) = page(
        &b,
        format!("{}/work/places?lang=en&kind=group_rental", app.base),
    )
    .await;
    assert!(
        en.contains("<h1>Places") && en.contains("Group rental"),
        "English"
    );

    let (s, form) = page(&b, format!("{}/work/places/new", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        form.contains("data-map=\"pick\""),
        "the point is picked on the map"
    );
    let id = form
        .split("name=\"id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let csrf = csrf_of(&form);
    let fields = |name: &str, phone: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("id", id.clone()),
            ("kind", "shop".into()),
            ("name", name.into()),
            ("address", "织里镇大港路20号".into()),
            ("lat", LAT.to_string()),
            ("lon", LON.to_string()),
            ("contact_name", "赵六".into()),
            ("contact_phone", phone.into()),
            ("tags", "电动车，燃气".into()),
        ]
    };
    let r = b
        .post(format!("{}/work/places/new", app.base))
        .form(&fields("大港路20号便利店", "1380"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"err-contact_phone\"") && html.contains("联系电话应为11位手机号"),
        "the field's error in Chinese"
    );
    assert_eq!(places_with_id(app, &id).await, 0);
    for _ in 0..2 {
        let r = b
            .post(format!("{}/work/places/new", app.base))
            .form(&fields("大港路20号便利店", "13800138000"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()["location"],
            format!("/work/places/{id}?saved=1").as_str()
        );
    }
    assert_eq!(
        places_with_id(app, &id).await,
        1,
        "a double submit registers once"
    );
    let (s, html) = page(&b, format!("{}/work/places/{id}", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("138****8000") && !html.contains("13800138000"),
        "contact masked"
    );
    assert!(
        html.contains("id=\"inspections\""),
        "the inspections section"
    );
    let csrf = csrf_of(&html);
    let r = b
        .post(format!("{}/work/places/{id}/reveal", app.base))
        .form(&[("csrf", csrf.as_str()), ("reason", "通知参加消防检查")])
        .send()
        .await
        .unwrap();
    assert!(
        r.text().await.unwrap().contains("13800138000"),
        "revealed with a reason"
    );
    let mut edit = fields("大港路20号便利店（改）", "13800138000");
    edit.push(("version", "1".into()));
    let r = b
        .post(format!("{}/work/places/{id}", app.base))
        .form(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = b
        .post(format!("{}/work/places/{id}", app.base))
        .form(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a stale version"
    );
    assert_eq!(
        sql_count(
            app,
            "SELECT COUNT(*) FROM places WHERE name = '大港路20号便利店（改）' AND version = 2",
            &[]
        )
        .await,
        1
    );

    // Import from the page: the bad rows listed, nothing written.
    let (_, html) = page(&b, format!("{}/work/places/import", app.base)).await;
    let csrf = csrf_of(&html);
    let (lat, lon) = (LAT.to_string(), LON.to_string());
    let file = csv(&[
        ["WEB-1", "shop", "甲店", "织里镇1号", &lat, &lon, "", ""],
        ["WEB-2", "zoo", "乙店", "织里镇2号", &lat, &lon, "", ""],
    ]);
    let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
        "file",
        reqwest::multipart::Part::bytes(file).file_name("places.csv"),
    );
    let r = b
        .post(format!("{}/work/places/import", app.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<td>3</td><td data-column=\"kind\">场所类型 (kind)</td>"),
        "row 3, column kind"
    );
    assert_eq!(
        sql_count(
            app,
            "SELECT COUNT(*) FROM places WHERE external_ref LIKE 'WEB-%'",
            &[]
        )
        .await,
        0
    );
    let r = b
        .get(format!(
            "{}/work/places/download/places.xlsx?kind=shop",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    // Residents have no register.
    let citizen = web_session(app, "demo-citizen", PASSWORD).await;
    let (s, _) = page(&citizen, format!("{}/work/places", app.base)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
