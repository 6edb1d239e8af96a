//! Pages for residents, no login needed (群众端): report a problem on the map, follow it by
//! tracking code and rate the result, and the public board of recent cases (anonymised).

use super::ctx::{
    Ctx, Page, WebError, WebForm, WebMultipart, WebQuery, respond, safe_next, see_other,
};
use super::i18n::Lang;
use super::photos::{self, Upload};
use super::view::{CaseView, EventView, case_view, case_view_named, events_view};
use crate::app::error::AppError;
use crate::app::service::{CreateCase, Reporter};
use crate::app::state::SharedState;
use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use safegrid_domain::engine::{self, Action, Command};
use safegrid_store::{CaseFilter, SortOrder, StoreError};
use serde::Deserialize;
use std::collections::HashMap;

/// A category as the picker shows it.
pub struct CategoryOption {
    pub code: String,
    pub name: String,
    pub icon: String,
    pub keywords: String,
}

/// A class (大类) of categories, one group of the picker.
pub struct CategoryGroup {
    pub code: String,
    pub name: String,
    pub items: Vec<CategoryOption>,
}

/// Categories residents and staff report under (and the public board lists), grouped by class,
/// in the page's language: service events only. Disputes, petitions and hazards carry a record
/// of their own (parties, a petition's channel, a campaign's inspection) that the report form
/// does not collect — offered there, they ended in a refusal the form could not show.
pub fn category_groups(st: &SharedState, lang: Lang) -> Vec<CategoryGroup> {
    let cats = st.categories();
    let mut rows: Vec<_> = cats
        .values()
        .filter(|c| c.active && c.case_type == "service_event")
        .collect();
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    let mut groups: Vec<CategoryGroup> = vec![];
    for c in rows {
        let name = if lang == Lang::En {
            &c.name_en
        } else {
            &c.name_zh
        };
        let class = if lang == Lang::En {
            &c.class_en
        } else {
            &c.class_zh
        };
        let kw: Vec<String> = serde_json::from_str(&c.keywords).unwrap_or_default();
        let opt = CategoryOption {
            code: c.code.clone(),
            name: name.clone(),
            icon: super::assets::pictogram(&c.icon).to_string(),
            keywords: format!("{} {} {}", c.name_zh, c.name_en, kw.join(" ")),
        };
        match groups.last_mut() {
            Some(g) if g.code == c.class_code => g.items.push(opt),
            _ => groups.push(CategoryGroup {
                code: c.class_code.clone(),
                name: class.clone(),
                items: vec![opt],
            }),
        }
    }
    groups
}

/// Field errors of a form, shown next to their fields.
#[derive(Default)]
pub struct FormErrors(pub Vec<(String, String)>);

impl ReportPage {
    pub fn center_attr(&self) -> String {
        self.center
            .map(|(lat, lon)| format!("{lat:.6},{lon:.6}"))
            .unwrap_or_default()
    }
}

impl FormErrors {
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .unwrap_or("")
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| f == field)
    }
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
    pub fn add(&mut self, field: &str, msg: String) {
        self.0.push((field.to_string(), msg));
    }
    /// An error of the service, in the person's language, on its field (or on the form).
    pub fn api(&mut self, lang: Lang, e: &AppError) {
        // Refusals of the workflow itself, whatever the field: said in the person's language.
        let key = match e.code {
            "action_not_allowed" => Some("err.not_allowed"),
            "version_mismatch" | "conflict" => Some("err.field.version"),
            "forbidden" => Some("err.forbidden"),
            _ => None,
        };
        if let Some(k) = key {
            let msg = match lang {
                Lang::Zh => lang.t(k).to_string(),
                Lang::En => format!("{} ({})", lang.t(k), e.message),
            };
            self.add("form", msg);
            return;
        }
        let field = e.field.clone().unwrap_or_else(|| "form".into());
        let reason = e
            .message
            .strip_prefix(&format!("{field}: "))
            .unwrap_or(&e.message);
        self.add(&field, lang.field_error(&field, reason));
    }

    /// As [`FormErrors::api`], for a form showing only `shown` fields: an error on any other
    /// field is said at the form's head (naming the field), never left where no one sees it.
    pub fn api_within(&mut self, lang: Lang, e: &AppError, shown: &[&str]) {
        let before = self.0.len();
        self.api(lang, e);
        for (field, msg) in &mut self.0[before..] {
            if field != "form" && !shown.contains(&field.as_str()) {
                *msg = format!("{field}: {msg}");
                *field = "form".into();
            }
        }
    }
}

