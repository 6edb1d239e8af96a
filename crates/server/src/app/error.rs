//! The application layer's error: what went wrong, in terms of the use case (a field is invalid,
//! the thing is not found or not the caller's to see, a conflict, too many requests, the database
//! busy). Each face maps it to its own answer: the API's JSON envelope, Open311's errors array, a
//! web page. Internal causes are logged here; callers get a plain message and never a fault for
//! bad input.

use safegrid_domain::FieldError;
use safegrid_domain::engine::EngineError;
use safegrid_store::StoreError;
use serde_json::json;

/// What kind of failure an [`AppError`] is; a face chooses its answer from it (the API's status
/// code, a page's wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request could not be read at all (malformed, a NUL character, a page out of range).
    BadRequest,
    /// A field is wrong; `field` names it.
    Invalid,
    /// No identity where one is needed.
    Unauthorized,
    /// The caller's role may not do this.
    Forbidden,
    /// Missing, or outside the caller's scope (the same answer, so nobody learns it exists).
    NotFound,
    /// The state does not allow it now (a version moved on, an action not allowed in this state).
    Conflict,
    /// The body is larger than allowed.
    TooLarge,
    /// The body is not of the type the use case reads.
    UnsupportedMedia,
    /// Too many requests from this caller; `retry_after` says when to try again.
    TooMany,
    /// The database cannot take the work just now; retry.
    Unavailable,
    /// A fault of ours, logged.
    Internal,
}

impl ErrorKind {
    /// Whether the caller can mend it by asking differently (as opposed to busy or a fault).
    pub fn is_client_error(self) -> bool {
        !matches!(self, ErrorKind::Unavailable | ErrorKind::Internal)
    }
}

#[derive(Debug)]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub extra: Option<serde_json::Value>,
    /// Seconds for a `Retry-After` header (429 and 503 answers).
    pub retry_after: Option<u64>,
}

/// As the CLI prints it: the field, then the reason.
impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for AppError {}

impl AppError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            kind,
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
        AppError {
            kind: ErrorKind::Invalid,
            code: "invalid",
            message: format!("{field}: {reason}"),
            field: Some(field),
            extra: None,
            retry_after: None,
        }
    }

    pub fn bad_request(field: Option<&str>, message: impl Into<String>) -> Self {
        AppError {
            kind: ErrorKind::BadRequest,
            code: "bad_request",
            message: message.into(),
            field: field.map(str::to_string),
            extra: None,
            retry_after: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorKind::Unauthorized,
            "unauthorized",
            "log in (POST /api/v1/auth/login) or send a bearer token",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", message)
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(
            ErrorKind::Internal,
            "internal",
            "internal error; it has been logged",
        )
    }

    /// The database could not take the work just now (`StoreError::is_busy`): 503, retry.
    pub fn busy(e: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %e, "database busy; asked the client to retry");
        Self::new(
            ErrorKind::Unavailable,
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

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::invalid(e.field, e.reason)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::not_found("record"),
            StoreError::Conflict(m) => AppError::new(ErrorKind::Conflict, "conflict", m),
            StoreError::Invalid(f) => f.into(),
            busy if busy.is_busy() => AppError::busy(busy),
            other => AppError::internal(other),
        }
    }
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        match &e {
            EngineError::NotAllowed { state, allowed, .. } => {
                AppError::new(ErrorKind::Conflict, "action_not_allowed", e.to_string())
                    .with_extra(json!({ "state": state, "allowed_actions": allowed }))
            }
            EngineError::Forbidden { .. } => AppError::forbidden(e.to_string()),
            EngineError::UnknownAction { known, .. } => {
                let mut err = AppError::invalid("action", e.to_string());
                err.extra = Some(json!({ "actions": known }));
                err
            }
            EngineError::Invalid(f) => f.clone().into(),
            EngineError::UnknownCaseType(t) => {
                AppError::invalid("type", format!("unknown case type {t}"))
            }
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        if e.downcast_ref::<StoreError>()
            .is_some_and(StoreError::is_busy)
        {
            return AppError::busy(format!("{e:#}"));
        }
        AppError::internal(format!("{e:#}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A database that cannot take the work now (a surge filled the pool) is a busy error the
    /// client may retry; other database faults stay internal.
    #[test]
    fn a_busy_database_is_retryable() {
        let busy = AppError::from(StoreError::Db(sqlx::Error::PoolTimedOut));
        assert_eq!(
            (busy.kind, busy.code, busy.retry_after),
            (ErrorKind::Unavailable, "unavailable", Some(1))
        );
        let closed = AppError::from(StoreError::Db(sqlx::Error::PoolClosed));
        assert_eq!(closed.kind, ErrorKind::Unavailable);
        // Through anyhow, with context, as service code returns it.
        let wrapped = anyhow::Error::from(StoreError::Db(sqlx::Error::PoolTimedOut)).context("x");
        assert_eq!(AppError::from(wrapped).kind, ErrorKind::Unavailable);
        let fault = AppError::from(StoreError::Db(sqlx::Error::RowNotFound));
        assert_eq!((fault.kind, fault.retry_after), (ErrorKind::Internal, None));
    }
}
