//! Grid screening reports (矛盾纠纷排查): a grid's report of the disputes found in a period, or
//! that none were found; one report per grid and period, filed by the grid's workers or a
//! mediator, listed for the territory's staff.

use super::auth::CurrentUser;
use super::disputes::{QueryResult, day, query, staff};
use super::json::ApiJson;
use crate::app::error::{AppError, AppResult};
use crate::app::scope::region_for;
use crate::app::state::SharedState;
use crate::app::time::local_time;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use safegrid_domain::Role;
use safegrid_domain::codes::GridCode;
use safegrid_store::{StoreError, from_ms};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewScreening {
    /// The grid's code.
    grid: String,
    /// First day of the period (YYYY-MM-DD).
    #[schema(format = Date)]
    from: String,
    /// Last day of the period (YYYY-MM-DD).
    #[schema(format = Date)]
    to: String,
    /// Ids of the disputes found in the period; empty when none were found (无矛盾纠纷).
    #[serde(default)]
    cases: Vec<Uuid>,
    #[serde(default)]
    notes: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/disputes/screenings", tag = "disputes",
    summary = "File a grid's screening report for a period (empty cases: none found)",
    security(("session" = []), ("bearer" = [])), request_body(content = NewScreening, content_type = "application/json"),
    responses((status = 201, description = "Filed", body = super::schema::Screening)))]
async fn create_screening(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<NewScreening>,
) -> AppResult<Response> {
    if !matches!(
        user.role,
        Role::GridWorker | Role::GridLeader | Role::Mediator | Role::Admin
    ) {
        return Err(AppError::forbidden(
            "screening reports are filed by grid workers, grid leaders and mediators",
        ));
    }
    let grid = GridCode::parse_field(&b.grid, "grid")?;
    let village = grid.village();
    let covered = match user.role {
        Role::GridWorker | Role::GridLeader => {
            user.grids.iter().any(|g| g == grid.as_str())
                || (!user.regions.is_empty() && user.covers_region(village.as_str()))
        }
        _ => user.covers_region(village.as_str()),
    };
    if !covered {
        return Err(AppError::forbidden("this grid is outside your territory"));
    }
    let (from, to) = (day(&b.from, "from")?, day(&b.to, "to")?);
    if from > to {
        return Err(AppError::invalid("from", "must not be after to"));
    }
    let today = Utc::now()
        .with_timezone(&crate::app::time::shanghai())
        .date_naive();
    if from > today {
        return Err(AppError::invalid(
            "from",
            "a screening reports a period that has begun",
        ));
    }
    if (to - from).num_days() > 366 {
        return Err(AppError::invalid("to", "a period is at most a year"));
    }
    if b.cases.len() > 500 {
        return Err(AppError::invalid(
            "cases",
            "at most 500 disputes per report",
        ));
    }
    let notes = b.notes.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if notes.is_some_and(|n| n.chars().count() > 4000) {
        return Err(AppError::invalid(
            "notes",
            "must be at most 4000 characters",
        ));
    }
    let mut found = Vec::new();
    for (i, id) in b.cases.iter().enumerate() {
        let field = format!("cases[{i}]");
        let c = match st.store.case(*id).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => {
                return Err(AppError::invalid(field, format!("no case with id {id}")));
            }
            Err(e) => return Err(e.into()),
        };
        if c.case_type != "dispute" {
            return Err(AppError::invalid(field, "is not a dispute"));
        }
        if c.grid_code.as_ref().map(|g| g.as_str()) != Some(grid.as_str()) {
            return Err(AppError::invalid(field, "is not a dispute of this grid"));
        }
        if found.iter().any(|(_, x)| x == id) {
            return Err(AppError::invalid(field, "is listed twice"));
        }
        found.push((c.county_code.clone(), c.id));
    }
    let row = st
        .store
        .insert_screening(
            grid.as_str(),
            village.as_str(),
            (from, to),
            &found,
            notes,
            &user.username,
            Utc::now(),
        )
        .await?;
    let ids: Vec<Uuid> = found.iter().map(|x| x.1).collect();
    Ok((
        axum::http::StatusCode::CREATED,
        Json(screening_json(&row, &ids)),
    )
        .into_response())
}

fn screening_json(r: &safegrid_store::disputes::ScreeningRow, ids: &[Uuid]) -> Value {
    json!({
        "id": r.id, "grid": r.grid_code, "region_code": r.region_code,
        "from": r.period_from, "to": r.period_to,
        "none_found": r.none_found, "disputes": ids, "count": ids.len(),
        // Identifiers typed into the notes are masked (`crate::app::pii`) like every free text.
        "notes": r.notes.as_deref().map(|n| crate::app::pii::mask(n, &[])), "reported_by": r.reported_by, "reported_at": local_time(from_ms(r.created_at)),
    })
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ScreeningQuery {
    /// Region code (default: the caller's territory).
    region: Option<String>,
    /// Reports overlapping the period from this day (YYYY-MM-DD).
    from: Option<String>,
    /// … to this day (YYYY-MM-DD).
    to: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/disputes/screenings", tag = "disputes",
    summary = "Grid screening reports (矛盾纠纷排查) overlapping a period",
    security(("session" = []), ("bearer" = [])), params(ScreeningQuery),
    responses((status = 200, description = "The reports", body = super::schema::ScreeningList)))]
async fn list_screenings(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<ScreeningQuery>,
) -> AppResult<Json<Value>> {
    staff(&user)?;
    if user.role == Role::Handler {
        return Err(AppError::forbidden(
            "screening reports are for the territory's staff",
        ));
    }
    let q = query(q)?;
    // A grid worker without a region sees the reports of the grids they look after only: the
    // region asked narrows those; everyone else reads within their territory.
    let grid_only =
        matches!(user.role, Role::GridWorker | Role::GridLeader) && user.regions.is_empty();
    let prefix = match q.region.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(r) if grid_only => safegrid_domain::codes::RegionCode::parse(r)
            .map(|c| c.short().to_string())
            .map_err(|e| AppError::invalid("region", e.reason))?,
        None if grid_only => String::new(),
        asked => region_for(&user, asked)?,
    };
    let from = q.from.as_deref().map(|s| day(s, "from")).transpose()?;
    let to = q.to.as_deref().map(|s| day(s, "to")).transpose()?;
    let from_s = from
        .map(|d| d.to_string())
        .unwrap_or_else(|| "0000-01-01".into());
    let to_s = to
        .map(|d| d.to_string())
        .unwrap_or_else(|| "9999-12-31".into());
    let rows = st.store.screenings(&prefix, &from_s, &to_s).await?;
    let items: Vec<Value> = rows
        .iter()
        .filter(|(r, _)| !grid_only || user.grids.contains(&r.grid_code))
        .map(|(r, ids)| screening_json(r, ids))
        .collect();
    Ok(Json(json!({ "total": items.len(), "items": items })))
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(list_screenings, create_screening))
}