/// The report form's values, kept when it comes back with errors.
#[derive(Default)]
pub struct ReportForm {
    pub category: String,
    pub description: String,
    pub lat: String,
    pub lon: String,
    pub address: String,
    pub name: String,
    pub phone: String,
    pub anonymous: bool,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    ctx: Ctx,
    groups: Vec<CategoryGroup>,
    form: ReportForm,
    errors: FormErrors,
    /// Staff report (grid worker quick report): no contact fields, may self-handle.
    staff: bool,
    /// Where the map starts when no point is given: the grid worker's own grid.
    center: Option<(f64, f64)>,
}

#[derive(Deserialize, Default)]
struct ReportQuery {
    lat: Option<String>,
    lon: Option<String>,
}

async fn report_page(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<ReportQuery>,
) -> Response {
    let staff = ctx.is_staff();
    let form = ReportForm {
        lat: q.lat.unwrap_or_default(),
        lon: q.lon.unwrap_or_default(),
        ..Default::default()
    };
    let mut center = None;
    if let Some(g) = ctx.user.as_ref().and_then(|u| u.grids.first())
        && let Ok(grid) = st.store.grid(g).await
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&grid.geometry)
        && let Ok(mp) = safegrid_geo::from_geojson_value(&v)
        && let Some(r) = safegrid_geo::geo::BoundingRect::bounding_rect(&mp)
    {
        center = Some((r.center().y, r.center().x));
    }
    let page = ReportPage {
        groups: category_groups(&st, ctx.lang),
        form,
        errors: FormErrors::default(),
        staff,
        center,
        ctx,
    };
    page.ctx.render(&page)
}

/// A multipart form read whole: text fields, and the photos (already checked and re-encoded).
pub struct FormData {
    pub fields: HashMap<String, String>,
    pub photos: Vec<Upload>,
    pub photo_error: Option<String>,
}

impl FormData {
    pub fn get(&self, k: &str) -> String {
        self.fields.get(k).cloned().unwrap_or_default()
    }
}

/// Reads a multipart form. Before the first file is read (or at the end, for a form without
/// one) the form's token is checked (`csrf`, which every form sends ahead of its files) and
/// `admit` runs (a rate limit): a request that will be refused costs no file reading and no
/// decoding. Photos go through [`photos::process_bounded`] (header check, type, size, EXIF,
/// resize, a bound on concurrent decodes); a NUL in a text field refuses the form, naming it.
pub async fn read_form(
    ctx: &Ctx,
    mut mp: Multipart,
    admit: impl FnOnce() -> Result<(), WebError>,
) -> Result<FormData, WebError> {
    let lang = ctx.lang;
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut photos = vec![];
    let mut photo_error = None;
    let mut admit = Some(admit);
    let mut gate = |fields: &HashMap<String, String>| -> Result<(), WebError> {
        if let Some(admit) = admit.take() {
            ctx.check_csrf(fields.get("csrf").map_or("", String::as_str))?;
            admit()?;
        }
        Ok(())
    };
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        WebError::Refused(format!(
            "{} ({})",
            lang.t("err.form_unreadable"),
            e.body_text()
        ))
    };
    while let Some(field) = mp.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or("").to_string();
        if name == "photo" || name == "photos" {
            gate(&fields)?;
            let file_name = field.file_name().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(unreadable)?;
            if bytes.is_empty() && file_name.is_empty() {
                continue; // an empty file input
            }
            if photos.len() >= photos::MAX_PHOTOS {
                photo_error = Some(lang.t("photo.too_many").to_string());
                continue;
            }
            match photos::process_bounded(bytes.to_vec()).await {
                Ok(Ok(u)) => photos.push(u),
                Ok(Err(e)) => photo_error = Some(format!("{}: {}", file_name, e.message(lang))),
                Err(e) => {
                    tracing::error!(error = %e, "photo task");
                    return Err(WebError::Internal);
                }
            }
        } else {
            let text = field.text().await.map_err(unreadable)?;
            if name.contains('\0') || text.contains('\0') {
                let name = name.replace('\0', "");
                return Err(WebError::Invalid(format!(
                    "{name}: {}",
                    crate::app::input::NUL_REASON
                )));
            }
            fields.insert(name, text);
        }
    }
    gate(&fields)?;
    Ok(FormData {
        fields,
        photos,
        photo_error,
    })
}

