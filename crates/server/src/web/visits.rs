//! Pages of addresses (门牌), visits (走访), coverage and the work log (民情日志): the grid
//! worker's phone page to record a visit with the doors still to visit this period, the
//! addresses register per grid (filters, add, deactivate, downloads), the coverage tables with
//! the map of grids coloured by share, and the work log (a worker's day and week; a leader's
//! monthly summary). Everything goes through `app::visits`, `app::addresses_io` and
//! `app::coverage`, as the API does.

use super::ctx::{Ctx, WebError, WebForm, WebQuery, respond, see_other, urlencode};
use super::i18n::Lang;
use crate::app::addresses_io;
use crate::app::coverage::{self, CoverageReport, CoverageRow, DayCounts, MonthSummary, WorkLog};
use crate::app::error::{AppError, ErrorKind};
use crate::app::policy::{Perm, allows};
use crate::app::state::SharedState;
use crate::app::visits::{
    self, AddressQuery, AddressView, ToCase, VisitQuery, VisitView, local_day,
};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Datelike, Duration, Utc};
use safegrid_domain::visit::{AddressInput, VisitInput, VisitKind};
use serde::Deserialize;
use uuid::Uuid;

pub type Errors = super::public::FormErrors;

/// An error of the service on its field, worded with the form's labels (`visits.err.*`).
fn add_error(errs: &mut Errors, lang: Lang, e: &AppError) {
    let field = e.field.clone().unwrap_or_else(|| "form".into());
    let reason = e
        .message
        .strip_prefix(&format!("{field}: "))
        .unwrap_or(&e.message);
    let label = lang.opt(&format!("visits.err.{field}"));
    let msg = match (label.is_empty(), lang) {
        (true, _) => reason.to_string(),
        (false, Lang::Zh) => format!("{label}（{reason}）"),
        (false, Lang::En) => format!("{label}: {reason}"),
    };
    errs.add(&field, msg);
}

/// A choice of a select: (code, label, selected).
pub struct Choice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

fn kind_choices(lang: Lang, selected: &str) -> Vec<Choice> {
    VisitKind::ALL
        .iter()
        .map(|k| Choice {
            code: k.as_str().into(),
            label: if lang == Lang::En { k.en() } else { k.zh() }.into(),
            selected: k.as_str() == selected,
        })
        .collect()
}

fn download(bytes: Vec<u8>, content_type: &'static str, disposition: &'static str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(disposition),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// ---------------------------------------------------------------- record a visit (phone)

/// The visit form's values, kept when it comes back with errors. `client_id` is generated when
/// the page is drawn, so a double submit or the offline queue's resend stores the visit once.
#[derive(Deserialize, Default, Clone)]
struct VisitForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    address_id: String,
    #[serde(default)]
    place_id: String,
    #[serde(default)]
    visited_on: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    raised: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    /// "on": turn the problem into a case.
    #[serde(default)]
    to_case: Option<String>,
    #[serde(default)]
    category: String,
}

#[derive(Template)]
#[template(path = "visits.html")]
struct VisitsPage {
    ctx: Ctx,
    form: VisitForm,
    errors: Errors,
    kinds: Vec<Choice>,
    /// Doors still to visit this period (walking order), and how many.
    todo: Vec<AddressView>,
    todo_total: i64,
    period: String,
    recent: Vec<VisitView>,
    saved: bool,
    today: String,
    may_record: bool,
}

impl VisitsPage {
    fn kind_name(&self, v: &VisitView) -> String {
        v.kind_name.get(self.ctx.lang.data_key()).to_string()
    }
    fn selected(&self, a: &AddressView) -> bool {
        self.form.address_id == a.id.to_string()
    }
    /// A door chosen that is not in the list (visited already this period): kept selected.
    fn other_address(&self) -> bool {
        !self.form.address_id.is_empty() && !self.todo.iter().any(|a| self.selected(a))
    }
}

#[derive(Deserialize, Default)]
struct VisitsParams {
    saved: Option<String>,
    /// Preselect this door (a tap on "still to visit").
    address: Option<String>,
}

