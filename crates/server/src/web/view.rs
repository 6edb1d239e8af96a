//! What pages show of a case, built from the application's view (`app::view::CaseView`, so the
//! reporter's contact is exactly what the API would give this viewer: masked for most roles) and
//! localised for the page.

use super::i18n::Lang;
use crate::app::state::SharedState;
use crate::app::view as app_view;
use chrono::{DateTime, Utc};
use safegrid_domain::engine::Case;
use safegrid_store::User;

/// A time as people read it in Asia/Shanghai: `2026-11-21 14:03`.
pub fn show_time(t: DateTime<Utc>) -> String {
    let cst = crate::app::time::shanghai();
    t.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string()
}

pub fn show_opt(t: Option<DateTime<Utc>>) -> String {
    t.map(show_time).unwrap_or_default()
}

pub fn light_name(l: safegrid_domain::calendar::Light) -> &'static str {
    use safegrid_domain::calendar::Light;
    match l {
        Light::Green => "green",
        Light::Yellow => "yellow",
        Light::Red => "red",
    }
}

pub struct CaseView {
    pub id: String,
    pub number: String,
    pub tracking_code: String,
    pub category: String,
    pub category_name: String,
    pub case_type: String,
    pub status: String,
    pub status_name: String,
    pub terminal: bool,
    pub urgency: String,
    pub channel: String,
    pub description: String,
    pub address: String,
    pub region_code: String,
    pub region_name: String,
    pub grid_code: String,
    pub department: String,
    pub department_name: String,
    pub reporter_name: String,
    pub reporter_phone: String,
    /// This viewer may reveal the contact (with a reason, audited).
    pub may_reveal: bool,
    pub created_at: String,
    pub due_at: String,
    pub stage_due_at: String,
    /// green | yellow | red | none
    pub light: String,
    pub supervision: String,
    pub expedited: bool,
    pub rating: Option<i16>,
    pub pending_extension: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub allowed: Vec<String>,
    pub version: i64,
}

impl CaseView {
    pub fn has_location(&self) -> bool {
        self.lat.is_some() && self.lon.is_some()
    }
    pub fn lat_s(&self) -> String {
        self.lat.map(|v| format!("{v:.6}")).unwrap_or_default()
    }
    pub fn lon_s(&self) -> String {
        self.lon.map(|v| format!("{v:.6}")).unwrap_or_default()
    }
    pub fn may(&self, action: &str) -> bool {
        self.allowed.iter().any(|a| a == action)
    }
    pub fn short_description(&self) -> String {
        let mut s: String = self.description.chars().take(60).collect();
        if self.description.chars().count() > 60 {
            s.push('…');
        }
        s
    }
    pub fn rating_s(&self) -> String {
        self.rating.map(|r| r.to_string()).unwrap_or_default()
    }
}

/// The view of `case` for `viewer` (None: the public, who never see contact data), localised for
/// the page from the application's view (`app::view::CaseView`), so that a page shows exactly
/// what the API gives this viewer.
pub fn case_view(st: &SharedState, case: &Case, viewer: Option<&User>, lang: Lang) -> CaseView {
    page_view(app_view::CaseView::of(st, case, viewer), case, viewer, lang)
}

/// `case_view` with free text masked with every name the case holds (`pii::case_names`).
pub fn case_view_named(
    st: &SharedState,
    case: &Case,
    viewer: Option<&User>,
    lang: Lang,
    names: &[String],
) -> CaseView {
    page_view(
        app_view::CaseView::named(st, case, viewer, names),
        case,
        viewer,
        lang,
    )
}

