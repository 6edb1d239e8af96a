//! Pages of screening campaigns (专项行动): the command center's list and designer (checklist
//! rows added and removed in the browser by `assets/campaigns.js`; the form submits without it),
//! a campaign's page with publish/close/extend/copy, its progress table and a map of villages
//! coloured by coverage; the grid worker's "今日任务" (phone, 360 px) and the inspection form with
//! photos. Every rule is in `app::campaigns`; this module translates forms and renders.

use super::ctx::{Ctx, WebError, WebForm, WebMultipart, WebQuery, respond, see_other};
use super::geo::{feature, pixel_degrees, shapes};
use crate::app::campaign_tables::{LEVELS, Progress};
use crate::app::campaigns::{CampaignInput, InspectionInput, KINDS, checklist_of, status_of};
use crate::app::error::AppError;
use crate::app::policy::{Perm, allows};
use crate::app::state::SharedState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use safegrid_domain::campaign::{AnswerType, Item, Status};
use safegrid_domain::codes::GeoPoint;
use safegrid_domain::place::PlaceKind;
use safegrid_store::campaigns::{CampaignRow, HazardRow, TaskRow};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

fn campaign_id(id: &str) -> Result<Uuid, WebError> {
    Uuid::parse_str(id.trim()).map_err(|_| WebError::NotFound)
}

/// An app error as the page shows it: a field's error in the person's words.
fn refused(ctx: &Ctx, e: AppError) -> WebError {
    match (&e.field, e.kind) {
        (Some(f), crate::app::error::ErrorKind::Invalid) => {
            let reason = e
                .message
                .strip_prefix(&format!("{f}: "))
                .unwrap_or(&e.message);
            WebError::Refused(format!("{f}: {reason}"))
        }
        _ => {
            let _ = ctx;
            e.into()
        }
    }
}

pub fn kind_name(ctx: &Ctx, code: &str) -> String {
    KINDS
        .iter()
        .find(|k| k.0 == code)
        .map(|k| if ctx.is_en() { k.2 } else { k.1 }.to_string())
        .unwrap_or_else(|| code.to_string())
}

pub fn place_kind_name(ctx: &Ctx, code: &str) -> String {
    match PlaceKind::parse(code) {
        Ok(k) => if ctx.is_en() { k.en() } else { k.zh() }.to_string(),
        Err(_) => code.to_string(),
    }
}

fn status_name(ctx: &Ctx, s: &str) -> &'static str {
    ctx.t(match s {
        "draft" => "campaign.status.draft",
        "published" => "campaign.status.published",
        _ => "campaign.status.closed",
    })
}

pub struct CampaignItem {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub status: String,
    pub status_name: &'static str,
    pub period: String,
    pub region: String,
}

fn item(ctx: &Ctx, st: &SharedState, c: &CampaignRow) -> CampaignItem {
    CampaignItem {
        id: c.id.to_string(),
        title: c.title.clone(),
        kind: kind_name(ctx, &c.kind),
        status: c.status.clone(),
        status_name: status_name(ctx, &c.status),
        period: format!("{} – {}", c.starts_on, c.ends_on),
        region: st
            .region_names()
            .get(&c.region_code)
            .cloned()
            .unwrap_or_else(|| c.region_code.clone()),
    }
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct ListPage {
    ctx: Ctx,
    items: Vec<CampaignItem>,
    may_manage: bool,
}

async fn list_page(State(st): State<SharedState>, ctx: Ctx) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let rows = st.list_campaigns(user).await?;
        let items = rows.iter().map(|c| item(&ctx, &st, c)).collect();
        let may_manage = allows(user.role, Perm::ManageCampaigns);
        Ok(ctx.render(&ListPage {
            ctx: ctx.clone(),
            items,
            may_manage,
        }))
    }
    .await;
    respond(&ctx, r)
}

/// One checklist row of the designer form.
#[derive(Clone, Default)]
pub struct Row {
    pub key: String,
    pub text_zh: String,
    pub text_en: String,
    pub answer: String,
    pub options: String,
    pub required: String,
    pub hazard: String,
    pub category: String,
    pub severity: String,
    pub limit: String,
}

