//! Pages of the register of places (场所台账): the list with filters and a map, a place with its
//! edit form (the point picked on the map), a new place; the import page and the downloads are in
//! `web::places_import`. Usable on a grid worker's phone. Everything goes through `app::places`
//! and `app::places_io`, as the API does.

use super::ctx::{Ctx, Page, WebError, WebForm, WebQuery, respond, see_other, urlencode};
use super::i18n::Lang;
use crate::app::error::AppError;
use crate::app::places::{self, ListQuery, PlaceView};
use crate::app::policy::{Perm, allows};
use crate::app::state::SharedState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use safegrid_domain::place::{KINDS, PlaceInput, PlaceStatus, split_tags};
use serde::Deserialize;
use uuid::Uuid;

/// A choice of a select: (code, label, selected).
pub struct Choice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

fn kind_choices(lang: Lang, selected: &str) -> Vec<Choice> {
    KINDS
        .iter()
        .map(|k| Choice {
            code: k.code.into(),
            label: if lang == Lang::En { k.en } else { k.zh }.into(),
            selected: k.code == selected,
        })
        .collect()
}

fn status_choices(lang: Lang, selected: &str) -> Vec<Choice> {
    PlaceStatus::ALL
        .iter()
        .map(|s| Choice {
            code: s.as_str().into(),
            label: if lang == Lang::En { s.en() } else { s.zh() }.into(),
            selected: s.as_str() == selected,
        })
        .collect()
}

/// Field errors of the register's forms: the report form's (`public::FormErrors`), worded with
/// the register's own field labels (`place.err.*`).
pub type Errors = super::public::FormErrors;

trait PlaceErrors {
    fn add_error(&mut self, lang: Lang, e: &AppError);
}

impl PlaceErrors for Errors {
    fn add_error(&mut self, lang: Lang, e: &AppError) {
        let field = e.field.clone().unwrap_or_else(|| "form".into());
        let reason = e
            .message
            .strip_prefix(&format!("{field}: "))
            .unwrap_or(&e.message);
        let label = lang.opt(&format!("place.err.{field}"));
        let msg = match (label.is_empty(), lang) {
            (true, _) => reason.to_string(),
            (false, Lang::Zh) => format!("{label}（{reason}）"),
            (false, Lang::En) => format!("{label}: {reason}"),
        };
        self.add(&field, msg);
    }
}

// ---------------------------------------------------------------- list

#[derive(Deserialize, Default)]
pub(super) struct ListParams {
    kind: Option<String>,
    status: Option<String>,
    grid: Option<String>,
    q: Option<String>,
    after: Option<String>,
}

impl ListParams {
    pub(super) fn query(&self) -> ListQuery {
        ListQuery {
            kind: self.kind.clone(),
            status: self.status.clone(),
            grid: self.grid.clone(),
            q: self.q.clone(),
            after: self.after.clone(),
            limit: Some(50),
            ..Default::default()
        }
    }
    /// The filters as a query string (for the next page and the exports).
    fn href(&self) -> String {
        let mut parts = vec![];
        for (k, v) in [
            ("kind", &self.kind),
            ("status", &self.status),
            ("grid", &self.grid),
            ("q", &self.q),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        }
        parts.join("&")
    }
}

#[derive(Template)]
#[template(path = "places.html")]
struct ListPage {
    ctx: Ctx,
    places: Vec<PlaceView>,
    total: i64,
    kinds: Vec<Choice>,
    statuses: Vec<Choice>,
    grid: String,
    q: String,
    my_grids: Vec<String>,
    filters: String,
    next_href: String,
    may_manage: bool,
    /// The places' points for the map: [lat, lon, closed, name].
    points: String,
    error: String,
}

impl ListPage {
    fn kind_name(&self, p: &PlaceView) -> String {
        p.kind_name.get(self.ctx.lang.data_key()).to_string()
    }
    fn status_name(&self, p: &PlaceView) -> String {
        p.status_name.get(self.ctx.lang.data_key()).to_string()
    }
}

