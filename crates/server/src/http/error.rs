//! The API's answer for an application error: `{"error":{"code","message","field","request_id"}}`
//! with the status code its kind maps to. Internal causes are logged (under the request's id);
//! clients get a plain message and never a 500 for bad input.

use crate::app::error::{AppError, ErrorKind};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa::ToSchema;

/// The error envelope every API error is answered with (`IntoResponse for AppError` below).
#[derive(ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// One error: a stable `code`, a message for people, the field it is about.
#[derive(ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`invalid`, `not_found`, `conflict`, `unauthorized`, …).
    pub code: String,
    pub message: String,
    /// The field (body path, query parameter or header) the error is about.
    pub field: Option<String>,
    /// The X-Request-Id of this answer; the server's log lines for the request carry it.
    pub request_id: Option<String>,
    /// With a 409: the actions the case allows in its state.
    pub allowed_actions: Option<Vec<String>>,
    /// With a 409: the case's state.
    pub state: Option<String>,
    /// With a 409 on a version conflict: the case's current version.
    pub version: Option<i64>,
    /// With an import refused: every problem found in the file.
    #[schema(value_type = Option<Vec<Object>>)]
    pub problems: Option<Vec<serde_json::Value>>,
    /// With a 429: seconds to wait (also in `Retry-After`).
    pub retry_after_seconds: Option<i64>,
}

/// The status code of an error kind, for every HTTP face (the API, Open311, the pages).
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::TooMany => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The API's answer to an application error (the application layer knows nothing of HTTP; this
/// face says what its kinds are in HTTP).
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let e = self;
        let mut body = json!({
            "code": e.code,
            "message": e.message,
            "field": e.field,
            "request_id": safegrid_store::audit::current_request_id(),
        });
        if let (Some(serde_json::Value::Object(extra)), Some(obj)) = (e.extra, body.as_object_mut())
        {
            obj.extend(extra);
        }
        let mut resp = (status_of(e.kind), axum::Json(json!({ "error": body }))).into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = e.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safegrid_store::StoreError;

    /// Busy is a 503 with `Retry-After` (Open311 answers the same: its own test); other faults stay 500.
    #[test]
    fn a_busy_database_is_a_retryable_503() {
        let resp = AppError::from(StoreError::Db(sqlx::Error::PoolClosed)).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        let resp = AppError::from(StoreError::Db(sqlx::Error::RowNotFound)).into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
