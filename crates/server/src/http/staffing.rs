//! Grid staffing (一人一格) over `/api/v1/staffing`: the grids of a region with their worker and
//! leader, assignments, handovers, absence covers (代班); and accounts imported in bulk under
//! `/api/v1/admin/users/import` with its template. Each handler only translates to
//! `app::staffing` and `app::accounts_io`.

use super::auth::CurrentUser;
use super::disputes::{QueryResult, query};
use super::json::ApiJson;
use crate::app::accounts_io::{self, AccountsReport};
use crate::app::error::{AppError, AppResult};
use crate::app::staffing::{self, ChangeReport, CoverInput, CoverView, StaffingView};
use crate::app::state::SharedState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RegionParams {
    /// Region code (township, village, county …); default: the reader's own first region.
    region: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/staffing", tag = "staffing",
    summary = "The grids of a region with their grid worker and leader (vacant grids have none), covers and recent changes",
    security(("session" = []), ("bearer" = [])), params(RegionParams),
    responses((status = 200, description = "The staffing", body = StaffingView)))]
async fn get_staffing(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<RegionParams>,
) -> AppResult<Json<StaffingView>> {
    let q = query(q)?;
    Ok(Json(staffing::view(&st, &user, q.region.as_deref()).await?))
}

/// An assignment.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// The grid (15 digits).
    grid_code: String,
    /// worker (网格员, one per grid) or leader (网格长).
    post: String,
    /// The account to hold the post; null or absent vacates it.
    #[schema(format = Uuid)]
    user_id: Option<String>,
    /// At most 500 characters.
    note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/staffing/assign", tag = "staffing",
    summary = "Assign a grid's worker or leader, or vacate the post (a grid with a worker is handed over instead: 409; audited)",
    security(("session" = []), ("bearer" = [])),
    request_body(content = AssignBody, content_type = "application/json"),
    responses((status = 200, description = "What changed (changed=false: already so)", body = ChangeReport)))]
async fn assign(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<AssignBody>,
) -> AppResult<Json<ChangeReport>> {
    Ok(Json(
        staffing::assign(
            &st,
            &user,
            &b.grid_code,
            &b.post,
            b.user_id.as_deref(),
            b.note.as_deref(),
            "api",
        )
        .await?,
    ))
}

/// A handover.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct HandoverBody {
    grid_code: String,
    /// The grid worker who takes the grid over.
    #[schema(format = Uuid)]
    to_user_id: String,
    note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/staffing/handover", tag = "staffing",
    summary = "Hand a grid over to another grid worker with its open work (one transaction; the answer says what moved; audited)",
    security(("session" = []), ("bearer" = [])),
    request_body(content = HandoverBody, content_type = "application/json"),
    responses((status = 200, description = "The handover and what moved", body = ChangeReport)))]
async fn handover(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<HandoverBody>,
) -> AppResult<Json<ChangeReport>> {
    Ok(Json(
        staffing::handover(
            &st,
            &user,
            &b.grid_code,
            &b.to_user_id,
            b.note.as_deref(),
            "api",
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/staffing/covers", tag = "staffing",
    summary = "Covers of the region's workers: upcoming, active, and those ended or cancelled in the last 30 days",
    security(("session" = []), ("bearer" = [])), params(RegionParams),
    responses((status = 200, description = "The covers", body = Vec<CoverView>)))]
async fn list_covers(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<RegionParams>,
) -> AppResult<Json<Vec<CoverView>>> {
    let q = query(q)?;
    Ok(Json(
        staffing::view(&st, &user, q.region.as_deref())
            .await?
            .covers,
    ))
}

/// An absence cover (代班).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CoverBody {
    /// A client-generated UUID: sending the same cover again answers the stored one.
    #[schema(format = Uuid)]
    id: Option<String>,
    /// The absent grid worker (or leader) whose grids are covered.
    #[schema(format = Uuid)]
    absent_user_id: String,
    /// Who covers them.
    #[schema(format = Uuid)]
    cover_user_id: String,
    /// RFC 3339, or YYYY-MM-DDTHH:MM in Asia/Shanghai.
    starts_at: String,
    /// After starts_at; the cover ends by itself then.
    ends_at: String,
    note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/staffing/covers", tag = "staffing",
    summary = "Arrange a cover: during the period the covering worker's scope includes the absent worker's grids (overlaps refused; audited)",
    security(("session" = []), ("bearer" = [])),
    request_body(content = CoverBody, content_type = "application/json"),
    responses((status = 201, description = "Arranged", body = CoverView),
        (status = 200, description = "Already arranged under this id (a retry)", body = CoverView)))]
