//! Addresses (门牌), visits (走访), coverage and the work log (民情日志) over `/api/v1/addresses`,
//! `/api/v1/visits`, `/api/v1/coverage` and `/api/v1/worklog`. Each handler only translates to
//! `app::visits`, `app::addresses_io` and `app::coverage`.

use super::auth::CurrentUser;
use super::disputes::{QueryResult, query};
use super::json::ApiJson;
use crate::app::addresses_io::{self, AddressImportReport};
use crate::app::coverage::{self, CoverageReport, MonthSummary, WorkLog};
use crate::app::error::{AppError, AppResult};
use crate::app::places::territory;
use crate::app::state::SharedState;
use crate::app::visits::{
    self, AddressPage, AddressQuery, AddressView, ToCase, VisitPage, VisitQuery, VisitView,
    care_rule,
};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use safegrid_domain::visit::{AddressInput, VisitInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn download(bytes: Vec<u8>, content_type: &'static str, name: &'static str) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(name));
    r
}

fn client_id(s: Option<&str>, field: &str) -> AppResult<Option<uuid::Uuid>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Ok(Some(visits::parse_id(s, field)?)),
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------------
// Addresses

#[derive(Deserialize, Default, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AddressParams {
    /// Region code: addresses in its subtree.
    region: Option<String>,
    /// Grid code (15 digits).
    grid: Option<String>,
    /// active or inactive.
    status: Option<String>,
    /// Text within the building, unit or door (at most 40 characters).
    q: Option<String>,
    /// A place id: the addresses linked to it.
    place: Option<String>,
    /// "true": only active addresses not visited yet in the current coverage period.
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    unvisited: Option<bool>,
    /// The `next_after` of the previous page.
    after: Option<String>,
    /// Page size, 1–1000 (default 100).
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Count>)]
    limit: Option<i64>,
}

impl From<AddressParams> for AddressQuery {
    fn from(p: AddressParams) -> Self {
        AddressQuery {
            region: p.region,
            grid: p.grid,
            status: p.status,
            q: p.q,
            place: p.place,
            unvisited: p.unvisited.unwrap_or(false),
            after: p.after,
            limit: p.limit,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/addresses", tag = "addresses",
    summary = "Addresses (门牌) in the caller's territory, in walking order (grid, building, unit, door)",
    security(("session" = []), ("bearer" = [])), params(AddressParams),
    responses((status = 200, description = "A page of addresses", body = AddressPage)))]
async fn list_addresses(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<AddressParams>,
) -> AppResult<Json<AddressPage>> {
    let q: AddressQuery = query(q)?.into();
    Ok(Json(
        visits::list_addresses(&st, &user, &q, Utc::now()).await?,
    ))
}

/// An address as submitted: a door, never a person.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewAddress {
    /// A client-generated UUID: a retry answers the address the first attempt stored.
    #[schema(format = Uuid)]
    #[serde(alias = "client_id")]
    id: Option<String>,
    /// The grid (15 digits); the village follows from it.
    grid_code: String,
    /// 楼栋 (1–40 characters).
    building: String,
    /// 单元 (may be empty).
    unit: Option<String>,
    /// 门牌/室号 (1–40 characters).
    door: String,
    /// A place of the register at this address.
    #[schema(format = Uuid)]
    place_id: Option<String>,
    /// active (default) or inactive.
    status: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/addresses", tag = "addresses",
    summary = "Add an address (idempotent by a client-generated id)",
    security(("session" = []), ("bearer" = [])),
    request_body(content = NewAddress, content_type = "application/json"),
    responses((status = 201, description = "Added", body = AddressView),
        (status = 200, description = "Already added by this id (a retry)", body = AddressView)))]
