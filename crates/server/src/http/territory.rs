//! Territory and reference data: regions, grids (GeoJSON), point location, departments,
//! categories. Public reads: residents need them to report.

use super::schema;
use crate::app::error::{AppError, AppResult};
use crate::app::state::SharedState;
use axum::Json;
use axum::extract::{Path, Query, State};
use safegrid_domain::codes::{GeoPoint, GridCode, RegionCode};
use safegrid_store::StoreError;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

type Q<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

fn query<T>(q: Q<T>) -> AppResult<T> {
    q.map(|Query(v)| v)
        .map_err(|e| AppError::bad_request(Some("query"), e.body_text()))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RegionQuery {
    /// The parent region's code (its children are listed).
    parent: Option<String>,
    /// province, city, county, township or village (or 1–5).
    level: Option<String>,
    /// Include each region's boundary.
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Flag>)]
    geometry: Option<bool>,
}

fn level_num(s: &str) -> AppResult<i16> {
    Ok(match s {
        "1" | "province" => 1,
        "2" | "city" => 2,
        "3" | "county" => 3,
        "4" | "township" => 4,
        "5" | "village" => 5,
        _ => {
            return Err(AppError::invalid(
                "level",
                "must be province, city, county, township or village (or 1–5)",
            ));
        }
    })
}

fn region_json(r: &safegrid_store::Region, with_geometry: bool) -> Value {
    let mut v =
        json!({ "code": r.code, "parent_code": r.parent_code, "level": r.level, "name": r.name });
    if with_geometry {
        v["geometry"] = r
            .geometry
            .as_deref()
            .and_then(|g| serde_json::from_str(g).ok())
            .unwrap_or(Value::Null);
    }
    v
}

#[utoipa::path(get, path = "/api/v1/regions", tag = "territory", summary = "Regions by parent and level",
    params(RegionQuery), responses((status = 200, description = "Regions", body = schema::RegionList)))]
async fn regions(State(st): State<SharedState>, q: Q<RegionQuery>) -> AppResult<Json<Value>> {
    let q = query(q)?;
    let parent = match q.parent.as_deref().filter(|s| !s.is_empty()) {
        Some(p) => Some(
            RegionCode::parse(p)
                .map_err(|e| AppError::invalid("parent", e.reason))?
                .as_str()
                .to_string(),
        ),
        None => None,
    };
    let level = q
        .level
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(level_num)
        .transpose()?;
    let geom = q.geometry.unwrap_or(false);
    let items = st.store.regions(parent.as_deref(), level, geom).await?;
    Ok(Json(
        json!({ "items": items.iter().map(|r| region_json(r, geom)).collect::<Vec<_>>(), "total": items.len() }),
    ))
}

#[utoipa::path(get, path = "/api/v1/regions/{code}", tag = "territory",
    summary = "A region with its boundary, children and path",
    params(("code" = String, Path, description = "region code (2–12 digits)")),
    responses((status = 200, description = "The region", body = schema::Region)))]
async fn region(State(st): State<SharedState>, Path(code): Path<String>) -> AppResult<Json<Value>> {
    let code = RegionCode::parse(&code).map_err(|e| AppError::invalid("code", e.reason))?;
    let r = st.store.region(code.as_str()).await.map_err(|e| match e {
        StoreError::NotFound => AppError::not_found("region"),
        e => e.into(),
    })?;
    let children = st.store.regions(Some(code.as_str()), None, false).await?;
    let mut v = region_json(&r, true);
    v["children"] = json!(
        children
            .iter()
            .map(|c| region_json(c, false))
            .collect::<Vec<_>>()
    );
    v["path"] = json!(
        code.ancestors()
            .iter()
            .map(|a| json!({"code": a.as_str(), "name": st.region_names().get(a.as_str())}))
            .collect::<Vec<_>>()
    );
    Ok(Json(v))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct GridQuery {
    /// A region code: grids in its subtree.
    region: Option<String>,
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Count>)]
    page: Option<i64>,
    #[serde(default, deserialize_with = "crate::app::input::empty_as_none")]
    #[param(inline, value_type = Option<crate::http_common::openapi::Count>)]
    page_size: Option<i64>,
}

fn grid_feature(g: &safegrid_store::Grid) -> Value {
    json!({
        "type": "Feature",
        "id": g.code,
        "geometry": serde_json::from_str::<Value>(&g.geometry).unwrap_or(Value::Null),
        "properties": {
            "code": g.code, "name": g.name, "village_code": g.village_code,
            "households": g.households, "area_m2": g.area_m2,
        }
    })
}

/// Grids as a GeoJSON FeatureCollection, filtered by region subtree and paged.
#[utoipa::path(get, path = "/api/v1/grids", tag = "territory", summary = "Grids as GeoJSON, by region subtree, paged",
    params(GridQuery), responses((status = 200, description = "A FeatureCollection", body = schema::GridCollection)))]
async fn grids(State(st): State<SharedState>, q: Q<GridQuery>) -> AppResult<Json<Value>> {
    let q = query(q)?;
    let prefix = match q.region.as_deref().filter(|s| !s.is_empty()) {
        Some(r) => Some(
            RegionCode::parse(r)
                .map_err(|e| AppError::invalid("region", e.reason))?
                .short()
                .to_string(),
        ),
        None => None,
    };
    let page = q.page.unwrap_or(1);
    let size = q.page_size.unwrap_or(1000);
    if !(1..=5000).contains(&size) {
        return Err(AppError::invalid("page_size", "must be between 1 and 5000"));
    }
    let offset = crate::app::input::page_offset(page, size)?;
    let items = st.store.grids(prefix.as_deref(), size, offset).await?;
    Ok(Json(json!({
        "type": "FeatureCollection",
        "features": items.iter().map(grid_feature).collect::<Vec<_>>(),
        "page": page, "page_size": size,
    })))
}