async fn list(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebQuery(p): WebQuery<ListParams>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        if !allows(user.role, Perm::ReadPlaces) {
            return Err(WebError::Forbidden);
        }
        let (page, error) = match places::list(&st, user, &p.query()).await {
            Ok(page) => (page, String::new()),
            Err(e) if e.kind == crate::app::error::ErrorKind::Invalid => {
                let mut errs = Errors::default();
                errs.add_error(ctx.lang, &e);
                let empty = places::PlacePage {
                    places: vec![],
                    total: 0,
                    next_after: None,
                };
                (
                    empty,
                    errs.0.first().map(|(_, m)| m.clone()).unwrap_or_default(),
                )
            }
            Err(e) => return Err(e.into()),
        };
        let filters = p.href();
        let next_href = match page.next_after {
            Some(a) if filters.is_empty() => format!("/work/places?after={a}"),
            Some(a) => format!("/work/places?{filters}&after={a}"),
            None => String::new(),
        };
        let points: Vec<serde_json::Value> = page
            .places
            .iter()
            .filter_map(|x| {
                Some(serde_json::json!([
                    x.lat?,
                    x.lon?,
                    x.status != "active",
                    x.name
                ]))
            })
            .collect();
        let pg = ListPage {
            kinds: kind_choices(ctx.lang, p.kind.as_deref().unwrap_or("")),
            statuses: status_choices(ctx.lang, p.status.as_deref().unwrap_or("")),
            grid: p.grid.clone().unwrap_or_default(),
            q: p.q.clone().unwrap_or_default(),
            my_grids: user.grids.clone(),
            filters,
            next_href,
            may_manage: allows(user.role, Perm::ManagePlaces),
            points: serde_json::to_string(&points).unwrap_or_default(),
            total: page.total,
            places: page.places,
            error,
            ctx: ctx.clone(),
        };
        Ok(ctx.render(&pg))
    }
    .await;
    respond(&ctx, r)
}

// ---------------------------------------------------------------- one place, new place

/// The form's values, kept when it comes back with errors.
#[derive(Deserialize, Default, Clone)]
struct PlaceForm {
    #[serde(default)]
    csrf: String,
    /// The client-generated id of a new place (a double submit registers it once).
    #[serde(default)]
    id: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    grid_code: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    external_ref: String,
    /// On an edit: remove the stored contact (empty contact fields keep it).
    #[serde(default)]
    clear_contact: Option<String>,
}

impl PlaceForm {
    fn of(p: &PlaceView) -> PlaceForm {
        PlaceForm {
            version: p.version.to_string(),
            kind: p.kind.clone(),
            name: p.name.clone(),
            address: p.address.clone(),
            lat: p.lat.map(|v| format!("{v:.6}")).unwrap_or_default(),
            lon: p.lon.map(|v| format!("{v:.6}")).unwrap_or_default(),
            grid_code: p.grid_code.clone().unwrap_or_default(),
            tags: p.tags.join("，"),
            status: p.status.clone(),
            external_ref: p.external_ref.clone().unwrap_or_default(),
            ..Default::default()
        }
    }

    /// A contact field: empty keeps the stored value on an edit (`None`), unless the contact is
    /// to be removed (`Some("")`).
    fn contact(&self, v: &str) -> Option<String> {
        match v.trim() {
            "" if self.clear_contact.is_some() => Some(String::new()),
            "" => None,
            v => Some(v.to_string()),
        }
    }

    /// The input, or the error of a coordinate that is no number.
    fn input(&self) -> Result<PlaceInput, AppError> {
        let num = |s: &str, field: &str| -> Result<Option<f64>, AppError> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse()
                .map(Some)
                .map_err(|_| AppError::invalid(field, "must be a number (decimal degrees)"))
        };
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(PlaceInput {
            kind: self.kind.clone(),
            name: self.name.clone(),
            address: self.address.clone(),
            lat: num(&self.lat, "lat")?,
            lon: num(&self.lon, "lon")?,
            grid_code: opt(&self.grid_code),
            contact_name: self.contact(&self.contact_name),
            contact_phone: self.contact(&self.contact_phone),
            tags: split_tags(&self.tags),
            status: opt(&self.status),
            external_ref: opt(&self.external_ref),
        })
    }
}

#[derive(Template)]
#[template(path = "place.html")]
struct PlacePage {
    ctx: Ctx,
    /// None for a new place.
    place: Option<PlaceView>,
    form: PlaceForm,
    errors: Errors,
    kinds: Vec<Choice>,
    statuses: Vec<Choice>,
    may_edit: bool,
    /// The contact in the clear after a reveal: (name, phone).
    revealed: Option<(String, String)>,
    /// Where the map opens for a new place: the grid worker's place or nothing.
    center: String,
    saved: bool,
}

