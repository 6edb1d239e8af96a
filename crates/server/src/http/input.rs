//! Rules every input obeys before a handler sees it, for the API and the web pages alike:
//! no NUL character (U+0000) in a path segment or query parameter (PostgreSQL refuses it in
//! text, so it would otherwise surface as a 500 there and pass on SQLite), pages within a
//! maximum and offsets computed without overflow, and bodies over the limit refused with
//! `Connection: close` after the body was read (a socket closed with unread data is reset, and
//! the client loses the answer).

use super::error::ApiError;
use crate::state::SharedState;
use axum::body::Body;
use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The highest page number any list accepts: far beyond any real list, small enough that
/// `(page - 1) * page_size` never overflows.
pub const MAX_PAGE: i64 = 1_000_000;

/// How far over its limit a body is still read (and thrown away) before the 413 answer, so the
/// client receives that answer; a body declared larger still gets the answer at once.
pub const DRAIN_BEYOND_LIMIT: usize = 16 * 1024 * 1024;

/// For an optional query parameter that is no string (`open`, `page`, `children`, …): an empty
/// value (`open=`, as an HTML form sends an untouched field) means the parameter is absent, as
/// the API documents; any other value must parse. Use with `#[serde(default, deserialize_with)]`.
pub fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    use serde::Deserialize;
    match Option::<String>::deserialize(d)?.as_deref() {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("{v:?}: {e}"))),
    }
}

/// The row offset of `page` (1-based) of `page_size` rows, refusing pages outside 1..=MAX_PAGE.
pub fn page_offset(page: i64, page_size: i64) -> Result<i64, ApiError> {
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(ApiError::invalid(
            "page",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    (page - 1)
        .checked_mul(page_size)
        .ok_or_else(|| ApiError::invalid("page", "is too large for this page_size"))
}

/// The reason given for a NUL in any field.
pub const NUL_REASON: &str = "must not contain the NUL character (U+0000)";

/// The first parameter of a form-encoded text (a query string, a form body) whose name or value
/// holds a NUL, by its name (`query` when the name itself holds it).
pub fn nul_param(text: &str) -> Option<String> {
    // `%00` is the only way to write NUL in a URL (the URI grammar has no raw NUL).
    if !text
        .as_bytes()
        .windows(3)
        .any(|w| w.eq_ignore_ascii_case(b"%00"))
        && !text.contains('\0')
    {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).unwrap_or_default();
    Some(
        pairs
            .into_iter()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
            .map(|(k, _)| k)
            .filter(|k| !k.contains('\0'))
            .unwrap_or_else(|| "query".into()),
    )
}

/// The JSON path (`reporter.name`, `parties[1].name`) of the first string holding a NUL, keys
/// included.
pub fn nul_in_json(v: &serde_json::Value) -> Option<String> {
    fn walk(v: &serde_json::Value, path: &mut String) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            serde_json::Value::Object(map) => map.iter().any(|(k, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                if k.contains('\0') {
                    path.push_str(&k.replace('\0', "\\u0000"));
                    return true;
                }
                path.push_str(k);
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(v, &mut path).then(|| {
        if path.is_empty() {
            "body".to_string()
        } else {
            path
        }
    })
}

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
        return ApiError::bad_request(Some(&field), message).into_response();
    }
    let (mut parts, _) = req.into_parts();
    match crate::web::ctx::Ctx::from_request_parts(&mut parts, &st).await {
        Ok(ctx) => crate::web::ctx::unreadable(&ctx, message),
        Err(r) => r,
    }
}

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
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message).into_response();
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

/// Response mapper: a 413 closes the connection and says so (`Connection: close`), wherever it
/// came from, so a client does not reuse a connection the server is about to close.
pub async fn close_after_413(mut r: Response) -> Response {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_are_bounded_and_offsets_never_wrap() {
        assert_eq!(page_offset(1, 50).unwrap(), 0);
        assert_eq!(page_offset(3, 50).unwrap(), 100);
        assert_eq!(page_offset(MAX_PAGE, 5000).unwrap(), (MAX_PAGE - 1) * 5000);
        for bad in [0, -1, MAX_PAGE + 1, 4_611_686_018_427_387_905, i64::MAX] {
            let e = page_offset(bad, 2).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("page"), "{bad}");
        }
        assert_eq!(
            page_offset(MAX_PAGE, i64::MAX)
                .unwrap_err()
                .field
                .as_deref(),
            Some("page")
        );
    }

    #[test]
    fn nul_is_found_and_named_in_queries_and_json() {
        assert_eq!(nul_param("a=1&b=2"), None);
        assert_eq!(nul_param("q=%00").as_deref(), Some("q"));
        assert_eq!(nul_param("status=open&grid=x%00y").as_deref(), Some("grid"));
        assert_eq!(nul_param("a%00=1").as_deref(), Some("query"));
        assert_eq!(nul_in_json(&json!({"a": "x", "n": [1, "y"]})), None);
        assert_eq!(
            nul_in_json(&json!({"reporter": {"name": "张\u{0}"}})).as_deref(),
            Some("reporter.name")
        );
        assert_eq!(
            nul_in_json(&json!({"parties": [{"name": "a"}, {"name": "\u{0}"}]})).as_deref(),
            Some("parties[1].name")
        );
        assert_eq!(nul_in_json(&json!("\u{0}")).as_deref(), Some("body"));
        assert!(nul_in_json(&json!({"k\u{0}": 1})).is_some());
    }
}
