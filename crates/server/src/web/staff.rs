//! Pages for staff (工作台): login, the intake queue with likely duplicates, the overdue board,
//! the department inbox, the grid worker's grid, search, and the case page with exactly the
//! actions the engine allows this account now. Actions go through `AppState::act`.

use super::ctx::{
    Ctx, Page, WebError, WebForm, WebMultipart, WebQuery, respond, safe_next, see_other, urlencode,
};
use super::i18n::Lang;
use super::photos::{self, PhotoView};
use super::public::{FormErrors, read_form};
use super::view::{
    CaseView, EventView, case_view, case_view_named, department_name, events_view, name_departments,
};
use crate::app::auth::{LoginRefused, authenticate, hash_secret};
use crate::http_common::{SESSION_COOKIE, cookie_value, session_cookie};

use crate::app::scope::{in_scope, scope_filter};
use crate::app::state::SharedState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{Duration, Utc};
use safegrid_domain::Role;
use safegrid_domain::codes::RegionCode;
use safegrid_domain::engine::{Action, ActionRequest, Case, Command};
use safegrid_store::{CaseFilter, Department, SortOrder, StoreError, User};
use serde::Deserialize;
use uuid::Uuid;

// ---------------------------------------------------------------- login

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: Ctx,
    next: String,
    username: String,
    error: String,
}

#[derive(Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(ctx: Ctx, WebQuery(q): WebQuery<NextQuery>) -> Response {
    let page = LoginPage {
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: String::new(),
        ctx,
    };
    page.ctx.render(&page)
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    username: String,
    password: String,
    /// The second-factor code, for accounts that enrolled one.
    #[serde(default)]
    totp: Option<String>,
    next: Option<String>,
}

async fn login_submit(
    State(st): State<SharedState>,
    ctx: Ctx,
    headers: HeaderMap,
    WebForm(f): WebForm<LoginForm>,
) -> Response {
    let r = async {
        ctx.check_csrf(&f.csrf)?;
        let name = f.username.trim().to_string();
        let fail = |ctx: &Ctx, key: &str| {
            let page = LoginPage {
                ctx: ctx.clone(),
                next: safe_next(f.next.as_deref()),
                username: name.clone(),
                error: ctx.t(key).to_string(),
            };
            Ok(ctx.render_status(StatusCode::UNAUTHORIZED, &page))
        };
        if name.is_empty() || name.chars().count() > 64 {
            return fail(&ctx, "login.bad");
        }
        // The API's rules exactly: one lockout, one audit, one rate limit for every way in.
        let session =
            match authenticate(&st, &name, f.password.clone(), f.totp.as_deref(), "web").await {
                Ok(s) => s,
                Err(LoginRefused::RateLimited(_) | LoginRefused::Locked(_)) => {
                    return fail(&ctx, "login.too_many");
                }
                Err(LoginRefused::CodeRequired) => return fail(&ctx, "login.totp_required"),
                Err(LoginRefused::EnrolmentRequired) => return fail(&ctx, "login.totp_enrol"),
                Err(LoginRefused::Bad) => return fail(&ctx, "login.bad"),
                Err(LoginRefused::Error(e)) => return Err(e.into()),
            };
        let cookie = session_cookie(&st, &headers, &session.secret);
        let next = match f.next.as_deref() {
            Some(n) if n != "/" && n != "/login" => safe_next(Some(n)),
            _ => "/work".to_string(),
        };
        let mut r = see_other(&next);
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
        Ok(r)
    }
    .await;
    respond(&ctx, r)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(st): State<SharedState>,
    ctx: Ctx,
    headers: HeaderMap,
    WebForm(f): WebForm<CsrfForm>,
) -> Response {
    let r = async {
        ctx.check_csrf(&f.csrf)?;
        if let Some(s) = cookie_value(&headers, SESSION_COOKIE) {
            st.store.delete_session(&hash_secret(&s)).await?;
        }
        let mut r = see_other("/");
        r.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static(
                "safegrid_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
            ),
        );
        Ok(r)
    }
    .await;
    respond(&ctx, r)
}

