//! Request ids: every request gets one (`X-Request-Id`), its log lines carry it in their span and
//! its answer echoes it (header, and the body of an error), so a complaint quoting it is found in
//! the log. A client's own id is kept only if it is a short plain token: anything else could
//! forge log lines or smuggle markup into an error page.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use std::borrow::Cow;

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

/// The request's id: the client's one `X-Request-Id` if it is safe, else a new random UUID
/// (drawn from the thread's generator, not the kernel: one system call per request showed in
/// the per-request cost).
pub fn of_request(headers: &HeaderMap) -> HeaderValue {
    let mut sent = headers.get_all(&HEADER).iter();
    match (sent.next(), sent.next()) {
        (Some(v), None) if is_safe(v.as_bytes()) => v.clone(),
        _ => {
            let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
            let mut buf = uuid::Uuid::encode_buffer();
            HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
                .expect("a UUID is a valid header value")
        }
    }
}

/// The span every line logged during the request sits in: the id, the method and the path
/// without the query string (searches carry names and phone numbers).
pub fn span(id: &str, method: &str, path: &str) -> tracing::Span {
    tracing::info_span!(
        "request",
        id = %id,
        method = %method,
        path = %loggable_path(path),
    )
}

/// The path with tracking codes (查询码, the resident's secret: whoever has one reads the case)
/// left out; borrowed unless there is one to leave out.
fn loggable_path(path: &str) -> Cow<'_, str> {
    if !path.contains("/track/") {
        return Cow::Borrowed(path);
    }
    let mut out = Vec::new();
    let mut after_track = false;
    for seg in path.split('/') {
        out.push(if after_track { "{code}" } else { seg });
        after_track = seg == "track";
    }
    Cow::Owned(out.join("/"))
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
