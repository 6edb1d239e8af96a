//! The web interface (网页端): server-rendered pages for residents, grid workers, the command
//! center, departments, leaders and administrators. Pages call the same service and domain
//! functions as the JSON API (`AppState::create_case` / `act`, `engine::allowed_actions`,
//! `app::scope::{in_scope, scope_filter}`, `app::view::CaseView`), so no rule lives here twice.
//!
//! Conventions the hardening work relies on: the session cookie `safegrid_session`; every
//! state-changing form carries `csrf` (= `auth::csrf_token(session)`, or for public forms the same
//! derivation from the short-lived `safegrid_csrf` cookie); no inline script or style (CSP
//! `default-src 'self'`); everything escaped by askama.

pub mod account;
pub mod admin;
pub mod assets;
pub mod campaigns;
pub mod ctx;
pub mod dashboard;
pub mod geo;
pub mod i18n;
pub mod offline;
pub mod photos;
pub mod places;
pub mod places_import;
pub mod public;
pub mod staff;
pub mod staffing;
pub mod teams;
pub mod view;
pub mod visits;

use crate::app::state::SharedState;
use axum::Router;
use axum::extract::DefaultBodyLimit;

/// Largest request a page accepts: a form with a few photos (each at most
/// [`photos::MAX_PHOTO_BYTES`]). Applies to the web routes only; the JSON API keeps its own limit.
pub const UPLOAD_LIMIT_BYTES: usize =
    photos::MAX_PHOTOS * photos::MAX_PHOTO_BYTES + 2 * 1024 * 1024;

pub fn router() -> Router<SharedState> {
    Router::new()
        .merge(assets::router())
        .merge(public::router())
        .merge(staff::router())
        .merge(account::router())
        .merge(dashboard::router())
        .merge(admin::router())
        .merge(photos::router())
        .merge(places::router())
        .merge(geo::router())
        .merge(campaigns::router())
        .merge(offline::router())
        .merge(staffing::router())
        .merge(visits::router())
        .merge(teams::router())
        // A declared length over it is refused by `routes::limit_body` (see `routes::app`).
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT_BYTES))
}

/// The page for an unknown path, in the person's language.
pub async fn not_found_page(
    st: SharedState,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::extract::FromRequestParts;
    let (mut parts, _) = req.into_parts();
    match ctx::Ctx::from_request_parts(&mut parts, &st).await {
        Ok(c) => ctx::WebError::NotFound.into_page(&c),
        Err(r) => r,
    }
}
