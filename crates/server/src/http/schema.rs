//! Schemas of the API's answers that handlers build as JSON (`json!`) rather than from a typed
//! view: written once here and named by the handlers' `#[utoipa::path]`, so the OpenAPI document
//! states what each answer holds. Fields a handler may leave out are `Option`; a schema lists the
//! fields clients rely on, an answer may carry more.

use utoipa::ToSchema;

/// A code with its name.
#[derive(ToSchema)]
pub struct CodeName {
    pub code: String,
    pub name: Option<String>,
}

/// A region of the administrative division tree, in a list.
#[derive(ToSchema)]
pub struct RegionItem {
    /// 12-digit division code.
    pub code: String,
    pub parent_code: Option<String>,
    /// 1 province … 5 village.
    pub level: i64,
    pub name: String,
    /// GeoJSON geometry (with `geometry=true`).
    pub geometry: Option<serde_json::Value>,
}

/// One region with its boundary, children and path.
#[derive(ToSchema)]
pub struct Region {
    /// 12-digit division code.
    pub code: String,
    pub parent_code: Option<String>,
    /// 1 province … 5 village.
    pub level: i64,
    pub name: String,
    /// GeoJSON geometry.
    pub geometry: Option<serde_json::Value>,
    pub children: Vec<RegionItem>,
    /// Its ancestors from the province down.
    pub path: Vec<CodeName>,
}

/// Regions by parent and level.
#[derive(ToSchema)]
pub struct RegionList {
    pub items: Vec<RegionItem>,
    pub total: i64,
}

/// A grid as a GeoJSON Feature.
#[derive(ToSchema)]
pub struct GridFeature {
    /// `Feature`.
    #[schema(rename = "type")]
    pub kind: String,
    pub id: String,
    pub geometry: serde_json::Value,
    #[schema(value_type = Object)]
    pub properties: serde_json::Value,
}

/// Grids as a GeoJSON FeatureCollection, paged.
#[derive(ToSchema)]
pub struct GridCollection {
    /// `FeatureCollection`.
    #[schema(rename = "type")]
    pub kind: String,
    pub features: Vec<GridFeature>,
    pub page: i64,
    pub page_size: i64,
}

/// Where a point lies.
#[derive(ToSchema)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    pub grid: Option<CodeName>,
    pub region_code: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub path: Vec<serde_json::Value>,
    pub inside_territory: bool,
    pub needs_grid_assignment: bool,
}

/// An account as the API shows it.
#[derive(ToSchema)]
pub struct Account {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub username: String,
    pub display_name: Option<String>,
    pub role: String,
    pub role_zh: Option<String>,
    pub department: Option<String>,
    pub regions: Option<Vec<String>>,
    pub grids: Option<Vec<String>>,
    /// With a cookie session: the token state-changing requests send as `X-CSRF-Token`.
    pub csrf_token: Option<String>,
}

/// A login's answer (the session cookie is set with it).
#[derive(ToSchema)]
pub struct LoginAnswer {
    pub user: Account,
    pub expires_at: String,
    /// Send as `X-CSRF-Token` with state-changing requests that ride on the cookie.
    pub csrf_token: String,
}

/// A plain acknowledgement.
#[derive(ToSchema)]
pub struct Done {
    pub ok: bool,
}

/// An account's second factor (动态口令).
#[derive(ToSchema)]
pub struct TotpStatus {
    pub enabled: bool,
    /// The deployment requires one of this account's role (`admin_totp_required`).
    pub required: bool,
    /// A secret was drawn and waits for its confirming code.
    pub pending: bool,
}

/// A secret to add to an authenticator app, shown once.
#[derive(ToSchema)]
pub struct TotpEnrolment {
    /// Base32, for typing in.
    pub secret: String,
    /// `otpauth://totp/…`, for a QR code.
    pub otpauth_uri: String,
}

// Request bodies read into types of the application layer and the domain, which know nothing of
// OpenAPI: their schemas are stated here, field for field (`app::service::CreateCase`,
// `safegrid_domain::engine::ActionRequest`, `safegrid_domain::dispute::*`).