async fn create_cover(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<CoverBody>,
) -> AppResult<Response> {
    let input = CoverInput {
        id: b.id,
        absent_user_id: b.absent_user_id,
        cover_user_id: b.cover_user_id,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        note: b.note,
    };
    let (v, created) = staffing::create_cover(&st, &user, &input, "api").await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(v)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/staffing/covers/{id}", tag = "staffing",
    summary = "Cancel a cover (its row stays in the record; audited)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "cover id (UUID)")),
    responses((status = 200, description = "The cover, cancelled", body = CoverView)))]
async fn cancel_cover(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Json<CoverView>> {
    Ok(Json(staffing::cancel_cover(&st, &user, &id, "api").await?))
}

fn download(bytes: Vec<u8>, content_type: &'static str, name: &'static str) -> Response {
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(name));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ImportParams {
    /// `xlsx` or `csv`: answer with the result as a file (initial passwords included) instead of JSON.
    result: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/admin/users/import", tag = "admin",
    summary = "Import accounts from a CSV or XLSX table: all rows or none (row, column, reason); idempotent by username; initial passwords shown once",
    security(("session" = []), ("bearer" = [])), params(ImportParams),
    request_body(content = String, content_type = "text/csv",
        description = "the filled-in template (GET /api/v1/admin/users/template.xlsx) as CSV or XLSX bytes"),
    responses((status = 200, description = "What was created and updated, with the new accounts' initial passwords", body = AccountsReport)))]
async fn import_accounts(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<ImportParams>,
    body: Bytes,
) -> AppResult<Response> {
    let q = query(q)?;
    let file = match q.result.as_deref().map(str::trim) {
        None | Some("") | Some("json") => None,
        Some("xlsx") => Some(true),
        Some("csv") => Some(false),
        Some(_) => return Err(AppError::invalid("result", "must be json, xlsx or csv")),
    };
    let r = accounts_io::import(&st, &user, &body, "api", Utc::now()).await?;
    Ok(match file {
        None => {
            let mut resp = Json(r).into_response();
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Some(true) => download(
            accounts_io::result_file(&r, true)?,
            XLSX,
            "attachment; filename=\"accounts-imported.xlsx\"",
        ),
        Some(false) => download(
            accounts_io::result_file(&r, false)?,
            "text/csv; charset=utf-8",
            "attachment; filename=\"accounts-imported.csv\"",
        ),
    })
}

#[utoipa::path(get, path = "/api/v1/admin/users/template.xlsx", tag = "admin",
    summary = "The accounts import template: header row (zh + en), examples, the roles",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = String)))]
async fn accounts_template(CurrentUser(user): CurrentUser) -> AppResult<Response> {
    crate::app::policy::require(&user, crate::app::policy::Perm::ImportAccounts)?;
    Ok(download(
        accounts_io::template_xlsx()?,
        XLSX,
        "attachment; filename=\"accounts-template.xlsx\"",
    ))
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(get_staffing))
        .routes(routes!(assign))
        .routes(routes!(handover))
        .routes(routes!(list_covers, create_cover))
        .routes(routes!(cancel_cover))
        .routes(routes!(import_accounts))
        .routes(routes!(accounts_template))
}
