//! Case endpoints: create, read, list with filters, actions, history, and the public tracking view.

use super::auth::{CurrentUser, MaybeUser};
use super::json::ApiJson;
use super::schema;
use crate::app::error::{AppError, AppResult};
use crate::app::policy::public_rate_limit;
use crate::app::policy::{self, Perm};
use crate::app::scope::in_scope;
use crate::app::scope::scope_filter;
use crate::app::service::CreateCase;
use crate::app::state::SharedState;
use crate::app::time::parse_day;
use crate::app::view::case_json;
use crate::app::view::event_json;
use crate::app::view::read_json;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use safegrid_domain::codes::RegionCode;
use safegrid_domain::engine::{ActionRequest, Case, Command};
use safegrid_domain::workflow::workflow;
use safegrid_store::{CaseFilter, SortOrder, StoreError, User};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

fn etag(case: &Case) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{}\"", case.version))
        .unwrap_or(HeaderValue::from_static("\"0\""))
}

fn with_etag(case: &Case, status: StatusCode, body: Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(header::ETAG, etag(case));
    r
}

#[utoipa::path(post, path = "/api/v1/cases", tag = "cases",
    summary = "Report a case (public, or as the logged-in account)",
    security((), ("session" = []), ("bearer" = [])),
    request_body(content = schema::CreateCase, content_type = "application/json"),
    responses((status = 201, description = "Filed; the answer carries the tracking code", body = crate::app::view::CaseView,
        headers(("ETag" = String, description = "the case's version"), ("Location" = String, description = "the case's URL"))),
        (status = 200, description = "A retry of a submission already stored (same `client_id`): the case it made", body = crate::app::view::CaseView)))]
async fn create(
    State(st): State<SharedState>,
    MaybeUser(user): MaybeUser,
    ApiJson(body): ApiJson<CreateCase>,
) -> AppResult<Response> {
    if user.is_none() {
        public_rate_limit(&st, "intake")?;
    }
    let (case, replayed) = st.create_case_once(body, user.as_ref(), Utc::now()).await?;
    let mut v = read_json(&st, &case, user.as_ref()).await?;
    // Whoever files the report receives its tracking code, to follow it (or hand it on).
    v["tracking_code"] = json!(case.tracking_code);
    // A retry of a submission already stored (same `client_id`) answers that case, unchanged.
    let status = if replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut r = with_etag(&case, status, v);
    if let Ok(loc) = HeaderValue::from_str(&format!("/api/v1/cases/{}", case.id)) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

fn parse_id(id: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| AppError::not_found("case"))
}

pub(crate) async fn load_visible(st: &SharedState, id: &str, user: &User) -> AppResult<Case> {
    let id = parse_id(id)?;
    match st.store.case(id).await {
        Ok(c) if in_scope(user, &c) => Ok(c),
        Ok(_) | Err(StoreError::NotFound) => Err(AppError::not_found("case")),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases",
    summary = "A case with the actions the caller may fire (ETag = version)",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "case id (UUID)")),
    responses((status = 200, description = "The case", body = crate::app::view::CaseView,
        headers(("ETag" = String, description = "the case's version")))))]
async fn get_case(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let case = load_visible(&st, &id, &user).await?;
    let v = read_json(&st, &case, Some(&user)).await?;
    Ok(with_etag(&case, StatusCode::OK, v))
}

fn if_match(headers: &HeaderMap) -> AppResult<Option<i64>> {
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
        AppError::bad_request(Some("If-Match"), "must be the case's version (its ETag)")
    })
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/actions", tag = "cases",
    summary = "Fire a workflow action (If-Match: version)",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "case id (UUID)"),
        ("If-Match" = Option<String>, Header, description = "the case's version (its ETag); a stale one is a 409")),
    request_body(content = schema::Action, content_type = "application/json"),
    responses((status = 200, description = "The case after the action", body = crate::app::view::CaseView,
        headers(("ETag" = String, description = "the case's new version")))))]
async fn act(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ActionRequest>,
) -> AppResult<Response> {
    let visible = load_visible(&st, &id, &user).await?;
    let cmd = Command::try_from(&req)?;
    let case = st
        .act(
            &visible,
            &cmd,
            &user.actor(),
            if_match(&headers)?.or(req.version),
            Utc::now(),
        )
        .await?;
    let v = read_json(&st, &case, Some(&user)).await?;
    Ok(with_etag(&case, StatusCode::OK, v))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}/history", tag = "cases", summary = "Every transition of a case",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "case id (UUID)")),
    responses((status = 200, description = "The history", body = schema::History)))]
async fn history(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let case = load_visible(&st, &id, &user).await?;
    let events = st.store.events(&case).await?;
    let names = crate::app::pii::case_names(&st, &case).await?;
    Ok(Json(json!({
        "case_id": case.id, "number": case.number,
        "items": events.iter().map(|e| event_json(e, false, &names)).collect::<Vec<_>>(),
    })))
}