/// A new case (`app::service::CreateCase`); unknown fields are refused.
#[derive(ToSchema)]
#[schema(example = json!({
    "category": "E0508",
    "description": "共享单车倒在人行道上，挡住了盲道",
    "lat": 30.8672, "lon": 120.0934,
    "urgency": "normal",
    "reporter": { "name": "王小明", "phone": "13800138000" }
}))]
pub struct CreateCase {
    /// Category code (GET /api/v1/categories).
    pub category: String,
    #[schema(min_length = 1, max_length = 4000)]
    pub description: String,
    #[schema(minimum = -90, maximum = 90)]
    pub lat: Option<f64>,
    #[schema(minimum = -180, maximum = 180)]
    pub lon: Option<f64>,
    /// normal, urgent or emergency.
    pub urgency: Option<String>,
    /// web, grid_worker, hotline, open311, app, agency or wechat.
    pub channel: Option<String>,
    #[schema(max_length = 200)]
    pub address: Option<String>,
    /// service_event (default), dispute, petition or hazard.
    #[schema(rename = "type")]
    pub case_type: Option<String>,
    pub reporter: Option<Reporter>,
    /// Required with `"type": "dispute"`.
    pub dispute: Option<Dispute>,
    /// Required with `"type": "petition"`.
    pub petition: Option<Petition>,
    /// A UUIDv7 the client makes once per submission (staff accounts): it becomes the case's id,
    /// and a retry with the same id answers the case made the first time (200) instead of a
    /// second one. Ignored for residents without an account.
    pub client_id: Option<uuid::Uuid>,
}

/// The reporter's contact (`app::service::Reporter`).
#[derive(ToSchema)]
pub struct Reporter {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// Stay anonymous: the contact is kept for the command center's call-back only.
    pub anonymous: Option<bool>,
}

/// The dispute record (GB/T 31000 table 30; `safegrid_domain::dispute::NewDispute`).
#[derive(ToSchema)]
pub struct Dispute {
    /// 规模 code 01–03.
    pub scale: Option<String>,
    /// 分级 code 01–04.
    pub grade: Option<String>,
    pub people_count: Option<i64>,
    pub units_involved: Option<String>,
    #[schema(format = Date)]
    pub occurred_on: Option<String>,
    /// report or screening.
    pub found_by: Option<String>,
    pub parties: Vec<PartyInput>,
}

/// A party of a dispute.
#[derive(ToSchema)]
pub struct PartyInput {
    /// person or organisation.
    pub kind: Option<String>,
    /// applicant or respondent.
    pub role: Option<String>,
    pub name: String,
    pub phone: Option<String>,
    pub id_number: Option<String>,
}

/// The petition record (`safegrid_domain::dispute::NewPetition`).
#[derive(ToSchema)]
pub struct Petition {
    /// letter, visit, phone or online.
    pub channel: String,
    pub petitioners: Option<i64>,
    /// The appointed agent (信访代理).
    pub agent: Option<Agent>,
}

/// A petition's agent.
#[derive(ToSchema)]
pub struct Agent {
    pub name: String,
    pub phone: Option<String>,
    pub relation: Option<String>,
}

/// A workflow action (`safegrid_domain::engine::ActionRequest`): the actions of the case's type,
/// with the fields that action needs.
#[derive(ToSchema)]
#[schema(example = json!({ "action": "comment", "note": "已电话联系报告人" }))]
pub struct Action {
    /// register, reject, void, dispatch, accept, return, request_extension, approve_extension,
    /// refuse_extension, suspend, resume, handle, verify, close, supervise, expedite,
    /// self_handle, rate, link_duplicate, comment; disputes: assign, refuse_mediation,
    /// record_session, reach_agreement, fail_mediation, hand_on, follow_up, close_resolved,
    /// close_unresolved, record_court_confirmation; petitions: not_accept, forward, acknowledge,
    /// object, reply, conclude, request_review, answer_review, request_re_review,
    /// answer_re_review, evaluate, take_charge.
    pub action: String,
    #[schema(max_length = 4000)]
    pub note: Option<String>,
    /// dispatch: department code.
    pub department: Option<String>,
    /// verify: whether the fix is real.
    pub passed: Option<bool>,
    /// rate: 1–5.
    pub score: Option<i64>,
    /// link_duplicate: the original case.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub of: Option<uuid::Uuid>,
    /// supervise: yellow or red.
    pub level: Option<String>,
    /// request_extension, e.g. "2 working_days".
    pub extend_by: Option<String>,
    /// assign: the mediator's id.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub mediator: Option<uuid::Uuid>,
    /// assign or hand_on: resolution method code.
    pub method: Option<String>,
    /// record_session.
    pub session: Option<SessionInput>,
    /// reach_agreement.
    pub agreement: Option<AgreementInput>,
    /// hand_on: arbitration, litigation or administrative.
    pub destination: Option<String>,
    /// hand_on: the body it goes to.
    pub destination_body: Option<String>,
    /// follow_up: whether the agreement was honoured.
    pub honoured: Option<bool>,
    /// record_court_confirmation.
    pub court: Option<String>,
    /// record_court_confirmation.
    pub confirmed: Option<bool>,
    /// Alternative to If-Match.
    pub version: Option<i64>,
}

/// A mediation session.
#[derive(ToSchema)]
pub struct SessionInput {
    #[schema(format = Date)]
    pub held_on: String,
    pub place: String,
    pub attendees: Vec<String>,
    pub notes: Option<String>,
}

