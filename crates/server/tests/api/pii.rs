//! Personal data typed into free text (security finding 2 of issue 26): ID numbers, phone numbers
//! and names written into a description, an action note, a dispute's summary, session notes and
//! agreement, in the forms people type them. Every output is fetched by every kind of viewer and
//! searched for every form of every original; the audited reveal gives them back.

use super::helpers::*;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// The reporter, named in the description too.
const REPORTER: &str = "欧阳明远";
/// A dispute's person parties.
const PARTIES: [&str; 2] = ["蔺相如", "甘茂林"];

/// Identifiers as people type them, each with the other forms it must not appear in.
const TYPED: [(&str, &[&str]); 7] = [
    (
        "１３８００１３８０００",
        &["13800138000", "１３８００１３８０００", "138 0013 8000"],
    ),
    ("138-1234-5678", &["13812345678", "138-1234-5678"]),
    ("139 8765 4321", &["13987654321", "139 8765 4321"]),
    (
        "+86 137 1111 2222",
        &["13711112222", "137 1111 2222", "+86 137"],
    ),
    ("0572-1234567", &["0572-1234567", "05721234567", "-1234567"]),
    (
        "（0572）7654321",
        &["）7654321", "05727654321", "(0572)7654321"],
    ),
    (
        "33052119850315002X",
        &["33052119850315002X", "19850315", "3305211985"],
    ),
];

/// Free text carrying every typed identifier and the given names.
fn fixture(names: &[&str]) -> String {
    let typed: Vec<&str> = TYPED.iter().map(|(t, _)| *t).collect();
    format!(
        "楼道堆物测试：{}反映楼道堆满杂物。手机{}或{}，家里{}，儿子{}，座机{}，传真{}，身份证号{}。",
        names.join("、"),
        typed[0],
        typed[1],
        typed[2],
        typed[3],
        typed[4],
        typed[5],
        typed[6]
    )
}

/// Every form of every original that must not appear in `what`.
fn needles(names: &[&str]) -> Vec<String> {
    TYPED
        .iter()
        .flat_map(|(t, forms)| std::iter::once(*t).chain(forms.iter().copied()))
        .chain(names.iter().copied())
        .map(str::to_string)
        .collect()
}

#[track_caller]
fn clean(what: &str, text: &str, names: &[&str]) {
    for n in needles(names) {
        assert!(
            !text.contains(&n),
            "{what} shows {n:?}:\n{}",
            &text[text.find(&n).unwrap().saturating_sub(300)..]
                .chars()
                .take(700)
                .collect::<String>()
        );
    }
}

async fn text(c: &Client, url: String) -> (StatusCode, String) {
    let r = c.get(url).send().await.expect("GET");
    let s = r.status();
    (s, r.text().await.expect("body"))
}

/// Fetches `url` as `c`, asserts 200 and that no original shows.
async fn fetch_clean(c: &Client, who: &str, url: String, names: &[&str]) -> String {
    let (s, body) = text(c, url.clone()).await;
    assert_eq!(s, StatusCode::OK, "{who} {url}: {body}");
    clean(&format!("{who} {url}"), &body, names);
    body
}

story!(a_report_and_its_notes);
story!(a_dispute_summary_sessions_and_agreement);

