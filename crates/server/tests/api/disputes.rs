//! Stories of dispute mediation (人民调解) and petitions (信访) on the case engine, told over
//! HTTP on each backend: a neighbours' water leak mediated to a written agreement the court
//! confirms; a labour dispute whose mediation fails and goes to arbitration; a petition
//! forwarded, objected to, re-routed, answered, reviewed and re-reviewed, every deadline checked.

use super::helpers::*;
use chrono::{DateTime, Utc};
use reqwest::{Client, StatusCode};
use safegrid_domain::calendar::{Limit, WorkCalendar};
use serde_json::{Value, json};

const LAT: f64 = 30.78412;
const LON: f64 = 120.02352;

story!(water_leak_mediated_and_confirmed_by_the_court);
story!(labour_dispute_fails_and_goes_to_arbitration);
story!(petition_forwarded_objected_rerouted_answered_reviewed);
story!(repeated_petitions_are_linked_and_listed_as_backlog);
story!(screening_reports_and_queues);

/// 吴兴区's dispute figures by category, by method and in the KPI counters. The demo city has
/// mediated disputes of its own: a story counts its own on top of them.
async fn dispute_figures(app: &TestApp) -> (Value, Value, Value) {
    let leader = login(app, "demo-leader").await;
    let stats = |by: &str| format!("{}/api/v1/stats/disputes?region=330502&by={by}", app.base);
    let (s, by_cat) = get(&leader, stats("category")).await;
    assert_eq!(s, StatusCode::OK, "{by_cat}");
    (
        by_cat,
        get(&leader, stats("method")).await.1,
        get(
            &leader,
            format!("{}/api/v1/stats/kpi?region=330502", app.base),
        )
        .await
        .1,
    )
}

/// A group's figure (0 for a group not listed).
fn group(v: &Value, k: &str, f: &str) -> i64 {
    v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == k)
        .map(|x| x[f].as_i64().unwrap())
        .unwrap_or(0)
}

fn kpi_count(v: &Value, f: &str) -> i64 {
    v["counts"][f]
        .as_i64()
        .unwrap_or_else(|| panic!("{f}: {v}"))
}

fn t(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .to_utc()
}

fn local(t: DateTime<Utc>) -> String {
    safegrid::app::time::local_time(t)
}

fn due(start: &Value, limit: &str) -> String {
    let l: Limit = limit.parse().unwrap();
    local(WorkCalendar::builtin().due(t(start), l))
}

fn allowed(v: &Value) -> Vec<String> {
    v["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// Moves a case's stage clock back by `ms`, as if it had waited that long.
async fn age_stage(app: &TestApp, id: &str, ms: i64) {
    let uuid = uuid::Uuid::parse_str(id).unwrap();
    let sql = "UPDATE cases SET stage_started_at = stage_started_at - $1, stage_due_at = stage_due_at - $1 WHERE id = $2";
    match &app.state.store {
        safegrid_store::Store::Sqlite(p) => {
            sqlx::query(sql)
                .bind(ms)
                .bind(uuid)
                .execute(p)
                .await
                .unwrap();
        }
        safegrid_store::Store::Postgres(p) => {
            sqlx::query(sql)
                .bind(ms)
                .bind(uuid)
                .execute(p)
                .await
                .unwrap();
        }
    }
}

async fn user(
    app: &TestApp,
    name: &str,
    role: safegrid_domain::Role,
    dept: Option<&str>,
) -> Client {
    let username = format!("{name}-{}", app.backend);
    app.state
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
            grids: vec![],
        })
        .await
        .unwrap();
    login(app, &username).await
}

