//! Request ids: every request gets one (`X-Request-Id`), its log lines carry it in their span and
//! its answer echoes it (header, and the body of an error), so a complaint quoting it is found in
//! the log. A client's own id is kept only if it is a short plain token: anything else could
//! forge log lines or smuggle markup into an error page.

use axum::extract::Request;
use axum::http::HeaderName;
use tower_http::request_id::RequestId;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id accepted from a client.
const MAX_LEN: usize = 64;

/// A client's id is kept when it is 1–64 characters of `A-Z a-z 0-9 . _ -`.
pub fn is_safe(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Drops an unsafe incoming id (and any second one) before `SetRequestIdLayer`, which then makes
/// a new one: that layer keeps whatever the client sent.
pub async fn drop_unsafe(mut req: Request) -> Request {
    let mut sent = req.headers().get_all(&HEADER).iter();
    let keep = matches!((sent.next(), sent.next()), (Some(v), None) if is_safe(v.as_bytes()));
    if !keep {
        req.headers_mut().remove(&HEADER);
    }
    req
}

/// The id `SetRequestIdLayer` gave the request.
pub fn of(req: &Request) -> Option<String> {
    req.extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .map(str::to_string)
}

/// The span every line logged during the request sits in: method, path without the query string
/// (searches carry names and phone numbers) and the id.
pub fn span(req: &Request) -> tracing::Span {
    let id = of(req);
    tracing::info_span!(
        "request",
        id = %id.as_deref().unwrap_or("-"),
        method = %req.method(),
        path = %loggable_path(req.uri().path()),
    )
}

/// The path with tracking codes (查询码, the resident's secret: whoever has one reads the case)
/// left out.
fn loggable_path(path: &str) -> String {
    let mut out = Vec::new();
    let mut after_track = false;
    for seg in path.split('/') {
        out.push(if after_track { "{code}" } else { seg });
        after_track = seg == "track";
    }
    out.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_ids_are_short_plain_tokens() {
        assert!(is_safe(b"a1B2.c3_d4-e5"));
        assert!(is_safe("x".repeat(64).as_bytes()));
        assert!(!is_safe("x".repeat(65).as_bytes()));
        assert!(!is_safe(b""));
        assert!(!is_safe(b"a b"));
        assert!(!is_safe(b"<script>"));
        assert!(!is_safe("编号".as_bytes()));
        assert!(!is_safe(b"a\"b"));
    }

    #[test]
    fn tracking_codes_stay_out_of_the_log() {
        assert_eq!(
            loggable_path("/api/v1/track/ABCD-1234/erase"),
            "/api/v1/track/{code}/erase"
        );
        assert_eq!(loggable_path("/track/ABCD-1234"), "/track/{code}");
        assert_eq!(loggable_path("/track"), "/track");
        assert_eq!(loggable_path("/api/v1/cases"), "/api/v1/cases");
    }
}
