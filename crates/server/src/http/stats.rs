//! Evaluation endpoints (综合评价): GB/T 30428.4 counts and rates of a region, grid or department
//! for a period, read from the counters kept as cases move (never by scanning cases).

use super::auth::CurrentUser;
use crate::app::error::{AppError, AppResult};
use crate::app::state::SharedState;
use axum::Json;
use axum::extract::{Query, State};
use chrono::{Duration, NaiveDate, Utc};
use safegrid_domain::Role;
use safegrid_domain::codes::{GridCode, RegionCode};
use safegrid_domain::kpi::Counters;
use safegrid_store::{User, kpi_day};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct KpiQuery {
    /// Region code (default: the caller's territory).
    region: Option<String>,
    /// Grid code.
    grid: Option<String>,
    /// Department code.
    department: Option<String>,
    /// First day (YYYY-MM-DD).
    from: Option<String>,
    /// Last day (YYYY-MM-DD).
    to: Option<String>,
    /// Include each child region's figures.
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Flag>)]
    children: Option<bool>,
}

fn date(s: Option<&str>, field: &str, default: NaiveDate) -> AppResult<NaiveDate> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d")
            .map_err(|_| AppError::invalid(field, "must be a date YYYY-MM-DD")),
    }
}

fn counts_json(c: &Counters) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(json!({}));
    v["due_to_close"] = json!(c.due_to_close());
    v["due_to_handle"] = json!(c.due_to_handle());
    v
}

fn figures(st: &SharedState, c: &Counters) -> Value {
    let score = c.score(
        &st.settings.score_weights,
        if c.reported > 0 { 1.0 } else { 0.0 },
    );
    json!({
        "counts": counts_json(c),
        "rates": c.rates(),
        "score": score.map(|s| (s.0 * 100.0).round() / 100.0),
        "grade": score.map(|s| s.1.to_string()),
    })
}

fn may_read_region(user: &User, region: &str) -> bool {
    match user.role {
        Role::Citizen | Role::Handler => false,
        // Grid workers are scoped by their grids; a region only counts when one was given
        // (an empty region list means "everywhere" only for region-scoped roles).
        Role::GridWorker | Role::GridLeader => {
            !user.regions.is_empty() && user.covers_region(region)
        }
        _ => user.covers_region(region),
    }
}

#[utoipa::path(get, path = "/api/v1/stats/kpi", tag = "stats",
    summary = "GB/T 30428.4 counts, rates and score of a region, grid or department",
    security(("session" = []), ("bearer" = [])),
    params(KpiQuery), responses((status = 200, description = "The figures", body = super::schema::Kpi)))]
async fn kpi(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: Result<Query<KpiQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Json<Value>> {
    crate::app::policy::require(&user, crate::app::policy::Perm::ReadStats)?;
    let Query(q) = q.map_err(|e| AppError::bad_request(Some("query"), e.body_text()))?;
    let today = Utc::now()
        .with_timezone(&crate::app::time::shanghai())
        .date_naive();
    let to = date(q.to.as_deref(), "to", today)?;
    let from = date(q.from.as_deref(), "from", to - Duration::days(364))?;
    if from > to {
        return Err(AppError::invalid("from", "must not be after to"));
    }
    let (node, label, kind, region_for_children) = if let Some(g) =
        q.grid.as_deref().filter(|s| !s.is_empty())
    {
        let g = GridCode::parse(g).map_err(|e| AppError::invalid("grid", e.reason))?;
        let ok = user.grids.iter().any(|x| x == g.as_str())
            || may_read_region(&user, g.village().as_str());
        if !ok {
            return Err(AppError::not_found("grid"));
        }
        (g.as_str().to_string(), None, "grid", None)
    } else if let Some(d) = q.department.as_deref().filter(|s| !s.is_empty()) {
        let dep = st
            .store
            .department(d)
            .await
            .map_err(|_| AppError::not_found("department"))?;
        let ok = user.department.as_deref() == Some(d) || may_read_region(&user, &dep.region_code);
        if !ok {
            return Err(AppError::not_found("department"));
        }
        (format!("dept:{d}"), Some(dep.name_zh), "department", None)
    } else {
        let code = match q.region.as_deref().filter(|s| !s.is_empty()) {
            Some(r) => RegionCode::parse(r).map_err(|e| AppError::invalid("region", e.reason))?,
            None => {
                let root = user.regions.first().cloned().or(st.root_region().await?);
                let root = root.ok_or_else(|| {
                    AppError::invalid("region", "is required (no territory loaded)")
                })?;
                RegionCode::parse(&root).map_err(AppError::internal)?
            }
        };
        if !may_read_region(&user, code.as_str()) {
            return Err(AppError::not_found("region"));
        }
        let name = st.region_names().get(code.as_str()).cloned();
        (code.as_str().to_string(), name, "region", Some(code))
    };
    let (fd, td) = (kpi_day(from), kpi_day(to));
    let c = st.store.kpi(&node, fd, td).await?;
    let mut v = json!({
        "node": node, "kind": kind, "name": label,
        "from": from.to_string(), "to": to.to_string(),
        "cohort": "cases reported in the period, as they stand now",
    });
    if let Some(o) = v.as_object_mut()
        && let Value::Object(f) = figures(&st, &c)
    {
        o.extend(f);
    }
    if let (Some(code), true) = (region_for_children, q.children.unwrap_or(false)) {
        let names = st.region_names();
        let rows = st.store.kpi_children(code.short(), 12, fd, td).await?;
        let kids: Vec<Value> = rows
            .iter()
            .filter(|(n, _)| {
                RegionCode::parse(n)
                    .ok()
                    .and_then(|r| r.parent())
                    .is_some_and(|p| p == code)
            })
            .map(|(n, c)| {
                let mut k = json!({ "node": n, "name": names.get(n) });
                if let (Some(o), Value::Object(f)) = (k.as_object_mut(), figures(&st, c)) {
                    o.extend(f);
                }
                k
            })
            .collect();
        v["children"] = json!(kids);
    }
    Ok(Json(v))
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(kpi))
}
