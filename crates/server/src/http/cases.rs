//! Case endpoints: create, read, list with filters, actions, history, and the public tracking view.

use super::auth::{CurrentUser, MaybeUser};
use super::error::{ApiError, ApiResult};
use super::json::ApiJson;
use super::policy::{self, Perm};
use super::{local_time, opt_local_time};
use crate::service::CreateCase;
use crate::state::SharedState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use safegrid_domain::Role;
use safegrid_domain::codes::{PersonName, Phone, RegionCode};
use safegrid_domain::engine::{self, ActionRequest, Case};
use safegrid_domain::workflow::workflow;
use safegrid_store::{CaseFilter, SortOrder, StoreError, User, from_ms};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// Whether `user` may see `case` at all (out of scope reads answer 404).
pub fn in_scope(user: &User, case: &Case) -> bool {
    match user.role {
        Role::Handler => case.department.is_some() && case.department == user.department,
        Role::GridWorker | Role::GridLeader => {
            case.grid_code
                .as_ref()
                .is_some_and(|g| user.grids.contains(g))
                || (!user.regions.is_empty() && user.covers_region(&case.region_code))
                || case.created_by == Some(user.id)
        }
        Role::Citizen => case.reporter_user == Some(user.id),
        _ => user.covers_region(&case.region_code),
    }
}

pub fn scope_filter(user: &User, f: &mut CaseFilter) {
    let shorts = |codes: &[String]| -> Vec<String> {
        codes
            .iter()
            .filter_map(|c| RegionCode::parse(c).ok())
            .map(|c| c.short().to_string())
            .collect()
    };
    match user.role {
        Role::Handler => match &user.department {
            Some(d) => f.scope_department = Some(d.clone()),
            None => f.scope_nothing = true,
        },
        Role::GridWorker | Role::GridLeader => {
            f.scope_grids = user.grids.clone();
            f.scope_regions = shorts(&user.regions);
            f.scope_creator = Some(user.id);
        }
        Role::Citizen => f.scope_reporter = Some(user.id),
        // An empty region list is "everywhere" for the root administrator only.
        _ if user.is_root() => {}
        _ if user.regions.is_empty() => f.scope_nothing = true,
        _ => f.scope_regions = shorts(&user.regions),
    }
}

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

/// Whether `user` may reveal this case's reporter contact: a role that calls residents back, with
/// the case in scope; for anonymous reports only the command center.
pub fn may_reveal(user: &User, case: &Case) -> bool {
    policy::allows(user.role, Perm::RevealContact)
        && in_scope(user, case)
        && (!case.reporter_anonymous || user.role == Role::Dispatcher)
}

/// Whether `user` sees the case's tracking code (查询码), the resident's secret that lets anyone
/// holding it rate the case or erase its contact: the command center (it tells a caller their
/// code) and administrators, the resident who reported it and the account that filed it for
/// them. Nobody else needs it, and staff who hold it must not act as the resident.
pub fn sees_tracking_code(user: &User, case: &Case) -> bool {
    matches!(user.role, Role::Dispatcher | Role::Admin)
        || case.reporter_user == Some(user.id)
        || case.created_by == Some(user.id)
}

/// The case as `viewer` (None: the public) sees it. Free text is masked for every viewer
/// (`crate::pii`): the reporter's contact is masked for every role, so is what was typed of it.
/// This masks the reporter's name; pages of one case mask the other names it holds too
/// (`with_names`).
pub fn case_json(st: &SharedState, case: &Case, viewer: Option<&User>) -> Value {
    let typed_names = crate::pii::reporter_names(case);
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
        "description": crate::pii::mask(&case.description, &typed_names),
        "address": case.address.as_deref().map(|a| crate::pii::mask(a, &typed_names)),
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

fn etag(case: &Case) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{}\"", case.version))
        .unwrap_or(HeaderValue::from_static("\"0\""))
}

/// `case_json`'s free text masked again with every name the case holds (a dispute's parties, a
/// petition's agent), for the answers about one case.
pub async fn with_names(st: &SharedState, case: &Case, mut v: Value) -> ApiResult<Value> {
    let names = crate::pii::case_names(st, case).await?;
    v["description"] = json!(crate::pii::mask(&case.description, &names));
    v["address"] = json!(case.address.as_deref().map(|a| crate::pii::mask(a, &names)));
    Ok(v)
}

