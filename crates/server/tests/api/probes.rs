//! The probes of the attacker's-eye review (issue "Holes found by probing as an attacker would"),
//! kept as tests on both databases: accounts of every kind scoped to 德清县 (330521) against
//! objects in 吴兴区 (330502); a scoped administrator widening itself; the web login and the
//! lockout; staff acting as residents through the tracking code; cross-county references in
//! actions; statistics outside the scope; login CSRF; open redirects; account enumeration.

use crate::helpers::*;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

const PW: &str = "Zq9!long-enough-pass";
/// 德清县武康街道 and the demo grid worker's grid in 吴兴区.
const DEQING: (f64, f64) = (30.545, 119.965);
const WUXING: (f64, f64) = (30.78412, 120.02352);

story!(a_scoped_administrator_stays_in_its_scope);
story!(an_empty_scope_is_nothing_but_for_the_root);
story!(the_web_login_shares_the_lockout_and_the_audit);
story!(unknown_accounts_answer_and_cost_the_same);
story!(staff_do_not_act_as_residents);
story!(actions_name_only_what_is_in_scope);
story!(statistics_stay_in_scope);
story!(login_from_another_site_is_refused);
story!(redirects_stay_on_this_site);
story!(searching_by_a_phone_number_is_a_look_up_of_a_person);
story!(tracking_lookups_are_limited, low_limits);

/// The accounts scoped to 德清县 that the probes log in as (password [`PW`]).
async fn accounts(app: &TestApp) {
    let root = login(app, "demo-admin").await;
    for (name, role, scope) in [
        ("p-admin-dq", "admin", json!({"regions": ["330521"]})),
        ("p-disp-dq", "dispatcher", json!({"regions": ["330521"]})),
        ("p-leader-dq", "leader", json!({"regions": ["330521"]})),
        (
            "p-gridleader-dq",
            "grid_leader",
            json!({"grids": ["330521001001001"]}),
        ),
    ] {
        let mut body = json!({"username": name, "role": role, "password": PW});
        for (k, v) in scope.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, v) = post(&root, format!("{}/api/v1/admin/users", app.base), body).await;
        assert_eq!(s, StatusCode::CREATED, "{name}: {v}");
    }
}

async fn client(app: &TestApp, user: &str) -> Client {
    login_with(app, user, PW).await.expect("login")
}

