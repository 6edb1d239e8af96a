//! Typed actions over HTTP: an action missing a field it needs (or with one that is invalid) is
//! a 422 naming that field, answered before the workflow, the store or anything else is asked,
//! and nothing is written — not the case, not its history, not a dispute's records.

use super::helpers::*;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

story!(an_action_missing_a_field_is_refused_naming_it_and_writes_nothing);

const LAT: f64 = 30.78412;
const LON: f64 = 120.02352;

/// The case as staff see it and its history length: what a refused action must leave alone.
async fn snapshot(app: &TestApp, c: &Client, id: &str) -> (Value, usize) {
    let (s, case) = get(c, format!("{}/api/v1/cases/{id}", app.base)).await;
    assert_eq!(s, StatusCode::OK, "{case}");
    let (_, h) = get(c, format!("{}/api/v1/cases/{id}/history", app.base)).await;
    let n = h["items"].as_array().map(Vec::len).unwrap_or_default();
    (case, n)
}

/// Fires `body` and checks it is a 422 naming `field`, with the case and history unchanged.
async fn refused(app: &TestApp, c: &Client, id: &str, body: Value, field: &str) {
    let (before, n) = snapshot(app, c, id).await;
    let (s, e) = act(app, c, id, body.clone()).await;
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
        "{body}: {e}"
    );
    let (after, m) = snapshot(app, c, id).await;
    assert_eq!(
        (&after["version"], &after["status"], m),
        (&before["version"], &before["status"], n),
        "{body} wrote nothing"
    );
}

async fn an_action_missing_a_field_is_refused_naming_it_and_writes_nothing(app: &TestApp) {
    let gw = login(app, "demo-gridworker").await;
    let disp = login(app, "demo-dispatcher").await;
    let (s, case) = post(
        &gw,
        format!("{}/api/v1/cases", app.base),
        json!({"category": "C0102", "description": "污水井盖丢了，有人差点掉下去。", "lat": LAT, "lon": LON}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case}");
    let id = case["id"].as_str().unwrap().to_string();
    // Missing fields are named before the workflow is asked: a dispatch of a case not yet
    // registered is refused for its missing department, not for its state.
    refused(app, &disp, &id, json!({"action": "dispatch"}), "department").await;
    act_ok(app, &disp, &id, json!({"action": "register"})).await;
    refused(app, &disp, &id, json!({"action": "dispatch"}), "department").await;
    refused(
        app,
        &disp,
        &id,
        json!({"action": "dispatch", "department": "   "}),
        "department",
    )
    .await;
    refused(app, &disp, &id, json!({"action": "verify"}), "passed").await;
    refused(
        app,
        &disp,
        &id,
        json!({"action": "supervise", "level": "orange"}),
        "level",
    )
    .await;
    refused(
        app,
        &disp,
        &id,
        json!({"action": "rate", "score": 9}),
        "score",
    )
    .await;
    refused(app, &disp, &id, json!({"action": "link_duplicate"}), "of").await;
    refused(
        app,
        &disp,
        &id,
        json!({"action": "request_extension", "extend_by": "a while"}),
        "extend_by",
    )
    .await;
    refused(app, &disp, &id, json!({"action": "teleport"}), "action").await;
    // The staff page's dispatch form, asking for a higher urgency without a department: refused
    // before the expedite it implies is stored, so the case keeps its urgency and history.
    let (before, n) = snapshot(app, &disp, &id).await;
    let web = web_session(app, "demo-dispatcher", PASSWORD).await;
    let page = web
        .get(format!("{}/work/cases/{id}", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("action", "dispatch")
        .text("urgency", "emergency")
        .text("department", " ")
        .text("csrf", csrf_of(&page));
    let r = web
        .post(format!("{}/work/cases/{id}/act", app.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (after, m) = snapshot(app, &disp, &id).await;
    assert_eq!(
        (&after["version"], &after["urgency"], m),
        (&before["version"], &before["urgency"], n),
        "the form's refused dispatch wrote nothing"
    );
    // A field the action does not use is ignored, as it always was.
    let v = act_ok(
        app,
        &disp,
        &id,
        json!({"action": "dispatch", "department": "330502-cgj", "passed": true}),
    )
    .await;
    assert_eq!(v["status"], "dispatched", "{v}");

    // A dispute: assign without a mediator writes neither the case nor its dispute record.
    let med = login(app, "demo-mediator").await;
    let (s, dispute) = post(
        &gw,
        format!("{}/api/v1/cases", app.base),
        json!({
            "type": "dispute", "category": "D0202", "lat": LAT, "lon": LON,
            "description": "楼上卫生间漏水，楼下天花板发霉脱落。",
            "dispute": {
                "scale": "01", "grade": "04", "occurred_on": "2026-11-01", "found_by": "report",
                "parties": [
                    {"role": "applicant", "name": "张建国", "phone": "13812345678"},
                    {"role": "respondent", "name": "李秀英", "phone": "13987654321"}
                ]
            }
        }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{dispute}");
    let did = dispute["id"].as_str().unwrap().to_string();
    act_ok(app, &med, &did, json!({"action": "accept"})).await;
    refused(app, &med, &did, json!({"action": "assign"}), "mediator").await;
    refused(
        app,
        &med,
        &did,
        json!({"action": "assign", "mediator": uuid::Uuid::now_v7(), "method": "0201"}),
        "method",
    )
    .await;
    refused(
        app,
        &med,
        &did,
        json!({"action": "hand_on", "note": "调解不成"}),
        "destination",
    )
    .await;
    refused(
        app,
        &med,
        &did,
        json!({"action": "hand_on", "note": "调解不成", "destination": "arbitration"}),
        "destination_body",
    )
    .await;
    let (s, d) = get(&med, format!("{}/api/v1/disputes/{did}", app.base)).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["case"]["status"], "accepted", "{d}");
    let record = &d["record"];
    assert!(
        record["mediator"].is_null() && record["outcome"].is_null(),
        "no mediator, no outcome recorded: {record}"
    );
}
