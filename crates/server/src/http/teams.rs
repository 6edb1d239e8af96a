//! The API of volunteer and patrol teams (群防群治): teams and members (`/api/v1/teams…`), the
//! honour roll and its XLSX, and residents' sign-ups (`/api/v1/volunteer-applications…`, the
//! sending and the status by reference code public and rate-limited). Each handler only
//! translates: the rules are in `app::teams`.

use super::auth::CurrentUser;
use super::disputes::{QueryResult, query};
use super::json::ApiJson;
use crate::app::error::{AppError, AppResult};
use crate::app::policy;
use crate::app::state::SharedState;
use crate::app::teams::{
    PersonInput, TeamInput, application_json, application_status_json, honour_roll_json,
    honour_roll_xlsx, member_json, team_json,
};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

fn uuid(s: &str, what: &str) -> AppResult<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| AppError::not_found(what))
}

/// A team's design.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TeamBody {
    name: String,
    /// volunteer, patrol, building_captain, good_neighbour, mediation or other.
    kind: String,
    /// The territory: a region code within one county.
    region: String,
    #[serde(default)]
    grids: Vec<String>,
    /// A current member who leads the team (edits).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    leader: Option<Uuid>,
    /// The username of the staff account the team is in touch with.
    #[serde(default)]
    contact: Option<String>,
    /// active or disbanded (edits).
    #[serde(default)]
    status: Option<String>,
    /// For an edit: the version read (409 when it moved on).
    #[serde(default)]
    version: Option<i64>,
}

impl From<TeamBody> for TeamInput {
    fn from(b: TeamBody) -> Self {
        TeamInput {
            name: b.name,
            kind: b.kind,
            region: b.region,
            grids: b.grids,
            leader: b.leader,
            contact: b.contact,
            status: b.status,
            version: b.version,
        }
    }
}

/// A volunteer (a member, or a resident's sign-up).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PersonBody {
    name: String,
    /// A mobile or landline number; shown masked afterwards.
    phone: String,
    /// Codes of the closed list: patrol, first_aid, fire, mediation, traffic, anti_fraud,
    /// elderly_care, dialect, driving, it.
    #[serde(default)]
    skills: Vec<String>,
    /// Other skills in the volunteer's own words.
    #[serde(default)]
    skills_note: Option<String>,
    /// The volunteer agreed to the consent text (must be true).
    #[serde(default)]
    consent: bool,
    /// The consent text's version shown (GET /api/v1/volunteer-applications/teams gives it).
    #[serde(default)]
    consent_version: Option<String>,
    /// Members: the day they joined (YYYY-MM-DD; today when absent).
    #[serde(default)]
    #[schema(format = Date)]
    joined_on: Option<String>,
    /// Sign-ups: the team chosen.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    team: Option<Uuid>,
    /// Sign-ups: the area chosen instead of a team (a region code).
    #[serde(default)]
    region: Option<String>,
}

impl From<PersonBody> for PersonInput {
    fn from(b: PersonBody) -> Self {
        PersonInput {
            name: b.name,
            phone: b.phone,
            skills: b.skills,
            skills_note: b.skills_note,
            consent: b.consent,
            consent_version: b.consent_version,
            joined_on: b.joined_on,
            team: b.team,
            region: b.region,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct LeaveBody {
    /// The last day (YYYY-MM-DD; today when absent).
    #[serde(default)]
    #[schema(format = Date)]
    left_on: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct HoursBody {
    #[schema(value_type = String, format = Uuid)]
    member: Uuid,
    #[schema(format = Date)]
    served_on: String,
    /// 1 to 1440.
    minutes: i64,
    /// What the service was.
    note: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    /// The team the member joins (required when the resident chose an area).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    team: Option<Uuid>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RollQuery {
    /// YYYY-MM (Asia/Shanghai).
    month: String,
    /// A region code (the caller's own territory when absent).
    region: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RangeQuery {
    /// First local date (YYYY-MM-DD).
    from: String,
    /// Last local date, included.
    to: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    /// pending, approved or declined.
    status: Option<String>,
}

/// A team.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TeamView {
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    name: String,
    kind: String,
    kind_name: String,
    region: String,
    grids: Vec<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    leader: Option<Uuid>,
    leader_name: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    contact_user: Option<Uuid>,
    status: String,
    /// Current members.
    members: i64,
    created_at: String,
    version: i64,
}

/// A member (phone masked).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MemberView {
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    team: Uuid,
    name: String,
    phone: String,
    skills: Vec<String>,
    skills_note: Option<String>,
    consent_at: String,
    consent_version: String,
    joined_on: String,
    left_on: Option<String>,
}

/// Teams.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TeamList {
    items: Vec<TeamView>,
    total: i64,
}

/// A team with its members.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TeamDetail {
    team: TeamView,
    members: Vec<MemberView>,
}

/// Members just registered.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MemberList {
    items: Vec<MemberView>,
}