async fn a_report_and_its_notes(app: &TestApp) {
    let b = &app.base;
    let gw = login(app, "demo-gridworker").await;
    let disp = login(app, "demo-dispatcher").await;
    let handler = login(app, "demo-handler").await;
    let leader = login(app, "demo-leader").await;
    let admin = login(app, "demo-admin").await;
    let anon = Client::new();
    let names = [REPORTER];
    let description = fixture(&names);
    let (lat, lon) = (30.78412, 120.02352);
    let (s, case) = post(
        &gw,
        format!("{b}/api/v1/cases"),
        json!({"category": "C0101", "description": description, "lat": lat, "lon": lon,
               "address": "红旗路88号3单元501室",
               "reporter": {"name": REPORTER, "phone": "13600001234"}}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    clean("the create answer", &case.to_string(), &names);
    let id = case["id"].as_str().unwrap().to_string();
    let number = case["number"].as_str().unwrap().to_string();
    // Masked, not dropped: the reader still sees that a number was given.
    let d = case["description"].as_str().unwrap();
    assert!(
        d.contains("138****5678") && d.contains("0572-***4567"),
        "{d}"
    );
    assert!(
        d.contains("330*************2X") && d.contains("欧阳**"),
        "{d}"
    );
    let note = format!("登记：{}", fixture(&names));
    act_ok(app, &disp, &id, json!({"action": "register", "note": note})).await;
    act_ok(
        app,
        &disp,
        &id,
        json!({"action": "dispatch", "department": "330502-cgj", "note": fixture(&names)}),
    )
    .await;
    act_ok(app, &handler, &id, json!({"action": "accept"})).await;
    // A handling note is shown on the public tracking view and in Open311.
    act_ok(
        app,
        &handler,
        &id,
        json!({"action": "handle", "note": format!("已清理。{}", fixture(&names))}),
    )
    .await;
    let code = app
        .state
        .store
        .case(uuid::Uuid::parse_str(&id).unwrap())
        .await
        .unwrap()
        .tracking_code;

    let q = "%E6%A5%BC%E9%81%93%E5%A0%86%E7%89%A9%E6%B5%8B%E8%AF%95"; // 楼道堆物测试
    for (who, c) in [
        ("leader", &leader),
        ("dispatcher", &disp),
        ("grid worker", &gw),
        ("handler", &handler),
    ] {
        let one = fetch_clean(c, who, format!("{b}/api/v1/cases/{id}"), &names).await;
        assert!(one.contains("138****5678"), "{who}: {one}");
        let list = fetch_clean(c, who, format!("{b}/api/v1/cases?q={q}"), &names).await;
        assert!(list.contains(&id), "{who} lists the case: {list}");
        fetch_clean(c, who, format!("{b}/api/v1/cases/{id}/history"), &names).await;
        let page = fetch_clean(c, who, format!("{b}/work/cases/{id}"), &names).await;
        assert!(page.contains("138****5678"), "{who}'s case page: {page}");
        let search = fetch_clean(c, who, format!("{b}/work/cases?q={q}"), &names).await;
        assert!(search.contains(&id), "{who} finds the case: {search}");
    }
    for (who, c) in [
        ("leader", &leader),
        ("dispatcher", &disp),
        ("admin", &admin),
    ] {
        let csv = fetch_clean(c, who, format!("{b}/api/v1/cases/export.csv?q={q}"), &names).await;
        assert!(
            csv.contains(&number) && csv.contains("138****5678"),
            "{csv}"
        );
    }
    fetch_clean(&disp, "dispatcher", format!("{b}/work/queue"), &names).await;
    fetch_clean(&handler, "handler", format!("{b}/work/inbox"), &names).await;
    fetch_clean(&gw, "grid worker", format!("{b}/work/grid"), &names).await;

    // The public: no personal data, and the place to about 100 m only.
    let exact = ["30.78412", "120.02352", "30.784120", "120.023520"];
    let tracked = fetch_clean(
        &anon,
        "anonymous",
        format!("{b}/api/v1/track/{code}"),
        &names,
    )
    .await;
    let v: Value = serde_json::from_str(&tracked).unwrap();
    assert_eq!(
        (v["lat"].as_f64(), v["lon"].as_f64()),
        (Some(30.784), Some(120.024)),
        "{v}"
    );
    assert!(v["reporter"].is_null() && v["address"].is_null(), "{v}");
    let timeline = v["timeline"].to_string();
    assert!(
        timeline.contains("已清理") && timeline.contains("138****5678"),
        "{timeline}"
    );
    for page in [
        format!("{b}/track/{code}"),
        format!("{b}/board"),
        format!("{b}/open311/v2/requests/{id}.json?extensions=true"),
        format!("{b}/open311/v2/requests/{id}.xml?extensions=true"),
        format!("{b}/open311/v2/requests.json?service_request_id={id}&extensions=true"),
        format!("{b}/open311/v2/requests.xml?service_request_id={id}&extensions=true"),
        format!("{b}/open311/v2/servicerequestupdates.json"),
        format!("{b}/open311/v2/servicerequestupdates.xml"),
    ] {
        let body = fetch_clean(&anon, "anonymous", page.clone(), &names).await;
        for e in exact {
            assert!(!body.contains(e), "{page} shows the exact place {e}");
        }
    }
    let o: Value = serde_json::from_str(
        &text(
            &anon,
            format!("{b}/open311/v2/requests/{id}.json?extensions=true"),
        )
        .await
        .1,
    )
    .unwrap();
    assert_eq!(
        (o[0]["lat"].as_f64(), o[0]["long"].as_f64()),
        (Some(30.784), Some(120.024)),
        "{o}"
    );
    assert!(
        o[0]["description"]
            .as_str()
            .unwrap()
            .contains("138****5678"),
        "{o}"
    );

    // The audited reveal gives back what was typed, to the one who calls back.
    let (s, r) = post(
        &disp,
        format!("{b}/api/v1/cases/{id}/reveal"),
        json!({"reason": "回访核实处理结果"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["description"], description.as_str(), "{r}");
    let notes = r["notes"].to_string();
    for (t, _) in TYPED {
        assert!(notes.contains(t), "the reveal gives back {t}: {notes}");
    }
    assert!(
        notes.contains("登记：楼道堆物测试") && notes.contains(REPORTER),
        "{notes}"
    );
    let (_, a) = get(
        &admin,
        format!("{b}/api/v1/admin/audit?action=privacy.reveal&target_id={number}"),
    )
    .await;
    assert!(
        a["items"].as_array().unwrap().iter().any(|e| e["actor"] == "demo-dispatcher"
            && e["detail"]["reason"] == "回访核实处理结果"),
        "{a}"
    );
    // The web's "show full contact" form: the same audit entry, the text as typed.
    let page = text(&disp, format!("{b}/work/cases/{id}")).await.1;
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field");
    let csrf = page[at + 19..].split('"').next().unwrap().to_string();
    let r = disp
        .post(format!("{b}/work/cases/{id}/reveal"))
        .form(&[("csrf", csrf.as_str()), ("reason", "电话回访反映人")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let revealed = r.text().await.unwrap();
    assert!(
        revealed.contains("138-1234-5678") && revealed.contains(REPORTER),
        "{revealed}"
    );
    let (_, a) = get(
        &admin,
        format!("{b}/api/v1/admin/audit?action=privacy.reveal&target_id={number}"),
    )
    .await;
    assert!(
        a["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["detail"]["reason"] == "电话回访反映人"),
        "{a}"
    );
    // Those who may not reveal get nothing back.
    let (s, _) = post(
        &leader,
        format!("{b}/api/v1/cases/{id}/reveal"),
        json!({"reason": "想看看"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn a_dispute_summary_sessions_and_agreement(app: &TestApp) {
    let b = &app.base;
    let admin = login(app, "demo-admin").await;
    let gw = login(app, "demo-gridworker").await;
    let med = login(app, "demo-mediator").await;
    let leader = login(app, "demo-leader").await;
    let disp = login(app, "demo-dispatcher").await;
    let (s, c) = post(
        &admin,
        format!("{b}/api/v1/mediation/committees"),
        json!({"name": "吴兴区人民调解委员会（脱敏测试）", "kind": "township", "region": "330502"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (s, m) = post(
        &admin,
        format!("{b}/api/v1/mediators"),
        json!({"committee": c["id"], "name": "沈调解", "username": "demo-mediator"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let names = [PARTIES[0], PARTIES[1]];
    let summary = fixture(&names);
    let (s, case) = post(&gw, format!("{b}/api/v1/cases"), json!({
        "type": "dispute", "category": "D0202", "lat": 30.78412, "lon": 120.02352,
        "description": summary,
        "dispute": {"parties": [
            {"role": "applicant", "name": PARTIES[0], "phone": "13512345678", "id_number": "11010519491231002X"},
            {"role": "respondent", "name": PARTIES[1]}
        ]}
    }))
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    clean("the dispute's create answer", &case.to_string(), &names);
    let id = case["id"].as_str().unwrap().to_string();
    act_ok(app, &med, &id, json!({"action": "accept"})).await;
    act_ok(
        app,
        &med,
        &id,
        json!({"action": "assign", "mediator": m["id"]}),
    )
    .await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive()
        .to_string();
    act_ok(app, &med, &id, json!({"action": "record_session", "session": {
        "held_on": today, "place": "社区调解室", "attendees": [PARTIES[0], PARTIES[1], "沈调解"],
        "notes": format!("调解记录：{}", fixture(&names)),
    }}))
    .await;
    act_ok(
        app,
        &med,
        &id,
        json!({"action": "reach_agreement", "agreement": {
            "form": "written",
            "content": format!("协议：{}", fixture(&names)),
            "obligations": format!("履行：{}", fixture(&names)),
            "perform_by": "2026-12-31"
        }}),
    )
    .await;
    for (who, c) in [
        ("leader", &leader),
        ("dispatcher", &disp),
        ("grid worker", &gw),
    ] {
        let v = fetch_clean(c, who, format!("{b}/api/v1/disputes/{id}"), &names).await;
        assert!(v.contains("蔺**") || v.contains("蔺*"), "{who}: {v}");
        fetch_clean(
            c,
            who,
            format!("{b}/api/v1/disputes/{id}/agreement.html"),
            &names,
        )
        .await;
        fetch_clean(c, who, format!("{b}/api/v1/cases/{id}"), &names).await;
        fetch_clean(c, who, format!("{b}/api/v1/cases/{id}/history"), &names).await;
        fetch_clean(c, who, format!("{b}/work/cases/{id}"), &names).await;
    }
    let q = "%E6%A5%BC%E9%81%93%E5%A0%86%E7%89%A9%E6%B5%8B%E8%AF%95&type=dispute";
    fetch_clean(&leader, "leader", format!("{b}/api/v1/cases?q={q}"), &names).await;
    fetch_clean(
        &leader,
        "leader",
        format!("{b}/api/v1/cases/export.csv?q={q}"),
        &names,
    )
    .await;
    let search = fetch_clean(
        &leader,
        "leader",
        format!("{b}/work/cases?q=%E6%A5%BC%E9%81%93%E5%A0%86%E7%89%A9%E6%B5%8B%E8%AF%95"),
        &names,
    )
    .await;
    assert!(
        search.contains(&id),
        "the leader finds the dispute: {search}"
    );
    let grid = fetch_clean(&gw, "grid worker", format!("{b}/work/grid"), &names).await;
    assert!(
        grid.contains(&id),
        "the grid worker's page lists the dispute: {grid}"
    );
    let tracking = app
        .state
        .store
        .case(uuid::Uuid::parse_str(&id).unwrap())
        .await
        .unwrap()
        .tracking_code;
    let anon = Client::new();
    fetch_clean(
        &anon,
        "anonymous",
        format!("{b}/api/v1/track/{tracking}"),
        &names,
    )
    .await;
    fetch_clean(&anon, "anonymous", format!("{b}/track/{tracking}"), &names).await;
    // A screening report (排查) naming the dispute: identifiers in its notes are masked.
    let (s, r) = post(
        &gw,
        format!("{b}/api/v1/disputes/screenings"),
        json!({"grid": case["grid_code"], "from": "2026-08-01", "to": "2026-08-31",
               "cases": [id], "notes": fixture(&[])}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    clean("the screening answer", &r.to_string(), &[]);
    for (who, c) in [
        ("leader", &leader),
        ("grid worker", &gw),
        ("dispatcher", &disp),
    ] {
        let list = fetch_clean(
            c,
            who,
            format!("{b}/api/v1/disputes/screenings?region=330502&from=2026-08-01&to=2026-08-31"),
            &[],
        )
        .await;
        assert!(list.contains("138****5678"), "{who}: {list}");
    }
    // The mediator the dispute is assigned to sees it as typed, as before.
    let (_, v) = get(&med, format!("{b}/api/v1/disputes/{id}")).await;
    assert_eq!(v["case"]["description"], summary.as_str(), "{v}");
    assert!(
        v["sessions"][0]["notes"]
            .as_str()
            .unwrap()
            .contains("138-1234-5678"),
        "{v}"
    );
    assert!(
        v["agreement"]["content"]
            .as_str()
            .unwrap()
            .contains(PARTIES[1]),
        "{v}"
    );
}