#[derive(Template)]
#[template(path = "campaign_new.html")]
struct NewPage {
    ctx: Ctx,
    /// Where the form posts: `/work/campaigns` (a new draft) or a draft's `/edit`.
    action: String,
    /// The draft's version when editing (compare-and-swap), else 0.
    version: i64,
    error: String,
    title: String,
    kind: String,
    region: String,
    place_kinds: Vec<String>,
    starts_on: String,
    ends_on: String,
    rows: Vec<Row>,
    kinds: Vec<(String, String)>,
    all_place_kinds: Vec<(String, String)>,
    categories: Vec<(String, String)>,
}

impl NewPage {
    fn has_kind(&self, k: &str) -> bool {
        self.place_kinds.iter().any(|x| x == k)
    }
}

fn new_page(ctx: &Ctx, st: &SharedState) -> NewPage {
    let today = crate::app::campaigns::today(Utc::now());
    let mut categories: Vec<(String, String)> = st
        .categories()
        .values()
        .filter(|c| c.case_type == "hazard" && c.active)
        .map(|c| {
            (
                c.code.clone(),
                format!(
                    "{} {}",
                    c.code,
                    if ctx.is_en() { &c.name_en } else { &c.name_zh }
                ),
            )
        })
        .collect();
    categories.sort();
    let region = ctx
        .user
        .as_ref()
        .and_then(|u| u.regions.first().cloned())
        .unwrap_or_default();
    NewPage {
        ctx: ctx.clone(),
        action: "/work/campaigns".into(),
        version: 0,
        error: String::new(),
        title: String::new(),
        kind: "special".into(),
        region,
        place_kinds: vec![],
        starts_on: today.to_string(),
        ends_on: (today + chrono::Duration::days(30)).to_string(),
        rows: vec![
            Row {
                answer: "yes_no".into(),
                required: "yes".into(),
                severity: "general".into(),
                limit: "7 natural_days".into(),
                ..Row::default()
            };
            3
        ],
        kinds: KINDS
            .iter()
            .map(|k| (k.0.to_string(), kind_name(ctx, k.0)))
            .collect(),
        all_place_kinds: PlaceKind::ALL
            .iter()
            .map(|k| (k.as_str().to_string(), place_kind_name(ctx, k.as_str())))
            .collect(),
        categories,
    }
}

async fn new_form(State(st): State<SharedState>, ctx: Ctx) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        if !allows(user.role, Perm::ManageCampaigns) {
            return Err(WebError::Forbidden);
        }
        Ok(ctx.render(&new_page(&ctx, &st)))
    }
    .await;
    respond(&ctx, r)
}

/// The hazard rule a designer typed: 否/no/false or 是/yes/true for yes/no items, `<n` or `>n`
/// for numbers, options joined by `|` for choices.
fn hazard_when(answer: &str, text: &str) -> Value {
    let t = text.trim();
    match answer {
        "yes_no" => match t {
            "否" | "no" | "false" => json!({"equals": false}),
            "是" | "yes" | "true" => json!({"equals": true}),
            _ => json!({}),
        },
        "number" => {
            let n = |s: &str| s.trim().parse::<f64>().ok();
            if let Some(x) = t.strip_prefix('<').and_then(n) {
                json!({"below": x})
            } else if let Some(x) = t.strip_prefix('>').and_then(n) {
                json!({"above": x})
            } else {
                json!({})
            }
        }
        _ => {
            json!({"any_of": t.split('|').map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>()})
        }
    }
}

fn rows_of(form: &[(String, String)]) -> Vec<Row> {
    let mut rows: Vec<Row> = vec![];
    for (k, v) in form {
        let Some(field) = k.strip_prefix("item_") else {
            continue;
        };
        // A row begins with its key.
        if field == "key" {
            rows.push(Row::default());
        }
        let Some(r) = rows.last_mut() else { continue };
        let v = v.clone();
        match field {
            "key" => r.key = v,
            "text_zh" => r.text_zh = v,
            "text_en" => r.text_en = v,
            "answer" => r.answer = v,
            "options" => r.options = v,
            "required" => r.required = v,
            "hazard" => r.hazard = v,
            "category" => r.category = v,
            "severity" => r.severity = v,
            "limit" => r.limit = v,
            _ => {}
        }
    }
    rows
}