/// The public view by tracking code: status and timeline, no personal data, no staff names.
#[utoipa::path(get, path = "/api/v1/track/{code}", tag = "cases", summary = "Public status and timeline by tracking code",
    params(("code" = String, Path, description = "the tracking code given at filing")),
    responses((status = 200, description = "The public view", body = schema::Tracking)))]
async fn track(State(st): State<SharedState>, Path(code): Path<String>) -> AppResult<Json<Value>> {
    public_rate_limit(&st, "track")?;
    let case = match st.store.case_by_tracking_code(code.trim()).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(AppError::not_found("tracking code")),
        Err(e) => return Err(e.into()),
    };
    let events = st.store.events(&case).await?;
    let names = crate::app::pii::case_names(&st, &case).await?;
    // The public view: the place to about 100 m (`pii::coarse`), not the door.
    let mut v = read_json(&st, &case, None).await?;
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

#[derive(Deserialize, Default, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Statuses, comma-separated.
    status: Option<String>,
    /// service_event, dispute, petition or hazard.
    #[serde(rename = "type")]
    case_type: Option<String>,
    /// Category code.
    category: Option<String>,
    /// Region code: cases in its subtree.
    region: Option<String>,
    /// Grid code.
    grid: Option<String>,
    /// Department code.
    department: Option<String>,
    /// green, yellow or red.
    light: Option<String>,
    /// Filed on or after this day (YYYY-MM-DD).
    from: Option<String>,
    /// Filed on or before this day (YYYY-MM-DD).
    to: Option<String>,
    /// Text search (at most 200 characters).
    q: Option<String>,
    /// Only cases not yet closed.
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Flag>)]
    open: Option<bool>,
    /// newest (default), oldest, due or updated.
    sort: Option<String>,
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Count>)]
    page: Option<i64>,
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Count>)]
    page_size: Option<i64>,
}

/// The filter of a list query, with the viewer's scope applied (lists and exports share it).
fn build_filter(q: &ListQuery, user: &User) -> AppResult<CaseFilter> {
    let q = q.clone();
    let page = q.page.unwrap_or(1);
    let page_size = q.page_size.unwrap_or(50);
    if !(1..=1000).contains(&page_size) {
        return Err(AppError::invalid("page_size", "must be between 1 and 1000"));
    }
    let mut f = CaseFilter {
        limit: page_size,
        offset: crate::app::input::page_offset(page, page_size)?,
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
            return Err(AppError::invalid(
                "type",
                "must be one of service_event, dispute, petition, hazard",
            ));
        }
        f.case_type = Some(t.to_string());
    }
    f.category = q.category.filter(|s| !s.is_empty());
    if let Some(r) = q.region.as_deref().filter(|s| !s.is_empty()) {
        let code = RegionCode::parse(r).map_err(|e| AppError::invalid("region", e.reason))?;
        f.region_prefix = Some(code.short().to_string());
    }
    f.grid = q.grid.filter(|s| !s.is_empty());
    f.department = q.department.filter(|s| !s.is_empty());
    if let Some(l) = q.light.as_deref().filter(|s| !s.is_empty()) {
        if !["green", "yellow", "red"].contains(&l) {
            return Err(AppError::invalid("light", "must be green, yellow or red"));
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
            return Err(AppError::invalid("q", "must be at most 200 characters"));
        }
        f.text = Some(t.to_string());
    }
    f.order = match q.sort.as_deref() {
        None | Some("newest") => SortOrder::NewestFirst,
        Some("oldest") => SortOrder::OldestFirst,
        Some("due") => SortOrder::DueFirst,
        Some("updated") => SortOrder::UpdatedFirst,
        Some(_) => {
            return Err(AppError::invalid(
                "sort",
                "must be newest, oldest, due or updated",
            ));
        }
    };
    scope_filter(user, &mut f);
    Ok(f)
}

#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", summary = "List cases visible to the caller, filtered and paged",
    security(("session" = []), ("bearer" = [])),
    params(ListQuery), responses((status = 200, description = "A page of cases", body = schema::CasePage)))]
