//! The HTTP API under `/api/v1`: each resource module owns its router; this module merges them
//! and adds the cross-cutting layers (body limit, timeout, security headers, JSON 404s).

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod cases;
pub mod disputes;
pub mod error;
pub mod input;
pub mod json;
pub mod meta;
pub mod petitions;
pub mod policy;
pub mod privacy;
pub mod request_id;
pub mod screenings;
pub mod stats;
pub mod territory;
pub mod tokens;

use crate::state::SharedState;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, Utc};
use safegrid_store::audit::{REQUEST, RequestContext};
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Times go out in Asia/Shanghai (+08:00), stored in UTC.
pub fn local_time(t: DateTime<Utc>) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    t.with_timezone(&cst)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

pub fn opt_local_time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(local_time)
}

async fn not_found(
    axum::extract::State(st): axum::extract::State<SharedState>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // Browsers asking for a page get the web interface's page in their language.
    if !req.uri().path().starts_with("/api/") {
        return crate::web::not_found_page(st, req).await;
    }
    error::ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /api/v1/openapi.json",
    )
    .into_response()
}

/// The client address: the peer, or with `trust_proxy` the address the reverse proxy reports.
pub fn client_ip(st: &SharedState, req: &Request) -> Option<String> {
    if st.settings.trust_proxy {
        let fwd = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        if fwd.is_some() {
            return fwd;
        }
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

/// Puts the client address (audit entries) and the request id (error answers) where storage
/// and the error renderers can read them, for the whole request.
async fn request_context(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    let ctx = RequestContext {
        ip: client_ip(&st, &req),
        request_id: request_id::of(&req),
    };
    REQUEST.scope(ctx, next.run(req)).await
}

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
        if !auth::same_site(&st, req.headers()) {
            return error::ApiError::new(
                StatusCode::FORBIDDEN,
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
    if let Some(secret) = auth::cookie_value(req.headers(), auth::SESSION_COOKIE) {
        let sent = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if sent != auth::csrf_token(&secret) {
            return error::ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "missing or wrong X-CSRF-Token header (it comes with the login answer and GET /api/v1/auth/me)",
            )
            .into_response();
        }
    }
    next.run(req).await
}

pub fn app(state: SharedState) -> Router {
    let limit = state.settings.body_limit_bytes;
    let timeout = Duration::from_secs(state.settings.request_timeout_seconds);
    Router::new()
        .merge(auth::router())
        .merge(cases::router())
        .merge(territory::router())
        .merge(stats::router())
        .merge(admin::router())
        .merge(accounts::router())
        .merge(privacy::router())
        .merge(meta::router())
        .merge(crate::open311::router(state.clone()))
        .merge(disputes::router())
        .merge(petitions::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), csrf_guard))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            (state.clone(), limit),
            input::limit_body,
        ))
        // The web pages after the API's body limit: photo uploads have their own (web::UPLOAD_LIMIT_BYTES).
        .merge(crate::web::router().layer(middleware::from_fn_with_state(
            (state.clone(), crate::web::UPLOAD_LIMIT_BYTES),
            input::limit_body,
        )))
        // After routing (each route is wrapped), so path parameters are known by name.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            input::refuse_nul,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=(self)"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(middleware::map_response(input::close_after_413))
        // Outermost, so that every answer (a 413 or a NUL's 400 too) quotes the request's id:
        // a client's safe id or a new UUID, in a span around the request, echoed in the header.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_context,
        ))
        .layer(PropagateRequestIdLayer::new(request_id::HEADER))
        .layer(TraceLayer::new_for_http().make_span_with(request_id::span))
        .layer(SetRequestIdLayer::new(request_id::HEADER, MakeRequestUuid))
        .layer(middleware::map_request(request_id::drop_unsafe))
        .with_state(state)
}