async fn a_scoped_administrator_stays_in_its_scope(app: &TestApp) {
    accounts(app).await;
    let b = &app.base;
    let admin = client(app, "p-admin-dq").await;
    let me = app.state.store.user_by_name("p-admin-dq").await.unwrap();
    // Widening its own scope, to everything or to the city: refused, nothing changes.
    for regions in [json!([]), json!(["3305"]), json!(["330502"])] {
        let r = admin
            .patch(format!("{b}/api/v1/admin/users/{}", me.id))
            .json(&json!({ "regions": regions }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{regions}");
    }
    let r = admin
        .patch(format!("{b}/api/v1/admin/users/{}", me.id))
        .json(&json!({ "grids": ["330502001001001"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.state.store.user(me.id).await.unwrap().regions,
        vec!["330521000000".to_string()]
    );
    // Accounts of another county or the city: neither listed nor changeable (404 as missing).
    let (s, users) = get(&admin, format!("{b}/api/v1/admin/users")).await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"p-admin-dq") && names.contains(&"p-disp-dq"),
        "{names:?}"
    );
    for other in [
        "demo-admin",
        "demo-dispatcher",
        "demo-handler",
        "demo-gridworker",
    ] {
        assert!(!names.contains(&other), "{other} listed: {names:?}");
    }
    let city = app
        .state
        .store
        .user_by_name("demo-dispatcher")
        .await
        .unwrap();
    let r = admin
        .patch(format!("{b}/api/v1/admin/users/{}", city.id))
        .json(&json!({ "regions": ["330521"] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Creating accounts beyond its county: refused with the field named; within it: fine.
    for (body, field) in [
        (
            json!({"username": "p-x1", "role": "leader", "regions": ["330502"], "password": PW}),
            "regions",
        ),
        (
            json!({"username": "p-x2", "role": "admin", "regions": [], "password": PW}),
            "regions",
        ),
        (
            json!({"username": "p-x3", "role": "handler", "department": "330502-cgj", "password": PW}),
            "department",
        ),
        (
            json!({"username": "p-x4", "role": "grid_worker", "grids": ["330502001001001"], "password": PW}),
            "grids",
        ),
    ] {
        let (s, e) = post(&admin, format!("{b}/api/v1/admin/users"), body.clone()).await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (StatusCode::FORBIDDEN, Some(field)),
            "{body} → {e}"
        );
        let name = body["username"].as_str().unwrap();
        assert!(
            app.state.store.user_by_name(name).await.is_err(),
            "{name} was created"
        );
    }
    let (s, v) = post(
        &admin,
        format!("{b}/api/v1/admin/users"),
        json!({"username": "p-handler-dq", "role": "handler", "department": "330521-cgj", "password": PW}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Tokens of other counties' accounts: not listed, not revocable.
    let city_token = app
        .state
        .store
        .create_token(city.id, "city-feed", "probe-token-hash", None)
        .await
        .unwrap();
    let (_, toks) = get(&admin, format!("{b}/api/v1/admin/tokens")).await;
    assert!(!toks.to_string().contains("city-feed"), "{toks}");
    let (s, _) = post(
        &admin,
        format!("{b}/api/v1/admin/tokens/{}/revoke", city_token.id),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The audit trail: its own accounts' entries only (no city-wide reveals and logins).
    let (s, audit) = get(&admin, format!("{b}/api/v1/admin/audit?page_size=1000")).await;
    assert_eq!(s, StatusCode::OK);
    let items = audit["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for e in items {
        let actor = e["actor"].as_str().unwrap();
        assert!(actor.starts_with("p-") && actor.ends_with("-dq"), "{e}");
    }
    // Deployment-wide data is the root's.
    let (s, _) = post(
        &admin,
        format!("{b}/api/v1/admin/import/calendar"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The root sees everyone.
    let (_, all) = get(
        &login(app, "demo-admin").await,
        format!("{b}/api/v1/admin/users"),
    )
    .await;
    assert!(all.to_string().contains("demo-dispatcher"));
}

async fn an_empty_scope_is_nothing_but_for_the_root(app: &TestApp) {
    accounts(app).await;
    let b = &app.base;
    let root = login(app, "demo-admin").await;
    // The root may create a region-scoped account with no region; it then covers nothing.
    let (s, v) = post(
        &root,
        format!("{b}/api/v1/admin/users"),
        json!({"username": "p-leader-none", "role": "leader", "password": PW}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let leader = client(app, "p-leader-none").await;
    let (s, list) = get(&leader, format!("{b}/api/v1/cases?page_size=5")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["total"], 0, "{list}");
    for url in [
        "/api/v1/stats/kpi",
        "/api/v1/stats/disputes",
        "/api/v1/stats/petitions",
        "/api/v1/stats/disputes?region=330502",
    ] {
        let (s, _) = get(&leader, format!("{b}{url}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{url}");
    }
}

/// One web login attempt; the answer's status and whether it set a session cookie.
async fn web_login_attempt(app: &TestApp, user: &str, password: &str) -> (StatusCode, bool) {
    let (_, r) = web_login_form(app, user, password).await;
    let session = r.headers().get_all("set-cookie").iter().any(|v| {
        v.to_str().unwrap().starts_with("safegrid_session=")
            && !v.to_str().unwrap().contains("Max-Age=0")
    });
    (r.status(), session)
}

async fn audit_count(app: &TestApp, actor: &str, action: &str) -> usize {
    let (rows, _) = app
        .state
        .store
        .audit_search(&safegrid_store::AuditFilter {
            actor: Some(actor.into()),
            action: Some(action.into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    rows.len()
}

async fn the_web_login_shares_the_lockout_and_the_audit(app: &TestApp) {
    accounts(app).await;
    let b = &app.base;
    let root = login(app, "demo-admin").await;
    for name in ["p-lock-api", "p-lock-web"] {
        let (s, v) = post(
            &root,
            format!("{b}/api/v1/admin/users"),
            json!({"username": name, "role": "leader", "regions": ["330521"], "password": PW}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // Locked through the API: the web form refuses the right password too.
    for _ in 0..5 {
        let e = login_with(app, "p-lock-api", "wrong-password-1")
            .await
            .err()
            .unwrap();
        assert_eq!(e.0, StatusCode::UNAUTHORIZED);
    }
    let (s, session) = web_login_attempt(app, "p-lock-api", PW).await;
    assert!(
        !session && s != StatusCode::SEE_OTHER,
        "a locked account logged in on the web: {s}"
    );
    // Failed web logins are counted and audited, and lock the API as well.
    for _ in 0..5 {
        let (s, session) = web_login_attempt(app, "p-lock-web", "wrong-password-1").await;
        assert_eq!((s, session), (StatusCode::UNAUTHORIZED, false));
    }
    assert_eq!(audit_count(app, "p-lock-web", "auth.login_failed").await, 5);
    assert_eq!(audit_count(app, "p-lock-web", "auth.locked").await, 1);
    let (s, e) = login_with(app, "p-lock-web", PW).await.err().unwrap();
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("account_locked"))
    );
    // A successful web login is audited as one.
    let (s, session) = web_login_attempt(app, "p-leader-dq", PW).await;
    assert_eq!((s, session), (StatusCode::SEE_OTHER, true));
    assert!(audit_count(app, "p-leader-dq", "auth.login").await >= 1);
}

async fn unknown_accounts_answer_and_cost_the_same(app: &TestApp) {
    accounts(app).await;
    let root = login(app, "demo-admin").await;
    let (s, _) = post(
        &root,
        format!("{}/api/v1/admin/users", app.base),
        json!({"username": "p-enum-real", "role": "leader", "regions": ["330521"], "password": PW}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let checks = || app.state.logins.checks.load(Ordering::SeqCst);
    let mut answers = vec![];
    for name in ["p-enum-real", "p-enum-nobody"] {
        let mut seen = vec![];
        for attempt in 0..7 {
            let before = checks();
            let (s, e) = login_with(app, name, "wrong-password-1")
                .await
                .err()
                .unwrap();
            // Exactly one password-hash check per attempt, real account or not, locked or not.
            assert_eq!(checks() - before, 1, "{name}, attempt {attempt}");
            seen.push((s, e["error"]["code"].as_str().unwrap_or("").to_string()));
        }
        // The same through the web form.
        let before = checks();
        let (s, _) = web_login_attempt(app, name, "wrong-password-1").await;
        assert_eq!(checks() - before, 1, "{name} on the web");
        seen.push((s, String::new()));
        answers.push(seen);
    }
    assert_eq!(
        answers[0], answers[1],
        "real and unknown accounts answer alike"
    );
    assert_eq!(answers[0][5].1, "account_locked");
}

async fn staff_do_not_act_as_residents(app: &TestApp) {
    let b = &app.base;
    // A resident reports in the demo grid worker's grid; the case is closed by the command center.
    let (s, case) = post(
        &Client::new(),
        format!("{b}/api/v1/cases"),
        json!({"category": "C0101", "description": "井盖破损", "lat": WUXING.0, "lon": WUXING.1,
               "reporter": {"name": "陈小红", "phone": "13611112222"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let code = case["tracking_code"]
        .as_str()
        .expect("the reporter gets the code")
        .to_string();
    let id = case["id"].as_str().unwrap().to_string();
    let disp = login(app, "demo-dispatcher").await;
    let gw = login(app, "demo-gridworker").await;
    let handler = login(app, "demo-handler").await;
    let leader = login(app, "demo-leader").await;
    act_ok(app, &disp, &id, json!({"action": "register"})).await;
    act_ok(
        app,
        &disp,
        &id,
        json!({"action": "dispatch", "department": "330502-cgj"}),
    )
    .await;
    // The code is the resident's secret: the command center sees it, others do not.
    let (_, v) = get(&disp, format!("{b}/api/v1/cases/{id}")).await;
    assert_eq!(v["tracking_code"], code.as_str());
    for (who, c) in [
        ("grid worker", &gw),
        ("handler", &handler),
        ("leader", &leader),
    ] {
        let (s, v) = get(c, format!("{b}/api/v1/cases/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{who}");
        assert!(v["tracking_code"].is_null(), "{who} sees the code");
        let (_, list) = get(c, format!("{b}/api/v1/cases?page_size=1000")).await;
        assert!(!list.to_string().contains(&code), "{who} lists the code");
    }
    // With a staff session or token the resident's erasure is refused; the contact stays.
    for c in [&gw, &handler, &leader, &disp] {
        let (s, _) = post(c, format!("{b}/api/v1/track/{code}/erase"), json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
    }
    let stored = app
        .state
        .store
        .case(uuid::Uuid::parse_str(&id).unwrap())
        .await
        .unwrap();
    assert!(stored.reporter_phone.is_some());
    // Closing it, then a staff web session rating by tracking code is refused.
    act_ok(app, &handler, &id, json!({"action": "accept"})).await;
    act_ok(
        app,
        &handler,
        &id,
        json!({"action": "handle", "note": "已更换井盖"}),
    )
    .await;
    act_ok(app, &disp, &id, json!({"action": "verify", "passed": true})).await;
    act_ok(app, &disp, &id, json!({"action": "close"})).await;
    let staff_browser = web_session(app, "demo-handler", PASSWORD).await;
    let track = staff_browser
        .get(format!("{b}/track/{code}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = staff_browser
        .post(format!("{b}/track/{code}/rate"))
        .form(&[("csrf", csrf_of(&track).as_str()), ("score", "5")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    let stored = app
        .state
        .store
        .case(uuid::Uuid::parse_str(&id).unwrap())
        .await
        .unwrap();
    assert_eq!(
        stored.rating, None,
        "a handler rated its own department's case"
    );
    // The command center records the call-back's answer as itself (回访), audited as staff.
    let v = act_ok(
        app,
        &disp,
        &id,
        json!({"action": "rate", "score": 4, "note": "电话回访，基本满意"}),
    )
    .await;
    assert_eq!(v["rating"], 4);
    let (_, h) = get(&disp, format!("{b}/api/v1/cases/{id}/history")).await;
    let rate = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "rate")
        .unwrap()
        .clone();
    assert_eq!(
        (rate["role"].as_str(), rate["actor"].as_str()),
        (Some("dispatcher"), Some("demo-dispatcher"))
    );
    // The resident, without a session, still may erase with the code.
    let (s, _) = post(
        &Client::new(),
        format!("{b}/api/v1/track/{code}/erase"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

async fn new_petition(app: &TestApp, c: &Client, at: (f64, f64), text: &str) -> String {
    let (s, v) = post(
        c,
        format!("{}/api/v1/cases", app.base),
        json!({"type": "petition", "category": "X0103", "lat": at.0, "lon": at.1,
               "description": text, "petition": {"channel": "letter", "petitioners": 1}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

async fn actions_name_only_what_is_in_scope(app: &TestApp) {
    accounts(app).await;
    let b = &app.base;
    let city = login(app, "demo-dispatcher").await;
    let dq = client(app, "p-disp-dq").await;
    let wuxing = new_petition(app, &city, WUXING, "村民来信反映征地补偿款未发放。").await;
    act_ok(app, &city, &wuxing, json!({"action": "accept"})).await;
    let own = new_petition(app, &dq, DEQING, "来信反映小区物业乱收费。").await;
    // Linking to a petition of another county answers as a missing id, naming no type.
    let (s, e) = act(
        app,
        &dq,
        &own,
        json!({"action": "link_duplicate", "of": wuxing}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("of")),
        "{e}"
    );
    let missing = uuid::Uuid::now_v7();
    let (s2, e2) = act(
        app,
        &dq,
        &own,
        json!({"action": "link_duplicate", "of": missing}),
    )
    .await;
    assert_eq!(s2, s);
    let strip = |e: &Value, id: &str| e["error"]["message"].as_str().unwrap().replace(id, "ID");
    assert_eq!(strip(&e, &wuxing), strip(&e2, &missing.to_string()));
    let (_, p) = get(&city, format!("{b}/api/v1/petitions/{wuxing}")).await;
    assert_eq!(p["record"]["repeat_count"], 0, "{p}");
    // A 德清县 case is not dispatched to a 吴兴区 department, by the county or the city.
    let (s, case) = post(
        &Client::new(),
        format!("{b}/api/v1/cases"),
        json!({"category": "C0101", "description": "德清县井盖缺失", "lat": DEQING.0, "lon": DEQING.1}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = case["id"].as_str().unwrap().to_string();
    act_ok(app, &dq, &id, json!({"action": "register"})).await;
    for c in [&dq, &city] {
        let (s, e) = act(
            app,
            c,
            &id,
            json!({"action": "dispatch", "department": "330502-cgj"}),
        )
        .await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("department")),
            "{e}"
        );
    }
    // The county may not reach up to a city bureau; the city may.
    let (s, _) = act(
        app,
        &dq,
        &id,
        json!({"action": "dispatch", "department": "330500-cgj"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    act_ok(
        app,
        &city,
        &id,
        json!({"action": "dispatch", "department": "330500-cgj"}),
    )
    .await;
}

async fn statistics_stay_in_scope(app: &TestApp) {
    accounts(app).await;
    let b = &app.base;
    let gw = login(app, "demo-gridworker").await;
    let handler_like = client(app, "p-gridleader-dq").await;
    let leader = client(app, "p-leader-dq").await;
    for c in [&gw, &handler_like] {
        for url in [
            "/api/v1/stats/disputes",
            "/api/v1/stats/petitions",
            "/api/v1/stats/disputes?region=330502",
            "/api/v1/stats/petitions?region=3305",
        ] {
            let (s, _) = get(c, format!("{b}{url}")).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{url}");
        }
    }
    for url in [
        "/api/v1/stats/disputes?region=330502",
        "/api/v1/stats/petitions?region=330502",
        "/api/v1/stats/kpi?region=330502",
    ] {
        let (s, _) = get(&leader, format!("{b}{url}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{url}");
    }
    for url in [
        "/api/v1/stats/disputes",
        "/api/v1/stats/petitions?region=330521",
    ] {
        let (s, v) = get(&leader, format!("{b}{url}")).await;
        assert_eq!(s, StatusCode::OK, "{url}: {v}");
    }
    // Committees: a county's accounts see their county's, not the others'.
    let (_, v) = get(
        &login(app, "demo-handler").await,
        format!("{b}/api/v1/mediation/committees"),
    )
    .await;
    let regions: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["region_code"].as_str().unwrap())
        .collect();
    assert!(
        regions
            .iter()
            .all(|r| r.starts_with("330502") || r.ends_with("000000")),
        "{regions:?}"
    );
    let (_, v) = get(&gw, format!("{b}/api/v1/mediation/committees")).await;
    assert!(!v.to_string().contains("330521"), "{v}");
    // The web dashboard of a grid leader: not another county's tiles.
    let web = web_session(app, "p-gridleader-dq", PW).await;
    for region in ["330502", "3305", ""] {
        let r = web
            .get(format!("{b}/work/dashboard?region={region}"))
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), StatusCode::OK, "dashboard of {region:?}");
    }
}

async fn login_from_another_site_is_refused(app: &TestApp) {
    accounts(app).await;
    let url = format!("{}/api/v1/auth/login", app.base);
    let body = json!({"username": "p-leader-dq", "password": PW}).to_string();
    let host = app.base.trim_start_matches("http://").to_string();
    let send = |origin: Option<&str>, site: Option<&str>, ctype: &str| {
        let mut r = Client::new()
            .post(url.clone())
            .header("content-type", ctype)
            .body(body.clone());
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(s) = site {
            r = r.header("sec-fetch-site", s);
        }
        r.send()
    };
    for (origin, site, ctype, want) in [
        (
            Some("http://evil.example"),
            None,
            "application/json",
            StatusCode::FORBIDDEN,
        ),
        (
            Some("null"),
            None,
            "application/json",
            StatusCode::FORBIDDEN,
        ),
        (
            None,
            Some("cross-site"),
            "application/json",
            StatusCode::FORBIDDEN,
        ),
        (
            None,
            Some("same-site"),
            "application/json",
            StatusCode::FORBIDDEN,
        ),
        (None, None, "text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            None,
            None,
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let r = send(origin, site, ctype).await.unwrap();
        assert_eq!(r.status(), want, "{origin:?} {site:?} {ctype}");
        assert!(
            r.headers().get("set-cookie").is_none(),
            "a refused login set a cookie"
        );
    }
    let own = format!("http://{host}");
    let r = send(Some(&own), Some("same-origin"), "application/json")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn redirects_stay_on_this_site(app: &TestApp) {
    accounts(app).await;
    let c = browser();
    for next in [
        "/%09/evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "/%0d%0aSet-Cookie:%20x=1",
        "https://evil.example",
        "/%E3%80%80/evil.example",
    ] {
        let r = c
            .get(format!("{}/lang?to=en&next={next}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(r.headers()["location"], "/", "{next}");
    }
    let r = c
        .get(format!(
            "{}/lang?to=en&next=/board%3Fcategory%3DC0101",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/board?category=C0101");
    // After the login form too.
    let html = c
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = c
        .post(format!("{}/login", app.base))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", "p-leader-dq"),
            ("password", PW),
            ("next", "/\t/evil.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to == "/" || to == "/work", "{to}");
}

/// Lookups by tracking code are limited per address like the public intake (an app with low
/// limits: 3 at once), through the API and the page alike.
async fn tracking_lookups_are_limited(app: &TestApp) {
    let c = browser();
    let mut statuses = vec![];
    for i in 0..6 {
        let url = if i % 2 == 0 {
            format!("{}/api/v1/track/NOSUCHCODE", app.base)
        } else {
            format!("{}/track/NOSUCHCODE", app.base)
        };
        statuses.push(c.get(url).send().await.unwrap().status());
    }
    assert!(
        statuses[..3].iter().all(|s| *s == StatusCode::NOT_FOUND),
        "{statuses:?}"
    );
    assert!(
        statuses[3..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

/// A search for a phone number would confirm which cases hold it, though their text shows it
/// masked: only the roles that call residents back may run it, and each is audited (masked).
async fn searching_by_a_phone_number_is_a_look_up_of_a_person(app: &TestApp) {
    let b = &app.base;
    let (s, case) = post(
        &Client::new(),
        format!("{b}/api/v1/cases"),
        json!({"category": "C0101", "description": "井盖松动，请回电 13912345678", "lat": WUXING.0, "lon": WUXING.1}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let id = case["id"].as_str().unwrap();
    let leader = login(app, "demo-leader").await;
    for q in ["13912345678", "139-1234-5678", "%2B86%20139%201234%205678"] {
        for path in ["/api/v1/cases", "/api/v1/cases/export.csv"] {
            let (s, e) = get(&leader, format!("{b}{path}?q={q}")).await;
            assert_eq!(
                (s, e["error"]["field"].as_str()),
                (StatusCode::FORBIDDEN, Some("q")),
                "{path} {q}: {e}"
            );
        }
    }
    let (s, _) = get(&leader, format!("{b}/api/v1/cases?q=%E4%BA%95%E7%9B%96")).await;
    assert_eq!(s, StatusCode::OK, "a plain text search stays open");
    let web = web_session(app, "demo-leader", PASSWORD).await;
    let r = web
        .get(format!("{b}/work/cases?q=13912345678"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The command center finds it, and the search is in the audit trail without the number.
    let disp = login(app, "demo-dispatcher").await;
    let (s, list) = get(&disp, format!("{b}/api/v1/cases?q=13912345678")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id),
        "{list}"
    );
    let (rows, _) = app
        .state
        .store
        .audit_search(&safegrid_store::AuditFilter {
            actor: Some("demo-dispatcher".into()),
            action: Some("privacy.search_identifier".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let detail = rows[0].detail.to_string();
    assert!(
        !detail.contains("13912345678") && detail.contains("139****5678"),
        "{detail}"
    );
}