/// Each role's first page.
async fn work_home(ctx: Ctx) -> Response {
    let r = (|| {
        let u = ctx.require_user()?;
        Ok(see_other(match u.role {
            Role::Dispatcher => "/work/queue",
            Role::Handler => "/work/inbox",
            Role::GridWorker | Role::GridLeader => "/work/grid",
            Role::Leader => "/work/dashboard",
            Role::Admin => "/work/admin",
            Role::Citizen => "/track",
            _ => "/work/cases",
        }))
    })();
    respond(&ctx, r)
}

// ---------------------------------------------------------------- lists

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    status: Option<String>,
    category: Option<String>,
    light: Option<String>,
    region: Option<String>,
    department: Option<String>,
    q: Option<String>,
    open: Option<String>,
    page: Option<i64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ListKind {
    Queue,
    Inbox,
    Overdue,
    Search,
}

/// A reported case and the open cases that look like the same matter (重复件).
pub struct QueueItem {
    pub case: CaseView,
    pub duplicates: Vec<CaseView>,
}

/// Where case lists stop counting (the page shows "10000+").
const LIST_COUNT_LIMIT: i64 = 10_000;

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    ctx: Ctx,
    kind: &'static str,
    title: &'static str,
    items: Vec<QueueItem>,
    total: i64,
    /// More match than `total` (the count stops at [`LIST_COUNT_LIMIT`]).
    total_capped: bool,
    page: i64,
    pages: i64,
    q: ListQueryView,
    statuses: Vec<(String, String)>,
    prev_href: String,
    next_href: String,
}

/// The filter values as the form shows them.
pub struct ListQueryView {
    pub status: String,
    pub category: String,
    pub light: String,
    pub region: String,
    pub q: String,
    pub open: bool,
}

/// Every state name with its label in the page's language (for filters).
fn status_options(lang: Lang) -> Vec<(String, String)> {
    let mut seen = std::collections::BTreeMap::new();
    for w in safegrid_domain::workflow::builtin().values() {
        for s in &w.states {
            seen.entry(s.name.clone()).or_insert_with(|| {
                if lang == Lang::En {
                    s.en.clone()
                } else {
                    s.zh.clone()
                }
            });
        }
    }
    seen.into_iter().collect()
}

/// Likely duplicates of a reported case: open cases of the same category in the same grid (or
/// village when it has no grid) reported in the 30 days before it.
async fn likely_duplicates(
    st: &SharedState,
    user: &User,
    case: &Case,
    lang: Lang,
) -> Result<Vec<CaseView>, WebError> {
    let mut f = CaseFilter {
        category: Some(case.category.clone()),
        open_only: true,
        created_from: Some(case.created_at - Duration::days(30)),
        created_to: Some(case.created_at + Duration::days(1)),
        limit: 6,
        now: Some(Utc::now()),
        ..Default::default()
    };
    match &case.grid_code {
        Some(g) => f.grid = Some(g.as_str().to_string()),
        None => f.region_prefix = Some(case.region_code.short().to_string()),
    }
    scope_filter(user, &mut f);
    let page = st
        .store
        .list_cases(&f, &safegrid_domain::workflow::terminal_states())
        .await?;
    Ok(page
        .cases
        .iter()
        .filter(|c| c.id != case.id)
        .take(5)
        .map(|c| case_view(st, c, Some(user), lang))
        .collect())
}