fn item_json(r: &Row) -> Value {
    let mut v = json!({
        "key": r.key.trim(),
        "text_zh": r.text_zh,
        "answer": r.answer,
        "required": r.required == "yes",
    });
    if !r.text_en.trim().is_empty() {
        v["text_en"] = json!(r.text_en);
    }
    if r.answer == "choice" {
        v["options"] = json!(
            r.options
                .split('|')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        );
    }
    if !r.category.trim().is_empty() {
        v["hazard"] = json!({
            "when": hazard_when(&r.answer, &r.hazard),
            "category": r.category.trim(),
            "severity": if r.severity == "major" { "major" } else { "general" },
            "limit": r.limit.trim(),
        });
    }
    v
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

async fn create(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Response {
    let r = async {
        ctx.check_csrf(field(&form, "csrf"))?;
        let user = ctx.require_user()?;
        let (input, rows) = design_of(&form);
        match st.create_campaign(user, input.clone(), Utc::now()).await {
            Ok(c) => Ok(see_other(&format!("/work/campaigns/{}", c.id))),
            Err(e) if e.kind == crate::app::error::ErrorKind::Invalid => {
                let page = refilled(&ctx, &st, &input, rows, e.message.clone());
                Ok(ctx.render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page))
            }
            Err(e) => Err(refused(&ctx, e)),
        }
    }
    .await;
    respond(&ctx, r)
}

/// A stored checklist item as the designer's row (the inverse of `item_json`).
fn row_of(i: &Item) -> Row {
    let mut r = Row {
        key: i.key.clone(),
        text_zh: i.text_zh.clone(),
        text_en: i.text_en.clone().unwrap_or_default(),
        answer: i.answer.as_str().to_string(),
        options: i.options.join("|"),
        required: if i.required { "yes" } else { "no" }.into(),
        severity: "general".into(),
        limit: "7 natural_days".into(),
        ..Row::default()
    };
    if let Some(h) = &i.hazard {
        r.category = h.category.clone();
        r.severity = h.severity.as_str().into();
        r.limit = h.limit.clone();
        let w = &h.when;
        r.hazard = match (w.equals, w.below, w.above) {
            (Some(false), _, _) => "否".into(),
            (Some(true), _, _) => "是".into(),
            (_, Some(x), _) => format!("<{x}"),
            (_, _, Some(x)) => format!(">{x}"),
            _ => w.any_of.join("|"),
        };
    }
    r
}

/// The designer filled with a draft, to change it before it is published.
async fn edit_form(State(st): State<SharedState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        if !allows(user.role, Perm::ManageCampaigns) {
            return Err(WebError::Forbidden);
        }
        let c = st.visible_campaign(user, campaign_id(&id)?).await?;
        if status_of(&c) != Status::Draft {
            return Ok(see_other(&format!("/work/campaigns/{}", c.id)));
        }
        let mut page = new_page(&ctx, &st);
        page.action = format!("/work/campaigns/{}/edit", c.id);
        page.version = c.version;
        page.title = c.title.clone();
        page.kind = c.kind.clone();
        page.region = c.region_code.trim_end_matches("000").to_string();
        page.place_kinds = crate::app::campaigns::kinds_of(&c);
        page.starts_on = c.starts_on.clone();
        page.ends_on = c.ends_on.clone();
        page.rows = checklist_of(&c)?.items.iter().map(row_of).collect();
        Ok(ctx.render(&page))
    }
    .await;
    respond(&ctx, r)
}

