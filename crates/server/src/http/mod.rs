//! The HTTP API under `/api/v1`: each resource module owns its router; this module merges them
//! and adds the cross-cutting layers (body limit, timeout, security headers, JSON 404s).

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod campaigns;
pub mod cases;
pub mod disputes;
pub mod error;
pub mod json;
pub mod meta;
pub mod patrols;
pub mod petitions;
pub mod places;
pub mod privacy;
pub mod schema;

pub mod screenings;
pub mod staffing;
pub mod stats;
pub mod teams;
pub mod territory;
pub mod visits;

use crate::app::auth::csrf_token;
use crate::app::error::AppError;
use crate::app::state::SharedState;
use crate::http_common::SESSION_COOKIE;
use crate::http_common::cookie_value;
use crate::http_common::same_site;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// CSRF (跨站请求伪造) defence for cookie sessions: a state-changing API request that rides on the
/// session cookie must also carry the session's token in `X-CSRF-Token` (bearer tokens are not
/// sent by browsers on their own, so they need none). Login is exempt: there is no session yet.
///
/// Login has no session yet, so it is guarded by where it comes from instead (login CSRF: a
/// foreign page logging the victim's browser into the attacker's account): a browser's
/// `Origin`/`Sec-Fetch-Site` must be this site; and its body must be JSON (`ApiJson` answers
/// 415 otherwise), which a cross-site form cannot send without a preflight.
async fn csrf_guard(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let path = req.uri().path();
    if path == "/api/v1/auth/login" && !safe {
        if !same_site(&st, req.headers()) {
            return AppError::new(
                crate::app::error::ErrorKind::Forbidden,
                "csrf",
                "a login from another site is refused (Origin / Sec-Fetch-Site)",
            )
            .into_response();
        }
        return next.run(req).await;
    }
    if safe || !path.starts_with("/api/") || req.headers().contains_key(header::AUTHORIZATION) {
        return next.run(req).await;
    }
    if let Some(secret) = cookie_value(req.headers(), SESSION_COOKIE) {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if sent != csrf_token(&secret) {
            return AppError::new(
                crate::app::error::ErrorKind::Forbidden,
                "csrf",
                "missing or wrong X-CSRF-Token header (it comes with the login answer and GET /api/v1/auth/me)",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Every route of the API with its description: each module's router is built with
/// `utoipa_axum::routes!` from its handlers' `#[utoipa::path]`, so a handler is mounted and
/// documented by the same line (crates/server/tests/openapi.rs fails on a route mounted otherwise).
pub fn api() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(cases::router())
        .merge(territory::router())
        .merge(stats::router())
        .merge(admin::router())
        .merge(accounts::router())
        .merge(privacy::router())
        .merge(meta::router())
        .merge(disputes::router())
        .merge(petitions::router())
        .merge(places::router())
        .merge(campaigns::router())
        .merge(staffing::router())
        .merge(visits::router())
        .merge(teams::router())
        .merge(patrols::router())
}

/// The API's routes under `/api/v1`, with its own CSRF guard, and their OpenAPI paths.
pub fn router(state: &SharedState) -> (Router<SharedState>, OpenApi) {
    let (router, doc) = api().split_for_parts();
    (
        router.layer(middleware::from_fn_with_state(state.clone(), csrf_guard)),
        doc,
    )
}