/// A phone revealed (audited).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Revealed {
    phone: String,
}

/// One line of hours or of the honour roll.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct HoursLine {
    rank: i64,
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    /// A member's name masked, or a team's name.
    name: String,
    team: String,
    minutes: i64,
    hours: f64,
    /// Patrols taken part in (members) or participations (teams).
    patrols: i64,
}

/// Hours of a team's members.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct HoursList {
    items: Vec<HoursLine>,
}

/// A month's honour roll (光荣榜).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct HonourRollView {
    month: String,
    region: String,
    members: Vec<HoursLine>,
    teams: Vec<HoursLine>,
}

/// A manual entry of service hours.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct HoursEntry {
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    #[schema(value_type = String, format = Uuid)]
    member: Uuid,
    minutes: i64,
}

/// A resident's sign-up as staff see it (phone masked).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApplicationView {
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    #[schema(value_type = Option<String>, format = Uuid)]
    team: Option<Uuid>,
    region: String,
    name: String,
    phone: String,
    skills: Vec<String>,
    /// pending, approved or declined.
    status: String,
    reason: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    member: Option<Uuid>,
    created_at: String,
}

/// Sign-ups.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApplicationList {
    items: Vec<ApplicationView>,
    total: i64,
}

/// What the holder of a reference code sees.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApplicationStatus {
    /// The reference code to keep.
    ref_code: String,
    status: String,
    team: Option<String>,
    /// The name masked.
    name: String,
    reason: Option<String>,
    created_at: String,
    decided_at: Option<String>,
}

/// A team a resident may join, and the consent text.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PublicTeam {
    #[schema(value_type = String, format = Uuid)]
    id: Uuid,
    name: String,
    kind: String,
    region: String,
}

/// Teams open to sign-ups, the skills list and the consent text.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SignUpForm {
    teams: Vec<PublicTeam>,
    #[schema(value_type = Vec<Object>)]
    skills: Vec<Value>,
    consent_version: String,
    consent_zh: String,
    consent_en: String,
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "teams",
    summary = "Volunteer and patrol teams whose territory meets the caller's",
    security(("session" = []), ("bearer" = [])),
    responses((status = 200, description = "The teams", body = TeamList)))]
async fn list(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
) -> AppResult<Json<Value>> {
    let mut items = vec![];
    for t in st.list_teams(&user).await? {
        let members = st.store.members(t.id).await?;
        let leader = members.iter().find(|m| Some(m.id) == t.leader_id);
        let current = members.iter().filter(|m| m.left_on.is_none()).count();
        items.push(team_json(&t, leader, current));
    }
    Ok(Json(json!({"total": items.len(), "items": items})))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "teams",
    summary = "Create a team in the caller's territory (command center)",
    security(("session" = []), ("bearer" = [])),
    request_body(content = TeamBody, content_type = "application/json"),
    responses((status = 201, description = "The team", body = TeamView)))]
async fn create(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    ApiJson(b): ApiJson<TeamBody>,
) -> AppResult<Response> {
    let t = st.create_team(&user, b.into(), Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(team_json(&t, None, 0))).into_response())
}

async fn detail(st: &SharedState, user: &safegrid_store::User, id: Uuid) -> AppResult<Value> {
    let t = st.visible_team(user, id).await?;
    let members = st.store.members(t.id).await?;
    let leader = members.iter().find(|m| Some(m.id) == t.leader_id);
    let current = members.iter().filter(|m| m.left_on.is_none()).count();
    Ok(json!({
        "team": team_json(&t, leader, current),
        "members": members.iter().map(member_json).collect::<Vec<_>>(),
    }))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams",
    summary = "A team with its members (phones masked)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "team id (UUID)")),
    responses((status = 200, description = "The team", body = TeamDetail)))]
async fn show(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Json<Value>> {
    Ok(Json(detail(&st, &user, uuid(&id, "team")?).await?))
}

#[utoipa::path(put, path = "/api/v1/teams/{id}", tag = "teams",
    summary = "Change a team (name, kind, territory, leader, contact, status)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "team id (UUID)")),
    request_body(content = TeamBody, content_type = "application/json"),
    responses((status = 200, description = "The team", body = TeamDetail)))]
async fn edit(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TeamBody>,
) -> AppResult<Json<Value>> {
    let id = uuid(&id, "team")?;
    st.edit_team(&user, id, b.into(), Utc::now()).await?;
    Ok(Json(detail(&st, &user, id).await?))
}

#[utoipa::path(post, path = "/api/v1/teams/{id}/members", tag = "teams",
    summary = "Register a member (consent required)",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "team id (UUID)")),
    request_body(content = PersonBody, content_type = "application/json"),
    responses((status = 201, description = "The member", body = MemberView)))]