/// Stores an edited draft (version-checked), back to its page; errors shown on the form.
async fn edit_submit(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Response {
    let r = async {
        ctx.check_csrf(field(&form, "csrf"))?;
        let user = ctx.require_user()?;
        let id = campaign_id(&id)?;
        let (input, rows) = design_of(&form);
        let version = field(&form, "version").trim().parse::<i64>().ok();
        match st
            .edit_campaign(user, id, input.clone(), version, Utc::now())
            .await
        {
            Ok(c) => Ok(see_other(&format!("/work/campaigns/{}", c.id))),
            Err(e)
                if matches!(
                    e.kind,
                    crate::app::error::ErrorKind::Invalid | crate::app::error::ErrorKind::Conflict
                ) =>
            {
                let mut page = refilled(&ctx, &st, &input, rows, e.message.clone());
                page.action = format!("/work/campaigns/{id}/edit");
                page.version = version.unwrap_or_default();
                Ok(ctx.render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page))
            }
            Err(e) => Err(refused(&ctx, e)),
        }
    }
    .await;
    respond(&ctx, r)
}

/// The design a designer's form holds, and its rows as typed.
fn design_of(form: &[(String, String)]) -> (CampaignInput, Vec<Row>) {
    let rows: Vec<Row> = rows_of(form)
        .into_iter()
        .filter(|r| !r.key.trim().is_empty() || !r.text_zh.trim().is_empty())
        .collect();
    let input = CampaignInput {
        title: field(form, "title").into(),
        kind: field(form, "kind").into(),
        region: field(form, "region").into(),
        place_kinds: form
            .iter()
            .filter(|(k, _)| k == "place_kind")
            .map(|(_, v)| v.clone())
            .collect(),
        starts_on: field(form, "starts_on").into(),
        ends_on: field(form, "ends_on").into(),
        checklist: rows.iter().map(item_json).collect(),
    };
    (input, rows)
}

/// The designer again with what was typed and why it was refused.
fn refilled(
    ctx: &Ctx,
    st: &SharedState,
    input: &CampaignInput,
    rows: Vec<Row>,
    error: String,
) -> NewPage {
    let mut page = new_page(ctx, st);
    page.error = error;
    page.title = input.title.clone();
    page.kind = input.kind.clone();
    page.region = input.region.clone();
    page.place_kinds = input.place_kinds.clone();
    page.starts_on = input.starts_on.clone();
    page.ends_on = input.ends_on.clone();
    if !rows.is_empty() {
        page.rows = rows;
    }
    page
}

pub struct ItemView {
    pub key: String,
    pub text: String,
    pub answer: String,
    pub options: Vec<String>,
    pub required: bool,
    pub hazard: String,
}

fn item_view(ctx: &Ctx, st: &SharedState, i: &Item) -> ItemView {
    let text = match (&i.text_en, ctx.is_en()) {
        (Some(en), true) => en.clone(),
        _ => i.text_zh.clone(),
    };
    let hazard = match &i.hazard {
        None => String::new(),
        Some(h) => {
            let cat = st
                .categories()
                .get(&h.category)
                .map(|c| {
                    if ctx.is_en() {
                        c.name_en.clone()
                    } else {
                        c.name_zh.clone()
                    }
                })
                .unwrap_or_else(|| h.category.clone());
            let sev = ctx.t(if h.severity.as_str() == "major" {
                "campaign.severity.major"
            } else {
                "campaign.severity.general"
            });
            format!("{cat} · {sev} · {}", ctx.lang.limit(&h.limit))
        }
    };
    ItemView {
        key: i.key.clone(),
        text,
        answer: i.answer.as_str().to_string(),
        options: i.options.clone(),
        required: i.required,
        hazard,
    }
}