async fn create_address(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<NewAddress>,
) -> AppResult<Response> {
    let id = client_id(b.id.as_deref(), "id")?;
    let input = AddressInput {
        grid_code: b.grid_code,
        building: b.building,
        unit: b.unit,
        door: b.door,
        place_id: b.place_id,
        status: b.status,
    };
    let (a, created) = visits::create_address(&st, &user, id, &input, "api", Utc::now()).await?;
    let t = territory(&st, &user).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(AddressView::of(&st, &a, &user, &t))).into_response())
}

#[utoipa::path(get, path = "/api/v1/addresses/{id}", tag = "addresses",
    summary = "One address",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "address id (UUID)")),
    responses((status = 200, description = "The address", body = AddressView)))]
async fn get_address(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Json<AddressView>> {
    let (a, t) = visits::visible_address(&st, &user, &id).await?;
    Ok(Json(AddressView::of(&st, &a, &user, &t)))
}

/// An edit: the whole address as it should be, and the version read.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddressEdit {
    version: i64,
    grid_code: String,
    building: String,
    unit: Option<String>,
    door: String,
    #[schema(format = Uuid)]
    place_id: Option<String>,
    /// active or inactive (deactivate: demolished, merged, no longer lived in).
    status: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/addresses/{id}", tag = "addresses",
    summary = "Edit or deactivate an address (with the version read; 409 when it changed meanwhile)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "address id (UUID)")),
    request_body(content = AddressEdit, content_type = "application/json"),
    responses((status = 200, description = "The edited address", body = AddressView)))]
async fn edit_address(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AddressEdit>,
) -> AppResult<Json<AddressView>> {
    let input = AddressInput {
        grid_code: b.grid_code,
        building: b.building,
        unit: b.unit,
        door: b.door,
        place_id: b.place_id,
        status: b.status,
    };
    let a = visits::edit_address(&st, &user, &id, b.version, &input, "api", Utc::now()).await?;
    let t = territory(&st, &user).await?;
    Ok(Json(AddressView::of(&st, &a, &user, &t)))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = VisitRevealReason)]
#[serde(deny_unknown_fields)]
struct Reason {
    /// Why (4–500 characters; audited).
    #[schema(min_length = 4, max_length = 500)]
    reason: String,
}

/// What an erasure did.
#[derive(Serialize, ToSchema)]
struct Erased {
    /// Visits of the address whose contact was blanked.
    visits: u64,
    /// Always true: the erasure is in the audit trail.
    audited: bool,
}

#[utoipa::path(post, path = "/api/v1/addresses/{id}/erase-contacts", tag = "addresses",
    summary = "Erase every contact stored with the visits of an address (a resident's request; audited)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "address id (UUID)")),
    request_body(content = Reason, content_type = "application/json"),
    responses((status = 200, description = "How many visits held a contact", body = Erased)))]
async fn erase_contacts(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<Reason>,
) -> AppResult<Json<Erased>> {
    let n = visits::erase_contacts(&st, &user, &id, &b.reason, "api", Utc::now()).await?;
    Ok(Json(Erased {
        visits: n,
        audited: true,
    }))
}

#[utoipa::path(post, path = "/api/v1/addresses/import", tag = "addresses",
    summary = "Import addresses from CSV (UTF-8 or GB18030) or XLSX: all rows or none; idempotent by the door",
    security(("session" = []), ("bearer" = [])),
    request_body(content = String, content_type = "text/csv",
        description = "the filled-in template (GET /api/v1/addresses/template.xlsx) as CSV or XLSX bytes"),
    responses((status = 200, description = "What was added and updated", body = AddressImportReport)))]
