//! Service requests (服务请求) are cases (filing one: `filing.rs`). GET lists and reads them with
//! the standard filters, the paging extension and `extensions=true`. Only what the public
//! tracking view shows goes out: never the reporter, never staff names; disputes and petitions
//! (private matters between people) are no services and never go out at all. Free text goes out
//! with identifiers and the reporter's name masked, places coarsened to about 100 m
//! (`crate::app::pii`): Open311 callers are the public, whatever key they hold.

use super::format::{Body, Format, Node};
use super::status;
use super::{Done, Fail, Params, jurisdiction, parse_time, query_params, respond};
use crate::app::state::SharedState;
use crate::app::time::local_time;
use crate::app::view::CaseView;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use safegrid_domain::engine::Case;
use safegrid_domain::workflow::workflow;
use safegrid_store::{EventRow, Open311Query, StoreError};
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

/// History actions whose notes the public may read (the tracking view's rule, plus residents'
/// own updates pushed through Open311).
pub const PUBLIC_NOTE_ACTIONS: [&str; 6] = [
    "report",
    "handle",
    "close",
    "reject",
    "self_handle",
    "comment",
];

/// Case types that are no Open311 services: disputes (矛盾纠纷) and petitions (信访) are about
/// named people. The store leaves them out of lists and the feed; lookups by id or token answer
/// 404 for them, as for a missing request.
fn private_type(case_type: &str) -> bool {
    matches!(case_type, "dispute" | "petition")
}

/// The words for a state: "待派遣 (Registered, awaiting dispatch)".
pub fn state_label(case_type: &str, state: &str) -> String {
    workflow(case_type)
        .and_then(|w| w.state(state))
        .map(|s| format!("{} ({})", s.zh, s.en))
        .unwrap_or_else(|| state.to_string())
}

/// Whether the public may read the note of this history entry at all.
pub fn note_is_public(case_type: &str, action: &str) -> bool {
    !private_type(case_type) && PUBLIC_NOTE_ACTIONS.contains(&action)
}

/// What the public may read of one history entry: its note where public (masked with the case's
/// `names`, `crate::app::pii`), else the state reached.
pub fn public_description(
    case_type: &str,
    action: &str,
    to: &str,
    note: Option<&str>,
    names: &[String],
) -> String {
    match note {
        Some(n) if note_is_public(case_type, action) => crate::app::pii::mask(n, names),
        _ => state_label(case_type, to),
    }
}

fn report_data(events: &[EventRow]) -> Value {
    events
        .iter()
        .find(|e| e.action == "report")
        .and_then(|e| serde_json::from_str::<Value>(&e.data).ok())
        .and_then(|d| d.get("open311").cloned())
        .unwrap_or(Value::Null)
}