/// A mediation agreement.
#[derive(ToSchema)]
pub struct AgreementInput {
    /// written or oral.
    pub form: String,
    pub content: String,
    pub obligations: Option<String>,
    #[schema(format = Date)]
    pub perform_by: Option<String>,
}

/// A case's history.
#[derive(ToSchema)]
pub struct History {
    #[schema(value_type = String, format = Uuid)]
    pub case_id: uuid::Uuid,
    pub number: String,
    pub items: Vec<Event>,
}

/// One history entry.
#[derive(ToSchema)]
pub struct Event {
    pub seq: i64,
    pub action: String,
    pub from: Option<String>,
    pub to: String,
    pub role: Option<String>,
    pub at: String,
    pub note: Option<String>,
    pub data: serde_json::Value,
    /// Staff views only.
    pub actor: Option<String>,
    /// Staff views only.
    #[schema(value_type = Option<String>)]
    pub actor_id: Option<String>,
}

/// The public tracking view: the case without personal data, with its timeline.
#[derive(ToSchema)]
pub struct Tracking {
    pub number: String,
    pub tracking_code: String,
    pub status: String,
    pub category: String,
    pub created_at: String,
    /// To about 100 m.
    pub lat: Option<f64>,
    /// To about 100 m.
    pub lon: Option<f64>,
    pub timeline: Vec<Event>,
}

/// A page of cases.
#[derive(ToSchema)]
pub struct CasePage {
    #[schema(value_type = Vec<crate::app::view::CaseView>)]
    pub items: Vec<serde_json::Value>,
    pub total: i64,
    /// Counting stops at 10,000: `total` is then at least that.
    pub total_is_lower_bound: bool,
    pub page: i64,
    pub page_size: i64,
}

/// GB/T 30428.4 figures of a region, grid or department for a period.
#[derive(ToSchema)]
pub struct Kpi {
    /// The region, grid or department code.
    pub node: String,
    /// region, grid or department.
    pub kind: String,
    pub name: Option<String>,
    pub from: String,
    pub to: String,
    pub cohort: String,
    #[schema(value_type = Object)]
    pub counts: serde_json::Value,
    #[schema(value_type = Object)]
    pub rates: serde_json::Value,
    pub score: Option<f64>,
    pub grade: Option<String>,
    /// With `children=true`: each child region's figures.
    #[schema(value_type = Option<Vec<Object>>)]
    pub children: Option<Vec<serde_json::Value>>,
}

/// An account as its administrators see it.
#[derive(ToSchema)]
pub struct UserRecord {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub username: String,
    pub display_name: Option<String>,
    pub role: String,
    pub department: Option<String>,
    pub regions: Vec<String>,
    pub grids: Vec<String>,
    pub disabled: bool,
    pub locked_until: Option<String>,
    pub created_at: String,
}

/// The accounts a caller manages.
#[derive(ToSchema)]
pub struct UserList {
    pub items: Vec<UserRecord>,
}

/// The audit trail's hash chain, checked.
#[derive(ToSchema)]
pub struct AuditCheck {
    pub intact: bool,
    pub entries: i64,
    pub broken_at: Option<i64>,
    pub reason: Option<String>,
}

/// A machine token (never its secret).
#[derive(ToSchema)]
pub struct Token {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub user_id: uuid::Uuid,
    pub name: String,
    /// `read` or `read,write`.
    pub scopes: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// Machine tokens.
#[derive(ToSchema)]
pub struct TokenList {
    pub items: Vec<Token>,
}

/// An entry of the audit trail.
#[derive(ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub actor_id: Option<uuid::Uuid>,
    pub ip: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub detail: serde_json::Value,
    /// The entry's link in the hash chain.
    pub hash: String,
}

/// A page of the audit trail, newest first.
#[derive(ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// A revocation done.
#[derive(ToSchema)]
pub struct Revoked {
    pub revoked: bool,
}

/// The reporter's contact in the clear, for a call-back (audited).
#[derive(ToSchema)]
pub struct Revealed {
    #[schema(value_type = String, format = Uuid)]
    pub case_id: uuid::Uuid,
    pub number: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub anonymous: bool,
    pub description: String,
    pub address: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub notes: Vec<serde_json::Value>,
    pub audited: bool,
}

/// What an erasure erased.
#[derive(ToSchema)]
pub struct Erased {
    /// How many cases lost their contact.
    pub erased: i64,
    /// Their ids (erasures by an administrator).
    #[schema(value_type = Option<Vec<String>>)]
    pub cases: Option<Vec<serde_json::Value>>,
}