async fn import(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    body: Bytes,
) -> AppResult<Json<AddressImportReport>> {
    Ok(Json(
        addresses_io::import(&st, &user, &body, "api", Utc::now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/addresses/export.csv", tag = "addresses",
    summary = "Addresses in scope as CSV for Excel (UTF-8 with BOM; list filters; audited)",
    security(("session" = []), ("bearer" = [])), params(AddressParams),
    responses((status = 200, description = "The addresses", content_type = "text/csv", body = String)))]
async fn export_csv(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<AddressParams>,
) -> AppResult<Response> {
    let q: AddressQuery = query(q)?.into();
    let bytes = addresses_io::export(&st, &user, &q, false, "api", Utc::now()).await?;
    Ok(download(
        bytes,
        "text/csv; charset=utf-8",
        "attachment; filename=\"addresses.csv\"",
    ))
}

#[utoipa::path(get, path = "/api/v1/addresses/export.xlsx", tag = "addresses",
    summary = "Addresses in scope as XLSX (list filters; audited)",
    security(("session" = []), ("bearer" = [])), params(AddressParams),
    responses((status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = String)))]
async fn export_xlsx(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<AddressParams>,
) -> AppResult<Response> {
    let q: AddressQuery = query(q)?.into();
    let bytes = addresses_io::export(&st, &user, &q, true, "api", Utc::now()).await?;
    Ok(download(
        bytes,
        XLSX,
        "attachment; filename=\"addresses.xlsx\"",
    ))
}

#[utoipa::path(get, path = "/api/v1/addresses/template.xlsx", tag = "addresses",
    summary = "The import template of addresses",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = String)))]
async fn template(CurrentUser(user): CurrentUser) -> AppResult<Response> {
    crate::app::policy::require(&user, crate::app::policy::Perm::ReadAddresses)?;
    Ok(download(
        addresses_io::template_xlsx()?,
        XLSX,
        "attachment; filename=\"addresses-template.xlsx\"",
    ))
}

// ---------------------------------------------------------------------------------------------
// Visits

#[derive(Deserialize, Default, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct VisitParams {
    region: Option<String>,
    grid: Option<String>,
    /// routine, care, follow_up or opinions.
    kind: Option<String>,
    /// First local date, YYYY-MM-DD.
    from: Option<String>,
    /// Last local date, YYYY-MM-DD.
    to: Option<String>,
    /// An address id: its visits.
    address: Option<String>,
    /// A place id: its visits.
    place: Option<String>,
    /// "true": only the caller's own visits.
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    mine: Option<bool>,
    /// The `next_before` of the previous page.
    before: Option<String>,
    /// Page size, 1–500 (default 50).
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Count>)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/visits", tag = "visits",
    summary = "Visits (走访) in the caller's territory, newest first (care visits only for their worker, the grid's leaders and civil affairs)",
    security(("session" = []), ("bearer" = [])), params(VisitParams),
    responses((status = 200, description = "A page of visits", body = VisitPage)))]
async fn list_visits(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<VisitParams>,
) -> AppResult<Json<VisitPage>> {
    let p = query(q)?;
    let q = VisitQuery {
        region: p.region,
        grid: p.grid,
        kind: p.kind,
        from: p.from,
        to: p.to,
        address: p.address,
        place: p.place,
        mine: p.mine.unwrap_or(false),
        before: p.before,
        limit: p.limit,
    };
    Ok(Json(visits::list_visits(&st, &user, &q).await?))
}

/// A problem found on the visit, opened as a case.
#[derive(Deserialize, ToSchema)]
#[schema(as = VisitCase)]
#[serde(deny_unknown_fields)]
struct CaseBody {
    /// A category code (`GET /api/v1/categories`).
    category: String,
    /// The case's description; the visit's `raised` when absent.
    description: Option<String>,
    /// normal (default), urgent or emergency.
    urgency: Option<String>,
}