#[utoipa::path(get, path = "/api/v1/grids/{code}", tag = "territory",
    summary = "A grid as a GeoJSON feature with its workers",
    params(("code" = String, Path, description = "grid code (15 digits)")),
    responses((status = 200, description = "The grid", body = schema::GridFeature)))]
async fn grid(State(st): State<SharedState>, Path(code): Path<String>) -> AppResult<Json<Value>> {
    let code = GridCode::parse(&code).map_err(|e| AppError::invalid("code", e.reason))?;
    let g = st.store.grid(code.as_str()).await.map_err(|e| match e {
        StoreError::NotFound => AppError::not_found("grid"),
        e => e.into(),
    })?;
    let workers: Vec<Value> = st
        .store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.grids.iter().any(|x| x == code.as_str()))
        .map(|u| json!({ "username": u.username, "display_name": u.display_name, "role": u.role }))
        .collect();
    let mut v = grid_feature(&g);
    v["properties"]["workers"] = json!(workers);
    Ok(Json(v))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LocateQuery {
    /// Latitude in degrees (WGS 84).
    #[param(required = true, value_type = f64, minimum = -90, maximum = 90)]
    lat: Option<String>,
    /// Longitude in degrees (WGS 84).
    #[param(required = true, value_type = f64, minimum = -180, maximum = 180)]
    lon: Option<String>,
}

fn num(v: Option<&str>, field: &str) -> AppResult<f64> {
    let s = v
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AppError::invalid(field, "is required"))?;
    s.parse::<f64>()
        .map_err(|_| AppError::invalid(field, "must be a number in degrees"))
}

/// Point → grid → region path.
#[utoipa::path(get, path = "/api/v1/locate", tag = "territory", summary = "Point → grid → region path",
    params(LocateQuery), responses((status = 200, description = "Where the point lies", body = schema::Location)))]
async fn locate(State(st): State<SharedState>, q: Q<LocateQuery>) -> AppResult<Json<Value>> {
    let q = query(q)?;
    let p = GeoPoint::new(num(q.lon.as_deref(), "lon")?, num(q.lat.as_deref(), "lat")?)?;
    let loc = st.locator().locate(p.lon, p.lat);
    let names = st.region_names();
    let deepest = loc
        .grid
        .as_ref()
        .map(|g| g[..12].to_string())
        .or(loc.region.clone());
    let path: Vec<Value> = deepest
        .as_deref()
        .and_then(|r| RegionCode::parse(r).ok())
        .map(|r| {
            r.ancestors()
                .iter()
                .map(|a| json!({ "code": a.as_str(), "level": a.level(), "name": names.get(a.as_str()) }))
                .collect()
        })
        .unwrap_or_default();
    let grid = match &loc.grid {
        Some(g) => st
            .store
            .grid(g)
            .await
            .ok()
            .map(|g| json!({ "code": g.code, "name": g.name })),
        None => None,
    };
    Ok(Json(json!({
        "lat": p.lat, "lon": p.lon,
        "grid": grid,
        "region_code": deepest,
        "path": path,
        "inside_territory": deepest.is_some(),
        "needs_grid_assignment": loc.grid.is_none(),
    })))
}

#[utoipa::path(get, path = "/api/v1/departments", tag = "reference", summary = "Departments cases are dispatched to",
    responses((status = 200, description = "Departments", body = schema::DepartmentList)))]
async fn departments(State(st): State<SharedState>) -> AppResult<Json<Value>> {
    let items = st.store.departments().await?;
    Ok(Json(json!({ "items": items, "total": items.len() })))
}

#[utoipa::path(get, path = "/api/v1/categories", tag = "reference",
    summary = "The category catalog with deadlines per urgency and stage",
    responses((status = 200, description = "Categories", body = schema::CategoryList)))]
async fn categories(State(st): State<SharedState>) -> AppResult<Json<Value>> {
    let limits = st.store.deadline_limits().await?;
    let cats = st.store.categories().await?;
    let items: Vec<Value> = cats
        .iter()
        .filter(|c| c.active)
        .map(|c| {
            let mut lim = serde_json::Map::new();
            for (cat, urg, stage, l) in limits.iter().filter(|l| l.0 == c.code) {
                let _ = cat;
                let e = lim.entry(urg.clone()).or_insert_with(|| json!({}));
                e[stage] = json!(l);
            }
            json!({
                "code": c.code, "type": c.case_type, "kind": c.kind,
                "class": { "code": c.class_code, "zh": c.class_zh, "en": c.class_en },
                "name": { "zh": c.name_zh, "en": c.name_en },
                "department_kind": c.department_kind,
                "keywords": serde_json::from_str::<Value>(&c.keywords).unwrap_or(json!([])),
                "icon": c.icon,
                "attributes": serde_json::from_str::<Value>(&c.attributes).unwrap_or(json!([])),
                "limits": lim,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items, "total": items.len() })))
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(regions))
        .routes(routes!(region))
        .routes(routes!(grids))
        .routes(routes!(grid))
        .routes(routes!(locate))
        .routes(routes!(departments))
        .routes(routes!(categories))
}