async fn list_cases(st: &SharedState, ctx: &Ctx, kind: ListKind, q: ListQuery) -> Page {
    let user = match kind {
        ListKind::Queue | ListKind::Overdue => {
            ctx.require_role(&[Role::Dispatcher, Role::Admin, Role::Leader])?
        }
        ListKind::Inbox => ctx.require_role(&[Role::Handler])?,
        ListKind::Search => {
            let u = ctx.require_user()?;
            if u.role == Role::Citizen {
                return Err(WebError::Forbidden);
            }
            u
        }
    };
    let page = q.page.unwrap_or(1).max(1);
    let size = 30;
    let mut f = CaseFilter {
        limit: size,
        offset: crate::app::input::page_offset(page, size)?,
        now: Some(Utc::now()),
        ..Default::default()
    };
    let text = |s: &Option<String>| {
        s.clone()
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
    };
    match kind {
        ListKind::Queue => {
            f.statuses = vec!["reported".into()];
            f.order = SortOrder::OldestFirst;
        }
        ListKind::Inbox => {
            f.open_only = true;
            f.order = SortOrder::DueFirst;
        }
        ListKind::Overdue => {
            f.open_only = true;
            f.order = SortOrder::DueFirst;
            f.light = Some(
                text(&q.light)
                    .filter(|l| l == "yellow")
                    .unwrap_or_else(|| "red".into()),
            );
        }
        ListKind::Search => {
            f.open_only = q.open.as_deref() == Some("on");
            if let Some(s) = text(&q.status) {
                f.statuses = vec![s];
            }
            if let Some(l) =
                text(&q.light).filter(|l| ["green", "yellow", "red"].contains(&l.as_str()))
            {
                f.light = Some(l);
            }
            f.order = SortOrder::NewestFirst;
        }
    }
    f.category = text(&q.category);
    f.department = text(&q.department);
    if let Some(r) = text(&q.region) {
        match RegionCode::parse(&r) {
            Ok(c) => f.region_prefix = Some(c.short().to_string()),
            Err(_) => f.grid = Some(r),
        }
    }
    if let Some(t) = text(&q.q) {
        let t: String = t.chars().take(200).collect();
        crate::app::privacy::check_identifier_search(st, user, &t, "web").await?;
        f.text = Some(t);
    }
    scope_filter(user, &mut f);
    f.count_limit = Some(LIST_COUNT_LIMIT);
    let data = st
        .store
        .list_cases(&f, &safegrid_domain::workflow::terminal_states())
        .await?;
    let depts = st.store.departments().await?;
    let mut items = vec![];
    for c in &data.cases {
        // Disputes and petitions hold names beside the case (parties, agent): masked as well.
        let mut v = vec![if matches!(c.case_type.as_str(), "dispute" | "petition") {
            let names = crate::app::pii::case_names(st, c).await?;
            case_view_named(st, c, Some(user), ctx.lang, &names)
        } else {
            case_view(st, c, Some(user), ctx.lang)
        }];
        name_departments(&mut v, &depts, ctx.lang);
        let duplicates = if kind == ListKind::Queue {
            likely_duplicates(st, user, c, ctx.lang).await?
        } else {
            vec![]
        };
        items.push(QueueItem {
            case: v.remove(0),
            duplicates,
        });
    }
    let pages = ((data.total + size - 1) / size).max(1);
    let base = ctx
        .here
        .split('?')
        .next()
        .unwrap_or("/work/cases")
        .to_string();
    let qs = |p: i64| {
        let mut parts = vec![format!("page={p}")];
        for (k, v) in [
            ("status", &q.status),
            ("category", &q.category),
            ("light", &q.light),
            ("region", &q.region),
            ("department", &q.department),
            ("q", &q.q),
            ("open", &q.open),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        }
        format!("{base}?{}", parts.join("&"))
    };
    let (kind_s, title) = match kind {
        ListKind::Queue => ("queue", "queue.title"),
        ListKind::Inbox => ("inbox", "inbox.title"),
        ListKind::Overdue => ("overdue", "overdue.title"),
        ListKind::Search => ("search", "search.title"),
    };
    let page_view = CasesPage {
        ctx: ctx.clone(),
        kind: kind_s,
        title: ctx.t(title),
        items,
        total: data.total,
        total_capped: data.total_capped,
        page,
        pages,
        q: ListQueryView {
            status: q.status.clone().unwrap_or_default(),
            category: q.category.clone().unwrap_or_default(),
            light: q.light.clone().unwrap_or_default(),
            region: q.region.clone().unwrap_or_default(),
            q: q.q.clone().unwrap_or_default(),
            open: q.open.as_deref() == Some("on"),
        },
        statuses: status_options(ctx.lang),
        prev_href: if page > 1 {
            qs(page - 1)
        } else {
            String::new()
        },
        next_href: if page < pages {
            qs(page + 1)
        } else {
            String::new()
        },
    };
    Ok(ctx.render(&page_view))
}