fn parse_coord(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() { None } else { s.parse().ok() }
}

async fn report_submit(
    State(st): State<SharedState>,
    ctx: Ctx,
    super::offline::Replay(replay): super::offline::Replay,
    WebMultipart(mp): WebMultipart,
) -> Response {
    let r = report_inner(&st, &ctx, mp, replay).await;
    respond(&ctx, r)
}

/// The fields the report form shows an error beside (report.html).
const REPORT_FIELDS: [&str; 8] = [
    "lat",
    "lon",
    "address",
    "category",
    "description",
    "photo",
    "reporter.name",
    "reporter.phone",
];

async fn report_inner(st: &SharedState, ctx: &Ctx, mp: Multipart, replay: bool) -> Page {
    // The token and the rate limit before any photo is read or decoded.
    let admit = || {
        if ctx.user.is_none() {
            // Per client address, the same bucket as the API's public intake (so switching doors
            // does not double the allowance), and per form token as well: dropping cookies does not
            // help, and behind a proxy without `trust_proxy` the token still tells residents apart.
            let ip = safegrid_store::audit::current_ip().unwrap_or_default();
            let rate = st.settings.rate_limits.public_intake;
            let by_ip = st.limiter.check(&format!("intake:ip:{ip}"), rate);
            let by_form = st
                .limiter
                .check(&format!("public_intake:web:{}", ctx.csrf), rate);
            if by_ip.is_err() || by_form.is_err() {
                return Err(WebError::Refused(ctx.t("err.rate_limited").to_string()));
            }
        }
        Ok(())
    };
    let data = read_form(ctx, mp, admit).await?;
    let staff = ctx.is_staff();
    let form = ReportForm {
        category: data.get("category"),
        description: data.get("description"),
        lat: data.get("lat"),
        lon: data.get("lon"),
        address: data.get("address"),
        name: data.get("name"),
        phone: data.get("phone"),
        anonymous: data.get("anonymous") == "on",
    };
    let mut errors = FormErrors::default();
    if let Some(e) = &data.photo_error {
        errors.add("photo", e.clone());
    }
    let (lat, lon) = (parse_coord(&form.lat), parse_coord(&form.lon));
    if (!form.lat.trim().is_empty() && lat.is_none())
        || (!form.lon.trim().is_empty() && lon.is_none())
    {
        errors.add(
            "lat",
            ctx.lang.field_error("lat", "must be a number in degrees"),
        );
    }
    let input = CreateCase {
        category: form.category.clone(),
        description: form.description.clone(),
        lat,
        lon,
        address: Some(form.address.clone()),
        reporter: if form.anonymous || staff {
            None
        } else {
            Some(Reporter {
                name: Some(form.name.clone()),
                phone: Some(form.phone.clone()),
                anonymous: false,
            })
        },
        channel: if staff { None } else { Some("web".into()) },
        // The phone's id (offline outbox): the same submission twice makes one case.
        client_id: match data.get("client_id").trim() {
            "" => None,
            s => match uuid::Uuid::parse_str(s) {
                Ok(u) => Some(u),
                Err(_) => {
                    errors.add("form", ctx.lang.field_error("client_id", "must be a UUID"));
                    None
                }
            },
        },
        ..Default::default()
    };
    let created = if errors.any() {
        None
    } else {
        match st
            .create_case_once(input, ctx.user.as_ref(), Utc::now())
            .await
        {
            Ok(c) => Some(c),
            Err(e) if e.kind.is_client_error() => {
                errors.api_within(ctx.lang, &e, &REPORT_FIELDS);
                None
            }
            Err(e) => return Err(e.into()),
        }
    };
    let Some((case, replayed)) = created else {
        if replay {
            return Ok(super::offline::refusal(
                StatusCode::UNPROCESSABLE_ENTITY,
                &errors.0,
                None,
            ));
        }
        let page = ReportPage {
            ctx: ctx.clone(),
            groups: category_groups(st, ctx.lang),
            form,
            errors,
            staff,
            center: None,
        };
        return Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    // A retry stores its photos only if the first copy stopped before storing any.
    if !replayed || photos::list(st, &case).await?.is_empty() {
        photos::store(st, &case, "report", ctx.user.as_ref(), data.photos).await?;
    }
    if staff {
        return Ok(see_other(&format!("/work/cases/{}?created=1", case.id)));
    }
    Ok(see_other(&format!("/track/{}?new=1", case.tracking_code)))
}

#[derive(Template)]
#[template(path = "track.html")]
struct TrackPage {
    ctx: Ctx,
    code: String,
    case: Option<CaseView>,
    events: Vec<EventView>,
    photos: Vec<photos::PhotoView>,
    fresh: bool,
    may_rate: bool,
    errors: FormErrors,
    rated: bool,
}

#[derive(Deserialize, Default)]
struct TrackQuery {
    code: Option<String>,
    new: Option<String>,
    rated: Option<String>,
}

async fn track_find(ctx: Ctx, WebQuery(q): WebQuery<TrackQuery>) -> Response {
    if let Some(code) = q.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        let code: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        return see_other(&format!("/track/{}", code.to_ascii_uppercase()));
    }
    let page = TrackPage {
        code: String::new(),
        case: None,
        events: vec![],
        photos: vec![],
        fresh: false,
        may_rate: false,
        errors: FormErrors::default(),
        rated: false,
        ctx,
    };
    page.ctx.render(&page)
}

