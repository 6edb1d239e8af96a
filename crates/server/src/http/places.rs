//! The register of places (场所/点位) over `/api/v1/places`: list with filters, register (with a
//! client-generated id, so a retry never registers twice), read, edit and change the status with
//! the version read, reveal the contact (reason, audited), import a CSV or XLSX table, export the
//! places in scope, download the template. Each handler only translates to `app::places`.

use super::auth::CurrentUser;
use super::disputes::{QueryResult, query};
use super::json::ApiJson;
use crate::app::error::AppResult;
use crate::app::places::{self, ListQuery, PlacePage, PlaceView};
use crate::app::places_io::{self, ImportReport};
use crate::app::state::SharedState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use safegrid_domain::place::{KINDS, PlaceInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[derive(Deserialize, Default, Clone, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListParams {
    /// Region code: places in its subtree.
    region: Option<String>,
    /// Grid code (15 digits).
    grid: Option<String>,
    /// Kind codes, comma-separated (group_rental, shop, …; `GET /api/v1/places/kinds`).
    kind: Option<String>,
    /// Statuses, comma-separated: active, closed, gone.
    status: Option<String>,
    /// Text within the name or the address (at most 100 characters).
    q: Option<String>,
    /// The `next_after` of the previous page.
    after: Option<String>,
    /// Page size, 1–500 (default 50).
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Count>)]
    limit: Option<i64>,
}

impl From<ListParams> for ListQuery {
    fn from(p: ListParams) -> Self {
        ListQuery {
            region: p.region,
            grid: p.grid,
            kind: p.kind,
            status: p.status,
            q: p.q,
            after: p.after,
            limit: p.limit,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/places", tag = "places",
    summary = "Places in the caller's territory (filters, keyset pages; contacts masked)",
    security(("session" = []), ("bearer" = [])), params(ListParams),
    responses((status = 200, description = "A page of places", body = PlacePage)))]
async fn list(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<ListParams>,
) -> AppResult<Json<PlacePage>> {
    let q: ListQuery = query(q)?.into();
    Ok(Json(places::list(&st, &user, &q).await?))
}

/// A place as submitted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewPlace {
    /// A client-generated UUID: sending the same place again (a retry) answers the place the
    /// first attempt registered instead of registering it twice.
    #[schema(format = Uuid)]
    id: Option<String>,
    /// The kind's code or Chinese name (`GET /api/v1/places/kinds`).
    kind: String,
    /// 1–100 characters.
    name: String,
    /// 1–200 characters.
    address: String,
    /// WGS-84; with lon. The grid and village are found from the point.
    lat: Option<f64>,
    lon: Option<f64>,
    /// For an address-only place (no point): the grid it belongs to.
    grid_code: Option<String>,
    /// The place's own contact (landlord, manager), never a resident's.
    contact_name: Option<String>,
    /// A mobile or a landline with its area code.
    contact_phone: Option<String>,
    /// Short labels (at most 10 of 20 characters).
    #[serde(default)]
    tags: Vec<String>,
    /// active (default), closed or gone.
    status: Option<String>,
    /// The importer's own key (unique in the county).
    external_ref: Option<String>,
}

/// An edit: the whole place as it should be, and the version it was read at.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PlaceEdit {
    /// The `version` of the place as read; a place changed meanwhile is refused (409).
    version: i64,
    kind: String,
    name: String,
    address: String,
    lat: Option<f64>,
    lon: Option<f64>,
    grid_code: Option<String>,
    /// Absent or null keeps the stored contact (readers see it masked); "" removes it.
    contact_name: Option<String>,
    /// Absent or null keeps the stored phone; "" removes it.
    contact_phone: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    status: Option<String>,
    external_ref: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/places", tag = "places",
    summary = "Register a place (idempotent by a client-generated id)",
    security(("session" = []), ("bearer" = [])),
    request_body(content = NewPlace, content_type = "application/json"),
    responses((status = 201, description = "Registered", body = PlaceView),
        (status = 200, description = "Already registered by this id (a retry)", body = PlaceView)))]
async fn create(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<NewPlace>,
) -> AppResult<Response> {
    let id = match b.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(places::parse_id(s, "id")?),
        None => None,
    };
    let input = PlaceInput {
        kind: b.kind,
        name: b.name,
        address: b.address,
        lat: b.lat,
        lon: b.lon,
        grid_code: b.grid_code,
        contact_name: b.contact_name,
        contact_phone: b.contact_phone,
        tags: b.tags,
        status: b.status,
        external_ref: b.external_ref,
    };
    let (place, created) = places::create(&st, &user, id, &input, "api", Utc::now()).await?;
    let t = places::territory(&st, &user).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(PlaceView::of(&st, &place, &user, &t))).into_response())
}

#[utoipa::path(get, path = "/api/v1/places/{id}", tag = "places",
    summary = "One place (contact masked)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "place id (UUID)")),
    responses((status = 200, description = "The place", body = PlaceView)))]
async fn get_place(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Json<PlaceView>> {
    let (p, t) = places::visible(&st, &user, &id).await?;
    Ok(Json(PlaceView::of(&st, &p, &user, &t)))
}

#[utoipa::path(put, path = "/api/v1/places/{id}", tag = "places",
    summary = "Edit a place (with the version read; 409 when it changed meanwhile)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "place id (UUID)")),
    request_body(content = PlaceEdit, content_type = "application/json"),
    responses((status = 200, description = "The edited place", body = PlaceView)))]
