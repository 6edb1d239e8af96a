//! Administrator endpoints: imports of divisions, grids and the calendar by upload.

use super::auth::CurrentUser;
use crate::app::error::{AppError, AppResult};
use crate::app::import::ImportError;
use crate::app::state::SharedState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use safegrid_geo::Crs;
use safegrid_store::User;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

fn admin_only(u: &User) -> AppResult<()> {
    crate::app::policy::require(u, crate::app::policy::Perm::ManageTerritory)?;
    crate::app::policy::require_root(u)
}

/// Records a finished import in the audit trail (what, by whom, how much).
async fn audited(st: &SharedState, u: &User, what: &str, report: Value) -> AppResult<Value> {
    st.store
        .audit(&safegrid_store::AuditEntry::new(
            Some(u.id),
            u.username.clone(),
            format!("territory.import_{what}"),
            "territory",
            None,
            report.clone(),
        ))
        .await?;
    Ok(report)
}

fn to_api(e: ImportError) -> AppError {
    match e {
        ImportError::Refused(f) => {
            let first = f.problems.first();
            let mut err = AppError::invalid(
                first
                    .map(|p| p.field.clone())
                    .unwrap_or_else(|| "body".into()),
                first.map(|p| p.reason.clone()).unwrap_or_default(),
            );
            err.message = format!(
                "{} import refused, nothing written: {}",
                f.what, err.message
            );
            err.with_extra(json!({ "problems": f.problems }))
        }
        ImportError::Internal(e) => AppError::internal(format!("{e:#}")),
    }
}

#[utoipa::path(post, path = "/api/v1/admin/import/divisions", tag = "admin", summary = "Import divisions (NBS CSV body)",
    security(("session" = []), ("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "the NBS division codes as CSV"),
    responses((status = 200, description = "What was read and written", body = Object)))]
async fn divisions(
    State(st): State<SharedState>,
    CurrentUser(u): CurrentUser,
    body: Bytes,
) -> AppResult<(StatusCode, Json<Value>)> {
    admin_only(&u)?;
    let r = st.import_divisions(&body).await.map_err(to_api)?;
    Ok((
        StatusCode::OK,
        Json(audited(&st, &u, "divisions", json!(r)).await?),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct GridParams {
    /// The coordinates' reference system: wgs84 (default) or gcj02.
    crs: Option<String>,
    /// The feature property holding the grid code (default `code`).
    code_property: Option<String>,
    /// The feature property holding the grid name (default `name`).
    name_property: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/admin/import/grids", tag = "admin", summary = "Import grids (GeoJSON FeatureCollection body)",
    security(("session" = []), ("bearer" = [])),
    params(GridParams),
    request_body(content = Object, content_type = "application/geo+json", description = "a FeatureCollection of Polygon/MultiPolygon features"),
    responses((status = 200, description = "What was read and written", body = Object)))]
async fn grids(
    State(st): State<SharedState>,
    CurrentUser(u): CurrentUser,
    q: Result<Query<GridParams>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> AppResult<Json<Value>> {
    admin_only(&u)?;
    let Query(q) = q.map_err(|e| AppError::bad_request(Some("query"), e.body_text()))?;
    let crs: Crs = q
        .crs
        .as_deref()
        .unwrap_or("wgs84")
        .parse()
        .map_err(|e: safegrid_geo::UnknownCrs| AppError::invalid("crs", e.to_string()))?;
    let text =
        std::str::from_utf8(&body).map_err(|_| AppError::invalid("body", "is not valid UTF-8"))?;
    let r = st
        .import_grids(
            text,
            crs,
            q.code_property.as_deref().unwrap_or("code"),
            q.name_property.as_deref().unwrap_or("name"),
        )
        .await
        .map_err(to_api)?;
    Ok(Json(audited(&st, &u, "grids", json!(r)).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/import/calendar", tag = "admin", summary = "Import official calendar days (CSV body)",
    security(("session" = []), ("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "official calendar days, one CSV row each"),
    responses((status = 200, description = "What was read and written", body = Object)))]
async fn calendar(
    State(st): State<SharedState>,
    CurrentUser(u): CurrentUser,
    body: Bytes,
) -> AppResult<Json<Value>> {
    admin_only(&u)?;
    let r = st.import_calendar(&body).await.map_err(to_api)?;
    Ok(Json(audited(&st, &u, "calendar", json!(r)).await?))
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(divisions))
        .routes(routes!(grids))
        .routes(routes!(calendar))
}