async fn visits_page(
    st: &SharedState,
    ctx: &Ctx,
    form: VisitForm,
    errors: Errors,
    saved: bool,
) -> Result<Response, WebError> {
    let user = ctx.require_user()?;
    if !allows(user.role, Perm::ReadVisits) {
        return Err(WebError::Forbidden);
    }
    let now = Utc::now();
    let may_record = allows(user.role, Perm::RecordVisits);
    let (todo, todo_total) = if may_record {
        let q = AddressQuery {
            unvisited: true,
            limit: Some(300),
            ..Default::default()
        };
        let mut q = q;
        // A worker's own doors only (a leader with regions would otherwise see a district).
        if let [g] = user.grids.as_slice() {
            q.grid = Some(g.clone());
        }
        let p = visits::list_addresses(st, user, &q, now).await?;
        (p.addresses, p.total)
    } else {
        (vec![], 0)
    };
    let recent = visits::list_visits(
        st,
        user,
        &VisitQuery {
            mine: may_record,
            limit: Some(20),
            ..Default::default()
        },
    )
    .await?
    .visits;
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut form = form;
    if form.client_id.trim().is_empty() || saved {
        form.client_id = Uuid::now_v7().to_string();
    }
    let today = local_day(now).to_string();
    if form.visited_on.is_empty() {
        form.visited_on = today.clone();
    }
    let page = VisitsPage {
        kinds: kind_choices(
            ctx.lang,
            if form.kind.is_empty() {
                "routine"
            } else {
                &form.kind
            },
        ),
        period: coverage::current_period(st, now).label,
        ctx: ctx.clone(),
        form,
        errors,
        todo,
        todo_total,
        recent,
        saved,
        today,
        may_record,
    };
    Ok(ctx.render_status(status, &page))
}

async fn show_visits(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(p): WebQuery<VisitsParams>,
) -> Response {
    let form = VisitForm {
        address_id: p.address.unwrap_or_default(),
        ..Default::default()
    };
    let r = visits_page(&st, &ctx, form, Errors::default(), p.saved.is_some()).await;
    respond(&ctx, r)
}

