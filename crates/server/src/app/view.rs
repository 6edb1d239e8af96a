//! What a caller sees of a case (案件视图): its fields as this viewer may see them — contact masked
//! or absent, free text masked (`app::pii`), the tracking code only for those who need it — and
//! its history entries. The API answers it as JSON; the pages, exports and Open311 read from it.

use crate::app::error::AppResult;
use crate::app::scope::{may_reveal, sees_tracking_code};
use crate::app::state::SharedState;
use crate::app::time::{local_time, opt_local_time};
use chrono::Utc;
use safegrid_domain::codes::{PersonName, Phone};
use safegrid_domain::engine::{self, Case};
use safegrid_domain::workflow::workflow;
use safegrid_store::{User, from_ms};
use serde_json::{Value, json};

/// Reporter contact as this viewer may see it (PIPL: minimal, masked). Nobody sees it in the
/// clear here: whoever must call back asks `POST /cases/{id}/reveal` with a reason, which is
/// audited. An anonymous report (匿名) shows no contact at all, even masked, except to those who may
/// reveal it.
fn reporter_json(case: &Case, viewer: Option<&User>) -> Value {
    if case.reporter_name.is_none() && case.reporter_phone.is_none() {
        return Value::Null;
    }
    let may_reveal = viewer.is_some_and(|u| may_reveal(u, case));
    if case.reporter_anonymous && !may_reveal {
        return json!({ "anonymous": true, "masked": true, "name": null, "phone": null, "may_reveal": false });
    }
    let name = case.reporter_name.as_deref().map(|n| {
        PersonName::parse(n)
            .map(|p| p.masked())
            .unwrap_or_else(|_| "*".into())
    });
    let phone = case.reporter_phone.as_deref().map(|p| {
        Phone::parse(p)
            .map(|p| p.masked())
            .unwrap_or_else(|_| "****".into())
    });
    json!({ "name": name, "phone": phone, "masked": true, "anonymous": case.reporter_anonymous, "may_reveal": may_reveal })
}

/// The case as `viewer` (None: the public) sees it. Free text is masked for every viewer
/// (`crate::app::pii`): the reporter's contact is masked for every role, so is what was typed of it.
/// This masks the reporter's name; pages of one case mask the other names it holds too
/// (`with_names`).
pub fn case_json(st: &SharedState, case: &Case, viewer: Option<&User>) -> Value {
    let typed_names = crate::app::pii::reporter_names(case);
    let wf = workflow(&case.case_type);
    let state = wf.and_then(|w| w.state(&case.status));
    let cats = st.categories();
    let cat = cats.get(&case.category);
    let names = st.region_names();
    let now = Utc::now();
    let allowed: Vec<String> = viewer
        .map(|u| engine::allowed_actions(case, &u.actor()))
        .unwrap_or_default();
    json!({
        "id": case.id,
        "number": case.number,
        "tracking_code": viewer.filter(|u| sees_tracking_code(u, case)).map(|_| &case.tracking_code),
        "type": case.case_type,
        "category": case.category,
        "category_name": cat.map(|c| json!({"zh": c.name_zh, "en": c.name_en})),
        "status": case.status,
        "status_name": state.map(|s| json!({"zh": s.zh, "en": s.en})),
        "terminal": state.is_some_and(|s| s.terminal),
        "urgency": case.urgency,
        "channel": case.channel,
        "description": crate::app::pii::mask(&case.description, &typed_names),
        "address": case.address.as_deref().map(|a| crate::app::pii::mask(a, &typed_names)),
        "lat": case.lat,
        "lon": case.lon,
        "grid_code": case.grid_code,
        "region_code": case.region_code,
        "region_name": names.get(&case.region_code),
        "needs_grid": case.needs_grid,
        "needs_location": case.needs_location,
        "department": case.department,
        "reporter": reporter_json(case, viewer),
        "created_at": local_time(case.created_at),
        "updated_at": local_time(case.updated_at),
        "registered_at": opt_local_time(case.registered_at),
        "dispatched_at": opt_local_time(case.dispatched_at),
        "handled_at": opt_local_time(case.handled_at),
        "verified_at": opt_local_time(case.verified_at),
        "closed_at": opt_local_time(case.closed_at),
        "due_at": opt_local_time(case.due_at),
        "stage": case.stage,
        "stage_limit": case.stage_limit,
        "stage_started_at": opt_local_time(case.stage_started_at),
        "stage_due_at": opt_local_time(case.stage_due_at),
        "light": engine::live_light(case, now),
        "supervision": case.supervision,
        "expedited": case.expedited,
        "duplicate_of": case.duplicate_of,
        "rating": case.rating,
        "rework_count": case.rework_count,
        "return_count": case.return_count,
        "extension_count": case.extension_count,
        "pending_extension": case.pending_extension,
        "overdue": case.ever_overdue || engine::live_light(case, now) == safegrid_domain::calendar::Light::Red,
        "version": case.version,
        "allowed_actions": allowed,
    })
}

/// `case_json`'s free text masked again with every name the case holds (a dispute's parties, a
/// petition's agent), for the answers about one case.
pub async fn with_names(st: &SharedState, case: &Case, mut v: Value) -> AppResult<Value> {
    let names = crate::app::pii::case_names(st, case).await?;
    v["description"] = json!(crate::app::pii::mask(&case.description, &names));
    v["address"] = json!(
        case.address
            .as_deref()
            .map(|a| crate::app::pii::mask(a, &names))
    );
    Ok(v)
}

/// One history entry; its note and data masked with `names` (see `crate::app::pii`).
pub fn event_json(e: &safegrid_store::EventRow, public: bool, names: &[String]) -> Value {
    let mut data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
    crate::app::pii::mask_json(&mut data, names);
    let mut v = json!({
        "seq": e.seq,
        "action": e.action,
        "from": e.from_status,
        "to": e.to_status,
        "role": e.actor_role,
        "at": local_time(from_ms(e.at)),
        "note": e.note.as_deref().map(|n| crate::app::pii::mask(n, names)),
        "data": data,
    });
    if !public {
        v["actor"] = json!(e.actor_name);
        v["actor_id"] = json!(e.actor_id);
    }
    v
}
