//! JSON error responses. Callers get a code and a plain message; internals go to the log only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// Log the real error, tell the caller only that something failed on our side.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error while handling a request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the message was not stored, please retry",
        )
    }

    /// Storage cannot take work now: 503 with the reason, so the platform retries later.
    pub fn unavailable(why: &crate::disk::Unhealthy) -> Self {
        tracing::warn!(reason = %why, "message refused: storage unavailable");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, why.code(), why.to_string())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_client_error() {
            tracing::warn!(status = self.status.as_u16(), code = self.code, message = %self.message, "request refused");
        }
        (
            self.status,
            Json(json!({ "error": self.code, "message": self.message })),
        )
            .into_response()
    }
}