/// One request as Open311 shows it; every field present, `null` where empty.
fn request_node(
    st: &SharedState,
    case: &Case,
    events: &[EventRow],
    departments: &HashMap<String, String>,
    extensions: bool,
) -> Node {
    // The public's view of the case (`app::view`): free text masked, the place coarsened.
    let names = crate::app::pii::reporter_names(case);
    let v = CaseView::named(st, case, None, &names);
    let private = private_type(&v.case_type);
    let status_notes = if private {
        None
    } else {
        events
            .iter()
            .rev()
            .filter(|e| PUBLIC_NOTE_ACTIONS.contains(&e.action.as_str()))
            .find_map(|e| e.note.as_deref().map(|n| crate::app::pii::mask(n, &names)))
    };
    let o311 = report_data(events);
    let media_url = o311
        .get("media_url")
        .and_then(Value::as_str)
        .map(str::to_string);
    let public = |x: Option<String>| if private { None } else { x };
    let place = |x: Option<f64>| if private { None } else { x };
    let mut fields = vec![
        ("service_request_id", Node::str(v.id.to_string())),
        (
            "status",
            Node::str(status::standard(&v.case_type, &v.status)),
        ),
        ("status_notes", Node::opt(status_notes)),
        (
            "service_name",
            Node::opt(v.category_name.as_ref().map(|n| n.zh.clone())),
        ),
        ("service_code", Node::str(v.category.clone())),
        (
            "description",
            Node::opt(public(Some(v.description.clone()))),
        ),
        (
            "agency_responsible",
            Node::opt(
                v.department
                    .as_ref()
                    .map(|d| departments.get(d).cloned().unwrap_or_else(|| d.clone())),
            ),
        ),
        ("service_notice", Node::Null),
        ("requested_datetime", Node::str(v.created_at.clone())),
        ("updated_datetime", Node::str(v.updated_at.clone())),
        ("expected_datetime", Node::opt(v.due_at.clone())),
        ("address", Node::opt(public(v.address.clone()))),
        ("address_id", Node::Null),
        ("zipcode", Node::Null),
        ("lat", Node::num(place(v.lat))),
        ("long", Node::num(place(v.lon))),
        ("media_url", Node::opt(media_url)),
    ];
    if extensions {
        let notes = events
            .iter()
            .map(|e| {
                Node::obj(vec![
                    (
                        "datetime",
                        Node::str(local_time(safegrid_store::from_ms(e.at))),
                    ),
                    (
                        "description",
                        Node::str(public_description(
                            &case.case_type,
                            &e.action,
                            &e.to_status,
                            e.note.as_deref(),
                            &names,
                        )),
                    ),
                    ("type", Node::str(e.action.clone())),
                ])
            })
            .collect();
        let mut attributes = vec![];
        if let Some(m) = o311.get("attributes").and_then(Value::as_object) {
            for (code, v) in m {
                let values: Vec<String> = match v {
                    Value::Array(a) => a.iter().map(value_text).collect(),
                    other => vec![value_text(other)],
                };
                for value in values {
                    attributes.push(Node::obj(vec![
                        ("code", Node::str(code.clone())),
                        ("value", Node::str(crate::app::pii::mask(&value, &names))),
                    ]));
                }
            }
        }
        fields.push((
            "extended_attributes",
            Node::obj(vec![
                ("case_number", Node::str(v.number.clone())),
                ("state", Node::str(v.status.clone())),
                (
                    "state_name",
                    Node::str(state_label(&v.case_type, &v.status)),
                ),
                (
                    "extended_status",
                    Node::str(status::extended(&v.case_type, &v.status)),
                ),
                ("case_type", Node::str(v.case_type.clone())),
                ("channel", Node::str(v.channel.clone())),
                ("grid_code", Node::opt(v.grid_code.clone())),
                ("region_code", Node::str(v.region_code.clone())),
                ("needs_location", Node::Bool(v.needs_location)),
            ]),
        ));
        fields.push(("attributes", Node::List("attribute", attributes)));
        fields.push(("notes", Node::List("note", notes)));
    }
    Node::obj(fields)
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn department_names(st: &SharedState) -> Result<HashMap<String, String>, Fail> {
    Ok(st
        .store
        .departments()
        .await?
        .into_iter()
        .map(|d| (d.code, d.name_zh))
        .collect())
}

async fn render_cases(st: &SharedState, cases: &[Case], extensions: bool, f: Format) -> Done {
    let events = st.store.events_of_cases(cases).await?;
    let depts = department_names(st).await?;
    let empty = vec![];
    let items = cases
        .iter()
        .map(|c| {
            request_node(
                st,
                c,
                events.get(&c.id).unwrap_or(&empty),
                &depts,
                extensions,
            )
        })
        .collect();
    Ok(Body::List {
        root: "service_requests",
        item: "request",
        items,
    }
    .render(f, StatusCode::OK))
}

fn flag(p: &Params, name: &str) -> Result<bool, Fail> {
    match p.get(name).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(Fail::bad(format!("{name}: must be true or false"))),
    }
}