#[derive(Template)]
#[template(path = "campaign.html")]
struct ShowPage {
    ctx: Ctx,
    c: CampaignItem,
    version: i64,
    items: Vec<ItemView>,
    place_kinds: Vec<String>,
    may_manage: bool,
    is_draft: bool,
    is_published: bool,
    progress: Progress,
    level: String,
    levels: Vec<(String, &'static str)>,
    /// The departments the campaign's hazards went to (code, name), for the table's filter.
    departments: Vec<(String, String)>,
    /// The filter in force ("" for every department).
    department: String,
    map: String,
}

#[derive(Deserialize, Default)]
struct ShowQuery {
    region: Option<String>,
    level: Option<String>,
    /// Only the hazards dispatched to this department; a handler sees its own by default.
    department: Option<String>,
}

async fn show(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebQuery(q): WebQuery<ShowQuery>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let id = campaign_id(&id)?;
        let c = st.visible_campaign(user, id).await?;
        let department = match q.department.as_deref().map(str::trim) {
            Some(d) => d.to_string(),
            None if user.role == safegrid_domain::Role::Handler => {
                user.department.clone().unwrap_or_default()
            }
            None => String::new(),
        };
        let progress = st
            .campaign_progress(
                user,
                id,
                q.region.as_deref(),
                Some(department.as_str()).filter(|d| !d.is_empty()),
                Utc::now(),
            )
            .await
            .map_err(|e| refused(&ctx, e))?;
        let sent: std::collections::BTreeSet<String> = st
            .store
            .campaign_hazards(c.id, &progress.region)
            .await?
            .into_iter()
            .filter_map(|h| h.department)
            .collect();
        let departments: Vec<(String, String)> = st
            .store
            .departments()
            .await?
            .into_iter()
            .filter(|d| sent.contains(&d.code))
            .map(|d| {
                let name = if ctx.is_en() { d.name_en } else { d.name_zh };
                (d.code, name)
            })
            .collect();
        let level = q
            .level
            .filter(|l| LEVELS.iter().any(|x| x.0 == l))
            .unwrap_or_else(|| "township".into());
        let checklist = checklist_of(&c)?;
        // The map: villages (or grids when the table is a village's) coloured by coverage.
        let shapes = shapes(&st).await?;
        let (map_level, shape_level) = if progress.region.len() >= 12 {
            ("grid", 3)
        } else {
            ("village", 2)
        };
        let mut features = vec![];
        if let Some(l) = progress.levels.iter().find(|l| l.level == map_level) {
            for row in &l.rows {
                if let Some(s) = shapes.levels[shape_level]
                    .iter()
                    .find(|s| s.code == row.code)
                {
                    let name = if row.name.is_empty() {
                        s.name.clone()
                    } else {
                        row.name.clone()
                    };
                    features.push(feature(
                        s,
                        pixel_degrees(if shape_level == 3 { 14.0 } else { 12.0 }),
                        json!({"code": row.code, "name": name, "value": row.coverage_percent,
                               "href": format!("/work/campaigns/{id}?region={}&level=grid", row.code)}),
                    ));
                }
            }
        }
        let map = json!({"type": "FeatureCollection", "features": features,
                         "measure": ctx.t("campaign.coverage")})
        .to_string();
        let status = status_of(&c);
        Ok(ctx.render(&ShowPage {
            c: item(&ctx, &st, &c),
            version: c.version,
            items: checklist
                .items
                .iter()
                .map(|i| item_view(&ctx, &st, i))
                .collect(),
            place_kinds: crate::app::campaigns::kinds_of(&c)
                .iter()
                .map(|k| place_kind_name(&ctx, k))
                .collect(),
            may_manage: allows(user.role, Perm::ManageCampaigns),
            is_draft: status == Status::Draft,
            is_published: status == Status::Published,
            progress,
            level,
            levels: LEVELS
                .iter()
                .map(|l| (l.0.to_string(), if ctx.is_en() { l.2 } else { l.1 }))
                .collect(),
            departments,
            department,
            map,
            ctx: ctx.clone(),
        }))
    }
    .await;
    respond(&ctx, r)
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    ends_on: Option<String>,
}

async fn act(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path((id, what)): Path<(String, String)>,
    WebForm(f): WebForm<ActForm>,
) -> Response {
    let r = async {
        ctx.check_csrf(&f.csrf)?;
        let user = ctx.require_user()?;
        let id = campaign_id(&id)?;
        let now = Utc::now();
        let done = match what.as_str() {
            "publish" => st
                .publish_campaign(user, id, f.version, now)
                .await
                .map(|(c, _)| c),
            "close" => st.close_campaign(user, id, f.version, now).await,
            "extend" => {
                st.extend_campaign(user, id, f.ends_on.as_deref().unwrap_or(""), f.version, now)
                    .await
            }
            "copy" => st.copy_campaign(user, id, now).await,
            _ => return Err(WebError::NotFound),
        }
        .map_err(|e| refused(&ctx, e))?;
        Ok(see_other(&format!("/work/campaigns/{}", done.id)))
    }
    .await;
    respond(&ctx, r)
}