async fn record(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebForm(f): WebForm<VisitForm>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&f.csrf)?;
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let mut errors = Errors::default();
        let id = match opt(&f.client_id).map(|s| visits::parse_id(&s, "client_id")) {
            Some(Ok(id)) => Some(id),
            Some(Err(e)) => {
                add_error(&mut errors, ctx.lang, &e);
                return visits_page(&st, &ctx, f, errors, false).await;
            }
            None => None,
        };
        let input = VisitInput {
            address_id: opt(&f.address_id),
            place_id: opt(&f.place_id),
            visited_on: f.visited_on.clone(),
            kind: f.kind.clone(),
            raised: f.raised.clone(),
            contact_name: opt(&f.contact_name),
            contact_phone: opt(&f.contact_phone),
        };
        let to_case = f.to_case.is_some().then(|| ToCase {
            category: f.category.trim().to_string(),
            ..Default::default()
        });
        match visits::record(&st, user, id, &input, to_case.as_ref(), "web", Utc::now()).await {
            Ok(_) => Ok(see_other("/work/visits?saved=1")),
            Err(e) if e.kind == ErrorKind::Invalid || e.kind == ErrorKind::Conflict => {
                add_error(&mut errors, ctx.lang, &e);
                visits_page(&st, &ctx, f, errors, false).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

// ---------------------------------------------------------------- addresses

#[derive(Deserialize, Default, Clone)]
struct AddressParams {
    grid: Option<String>,
    /// A place's id: the doors linked to it (the place page links here).
    place: Option<String>,
    status: Option<String>,
    q: Option<String>,
    unvisited: Option<String>,
    after: Option<String>,
}

impl AddressParams {
    fn query(&self) -> AddressQuery {
        AddressQuery {
            grid: self.grid.clone(),
            place: self.place.clone(),
            status: self.status.clone(),
            q: self.q.clone(),
            unvisited: self.unvisited.as_deref().is_some_and(|v| !v.is_empty()),
            after: self.after.clone(),
            limit: Some(200),
            ..Default::default()
        }
    }
    fn href(&self) -> String {
        let mut parts = vec![];
        for (k, v) in [
            ("grid", &self.grid),
            ("place", &self.place),
            ("status", &self.status),
            ("q", &self.q),
            ("unvisited", &self.unvisited),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        }
        parts.join("&")
    }
}

#[derive(Deserialize, Default, Clone)]
struct AddressForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    grid_code: String,
    #[serde(default)]
    building: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    door: String,
    #[serde(default)]
    place_id: String,
}

#[derive(Template)]
#[template(path = "addresses.html")]
struct AddressesPage {
    ctx: Ctx,
    addresses: Vec<AddressView>,
    total: i64,
    grid: String,
    q: String,
    status: String,
    unvisited: bool,
    my_grids: Vec<String>,
    filters: String,
    next_href: String,
    may_manage: bool,
    form: AddressForm,
    errors: Errors,
    error: String,
}

async fn addresses_page(
    st: &SharedState,
    ctx: &Ctx,
    p: &AddressParams,
    form: AddressForm,
    errors: Errors,
) -> Result<Response, WebError> {
    let user = ctx.require_user()?;
    if !allows(user.role, Perm::ReadAddresses) {
        return Err(WebError::Forbidden);
    }
    let (page, error) = match visits::list_addresses(st, user, &p.query(), Utc::now()).await {
        Ok(page) => (page, String::new()),
        Err(e) if e.kind == ErrorKind::Invalid => {
            let mut errs = Errors::default();
            add_error(&mut errs, ctx.lang, &e);
            (
                visits::AddressPage {
                    addresses: vec![],
                    total: 0,
                    next_after: None,
                },
                errs.0.first().map(|(_, m)| m.clone()).unwrap_or_default(),
            )
        }
        Err(e) => return Err(e.into()),
    };
    let filters = p.href();
    let next_href = match page.next_after {
        Some(a) if filters.is_empty() => format!("/work/addresses?after={a}"),
        Some(a) => format!("/work/addresses?{filters}&after={a}"),
        None => String::new(),
    };
    let mut form = form;
    if form.id.is_empty() {
        form.id = Uuid::now_v7().to_string();
    }
    if form.grid_code.is_empty() {
        form.grid_code = p
            .grid
            .clone()
            .or_else(|| user.grids.first().cloned())
            .unwrap_or_default();
    }
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let pg = AddressesPage {
        grid: p.grid.clone().unwrap_or_default(),
        q: p.q.clone().unwrap_or_default(),
        status: p.status.clone().unwrap_or_default(),
        unvisited: p.unvisited.as_deref().is_some_and(|v| !v.is_empty()),
        my_grids: user.grids.clone(),
        filters,
        next_href,
        may_manage: allows(user.role, Perm::ManageAddresses),
        total: page.total,
        addresses: page.addresses,
        form,
        errors,
        error,
        ctx: ctx.clone(),
    };
    Ok(ctx.render_status(status, &pg))
}

async fn show_addresses(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(p): WebQuery<AddressParams>,
) -> Response {
    let r = addresses_page(&st, &ctx, &p, AddressForm::default(), Errors::default()).await;
    respond(&ctx, r)
}

async fn add_address(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebForm(f): WebForm<AddressForm>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&f.csrf)?;
        let id = Uuid::parse_str(f.id.trim()).ok();
        let input = AddressInput {
            grid_code: f.grid_code.clone(),
            building: f.building.clone(),
            unit: Some(f.unit.clone()),
            door: f.door.clone(),
            place_id: Some(f.place_id.clone()),
            status: None,
        };
        match visits::create_address(&st, user, id, &input, "web", Utc::now()).await {
            Ok((a, _)) => Ok(see_other(&format!(
                "/work/addresses?grid={}",
                urlencode(&a.grid_code)
            ))),
            Err(e) if e.kind == ErrorKind::Invalid || e.kind == ErrorKind::Conflict => {
                let mut errors = Errors::default();
                add_error(&mut errors, ctx.lang, &e);
                let p = AddressParams {
                    grid: Some(f.grid_code.clone()),
                    ..Default::default()
                };
                addresses_page(&st, &ctx, &p, f, errors).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

#[derive(Deserialize, Default)]
struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: i64,
    #[serde(default)]
    status: String,
}

/// Deactivates (or reactivates) a door, with the version read.
async fn set_status(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(f): WebForm<StatusForm>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&f.csrf)?;
        let (a, _) = visits::visible_address(&st, user, &id).await?;
        let input = AddressInput {
            grid_code: a.grid_code.clone(),
            building: a.building.clone(),
            unit: Some(a.unit.clone()),
            door: a.door.clone(),
            place_id: a.place_id.map(|p| p.to_string()),
            status: Some(f.status.clone()),
        };
        visits::edit_address(&st, user, &id, f.version, &input, "web", Utc::now()).await?;
        Ok(see_other(&format!(
            "/work/addresses?grid={}",
            urlencode(&a.grid_code)
        )))
    }
    .await;
    respond(&ctx, r)
}

