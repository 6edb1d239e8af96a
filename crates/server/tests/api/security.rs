//! Scopes, privacy, audit and hardening, black-box over HTTP (run on SQLite and PostgreSQL):
//! the role × endpoint × in/out-of-scope matrix, IDOR probes, injection payloads, CSRF, lockout,
//! rate limits, reveal and erasure with their audit entries, tokens, and the audit chain.

use crate::helpers::*;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

story!(matrix_walk);
story!(idor_probes);
story!(injection_payloads_are_inert);
story!(malformed_and_oversized_bodies_write_nothing);
story!(csrf_is_required_on_cookie_sessions);
story!(reveal_and_anonymity);
story!(erasure_on_request);
story!(lockout_and_password_policy);
story!(tokens_are_scoped_and_revocable);
story!(disabling_an_account_stops_its_token_at_once);
story!(narrowing_a_scope_ends_sessions);
story!(audit_chain_detects_tampering);
story!(rate_limits, low_limits);

/// Two cases in two counties, and accounts scoped in and out of each.
struct Fixtures {
    /// A case in 吴兴区, in the demo grid worker's grid, dispatched to 吴兴区城管 (330502-cgj).
    wuxing: String,
    wuxing_number: String,
    /// A case in 德清县, dispatched to 德清县城管 (330521-cgj).
    deqing: String,
    deqing_number: String,
}

async fn create_account(app: &TestApp, admin: &Client, body: Value) {
    let (s, v) = post(
        admin,
        format!("{}/api/v1/admin/users", app.base),
        body.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body} → {v}");
}