pub struct TaskItem {
    pub campaign: String,
    pub campaign_title: String,
    pub ends_on: String,
    pub place: String,
    pub name: String,
    pub kind: String,
    pub address: String,
    pub distance: String,
}

pub struct RecheckItem {
    pub case: String,
    pub item: String,
    pub due: String,
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    ctx: Ctx,
    /// The due places on the map, each a link to its inspection form: [lat, lon, false, name, href].
    points: String,
    tasks: Vec<TaskItem>,
    rechecks: Vec<RecheckItem>,
    by_distance: bool,
    done: String,
}

#[derive(Deserialize, Default)]
struct TasksQuery {
    lat: Option<f64>,
    lon: Option<f64>,
    done: Option<String>,
}

fn task_item(ctx: &Ctx, t: &TaskRow, d: Option<f64>) -> TaskItem {
    TaskItem {
        campaign: t.campaign_id.to_string(),
        campaign_title: t.campaign_title.clone(),
        ends_on: t.ends_on.clone(),
        place: t.place_id.to_string(),
        name: t.place_name.clone(),
        kind: place_kind_name(ctx, &t.place_kind),
        address: t.address.clone(),
        distance: d
            .map(|d| {
                if d < 1000.0 {
                    format!("{d:.0} m")
                } else {
                    format!("{:.1} km", d / 1000.0)
                }
            })
            .unwrap_or_default(),
    }
}

fn recheck_item(h: &HazardRow) -> RecheckItem {
    RecheckItem {
        case: h.case_id.to_string(),
        item: h.item_key.clone(),
        due: h
            .due_at
            .map(|t| crate::app::time::local_time(safegrid_store::from_ms(t)))
            .unwrap_or_default(),
    }
}

async fn tasks_page(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<TasksQuery>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let at = match (q.lat, q.lon) {
            (Some(lat), Some(lon)) => GeoPoint::new(lon, lat).ok(),
            _ => None,
        };
        let t = st.today_tasks(user, at).await?;
        let points: Vec<serde_json::Value> = t
            .tasks
            .iter()
            .filter_map(|(t, _)| {
                Some(serde_json::json!([
                    t.lat?,
                    t.lon?,
                    false,
                    t.place_name,
                    format!(
                        "/work/inspect?campaign={}&place={}",
                        t.campaign_id, t.place_id
                    )
                ]))
            })
            .collect();
        Ok(ctx.render(&TasksPage {
            points: serde_json::to_string(&points).unwrap_or_default(),
            tasks: t
                .tasks
                .iter()
                .map(|(t, d)| task_item(&ctx, t, *d))
                .collect(),
            rechecks: t.reinspections.iter().map(recheck_item).collect(),
            by_distance: at.is_some(),
            done: q.done.unwrap_or_default(),
            ctx: ctx.clone(),
        }))
    }
    .await;
    respond(&ctx, r)
}

#[derive(Template)]
#[template(path = "inspect.html")]
struct InspectPage {
    ctx: Ctx,
    id: String,
    campaign: String,
    campaign_title: String,
    place: String,
    place_name: String,
    address: String,
    items: Vec<ItemView>,
    error: String,
}

#[derive(Deserialize)]
struct InspectQuery {
    campaign: String,
    place: String,
}