fn page_view(v: app_view::CaseView, case: &Case, viewer: Option<&User>, lang: Lang) -> CaseView {
    let (reporter_name, reporter_phone) = match (viewer, &v.reporter) {
        (Some(_), Some(r)) => (
            r.name.clone().unwrap_or_default(),
            r.phone.clone().unwrap_or_default(),
        ),
        _ => (String::new(), String::new()),
    };
    let named = |n: &Option<app_view::Names>| {
        n.as_ref()
            .map(|n| n.get(lang.data_key()).to_string())
            .unwrap_or_default()
    };
    // Filled by pages that show it (one read of the departments per page, see `name_departments`).
    let department_name = case.department.clone().unwrap_or_default();
    let light = if case.stage.is_some() {
        light_name(v.light).to_string()
    } else {
        "none".to_string()
    };
    CaseView {
        id: case.id.to_string(),
        number: case.number_text(),
        // The public page was reached with the code; staff see it only when they need it.
        tracking_code: match viewer {
            Some(_) => v.tracking_code.clone().unwrap_or_default(),
            None => case.tracking_code.clone(),
        },
        category: case.category.clone(),
        category_name: named(&v.category_name),
        case_type: case.case_type.clone(),
        status: case.status.clone(),
        status_name: named(&v.status_name),
        terminal: v.terminal,
        urgency: case.urgency.to_string(),
        channel: case.channel.clone(),
        // Masked as the API masks it (`crate::app::pii`); a page of one case masks its other names too.
        description: v.description,
        address: v.address.unwrap_or_default(),
        region_code: case.region_code.as_str().to_string(),
        region_name: v.region_name.unwrap_or_default(),
        grid_code: case
            .grid_code
            .map(|g| g.as_str().to_string())
            .unwrap_or_default(),
        department: case.department.clone().unwrap_or_default(),
        department_name,
        reporter_name,
        reporter_phone,
        may_reveal: v.reporter.as_ref().is_some_and(|r| r.may_reveal),
        created_at: show_time(case.created_at),
        due_at: show_opt(case.due_at),
        stage_due_at: show_opt(case.stage_due_at),
        light,
        supervision: case.supervision.clone().unwrap_or_default(),
        expedited: case.expedited,
        rating: case.rating,
        pending_extension: case.pending_extension.clone().unwrap_or_default(),
        // As the application's view gives them: coarsened for the public.
        lat: v.lat,
        lon: v.lon,
        allowed: v.allowed_actions,
        version: case.version,
    }
}

/// One step of a case's history as a page shows it.
pub struct EventView {
    pub at: String,
    pub action: String,
    pub action_name: &'static str,
    pub to_status: String,
    pub actor: String,
    pub note: String,
}

/// The history; `public` hides who acted and the notes of internal steps (as the tracking API does).
/// Notes are masked with the case's `names` (`crate::app::pii`), or shown as typed when `names` is None
/// (after an audited reveal).
pub fn events_view(
    events: &[safegrid_store::EventRow],
    public: bool,
    lang: Lang,
    names: Option<&[String]>,
) -> Vec<EventView> {
    events
        .iter()
        .map(|e| {
            let note_public = matches!(
                e.action.as_str(),
                "report" | "handle" | "close" | "reject" | "self_handle"
            );
            EventView {
                at: show_time(safegrid_store::from_ms(e.at)),
                action: e.action.clone(),
                action_name: lang.t(&format!("action.{}", e.action)),
                to_status: e.to_status.clone(),
                actor: if public {
                    String::new()
                } else {
                    e.actor_name.clone()
                },
                note: if public && !note_public {
                    String::new()
                } else {
                    let note = e.note.as_deref().unwrap_or_default();
                    match names {
                        Some(names) => crate::app::pii::mask(note, names),
                        None => note.to_string(),
                    }
                },
            }
        })
        .collect()
}

/// Department names for the views, in the page's language.
pub fn name_departments(views: &mut [CaseView], depts: &[safegrid_store::Department], lang: Lang) {
    for v in views.iter_mut() {
        if let Some(d) = depts.iter().find(|d| d.code == v.department) {
            v.department_name = department_name(d, lang);
        }
    }
}

pub fn department_name(d: &safegrid_store::Department, lang: Lang) -> String {
    if lang == Lang::En {
        d.name_en.clone()
    } else {
        d.name_zh.clone()
    }
}