impl PlacePage {
    fn kind_name(&self, p: &PlaceView) -> String {
        p.kind_name.get(self.ctx.lang.data_key()).to_string()
    }
    fn status_name(&self, p: &PlaceView) -> String {
        p.status_name.get(self.ctx.lang.data_key()).to_string()
    }
    fn point(&self, p: &PlaceView) -> String {
        match (p.lat, p.lon) {
            (Some(la), Some(lo)) => format!("{la:.6}, {lo:.6}"),
            _ => String::new(),
        }
    }
}

struct Show {
    form: Option<PlaceForm>,
    errors: Errors,
    revealed: Option<(String, String)>,
    saved: bool,
}

/// The place's page again with a refusal shown by its field (status change, reveal).
async fn place_refused(
    st: &SharedState,
    ctx: &Ctx,
    id: &str,
    e: &AppError,
) -> Result<Response, WebError> {
    let mut errors = Errors::default();
    errors.add_error(ctx.lang, e);
    let show = Show {
        form: None,
        errors,
        revealed: None,
        saved: false,
    };
    render_place(st, ctx, id, show).await
}

async fn render_place(st: &SharedState, ctx: &Ctx, id: &str, show: Show) -> Page {
    let user = ctx.require_user()?;
    let (place, t) = places::visible(st, user, id).await?;
    let view = PlaceView::of(st, &place, user, &t);
    let mut form = show.form.unwrap_or_else(|| PlaceForm::of(&view));
    form.contact_name.clear();
    form.contact_phone.clear();
    let page = PlacePage {
        kinds: kind_choices(ctx.lang, &form.kind),
        statuses: status_choices(ctx.lang, &form.status),
        may_edit: view.may_edit,
        place: Some(view),
        form,
        errors: show.errors,
        revealed: show.revealed,
        center: String::new(),
        saved: show.saved,
        ctx: ctx.clone(),
    };
    let status = if page.errors.any() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok(ctx.render_status(status, &page))
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    saved: Option<String>,
}

async fn show(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebQuery(q): WebQuery<SavedQuery>,
) -> Response {
    let show = Show {
        form: None,
        errors: Errors::default(),
        revealed: None,
        saved: q.saved.is_some(),
    };
    let r = render_place(&st, &ctx, &id, show).await;
    respond(&ctx, r)
}

async fn new_page(State(st): State<SharedState>, ctx: Ctx) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        if !allows(user.role, Perm::ManagePlaces) {
            return Err(WebError::Forbidden);
        }
        let form = PlaceForm {
            id: Uuid::now_v7().to_string(),
            ..Default::default()
        };
        Ok(new_form(&st, &ctx, form, Errors::default()).await)
    }
    .await;
    respond(&ctx, r)
}

/// The new-place form; the map opens on the grid worker's grid when she has one.
async fn new_form(st: &SharedState, ctx: &Ctx, form: PlaceForm, errors: Errors) -> Response {
    let center = match ctx.user.as_ref().and_then(|u| u.grids.first()) {
        Some(g) => match st.store.grid(g).await {
            Ok(grid) => grid_center(&grid.geometry).unwrap_or_default(),
            Err(_) => String::new(),
        },
        None => String::new(),
    };
    let page = PlacePage {
        kinds: kind_choices(ctx.lang, &form.kind),
        statuses: status_choices(ctx.lang, &form.status),
        may_edit: true,
        place: None,
        form,
        revealed: None,
        center,
        saved: false,
        ctx: ctx.clone(),
        errors,
    };
    let status = if page.errors.any() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    ctx.render_status(status, &page)
}

/// The middle of a grid's bounding box, "lat,lon" (where its map opens).
fn grid_center(geometry: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(geometry).ok()?;
    let mut xs = (f64::MAX, f64::MIN);
    let mut ys = (f64::MAX, f64::MIN);
    fn walk(v: &serde_json::Value, xs: &mut (f64, f64), ys: &mut (f64, f64)) {
        match v.as_array() {
            Some(a) if a.len() >= 2 && a[0].is_number() => {
                let (x, y) = (a[0].as_f64().unwrap_or(0.0), a[1].as_f64().unwrap_or(0.0));
                *xs = (xs.0.min(x), xs.1.max(x));
                *ys = (ys.0.min(y), ys.1.max(y));
            }
            Some(a) => a.iter().for_each(|c| walk(c, xs, ys)),
            None => {}
        }
    }
    walk(&v["coordinates"], &mut xs, &mut ys);
    (xs.0 <= xs.1).then(|| format!("{:.6},{:.6}", (ys.0 + ys.1) / 2.0, (xs.0 + xs.1) / 2.0))
}

