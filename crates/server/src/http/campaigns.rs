//! The API of screening campaigns (专项行动): design and run them (`/api/v1/campaigns…`), a grid
//! worker's tasks (`/api/v1/tasks/today`), inspections (`/api/v1/inspections`, JSON, or
//! multipart with photos), progress tables and the 表格 exports. Each handler only translates:
//! the rules are in `app::campaigns` and `app::campaign_tables`.

use super::auth::CurrentUser;
use super::disputes::{QueryResult, query};
use super::json::{ApiJson, is_json, parse_body};
use crate::app::campaigns::{CampaignInput, InspectionInput, InspectionResult, campaign_json};
use crate::app::error::{AppError, AppResult, ErrorKind};
use crate::app::state::SharedState;
use crate::app::time::local_time;
use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use safegrid_domain::codes::GeoPoint;
use safegrid_store::campaigns::HazardRow;
use safegrid_store::from_ms;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

fn campaign_id(id: &str) -> AppResult<Uuid> {
    Uuid::parse_str(id.trim()).map_err(|_| AppError::not_found("campaign"))
}

/// A campaign's design (a new draft, or a draft's new design).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CampaignBody {
    title: String,
    /// routine, special, holiday, five_small, group_rental, work_safety or other.
    kind: String,
    /// The territory: a region code.
    region: String,
    /// Place kinds covered (group_rental, shop, restaurant …); empty: every place.
    #[serde(default)]
    place_kinds: Vec<String>,
    #[schema(format = Date)]
    starts_on: String,
    #[schema(format = Date)]
    ends_on: String,
    /// Items: `{key, text_zh, text_en?, answer: yes_no|number|choice|text|photo, options?,
    /// required?, hazard?: {when: {equals | below/above | any_of}, category, department?,
    /// severity: general|major, limit: "7 natural_days"}}`.
    #[schema(value_type = Vec<Object>)]
    checklist: Vec<Value>,
    /// For an edit: the version read (409 when it moved on).
    #[serde(default)]
    version: Option<i64>,
}

impl CampaignBody {
    fn input(self) -> (CampaignInput, Option<i64>) {
        (
            CampaignInput {
                title: self.title,
                kind: self.kind,
                region: self.region,
                place_kinds: self.place_kinds,
                starts_on: self.starts_on,
                ends_on: self.ends_on,
                checklist: self.checklist,
            },
            self.version,
        )
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct VersionBody {
    /// The version read (409 when it moved on).
    #[serde(default)]
    version: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ExtendBody {
    /// The new last day (YYYY-MM-DD), after the current one.
    #[schema(format = Date)]
    ends_on: String,
    #[serde(default)]
    version: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    summary = "Campaigns whose territory meets the caller's",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, description = "The campaigns", body = CampaignList)))]
async fn list(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<Json<Value>> {
    let items: Vec<Value> = st
        .list_campaigns(&user)
        .await?
        .iter()
        .map(campaign_json)
        .collect();
    Ok(Json(json!({ "total": items.len(), "items": items })))
}

#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns",
    summary = "Create a campaign as a draft (command center, or a department at any level)",
    security(("session" = []), ("bearer" = [])),
    request_body(content = CampaignBody, content_type = "application/json"),
    responses((status = 201, description = "The draft", body = CampaignView)))]
async fn create(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<CampaignBody>,
) -> AppResult<Response> {
    let (input, _) = b.input();
    let c = st.create_campaign(&user, input, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(campaign_json(&c))).into_response())
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    summary = "A campaign with its checklist",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "campaign id (UUID)")),
    responses((status = 200, description = "The campaign", body = CampaignView)))]
async fn show(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let c = st.visible_campaign(&user, campaign_id(&id)?).await?;
    Ok(Json(campaign_json(&c)))
}

#[utoipa::path(put, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    summary = "Replace a draft's design",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "campaign id (UUID)")),
    request_body(content = CampaignBody, content_type = "application/json"),
    responses((status = 200, description = "The draft", body = CampaignView)))]
async fn edit(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CampaignBody>,
) -> AppResult<Json<Value>> {
    let id = campaign_id(&id)?;
    let (input, version) = b.input();
    let c = st
        .edit_campaign(&user, id, input, version, Utc::now())
        .await?;
    Ok(Json(campaign_json(&c)))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/publish", tag = "campaigns",
    summary = "Publish a draft: every active place of its kinds in its territory becomes a task",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "campaign id (UUID)")),
    request_body(content = VersionBody, content_type = "application/json"),
    responses((status = 200, description = "Published, with the number of tasks", body = CampaignView)))]