async fn add_member(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PersonBody>,
) -> AppResult<Response> {
    let rows = st
        .add_members(&user, uuid(&id, "team")?, vec![b.into()], Utc::now())
        .await?;
    Ok((StatusCode::CREATED, Json(member_json(&rows[0]))).into_response())
}

#[utoipa::path(post, path = "/api/v1/teams/{id}/members/{member}/leave", tag = "teams",
    summary = "Record that a member left the team",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "team id (UUID)"), ("member" = String, Path, description = "member id (UUID)")),
    request_body(content = LeaveBody, content_type = "application/json"),
    responses((status = 200, description = "The member", body = MemberView)))]
async fn leave(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path((id, member)): Path<(String, String)>,
    ApiJson(b): ApiJson<LeaveBody>,
) -> AppResult<Json<Value>> {
    let m = st
        .member_leaves(
            &user,
            uuid(&id, "team")?,
            uuid(&member, "member")?,
            b.left_on.as_deref(),
            Utc::now(),
        )
        .await?;
    Ok(Json(member_json(&m)))
}

#[utoipa::path(post, path = "/api/v1/teams/{id}/members/{member}/reveal", tag = "teams",
    summary = "A member's phone in full, for a reason (audited)",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "team id (UUID)"), ("member" = String, Path, description = "member id (UUID)")),
    request_body(content = ReasonBody, content_type = "application/json"),
    responses((status = 200, description = "The number", body = Revealed)))]
async fn reveal(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path((id, member)): Path<(String, String)>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> AppResult<Json<Value>> {
    let phone = st
        .reveal_member_phone(
            &user,
            uuid(&id, "team")?,
            uuid(&member, "member")?,
            &b.reason,
            Utc::now(),
        )
        .await?;
    Ok(Json(json!({"phone": phone})))
}

#[utoipa::path(post, path = "/api/v1/teams/{id}/hours", tag = "teams",
    summary = "Enter service hours by hand (training, an event) for a member",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "team id (UUID)")),
    request_body(content = HoursBody, content_type = "application/json"),
    responses((status = 201, description = "The entry", body = HoursEntry)))]
async fn add_hours(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<HoursBody>,
) -> AppResult<Response> {
    let h = st
        .add_hours(
            &user,
            uuid(&id, "team")?,
            b.member,
            &b.served_on,
            b.minutes,
            &b.note,
            Utc::now(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": h.id, "member": h.member_id, "minutes": h.minutes})),
    )
        .into_response())
}

fn line_json(l: &crate::app::teams::RollLine) -> Value {
    json!({"rank": l.rank, "id": l.id, "name": l.name, "team": l.team, "minutes": l.minutes,
           "hours": safegrid_domain::team::hours(l.minutes), "patrols": l.patrols})
}

#[utoipa::path(get, path = "/api/v1/teams/{id}/hours", tag = "teams",
    summary = "Service hours of a team's members in a period (patrols and manual entries)",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, description = "team id (UUID)"), RangeQuery),
    responses((status = 200, description = "Hours per member, most first", body = HoursList)))]
async fn hours(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    q: QueryResult<RangeQuery>,
) -> AppResult<Json<Value>> {
    let q = query(q)?;
    let lines = st
        .team_hours(&user, uuid(&id, "team")?, &q.from, &q.to)
        .await?;
    Ok(Json(
        json!({"items": lines.iter().map(line_json).collect::<Vec<_>>()}),
    ))
}

#[utoipa::path(get, path = "/api/v1/teams/honour-roll", tag = "teams",
    summary = "The monthly honour roll (光荣榜): top members (names masked) and teams by service hours",
    security(("session" = []), ("bearer" = [])), params(RollQuery),
    responses((status = 200, description = "The roll", body = HonourRollView)))]
async fn roll(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<RollQuery>,
) -> AppResult<Json<Value>> {
    let q = query(q)?;
    let r = st.honour_roll(&user, &q.month, q.region.as_deref()).await?;
    Ok(Json(honour_roll_json(&r)))
}

#[utoipa::path(get, path = "/api/v1/teams/honour-roll/export", tag = "teams",
    summary = "The monthly honour roll as XLSX (a sheet of members, one of teams)",
    security(("session" = []), ("bearer" = [])), params(RollQuery),
    responses((status = 200, description = "The workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = String)))]
async fn roll_export(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<RollQuery>,
) -> AppResult<Response> {
    let q = query(q)?;
    let r = st.honour_roll(&user, &q.month, q.region.as_deref()).await?;
    let bytes = honour_roll_xlsx(&r)?;
    let mut resp = bytes.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"honour-roll-{}-{}.xlsx\"",
        r.region, r.month
    )) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

#[utoipa::path(get, path = "/api/v1/volunteer-applications/teams", tag = "volunteers",
    summary = "Public: teams open to sign-ups, the skills list and the consent text",
    responses((status = 200, description = "What the sign-up form offers", body = SignUpForm)))]