/// A visit as recorded on the phone.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewVisit {
    /// A client-generated UUID (`client_id` is accepted too): sending the visit again answers
    /// the stored one and never opens a second case.
    #[schema(format = Uuid)]
    #[serde(alias = "client_id")]
    id: Option<String>,
    /// A door of the register in the recorder's grids…
    #[schema(format = Uuid)]
    address_id: Option<String>,
    /// …or a place of the places register.
    #[schema(format = Uuid)]
    place_id: Option<String>,
    /// Local date YYYY-MM-DD; not in the future, at most 92 days back.
    visited_on: String,
    /// routine, care, follow_up or opinions (or 例行走访, 关爱走访, 回访, 收集民意).
    kind: String,
    /// What was raised (at most 2000 characters).
    #[serde(default)]
    raised: String,
    /// An optional contact (masked on every read; erasable per address).
    contact_name: Option<String>,
    contact_phone: Option<String>,
    /// Turn the problem into a case (linked both ways).
    case: Option<CaseBody>,
}

#[utoipa::path(post, path = "/api/v1/visits", tag = "visits",
    summary = "Record a visit (idempotent by a client-generated id), optionally turned into a case",
    security(("session" = []), ("bearer" = [])),
    request_body(content = NewVisit, content_type = "application/json"),
    responses((status = 201, description = "Recorded", body = VisitView),
        (status = 200, description = "Already recorded by this id (a retry)", body = VisitView)))]
async fn record(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<NewVisit>,
) -> AppResult<Response> {
    let id = client_id(b.id.as_deref(), "id")?;
    let input = VisitInput {
        address_id: b.address_id,
        place_id: b.place_id,
        visited_on: b.visited_on,
        kind: b.kind,
        raised: b.raised,
        contact_name: b.contact_name,
        contact_phone: b.contact_phone,
    };
    let to_case = b.case.map(|c| ToCase {
        category: c.category,
        description: c.description,
        urgency: c.urgency,
    });
    let (v, created) =
        visits::record(&st, &user, id, &input, to_case.as_ref(), "api", Utc::now()).await?;
    let rule = care_rule(&st, &user).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(VisitView::of(&v, &user, &rule))).into_response())
}

#[utoipa::path(get, path = "/api/v1/visits/{id}", tag = "visits",
    summary = "One visit (contact masked; 404 for a care visit the caller may not see)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "visit id (UUID)")),
    responses((status = 200, description = "The visit", body = VisitView)))]
async fn get_visit(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Json<VisitView>> {
    let (v, rule) = visits::visible_visit(&st, &user, &id).await?;
    Ok(Json(VisitView::of(&v, &user, &rule)))
}

/// A visit's contact in the clear.
#[derive(Serialize, ToSchema)]
struct VisitContact {
    #[schema(value_type = String, format = Uuid)]
    id: uuid::Uuid,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    audited: bool,
}

#[utoipa::path(post, path = "/api/v1/visits/{id}/reveal", tag = "visits",
    summary = "Reveal a visit's contact, with a reason (audited; its recorder, the grid's leaders, civil affairs for care visits)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "visit id (UUID)")),
    request_body(content = Reason, content_type = "application/json"),
    responses((status = 200, description = "The contact", body = VisitContact)))]
async fn reveal(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<Reason>,
) -> AppResult<Json<VisitContact>> {
    let v = visits::reveal(&st, &user, &id, &b.reason, "api").await?;
    Ok(Json(VisitContact {
        id: v.id,
        contact_name: v.contact_name,
        contact_phone: v.contact_phone,
        audited: true,
    }))
}

// ---------------------------------------------------------------------------------------------
// Coverage and the work log

#[derive(Deserialize, Default, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CoverageParams {
    /// A region code within the caller's territory (default: all of it).
    region: Option<String>,
    /// 2026Q4, 2026-12, 2026 or a date inside the period (default: the current period of the
    /// `coverage_period` setting).
    period: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/coverage", tag = "coverage",
    summary = "Coverage of the addresses register in a period: known, visited, share per grid, village, township, county",
    security(("session" = []), ("bearer" = [])), params(CoverageParams),
    responses((status = 200, description = "The coverage tables", body = CoverageReport)))]