async fn publish(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<VersionBody>,
) -> AppResult<Json<Value>> {
    let id = campaign_id(&id)?;
    let (c, tasks) = st
        .publish_campaign(&user, id, b.version, Utc::now())
        .await?;
    let mut v = campaign_json(&c);
    v["tasks"] = json!(tasks);
    Ok(Json(v))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/close", tag = "campaigns",
    summary = "Close a published campaign (early or at its end)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "campaign id (UUID)")),
    request_body(content = VersionBody, content_type = "application/json"),
    responses((status = 200, description = "Closed", body = CampaignView)))]
async fn close(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<VersionBody>,
) -> AppResult<Json<Value>> {
    let id = campaign_id(&id)?;
    let c = st.close_campaign(&user, id, b.version, Utc::now()).await?;
    Ok(Json(campaign_json(&c)))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/extend", tag = "campaigns",
    summary = "Move a campaign's end later",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "campaign id (UUID)")),
    request_body(content = ExtendBody, content_type = "application/json"),
    responses((status = 200, description = "Extended", body = CampaignView)))]
async fn extend(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ExtendBody>,
) -> AppResult<Json<Value>> {
    let id = campaign_id(&id)?;
    let c = st
        .extend_campaign(&user, id, &b.ends_on, b.version, Utc::now())
        .await?;
    Ok(Json(campaign_json(&c)))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/copy", tag = "campaigns",
    summary = "Copy a campaign as a new draft for the next round",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "campaign id (UUID)")),
    responses((status = 201, description = "The new draft", body = CampaignView)))]
async fn copy(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = campaign_id(&id)?;
    let c = st.copy_campaign(&user, id, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(campaign_json(&c))).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ProgressQuery {
    /// A region code within the campaign's territory (default: the widest the caller sees).
    region: Option<String>,
    /// A department's code: only the hazards dispatched to it.
    department: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/progress", tag = "campaigns",
    summary = "Progress tables: places due, inspected, unreachable, coverage, hazards, on time, overdue by county, township, village, grid",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "campaign id (UUID)"), ProgressQuery),
    responses((status = 200, description = "The tables", body = ProgressView)))]
async fn progress(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    q: QueryResult<ProgressQuery>,
) -> AppResult<Json<Value>> {
    let q = query(q)?;
    let id = campaign_id(&id)?;
    let p = st
        .campaign_progress(
            &user,
            id,
            q.region.as_deref(),
            q.department.as_deref(),
            Utc::now(),
        )
        .await?;
    Ok(Json(serde_json::to_value(p).map_err(AppError::internal)?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    /// xlsx (default) or csv.
    format: Option<String>,
    /// A region code within the campaign's territory.
    region: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/export", tag = "campaigns",
    summary = "The campaign's table (表格): XLSX with a sheet per level and one of places with the answers, or CSV (UTF-8 BOM) of places",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "campaign id (UUID)"), ExportQuery),
    responses((status = 200, description = "The file", content_type = "application/octet-stream", body = String)))]
async fn export(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    q: QueryResult<ExportQuery>,
) -> AppResult<Response> {
    let q = query(q)?;
    let id = campaign_id(&id)?;
    let now = Utc::now();
    let (bytes, ct, ext) = match q.format.as_deref().unwrap_or("xlsx") {
        "xlsx" => (
            st.campaign_xlsx(&user, id, q.region.as_deref(), now)
                .await?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        "csv" => (
            st.campaign_csv(&user, id, q.region.as_deref(), now).await?,
            "text/csv; charset=utf-8",
            "csv",
        ),
        _ => return Err(AppError::invalid("format", "must be xlsx or csv")),
    };
    let mut r = bytes.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"campaign-{id}.{ext}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct TodayQuery {
    /// The phone's position (WGS-84), to list the nearest places first.
    lat: Option<f64>,
    lon: Option<f64>,
}

fn hazard_json(h: &HazardRow) -> Value {
    json!({
        "case": h.case_id,
        "inspection": h.inspection_id,
        "item": h.item_key,
        "place": h.place_id,
        "grid": h.grid_code,
        "severity": h.severity,
        "state": h.case_status,
        "department": h.department,
        "due_at": h.due_at.map(|t| local_time(from_ms(t))),
        "handled_at": h.handled_at.map(|t| local_time(from_ms(t))),
    })
}

#[utoipa::path(get, path = "/api/v1/tasks/today", tag = "campaigns",
    summary = "A grid worker's tasks: due places of published campaigns in their grids (nearest first with lat/lon) and hazards to re-inspect",
    security(("session" = []), ("bearer" = [])), params(TodayQuery),
    responses((status = 200, description = "The tasks", body = TodayView)))]
