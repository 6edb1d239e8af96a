//! A JSON body extractor whose errors name the field: the content type must be JSON (415
//! otherwise, so a browser's cross-site form or `text/plain` post never reaches a handler), the
//! body is parsed as JSON (400 when it is not), no string in it may hold a NUL (422 naming its
//! path), then it is mapped onto the request type with the path of the offending field.

use crate::app::error::AppError;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

/// Whether a `Content-Type` names JSON: `application/json` or any `application/*+json`,
/// parameters (`; charset=utf-8`) aside.
pub fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json"
        || mime
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(ct) {
            let sent = if ct.is_empty() { "none" } else { ct };
            return Err(AppError {
                field: Some("content-type".into()),
                ..AppError::new(
                    crate::app::error::ErrorKind::UnsupportedMedia,
                    "unsupported_media_type",
                    format!("Content-Type: send the body as application/json (sent: {sent})"),
                )
            });
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::new(
                        crate::app::error::ErrorKind::TooLarge,
                        "too_large",
                        "request body is too large",
                    )
                } else {
                    AppError::bad_request(
                        Some("body"),
                        format!("cannot read the request body: {e}"),
                    )
                }
            })?;
        parse_body(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body into `T`, naming the field that failed.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.is_empty() {
        return Err(AppError::bad_request(
            Some("body"),
            "body is empty; send a JSON object",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| AppError::bad_request(Some("body"), format!("body is not valid JSON: {e}")))?;
    // Every body the API reads is an object: serde would also fill a struct from an array of
    // its fields in order (`[null, null]`), which no client means (found by the schema fuzzer).
    if !value.is_object() {
        return Err(AppError::invalid("body", "must be a JSON object"));
    }
    // PostgreSQL cannot store NUL in text: refused here for every field, on both databases.
    if let Some(field) = crate::app::input::nul_in_json(&value) {
        return Err(AppError::invalid(field, crate::app::input::NUL_REASON));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde says "missing field `x`" at the parent's path: name the field itself.
        let field = match inner
            .strip_prefix("missing field `")
            .and_then(|s| s.split('`').next())
        {
            Some(f) if path == "." => f.to_string(),
            Some(f) => format!("{path}.{f}"),
            None => path,
        };
        AppError::invalid(field, inner)
    })
}