async fn get_coverage(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<CoverageParams>,
) -> AppResult<Json<CoverageReport>> {
    let q = query(q)?;
    Ok(Json(
        coverage::coverage(
            &st,
            &user,
            q.region.as_deref(),
            q.period.as_deref(),
            Utc::now(),
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/coverage/export.xlsx", tag = "coverage",
    summary = "The coverage tables as XLSX (counts only, no household list; audited)",
    security(("session" = []), ("bearer" = [])), params(CoverageParams),
    responses((status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = String)))]
async fn coverage_xlsx(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<CoverageParams>,
) -> AppResult<Response> {
    let q = query(q)?;
    let bytes = coverage::coverage_xlsx(
        &st,
        &user,
        q.region.as_deref(),
        q.period.as_deref(),
        "api",
        Utc::now(),
    )
    .await?;
    Ok(download(
        bytes,
        XLSX,
        "attachment; filename=\"coverage.xlsx\"",
    ))
}

#[derive(Deserialize, Default, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct WorklogParams {
    /// A worker's account id (default: the caller).
    worker: Option<String>,
    /// First local date YYYY-MM-DD (default: Monday of this week).
    from: Option<String>,
    /// Last local date YYYY-MM-DD (default: today); at most 92 days after `from`.
    to: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/worklog", tag = "worklog",
    summary = "A worker's work log (民情日志): per day, cases reported and verified, inspections, visits",
    security(("session" = []), ("bearer" = [])), params(WorklogParams),
    responses((status = 200, description = "The log", body = WorkLog)))]
async fn worklog(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<WorklogParams>,
) -> AppResult<Json<WorkLog>> {
    use chrono::Datelike;
    let q = query(q)?;
    let today = visits::local_day(Utc::now());
    let day = |s: Option<&str>, field: &str, default| -> AppResult<chrono::NaiveDate> {
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| AppError::invalid(field, "must be a date YYYY-MM-DD")),
        }
    };
    let monday = today - chrono::Duration::days(today.weekday().num_days_from_monday() as i64);
    let from = day(q.from.as_deref(), "from", monday)?;
    let to = day(q.to.as_deref(), "to", today)?;
    Ok(Json(
        coverage::worklog(&st, &user, q.worker.as_deref(), from, to).await?,
    ))
}

#[derive(Deserialize, Default, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct MonthParams {
    /// YYYY-MM (default: this month).
    month: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/worklog/month", tag = "worklog",
    summary = "The monthly summary of the grid workers of the caller's territory",
    security(("session" = []), ("bearer" = [])), params(MonthParams),
    responses((status = 200, description = "One row per worker", body = MonthSummary)))]
async fn month(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<MonthParams>,
) -> AppResult<Json<MonthSummary>> {
    let q = query(q)?;
    Ok(Json(
        coverage::month_summary(&st, &user, q.month.as_deref(), Utc::now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/worklog/month.xlsx", tag = "worklog",
    summary = "The monthly summary as XLSX (audited)",
    security(("session" = []), ("bearer" = [])), params(MonthParams),
    responses((status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = String)))]
async fn month_xlsx(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<MonthParams>,
) -> AppResult<Response> {
    let q = query(q)?;
    let bytes = coverage::month_xlsx(&st, &user, q.month.as_deref(), "api", Utc::now()).await?;
    Ok(download(
        bytes,
        XLSX,
        "attachment; filename=\"worklog-month.xlsx\"",
    ))
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_addresses, create_address))
        .routes(routes!(get_address, edit_address))
        .routes(routes!(erase_contacts))
        .routes(routes!(import))
        .routes(routes!(export_csv))
        .routes(routes!(export_xlsx))
        .routes(routes!(template))
        .routes(routes!(list_visits, record))
        .routes(routes!(get_visit))
        .routes(routes!(reveal))
        .routes(routes!(get_coverage))
        .routes(routes!(coverage_xlsx))
        .routes(routes!(worklog))
        .routes(routes!(month))
        .routes(routes!(month_xlsx))
}