async fn today(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<TodayQuery>,
) -> AppResult<Json<Value>> {
    let q = query(q)?;
    let at = match (q.lat, q.lon) {
        (Some(lat), Some(lon)) => Some(GeoPoint::new(lon, lat)?),
        (None, None) => None,
        (Some(_), None) => return Err(AppError::invalid("lon", "is required with lat")),
        (None, Some(_)) => return Err(AppError::invalid("lat", "is required with lon")),
    };
    let t = st.today_tasks(&user, at).await?;
    let tasks: Vec<Value> = t
        .tasks
        .iter()
        .map(|(t, d)| {
            json!({
                "campaign": t.campaign_id,
                "campaign_title": t.campaign_title,
                "ends_on": t.ends_on,
                "place": t.place_id,
                "name": t.place_name,
                "kind": t.place_kind,
                "address": t.address,
                "grid": t.grid_code,
                "lat": t.lat,
                "lon": t.lon,
                "distance_m": d.map(|d| d.round()),
            })
        })
        .collect();
    let re: Vec<Value> = t.reinspections.iter().map(hazard_json).collect();
    Ok(Json(json!({ "tasks": tasks, "reinspections": re })))
}

/// An inspection (the JSON body, or the `inspection` part of a multipart body whose `photo`
/// parts carry the photos under their file names).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InspectionBody {
    /// Generated by the phone (a UUID): a retried upload with it never doubles.
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    campaign: Uuid,
    #[schema(value_type = String, format = Uuid)]
    place: Uuid,
    /// inspected, closed, not_found or refused_entry.
    outcome: String,
    /// Item key → answer (true/false, a number, an option, text, a photo's file name).
    #[serde(default)]
    #[schema(value_type = Object)]
    answers: BTreeMap<String, Value>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    lat: Option<f64>,
    #[serde(default)]
    lon: Option<f64>,
}

fn inspection_json(r: &InspectionResult) -> Value {
    let i = &r.inspection;
    json!({
        "id": i.id,
        "campaign": i.campaign_id,
        "place": i.place_id,
        "grid": i.grid_code,
        "outcome": i.outcome,
        "answers": serde_json::from_str::<Value>(&i.answers).unwrap_or(json!({})),
        "note": i.note,
        "submitted_at": local_time(from_ms(i.submitted_at)),
        "replayed": r.replayed,
        "hazards": r.hazards.iter().map(hazard_json).collect::<Vec<_>>(),
    })
}

async fn read_inspection(
    st: &SharedState,
    req: Request,
) -> AppResult<(InspectionBody, Vec<(String, Vec<u8>)>)> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if is_json(&ct) {
        let ApiJson(b) = ApiJson::<InspectionBody>::from_request(req, st).await?;
        return Ok((b, vec![]));
    }
    if !ct.starts_with("multipart/form-data") {
        return Err(AppError {
            field: Some("content-type".into()),
            ..AppError::new(
                ErrorKind::UnsupportedMedia,
                "unsupported_media_type",
                "send the inspection as application/json, or multipart/form-data with photos",
            )
        });
    }
    let mut mp = Multipart::from_request(req, st)
        .await
        .map_err(|e| AppError::bad_request(Some("body"), e.body_text()))?;
    let mut body = None;
    let mut photos = vec![];
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(
                ErrorKind::TooLarge,
                "too_large",
                "request body is too large",
            )
        } else {
            AppError::bad_request(Some("body"), e.body_text())
        }
    };
    while let Some(field) = mp.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or("") {
            "inspection" => {
                let bytes = field.bytes().await.map_err(unreadable)?;
                body = Some(parse_body::<InspectionBody>(&bytes)?);
            }
            "photo" => {
                let name = field.file_name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(unreadable)?;
                photos.push((name, bytes.to_vec()));
            }
            other => {
                return Err(AppError::invalid(
                    other.to_string(),
                    "unknown part; send inspection and photo parts",
                ));
            }
        }
    }
    let body =
        body.ok_or_else(|| AppError::invalid("inspection", "the inspection part is required"))?;
    Ok((body, photos))
}

#[utoipa::path(post, path = "/api/v1/inspections", tag = "campaigns",
    summary = "Submit an inspection of a place (idempotent by its id); each hazard answer opens a hazard case",
    description = "JSON, or multipart/form-data with an `inspection` part (this JSON) and `photo` parts (JPEG, PNG or WebP) named as the photo answers name them.",
    security(("session" = []), ("bearer" = [])),
    request_body(content = InspectionBody, content_type = "application/json"),
    responses((status = 201, description = "Stored (200: the same id was stored before)", body = InspectionView)))]