async fn fixtures(app: &TestApp) -> Fixtures {
    let admin = login(app, "demo-admin").await;
    let gw = login(app, "demo-gridworker").await;
    let disp = login(app, "demo-dispatcher").await;
    let (s, a) = post(&gw, format!("{}/api/v1/cases", app.base), json!({
        "category": "C0101", "description": "井盖松动，车辆经过有响声", "lat": 30.78412, "lon": 120.02352,
        "reporter": {"name": "王小明", "phone": "13900001111"}})).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (s, b) = post(
        &Client::new(),
        format!("{}/api/v1/cases", app.base),
        json!({
        "category": "C0101", "description": "德清县武康街道井盖缺失", "lat": 30.545, "lon": 119.965,
        "reporter": {"name": "李四", "phone": "13700002222"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert!(
        b["region_code"].as_str().unwrap().starts_with("330521"),
        "{b}"
    );
    for (case, dept) in [(&a, "330502-cgj"), (&b, "330521-cgj")] {
        let id = case["id"].as_str().unwrap();
        act_ok(app, &disp, id, json!({"action": "register"})).await;
        act_ok(
            app,
            &disp,
            id,
            json!({"action": "dispatch", "department": dept}),
        )
        .await;
    }
    let pw = "Zq9!long-enough-pass";
    create_account(app, &admin, json!({"username": "leader-deqing", "role": "leader", "regions": ["330521"], "password": pw})).await;
    create_account(app, &admin, json!({"username": "handler-deqing", "role": "handler", "department": "330521-cgj", "password": pw})).await;
    create_account(app, &admin, json!({"username": "dispatcher-deqing", "role": "dispatcher", "regions": ["330521"], "password": pw})).await;
    Fixtures {
        wuxing: a["id"].as_str().unwrap().into(),
        wuxing_number: a["number"].as_str().unwrap().into(),
        deqing: b["id"].as_str().unwrap().into(),
        deqing_number: b["number"].as_str().unwrap().into(),
    }
}

async fn login_any(app: &TestApp, user: &str) -> Client {
    match login_with(app, user, PASSWORD).await {
        Ok(c) => c,
        Err(_) => login_with(app, user, "Zq9!long-enough-pass")
            .await
            .expect("login"),
    }
}

async fn get_text(c: &Client, url: String) -> (StatusCode, String) {
    let r = c.get(url).send().await.expect("GET");
    (r.status(), r.text().await.unwrap_or_default())
}

/// Every account × every case-bearing endpoint × the case in and out of its scope.
async fn matrix_walk(app: &TestApp) {
    let fx = &fixtures(app).await;
    // (account, sees 吴兴 case, sees 德清 case, may export, may read stats, is admin)
    let accounts: [(&str, bool, bool, bool, bool, bool); 9] = [
        ("demo-admin", true, true, true, true, true),
        ("demo-dispatcher", true, true, true, true, false),
        ("demo-leader", true, true, true, true, false),
        ("demo-mediator", true, true, false, true, false),
        ("demo-gridworker", true, false, false, true, false),
        ("demo-handler", true, false, false, true, false),
        ("demo-citizen", false, false, false, false, false),
        ("leader-deqing", false, true, true, true, false),
        ("handler-deqing", false, true, false, true, false),
    ];
    for (user, sees_wx, sees_dq, exports, stats, admin) in accounts {
        let c = login_any(app, user).await;
        for (id, number, sees) in [
            (&fx.wuxing, &fx.wuxing_number, sees_wx),
            (&fx.deqing, &fx.deqing_number, sees_dq),
        ] {
            let want = if sees {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            let (s, v) = get(&c, format!("{}/api/v1/cases/{id}", app.base)).await;
            assert_eq!(s, want, "{user} GET case {number}: {v}");
            let (s, _) = get(&c, format!("{}/api/v1/cases/{id}/history", app.base)).await;
            assert_eq!(s, want, "{user} GET history {number}");
            // Out of scope, an action answers 404 whatever it is; in scope, never 404.
            let (s, v) = act(
                app,
                &c,
                id,
                json!({"action": "supervise", "note": "请加快办理", "level": "yellow"}),
            )
            .await;
            if sees {
                assert_ne!(s, StatusCode::NOT_FOUND, "{user} act on {number}: {v}");
            } else {
                assert_eq!(s, StatusCode::NOT_FOUND, "{user} act on {number}: {v}");
            }
            let (s, v) = post(
                &c,
                format!("{}/api/v1/cases/{id}/reveal", app.base),
                json!({"reason": "回访核实处理结果"}),
            )
            .await;
            let may_reveal = matches!(
                user,
                "demo-dispatcher" | "demo-handler" | "handler-deqing" | "dispatcher-deqing"
            );
            let want = if !may_reveal {
                StatusCode::FORBIDDEN
            } else if sees {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(s, want, "{user} reveal {number}: {v}");
            // Lists and search show exactly the cases in scope.
            let (s, l) = get(&c, format!("{}/api/v1/cases?q={number}", app.base)).await;
            assert_eq!(s, StatusCode::OK, "{user} list: {l}");
            let listed = l["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["number"] == number.as_str());
            assert_eq!(listed, sees, "{user} list shows {number}");
            // Exports: the capability, then the scope.
            let (s, csv) = get_text(
                &c,
                format!("{}/api/v1/cases/export.csv?q={number}", app.base),
            )
            .await;
            if exports {
                assert_eq!(s, StatusCode::OK, "{user} export: {csv}");
                assert_eq!(
                    csv.contains(number.as_str()),
                    sees,
                    "{user} export shows {number}"
                );
                assert!(
                    !csv.contains("1390000") && !csv.contains("1370000"),
                    "no phones in exports"
                );
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{user} export");
            }
        }
        // KPIs: the capability, then the node's scope (404 outside).
        for (region, sees) in [("330502", sees_wx), ("330521", sees_dq)] {
            let (s, v) = get(&c, format!("{}/api/v1/stats/kpi?region={region}", app.base)).await;
            let want = if !stats {
                StatusCode::FORBIDDEN
            } else if user.starts_with("demo-handler")
                || user == "handler-deqing"
                || user == "demo-gridworker"
            {
                // Handlers and grid workers read their department or grid, not whole regions.
                StatusCode::NOT_FOUND
            } else if sees {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(s, want, "{user} kpi {region}: {v}");
        }
        for (dept, mine) in [
            ("330502-cgj", user == "demo-handler"),
            ("330521-cgj", user == "handler-deqing"),
        ] {
            if user.contains("handler") {
                let (s, _) = get(
                    &c,
                    format!("{}/api/v1/stats/kpi?department={dept}", app.base),
                )
                .await;
                assert_eq!(
                    s,
                    if mine {
                        StatusCode::OK
                    } else {
                        StatusCode::NOT_FOUND
                    },
                    "{user} kpi {dept}"
                );
            }
        }
        // Administration: administrators only, everyone else 403.
        let want = if admin {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        for path in [
            "/api/v1/admin/users",
            "/api/v1/admin/audit",
            "/api/v1/admin/audit/verify",
            "/api/v1/admin/tokens",
        ] {
            let (s, _) = get(&c, format!("{}{path}", app.base)).await;
            assert_eq!(s, want, "{user} GET {path}");
        }
        if !admin {
            let (s, _) = post(
                &c,
                format!("{}/api/v1/admin/import/calendar", app.base),
                json!({}),
            )
            .await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{user} import");
            let (s, _) = post(
                &c,
                format!("{}/api/v1/admin/users", app.base),
                json!({"username": "x", "role": "admin", "password": "Zq9!long-enough-pass"}),
            )
            .await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{user} create account");
        }
    }
}

async fn idor_probes(app: &TestApp) {
    let fx = &fixtures(app).await;
    let h = login_any(app, "handler-deqing").await;
    let random = uuid::Uuid::now_v7();
    for path in [
        format!("/api/v1/cases/{random}"),
        format!("/api/v1/cases/{random}/history"),
        format!("/api/v1/cases/{}", fx.wuxing),
        format!("/api/v1/cases/{}/history", fx.wuxing),
        "/api/v1/cases/1%20OR%201=1".to_string(),
        "/api/v1/track/AAAAAAAAAA".to_string(),
    ] {
        let (s, v) = get(&h, format!("{}{path}", app.base)).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
        // The answer for a real out-of-scope id is the answer for a made-up one.
        assert_eq!(v["error"]["code"], "not_found");
    }
    for (path, body) in [
        (
            format!("/api/v1/cases/{}/actions", fx.wuxing),
            json!({"action": "accept"}),
        ),
        (
            format!("/api/v1/cases/{random}/actions",),
            json!({"action": "accept"}),
        ),
        (
            format!("/api/v1/cases/{}/reveal", fx.wuxing),
            json!({"reason": "想看看是谁举报的"}),
        ),
    ] {
        let (s, v) = post(&h, format!("{}{path}", app.base), body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    // Erasure by case id is scoped too.
    let d = login_any(app, "dispatcher-deqing").await;
    let (s, v) = post(
        &d,
        format!("{}/api/v1/privacy/erasures", app.base),
        json!({"case_id": fx.wuxing, "reason": "居民申请删除"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    // Account ids: non-admins cannot probe or change accounts.
    let admin = login(app, "demo-admin").await;
    let (_, users) = get(&admin, format!("{}/api/v1/admin/users", app.base)).await;
    let some_id = users["items"][0]["id"].as_str().unwrap().to_string();
    let r = h
        .patch(format!("{}/api/v1/admin/users/{some_id}", app.base))
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = admin
        .patch(format!("{}/api/v1/admin/users/{random}", app.base))
        .json(&json!({"display_name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (s, _) = post(
        &h,
        format!("{}/api/v1/admin/tokens/{random}/revoke", app.base),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

const PAYLOADS: [&str; 6] = [
    "'); DROP TABLE cases; --",
    "\" OR \"1\"=\"1",
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "=HYPERLINK(\"http://evil.example\",\"点我\")",
    "%_\\ 100% 的_下划线",
];

async fn injection_payloads_are_inert(app: &TestApp) {
    let disp = login(app, "demo-dispatcher").await;
    let public = Client::new();
    let before = app.state.store.case_count().await.unwrap();
    for p in PAYLOADS {
        let desc = format!("路灯不亮 {p}");
        let (s, c) = post(&public, format!("{}/api/v1/cases", app.base), json!({
            "category": "C0101", "description": desc, "address": p, "lat": 30.78412, "lon": 120.02352,
            "reporter": {"name": "赵六"}})).await;
        assert_eq!(s, StatusCode::CREATED, "{p}: {c}");
        // Stored and answered exactly as given (JSON escapes it; pages escape it as HTML).
        let id = c["id"].as_str().unwrap();
        let (_, back) = get(&disp, format!("{}/api/v1/cases/{id}", app.base)).await;
        assert_eq!(back["description"], desc.as_str());
        assert_eq!(back["address"], p);
        let (s, v) = act(app, &disp, id, json!({"action": "register", "note": p})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (_, h) = get(&disp, format!("{}/api/v1/cases/{id}/history", app.base)).await;
        assert!(
            h["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["note"] == p)
        );
        // As search text and filters: matched literally, never as SQL.
        let q: String = url_escape(p);
        let (s, l) = get(
            &disp,
            format!("{}/api/v1/cases?q={q}&page_size=1000", app.base),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{l}");
        assert!(
            l["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["description"].as_str().unwrap().contains(p)
                    || x["address"].as_str().is_some_and(|a| a.contains(p))
                    || x["number"].as_str().unwrap().contains(p)),
            "search for {p} matched literally"
        );
        let (s, l) = get(&disp, format!("{}/api/v1/cases?status={q}", app.base)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(l["total"], 0);
        let (s, _) = get(&disp, format!("{}/api/v1/cases?category={q}", app.base)).await;
        assert!(s == StatusCode::OK || s.is_client_error());
        let (s, v) = post(
            &Client::new(),
            format!("{}/api/v1/auth/login", app.base),
            json!({"username": p, "password": p}),
        )
        .await;
        assert!(
            s == StatusCode::UNAUTHORIZED || s == StatusCode::UNPROCESSABLE_ENTITY,
            "{v}"
        );
    }
    let after = app.state.store.case_count().await.unwrap();
    assert_eq!(
        after,
        before + PAYLOADS.len() as i64,
        "the cases table is intact"
    );
    // The formula payload is neutralised in exports.
    let r = disp
        .get(format!("{}/api/v1/cases/export.csv?q=HYPERLINK", app.base))
        .send()
        .await
        .unwrap();
    let bytes = r.bytes().await.unwrap();
    // Excel on Chinese Windows reads UTF-8 only after a byte-order mark.
    assert!(bytes.starts_with(b"\xEF\xBB\xBFnumber,id,"), "{bytes:?}");
    let csv = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(
        csv.contains("'=HYPERLINK") || csv.contains("路灯不亮 =HYPERLINK"),
        "{csv}"
    );
    assert!(
        !csv.lines()
            .any(|l| l.split(',').any(|cell| cell.starts_with('='))),
        "{csv}"
    );
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn malformed_and_oversized_bodies_write_nothing(app: &TestApp) {
    let c = Client::new();
    let before = app.state.store.case_count().await.unwrap();
    let url = format!("{}/api/v1/cases", app.base);
    let r = c
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"category\": \"C0101\", ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c
        .post(&url)
        .header("content-type", "application/json")
        .body("[1,2,3]")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let r = c
        .post(&url)
        .header("content-type", "application/json")
        .body(vec![0xffu8, 0xfe, 0x00])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    let (s, v) = post(&c, url.clone(), json!({"category": "C0101", "description": "长".repeat(4001), "lat": 30.78412, "lon": 120.02352})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["field"], "description");
    let (s, v) = post(&c, url.clone(), json!({"category": "C0101", "description": "x", "lat": 30.78412, "lon": 120.02352, "extra": 1})).await;
    assert!(s.is_client_error(), "{v}");
    let big = "x".repeat(3 * 1024 * 1024);
    // The server may also close the connection before reading it all: a refusal too.
    if let Ok(r) = Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .body(format!("{{\"description\": \"{big}\"}}"))
        .send()
        .await
    {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    assert_eq!(
        app.state.store.case_count().await.unwrap(),
        before,
        "nothing written"
    );
}

async fn csrf_is_required_on_cookie_sessions(app: &TestApp) {
    let fx = &fixtures(app).await;
    let forged = login_without_csrf(app, "demo-dispatcher").await;
    let (s, v) = act(
        app,
        &forged,
        &fx.wuxing,
        json!({"action": "supervise", "note": "x", "level": "yellow"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"]["code"], "csrf");
    let r = forged
        .post(format!("{}/api/v1/cases/{}/actions", app.base, fx.wuxing))
        .header("x-csrf-token", "0123456789abcdef0123456789abcdef")
        .json(&json!({"action": "supervise", "note": "x", "level": "yellow"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Reads need no token; the token from /auth/me works.
    let (s, me) = get(&forged, format!("{}/api/v1/auth/me", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    let tok = me["csrf_token"].as_str().unwrap();
    let r = forged
        .post(format!("{}/api/v1/cases/{}/reveal", app.base, fx.wuxing))
        .header("x-csrf-token", tok)
        .json(&json!({"reason": "回访核实处理结果"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Security headers on every answer.
    let r = forged
        .get(format!("{}/api/v1/auth/me", app.base))
        .send()
        .await
        .unwrap();
    let h = r.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert!(
        !h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("unsafe-inline")
    );
}

async fn reveal_and_anonymity(app: &TestApp) {
    let fx = &fixtures(app).await;
    let handler = login(app, "demo-handler").await;
    let (_, c) = get(&handler, format!("{}/api/v1/cases/{}", app.base, fx.wuxing)).await;
    assert_eq!(c["reporter"]["name"], "王**");
    assert_eq!(c["reporter"]["phone"], "139****1111");
    let (s, r) = post(
        &handler,
        format!("{}/api/v1/cases/{}/reveal", app.base, fx.wuxing),
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is required: {r}"
    );
    assert_eq!(r["error"]["field"], "reason");
    let (s, r) = post(
        &handler,
        format!("{}/api/v1/cases/{}/reveal", app.base, fx.wuxing),
        json!({"reason": "需电话联系反映人确认位置"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["phone"], "13900001111");
    let admin = login(app, "demo-admin").await;
    let (_, a) = get(
        &admin,
        format!(
            "{}/api/v1/admin/audit?action=privacy.reveal&target_id={}",
            app.base, fx.wuxing_number
        ),
    )
    .await;
    let items = a["items"].as_array().unwrap();
    assert!(
        items.iter().any(|e| e["actor"] == "demo-handler"
            && e["detail"]["reason"] == "需电话联系反映人确认位置"
            && e["ip"] == "127.0.0.1"),
        "{a}"
    );
    // An anonymous report: the handling department sees no contact at all and may not reveal it.
    let disp = login(app, "demo-dispatcher").await;
    let (s, c) = post(
        &Client::new(),
        format!("{}/api/v1/cases", app.base),
        json!({
        "category": "C0101", "description": "匿名反映：井盖被盗", "lat": 30.78412, "lon": 120.02352,
        "reporter": {"name": "钱七", "phone": "13600003333", "anonymous": true}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = c["id"].as_str().unwrap();
    assert!(c["reporter"]["name"].is_null(), "{c}");
    act_ok(app, &disp, id, json!({"action": "register"})).await;
    act_ok(
        app,
        &disp,
        id,
        json!({"action": "dispatch", "department": "330502-cgj"}),
    )
    .await;
    let (_, seen) = get(&handler, format!("{}/api/v1/cases/{id}", app.base)).await;
    assert!(
        seen["reporter"]["name"].is_null() && seen["reporter"]["phone"].is_null(),
        "{seen}"
    );
    assert!(!seen.to_string().contains("钱") && !seen.to_string().contains("3333"));
    let (s, _) = post(
        &handler,
        format!("{}/api/v1/cases/{id}/reveal", app.base),
        json!({"reason": "需电话联系反映人确认位置"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, r) = post(
        &disp,
        format!("{}/api/v1/cases/{id}/reveal", app.base),
        json!({"reason": "回访反映人核实情况"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["name"], "钱七");
}

async fn erasure_on_request(app: &TestApp) {
    // The fixtures' 吴兴区 case is the one erased by phone below.
    fixtures(app).await;
    let (s, c) = post(
        &Client::new(),
        format!("{}/api/v1/cases", app.base),
        json!({
        "category": "C0101", "description": "路面塌陷", "lat": 30.78412, "lon": 120.02352,
        "reporter": {"name": "孙八", "phone": "13500004444"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let code = c["tracking_code"].as_str().unwrap();
    let (s, r) = post(
        &Client::new(),
        format!("{}/api/v1/track/{code}/erase", app.base),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["erased"], 1);
    let disp = login(app, "demo-dispatcher").await;
    let (_, after) = get(
        &disp,
        format!("{}/api/v1/cases/{}", app.base, c["id"].as_str().unwrap()),
    )
    .await;
    assert!(after["reporter"].is_null(), "{after}");
    // By phone, across cases: administrators only.
    let (s, _) = post(
        &disp,
        format!("{}/api/v1/privacy/erasures", app.base),
        json!({"phone": "13900001111", "reason": "居民书面申请删除"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let admin = login(app, "demo-admin").await;
    let (s, r) = post(
        &admin,
        format!("{}/api/v1/privacy/erasures", app.base),
        json!({"phone": "13900001111", "reason": "居民书面申请删除"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(r["erased"].as_i64().unwrap() >= 1);
    let (s, r) = post(
        &admin,
        format!("{}/api/v1/privacy/erasures", app.base),
        json!({"phone": "12345", "reason": "居民书面申请删除"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r["error"]["field"], "phone");
    let (_, a) = get(
        &admin,
        format!("{}/api/v1/admin/audit?action=privacy.erase", app.base),
    )
    .await;
    assert!(a["total"].as_i64().unwrap() >= 2, "{a}");
}

async fn lockout_and_password_policy(app: &TestApp) {
    let admin = login(app, "demo-admin").await;
    for (pw, why) in [
        ("short1!", "at least 10"),
        ("1234567890", "common"),
        ("qwertyuiop", "common"),
        ("lockme-user-2026", "username"),
    ] {
        let (s, v) = post(
            &admin,
            format!("{}/api/v1/admin/users", app.base),
            json!({"username": "lockme-user", "role": "leader", "password": pw}),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{pw}: {v}");
        assert_eq!(v["error"]["field"], "password");
        assert!(v["error"]["message"].as_str().unwrap().contains(why), "{v}");
    }
    let pw = "Zq9!long-enough-pass";
    create_account(
        app,
        &admin,
        json!({"username": "lockme", "role": "leader", "regions": ["330502"], "password": pw}),
    )
    .await;
    for _ in 0..5 {
        let e = login_with(app, "lockme", "wrong-password-123")
            .await
            .err()
            .unwrap();
        assert_eq!(e.0, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password is refused for 15 minutes.
    let e = login_with(app, "lockme", pw).await.err().unwrap();
    assert_eq!(e.0, StatusCode::TOO_MANY_REQUESTS, "{:?}", e.1);
    assert_eq!(e.1["error"]["code"], "account_locked");
    assert!(e.1["error"]["retry_after_seconds"].as_i64().unwrap() > 800);
    let (_, a) = get(
        &admin,
        format!("{}/api/v1/admin/audit?action=auth.&actor=lockme", app.base),
    )
    .await;
    let actions: Vec<&str> = a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "auth.login_failed")
            .count(),
        6,
        "{actions:?}"
    );
    assert!(actions.contains(&"auth.locked"));
}

async fn tokens_are_scoped_and_revocable(app: &TestApp) {
    let u = app
        .state
        .store
        .user_by_name("demo-dispatcher")
        .await
        .unwrap();
    let ro = "sgt_test_read_only_token_0000000000";
    let info = app
        .state
        .store
        .create_token_scoped(
            u.id,
            "ro",
            &safegrid::app::auth::hash_secret(ro),
            None,
            "read",
        )
        .await
        .unwrap();
    let c = Client::new();
    let r = c
        .get(format!("{}/api/v1/cases?page_size=1", app.base))
        .bearer_auth(ro)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c
        .post(format!("{}/api/v1/cases", app.base))
        .bearer_auth(ro)
        .json(&json!({"category": "C0101", "description": "x", "lat": 30.78412, "lon": 120.02352}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let admin = login(app, "demo-admin").await;
    let (s, _) = post(
        &admin,
        format!("{}/api/v1/admin/tokens/{}/revoke", app.base, info.id),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let r = c
        .get(format!("{}/api/v1/cases?page_size=1", app.base))
        .bearer_auth(ro)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (_, toks) = get(&admin, format!("{}/api/v1/admin/tokens", app.base)).await;
    assert!(!toks.to_string().contains(ro), "secrets never listed");
}

/// The server keeps a checked token for a second; disabling its account must not wait for that.
async fn disabling_an_account_stops_its_token_at_once(app: &TestApp) {
    let u = app
        .state
        .store
        .create_user(&safegrid_store::NewUser {
            username: "hotline-integration".into(),
            display_name: "12345 热线接口".into(),
            password_hash: "!".into(),
            role: safegrid_domain::Role::Dispatcher,
            department: None,
            regions: vec![],
            grids: vec![],
        })
        .await
        .unwrap();
    let secret = "sgt_test_hotline_integration_000000";
    app.state
        .store
        .create_token(
            u.id,
            "hotline",
            &safegrid::app::auth::hash_secret(secret),
            None,
        )
        .await
        .unwrap();
    let c = Client::new();
    let me = || {
        c.get(format!("{}/api/v1/auth/me", app.base))
            .bearer_auth(secret)
            .send()
    };
    // Twice: the second answer comes from the server's memory of the token.
    for _ in 0..2 {
        assert_eq!(me().await.unwrap().status(), StatusCode::OK);
    }
    let admin = login(app, "demo-admin").await;
    let r = admin
        .patch(format!("{}/api/v1/admin/users/{}", app.base, u.id))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        me().await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "a disabled account's token stops at once, not after the cache's second"
    );
}

async fn narrowing_a_scope_ends_sessions(app: &TestApp) {
    fixtures(app).await;
    let leader = login_any(app, "leader-deqing").await;
    let (s, _) = get(&leader, format!("{}/api/v1/auth/me", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    let admin = login(app, "demo-admin").await;
    let (_, users) = get(&admin, format!("{}/api/v1/admin/users", app.base)).await;
    let id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "leader-deqing")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = admin
        .patch(format!("{}/api/v1/admin/users/{id}", app.base))
        .json(&json!({"regions": ["330521001"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (s, _) = get(&leader, format!("{}/api/v1/auth/me", app.base)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old session ended");
    let r = admin
        .patch(format!("{}/api/v1/admin/users/{id}", app.base))
        .json(&json!({"regions": ["33052"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, a) = get(
        &admin,
        format!(
            "{}/api/v1/admin/audit?action=account.update&target_id=leader-deqing",
            app.base
        ),
    )
    .await;
    assert_eq!(a["total"], 1, "{a}");
}

async fn audit_chain_detects_tampering(app: &TestApp) {
    // A reveal's audit entry to tamper with.
    let fx = fixtures(app).await;
    let (s, r) = post(
        &login(app, "demo-handler").await,
        format!("{}/api/v1/cases/{}/reveal", app.base, fx.wuxing),
        json!({"reason": "需电话联系反映人确认位置"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let admin = login(app, "demo-admin").await;
    let (s, v) = get(&admin, format!("{}/api/v1/admin/audit/verify", app.base)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["intact"], true, "{v}");
    let (_, a) = get(
        &admin,
        format!("{}/api/v1/admin/audit?action=privacy.reveal", app.base),
    )
    .await;
    let seq = a["items"][0]["seq"].as_i64().unwrap();
    let sql = format!(
        "UPDATE audit_log SET detail = '{{\"reason\":\"nothing to see\"}}' WHERE seq = {seq}"
    );
    match &app.state.store {
        safegrid_store::Store::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(p)
            .await
            .map(|_| ()),
        safegrid_store::Store::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(p)
            .await
            .map(|_| ()),
    }
    .unwrap();
    let (_, v) = get(&admin, format!("{}/api/v1/admin/audit/verify", app.base)).await;
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["broken_at"], seq);
}

/// Rate limits need an app of their own with low limits.
async fn rate_limits(app: &TestApp) {
    let c = Client::new();
    let mut codes = vec![];
    for _ in 0..4 {
        let r = c.post(format!("{}/api/v1/cases", app.base))
            .json(&json!({"category": "C0101", "description": "限流测试", "lat": 30.78412, "lon": 120.02352}))
            .send().await.unwrap();
        codes.push((
            r.status(),
            r.headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string()),
        ));
    }
    assert_eq!(codes[0].0, StatusCode::CREATED);
    assert_eq!(codes[3].0, StatusCode::TOO_MANY_REQUESTS, "{codes:?}");
    assert!(
        codes[3]
            .1
            .as_deref()
            .is_some_and(|s| s.parse::<u64>().unwrap() >= 1)
    );
    let mut last = StatusCode::OK;
    for _ in 0..4 {
        let r = c
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&json!({"username": "demo-admin", "password": "wrong-password-x"}))
            .send()
            .await
            .unwrap();
        last = r.status();
        if last == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
            break;
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}
