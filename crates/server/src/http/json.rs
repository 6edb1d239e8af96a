//! A JSON body extractor whose errors name the field: the body is parsed as JSON first (400 when
//! it is not JSON), then mapped onto the request type with the path of the offending field.

use super::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let is_form = ct.starts_with("application/x-www-form-urlencoded");
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(e.status(), "too_large", "request body is too large")
                } else {
                    ApiError::bad_request(
                        Some("body"),
                        format!("cannot read the request body: {e}"),
                    )
                }
            })?;
        parse_body(&bytes, is_form).map(ApiJson)
    }
}

/// Parses a JSON (or form-encoded) body into `T`, naming the field that failed.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8], is_form: bool) -> Result<T, ApiError> {
    let value: serde_json::Value = if is_form {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ApiError::bad_request(Some("body"), "body is not valid UTF-8"))?;
        let map: serde_json::Map<String, serde_json::Value> = text
            .split('&')
            .filter(|kv| !kv.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (form_decode(k), serde_json::Value::String(form_decode(v)))
            })
            .collect();
        serde_json::Value::Object(map)
    } else {
        if bytes.is_empty() {
            return Err(ApiError::bad_request(
                Some("body"),
                "body is empty; send a JSON object",
            ));
        }
        serde_json::from_slice(bytes).map_err(|e| {
            ApiError::bad_request(Some("body"), format!("body is not valid JSON: {e}"))
        })?
    };
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
        ApiError::invalid(field, inner)
    })
}

fn form_decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