async fn list(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(q) = q.map_err(|e| AppError::bad_request(Some("query"), e.body_text()))?;
    let mut f = build_filter(&q, &user)?;
    if let Some(t) = f.text.as_deref() {
        crate::app::privacy::check_identifier_search(&st, &user, t, "api").await?;
    }
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
        // Disputes and petitions hold names beside the case: one more read each.
        items.push(match c.case_type.as_str() {
            "dispute" | "petition" => read_json(&st, c, Some(&user)).await?,
            _ => case_json(&st, c, Some(&user)),
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
#[utoipa::path(get, path = "/api/v1/cases/export.csv", tag = "cases",
    summary = "Cases in scope as CSV (list filters; no personal data; audited)",
    security(("session" = []), ("bearer" = [])),
    params(ListQuery), responses((status = 200, description = "The cases, one row each", content_type = "text/csv", body = String,
        headers(("Content-Disposition" = String, description = "attachment; filename=\"cases.csv\"")))))]
async fn export_csv(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Response> {
    policy::require(&user, Perm::ExportCases)?;
    let Query(mut q) = q.map_err(|e| AppError::bad_request(Some("query"), e.body_text()))?;
    q.page = None;
    q.page_size = Some(1000);
    let f = build_filter(&q, &user)?;
    if let Some(t) = f.text.as_deref() {
        crate::app::privacy::check_identifier_search(&st, &user, t, "export").await?;
    }
    // Streamed page by page: no row cap, no request timeout (that ends with the head). A read
    // failing mid-way aborts the transfer, so a client never takes a cut file for a whole one.
    let export = crate::app::export::CaseExport::start(&st, Some(&user), f, None).await?;
    let n = export.total();
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
    let chunks = futures_util::stream::unfold(Some(export), |state| async move {
        let mut export = state?;
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(export))),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "case export failed after its head was sent");
                Some((Err(e), None))
            }
        }
    });
    let mut r = (StatusCode::OK, axum::body::Body::from_stream(chunks)).into_response();
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

/// Cases in the viewer's scope as XLSX (the list's filters; no personal data; audited): typed
/// columns, at most 1,048,575 rows a sheet, then `cases-2` and on (`X-Export-Sheets` says how
/// many). The head goes out at once; the body follows once the workbook is assembled from the
/// keyset-paged rows (constant memory), so no request timeout cuts a large export.
#[utoipa::path(get, path = "/api/v1/cases/export.xlsx", tag = "cases",
    summary = "Cases in scope as XLSX (list filters; typed columns; split into sheets of 1,048,575 rows; audited)",
    security(("session" = []), ("bearer" = [])),
    params(ListQuery), responses((status = 200, description = "The workbook",
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>,
        headers(("Content-Disposition" = String, description = "attachment; filename=\"cases.xlsx\""),
            ("X-Export-Sheets" = u32, description = "sheets the rows fill (1,048,575 rows each)")))))]
async fn export_xlsx(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Response> {
    use crate::app::export::{XLSX_SHEET_ROWS, write_cases_xlsx};
    policy::require(&user, Perm::ExportCases)?;
    let Query(mut q) = q.map_err(|e| AppError::bad_request(Some("query"), e.body_text()))?;
    q.page = None;
    q.page_size = Some(1000);
    let f = build_filter(&q, &user)?;
    if let Some(t) = f.text.as_deref() {
        crate::app::privacy::check_identifier_search(&st, &user, t, "export").await?;
    }
    let export = crate::app::export::CaseExport::start(&st, Some(&user), f, None).await?;
    let n = export.total();
    st.store
        .audit(&safegrid_store::AuditEntry::new(
            Some(user.id),
            user.username.clone(),
            "export.cases",
            "cases",
            None,
            json!({ "rows": n, "format": "xlsx", "filter": {
                "status": q.status, "type": q.case_type, "category": q.category, "region": q.region,
                "grid": q.grid, "department": q.department, "from": q.from, "to": q.to, "q": q.q,
            } }),
        ))
        .await?;
    let file = tempfile::NamedTempFile::new().map_err(AppError::internal)?;
    enum Step {
        Build(Box<crate::app::export::CaseExport>, tempfile::NamedTempFile),
        Send(tokio::fs::File, tempfile::NamedTempFile),
    }
    let chunks = futures_util::stream::unfold(
        Some(Step::Build(Box::new(export), file)),
        |state| async move {
            use tokio::io::AsyncReadExt;
            let (mut f, tmp) = match state? {
                Step::Build(export, tmp) => {
                    let built = async {
                        write_cases_xlsx(*export, tmp.path(), XLSX_SHEET_ROWS, |_, _| {}).await?;
                        tokio::fs::File::open(tmp.path())
                            .await
                            .map_err(AppError::internal)
                    }
                    .await;
                    match built {
                        Ok(f) => (f, tmp),
                        Err(e) => {
                            tracing::error!(error = %e, "XLSX export failed after its head was sent");
                            return Some((Err(e), None));
                        }
                    }
                }
                Step::Send(f, tmp) => (f, tmp),
            };
            let mut buf = vec![0u8; 256 * 1024];
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(k) => {
                    buf.truncate(k);
                    Some((Ok(buf), Some(Step::Send(f, tmp))))
                }
                Err(e) => Some((Err(AppError::internal(e)), None)),
            }
        },
    );
    let sheets = (n.max(1) as u64).div_ceil(u64::from(XLSX_SHEET_ROWS));
    let mut r = (StatusCode::OK, axum::body::Body::from_stream(chunks)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"cases.xlsx\""),
    );
    r.headers_mut().insert(
        "x-export-sheets",
        HeaderValue::from_str(&sheets.to_string()).map_err(AppError::internal)?,
    );
    Ok(r)
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(export_csv))
        .routes(routes!(export_xlsx))
        .routes(routes!(get_case))
        .routes(routes!(act))
        .routes(routes!(history))
        .routes(routes!(track))
}