async fn create(
    State(st): State<SharedState>,
    ctx: Ctx,
    WebForm(form): WebForm<PlaceForm>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&form.csrf)?;
        if !allows(user.role, Perm::ManagePlaces) {
            return Err(WebError::Forbidden);
        }
        let id = Uuid::parse_str(form.id.trim()).ok();
        let mut errors = Errors::default();
        let created = match form.input() {
            Ok(input) => places::create(&st, user, id, &input, "web", Utc::now()).await,
            Err(e) => Err(e),
        };
        match created {
            Ok((p, _)) => Ok(see_other(&format!("/work/places/{}?saved=1", p.id))),
            Err(e) if e.kind.is_client_error() && e.field.is_some() => {
                errors.add_error(ctx.lang, &e);
                Ok(new_form(&st, &ctx, form, errors).await)
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

async fn edit(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<PlaceForm>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&form.csrf)?;
        let version: i64 = form
            .version
            .trim()
            .parse()
            .map_err(|_| WebError::Invalid("version: must be a number".into()))?;
        let done = match form.input() {
            Ok(input) => places::edit(&st, user, &id, version, &input, "web", Utc::now()).await,
            Err(e) => Err(e),
        };
        match done {
            Ok(p) => Ok(see_other(&format!("/work/places/{}?saved=1", p.id))),
            Err(e) if e.kind.is_client_error() && e.field.is_some() => {
                let mut errors = Errors::default();
                errors.add_error(ctx.lang, &e);
                let show = Show {
                    form: Some(form),
                    errors,
                    revealed: None,
                    saved: false,
                };
                render_place(&st, &ctx, &id, show).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    version: String,
}

async fn set_status(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<StatusForm>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&form.csrf)?;
        let version: i64 = form
            .version
            .trim()
            .parse()
            .map_err(|_| WebError::Invalid("version: must be a number".into()))?;
        match places::set_status(&st, user, &id, version, &form.status, "web", Utc::now()).await {
            Ok(p) => Ok(see_other(&format!("/work/places/{}?saved=1", p.id))),
            Err(e) if e.kind.is_client_error() && e.field.is_some() => {
                place_refused(&st, &ctx, &id, &e).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

#[derive(Deserialize)]
struct RevealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

async fn reveal(
    State(st): State<SharedState>,
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<RevealForm>,
) -> Response {
    let r = async {
        let user = ctx.require_user()?;
        ctx.check_csrf(&form.csrf)?;
        match places::reveal(&st, user, &id, &form.reason, "web").await {
            Ok(p) => {
                let contact = (
                    p.contact_name.unwrap_or_default(),
                    p.contact_phone.unwrap_or_default(),
                );
                render_place(
                    &st,
                    &ctx,
                    &id,
                    Show {
                        form: None,
                        errors: Errors::default(),
                        revealed: Some(contact),
                        saved: false,
                    },
                )
                .await
            }
            Err(e) if e.kind.is_client_error() && e.field.is_some() => {
                place_refused(&st, &ctx, &id, &e).await
            }
            Err(e) => Err(e.into()),
        }
    }
    .await;
    respond(&ctx, r)
}

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/work/places", get(list))
        .route("/work/places/new", get(new_page).post(create))
        .route(
            "/work/addresses/import",
            get(super::places_import::address_import_form)
                .post(super::places_import::address_import),
        )
        .route(
            "/work/places/import",
            get(super::places_import::import_form).post(super::places_import::import),
        )
        .route(
            "/work/places/download/{file}",
            get(super::places_import::export),
        )
        .route("/work/places/{id}", get(show).post(edit))
        .route("/work/places/{id}/status", post(set_status))
        .route("/work/places/{id}/reveal", post(reveal))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_grid_opens_the_map_at_its_middle() {
        let g = r#"{"type":"Polygon","coordinates":[[[120.0,30.0],[120.2,30.0],[120.2,30.4],[120.0,30.0]]]}"#;
        assert_eq!(super::grid_center(g).unwrap(), "30.200000,120.100000");
        assert!(super::grid_center("{}").is_none());
    }
}