async fn track_page(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(code): Path<String>,
    WebQuery(q): WebQuery<TrackQuery>,
) -> Response {
    let r = track_inner(
        &st,
        &ctx,
        &code,
        q.new.is_some(),
        q.rated.is_some(),
        FormErrors::default(),
    )
    .await;
    respond(&ctx, r)
}

async fn track_inner(
    st: &SharedState,
    ctx: &Ctx,
    code: &str,
    fresh: bool,
    rated: bool,
    errors: FormErrors,
) -> Page {
    // The same bucket as the API's lookups by code: guessing codes is slow through any door.
    crate::app::policy::check_public_rate(st, "track").map_err(WebError::TooMany)?;
    let code = code.trim().to_ascii_uppercase();
    let case = match st.store.case_by_tracking_code(&code).await {
        Ok(c) => Some(c),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let Some(case) = case else {
        let page = TrackPage {
            ctx: ctx.clone(),
            code,
            case: None,
            events: vec![],
            photos: vec![],
            fresh: false,
            may_rate: false,
            errors: FormErrors::default(),
            rated: false,
        };
        return Ok(ctx.render_status(StatusCode::NOT_FOUND, &page));
    };
    let events = st.store.events(&case).await?;
    let holder = engine::tracking_holder(&case);
    let may_rate = engine::allowed_actions(&case, &holder)
        .iter()
        .any(|a| a == "rate");
    let photos = photos::list(st, &case).await?;
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    // No personal data on the public view: free text masked with every name the case holds, and
    // the place coarsened to about 100 m (`crate::app::pii`).
    let names = crate::app::pii::case_names(st, &case).await?;
    let mut view = case_view_named(st, &case, None, ctx.lang, &names);
    view.address = String::new();
    let page = TrackPage {
        ctx: ctx.clone(),
        code,
        case: Some(view),
        events: events_view(&events, true, ctx.lang, Some(&names)),
        photos,
        fresh,
        may_rate,
        errors,
        rated,
    };
    Ok(ctx.render_status(status, &page))
}

#[derive(Deserialize)]
struct RateForm {
    csrf: String,
    score: Option<String>,
    note: Option<String>,
}

async fn rate(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(code): Path<String>,
    WebForm(f): WebForm<RateForm>,
) -> Response {
    let r = async {
        ctx.check_csrf(&f.csrf)?;
        if ctx.is_staff() {
            // Staff record a call-back's answer on the case page (回访), audited as themselves.
            return Err(WebError::Refused(
                ctx.t("track.staff_may_not_rate").to_string(),
            ));
        }
        let code = code.trim().to_ascii_uppercase();
        let case = st.store.case_by_tracking_code(&code).await?;
        let mut errors = FormErrors::default();
        let score = match f.score.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => s.parse::<u8>().ok().filter(|s| (1..=5).contains(s)),
            _ => None,
        };
        let Some(score) = score else {
            errors.add(
                "score",
                ctx.lang.field_error("score", "choose 1 to 5 stars"),
            );
            return track_inner(&st, &ctx, &code, false, false, errors).await;
        };
        let rate = match f.note.as_deref() {
            Some(n) => Command::noted(Action::Rate { score }, n),
            None => Ok(Command::new(Action::Rate { score })),
        };
        let rate = match rate {
            Ok(r) => r,
            Err(e) => {
                errors.api(ctx.lang, &e.into());
                return track_inner(&st, &ctx, &code, false, false, errors).await;
            }
        };
        match st
            .act(
                &case,
                &rate,
                &engine::tracking_holder(&case),
                None,
                Utc::now(),
            )
            .await
        {
            Ok(_) => Ok(see_other(&format!("/track/{code}?rated=1"))),
            Err(e) if e.kind.is_client_error() => {
                errors.api(ctx.lang, &e);
                track_inner(&st, &ctx, &code, false, false, errors).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

/// One anonymised case of the public board.
pub struct BoardItem {
    pub category_name: String,
    pub status_name: String,
    pub terminal: bool,
    pub region_name: String,
    pub created_at: String,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    ctx: Ctx,
    items: Vec<BoardItem>,
    total: i64,
    groups: Vec<CategoryGroup>,
    areas: Vec<(String, String)>,
    f_category: String,
    f_status: String,
    f_area: String,
    /// JSON of [lat, lon, open] points, coordinates rounded to about 100 m.
    points: String,
}

#[derive(Deserialize, Default)]
struct BoardQuery {
    category: Option<String>,
    status: Option<String>,
    area: Option<String>,
}

async fn board(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(q): WebQuery<BoardQuery>,
) -> Response {
    let r = async {
        let mut f = CaseFilter {
            limit: 300,
            order: SortOrder::NewestFirst,
            created_from: Some(Utc::now() - chrono::Duration::days(30)),
            now: Some(Utc::now()),
            ..Default::default()
        };
        // Only the kinds of matter the public may see: city problems, not disputes or petitions,
        // whose parties deserve privacy.
        f.case_type = Some("service_event".into());
        let f_category = q.category.clone().unwrap_or_default();
        if !f_category.is_empty() {
            f.category = Some(f_category.clone());
        }
        let f_status = q.status.clone().unwrap_or_default();
        let terminal = safegrid_domain::workflow::terminal_states();
        match f_status.as_str() {
            "open" => f.open_only = true,
            "closed" => f.statuses = vec!["closed".into()],
            _ => {}
        }
        let f_area = q.area.clone().unwrap_or_default();
        if let Ok(code) = safegrid_domain::codes::RegionCode::parse(&f_area) {
            f.region_prefix = Some(code.short().to_string());
        }
        let page = st.store.list_cases(&f, &terminal).await?;
        let mut points = vec![];
        let mut items = vec![];
        for c in page
            .cases
            .iter()
            .filter(|c| !["rejected", "voided", "merged"].contains(&c.status.as_str()))
        {
            let v = case_view(&st, c, None, ctx.lang);
            if let (Some(lat), Some(lon)) = (c.lat, c.lon) {
                let r = |x: f64| (x * 1000.0).round() / 1000.0;
                points.push(serde_json::json!([
                    r(lat),
                    r(lon),
                    !v.terminal,
                    v.category_name
                ]));
            }
            if items.len() < 50 {
                items.push(BoardItem {
                    category_name: v.category_name,
                    status_name: v.status_name,
                    terminal: v.terminal,
                    region_name: v.region_name,
                    created_at: v.created_at,
                });
            }
        }
        let root = st.root_region().await?.unwrap_or_default();
        let areas: Vec<(String, String)> = st
            .store
            .regions(Some(&root), None, false)
            .await?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect();
        let page = BoardPage {
            items,
            total: page.total,
            groups: category_groups(&st, ctx.lang),
            areas,
            f_category,
            f_status,
            f_area,
            points: serde_json::Value::from(points).to_string(),
            ctx: ctx.clone(),
        };
        Ok(ctx.render(&page))
    }
    .await;
    respond(&ctx, r)
}

#[derive(Deserialize)]
struct LangQuery {
    to: Option<String>,
    next: Option<String>,
}

/// The language switch: remembers the choice in a cookie and goes back.
async fn set_lang(WebQuery(q): WebQuery<LangQuery>) -> Response {
    let lang = q.to.as_deref().and_then(Lang::parse).unwrap_or(Lang::Zh);
    let mut r = see_other(&safe_next(q.next.as_deref()));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        super::ctx::LANG_COOKIE,
        lang.cookie_value()
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/", get(report_page))
        .route("/report", post(report_submit))
        .route("/track", get(track_find))
        .route("/track/{code}", get(track_page))
        .route("/track/{code}/rate", post(rate))
        .route("/board", get(board))
        .route("/lang", get(set_lang))
}