async fn submit(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    req: Request,
) -> AppResult<Response> {
    let (b, photos) = read_inspection(&st, req).await?;
    let input = InspectionInput {
        id: b.id,
        campaign: b.campaign,
        place: b.place,
        outcome: b.outcome,
        answers: b.answers,
        note: b.note,
        lat: b.lat,
        lon: b.lon,
    };
    let r = st
        .submit_inspection(&user, input, photos, Utc::now())
        .await?;
    let status = if r.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(inspection_json(&r))).into_response())
}

#[utoipa::path(get, path = "/api/v1/places/{id}/inspections", tag = "campaigns",
    summary = "A place's history: its inspections (newest first) and the hazards found there",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "place id (UUID)")),
    responses((status = 200, description = "The history", body = PlaceHistory)))]
async fn place_history(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    let (place, _) = crate::app::places::visible(&st, &user, &id).await?;
    let inspections = st
        .store
        .place_inspections(&place.county_code, place.id)
        .await?;
    let hazards = st.store.place_hazards(&place.county_code, place.id).await?;
    let items: Vec<Value> = inspections
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "campaign": i.campaign_id,
                "outcome": i.outcome,
                "answers": serde_json::from_str::<Value>(&i.answers).unwrap_or(json!({})),
                "note": i.note,
                "submitted_at": local_time(from_ms(i.submitted_at)),
            })
        })
        .collect();
    Ok(Json(json!({
        "inspections": items,
        "hazards": hazards.iter().map(hazard_json).collect::<Vec<_>>(),
    })))
}

/// A place's inspection in its history.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PlaceInspection {
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    campaign: Uuid,
    outcome: String,
    #[schema(value_type = Object)]
    answers: Value,
    note: Option<String>,
    submitted_at: String,
}

/// A place's inspections and hazards.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PlaceHistory {
    inspections: Vec<PlaceInspection>,
    hazards: Vec<HazardView>,
}

/// A campaign.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CampaignView {
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    title: String,
    kind: String,
    region: String,
    place_kinds: Vec<String>,
    starts_on: String,
    ends_on: String,
    /// draft, published or closed.
    status: String,
    #[schema(value_type = Vec<Object>)]
    checklist: Vec<Value>,
    department: Option<String>,
    created_at: String,
    published_at: Option<String>,
    closed_at: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    copied_from: Option<Uuid>,
    version: i64,
    /// After publishing: the tasks made.
    tasks: Option<u64>,
}

/// Campaigns.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CampaignList {
    items: Vec<CampaignView>,
    total: i64,
}

/// One row of a progress table.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProgressRowView {
    code: String,
    name: String,
    due: i64,
    inspected: i64,
    unreachable: i64,
    pending: i64,
    hazards: i64,
    rectified_on_time: i64,
    overdue: i64,
    closed: i64,
    coverage_percent: f64,
    on_time_percent: f64,
}

/// A level's table.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LevelView {
    /// county, township, village or grid.
    level: String,
    rows: Vec<ProgressRowView>,
}

/// A campaign's progress tables.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProgressView {
    #[schema(value_type = String, format = Uuid)]
    campaign: Uuid,
    region: String,
    department: Option<String>,
    total: ProgressRowView,
    levels: Vec<LevelView>,
}

/// A hazard case an inspection opened.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct HazardView {
    #[schema(value_type = String, format = Uuid)]
    case: Uuid,
    #[schema(value_type = String, format = Uuid)]
    inspection: Uuid,
    item: String,
    #[schema(value_type = String, format = Uuid)]
    place: Uuid,
    grid: Option<String>,
    severity: String,
    state: String,
    department: Option<String>,
    due_at: Option<String>,
    handled_at: Option<String>,
}

/// A stored inspection.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InspectionView {
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    campaign: Uuid,
    #[schema(value_type = String, format = Uuid)]
    place: Uuid,
    grid: Option<String>,
    outcome: String,
    #[schema(value_type = Object)]
    answers: Value,
    note: Option<String>,
    submitted_at: String,
    /// The same id was stored before; nothing new was written.
    replayed: bool,
    hazards: Vec<HazardView>,
}

/// A due place on a grid worker's list.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TaskView {
    #[schema(value_type = String, format = Uuid)]
    campaign: Uuid,
    campaign_title: String,
    ends_on: String,
    #[schema(value_type = String, format = Uuid)]
    place: Uuid,
    name: String,
    kind: String,
    address: String,
    grid: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    distance_m: Option<f64>,
}

/// A grid worker's tasks.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TodayView {
    tasks: Vec<TaskView>,
    reinspections: Vec<HazardView>,
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, edit))
        .routes(routes!(publish))
        .routes(routes!(close))
        .routes(routes!(extend))
        .routes(routes!(copy))
        .routes(routes!(progress))
        .routes(routes!(export))
        .routes(routes!(today))
        .routes(routes!(submit))
        .routes(routes!(place_history))
}
