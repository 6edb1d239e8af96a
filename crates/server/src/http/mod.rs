//! The HTTP API under `/api/v1`: each resource module owns its router; this module merges them
//! and adds the cross-cutting layers (body limit, timeout, security headers, JSON 404s).

pub mod admin;
pub mod auth;
pub mod cases;
pub mod disputes;
pub mod error;
pub mod json;
pub mod meta;
pub mod petitions;
pub mod screenings;
pub mod stats;
pub mod territory;

use crate::state::SharedState;
use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use chrono::{DateTime, FixedOffset, Utc};
use std::time::Duration;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

/// Times go out in Asia/Shanghai (+08:00), stored in UTC.
pub fn local_time(t: DateTime<Utc>) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    t.with_timezone(&cst)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

pub fn opt_local_time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(local_time)
}

async fn not_found() -> error::ApiError {
    error::ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /api/v1/openapi.json",
    )
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
        .merge(meta::router())
        .merge(disputes::router())
        .merge(petitions::router())
        .fallback(not_found)
        .layer(RequestBodyLimitLayer::new(limit))
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
        .with_state(state)
}