async fn signup_form(State(st): State<SharedState>) -> AppResult<Json<Value>> {
    use safegrid_domain::team as dt;
    let teams: Vec<Value> = st
        .public_teams()
        .await?
        .iter()
        .map(|t| json!({"id": t.id, "name": t.name, "kind": t.kind, "region": t.region_code}))
        .collect();
    Ok(Json(json!({
        "teams": teams,
        "skills": dt::SKILLS.iter().map(|s| json!({"code": s.0, "zh": s.1, "en": s.2})).collect::<Vec<_>>(),
        "consent_version": dt::CONSENT_VERSION,
        "consent_zh": dt::CONSENT_TEXT.0,
        "consent_en": dt::CONSENT_TEXT.1,
    })))
}

#[utoipa::path(post, path = "/api/v1/volunteer-applications", tag = "volunteers",
    summary = "Public: a resident signs up for a team or an area (rate-limited); keep the reference code",
    request_body(content = PersonBody, content_type = "application/json"),
    responses((status = 201, description = "The sign-up's status with its reference code", body = ApplicationStatus)))]
async fn sign_up(
    State(st): State<SharedState>,
    ApiJson(b): ApiJson<PersonBody>,
) -> AppResult<Response> {
    policy::public_rate_limit(&st, "volunteer")?;
    let a = st.sign_up(b.into(), Utc::now()).await?;
    let team = match a.team_id {
        Some(t) => st.store.team(t).await.ok().map(|t| t.name),
        None => None,
    };
    Ok((
        StatusCode::CREATED,
        Json(application_status_json(&a, team.as_deref())),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/volunteer-applications/status/{code}", tag = "volunteers",
    summary = "Public: a sign-up's status by its reference code (rate-limited)",
    params(("code" = String, Path, description = "the reference code")),
    responses((status = 200, description = "The status", body = ApplicationStatus)))]
async fn status(State(st): State<SharedState>, Path(code): Path<String>) -> AppResult<Json<Value>> {
    policy::public_rate_limit(&st, "track")?;
    let (a, team) = st.application_status(&code).await?;
    Ok(Json(application_status_json(&a, team.as_deref())))
}

#[utoipa::path(get, path = "/api/v1/volunteer-applications", tag = "volunteers",
    summary = "Sign-ups of the caller's territory, newest first",
    security(("session" = []), ("bearer" = [])), params(StatusQuery),
    responses((status = 200, description = "The sign-ups", body = ApplicationList)))]
async fn applications(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    q: QueryResult<StatusQuery>,
) -> AppResult<Json<Value>> {
    let q = query(q)?;
    let items: Vec<Value> = st
        .list_applications(&user, q.status.as_deref())
        .await?
        .iter()
        .map(application_json)
        .collect();
    Ok(Json(json!({"total": items.len(), "items": items})))
}

#[utoipa::path(post, path = "/api/v1/volunteer-applications/{id}/approve", tag = "volunteers",
    summary = "Approve a sign-up: the resident becomes a member of the team",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "sign-up id (UUID)")),
    request_body(content = ApproveBody, content_type = "application/json"),
    responses((status = 200, description = "The sign-up, approved", body = ApplicationView)))]
async fn approve(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ApproveBody>,
) -> AppResult<Json<Value>> {
    let (a, _) = st
        .approve_application(&user, uuid(&id, "sign-up")?, b.team, Utc::now())
        .await?;
    Ok(Json(application_json(&a)))
}

#[utoipa::path(post, path = "/api/v1/volunteer-applications/{id}/decline", tag = "volunteers",
    summary = "Decline a sign-up with a reason the resident sees",
    security(("session" = []), ("bearer" = [])), params(("id" = String, Path, description = "sign-up id (UUID)")),
    request_body(content = ReasonBody, content_type = "application/json"),
    responses((status = 200, description = "The sign-up, declined", body = ApplicationView)))]
async fn decline(
    State(st): State<SharedState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> AppResult<Json<Value>> {
    let a = st
        .decline_application(&user, uuid(&id, "sign-up")?, &b.reason, Utc::now())
        .await?;
    Ok(Json(application_json(&a)))
}

pub fn router() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(roll))
        .routes(routes!(roll_export))
        .routes(routes!(show, edit))
        .routes(routes!(add_member))
        .routes(routes!(leave))
        .routes(routes!(reveal))
        .routes(routes!(add_hours, hours))
        .routes(routes!(signup_form))
        .routes(routes!(sign_up, applications))
        .routes(routes!(status))
        .routes(routes!(approve))
        .routes(routes!(decline))
}