async fn queue(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<ListQuery>,
) -> Response {
    let r = list_cases(&st, &ctx, ListKind::Queue, q).await;
    respond(&ctx, r)
}
async fn inbox(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<ListQuery>,
) -> Response {
    let r = list_cases(&st, &ctx, ListKind::Inbox, q).await;
    respond(&ctx, r)
}
async fn overdue(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<ListQuery>,
) -> Response {
    let r = list_cases(&st, &ctx, ListKind::Overdue, q).await;
    respond(&ctx, r)
}
async fn search(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<ListQuery>,
) -> Response {
    let r = list_cases(&st, &ctx, ListKind::Search, q).await;
    respond(&ctx, r)
}

// ---------------------------------------------------------------- grid worker

#[derive(Template)]
#[template(path = "grid.html")]
struct GridPage {
    ctx: Ctx,
    grid_codes: String,
    grid_names: Vec<String>,
    to_verify: Vec<CaseView>,
    open: Vec<CaseView>,
    mine: Vec<CaseView>,
    /// JSON [[lat, lon, number, id, light]] of the open cases for the map.
    points: String,
}

async fn grid_page(State(st): State<SharedState>, ctx: Ctx) -> Response {
    let r = async {
        let user = ctx.require_role(&[Role::GridWorker, Role::GridLeader])?;
        let terminal = safegrid_domain::workflow::terminal_states();
        let mut base = CaseFilter {
            limit: 100,
            now: Some(Utc::now()),
            order: SortOrder::DueFirst,
            ..Default::default()
        };
        scope_filter(user, &mut base);
        let mut f = base.clone();
        f.statuses = vec!["handled".into()];
        let to_verify: Vec<CaseView> = st
            .store
            .list_cases(&f, &terminal)
            .await?
            .cases
            .iter()
            .map(|c| case_view(&st, c, Some(user), ctx.lang))
            .filter(|v| v.may("verify"))
            .collect();
        let mut f = base.clone();
        f.open_only = true;
        let open_cases = st.store.list_cases(&f, &terminal).await?.cases;
        let mut points = vec![];
        for c in &open_cases {
            if let (Some(lat), Some(lon)) = (c.lat, c.lon) {
                points.push(serde_json::json!([
                    lat,
                    lon,
                    c.number,
                    c.id.to_string(),
                    super::view::light_name(safegrid_domain::engine::live_light(c, Utc::now()))
                ]));
            }
        }
        let open: Vec<CaseView> = open_cases
            .iter()
            .take(30)
            .map(|c| case_view(&st, c, Some(user), ctx.lang))
            .collect();
        let mut f = base;
        f.order = SortOrder::NewestFirst;
        f.limit = 100;
        let mine: Vec<CaseView> = st
            .store
            .list_cases(&f, &terminal)
            .await?
            .cases
            .iter()
            .filter(|c| c.created_by == Some(user.id))
            .take(20)
            .map(|c| case_view(&st, c, Some(user), ctx.lang))
            .collect();
        let mut grid_names = vec![];
        for g in &user.grids {
            if let Ok(grid) = st.store.grid(g).await {
                grid_names.push(format!("{} ({})", grid.name, grid.code));
            }
        }
        let page = GridPage {
            ctx: ctx.clone(),
            grid_codes: user.grids.join(","),
            grid_names,
            to_verify,
            open,
            mine,
            points: serde_json::Value::from(points).to_string(),
        };
        Ok(ctx.render(&page))
    }
    .await;
    respond(&ctx, r)
}