async fn inspect_form(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<InspectQuery>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        if !allows(user.role, Perm::Inspect) {
            return Err(WebError::Forbidden);
        }
        let campaign = campaign_id(&q.campaign)?;
        let place = campaign_id(&q.place)?;
        let c = st.visible_campaign(user, campaign).await?;
        let t = st.today_tasks(user, None).await?;
        let task = t
            .tasks
            .iter()
            .map(|x| &x.0)
            .find(|x| x.campaign_id == campaign && x.place_id == place)
            .ok_or(WebError::NotFound)?;
        let checklist = checklist_of(&c)?;
        Ok(ctx.render(&InspectPage {
            // The form's own id: submitting it twice (a double tap, a retry) stores it once.
            id: Uuid::now_v7().to_string(),
            campaign: c.id.to_string(),
            campaign_title: c.title.clone(),
            place: place.to_string(),
            place_name: task.place_name.clone(),
            address: task.address.clone(),
            items: checklist
                .items
                .iter()
                .map(|i| item_view(&ctx, &st, i))
                .collect(),
            error: String::new(),
            ctx: ctx.clone(),
        }))
    }
    .await;
    respond(&ctx, r)
}

async fn inspect_submit(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebMultipart(mut mp): WebMultipart,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let mut fields: BTreeMap<String, String> = BTreeMap::new();
        let mut photos: Vec<(String, Vec<u8>)> = vec![];
        while let Some(f) = mp
            .next_field()
            .await
            .map_err(|e| WebError::Invalid(e.body_text()))?
        {
            let name = f.name().unwrap_or("").to_string();
            if let Some(key) = name.strip_prefix("photo.") {
                let has_file = f.file_name().is_some_and(|n| !n.is_empty());
                let key = key.to_string();
                let bytes = f
                    .bytes()
                    .await
                    .map_err(|e| WebError::Invalid(e.body_text()))?;
                if has_file && !bytes.is_empty() {
                    photos.push((key, bytes.to_vec()));
                }
            } else {
                let v = f
                    .text()
                    .await
                    .map_err(|e| WebError::Invalid(e.body_text()))?;
                fields.insert(name, v);
            }
        }
        ctx.check_csrf(fields.get("csrf").map(String::as_str).unwrap_or(""))?;
        let campaign = campaign_id(fields.get("campaign").map(String::as_str).unwrap_or(""))?;
        let place = campaign_id(fields.get("place").map(String::as_str).unwrap_or(""))?;
        let id = campaign_id(fields.get("id").map(String::as_str).unwrap_or(""))?;
        let c = st.visible_campaign(user, campaign).await?;
        let checklist = checklist_of(&c)?;
        let outcome = fields.get("outcome").cloned().unwrap_or_default();
        let mut answers: BTreeMap<String, Value> = BTreeMap::new();
        if outcome == "inspected" {
            for i in &checklist.items {
                let raw = fields
                    .get(&format!("a.{}", i.key))
                    .map(|s| s.trim().to_string())
                    .unwrap_or_default();
                let v = match i.answer {
                    AnswerType::Photo => {
                        if photos.iter().any(|p| p.0 == i.key) {
                            json!(i.key)
                        } else {
                            continue;
                        }
                    }
                    _ if raw.is_empty() => continue,
                    AnswerType::YesNo => match raw.as_str() {
                        "yes" => json!(true),
                        "no" => json!(false),
                        _ => json!(raw),
                    },
                    AnswerType::Number => raw
                        .parse::<f64>()
                        .map(|n| json!(n))
                        .unwrap_or_else(|_| json!(raw)),
                    AnswerType::Choice | AnswerType::Text => json!(raw),
                };
                answers.insert(i.key.clone(), v);
            }
        } else {
            photos.clear();
        }
        let input = InspectionInput {
            id,
            campaign,
            place,
            outcome,
            answers,
            note: fields.get("note").cloned(),
            lat: fields.get("lat").and_then(|v| v.parse().ok()),
            lon: fields.get("lon").and_then(|v| v.parse().ok()),
        };
        let r = st
            .submit_inspection(user, input, photos, Utc::now())
            .await
            .map_err(|e| refused(&ctx, e))?;
        Ok(see_other(&format!("/work/tasks?done={}", r.hazards.len())))
    }
    .await;
    respond(&ctx, r)
}

pub struct InspectionItem {
    pub at: String,
    pub campaign: String,
    pub outcome: String,
    pub outcome_name: &'static str,
    /// Its photos' addresses, without the `?thumb=1` of their thumbnails.
    pub photos: Vec<String>,
}

pub struct HazardItem {
    pub case: String,
    pub item: String,
    pub state: String,
    pub due: String,
}