/// The code tables of the dispute record and petition channels.
#[derive(ToSchema)]
pub struct DisputeCodes {
    #[schema(value_type = Object)]
    pub codes: serde_json::Value,
    pub categories_note: String,
}

/// A mediation committee (人民调解委员会).
#[derive(ToSchema)]
pub struct Committee {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub name: String,
    pub kind: String,
    pub region_code: String,
}

/// Committees in the caller's territory.
#[derive(ToSchema)]
pub struct CommitteeList {
    pub items: Vec<Committee>,
    pub total: i64,
}

/// A mediator (调解员) as created.
#[derive(ToSchema)]
pub struct Mediator {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub committee_id: uuid::Uuid,
    pub name: String,
    pub phone: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub user_id: Option<uuid::Uuid>,
    pub active: bool,
}

/// A dispute's record, parties, sessions and agreement.
#[derive(ToSchema)]
pub struct DisputeView {
    pub case: crate::app::view::CaseView,
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    pub parties: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub sessions: Vec<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub agreement: Option<serde_json::Value>,
}

/// Mediation success rates, grouped.
#[derive(ToSchema)]
pub struct DisputeSuccess {
    pub region: String,
    #[schema(format = Date)]
    pub from: String,
    #[schema(format = Date)]
    pub to: String,
    pub by: String,
    pub concluded: i64,
    pub resolved: i64,
    pub success_rate: Option<f64>,
    #[schema(value_type = Vec<Object>)]
    pub groups: Vec<serde_json::Value>,
    pub definition: String,
}

/// A grid's screening report (矛盾纠纷排查) for a period.
#[derive(ToSchema)]
pub struct Screening {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub grid: String,
    pub region_code: String,
    pub from: String,
    pub to: String,
    pub none_found: bool,
    #[schema(value_type = Vec<String>)]
    pub disputes: Vec<uuid::Uuid>,
    pub count: i64,
    pub notes: Option<String>,
    pub reported_by: String,
    pub reported_at: String,
}

/// Screening reports.
#[derive(ToSchema)]
pub struct ScreeningList {
    pub items: Vec<Screening>,
    pub total: i64,
}

/// A petition's record and its statutory clocks.
#[derive(ToSchema)]
pub struct PetitionView {
    pub case: crate::app::view::CaseView,
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
    #[schema(value_type = Object)]
    pub clocks: serde_json::Value,
}

/// The petition backlog (积案).
#[derive(ToSchema)]
pub struct Backlog {
    pub region: String,
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    pub total: i64,
}

/// Petition figures of a period.
#[derive(ToSchema)]
pub struct PetitionFigures {
    pub region: String,
    pub from: Option<String>,
    pub to: Option<String>,
    #[schema(value_type = Object)]
    pub total: serde_json::Value,
    #[schema(value_type = Object)]
    pub by_channel: serde_json::Value,
}

/// A department (职能部门) cases are dispatched to (`safegrid_store::Department`).
#[derive(ToSchema)]
pub struct Department {
    pub code: String,
    pub kind: String,
    pub name_zh: String,
    pub name_en: String,
    pub region_code: String,
    pub active: bool,
}

/// The departments.
#[derive(ToSchema)]
pub struct DepartmentList {
    pub items: Vec<Department>,
    pub total: i64,
}

/// A name in both interface languages, with its code.
#[derive(ToSchema)]
pub struct CodedNames {
    pub code: String,
    pub zh: String,
    pub en: String,
}

/// A category of the catalog with its deadlines.
#[derive(ToSchema)]
pub struct Category {
    pub code: String,
    /// The case type it files: service_event, dispute, petition or hazard.
    #[schema(rename = "type")]
    pub case_type: String,
    pub kind: String,
    pub class: CodedNames,
    pub name: crate::app::view::Names,
    pub department_kind: String,
    pub keywords: Vec<String>,
    pub icon: String,
    /// Extra attributes asked at filing (Open311 service definition).
    #[schema(value_type = Vec<Object>)]
    pub attributes: Vec<serde_json::Value>,
    /// Time limits by urgency and stage, e.g. `{"normal": {"handle": "3 working_days"}}`.
    #[schema(value_type = Object)]
    pub limits: serde_json::Value,
}

/// The category catalog.
#[derive(ToSchema)]
pub struct CategoryList {
    pub items: Vec<Category>,
    pub total: i64,
}

/// A mediator as listed (phone masked except to administrators).
#[derive(ToSchema)]
pub struct MediatorListed {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    #[schema(value_type = String, format = Uuid)]
    pub committee_id: uuid::Uuid,
    pub name: String,
    pub active: bool,
    pub phone: Option<String>,
    pub has_account: bool,
}

/// The mediators.
#[derive(ToSchema)]
pub struct MediatorList {
    pub items: Vec<MediatorListed>,
    pub total: i64,
}
