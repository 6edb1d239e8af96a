//! The scenarios, each a user's story.

use super::helpers::*;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

story!(health_docs_and_reference_data);
story!(manhole_cover_story);
story!(bad_input_is_refused_naming_the_field);
story!(two_dispatchers_cannot_both_dispatch);
story!(wrong_state_answers_409_with_allowed_actions);
story!(public_report_and_tracking);
story!(imports_refuse_bad_files_and_write_nothing);
story!(suspension_extension_and_duplicates);
story!(scopes_hide_other_territory);
story!(deadline_job_marks_overdue_cases);
story!(exports_stream_every_case_once, small_export_pages);

/// Export pages of 7 rows, so the demo's cases take many pages.
fn small_export_pages(s: &mut safegrid::config::Settings) {
    open_limits(s);
    s.export_page_rows = 7;
}

async fn health_docs_and_reference_data(app: &TestApp) {
    let c = Client::new();
    assert_eq!(
        safegrid::demo::state(&app.state).await.unwrap(),
        safegrid::demo::DemoState::Built
    );
    let (s, h) = get(&c, format!("{}/healthz", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["status"], "ok");
    // The write path's caches warm in the background (nothing to do on PostgreSQL); the demo
    // city's take well under a second.
    let mut h = h;
    for _ in 0..300 {
        if h["warm"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        h = get(&c, format!("{}/healthz", app.base)).await.1;
    }
    assert_eq!(h["warm"], true, "{h}");
    let (s, doc) = get(&c, format!("{}/api/v1/openapi.json", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for p in [
        "/api/v1/cases",
        "/api/v1/cases/{id}/actions",
        "/api/v1/stats/kpi",
        "/api/v1/locate",
    ] {
        assert!(doc["paths"][p].is_object(), "openapi lacks {p}");
    }
    let docs = c
        .get(format!("{}/api/docs", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(docs.contains("/api/v1/cases/{id}/actions") && !docs.contains("<script"));
    let (_, cats) = get(&c, format!("{}/api/v1/categories", app.base)).await;
    assert!(cats["total"].as_u64().unwrap() >= 80);
    let (_, regions) = get(
        &c,
        format!("{}/api/v1/regions?parent=330500000000", app.base),
    )
    .await;
    let names: Vec<&str> = regions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for n in ["吴兴区", "南浔区", "德清县", "长兴县", "安吉县"] {
        assert!(names.contains(&n), "missing county {n}");
    }
    let (s, grids) = get(
        &c,
        format!("{}/api/v1/grids?region=330502&page_size=5", app.base),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(grids["type"], "FeatureCollection");
    assert_eq!(grids["features"].as_array().unwrap().len(), 5);
    let (_, d) = get(&c, format!("{}/api/v1/departments", app.base)).await;
    assert!(
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["code"] == "330502-cgj")
    );
}

/// A grid worker reports a broken manhole cover in 吴兴区; it is registered, dispatched to 城管,
/// returned, re-dispatched, handled, fails verification, is reworked, verified, closed on time
/// and rated; the KPI endpoint counts it.
async fn manhole_cover_story(app: &TestApp) {
    let gw = login(app, "demo-gridworker").await;
    let disp = login(app, "demo-dispatcher").await;
    let handler = login(app, "demo-handler").await;
    let leader = login(app, "demo-leader").await;
    let (lat, lon) = (30.78412, 120.02352);

    let (_, located) = get(
        &gw,
        format!("{}/api/v1/locate?lat={lat}&lon={lon}", app.base),
    )
    .await;
    let grid = located["grid"]["code"]
        .as_str()
        .expect("point is in a grid")
        .to_string();
    assert!(grid.starts_with("330502"), "the point is in 吴兴区: {grid}");
    assert_eq!(located["path"][2]["name"], "吴兴区");

    let (_, before) = get(
        &leader,
        format!("{}/api/v1/stats/kpi?region=330502", app.base),
    )
    .await;

    let (s, case) = post(&gw, format!("{}/api/v1/cases", app.base), json!({
        "category": "C0102", "description": "红旗路人行道上的污水井盖破损，中间裂开一道缝，有行人差点绊倒。",
        "lat": lat, "lon": lon, "urgency": "urgent"
    })).await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    for k in [
        "id",
        "number",
        "status",
        "grid_code",
        "region_code",
        "due_at",
        "version",
    ] {
        assert!(!case[k].is_null(), "create answer lacks {k}: {case}");
    }
    assert_eq!(case["grid_code"], grid);
    assert_eq!(case["status"], "reported");
    assert_eq!(case["channel"], "grid_worker");
    assert!(case["number"].as_str().unwrap().starts_with("330502"));
    let id = case["id"].as_str().unwrap().to_string();

    let (s, c) = get(&disp, format!("{}/api/v1/cases/{id}", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    let allowed: Vec<&str> = c["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        allowed.contains(&"register") && allowed.contains(&"reject"),
        "{allowed:?}"
    );

    act_ok(app, &disp, &id, json!({"action": "register"})).await;
    let v = act_ok(
        app,
        &disp,
        &id,
        json!({"action": "dispatch", "department": "330502-jd"}),
    )
    .await;
    assert_eq!(v["status"], "dispatched");
    // 吴兴区's 城管 handler cannot see a case dispatched elsewhere.
    let (s, _) = get(&handler, format!("{}/api/v1/cases/{id}", app.base)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // An administrator is not the department: returning is not theirs.
    let (s, _) = act(
        app,
        &login(app, "demo-admin").await,
        &id,
        json!({"action": "return", "note": "x"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let jd_user = app
        .state
        .store
        .create_user(&safegrid_store::NewUser {
            username: format!("jd-{}", app.backend),
            display_name: "吴兴区街道处置员".into(),
            password_hash: safegrid::app::auth::hash_password(PASSWORD.into())
                .await
                .unwrap(),
            role: safegrid_domain::Role::Handler,
            department: Some("330502-jd".into()),
            regions: vec![],
            grids: vec![],
        })
        .await
        .unwrap();
    let jd = login(app, &jd_user.username).await;
    let v = act_ok(
        app,
        &jd,
        &id,
        json!({"action": "return", "note": "井盖属城管部门管养，请改派。"}),
    )
    .await;
    assert_eq!(v["status"], "returned");
    let v = act_ok(
        app,
        &disp,
        &id,
        json!({"action": "dispatch", "department": "330502-cgj"}),
    )
    .await;
    assert_eq!(v["department"], "330502-cgj");
    act_ok(app, &handler, &id, json!({"action": "accept"})).await;
    let v = act_ok(
        app,
        &handler,
        &id,
        json!({"action": "handle", "note": "已更换新井盖。"}),
    )
    .await;
    assert_eq!(v["status"], "handled");
    let v = act_ok(
        app,
        &gw,
        &id,
        json!({"action": "verify", "passed": false, "note": "井盖仍松动。"}),
    )
    .await;
    assert_eq!(v["status"], "rework");
    act_ok(
        app,
        &handler,
        &id,
        json!({"action": "handle", "note": "已加固。"}),
    )
    .await;
    let v = act_ok(app, &gw, &id, json!({"action": "verify", "passed": true})).await;
    assert_eq!(v["status"], "verified");
    let v = act_ok(app, &disp, &id, json!({"action": "close"})).await;
    assert_eq!(v["status"], "closed");
    assert_eq!(v["overdue"], false);
    let v = act_ok(
        app,
        &disp,
        &id,
        json!({"action": "rate", "score": 5, "note": "满意"}),
    )
    .await;
    assert_eq!(v["rating"], 5);

    let (_, hist) = get(&disp, format!("{}/api/v1/cases/{id}/history", app.base)).await;
    let actions: Vec<&str> = hist["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "report", "register", "dispatch", "return", "dispatch", "accept", "handle", "verify",
            "handle", "verify", "close", "rate"
        ]
    );
    let first = &hist["items"][0];
    assert_eq!(first["role"], "grid_worker");
    assert!(first["at"].as_str().unwrap().ends_with("+08:00"));

    let (s, after) = get(
        &leader,
        format!("{}/api/v1/stats/kpi?region=330502", app.base),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let d = |k: &str| after["counts"][k].as_i64().unwrap() - before["counts"][k].as_i64().unwrap();
    assert_eq!(d("reported"), 1);
    assert_eq!(d("registered"), 1);
    assert_eq!(d("closed"), 1);
    assert_eq!(d("closed_on_time"), 1);
    assert_eq!(d("reworked"), 1);
    assert_eq!(d("returned"), 1);
    assert_eq!(d("rated"), 1);
    assert_eq!(d("grid_reports"), 1);
    let (_, g) = get(
        &leader,
        format!("{}/api/v1/stats/kpi?grid={grid}", app.base),
    )
    .await;
    assert!(g["counts"]["closed"].as_i64().unwrap() >= 1);
    assert!(g["rates"]["close_rate"].as_f64().is_some());
    let (_, dept) = get(
        &leader,
        format!("{}/api/v1/stats/kpi?department=330502-cgj", app.base),
    )
    .await;
    assert!(dept["counts"]["handled"].as_i64().unwrap() >= 1);
}

async fn bad_input_is_refused_naming_the_field(app: &TestApp) {
    let gw = login(app, "demo-gridworker").await;
    let url = format!("{}/api/v1/cases", app.base);
    let (_, before) = get(
        &login(app, "demo-dispatcher").await,
        format!("{url}?page_size=1"),
    )
    .await;
    let base =
        json!({"category": "C0102", "description": "井盖坏了", "lat": 30.78412, "lon": 120.02352});
    let cases = [
        (json!({"lat": 91.0}), "lat"),
        (json!({"lon": 181.0}), "lon"),
        (json!({"category": "NOPE"}), "category"),
        (json!({"description": ""}), "description"),
        (json!({"description": "   "}), "description"),
        (json!({"description": "长".repeat(4001)}), "description"),
        (json!({"description": "x".repeat(1_000_000)}), "description"),
        (json!({"urgency": "yesterday"}), "urgency"),
        (json!({"channel": "pigeon"}), "channel"),
        (json!({"lat": "north"}), "lat"),
        (json!({"reporter": {"phone": "12"}}), "reporter.phone"),
        // A name is letters and name separators: a remark belongs in the description.
        (
            json!({"reporter": {"name": "王先生（物业）"}}),
            "reporter.name",
        ),
        (
            json!({"reporter": {"name": "张".repeat(51)}}),
            "reporter.name",
        ),
        (json!({"lat": 39.9, "lon": 116.4}), "lat"),
    ];
    for (patch, field) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, e) = post(&gw, url.clone(), body).await;
        assert!(s.is_client_error(), "{field}: {s} {e}");
        assert_eq!(e["error"]["field"], field, "{e}");
        assert!(!e["error"]["message"].as_str().unwrap().is_empty());
    }
    // Missing field, not JSON.
    let (s, e) = post(
        &gw,
        url.clone(),
        json!({"description": "x", "lat": 30.7, "lon": 120.0}),
    )
    .await;
    assert!(s.is_client_error());
    assert_eq!(e["error"]["field"], "category");
    let r = gw
        .post(url.clone())
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["field"], "body");
    // Bodies over the limit are refused before parsing.
    // The server answers 413 as soon as the declared length is over the limit, and may close
    // the connection before the client has finished writing: either outcome is a refusal.
    // A client of its own: the refused connection must not be reused by the next request.
    match Client::new()
        .post(url.clone())
        .header("content-type", "application/json")
        .body(vec![b' '; 3 * 1024 * 1024])
        .send()
        .await
    {
        Ok(r) => assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    // Locate with a bad latitude.
    let (s, e) = get(&gw, format!("{}/api/v1/locate?lat=91&lon=120", app.base)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["field"], "lat");
    // Nothing was written.
    let (_, after) = get(
        &login(app, "demo-dispatcher").await,
        format!("{url}?page_size=1"),
    )
    .await;
    assert_eq!(before["total"], after["total"]);
    // Unknown action and bad score name the field.
    let (_, case) = post(&gw, url.clone(), base.clone()).await;
    let id = case["id"].as_str().unwrap();
    let disp = login(app, "demo-dispatcher").await;
    let (s, e) = act(app, &disp, id, json!({"action": "teleport"})).await;
    assert!(s.is_client_error());
    assert_eq!(e["error"]["field"], "action");
    let (s, e) = act(app, &disp, id, json!({"action": "reject"})).await;
    assert!(s.is_client_error());
    assert_eq!(e["error"]["field"], "note");
    let (s, _) = get(&disp, format!("{}/api/v1/cases/not-a-uuid", app.base)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, e) = get(&disp, format!("{}/api/v1/cases?light=purple", app.base)).await;
    assert!(s.is_client_error());
    assert_eq!(e["error"]["field"], "light");
    // Unauthenticated reads are refused.
    let (s, e) = get(&Client::new(), url.to_string()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(e["error"]["code"], "unauthorized");
    let (s, _) = post(
        &Client::new(),
        format!("{}/api/v1/auth/login", app.base),
        json!({"username": "demo-admin", "password": "wrong"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

async fn two_dispatchers_cannot_both_dispatch(app: &TestApp) {
    let gw = login(app, "demo-gridworker").await;
    let (_, case) = post(&gw, format!("{}/api/v1/cases", app.base), json!({
        "category": "E0201", "description": "小区门口电线杆上贴满了小广告。", "lat": 30.78412, "lon": 120.02352})).await;
    let id = case["id"].as_str().unwrap().to_string();
    let d1 = login(app, "demo-dispatcher").await;
    let d2 = login(app, "demo-dispatcher").await;
    let (s, v) = act(app, &d1, &id, json!({"action": "register"})).await;
    assert_eq!(s, StatusCode::OK);
    let version = v["version"].as_i64().unwrap();
    // Both saw the same version; both dispatch at once.
    let body = |dept: &str| json!({"action": "dispatch", "department": dept, "version": version});
    let (a, b) = tokio::join!(
        act(app, &d1, &id, body("330502-cgj")),
        act(app, &d2, &id, body("330502-jd"))
    );
    let oks = [a.0, b.0].iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(oks, 1, "exactly one dispatch wins: {a:?} {b:?}");
    assert!([a.0, b.0].contains(&StatusCode::CONFLICT));
    // If-Match with a stale version is refused too.
    let r = d1
        .post(format!("{}/api/v1/cases/{id}/actions", app.base))
        .header("If-Match", format!("\"{version}\""))
        .json(&json!({"action": "supervise"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let (_, hist) = get(&d1, format!("{}/api/v1/cases/{id}/history", app.base)).await;
    let dispatches = hist["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "dispatch")
        .count();
    assert_eq!(dispatches, 1);
}

async fn wrong_state_answers_409_with_allowed_actions(app: &TestApp) {
    let gw = login(app, "demo-gridworker").await;
    let (_, case) = post(&gw, format!("{}/api/v1/cases", app.base), json!({
        "category": "E0101", "description": "路边有一堆暴露垃圾没人清理。", "lat": 30.78412, "lon": 120.02352})).await;
    let id = case["id"].as_str().unwrap();
    let disp = login(app, "demo-dispatcher").await;
    let (s, e) = act(app, &disp, id, json!({"action": "close"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(e["error"]["state"], "reported");
    let allowed: Vec<&str> = e["error"]["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(allowed.contains(&"register"));
    assert!(e["error"]["message"].as_str().unwrap().contains("reported"));
    // A role that may not fire the action gets 403.
    let (s, _) = act(app, &gw, id, json!({"action": "register"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Self-handled by the grid worker, then verified and closed.
    let v = act_ok(
        app,
        &gw,
        id,
        json!({"action": "self_handle", "note": "已现场清理。"}),
    )
    .await;
    assert_eq!(v["status"], "handled");
}

async fn public_report_and_tracking(app: &TestApp) {
    let public = Client::new();
    let (s, case) = post(&public, format!("{}/api/v1/cases", app.base), json!({
        "category": "E0601", "description": "楼下饭店每天晚上十点后还在施工，噪声很大。", "lat": 30.78412, "lon": 120.02352,
        "reporter": {"name": "张三丰", "phone": "13812341234"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    assert_eq!(case["channel"], "web");
    assert_eq!(case["reporter"]["phone"], "138****1234");
    let code = case["tracking_code"].as_str().unwrap();
    let (s, t) = get(&public, format!("{}/api/v1/track/{code}", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t["status"], "reported");
    assert!(t.get("reporter").is_none() && t["timeline"].as_array().unwrap().len() == 1);
    let text = t.to_string();
    assert!(!text.contains("13812341234") && !text.contains("张三丰"));
    let disp = login(app, "demo-dispatcher").await;
    let (_, full) = get(
        &disp,
        format!("{}/api/v1/cases/{}", app.base, case["id"].as_str().unwrap()),
    )
    .await;
    // Masked even for the command center until it reveals, with a reason, audited.
    assert_eq!(full["reporter"]["phone"], "138****1234");
    assert_eq!(full["reporter"]["may_reveal"], true);
    let (s, r) = post(
        &disp,
        format!(
            "{}/api/v1/cases/{}/reveal",
            app.base,
            case["id"].as_str().unwrap()
        ),
        json!({"reason": "回访核实处理结果"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["phone"], "13812341234");
    let (s, _) = get(&public, format!("{}/api/v1/track/NOSUCHCODE", app.base)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Address only: accepted and flagged for manual location.
    let (s, c) = post(
        &public,
        format!("{}/api/v1/cases", app.base),
        json!({
        "category": "E0101", "description": "垃圾没人清运", "address": "湖州市吴兴区红旗路12号"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["needs_location"], true);
}

async fn imports_refuse_bad_files_and_write_nothing(app: &TestApp) {
    let admin = login(app, "demo-admin").await;
    let grids_before = app.state.store.grid_count().await.unwrap();
    let open_ring = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "330502001001901", "name": "好网格"},
         "geometry": {"type": "Polygon", "coordinates": [[[120.0, 30.8], [120.001, 30.8], [120.001, 30.801], [120.0, 30.801], [120.0, 30.8]]]}},
        {"type": "Feature", "properties": {"code": "330502001001902", "name": "开口网格"},
         "geometry": {"type": "Polygon", "coordinates": [[[120.0, 30.8], [120.001, 30.8], [120.001, 30.801], [120.0, 30.801]]]}}
    ]});
    let r = admin
        .post(format!("{}/api/v1/admin/import/grids", app.base))
        .json(&open_ring)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["field"], "features[1]", "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("ring"),
        "{e}"
    );
    assert_eq!(app.state.store.grid_count().await.unwrap(), grids_before);
    // Invalid UTF-8 in a division CSV names the line and field.
    let mut csv = b"code,name\n330502001999,\"ok\"\n330502001998,\"".to_vec();
    csv.extend_from_slice(&[0xff, 0xfe]);
    csv.extend_from_slice(b"\"\n");
    let r = admin
        .post(format!("{}/api/v1/admin/import/divisions", app.base))
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["field"], "name");
    assert_eq!(e["error"]["problems"][0]["at"], 3);
    assert!(
        app.state.store.region("330502001999").await.is_err(),
        "nothing of a failed import is written"
    );
    // A non-admin cannot import.
    let disp = login(app, "demo-dispatcher").await;
    let r = disp
        .post(format!("{}/api/v1/admin/import/calendar", app.base))
        .body("date,kind,holiday_en,holiday_zh\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A new year of the calendar loads and keeps the others.
    let cal = "date,kind,holiday_en,holiday_zh\n2027-01-01,holiday,New Year's Day,元旦\n2027-02-06,holiday,Spring Festival,春节\n";
    let r = admin
        .post(format!("{}/api/v1/admin/import/calendar", app.base))
        .body(cal)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let c = app.state.calendar();
    assert!(!c.is_working_day(chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()));
    assert!(!c.is_working_day(chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()));
}

async fn suspension_extension_and_duplicates(app: &TestApp) {
    let gw = login(app, "demo-gridworker").await;
    let disp = login(app, "demo-dispatcher").await;
    let handler = login(app, "demo-handler").await;
    let leader = login(app, "demo-leader").await;
    let new = || json!({"category": "C0102", "description": "井盖缺失", "lat": 30.78412, "lon": 120.02352});
    let (_, a) = post(&gw, format!("{}/api/v1/cases", app.base), new()).await;
    let (_, b) = post(&gw, format!("{}/api/v1/cases", app.base), new()).await;
    let (a, b) = (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    );
    let v = act_ok(app, &disp, &b, json!({"action": "link_duplicate", "of": a})).await;
    assert_eq!(v["status"], "merged");
    assert_eq!(v["duplicate_of"], a);
    act(app, &disp, &a, json!({"action": "register"})).await;
    act(
        app,
        &disp,
        &a,
        json!({"action": "dispatch", "department": "330502-cgj"}),
    )
    .await;
    act(app, &handler, &a, json!({"action": "accept"})).await;
    let (_, v0) = get(&disp, format!("{}/api/v1/cases/{a}", app.base)).await;
    let v = act_ok(
        app,
        &handler,
        &a,
        json!({"action": "request_extension", "note": "需采购配件", "extend_by": "2 working_days"}),
    )
    .await;
    assert_eq!(v["status"], "extension_requested");
    assert_eq!(v["pending_extension"], "2 working_days");
    let v = act_ok(app, &leader, &a, json!({"action": "approve_extension"})).await;
    assert!(
        v["due_at"].as_str().unwrap() > v0["due_at"].as_str().unwrap(),
        "extension moves the deadline"
    );
    let v = act_ok(
        app,
        &disp,
        &a,
        json!({"action": "suspend", "note": "等待燃气公司配合"}),
    )
    .await;
    assert_eq!(v["status"], "suspended");
    let v = act_ok(app, &disp, &a, json!({"action": "resume"})).await;
    assert_eq!(v["status"], "accepted");
    let v = act_ok(
        app,
        &leader,
        &a,
        json!({"action": "supervise", "level": "red", "note": "限期办结"}),
    )
    .await;
    assert_eq!(v["supervision"], "red");
    let v = act_ok(app, &disp, &a, json!({"action": "expedite"})).await;
    assert_eq!(v["urgency"], "urgent");
    let v = act_ok(
        app,
        &leader,
        &a,
        json!({"action": "void", "note": "重复登记"}),
    )
    .await;
    assert_eq!(v["status"], "voided");
}

async fn scopes_hide_other_territory(app: &TestApp) {
    let handler = login(app, "demo-handler").await;
    let (s, list) = get(&handler, format!("{}/api/v1/cases?page_size=100", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    for c in list["items"].as_array().unwrap() {
        assert_eq!(c["department"], "330502-cgj");
    }
    let gw = login(app, "demo-gridworker").await;
    let (_, list) = get(
        &gw,
        format!("{}/api/v1/cases?page_size=100&region=3305", app.base),
    )
    .await;
    let me = &app
        .state
        .store
        .user_by_name("demo-gridworker")
        .await
        .unwrap()
        .grids[0];
    for c in list["items"].as_array().unwrap() {
        assert_eq!(&c["grid_code"], me);
    }
    let leader = login(app, "demo-leader").await;
    let (s, list) = get(
        &leader,
        format!(
            "{}/api/v1/cases?region=330502&status=closed&page_size=5",
            app.base
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(list["total"].as_i64().unwrap() > 0);
    for c in list["items"].as_array().unwrap() {
        assert!(c["region_code"].as_str().unwrap().starts_with("330502"));
        assert_eq!(c["status"], "closed");
    }
    let (_, kpi) = get(
        &leader,
        format!("{}/api/v1/stats/kpi?region=3305&children=true", app.base),
    )
    .await;
    assert_eq!(kpi["children"].as_array().unwrap().len(), 5);
}

async fn deadline_job_marks_overdue_cases(app: &TestApp) {
    // A registered case whose dispatch limit passed an hour ago (time is moved by rewriting the
    // stage clock, as if the case had waited): the job (every second in tests) marks it red once.
    let gw = login(app, "demo-gridworker").await;
    let disp = login(app, "demo-dispatcher").await;
    let (_, case) = post(
        &gw,
        format!("{}/api/v1/cases", app.base),
        json!({
        "category": "E0101", "description": "垃圾堆积发臭。", "lat": 30.78412, "lon": 120.02352}),
    )
    .await;
    let id = case["id"].as_str().unwrap().to_string();
    act(app, &disp, &id, json!({"action": "register"})).await;
    let now = chrono::Utc::now().timestamp_millis();
    let uuid = uuid::Uuid::parse_str(&id).unwrap();
    let sql = "UPDATE cases SET stage_yellow_at = $1, stage_due_at = $2 WHERE id = $3";
    match &app.state.store {
        safegrid_store::Store::Sqlite(p) => {
            sqlx::query(sql)
                .bind(now - 7_200_000)
                .bind(now - 3_600_000)
                .bind(uuid)
                .execute(p)
                .await
                .unwrap();
        }
        safegrid_store::Store::Postgres(p) => {
            sqlx::query(sql)
                .bind(now - 7_200_000)
                .bind(now - 3_600_000)
                .bind(uuid)
                .execute(p)
                .await
                .unwrap();
        }
    }
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let (_, c) = get(&disp, format!("{}/api/v1/cases/{id}", app.base)).await;
        if c["supervision"] == "red" {
            assert_eq!(c["light"], "red");
            assert_eq!(c["overdue"], true);
            // Let the job run a few more times: still one red-card entry.
            tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
            let (_, hist) = get(&disp, format!("{}/api/v1/cases/{id}/history", app.base)).await;
            let autos = hist["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["role"] == "system" && e["data"]["level"] == "red")
                .count();
            assert_eq!(autos, 1, "one red-card entry, not one per run: {hist}");
            let (_, red) = get(
                &disp,
                format!(
                    "{}/api/v1/cases?light=red&open=true&page_size=1000",
                    app.base
                ),
            )
            .await;
            assert!(
                red["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["id"] == id.as_str())
            );
            let jobs = app.state.store.jobs().await.unwrap();
            assert!(jobs.iter().any(|j| j.0 == "deadline_watch" && j.2 > 1));
            return;
        }
    }
    panic!("the deadline job did not mark the overdue case red");
}

/// A streamed export, read in pages of 7 (keyset over creation time and id), holds every case of
/// the list exactly once and in the list's order.
async fn exports_stream_every_case_once(app: &TestApp) {
    let disp = login(app, "demo-dispatcher").await;
    let mut listed: Vec<String> = vec![];
    for page in 1.. {
        let (s, v) = get(
            &disp,
            format!(
                "{}/api/v1/cases?region=330502&page_size=100&page={page}",
                app.base
            ),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let items = v["items"].as_array().unwrap();
        listed.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_string()));
        if items.len() < 100 {
            break;
        }
    }
    assert!(
        listed.len() > 50,
        "enough cases for many pages: {}",
        listed.len()
    );
    let r = disp
        .get(format!(
            "{}/api/v1/cases/export.csv?region=330502",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFnumber,id,"));
    let mut rdr = csv::Reader::from_reader(&bytes[3..]);
    let exported: Vec<String> = rdr
        .records()
        .map(|r| r.unwrap().get(1).unwrap().to_string())
        .collect();
    assert_eq!(exported, listed);
}