fn with_etag(case: &Case, status: StatusCode, body: Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(header::ETAG, etag(case));
    r
}

async fn create(
    State(st): State<SharedState>,
    MaybeUser(user): MaybeUser,
    ApiJson(body): ApiJson<CreateCase>,
) -> ApiResult<Response> {
    if user.is_none() {
        public_rate_limit(&st, "intake")?;
    }
    let case = st.create_case(body, user.as_ref(), Utc::now()).await?;
    let mut v = with_names(&st, &case, case_json(&st, &case, user.as_ref())).await?;
    // Whoever files the report receives its tracking code, to follow it (or hand it on).
    v["tracking_code"] = json!(case.tracking_code);
    let mut r = with_etag(&case, StatusCode::CREATED, v);
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/cases/{}", case.id)) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

/// Residents without an account are limited per client address (429 with `Retry-After`), at
/// each public door: `intake` (reports) and `track` (tracking-code lookups, which would
/// otherwise let anyone guess codes at line speed). Every face shares a door's bucket.
/// The bucket behind [`public_rate_limit`]: `Err(seconds to wait)` when this address is over.
pub fn check_public_rate(st: &SharedState, door: &str) -> Result<(), u64> {
    let ip = safegrid_store::audit::current_ip().unwrap_or_default();
    st.limiter
        .check(
            &format!("{door}:ip:{ip}"),
            st.settings.rate_limits.public_intake,
        )
        .map_err(|crate::ratelimit::RetryAfter(secs)| secs)
}

pub(crate) fn public_rate_limit(st: &SharedState, door: &str) -> ApiResult<()> {
    check_public_rate(st, door).map_err(|secs| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests from this address; wait and try again",
        )
        .with_retry_after(secs)
        .with_extra(json!({ "retry_after_seconds": secs }))
    })
}

fn parse_id(id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("case"))
}

pub(crate) async fn load_visible(st: &SharedState, id: &str, user: &User) -> ApiResult<Case> {
    let id = parse_id(id)?;
    match st.store.case(id).await {
        Ok(c) if in_scope(user, &c) => Ok(c),
        Ok(_) | Err(StoreError::NotFound) => Err(ApiError::not_found("case")),
        Err(e) => Err(e.into()),
    }
}

async fn get_case(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let case = load_visible(&st, &id, &user).await?;
    let v = with_names(&st, &case, case_json(&st, &case, Some(&user))).await?;
    Ok(with_etag(&case, StatusCode::OK, v))
}

fn if_match(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .unwrap_or("")
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"');
    if s == "*" {
        return Ok(None);
    }
    s.parse::<i64>().map(Some).map_err(|_| {
        ApiError::bad_request(Some("If-Match"), "must be the case's version (its ETag)")
    })
}

async fn act(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ActionRequest>,
) -> ApiResult<Response> {
    let visible = load_visible(&st, &id, &user).await?;
    if req.action.trim().is_empty() {
        return Err(ApiError::invalid("action", "is required"));
    }
    let case = st
        .act(
            &visible,
            &req,
            &user.actor(),
            if_match(&headers)?,
            Utc::now(),
        )
        .await?;
    let v = with_names(&st, &case, case_json(&st, &case, Some(&user))).await?;
    Ok(with_etag(&case, StatusCode::OK, v))
}

/// One history entry; its note and data masked with `names` (see `crate::pii`).
pub fn event_json(e: &safegrid_store::EventRow, public: bool, names: &[String]) -> Value {
    let mut data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
    crate::pii::mask_json(&mut data, names);
    let mut v = json!({
        "seq": e.seq,
        "action": e.action,
        "from": e.from_status,
        "to": e.to_status,
        "role": e.actor_role,
        "at": local_time(from_ms(e.at)),
        "note": e.note.as_deref().map(|n| crate::pii::mask(n, names)),
        "data": data,
    });
    if !public {
        v["actor"] = json!(e.actor_name);
        v["actor_id"] = json!(e.actor_id);
    }
    v
}

async fn history(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let case = load_visible(&st, &id, &user).await?;
    let events = st.store.events(&case).await?;
    let names = crate::pii::case_names(&st, &case).await?;
    Ok(Json(json!({
        "case_id": case.id, "number": case.number,
        "items": events.iter().map(|e| event_json(e, false, &names)).collect::<Vec<_>>(),
    })))
}