async fn addresses_download(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(file): Path<String>,
    WebQuery(p): WebQuery<AddressParams>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let q = AddressQuery {
            after: None,
            limit: None,
            ..p.query()
        };
        let now = Utc::now();
        match file.as_str() {
            "addresses.csv" => Ok(download(
                addresses_io::export(&st, user, &q, false, "web", now).await?,
                "text/csv; charset=utf-8",
                "attachment; filename=\"addresses.csv\"",
            )),
            "addresses.xlsx" => Ok(download(
                addresses_io::export(&st, user, &q, true, "web", now).await?,
                XLSX,
                "attachment; filename=\"addresses.xlsx\"",
            )),
            "template.xlsx" => {
                if !allows(user.role, Perm::ReadAddresses) {
                    return Err(WebError::Forbidden);
                }
                Ok(download(
                    addresses_io::template_xlsx()?,
                    XLSX,
                    "attachment; filename=\"addresses-template.xlsx\"",
                ))
            }
            _ => Err(WebError::NotFound),
        }
    }
    .await;
    respond(&ctx, r)
}

// ---------------------------------------------------------------- coverage

#[derive(Deserialize, Default)]
struct CoverageParams {
    region: Option<String>,
    period: Option<String>,
}

#[derive(Template)]
#[template(path = "coverage.html")]
struct CoveragePage {
    ctx: Ctx,
    report: CoverageReport,
    region: String,
    period: String,
    /// The grids as a GeoJSON FeatureCollection for the choropleth (value: share in %).
    geo: String,
    query: String,
}

impl CoveragePage {
    fn pct(&self, r: &CoverageRow) -> String {
        format!("{:.1}", r.share * 100.0)
    }
    /// The ranking tables, from the widest level down.
    fn tables(&self) -> Vec<(&'static str, &[CoverageRow])> {
        vec![
            (self.ctx.t("coverage.townships"), &self.report.townships),
            (self.ctx.t("coverage.villages"), &self.report.villages),
            (self.ctx.t("coverage.grids"), &self.report.grids),
        ]
    }
    fn label(&self, r: &CoverageRow) -> String {
        r.name.clone().unwrap_or_else(|| r.code.clone())
    }
}

/// Grid outlines drawn at most (a county's grids with addresses; more are listed, not drawn).
const MAP_GRIDS: usize = 400;

async fn show_coverage(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(p): WebQuery<CoverageParams>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        if !allows(user.role, Perm::ReadAddresses) {
            return Err(WebError::Forbidden);
        }
        let report = coverage::coverage(
            &st,
            user,
            p.region.as_deref(),
            p.period.as_deref(),
            Utc::now(),
        )
        .await?;
        let mut features = vec![];
        for g in report.grids.iter().take(MAP_GRIDS) {
            if let Ok(grid) = st.store.grid(&g.code).await
                && let Ok(geometry) = serde_json::from_str::<serde_json::Value>(&grid.geometry)
            {
                features.push(serde_json::json!({
                    "type": "Feature",
                    "geometry": geometry,
                    "properties": {
                        "name": format!("{} {}/{}", grid.name, g.visited, g.known),
                        "value": g.share * 100.0,
                        "href": format!("/work/addresses?grid={}&unvisited=1", g.code),
                    }
                }));
            }
        }
        let geo = serde_json::json!({
            "type": "FeatureCollection",
            "measure": ctx.t("coverage.share"),
            "features": features,
        });
        let mut query = vec![];
        if let Some(r) = p.region.as_deref().filter(|s| !s.is_empty()) {
            query.push(format!("region={}", urlencode(r)));
        }
        if let Some(r) = p.period.as_deref().filter(|s| !s.is_empty()) {
            query.push(format!("period={}", urlencode(r)));
        }
        let page = CoveragePage {
            region: p.region.clone().unwrap_or_default(),
            period: report.period.label.clone(),
            geo: geo.to_string(),
            query: query.join("&"),
            report,
            ctx: ctx.clone(),
        };
        Ok(ctx.render(&page))
    }
    .await;
    respond(&ctx, r)
}