#[derive(Template)]
#[template(path = "place_inspections.html")]
struct PlaceInspections {
    ctx: Ctx,
    inspections: Vec<InspectionItem>,
    hazards: Vec<HazardItem>,
}

/// The "inspections and hazards" part of a place's page (loaded into it by htmx).
#[derive(Deserialize, Default)]
struct PhotoQuery {
    thumb: Option<String>,
}

/// A photo of an inspection, to whoever may see its place (the inspection must be of that place).
async fn inspection_photo(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path((id, inspection, name)): Path<(String, String, String)>,
    WebQuery(q): WebQuery<PhotoQuery>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let (place, _) = crate::app::places::visible(&st, user, &id).await?;
        let inspection = Uuid::parse_str(&inspection).map_err(|_| WebError::NotFound)?;
        let row = st
            .store
            .inspection(std::slice::from_ref(&place.county_code), inspection)
            .await?;
        if row.place_id != place.id {
            return Err(WebError::NotFound);
        }
        let bytes = st
            .store
            .inspection_photo(&place.county_code, inspection, &name, q.thumb.is_some())
            .await?;
        Ok(super::photos::jpeg_response(bytes))
    }
    .await;
    respond(&ctx, r)
}

async fn place_inspections(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let (place, _) = crate::app::places::visible(&st, user, &id).await?;
        let rows = st
            .store
            .place_inspections(&place.county_code, place.id)
            .await?;
        let mut titles: BTreeMap<Uuid, String> = BTreeMap::new();
        let mut inspections = vec![];
        for i in rows {
            if let std::collections::btree_map::Entry::Vacant(e) = titles.entry(i.campaign_id) {
                let t = st
                    .store
                    .campaign(i.campaign_id)
                    .await
                    .map(|c| c.title)
                    .unwrap_or_default();
                e.insert(t);
            }
            let photos = st
                .store
                .inspection_photo_names(&place.county_code, i.id)
                .await?
                .into_iter()
                .map(|n| format!("/work/places/{}/inspections/{}/photos/{n}", place.id, i.id))
                .collect();
            inspections.push(InspectionItem {
                photos,
                at: crate::app::time::local_time(safegrid_store::from_ms(i.submitted_at)),
                campaign: titles[&i.campaign_id].clone(),
                outcome_name: ctx.t(match i.outcome.as_str() {
                    "inspected" => "inspect.outcome.inspected",
                    "closed" => "inspect.outcome.closed",
                    "not_found" => "inspect.outcome.not_found",
                    _ => "inspect.outcome.refused_entry",
                }),
                outcome: i.outcome,
            });
        }
        let wf = safegrid_domain::workflow::workflow("hazard");
        let hazards = st
            .store
            .place_hazards(&place.county_code, place.id)
            .await?
            .iter()
            .map(|h| HazardItem {
                case: h.case_id.to_string(),
                item: h.item_key.clone(),
                state: wf
                    .and_then(|w| w.state(&h.case_status))
                    .map(|s| {
                        if ctx.is_en() {
                            s.en.clone()
                        } else {
                            s.zh.clone()
                        }
                    })
                    .unwrap_or_else(|| h.case_status.clone()),
                due: recheck_item(h).due,
            })
            .collect();
        Ok(ctx.render(&PlaceInspections {
            ctx: ctx.clone(),
            inspections,
            hazards,
        }))
    }
    .await;
    respond(&ctx, r)
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/work/campaigns", get(list_page).post(create))
        .route("/work/campaigns/new", get(new_form))
        .route("/work/campaigns/{id}", get(show))
        .route(
            "/work/campaigns/{id}/edit",
            get(edit_form).post(edit_submit),
        )
        .route("/work/campaigns/{id}/{what}", post(act))
        .route("/work/tasks", get(tasks_page))
        .route("/work/inspect", get(inspect_form).post(inspect_submit))
        .route("/work/places/{id}/inspections", get(place_inspections))
        .route(
            "/work/places/{id}/inspections/{inspection}/photos/{name}",
            get(inspection_photo),
        )
}
