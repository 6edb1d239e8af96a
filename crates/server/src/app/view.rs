//! What a caller sees of a case (案件视图): its fields as this viewer may see them — contact masked
//! or absent, free text masked (`app::pii`), the tracking code only for those who need it — and
//! its history entries. The API answers it as JSON; the pages, exports and Open311 read from it.

use crate::app::error::AppResult;
use crate::app::scope::{may_reveal, sees_tracking_code};
use crate::app::state::SharedState;
use crate::app::time::{local_time, opt_local_time};
use chrono::Utc;
use safegrid_domain::calendar::Light;
use safegrid_domain::catalog::{Stage, Urgency};
use safegrid_domain::codes::{PersonName, Phone};
use safegrid_domain::engine::{self, Case};
use safegrid_domain::workflow::workflow;
use safegrid_store::{User, from_ms};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

/// A name in both interface languages.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Names {
    pub zh: String,
    pub en: String,
}

impl Names {
    /// The name in one language (`"zh"` or `"en"`).
    pub fn get(&self, lang: &str) -> &str {
        if lang == "en" { &self.en } else { &self.zh }
    }
}

/// Reporter contact as this viewer may see it (PIPL: minimal, masked). Nobody sees it in the
/// clear here: whoever must call back asks `POST /cases/{id}/reveal` with a reason, which is
/// audited. An anonymous report (匿名) shows no contact at all, even masked, except to those who may
/// reveal it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReporterView {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub masked: bool,
    pub anonymous: bool,
    pub may_reveal: bool,
}

impl ReporterView {
    fn of(case: &Case, viewer: Option<&User>) -> Option<ReporterView> {
        if case.reporter_name.is_none() && case.reporter_phone.is_none() {
            return None;
        }
        let may_reveal = viewer.is_some_and(|u| may_reveal(u, case));
        if case.reporter_anonymous && !may_reveal {
            return Some(ReporterView {
                name: None,
                phone: None,
                masked: true,
                anonymous: true,
                may_reveal: false,
            });
        }
        Some(ReporterView {
            name: case.reporter_name.as_ref().map(PersonName::masked),
            phone: case.reporter_phone.as_ref().map(Phone::masked),
            masked: true,
            anonymous: case.reporter_anonymous,
            may_reveal,
        })
    }
}

/// The case as a viewer (None: the public) may see it: the one view the API's JSON, the pages,
/// exports and Open311 render from. Free text is masked for every viewer (`app::pii`): the
/// reporter's contact is masked for every role, so is what was typed of it. This masks the
/// reporter's name; answers about one case mask the other names it holds too (`CaseView::read`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Case)]
pub struct CaseView {
    pub id: Uuid,
    pub number: String,
    pub tracking_code: Option<String>,
    #[serde(rename = "type")]
    pub case_type: String,
    pub category: String,
    pub category_name: Option<Names>,
    pub status: String,
    pub status_name: Option<Names>,
    pub terminal: bool,
    /// normal, urgent or emergency.
    #[schema(value_type = String)]
    pub urgency: Urgency,
    pub channel: String,
    pub description: String,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub grid_code: Option<String>,
    pub region_code: String,
    pub region_name: Option<String>,
    pub needs_grid: bool,
    pub needs_location: bool,
    pub department: Option<String>,
    pub reporter: Option<ReporterView>,
    pub created_at: String,
    pub updated_at: String,
    pub registered_at: Option<String>,
    pub dispatched_at: Option<String>,
    pub handled_at: Option<String>,
    pub verified_at: Option<String>,
    pub closed_at: Option<String>,
    pub due_at: Option<String>,
    #[schema(value_type = Option<String>)]
    pub stage: Option<Stage>,
    pub stage_limit: Option<String>,
    pub stage_started_at: Option<String>,
    pub stage_due_at: Option<String>,
    /// green, yellow or red: how close the deadline is.
    #[schema(value_type = String)]
    pub light: Light,
    pub supervision: Option<String>,
    pub expedited: bool,
    pub duplicate_of: Option<Uuid>,
    pub rating: Option<i16>,
    pub rework_count: i32,
    pub return_count: i32,
    pub extension_count: i32,
    pub pending_extension: Option<String>,
    pub overdue: bool,
    pub version: i64,
    pub allowed_actions: Vec<String>,
}

impl CaseView {
    /// The view with free text masked with the reporter's name (list rows: one read per row).
    pub fn of(st: &SharedState, case: &Case, viewer: Option<&User>) -> CaseView {
        Self::named(st, case, viewer, &crate::app::pii::reporter_names(case))
    }

    /// The view with free text masked with every name the case holds (`pii::case_names`: a
    /// dispute's parties, a petition's agent; one more read for those types): what answers about
    /// one case, exports and Open311 use.
    pub async fn read(st: &SharedState, case: &Case, viewer: Option<&User>) -> AppResult<CaseView> {
        let names = crate::app::pii::case_names(st, case).await?;
        Ok(Self::named(st, case, viewer, &names))
    }