fn int(
    p: &Params,
    name: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, Fail> {
    match p.get(name) {
        None => Ok(default),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|v| range.contains(v))
            .ok_or_else(|| {
                Fail::bad(format!(
                    "{name}: must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ))
            }),
    }
}

/// Most requests one list returns (the spec's default volume, and the page size cap).
pub const MAX_PAGE: i64 = 1000;
/// The default window of the lists, in days.
pub const DEFAULT_DAYS: i64 = 90;

/// Splits request ids into case ids and case numbers.
fn ids_of(raw: &[String], q: &mut Open311Query) {
    for s in raw {
        match Uuid::parse_str(s) {
            Ok(u) => q.ids.push(u),
            // A case number is digits only; anything else cannot match and is left out.
            Err(_) if s.len() <= 30 && s.bytes().all(|b| b.is_ascii_digit()) => {
                q.numbers.push(s.clone())
            }
            Err(_) => {}
        }
    }
}

pub async fn list(st: &SharedState, p: &Params, f: Format) -> Done {
    let j = jurisdiction(st, p).await?;
    let extensions = flag(p, "extensions")?;
    let mut q = Open311Query {
        region_prefix: Some(j.prefix().to_string()),
        ..Default::default()
    };
    let ids = p.list("service_request_id");
    if ids.len() > MAX_PAGE as usize {
        return Err(Fail::bad(format!(
            "service_request_id: at most {MAX_PAGE} ids at once"
        )));
    }
    q.categories = p.list("service_code");
    let mut errors = vec![];
    if q.categories.len() > 500 {
        errors.push("service_code: at most 500 codes at once".to_string());
    }
    for s in p.list("status") {
        match s.to_ascii_lowercase().as_str() {
            "open" => q.statuses.extend(status::open_states()),
            "closed" => q.statuses.extend(status::terminal_states()),
            other => errors.push(format!(
                "status: {other} is not a status; use open, closed or both (comma-separated)"
            )),
        }
    }
    let mut time = |name: &str, end: bool| match p.get(name) {
        None => None,
        Some(s) => match parse_time(s, name, end) {
            Ok(t) => Some(t),
            Err(e) => {
                errors.extend(e.messages);
                None
            }
        },
    };
    let start = time("start_date", false);
    let end = time("end_date", true);
    let updated_after = time("updated_after", false);
    let updated_before = time("updated_before", true);
    let page = int(p, "page", 1, 1..=1_000_000)
        .map_err(|e| errors.extend(e.messages))
        .ok();
    let page_size = int(p, "page_size", MAX_PAGE, 1..=MAX_PAGE)
        .map_err(|e| errors.extend(e.messages))
        .ok();
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        errors.push("end_date: must not be before start_date".into());
    }
    if !errors.is_empty() {
        return Err(Fail {
            status: StatusCode::BAD_REQUEST,
            messages: errors,
            retry_after: None,
        });
    }
    // Ids override every filter (GeoReport v2), though a malformed filter is refused all the
    // same, as the API documents each parameter (found by the schema fuzzer).
    if !ids.is_empty() {
        let mut by_id = Open311Query {
            region_prefix: q.region_prefix.take(),
            ..Default::default()
        };
        ids_of(&ids, &mut by_id);
        by_id.limit = MAX_PAGE;
        if by_id.ids.is_empty() && by_id.numbers.is_empty() {
            return render_cases(st, &[], extensions, f).await;
        }
        let cases = st.store.open311_cases(&by_id).await?;
        return render_cases(st, &cases, extensions, f).await;
    }
    // Without dates: the last 90 days (and at most 1,000 requests, the page size cap). A client
    // syncing by `updated_after`/`updated_before` asks about changes, not creation: an old case
    // changed yesterday must reach it, so that window alone bounds the list.
    let by_update = updated_after.is_some() || updated_before.is_some();
    q.created_from = match (start, end) {
        (Some(s), _) => Some(s),
        (None, Some(e)) => Some(e - Duration::days(DEFAULT_DAYS)),
        (None, None) if by_update => None,
        (None, None) => Some(Utc::now() - Duration::days(DEFAULT_DAYS)),
    };
    q.created_to = end;
    q.updated_after = updated_after;
    q.updated_before = updated_before;
    let (page, page_size) = (page.unwrap_or(1), page_size.unwrap_or(MAX_PAGE));
    q.limit = page_size;
    q.offset = crate::app::input::page_offset(page, page_size)?;
    let cases = st.store.open311_cases(&q).await?;
    render_cases(st, &cases, extensions, f).await
}

/// A case of this jurisdiction by id (or case number); 404 otherwise.
pub async fn find_case(st: &SharedState, id: &str, prefix: &str) -> Result<Case, Fail> {
    let found = match Uuid::parse_str(id) {
        Ok(u) => st.store.case(u).await,
        Err(_) => st.store.case_by_number(id).await,
    };
    match found {
        Ok(c) if c.region_code.as_str().starts_with(prefix) && !private_type(&c.case_type) => Ok(c),
        Ok(_) | Err(StoreError::NotFound) => Err(Fail::not_found(format!(
            "service_request_id: no request {id}"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// One request: `{service_request_id}.json` or `.xml`.
#[utoipa::path(get, path = "/requests/{file}", tag = "open311", summary = "Open311 request: {service_request_id}.json or .xml",
    params(("file" = String, Path, description = "the request id with .json or .xml"), super::doc::OneRequestQuery),
    responses((status = 200, description = "A list of the one request (XML: <service_requests><request>)", content(
        (Vec<super::doc::ServiceRequest> = "application/json"),
        (String = "text/xml")))))]
pub async fn one(
    State(st): State<SharedState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some((id, f)) = Format::split(&file) else {
        return Fail::not_found(format!("{file}: add .xml or .json")).render(Format::Xml);
    };
    let result = async {
        let p = query_params(&q)?;
        let j = jurisdiction(&st, &p).await?;
        let case = find_case(&st, id, j.prefix()).await?;
        render_cases(&st, &[case], flag(&p, "extensions")?, f).await
    }
    .await;
    respond(f, result)
}

/// A token's request: `{token}.json` or `.xml`.
#[utoipa::path(get, path = "/tokens/{file}", tag = "open311", summary = "Open311 token lookup: {token}.json or .xml",
    params(("file" = String, Path, description = "the token with .json or .xml"), super::doc::JurisdictionQuery),
    responses((status = 200, description = "The request the token stands for (XML: <service_requests><request>)", content(
        (Vec<super::doc::TokenFound> = "application/json"),
        (String = "text/xml")))))]
pub async fn token(
    State(st): State<SharedState>,
    Path(file): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some((token, f)) = Format::split(&file) else {
        return Fail::not_found(format!("{file}: add .xml or .json")).render(Format::Xml);
    };
    let result = async {
        let p = query_params(&q)?;
        let j = jurisdiction(&st, &p).await?;
        let case = match st.store.case_by_tracking_code(token.trim()).await {
            Ok(c)
                if c.region_code.as_str().starts_with(j.prefix())
                    && !private_type(&c.case_type) =>
            {
                c
            }
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(Fail::not_found(format!("token: unknown token {token}")));
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Body::List {
            root: "service_requests",
            item: "request",
            items: vec![Node::obj(vec![
                ("service_request_id", Node::str(case.id.to_string())),
                ("token", Node::str(case.tracking_code)),
            ])],
        }
        .render(f, StatusCode::OK))
    }
    .await;
    respond(f, result)
}