// ---------------------------------------------------------------- case page

/// One action form of the case page.
pub struct ActionForm {
    pub action: String,
    pub label: &'static str,
    pub help: &'static str,
    pub note_required: bool,
    pub with_photo: bool,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    ctx: Ctx,
    case: CaseView,
    events: Vec<EventView>,
    photos: Vec<PhotoView>,
    actions: Vec<ActionForm>,
    departments: Vec<(String, String, bool)>,
    duplicates: Vec<CaseView>,
    /// Deadline if dispatched now, and the limit it comes from (shown before confirming).
    dispatch_due: String,
    dispatch_limit: String,
    dispatch_options: Vec<DispatchOption>,
    errors: FormErrors,
    failed_action: String,
    created: bool,
    /// The contact in the clear, after an audited reveal: (name, phone).
    revealed: Option<(String, String)>,
    /// The date of the visit (走访) this case was turned from; its kind is not shown (a care
    /// visit's hardship stays with those who may read it).
    from_visit: Option<String>,
}

fn note_required(case: &Case, action: &str) -> bool {
    safegrid_domain::workflow::workflow(&case.case_type)
        .map(|w| {
            w.transitions
                .iter()
                .filter(|t| t.action == action && t.from.iter().any(|f| f == &case.status))
                .any(|t| t.note_required && t.guard.as_deref() != Some("passed"))
        })
        .unwrap_or(false)
}