async fn edit(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PlaceEdit>,
) -> AppResult<Json<PlaceView>> {
    let input = PlaceInput {
        kind: b.kind,
        name: b.name,
        address: b.address,
        lat: b.lat,
        lon: b.lon,
        grid_code: b.grid_code,
        contact_name: b.contact_name,
        contact_phone: b.contact_phone,
        tags: b.tags,
        status: b.status,
        external_ref: b.external_ref,
    };
    let p = places::edit(&st, &user, &id, b.version, &input, "api", Utc::now()).await?;
    let t = places::territory(&st, &user).await?;
    Ok(Json(PlaceView::of(&st, &p, &user, &t)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StatusChange {
    /// active, closed (歇业) or gone (注销).
    status: String,
    /// The `version` of the place as read.
    version: i64,
}

#[utoipa::path(post, path = "/api/v1/places/{id}/status", tag = "places",
    summary = "Mark a place active, closed or gone (with the version read)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "place id (UUID)")),
    request_body(content = StatusChange, content_type = "application/json"),
    responses((status = 200, description = "The place", body = PlaceView)))]
async fn set_status(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<StatusChange>,
) -> AppResult<Json<PlaceView>> {
    let p = places::set_status(&st, &user, &id, b.version, &b.status, "api", Utc::now()).await?;
    let t = places::territory(&st, &user).await?;
    Ok(Json(PlaceView::of(&st, &p, &user, &t)))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = PlaceRevealReason)]
#[serde(deny_unknown_fields)]
struct RevealBody {
    /// Why the contact is needed (4–500 characters; audited).
    #[schema(min_length = 4, max_length = 500)]
    reason: String,
}

/// A place's contact in the clear.
#[derive(Serialize, ToSchema)]
struct PlaceContact {
    #[schema(value_type = String, format = Uuid)]
    id: uuid::Uuid,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    /// Always true: the reveal is in the audit trail.
    audited: bool,
}

#[utoipa::path(post, path = "/api/v1/places/{id}/reveal", tag = "places",
    summary = "Reveal a place's contact, with a reason (audited; those who manage the place)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "place id (UUID)")),
    request_body(content = RevealBody, content_type = "application/json"),
    responses((status = 200, description = "The contact", body = PlaceContact)))]
async fn reveal(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RevealBody>,
) -> AppResult<Json<PlaceContact>> {
    let p = places::reveal(&st, &user, &id, &b.reason, "api").await?;
    Ok(Json(PlaceContact {
        id: p.id,
        contact_name: p.contact_name,
        contact_phone: p.contact_phone,
        audited: true,
    }))
}

#[utoipa::path(post, path = "/api/v1/places/import", tag = "places",
    summary = "Import places from a CSV (UTF-8 or GB18030) or XLSX table: all rows or none; idempotent by external_ref",
    security(("session" = []), ("bearer" = [])),
    request_body(content = String, content_type = "text/csv",
        description = "the filled-in template (GET /api/v1/places/template.xlsx) as CSV or XLSX bytes; told apart by content"),
    responses((status = 200, description = "What was registered and updated", body = ImportReport)))]
async fn import(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    body: Bytes,
) -> AppResult<Json<ImportReport>> {
    Ok(Json(
        places_io::import(&st, &user, &body, "api", Utc::now()).await?,
    ))
}

fn download(bytes: Vec<u8>, content_type: &'static str, name: &'static str) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(name));
    r
}

#[utoipa::path(get, path = "/api/v1/places/export.csv", tag = "places",
    summary = "Places in scope as CSV for Excel (UTF-8 with BOM; list filters; contacts masked; audited)",
    security(("session" = []), ("bearer" = [])), params(ListParams),
    responses((status = 200, description = "The places, one row each", content_type = "text/csv", body = String)))]
async fn export_csv(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<ListParams>,
) -> AppResult<Response> {
    let q: ListQuery = query(q)?.into();
    let bytes = places_io::export(&st, &user, &q, false, "api").await?;
    Ok(download(
        bytes,
        "text/csv; charset=utf-8",
        "attachment; filename=\"places.csv\"",
    ))
}

#[utoipa::path(get, path = "/api/v1/places/export.xlsx", tag = "places",
    summary = "Places in scope as XLSX (list filters; contacts masked; audited)",
    security(("session" = []), ("bearer" = [])), params(ListParams),
    responses((status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = String)))]
async fn export_xlsx(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<ListParams>,
) -> AppResult<Response> {
    let q: ListQuery = query(q)?.into();
    let bytes = places_io::export(&st, &user, &q, true, "api").await?;
    Ok(download(
        bytes,
        XLSX,
        "attachment; filename=\"places.xlsx\"",
    ))
}

#[utoipa::path(get, path = "/api/v1/places/template.xlsx", tag = "places",
    summary = "The import template: header row (zh + en), an example row, the kinds",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = String)))]
async fn template(CurrentUser(user): CurrentUser) -> AppResult<Response> {
    crate::app::policy::require(&user, crate::app::policy::Perm::ReadPlaces)?;
    Ok(download(
        places_io::template_xlsx()?,
        XLSX,
        "attachment; filename=\"places-template.xlsx\"",
    ))
}

/// A kind of place.
#[derive(Serialize, ToSchema)]
struct KindItem {
    code: &'static str,
    zh: &'static str,
    en: &'static str,
}

#[utoipa::path(get, path = "/api/v1/places/kinds", tag = "places",
    summary = "The kinds of place (codes, zh-CN and en names)",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, description = "The kinds", body = Vec<KindItem>)))]
async fn kinds(CurrentUser(_): CurrentUser) -> Json<Vec<KindItem>> {
    Json(
        KINDS
            .iter()
            .map(|k| KindItem {
                code: k.code,
                zh: k.zh,
                en: k.en,
            })
            .collect(),
    )
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(kinds))
        .routes(routes!(get_place, edit))
        .routes(routes!(set_status))
        .routes(routes!(reveal))
        .routes(routes!(import))
        .routes(routes!(export_csv))
        .routes(routes!(export_xlsx))
        .routes(routes!(template))
}
