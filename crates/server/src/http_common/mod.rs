//! HTTP plumbing the faces share (the API, the pages, Open311): cookies, the session cookie, where a
//! request comes from, reading and refusing bodies. It is no face and imports none; the rules it
//! serves live in the application layer.

pub mod openapi;
pub mod request_id;

use crate::app::state::SharedState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use safegrid_store::audit::{REQUEST, RequestContext};
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "safegrid_session";

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The session cookie for a new session (`Secure` behind a TLS-terminating proxy).
pub fn session_cookie(st: &SharedState, headers: &HeaderMap, secret: &str) -> String {
    // Served over HTTPS by safegrid itself (tls.rs), or behind a proxy that says so.
    let secure = crate::tls::enabled(&st.settings)
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        st.settings.session_absolute_hours * 3600,
        if secure { "; Secure" } else { "" }
    )
}

/// Whether a request comes from this site (login CSRF, 登录跨站伪造): a browser's
/// `Sec-Fetch-Site` must say same-origin (or none: typed by the person), and an `Origin` must
/// name the host the request was sent to. Clients that send neither (scripts, machines) pass;
/// they cannot carry a victim's browser along.
pub fn same_site(st: &SharedState, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        if !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none")) {
            return false;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let origin = origin.to_str().unwrap_or("");
    let Some((_, host)) = origin.split_once("://") else {
        return false;
    };
    let host = host.trim_end_matches('/');
    let mut hosts = vec![headers.get(header::HOST)];
    if st.settings.trust_proxy {
        hosts.push(headers.get("x-forwarded-host"));
    }
    hosts
        .into_iter()
        .flatten()
        .filter_map(|h| h.to_str().ok())
        .any(|h| h.eq_ignore_ascii_case(host))
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

/// Middleware, outermost: gives the request its id (`request_id::of_request`), puts the client
/// address (audit entries) and the id (error answers) where storage and the error renderers read
/// them, runs the request inside a span carrying the id (every line it logs quotes it), logs a
/// server error at ERROR, and echoes the id in the answer's `X-Request-Id`. One middleware rather
/// than a stack of tower layers: each layer cost allocations on every request.
pub async fn request_context(State(st): State<SharedState>, req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let id = request_id::of_request(req.headers());
    let id_text = id.to_str().unwrap_or("-").to_string();
    let span = request_id::span(&id_text, req.method().as_str(), req.uri().path());
    let ctx = RequestContext {
        ip: client_ip(&st, &req),
        request_id: Some(id_text),
    };
    let started = std::time::Instant::now();
    // The route's template, not its path (a series per case id would grow without end); read
    // only while metrics are on.
    let route = crate::app::metrics::enabled().then(|| {
        (
            req.extensions()
                .get::<axum::extract::MatchedPath>()
                .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string()),
            req.method().clone(),
        )
    });
    // At DEBUG (`SAFEGRID_LOG=info,safegrid::request=debug`), every request's start and end;
    // off by default, where they cost a level check.
    span.in_scope(|| tracing::debug!(target: "safegrid::request", "started"));
    let mut response = REQUEST
        .scope(ctx, next.run(req))
        .instrument(span.clone())
        .await;
    let status = response.status();
    let ms = started.elapsed().as_millis() as u64;
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!(target: "safegrid::request", status = status.as_u16(), ms, "request failed");
        } else {
            tracing::debug!(target: "safegrid::request", status = status.as_u16(), ms, "finished");
        }
    });
    if let Some((route, method)) = route {
        crate::app::metrics::request(
            &route,
            method.as_str(),
            status.as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    response.headers_mut().insert(request_id::HEADER, id);
    response
}

/// How far over its limit a body is still read (and thrown away) before the 413 answer, so the
/// client receives that answer; a body declared larger still gets the answer at once.
pub const DRAIN_BEYOND_LIMIT: usize = 16 * 1024 * 1024;

/// The length a request declares, if any.
pub fn declared_length(req: &Request) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Reads and discards a body of at most `max` bytes (an oversized one about to be refused), so
/// the refusal reaches a client still sending; stops at the first error or past `max`.
pub async fn drain(body: Body, max: usize) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                seen += f.data_ref().map_or(0, |d| d.len());
                if seen > max {
                    break;
                }
            }
            Err(_) => break,
        }
    }
}

/// Response mapper: a 413 closes the connection and says so (`Connection: close`), wherever it
/// came from, so a client does not reuse a connection the server is about to close.
pub async fn close_after_413(mut r: Response) -> Response {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}