async fn load_case(st: &SharedState, user: &User, id: &str) -> Result<Case, WebError> {
    let id = Uuid::parse_str(id).map_err(|_| WebError::NotFound)?;
    match st.store.case(id).await {
        Ok(c) if in_scope(user, &c) => Ok(c),
        Ok(_) | Err(StoreError::NotFound) => Err(WebError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Departments a case may be dispatched to: active ones of its county and of the city, the
/// category's default kind first (preselected).
fn dispatch_targets(
    st: &SharedState,
    case: &Case,
    depts: &[Department],
    lang: Lang,
) -> Vec<(String, String, bool)> {
    let default_kind = st
        .categories()
        .get(&case.category)
        .map(|c| c.department_kind.clone())
        .unwrap_or_default();
    let county = &case.county_code;
    let city = &case.region_code.as_str()[..4];
    let mut v: Vec<(String, String, bool, u8)> = depts
        .iter()
        .filter(|d| {
            d.active
                && (d.region_code.starts_with(county.as_str())
                    || d.region_code.trim_end_matches('0') == city
                    || d.region_code.starts_with(&format!("{city}00")))
        })
        .map(|d| {
            let local = d.region_code.starts_with(county.as_str());
            let preferred = local && d.kind == default_kind;
            let rank = if preferred {
                0
            } else if local {
                1
            } else {
                2
            };
            (d.code.clone(), department_name(d, lang), preferred, rank)
        })
        .collect();
    v.sort_by(|a, b| a.3.cmp(&b.3).then(a.0.cmp(&b.0)));
    v.into_iter().map(|(a, b, c, _)| (a, b, c)).collect()
}

/// An urgency the dispatcher may choose, with the deadline a dispatch at it would set now.
pub struct DispatchOption {
    pub urgency: String,
    pub label: &'static str,
    pub due: String,
    pub limit: String,
}

/// Deadline previews of a dispatch now at the case's urgency and at each higher one, reached by
/// expediting first (dry runs of the engine, nothing stored).
fn dispatch_previews(
    st: &SharedState,
    case: &Case,
    user: &User,
    lang: Lang,
) -> Vec<DispatchOption> {
    let now = Utc::now();
    let actor = user.actor();
    let mut options = vec![];
    let mut current = case.clone();
    for step in 0..3 {
        if step > 0 {
            match st.apply(&current, &Command::new(Action::Expedite), &actor, now) {
                Ok(a) if a.case.urgency != current.urgency => current = a.case,
                _ => break,
            }
        }
        let req = Command::new(Action::Dispatch {
            department: "preview".into(),
        });
        if let Ok(a) = st.apply(&current, &req, &actor, now) {
            options.push(DispatchOption {
                urgency: current.urgency.to_string(),
                label: lang.t(&format!("urgency.{}", current.urgency)),
                due: super::view::show_opt(a.case.due_at),
                limit: a
                    .case
                    .stage_limit
                    .clone()
                    .map(|l| lang.limit(&l))
                    .unwrap_or_default(),
            });
        }
    }
    options
}

async fn case_page_inner(
    st: &SharedState,
    ctx: &Ctx,
    id: &str,
    errors: FormErrors,
    failed_action: String,
    created: bool,
) -> Page {
    case_page_full(st, ctx, id, errors, failed_action, created, None).await
}

async fn case_page_full(
    st: &SharedState,
    ctx: &Ctx,
    id: &str,
    errors: FormErrors,
    failed_action: String,
    created: bool,
    revealed: Option<(String, String)>,
) -> Page {
    let user = ctx.require_user()?;
    let case = load_case(st, user, id).await?;
    let depts = st.store.departments().await?;
    // Free text masked with every name the case holds; as typed only after an audited reveal.
    let names = crate::app::pii::case_names(st, &case).await?;
    let mut v = vec![case_view_named(st, &case, Some(user), ctx.lang, &names)];
    name_departments(&mut v, &depts, ctx.lang);
    let mut view = v.remove(0);
    let shown_names = if revealed.is_some() {
        view.description = case.description.clone();
        view.address = case.address.clone().unwrap_or_default();
        None
    } else {
        Some(names.as_slice())
    };
    let events = st.store.events(&case).await?;
    let photos = photos::list(st, &case).await?;
    let actions: Vec<ActionForm> = view
        .allowed
        .iter()
        .map(|a| ActionForm {
            action: a.clone(),
            label: ctx.t(&format!("action.{a}")),
            help: ctx.lang.opt(&format!("help.{a}")),
            note_required: note_required(&case, a),
            with_photo: ["handle", "verify", "self_handle"].contains(&a.as_str()),
        })
        .collect();
    // Dry runs of the engine: exactly the deadline a dispatch now would set, at the case's urgency
    // and at each higher one (reached by expediting first, as the real dispatch will).
    let dispatch_options = if view.may("dispatch") {
        dispatch_previews(st, &case, user, ctx.lang)
    } else {
        vec![]
    };
    let (dispatch_due, dispatch_limit) = dispatch_options
        .first()
        .map(|o| (o.due.clone(), o.limit.clone()))
        .unwrap_or_default();
    let duplicates = if view.may("link_duplicate") {
        likely_duplicates(st, user, &case, ctx.lang).await?
    } else {
        vec![]
    };
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let from_visit = st
        .store
        .visit_of_case(case.id)
        .await?
        .map(|v| v.visited_on.to_string());
    let page = CasePage {
        from_visit,
        ctx: ctx.clone(),
        departments: if view.may("dispatch") {
            dispatch_targets(st, &case, &depts, ctx.lang)
        } else {
            vec![]
        },
        case: view,
        events: events_view(&events, false, ctx.lang, shown_names),
        photos,
        actions,
        duplicates,
        dispatch_due,
        dispatch_limit,
        dispatch_options,
        errors,
        failed_action,
        created,
        revealed,
    };
    Ok(ctx.render_status(status, &page))
}

#[derive(Deserialize, Default)]
struct CaseQuery {
    created: Option<String>,
}

async fn case_page(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebQuery(q): WebQuery<CaseQuery>,
) -> Response {
    let r = case_page_inner(
        &st,
        &ctx,
        &id,
        FormErrors::default(),
        String::new(),
        q.created.is_some(),
    )
    .await;
    respond(&ctx, r)
}

/// Shows the reporter's contact to one who must call back, after a reason; audited like the API's
/// reveal (same rule: `cases::may_reveal`).
async fn reveal(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<std::collections::HashMap<String, String>>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
        let case = load_case(&st, user, &id).await?;
        if !crate::app::scope::may_reveal(user, &case) {
            return Err(WebError::Forbidden);
        }
        let reason = form
            .get("reason")
            .map(|r| r.trim().to_string())
            .unwrap_or_default();
        if reason.chars().count() < 4 || reason.chars().count() > 500 {
            let mut errors = FormErrors::default();
            errors.add(
                "reason",
                ctx.lang
                    .field_error("reason", "must say why (4 to 500 characters)"),
            );
            return case_page_full(&st, &ctx, &id, errors, "reveal".into(), false, None).await;
        }
        crate::app::privacy::audit_reveal(&st, user, &case, &reason, "web")
            .await
            .map_err(|_| WebError::Internal)?;
        let contact = (
            case.reporter_name
                .as_ref()
                .map(|n| n.as_str().to_string())
                .unwrap_or_default(),
            case.reporter_phone
                .as_ref()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
        );
        case_page_full(
            &st,
            &ctx,
            &id,
            FormErrors::default(),
            String::new(),
            false,
            Some(contact),
        )
        .await
    }
    .await;
    respond(&ctx, r)
}

fn opt(s: String) -> Option<String> {
    let t = s.trim().to_string();
    if t.is_empty() { None } else { Some(t) }
}

/// A refused action: the case page with the errors, or for a replay of the phone's outbox the
/// refusal it reads (`offline::refusal`).
async fn refuse(
    st: &SharedState,
    ctx: &Ctx,
    id: &str,
    errors: FormErrors,
    action: String,
    replay: bool,
) -> Page {
    if replay {
        return Ok(super::offline::refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            &errors.0,
            None,
        ));
    }
    case_page_inner(st, ctx, id, errors, action, false).await
}

async fn act(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    super::offline::Replay(replay): super::offline::Replay,
    WebMultipart(mp): WebMultipart,
) -> Response {
    let r = async {
        let user = ctx.require_user()?.clone();
        // The form's token is checked before any photo is read (`read_form`).
        let data = read_form(&ctx, mp, || Ok(())).await?;
        let case = load_case(&st, &user, &id).await?;
        let action = data.get("action");
        let mut errors = FormErrors::default();
        if let Some(e) = &data.photo_error {
            errors.add("photo", e.clone());
            return refuse(&st, &ctx, &id, errors, action, replay).await;
        }
        // The phone's id of this submission: a retry that finds it in the history was applied.
        let client_id = match data.get("client_id").trim() {
            "" => None,
            s => match Uuid::parse_str(s) {
                Ok(u) => Some(u),
                Err(_) => {
                    errors.add("form", ctx.lang.field_error("client_id", "must be a UUID"));
                    return refuse(&st, &ctx, &id, errors, action, replay).await;
                }
            },
        };
        let done = |case: &Case| {
            see_other(&format!(
                "/work/cases/{}?done={}",
                case.id,
                urlencode(&action)
            ))
        };
        if let Some(cid) = client_id
            && super::offline::applied_before(&st, &case, cid, &user).await?
        {
            return Ok(done(&case));
        }
        let mut version = data.get("version").trim().parse::<i64>().ok();
        if replay && client_id.is_some() {
            // Queued on a phone: made at the state its form showed. A change of state since
            // (closed by someone else) refuses it, naming the state; changes that left the state
            // as it was (a supervision entry, a deadline light) do not make it stale.
            let shown = data.get("state");
            if !shown.is_empty() && shown != case.status {
                return Ok(super::offline::state_changed(&ctx, &case, &action));
            }
            if shown == case.status {
                version = None;
            }
        }
        let req = ActionRequest {
            action: action.clone(),
            note: opt(data.get("note")),
            department: opt(data.get("department")),
            passed: match data.get("passed").as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            score: data.get("score").trim().parse().ok(),
            of: Uuid::parse_str(data.get("of").trim()).ok(),
            level: opt(data.get("level")),
            extend_by: opt(data.get("extend_by")),
            version: None,
            ..Default::default()
        };
        if action == "verify" && req.passed.is_none() {
            errors.add(
                "passed",
                ctx.lang.field_error("passed", "choose pass or fail"),
            );
            return refuse(&st, &ctx, &id, errors, action, replay).await;
        }
        let req = match Command::try_from(&req) {
            Ok(cmd) => cmd,
            Err(e) => {
                errors.api(ctx.lang, &e.into());
                return refuse(&st, &ctx, &id, errors, action, replay).await;
            }
        };
        let mut case = case;
        let wanted = data.get("urgency");
        if action == "dispatch" && !wanted.trim().is_empty() {
            let target: safegrid_domain::catalog::Urgency = match wanted.trim().parse() {
                Ok(u) => u,
                Err(e) => {
                    errors.api(ctx.lang, &crate::app::error::AppError::from(e));
                    return refuse(&st, &ctx, &id, errors, action, replay).await;
                }
            };
            // A higher urgency is reached by expediting (加急), recorded in the history like any step.
            while case.urgency < target {
                let exp = Command {
                    action: Action::Expedite,
                    note: req.note.clone(),
                };
                match st
                    .act(&case, &exp, &user.actor(), version, Utc::now())
                    .await
                {
                    Ok(c) if c.urgency != case.urgency => {
                        version = Some(c.version);
                        case = c;
                    }
                    Ok(_) => break,
                    Err(e) if e.kind.is_client_error() => {
                        errors.api(ctx.lang, &e);
                        return refuse(&st, &ctx, &id, errors, action, replay).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let noted = client_id.map(|c| {
            let mut m = serde_json::Map::new();
            m.insert("client_id".into(), serde_json::Value::String(c.to_string()));
            m
        });
        match st
            .act_noting(&case, &req, &user.actor(), version, noted, Utc::now())
            .await
        {
            Ok(updated) => {
                // A list's inline form goes back to its list; others to the case.
                let back = data.get("return_to");
                photos::store(&st, &updated, &action, Some(&user), data.photos).await?;
                if back.starts_with("/work/") && !back.starts_with("//") {
                    return Ok(see_other(&safe_next(Some(&back))));
                }
                Ok(done(&updated))
            }
            Err(e)
                if e.kind.is_client_error() && e.kind != crate::app::error::ErrorKind::NotFound =>
            {
                // Two copies of one submission at once: the one that lost answers as applied.
                if let Some(cid) = client_id {
                    let now = load_case(&st, &user, &id).await?;
                    if super::offline::applied_before(&st, &now, cid, &user).await? {
                        return Ok(done(&now));
                    }
                    if replay && e.kind == crate::app::error::ErrorKind::Conflict {
                        return Ok(super::offline::state_changed(&ctx, &now, &action));
                    }
                }
                errors.api(ctx.lang, &e);
                refuse(&st, &ctx, &id, errors, action, replay).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/work", get(work_home))
        .route("/work/queue", get(queue))
        .route("/work/inbox", get(inbox))
        .route("/work/overdue", get(overdue))
        .route("/work/cases", get(search))
        .route("/work/grid", get(grid_page))
        .route("/work/cases/{id}", get(case_page))
        .route("/work/cases/{id}/act", post(act))
        .route("/work/cases/{id}/reveal", post(reveal))
}