async fn coverage_download(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(p): WebQuery<CoverageParams>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let b = coverage::coverage_xlsx(
            &st,
            user,
            p.region.as_deref(),
            p.period.as_deref(),
            "web",
            Utc::now(),
        )
        .await?;
        Ok(download(b, XLSX, "attachment; filename=\"coverage.xlsx\""))
    }
    .await;
    respond(&ctx, r)
}

// ---------------------------------------------------------------- the work log

#[derive(Deserialize, Default)]
struct WorklogParams {
    worker: Option<String>,
    month: Option<String>,
}

#[derive(Template)]
#[template(path = "worklog.html")]
struct WorklogPage {
    ctx: Ctx,
    /// Today's figures and the week's log (Monday to today).
    today: DayCounts,
    week: WorkLog,
    own: bool,
    /// The monthly summary of the workers of the reader's territory (leaders).
    month: Option<MonthSummary>,
    month_param: String,
}

async fn show_worklog(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(p): WebQuery<WorklogParams>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        if !allows(user.role, Perm::ReadVisits) && !allows(user.role, Perm::RecordVisits) {
            return Err(WebError::Forbidden);
        }
        let now = Utc::now();
        let today = local_day(now);
        let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
        let worker = p.worker.as_deref().filter(|s| !s.is_empty());
        let may_own = allows(user.role, Perm::RecordVisits);
        let week = if worker.is_some() || may_own {
            Some(coverage::worklog(&st, user, worker, monday, today).await?)
        } else {
            None
        };
        let leads = matches!(
            user.role,
            safegrid_domain::Role::GridLeader
                | safegrid_domain::Role::Leader
                | safegrid_domain::Role::Dispatcher
                | safegrid_domain::Role::Admin
        );
        let month = if leads && worker.is_none() {
            Some(coverage::month_summary(&st, user, p.month.as_deref(), now).await?)
        } else {
            None
        };
        let week = week.unwrap_or_else(|| WorkLog {
            worker: user.id,
            worker_name: user.display_name.clone(),
            from: monday.to_string(),
            to: today.to_string(),
            days: vec![],
            total: DayCounts::default(),
        });
        let today_counts = week
            .days
            .iter()
            .find(|d| d.day == today.to_string())
            .cloned()
            .unwrap_or_default();
        let page = WorklogPage {
            today: today_counts,
            own: worker.is_none() && may_own,
            month_param: p.month.clone().unwrap_or_default(),
            week,
            month,
            ctx: ctx.clone(),
        };
        Ok(ctx.render(&page))
    }
    .await;
    respond(&ctx, r)
}

async fn worklog_download(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(p): WebQuery<WorklogParams>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        let b = coverage::month_xlsx(&st, user, p.month.as_deref(), "web", Utc::now()).await?;
        Ok(download(
            b,
            XLSX,
            "attachment; filename=\"worklog-month.xlsx\"",
        ))
    }
    .await;
    respond(&ctx, r)
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/work/visits", get(show_visits).post(record))
        .route("/work/addresses", get(show_addresses).post(add_address))
        .route("/work/addresses/{id}/status", post(set_status))
        .route("/work/addresses/download/{file}", get(addresses_download))
        .route("/work/coverage", get(show_coverage))
        .route(
            "/work/coverage/download/coverage.xlsx",
            get(coverage_download),
        )
        .route("/work/worklog", get(show_worklog))
        .route("/work/worklog/download/month.xlsx", get(worklog_download))
}