/// The administrator sets up 吴兴区's judicial office committee and links demo-mediator to it.
async fn committee_and_mediator(app: &TestApp) -> String {
    let admin = login(app, "demo-admin").await;
    let (s, e) = post(
        &admin,
        format!("{}/api/v1/mediation/committees", app.base),
        json!({"name": "测试调委会", "kind": "court", "region": "330502"}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kind")),
        "{e}"
    );
    let (s, c) = post(
        &admin,
        format!("{}/api/v1/mediation/committees", app.base),
        json!({"name": "吴兴区人民调解委员会（测试）", "kind": "township", "region": "330502"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (s, _) = post(
        &admin,
        format!("{}/api/v1/mediation/committees", app.base),
        json!({"name": "吴兴区人民调解委员会（测试）", "kind": "township", "region": "330502"}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, m) = post(
        &admin,
        format!("{}/api/v1/mediators", app.base),
        json!({"committee": c["id"], "name": "沈调解", "phone": "13905720000", "username": "demo-mediator"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    // Staff see mediators with masked phones; a citizen may not list them.
    let (_, list) = get(
        &login(app, "demo-dispatcher").await,
        format!("{}/api/v1/mediators", app.base),
    )
    .await;
    let me = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == m["id"])
        .unwrap()
        .clone();
    assert_ne!(me["phone"], "13905720000");
    let (s, _) = get(
        &login(app, "demo-citizen").await,
        format!("{}/api/v1/mediators", app.base),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The same checks from the CLI (`safegrid mediation …`), naming the flag.
    use safegrid::app::disputes::{MediationCommand, run_command};
    let e = run_command(
        &app.state,
        MediationCommand::AddCommittee {
            name: "x".into(),
            kind: "court".into(),
            region: "330502".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().starts_with("--kind: unknown code"), "{e}");
    let e = run_command(
        &app.state,
        MediationCommand::AddMediator {
            committee: uuid::Uuid::parse_str(c["id"].as_str().unwrap()).unwrap(),
            name: "沈二".into(),
            phone: Some("123".into()),
            username: None,
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().starts_with("--phone:"), "{e}");
    run_command(
        &app.state,
        MediationCommand::AddCommittee {
            name: "吴兴区行业性调委会（测试）".into(),
            kind: "sector".into(),
            region: "330502".into(),
        },
    )
    .await
    .unwrap();
    let (_, cs) = get(
        &admin,
        format!("{}/api/v1/mediation/committees?region=330502", app.base),
    )
    .await;
    assert!(
        cs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["kind"] == "sector")
    );
    m["id"].as_str().unwrap().to_string()
}

/// 楼上漏水: water from the flat above ruins the ceiling below. The grid worker reports the
/// dispute with both parties; the mediator accepts, is assigned, holds a session, and the
/// neighbours sign a written agreement; the deadline job reminds before the 30-day court
/// confirmation window closes; the court confirms; the follow-up finds it honoured; resolved.
async fn water_leak_mediated_and_confirmed_by_the_court(app: &TestApp) {
    let mediator_id = committee_and_mediator(app).await;
    let mediator_id = mediator_id.as_str();
    let before = dispute_figures(app).await;
    let gw = login(app, "demo-gridworker").await;
    let med = login(app, "demo-mediator").await;
    let leader = login(app, "demo-leader").await;
    let url = format!("{}/api/v1/cases", app.base);
    let body = json!({
        "type": "dispute", "category": "D0202", "lat": LAT, "lon": LON,
        "description": "楼上卫生间漏水，楼下天花板发霉脱落，两家多次争吵，楼下要求赔偿装修损失。",
        "dispute": {
            "scale": "01", "grade": "04", "occurred_on": "2026-11-01", "found_by": "report",
            "parties": [
                {"role": "applicant", "name": "张建国", "phone": "13812345678", "id_number": "330502196805121234"},
                {"role": "respondent", "name": "李秀英", "phone": "13987654321"}
            ]
        }
    });
    // Without its record, or with a bad party, nothing is stored.
    let mut bare = body.clone();
    bare.as_object_mut().unwrap().remove("dispute");
    let (s, e) = post(&gw, url.clone(), bare).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("dispute")),
        "{e}"
    );
    let mut bad = body.clone();
    bad["dispute"]["parties"][1]["role"] = json!("witness");
    let (s, e) = post(&gw, url.clone(), bad).await;
    assert_eq!(e["error"]["field"], "dispute.parties[1].role", "{s} {e}");
    let mut wrong_type = body.clone();
    wrong_type["type"] = json!("petition");
    let (s, e) = post(&gw, url.clone(), wrong_type).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("type"))
    );

    let (s, case) = post(&gw, url.clone(), body).await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    assert_eq!(
        (case["type"].as_str(), case["status"].as_str()),
        (Some("dispute"), Some("reported"))
    );
    let id = case["id"].as_str().unwrap().to_string();

    let (_, c) = get(&med, format!("{url}/{id}")).await;
    assert!(allowed(&c).contains(&"accept".to_string()), "{c}");
    act_ok(app, &med, &id, json!({"action": "accept"})).await;
    let (s, e) = act(app, &med, &id, json!({"action": "assign"})).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("mediator"))
    );
    let (s, e) = act(
        app,
        &med,
        &id,
        json!({"action": "assign", "mediator": uuid::Uuid::now_v7()}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("mediator"))
    );
    let v = act_ok(
        app,
        &med,
        &id,
        json!({"action": "assign", "mediator": mediator_id}),
    )
    .await;
    assert_eq!(v["status"], "assigned");
    for a in ["record_session", "refuse_mediation", "hand_on", "suspend"] {
        assert!(allowed(&v).contains(&a.to_string()), "{a}: {v}");
    }
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive()
        .to_string();
    let (s, e) = act(app, &med, &id, json!({"action": "record_session", "session": {"held_on": "2099-01-01", "place": "x", "attendees": ["a"]}})).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("session.held_on"))
    );
    let v = act_ok(
        app,
        &med,
        &id,
        json!({"action": "record_session", "session": {
            "held_on": today, "place": "社区调解室",
            "attendees": ["张建国", "李秀英", "沈调解", "物业维修工"],
            "notes": "现场查看漏水点为楼上卫生间防水层老化；双方同意由楼上修复防水并赔偿。"
        }}),
    )
    .await;
    assert_eq!(v["status"], "mediating");
    let v = act_ok(app, &med, &id, json!({"action": "reach_agreement", "agreement": {
        "form": "written",
        "content": "一、李秀英于十日内请专业人员修复卫生间防水层；二、李秀英赔偿张建国天花板修复费用人民币贰仟元整。",
        "obligations": "修复完成后由社区网格员核实；赔偿款当面交付。",
        "perform_by": "2026-12-15"
    }})).await;
    assert_eq!(v["status"], "agreed");

    // The assigned mediator sees the parties; a leader sees them masked.
    let (s, d) = get(&med, format!("{}/api/v1/disputes/{id}", app.base)).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["parties"][0]["name"], "张建国");
    assert_eq!(d["parties"][0]["id_number"], "330502196805121234");
    assert_eq!(d["record"]["scale"]["zh"], "个体性");
    assert_eq!(d["record"]["method"]["code"], "0103");
    assert_eq!(d["record"]["category"]["class"]["code"], "D02");
    assert_eq!(d["sessions"][0]["attendees"].as_array().unwrap().len(), 4);
    let agreed_at = d["agreement"]["agreed_at"].clone();
    assert_eq!(
        d["agreement"]["court_confirmation"]["window_closes_at"],
        due(&agreed_at, "30 days"),
        "30 日 from the agreement, a last day off work moved on"
    );
    let (_, dl) = get(&leader, format!("{}/api/v1/disputes/{id}", app.base)).await;
    assert_ne!(dl["parties"][0]["name"], "张建国");
    assert_eq!(dl["parties"][0]["masked"], true);
    assert!(!dl.to_string().contains("13812345678"));
    // The mediator's view of the parties' personal data is in the audit trail; the leader's is not.
    let admin = login(app, "demo-admin").await;
    let number = d["case"]["number"].as_str().unwrap();
    let (_, a) = get(
        &admin,
        format!(
            "{}/api/v1/admin/audit?action=privacy.view_parties&target_id={number}",
            app.base
        ),
    )
    .await;
    let viewers: Vec<&str> = a["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(
        viewers.contains(&"demo-mediator") && !viewers.contains(&"demo-leader"),
        "{a}"
    );

    // The printable agreement.
    let html = med
        .get(format!("{}/api/v1/disputes/{id}/agreement.html", app.base))
        .send()
        .await
        .unwrap();
    assert!(
        html.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = html.text().await.unwrap();
    for needle in [
        "人民调解协议书",
        "张建国",
        "贰仟元整",
        "@media print",
        "司法确认",
    ] {
        assert!(html.contains(needle), "agreement lacks {needle}");
    }
    let masked = leader
        .get(format!("{}/api/v1/disputes/{id}/agreement.html", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!masked.contains("张建国") && masked.contains("脱敏"));

    // Five days before the window closes the deadline job reminds, once.
    let window = t(&d["agreement"]["court_confirmation"]["window_closes_at"]);
    let early = window - chrono::Duration::days(6);
    assert_eq!(
        safegrid::app::disputes::remind_confirmations(&app.state, early)
            .await
            .unwrap(),
        0
    );
    let late = window - chrono::Duration::days(4);
    assert_eq!(
        safegrid::app::disputes::remind_confirmations(&app.state, late)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        safegrid::app::disputes::remind_confirmations(&app.state, late)
            .await
            .unwrap(),
        0
    );
    let (_, h) = get(&med, format!("{url}/{id}/history")).await;
    assert!(
        h["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "remind_court_confirmation" && e["role"] == "system")
    );
    // Nobody can fire the system's reminder by hand.
    let (s, _) = act(
        app,
        &med,
        &id,
        json!({"action": "remind_court_confirmation"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, e) = act(
        app,
        &med,
        &id,
        json!({"action": "record_court_confirmation", "confirmed": true}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("court"))
    );
    act_ok(app, &med, &id, json!({"action": "record_court_confirmation", "court": "湖州市吴兴区人民法院", "confirmed": true})).await;
    let v = act_ok(
        app,
        &med,
        &id,
        json!({"action": "follow_up", "honoured": true, "note": "回访：防水已修复，赔偿已付清。"}),
    )
    .await;
    assert_eq!(v["status"], "following_up");
    let v = act_ok(app, &med, &id, json!({"action": "close_resolved"})).await;
    assert_eq!(
        (v["status"].as_str(), v["terminal"].as_bool()),
        (Some("resolved"), Some(true))
    );
    assert!(!v["closed_at"].is_null());
    let (_, d) = get(&med, format!("{}/api/v1/disputes/{id}", app.base)).await;
    assert_eq!(d["record"]["outcome"], "resolved");
    assert_eq!(d["record"]["success"], true);
    // The evaluation (评估) of the concluded dispute, by the leader, with the opinion.
    let (_, lv) = get(&leader, format!("{url}/{id}")).await;
    assert_eq!(allowed(&lv), ["evaluate"]);
    let (s, _) = act(app, &leader, &id, json!({"action": "evaluate"})).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an evaluation gives its opinion"
    );
    act_ok(
        app,
        &leader,
        &id,
        json!({"action": "evaluate", "note": "化解及时，协议履行到位，效果良好。"}),
    )
    .await;
    assert_eq!(d["agreement"]["court_confirmation"]["confirmed"], true);
    assert_eq!(
        d["agreement"]["court_confirmation"]["court"],
        "湖州市吴兴区人民法院"
    );
    assert!(!d["agreement"]["court_confirmation"]["reminded_at"].is_null());
    let (_, d) = get(&med, format!("{}/api/v1/disputes/{id}", app.base)).await;
    assert_eq!(
        d["record"]["evaluation"]["opinion"],
        "化解及时，协议履行到位，效果良好。"
    );

    // The public tracking view shows the steps, never the parties.
    let (s, pubv) = get(
        &Client::new(),
        format!(
            "{}/api/v1/track/{}",
            app.base,
            case["tracking_code"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let text = pubv.to_string();
    assert!(!text.contains("张建国") && !text.contains("李秀英") && !text.contains("1381234"));

    // Success rate: the water leak resolved, by category, by method and in the KPI counters.
    let (by_cat, by_method, kpi) = dispute_figures(app).await;
    let delta =
        |after: &Value, before: &Value, k: &str, f: &str| group(after, k, f) - group(before, k, f);
    assert_eq!(
        (
            delta(&by_cat, &before.0, "D0202", "resolved"),
            delta(&by_cat, &before.0, "D0202", "concluded")
        ),
        (1, 1)
    );
    let leak = by_cat["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == "D0202")
        .unwrap();
    assert_eq!(leak["name"]["zh"], "漏水纠纷");
    let rate = leak["resolved"].as_f64().unwrap() / leak["concluded"].as_f64().unwrap();
    assert_eq!(leak["success_rate"].as_f64(), Some(rate));
    assert_eq!(
        by_cat["concluded"].as_i64().unwrap() - before.0["concluded"].as_i64().unwrap(),
        1
    );
    assert_eq!(
        by_cat["resolved"].as_i64().unwrap() - before.0["resolved"].as_i64().unwrap(),
        1
    );
    assert_eq!(delta(&by_method, &before.1, "0103", "resolved"), 1);
    let k = kpi_count;
    assert_eq!(
        k(&kpi, "disputes_concluded") - k(&before.2, "disputes_concluded"),
        1
    );
    assert_eq!(
        k(&kpi, "disputes_resolved") - k(&before.2, "disputes_resolved"),
        1
    );
}

/// 讨薪: a worker and a workshop owner disagree over three months' pay. Mediation at the township
/// committee fails; the dispute is handed to labour arbitration (诉调对接). Success rate by
/// category and method counts it as concluded, not resolved; a refusal is not counted.
async fn labour_dispute_fails_and_goes_to_arbitration(app: &TestApp) {
    let mediator_id = committee_and_mediator(app).await;
    let mediator_id = mediator_id.as_str();
    let before = &dispute_figures(app).await;
    let disp = login(app, "demo-dispatcher").await;
    let med = login(app, "demo-mediator").await;
    let leader = login(app, "demo-leader").await;
    let url = format!("{}/api/v1/cases", app.base);
    let (s, case) = post(&disp, url.clone(), json!({
        "type": "dispute", "category": "D0701", "lat": LAT, "lon": LON,
        "description": "某织造作坊拖欠工人王某三个月工资共计一万八千元，老板称产品有质量问题拒付。",
        "dispute": {"parties": [
            {"role": "applicant", "name": "王小军", "phone": "13600001111"},
            {"kind": "organisation", "role": "respondent", "name": "湖州某织造作坊"}
        ], "units_involved": "湖州某织造作坊"}
    })).await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let id = case["id"].as_str().unwrap().to_string();
    act_ok(app, &disp, &id, json!({"action": "accept"})).await;
    act_ok(
        app,
        &disp,
        &id,
        json!({"action": "assign", "mediator": mediator_id, "method": "0103"}),
    )
    .await;
    act_ok(app, &med, &id, json!({"action": "record_session", "session": {
        "held_on": "2026-11-20", "place": "镇调委会", "attendees": ["王小军", "作坊负责人", "沈调解"]}})).await;
    let (s, e) = act(
        app,
        &med,
        &id,
        json!({"action": "hand_on", "note": "调解不成"}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("destination"))
    );
    let (s, e) = act(
        app,
        &med,
        &id,
        json!({"action": "hand_on", "note": "调解不成", "destination": "arbitration",
        "destination_body": "湖州市吴兴区劳动人事争议仲裁委员会", "method": "05"}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("method"))
    );
    let (s, e) = act(
        app,
        &med,
        &id,
        json!({"action": "hand_on", "destination": "arbitration",
        "destination_body": "湖州市吴兴区劳动人事争议仲裁委员会", "method": "0203"}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("note"))
    );
    let v = act_ok(
        app,
        &med,
        &id,
        json!({"action": "hand_on", "destination": "arbitration",
        "destination_body": "湖州市吴兴区劳动人事争议仲裁委员会", "method": "0203",
        "note": "双方对工资数额分歧大，调解不成，引导申请劳动仲裁。"}),
    )
    .await;
    assert_eq!(v["status"], "handed_on");
    let (_, d) = get(&med, format!("{}/api/v1/disputes/{id}", app.base)).await;
    assert_eq!(d["record"]["outcome"], "handed_on");
    assert_eq!(d["record"]["hand_on"]["destination"]["code"], "arbitration");
    assert_eq!(
        d["record"]["hand_on"]["body"],
        "湖州市吴兴区劳动人事争议仲裁委员会"
    );
    assert_eq!(d["record"]["method"]["zh"], "劳动人事争议仲裁");
    assert_eq!(
        d["parties"][1]["name"], "湖州某织造作坊",
        "an organisation's name is not personal data"
    );

    // A third dispute: one party refuses mediation (art. 17): closed as not mediated.
    let (_, c3) = post(&disp, url.clone(), json!({
        "type": "dispute", "category": "D0201", "lat": LAT, "lon": LON, "description": "楼上深夜噪音。",
        "dispute": {"parties": [{"role": "applicant", "name": "赵一"}, {"role": "respondent", "name": "钱二"}]}
    })).await;
    let id3 = c3["id"].as_str().unwrap().to_string();
    act_ok(app, &disp, &id3, json!({"action": "accept"})).await;
    let (s, _) = act(app, &med, &id3, json!({"action": "refuse_mediation"})).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the refusal is recorded with its reason"
    );
    let v = act_ok(
        app,
        &med,
        &id3,
        json!({"action": "refuse_mediation", "note": "被申请人明确表示不接受调解。"}),
    )
    .await;
    assert_eq!(v["status"], "not_mediated");

    // Success rate: the labour dispute concluded unresolved (the water leak's story counts a
    // resolved one), by category, by method and in the KPI counters, kept as the disputes moved.
    let (by_cat, by_method, kpi) = dispute_figures(app).await;
    let delta =
        |after: &Value, before: &Value, k: &str, f: &str| group(after, k, f) - group(before, k, f);
    assert_eq!(
        (
            delta(&by_cat, &before.0, "D0701", "resolved"),
            delta(&by_cat, &before.0, "D0701", "concluded")
        ),
        (0, 1)
    );
    assert_eq!(
        delta(&by_cat, &before.0, "D0201", "concluded"),
        0,
        "a refusal is not a mediation"
    );
    assert_eq!(
        by_cat["concluded"].as_i64().unwrap() - before.0["concluded"].as_i64().unwrap(),
        1
    );
    assert_eq!(
        by_cat["resolved"].as_i64().unwrap() - before.0["resolved"].as_i64().unwrap(),
        0
    );
    assert_eq!(delta(&by_method, &before.1, "0203", "concluded"), 1);
    let k = kpi_count;
    assert_eq!(
        k(&kpi, "disputes_concluded") - k(&before.2, "disputes_concluded"),
        1
    );
    assert_eq!(
        k(&kpi, "disputes_resolved") - k(&before.2, "disputes_resolved"),
        0
    );
    let rate = kpi["rates"]["dispute_success_rate"].as_f64().unwrap();
    assert_eq!(
        rate,
        k(&kpi, "disputes_resolved") as f64 / k(&kpi, "disputes_concluded") as f64
    );
    let (_, by_region) = get(
        &leader,
        format!("{}/api/v1/stats/disputes?region=330502&by=region", app.base),
    )
    .await;
    let township = by_region["groups"][0]["key"].as_str().unwrap().to_string();
    assert_eq!(
        township.len(),
        9,
        "one level down from the county: {by_region}"
    );
    assert!(by_region["groups"][0]["name"].is_string());
    let (s, e) = get(
        &leader,
        format!("{}/api/v1/stats/disputes?by=colour", app.base),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("by"))
    );
    let (s, _) = get(
        &login(app, "demo-handler").await,
        format!("{}/api/v1/stats/disputes", app.base),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// A worker's petition about unpaid social insurance, received in person: forwarded to the
/// wrong body, which objects within 5 working days; re-routed to 人社, acknowledged, extended
/// by at most 30 日, answered in writing; the petitioner asks for review within 30 日, then for
/// re-review, which is final. Every statutory clock is checked against the official calendar.
async fn petition_forwarded_objected_rerouted_answered_reviewed(app: &TestApp) {
    let disp = login(app, "demo-dispatcher").await;
    let cgj = login(app, "demo-handler").await;
    let leader = login(app, "demo-leader").await;
    let rsj = user(
        app,
        "rsj-handler",
        safegrid_domain::Role::Handler,
        Some("330502-rsj"),
    )
    .await;
    let url = format!("{}/api/v1/cases", app.base);
    let body = json!({
        "type": "petition", "category": "X0102", "lat": LAT, "lon": LON,
        "description": "来访人反映所在企业三年未为其缴纳社会保险，多次向企业反映无果。",
        "reporter": {"name": "周大海", "phone": "13700002222"},
        "petition": {"channel": "visit", "agent": {"name": "吴律师", "phone": "13500003333", "relation": "律师"}}
    });
    let mut bad = body.clone();
    bad["petition"]["channel"] = json!("fax");
    let (s, e) = post(&disp, url.clone(), bad).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("petition.channel"))
    );
    let (s, case) = post(&disp, url.clone(), body).await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let id = case["id"].as_str().unwrap().to_string();
    // Art. 22: the acceptance decision within 15 日 of receipt.
    assert_eq!(case["status"], "received");
    assert_eq!(case["stage_limit"], "15 days");
    assert_eq!(case["stage_due_at"], due(&case["created_at"], "15 days"));

    let (s, e) = act(app, &disp, &id, json!({"action": "forward"})).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("department"))
    );
    let v = act_ok(
        app,
        &disp,
        &id,
        json!({"action": "forward", "department": "330502-cgj", "note": "转送区城管局"}),
    )
    .await;
    assert_eq!(v["status"], "forwarded");
    // Art. 23: acknowledged within 15 日, or objected to within 5 工作日.
    assert_eq!(v["stage_due_at"], due(&v["stage_started_at"], "15 days"));
    let (_, p) = get(&disp, format!("{}/api/v1/petitions/{id}", app.base)).await;
    assert_eq!(
        p["clocks"]["windows"]["object"],
        due(&v["stage_started_at"], "5 working_days")
    );
    assert_eq!(p["record"]["channel"]["zh"], "来访");
    assert_eq!(
        p["record"]["agent"]["name"], "吴律师",
        "the intake office sees the agent"
    );
    let (_, pl) = get(&leader, format!("{}/api/v1/petitions/{id}", app.base)).await;
    assert_eq!(pl["record"]["agent"]["masked"], true);
    assert_ne!(pl["record"]["agent"]["name"], "吴律师");

    // The objection must come within 5 working days: after 8 days it is refused.
    age_stage(app, &id, 8 * 86_400_000).await;
    let (s, e) = act(
        app,
        &cgj,
        &id,
        json!({"action": "object", "note": "不属本部门职责"}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("5 working_days"),
        "{e}"
    );
    age_stage(app, &id, -8 * 86_400_000).await;
    let (s, _) = act(app, &cgj, &id, json!({"action": "object"})).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an objection gives its reason"
    );
    let v = act_ok(
        app,
        &cgj,
        &id,
        json!({"action": "object", "note": "社保缴纳属人社部门职责，不属本部门。"}),
    )
    .await;
    assert_eq!(v["status"], "received");
    assert!(v["department"].is_null());
    assert_eq!(v["stage_due_at"], due(&v["stage_started_at"], "15 days"));
    let (s, _) = get(&cgj, format!("{url}/{id}")).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "the objecting body no longer sees it"
    );

    // Re-routed to 人社, which acknowledges: 60 日 to handle from then.
    act_ok(
        app,
        &disp,
        &id,
        json!({"action": "forward", "department": "330502-rsj"}),
    )
    .await;
    let v = act_ok(app, &rsj, &id, json!({"action": "acknowledge"})).await;
    assert_eq!(
        (v["status"].as_str(), v["stage_limit"].as_str()),
        (Some("handling"), Some("60 days"))
    );
    let handling_due = due(&v["stage_started_at"], "60 days");
    assert_eq!(v["stage_due_at"], handling_due);
    assert_eq!(v["due_at"], handling_due);

    // Extension: at most 30 日, once, with approval.
    let (s, e) = act(app, &rsj, &id, json!({"action": "request_extension", "extend_by": "45 days", "note": "需调取三年工资台账"})).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("extend_by")),
        "{e}"
    );
    let (s, e) = act(
        app,
        &rsj,
        &id,
        json!({"action": "request_extension", "extend_by": "30 working_days", "note": "x"}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("extend_by"))
    );
    act_ok(app, &rsj, &id, json!({"action": "request_extension", "extend_by": "30 days", "note": "需调取三年工资台账"})).await;
    let v = act_ok(app, &leader, &id, json!({"action": "approve_extension"})).await;
    assert_eq!(v["stage_due_at"], due(&json!(handling_due), "30 days"));
    assert_eq!(v["extension_count"], 1);
    let (s, e) = act(
        app,
        &rsj,
        &id,
        json!({"action": "request_extension", "extend_by": "10 days", "note": "再延"}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("extend_by"))
    );

    // The written reply; then the petitioner's 30 日 to ask for review (a window, never "overdue").
    let (s, _) = act(app, &rsj, &id, json!({"action": "reply"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the reply is written");
    let v = act_ok(
        app,
        &rsj,
        &id,
        json!({"action": "reply", "note": "经核查，企业已于本月补缴三年社会保险费，现予答复。"}),
    )
    .await;
    assert_eq!(v["status"], "replied");
    assert!(
        v["stage_due_at"].is_null(),
        "no official is due anything in the petitioner's window"
    );
    let (_, p) = get(&disp, format!("{}/api/v1/petitions/{id}", app.base)).await;
    assert_eq!(p["clocks"]["party_window"], true);
    assert_eq!(
        p["clocks"]["windows"]["request_review"],
        due(&v["stage_started_at"], "30 days")
    );
    assert!(p["record"]["reply"].as_str().unwrap().contains("补缴"));
    age_stage(app, &id, 40 * 86_400_000).await;
    let (_, c) = get(&disp, format!("{url}/{id}")).await;
    assert_eq!(
        (c["light"].as_str(), c["overdue"].as_bool()),
        (Some("green"), Some(false)),
        "a party's window is no official's delay"
    );
    let (_, red) = get(
        &disp,
        format!("{url}?type=petition&light=red&page_size=1000"),
    )
    .await;
    assert!(
        !red["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id.as_str())
    );
    let (s, e) = act(app, &disp, &id, json!({"action": "request_review"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "review asked after 30 日: {e}");
    age_stage(app, &id, -40 * 86_400_000).await;

    // Review (复查): answered within 30 日; re-review (复核) the same, and final.
    let v = act_ok(
        app,
        &disp,
        &id,
        json!({"action": "request_review", "note": "来访人对补缴年限有异议"}),
    )
    .await;
    assert_eq!(
        (v["status"].as_str(), v["stage_due_at"].clone()),
        (
            Some("review_requested"),
            json!(due(&v["stage_started_at"], "30 days"))
        )
    );
    let v = act_ok(
        app,
        &rsj,
        &id,
        json!({"action": "answer_review", "note": "复查意见：维持原答复。"}),
    )
    .await;
    assert_eq!(v["status"], "reviewed");
    let v = act_ok(app, &disp, &id, json!({"action": "request_re_review"})).await;
    assert_eq!(v["stage_due_at"], due(&v["stage_started_at"], "30 days"));
    let (s, _) = act(
        app,
        &rsj,
        &id,
        json!({"action": "answer_re_review", "note": "x"}),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "re-review is answered by the level above"
    );
    let v = act_ok(
        app,
        &leader,
        &id,
        json!({"action": "answer_re_review", "note": "复核意见：维持复查意见，本复核为终结。"}),
    )
    .await;
    assert_eq!(
        (v["status"].as_str(), v["terminal"].as_bool()),
        (Some("re_reviewed"), Some(true))
    );
    assert!(allowed(&v).is_empty());
    let (_, p) = get(&disp, format!("{}/api/v1/petitions/{id}", app.base)).await;
    assert!(
        p["record"]["re_review_answer"]
            .as_str()
            .unwrap()
            .contains("终结")
    );
    let (_, h) = get(&disp, format!("{url}/{id}/history")).await;
    let actions: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "report",
            "forward",
            "object",
            "forward",
            "acknowledge",
            "request_extension",
            "approve_extension",
            "reply",
            "request_review",
            "answer_review",
            "request_re_review",
            "answer_re_review"
        ]
    );
    // The petition figures count it as re-reviewed.
    let (s, figures) = get(
        &leader,
        format!("{}/api/v1/stats/petitions?region=330502", app.base),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{figures}");
    assert!(
        figures["total"]["re_reviewed"].as_i64().unwrap() >= 1,
        "the re-reviewed petition: {figures}"
    );
}

/// The same matter petitioned again is linked, not counted as new; a petition past its limit
/// and a repeated one are the backlog (积案) leaders see.
async fn repeated_petitions_are_linked_and_listed_as_backlog(app: &TestApp) {
    let disp = login(app, "demo-dispatcher").await;
    let leader = login(app, "demo-leader").await;
    let url = format!("{}/api/v1/cases", app.base);
    let figures = format!("{}/api/v1/stats/petitions?region=330502", app.base);
    let (s, before) = get(&leader, figures.clone()).await;
    assert_eq!(s, StatusCode::OK, "{before}");
    let new = |d: &str| {
        json!({"type": "petition", "category": "X0103", "lat": LAT, "lon": LON,
        "description": d, "petition": {"channel": "letter", "petitioners": 3}})
    };
    let (_, first) = post(
        &disp,
        url.clone(),
        new("三户村民联名来信反映征地补偿款未足额发放。"),
    )
    .await;
    let first_id = first["id"].as_str().unwrap().to_string();
    act_ok(app, &disp, &first_id, json!({"action": "accept"})).await;
    let (_, again) = post(
        &disp,
        url.clone(),
        new("同一事项再次来信，反映征地补偿款仍未发放。"),
    )
    .await;
    let again_id = again["id"].as_str().unwrap().to_string();
    let (_, dispute) = get(&disp, format!("{url}?type=dispute&page_size=1")).await;
    let dispute_id = dispute["items"][0]["id"].clone();
    let (s, e) = act(
        app,
        &disp,
        &again_id,
        json!({"action": "link_duplicate", "of": dispute_id}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("of"))
    );
    let v = act_ok(
        app,
        &disp,
        &again_id,
        json!({"action": "link_duplicate", "of": first_id}),
    )
    .await;
    assert_eq!(v["status"], "merged");
    let (_, p) = get(&disp, format!("{}/api/v1/petitions/{first_id}", app.base)).await;
    assert_eq!(p["record"]["repeat_count"], 1);
    assert_eq!(p["record"]["petitioners"], 3);

    // A third petition runs past its 60-day handling limit.
    let (_, late) = post(&disp, url.clone(), new("反映宅基地审批不公开。")).await;
    let late_id = late["id"].as_str().unwrap().to_string();
    act_ok(app, &disp, &late_id, json!({"action": "accept"})).await;
    age_stage(app, &late_id, 70 * 86_400_000).await;

    let (s, b) = get(
        &leader,
        format!("{}/api/v1/petitions/backlog?region=330502", app.base),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let find = |id: &str| {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .cloned()
    };
    let f = find(&first_id).expect("the repeated petition is backlog");
    assert_eq!(f["reasons"], json!(["repeated"]));
    act_ok(app, &leader, &late_id, json!({"action": "take_charge"})).await;
    let (_, b) = get(
        &leader,
        format!(
            "{}/api/v1/petitions/backlog?region=330502&mine=true",
            app.base
        ),
    )
    .await;
    assert_eq!(b["items"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["items"][0]["id"], late_id.as_str());
    assert_eq!(b["items"][0]["leader_in_charge"], "demo-leader");
    assert_eq!(
        find(&late_id).expect("the late petition is backlog")["reasons"],
        json!(["overdue"])
    );
    assert!(
        find(&again_id).is_none(),
        "the linked repeat is not a matter of its own"
    );
    let (s, _) = get(
        &login(app, "demo-gridworker").await,
        format!("{}/api/v1/petitions/backlog", app.base),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Not accepted needs its reason.
    let (_, na) = post(&disp, url.clone(), new("反映与本地无关的事项。")).await;
    let na_id = na["id"].as_str().unwrap().to_string();
    let (s, _) = act(app, &disp, &na_id, json!({"action": "not_accept"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let v = act_ok(
        app,
        &disp,
        &na_id,
        json!({"action": "not_accept", "note": "不属本级受理范围，已告知向有权机关提出。"}),
    )
    .await;
    assert_eq!(v["status"], "not_accepted");
    let (_, after) = get(&leader, figures).await;
    let d = |k: &str| {
        after["by_channel"]["letter"][k].as_i64().unwrap()
            - before["by_channel"]["letter"][k].as_i64().unwrap()
    };
    assert_eq!(
        (d("received"), d("repeats"), d("not_accepted")),
        (3, 1, 1),
        "a repeat is no new matter: {after}"
    );
    assert_eq!(after["by_channel"]["letter"]["name"]["zh"], "来信");
}

/// Three disputes in the demo grid worker's grid, for the screening to find.
async fn disputes_in_the_grid(app: &TestApp, disp: &Client) {
    for (category, text, parties) in [
        (
            "D0202",
            "楼上卫生间漏水，楼下天花板受损。",
            ["张一", "李二"],
        ),
        ("D0701", "作坊拖欠工人两个月工资。", ["王三", "赵四"]),
        ("D0201", "楼上深夜噪音。", ["孙五", "周六"]),
    ] {
        let (s, c) = post(disp, format!("{}/api/v1/cases", app.base), json!({
            "type": "dispute", "category": category, "lat": LAT, "lon": LON, "description": text,
            "dispute": {"parties": [
                {"role": "applicant", "name": parties[0]},
                {"role": "respondent", "name": parties[1]}
            ]}
        }))
        .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
    }
}

/// A grid worker files the month's screening (排查) with the dispute found, and one with none;
/// the command center's queues filter by type.
async fn screening_reports_and_queues(app: &TestApp) {
    let gw = login(app, "demo-gridworker").await;
    let disp = login(app, "demo-dispatcher").await;
    disputes_in_the_grid(app, &disp).await;
    let (_, loc) = get(
        &gw,
        format!("{}/api/v1/locate?lat={LAT}&lon={LON}", app.base),
    )
    .await;
    let grid = loc["grid"]["code"].as_str().unwrap().to_string();
    let (_, disputes) = get(
        &disp,
        format!(
            "{}/api/v1/cases?type=dispute&grid={grid}&page_size=100",
            app.base
        ),
    )
    .await;
    assert!(disputes["total"].as_i64().unwrap() >= 3, "{disputes}");
    assert!(
        disputes["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["type"] == "dispute")
    );
    let (_, petitions) = get(
        &disp,
        format!("{}/api/v1/cases?type=petition&open=true", app.base),
    )
    .await;
    assert!(
        petitions["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["type"] == "petition" && c["terminal"] == false)
    );
    let (s, e) = get(&disp, format!("{}/api/v1/cases?type=quarrel", app.base)).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("type"))
    );

    let found = disputes["items"][0]["id"].clone();
    let url = format!("{}/api/v1/disputes/screenings", app.base);
    let (s, r) = post(&gw, url.clone(), json!({"grid": grid, "from": "2026-11-01", "to": "2026-11-15", "cases": [found], "notes": "入户走访32户"})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(
        (r["none_found"].as_bool(), r["count"].as_i64()),
        (Some(false), Some(1))
    );
    let (s, r) = post(
        &gw,
        url.clone(),
        json!({"grid": grid, "from": "2026-10-01", "to": "2026-10-31"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["none_found"], true, "a report of none found is a report");
    let (s, _) = post(
        &gw,
        url.clone(),
        json!({"grid": grid, "from": "2026-10-01", "to": "2026-10-31"}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "one report per grid and period");
    let (s, e) = post(&gw, url.clone(), json!({"grid": grid, "from": "2026-09-01", "to": "2026-09-30", "cases": [uuid::Uuid::now_v7()]})).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cases[0]"))
    );
    let (_, svc) = get(
        &disp,
        format!(
            "{}/api/v1/cases?type=service_event&grid={grid}&page_size=1",
            app.base
        ),
    )
    .await;
    if let Some(other) = svc["items"][0]["id"].as_str() {
        let (s, e) = post(
            &gw,
            url.clone(),
            json!({"grid": grid, "from": "2026-08-01", "to": "2026-08-31", "cases": [other]}),
        )
        .await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("cases[0]"))
        );
    }
    let (s, e) = post(
        &gw,
        url.clone(),
        json!({"grid": "330502001001999", "from": "2026-10-01", "to": "2026-10-31"}),
    )
    .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::UNPROCESSABLE_ENTITY,
        "{s} {e}"
    );
    let (s, list) = get(
        &disp,
        format!(
            "{}/api/v1/disputes/screenings?region=330502&from=2026-10-01&to=2026-11-30",
            app.base
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let mine: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["grid"] == grid.as_str())
        .collect();
    assert_eq!(mine.len(), 2);
    let (_, codes) = get(&disp, format!("{}/api/v1/disputes/codes", app.base)).await;
    assert_eq!(codes["codes"]["scale"].as_array().unwrap().len(), 3);
    assert_eq!(codes["codes"]["petition_channel"][0]["code"], "letter");
    let (_, doc) = get(&Client::new(), format!("{}/api/v1/openapi.json", app.base)).await;
    for p in [
        "/api/v1/disputes/{id}",
        "/api/v1/disputes/{id}/agreement.html",
        "/api/v1/disputes/screenings",
        "/api/v1/mediators",
        "/api/v1/mediation/committees",
        "/api/v1/stats/disputes",
        "/api/v1/petitions/{id}",
        "/api/v1/petitions/backlog",
    ] {
        assert!(doc["paths"][p].is_object(), "openapi lacks {p}");
    }
    assert!(doc["components"]["schemas"]["CreateCase"]["properties"]["dispute"].is_object());
}
