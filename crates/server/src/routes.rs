//! The composition root: the faces' routers (the API, Open311, the web pages) under one server,
//! with the layers they share — the request context, body limits, the NUL rule, timeouts,
//! security headers. The one place that knows every face, so that no face knows another: a
//! refusal made here is answered in the words of the face the request was for.
//!
//! Input rules applied here before any handler: no NUL character (U+0000) in a path segment or
//! query parameter (`app::input`), and bodies over the limit refused with `Connection: close` after
//! the body was read (a socket closed with unread data is reset, and the client loses the answer).

use crate::app::error::AppError;
use crate::app::input::{NUL_REASON, nul_param};
use crate::app::state::SharedState;
use crate::http_common::{
    DRAIN_BEYOND_LIMIT, close_after_413, declared_length, drain, request_context,
};
use axum::Router;
use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

/// The field of this request's path or query that holds a NUL: a path parameter by its route
/// name (`code`, `id`), another path segment as `path`, a query parameter by its name.
fn nul_field(req: &Request, params: Option<&RawPathParams>) -> Option<String> {
    if let Some(params) = params
        && let Some((name, _)) = params.iter().find(|(_, v)| v.contains('\0'))
    {
        return Some(name.to_string());
    }
    let path = req.uri().path();
    if path
        .as_bytes()
        .windows(3)
        .any(|w| w.eq_ignore_ascii_case(b"%00"))
    {
        return Some("path".into());
    }
    req.uri().query().and_then(nul_param)
}

/// Middleware: a NUL in a path segment or query parameter is a 400 naming it — a JSON error
/// under `/api/`, a page elsewhere. Open311 checks its own (answers in its own format).
pub async fn refuse_nul(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with(crate::open311::BASE) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let params = RawPathParams::from_request_parts(&mut parts, &st)
        .await
        .ok();
    let req = Request::from_parts(parts, body);
    let Some(field) = nul_field(&req, params.as_ref()) else {
        return next.run(req).await;
    };
    let message = format!("{field}: {NUL_REASON}");
    if req.uri().path().starts_with("/api/") {
        return AppError::bad_request(Some(&field), message).into_response();
    }
    let (mut parts, _) = req.into_parts();
    match crate::web::ctx::Ctx::from_request_parts(&mut parts, &st).await {
        Ok(ctx) => crate::web::ctx::unreadable(&ctx, message),
        Err(r) => r,
    }
}

/// Middleware for a body limit (`limit`): a body declared larger is read and dropped (when at
/// most [`DRAIN_BEYOND_LIMIT`] over) and refused with 413; bodies without a declared length
/// are limited by `DefaultBodyLimit` where they are read.
pub async fn limit_body(
    State((st, limit)): State<(SharedState, usize)>,
    req: Request,
    next: Next,
) -> Response {
    // Open311 has a smaller limit of its own, refused in its own format (`open311::guard`).
    let open311 = req.uri().path().starts_with(crate::open311::BASE);
    let Some(declared) = declared_length(&req).filter(|n| *n > limit && !open311) else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    if declared <= limit.saturating_add(DRAIN_BEYOND_LIMIT) {
        drain(body, declared).await;
    }
    let message = format!("the request body is larger than {limit} bytes");
    if parts.uri.path().starts_with("/api/") {
        return AppError::new(crate::app::error::ErrorKind::TooLarge, "too_large", message)
            .into_response();
    }
    match crate::web::ctx::Ctx::from_request_parts(&mut parts, &st).await {
        Ok(ctx) => {
            let mut r = crate::web::ctx::unreadable(&ctx, message);
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            r
        }
        Err(r) => r,
    }
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
    crate::app::error::AppError::new(
        crate::app::error::ErrorKind::NotFound,
        "not_found",
        "no such endpoint; see /api/v1/openapi.json",
    )
    .into_response()
}

/// The OpenAPI document of the API and Open311, generated from the handlers the faces mount.
pub fn openapi() -> serde_json::Value {
    let mut parts = crate::http::api().split_for_parts().1;
    parts.merge(crate::open311::api().split_for_parts().1);
    finish_openapi(parts)
}

fn finish_openapi(parts: utoipa::openapi::OpenApi) -> serde_json::Value {
    let mut doc = crate::http::meta::document(parts);
    crate::open311::document_errors(&mut doc);
    doc
}

pub fn app(state: SharedState) -> Router {
    let limit = state.settings.body_limit_bytes;
    let timeout = Duration::from_secs(state.settings.request_timeout_seconds);
    let (api, mut parts) = crate::http::router(&state);
    let (open311, open311_parts) = crate::open311::router(state.clone());
    parts.merge(open311_parts);
    let doc = crate::http::meta::Document(std::sync::Arc::new(finish_openapi(parts)));
    Router::new()
        .merge(api)
        .merge(open311)
        .layer(axum::Extension(doc))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            (state.clone(), limit),
            limit_body,
        ))
        // The web pages after the API's body limit: photo uploads have their own (web::UPLOAD_LIMIT_BYTES).
        .merge(crate::web::router().layer(middleware::from_fn_with_state(
            (state.clone(), crate::web::UPLOAD_LIMIT_BYTES),
            limit_body,
        )))
        // After routing (each route is wrapped), so path parameters are known by name.
        .layer(middleware::from_fn_with_state(state.clone(), refuse_nul))
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
            content_security_policy(&state.settings.tile_url),
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
        .layer(middleware::map_response(close_after_413))
        // Outermost, so that every answer (a 413 or a NUL's 400 too) quotes the request's id:
        // a client's safe id or a new UUID, in a span around the request, echoed in the header.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_context,
        ))
        .with_state(state)
}

/// `default-src 'self'`, and where a tile service is configured (`tile_url`) its origin for
/// images (the map) and fetches (the service worker keeping tiles for offline use).
fn content_security_policy(tile_url: &str) -> HeaderValue {
    const STRICT: &str = "default-src 'self'; frame-ancestors 'none'";
    let origin: String = tile_url
        .splitn(4, '/')
        .take(3)
        .collect::<Vec<_>>()
        .join("/");
    if tile_url.is_empty() || origin.len() < 10 {
        return HeaderValue::from_static(STRICT);
    }
    // `{s}` (a subdomain letter) becomes a wildcard; other placeholders sit in the path.
    let origin = origin.replace("{s}", "*");
    HeaderValue::from_str(&format!(
        "default-src 'self'; img-src 'self' data: {origin}; connect-src 'self' {origin}; frame-ancestors 'none'"
    ))
    .unwrap_or(HeaderValue::from_static(STRICT))
}
