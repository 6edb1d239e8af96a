//! The one error shape of the API: `{"error":{"code","message","field","request_id"}}`. Internal
//! causes are logged (under the request's id); clients get a plain message and never a 500 for
//! bad input.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use safegrid_domain::FieldError;
use safegrid_domain::engine::EngineError;
use safegrid_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub extra: Option<serde_json::Value>,
    /// Seconds for a `Retry-After` header (429 and 503 answers).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            extra: None,
            retry_after: None,
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let field = field.into();
        let reason = reason.into();
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid",
            message: format!("{field}: {reason}"),
            field: Some(field),
            extra: None,
            retry_after: None,
        }
    }

    pub fn bad_request(field: Option<&str>, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
            field: field.map(str::to_string),
            extra: None,
            retry_after: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "log in (POST /api/v1/auth/login) or send a bearer token",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }

    /// The database could not take the work just now (`StoreError::is_busy`): 503, retry.
    pub fn busy(e: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %e, "database busy; asked the client to retry");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database is busy; retry in a moment",
        )
        .with_retry_after(1)
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    pub fn with_extra(mut self, extra: serde_json::Value) -> Self {
        self.extra = Some(extra);
        self
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::invalid(e.field, e.reason)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("record"),
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::Invalid(f) => f.into(),
            busy if busy.is_busy() => ApiError::busy(busy),
            other => ApiError::internal(other),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match &e {
            EngineError::NotAllowed { state, allowed, .. } => {
                ApiError::new(StatusCode::CONFLICT, "action_not_allowed", e.to_string())
                    .with_extra(json!({ "state": state, "allowed_actions": allowed }))
            }
            EngineError::Forbidden { .. } => ApiError::forbidden(e.to_string()),
            EngineError::UnknownAction { known, .. } => {
                let mut err = ApiError::invalid("action", e.to_string());
                err.extra = Some(json!({ "actions": known }));
                err
            }
            EngineError::Invalid(f) => f.clone().into(),
            EngineError::UnknownCaseType(t) => {
                ApiError::invalid("type", format!("unknown case type {t}"))
            }
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        if e.downcast_ref::<StoreError>()
            .is_some_and(StoreError::is_busy)
        {
            return ApiError::busy(format!("{e:#}"));
        }
        ApiError::internal(format!("{e:#}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "request_id": safegrid_store::audit::current_request_id(),
        });
        if let (Some(serde_json::Value::Object(extra)), Some(obj)) =
            (self.extra, body.as_object_mut())
        {
            obj.extend(extra);
        }
        let mut resp = (self.status, axum::Json(json!({ "error": body }))).into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A database that cannot take the work now (a surge filled the pool) is a 503 the client
    /// may retry, on the API and on Open311 alike; other database faults stay 500.
    #[test]
    fn a_busy_database_is_a_retryable_503() {
        let busy = ApiError::from(StoreError::Db(sqlx::Error::PoolTimedOut));
        assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.code, "unavailable");
        assert_eq!(busy.retry_after, Some(1));
        let fail = crate::open311::Fail::from(busy);
        assert_eq!(fail.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(fail.retry_after, Some(1));
        let resp = fail.render(crate::open311::format::Format::Json);
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");

        let resp = ApiError::from(StoreError::Db(sqlx::Error::PoolClosed)).into_response();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");

        // Through anyhow, with context, as service code returns it.
        let wrapped = anyhow::Error::from(StoreError::Db(sqlx::Error::PoolTimedOut)).context("x");
        assert_eq!(
            ApiError::from(wrapped).status,
            StatusCode::SERVICE_UNAVAILABLE
        );

        let fault = ApiError::from(StoreError::Db(sqlx::Error::RowNotFound));
        assert_eq!(fault.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(fault.retry_after, None);
    }
}