/// The public view by tracking code: status and timeline, no personal data, no staff names.
async fn track(State(st): State<SharedState>, Path(code): Path<String>) -> ApiResult<Json<Value>> {
    public_rate_limit(&st, "track")?;
    let case = match st.store.case_by_tracking_code(code.trim()).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(ApiError::not_found("tracking code")),
        Err(e) => return Err(e.into()),
    };
    let events = st.store.events(&case).await?;
    let names = crate::pii::case_names(&st, &case).await?;
    let mut v = with_names(&st, &case, case_json(&st, &case, None)).await?;
    // The public sees the place to about 100 m (`pii::coarse`), not the door.
    v["lat"] = json!(case.lat.map(crate::pii::coarse));
    v["lon"] = json!(case.lon.map(crate::pii::coarse));
    v["tracking_code"] = json!(case.tracking_code);
    if let Some(o) = v.as_object_mut() {
        for k in [
            "reporter",
            "allowed_actions",
            "id",
            "version",
            "pending_extension",
            "duplicate_of",
            // A street address locates a door; the public sees the area and the place to ~100 m.
            "address",
        ] {
            o.remove(k);
        }
    }
    v["timeline"] = json!(
        events
            .iter()
            .map(|e| {
                let mut j = event_json(e, true, &names);
                // Notes of internal steps may name people; the public sees the step, not the note.
                if !matches!(
                    e.action.as_str(),
                    "report" | "handle" | "close" | "reject" | "self_handle" | "comment"
                ) {
                    j["note"] = Value::Null;
                }
                j
            })
            .collect::<Vec<_>>()
    );
    Ok(Json(v))
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    #[serde(rename = "type")]
    case_type: Option<String>,
    category: Option<String>,
    region: Option<String>,
    grid: Option<String>,
    department: Option<String>,
    light: Option<String>,
    from: Option<String>,
    to: Option<String>,
    q: Option<String>,
    #[serde(default, deserialize_with = "super::input::empty_as_none")]
    open: Option<bool>,
    sort: Option<String>,
    #[serde(default, deserialize_with = "super::input::empty_as_none")]
    page: Option<i64>,
    #[serde(default, deserialize_with = "super::input::empty_as_none")]
    page_size: Option<i64>,
}

pub fn parse_day(s: &str, field: &str, end: bool) -> ApiResult<chrono::DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(field, "must be a date YYYY-MM-DD or an RFC 3339 time"))?;
    let t = if end {
        d.and_hms_opt(23, 59, 59)
    } else {
        d.and_hms_opt(0, 0, 0)
    }
    .expect("valid time");
    Ok((t - chrono::Duration::hours(8)).and_utc())
}

/// The filter of a list query, with the viewer's scope applied (lists and exports share it).
fn build_filter(q: &ListQuery, user: &User) -> ApiResult<CaseFilter> {
    let q = q.clone();
    let page = q.page.unwrap_or(1);
    let page_size = q.page_size.unwrap_or(50);
    if !(1..=1000).contains(&page_size) {
        return Err(ApiError::invalid("page_size", "must be between 1 and 1000"));
    }
    let mut f = CaseFilter {
        limit: page_size,
        offset: super::input::page_offset(page, page_size)?,
        open_only: q.open.unwrap_or(false),
        now: Some(Utc::now()),
        ..Default::default()
    };
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        f.statuses = s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect();
    }
    if let Some(t) = q.case_type.as_deref().filter(|s| !s.is_empty()) {
        if workflow(t).is_none() {
            return Err(ApiError::invalid(
                "type",
                "must be one of service_event, dispute, petition, hazard",
            ));
        }
        f.case_type = Some(t.to_string());
    }
    f.category = q.category.filter(|s| !s.is_empty());
    if let Some(r) = q.region.as_deref().filter(|s| !s.is_empty()) {
        let code = RegionCode::parse(r).map_err(|e| ApiError::invalid("region", e.reason))?;
        f.region_prefix = Some(code.short().to_string());
    }
    f.grid = q.grid.filter(|s| !s.is_empty());
    f.department = q.department.filter(|s| !s.is_empty());
    if let Some(l) = q.light.as_deref().filter(|s| !s.is_empty()) {
        if !["green", "yellow", "red"].contains(&l) {
            return Err(ApiError::invalid("light", "must be green, yellow or red"));
        }
        f.light = Some(l.to_string());
    }
    if let Some(s) = q.from.as_deref().filter(|s| !s.is_empty()) {
        f.created_from = Some(parse_day(s, "from", false)?);
    }
    if let Some(s) = q.to.as_deref().filter(|s| !s.is_empty()) {
        f.created_to = Some(parse_day(s, "to", true)?);
    }
    if let Some(t) = q.q.as_deref() {
        if t.chars().count() > 200 {
            return Err(ApiError::invalid("q", "must be at most 200 characters"));
        }
        f.text = Some(t.to_string());
    }
    f.order = match q.sort.as_deref() {
        None | Some("newest") => SortOrder::NewestFirst,
        Some("oldest") => SortOrder::OldestFirst,
        Some("due") => SortOrder::DueFirst,
        Some("updated") => SortOrder::UpdatedFirst,
        Some(_) => {
            return Err(ApiError::invalid(
                "sort",
                "must be newest, oldest, due or updated",
            ));
        }
    };
    scope_filter(user, &mut f);
    Ok(f)
}