    /// The view with free text masked with `names`. The public (no viewer) sees the place to
    /// about 100 m (`pii::coarse`), not the door.
    pub fn named(
        st: &SharedState,
        case: &Case,
        viewer: Option<&User>,
        typed_names: &[String],
    ) -> CaseView {
        Self::build(st, case, viewer, viewer.is_none(), typed_names)
    }

    /// The view for the operator at the server's console (the CLI's exports): no account, so no
    /// actions or tracking code, but the place as stored — the console is the root's.
    pub fn for_console(st: &SharedState, case: &Case, typed_names: &[String]) -> CaseView {
        Self::build(st, case, None, false, typed_names)
    }

    fn build(
        st: &SharedState,
        case: &Case,
        viewer: Option<&User>,
        public: bool,
        typed_names: &[String],
    ) -> CaseView {
        let place = |x: Option<f64>| {
            if public {
                x.map(crate::app::pii::coarse)
            } else {
                x
            }
        };
        let state = workflow(&case.case_type).and_then(|w| w.state(&case.status));
        let cats = st.categories();
        let cat = cats.get(&case.category);
        let light = engine::live_light(case, Utc::now());
        CaseView {
            id: case.id,
            number: case.number_text(),
            tracking_code: viewer
                .filter(|u| sees_tracking_code(u, case))
                .map(|_| case.tracking_code.clone()),
            case_type: case.case_type.clone(),
            category: case.category.clone(),
            category_name: cat.map(|c| Names {
                zh: c.name_zh.clone(),
                en: c.name_en.clone(),
            }),
            status: case.status.clone(),
            status_name: state.map(|s| Names {
                zh: s.zh.clone(),
                en: s.en.clone(),
            }),
            terminal: state.is_some_and(|s| s.terminal),
            urgency: case.urgency,
            channel: case.channel.clone(),
            description: crate::app::pii::mask(&case.description, typed_names),
            address: case
                .address
                .as_deref()
                .map(|a| crate::app::pii::mask(a, typed_names)),
            lat: place(case.lat),
            lon: place(case.lon),
            grid_code: case.grid_code.map(|g| g.as_str().to_string()),
            region_code: case.region_code.as_str().to_string(),
            region_name: st.region_names().get(case.region_code.as_str()).cloned(),
            needs_grid: case.needs_grid,
            needs_location: case.needs_location,
            department: case.department.clone(),
            reporter: ReporterView::of(case, viewer),
            created_at: local_time(case.created_at),
            updated_at: local_time(case.updated_at),
            registered_at: opt_local_time(case.registered_at),
            dispatched_at: opt_local_time(case.dispatched_at),
            handled_at: opt_local_time(case.handled_at),
            verified_at: opt_local_time(case.verified_at),
            closed_at: opt_local_time(case.closed_at),
            due_at: opt_local_time(case.due_at),
            stage: case.stage,
            stage_limit: case.stage_limit.clone(),
            stage_started_at: opt_local_time(case.stage_started_at),
            stage_due_at: opt_local_time(case.stage_due_at),
            light,
            supervision: case.supervision.clone(),
            expedited: case.expedited,
            duplicate_of: case.duplicate_of,
            rating: case.rating,
            rework_count: case.rework_count,
            return_count: case.return_count,
            extension_count: case.extension_count,
            pending_extension: case.pending_extension.clone(),
            overdue: case.ever_overdue || light == Light::Red,
            version: case.version,
            allowed_actions: viewer
                .map(|u| engine::allowed_actions(case, &u.actor()))
                .unwrap_or_default(),
        }
    }
}

/// The view as the API's JSON.
pub fn case_json(st: &SharedState, case: &Case, viewer: Option<&User>) -> Value {
    serde_json::to_value(CaseView::of(st, case, viewer)).unwrap_or(Value::Null)
}

/// The view with every name the case holds masked (`CaseView::read`) as the API's JSON: the
/// answers about one case.
pub async fn read_json(st: &SharedState, case: &Case, viewer: Option<&User>) -> AppResult<Value> {
    Ok(serde_json::to_value(CaseView::read(st, case, viewer).await?).unwrap_or(Value::Null))
}

/// One history entry; its note and data masked with `names` (see `crate::app::pii`).
pub fn event_json(e: &safegrid_store::EventRow, public: bool, names: &[String]) -> Value {
    let mut data: Value = serde_json::from_str(&e.data).unwrap_or(Value::Null);
    crate::app::pii::mask_json(&mut data, names);
    let mut v = json!({
        "seq": e.seq,
        "action": e.action,
        "from": e.from_status,
        "to": e.to_status,
        "role": e.actor_role,
        "at": local_time(from_ms(e.at)),
        "note": e.note.as_deref().map(|n| crate::app::pii::mask(n, names)),
        "data": data,
    });
    if !public {
        v["actor"] = json!(e.actor_name);
        v["actor_id"] = json!(e.actor_id);
    }
    v
}