async fn list(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(Some("query"), e.body_text()))?;
    let mut f = build_filter(&q, &user)?;
    // Counting stops at 10,000 (`total_is_lower_bound`): exact totals of a province's million
    // closed cases cost more than the page itself. Exports count exactly.
    f.count_limit = Some(10_000);
    let (page, page_size) = (q.page.unwrap_or(1), f.limit);
    let page_data = st
        .store
        .list_cases(&f, &safegrid_domain::workflow::terminal_states())
        .await?;
    let mut items = Vec::with_capacity(page_data.cases.len());
    for c in &page_data.cases {
        let v = case_json(&st, c, Some(&user));
        // Disputes and petitions hold names beside the case: one more read each.
        items.push(match c.case_type.as_str() {
            "dispute" | "petition" => with_names(&st, c, v).await?,
            _ => v,
        });
    }
    Ok(Json(json!({
        "items": items,
        "total": page_data.total,
        "total_is_lower_bound": page_data.total_capped,
        "page": page,
        "page_size": page_size,
    })))
}

/// Cases in the viewer's scope as CSV (the list's filters; no personal data); audited.
async fn export_csv(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    policy::require(&user, Perm::ExportCases)?;
    let Query(mut q) = q.map_err(|e| ApiError::bad_request(Some("query"), e.body_text()))?;
    q.page = None;
    q.page_size = Some(1000);
    let mut f = build_filter(&q, &user)?;
    const MAX_ROWS: i64 = 200_000;
    let terminal = safegrid_domain::workflow::terminal_states();
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(crate::export::CASE_COLUMNS)
        .map_err(ApiError::internal)?;
    let mut n = 0i64;
    loop {
        let page = st.store.list_cases(&f, &terminal).await?;
        if n == 0 && page.total > MAX_ROWS {
            return Err(ApiError::invalid(
                "query",
                format!(
                    "{} cases match; narrow the filters to at most {MAX_ROWS} (or use `safegrid export cases`)",
                    page.total
                ),
            ));
        }
        if page.cases.is_empty() {
            break;
        }
        for c in &page.cases {
            w.write_record(crate::export::case_row(
                c,
                &crate::pii::case_names(&st, c).await?,
            ))
            .map_err(ApiError::internal)?;
        }
        n += page.cases.len() as i64;
        f.offset += page.cases.len() as i64;
    }
    let body = w.into_inner().map_err(ApiError::internal)?;
    st.store
        .audit(&safegrid_store::AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "export.cases",
            "cases",
            None,
            json!({ "rows": n, "filter": {
                "status": q.status, "type": q.case_type, "category": q.category, "region": q.region,
                "grid": q.grid, "department": q.department, "from": q.from, "to": q.to, "q": q.q,
            } }),
        ))
        .await?;
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"cases.csv\""),
    );
    Ok(r)
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/v1/cases", post(create).get(list))
        .route("/api/v1/cases/export.csv", get(export_csv))
        .route("/api/v1/cases/{id}", get(get_case))
        .route("/api/v1/cases/{id}/actions", post(act))
        .route("/api/v1/cases/{id}/history", get(history))
        .route("/api/v1/track/{code}", get(track))
}
