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

/// hyper answers a request it cannot parse (bad request line, header or
/// `Content-Length`, a URI or head too long) itself, with an empty body, and
/// closes the connection. When `written` is such an answer (a complete 4xx
/// head with `content-length: 0` and nothing after it: ours always carry a
/// JSON body), returns the same status in the service's JSON shape.
pub fn json_for_bodiless_answer(written: &[u8]) -> Option<Vec<u8>> {
    let rest = written
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| written.strip_prefix(b"HTTP/1.0 "))?;
    let status: u16 = std::str::from_utf8(rest.get(..3)?).ok()?.parse().ok()?;
    let status = StatusCode::from_u16(status).ok()?;
    if !status.is_client_error() || !written.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = String::from_utf8_lossy(written).to_ascii_lowercase();
    if head.matches("\r\n\r\n").count() != 1 || !head.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let (code, message) = match status {
        StatusCode::URI_TOO_LONG => ("uri_too_long", "the request URI is too long"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            "headers_too_large",
            "the request head is too large (too many or too long headers)",
        ),
        _ => (
            "bad_request",
            "the request is not valid HTTP/1.1 (request line, a header, Content-Length or \
             Transfer-Encoding)",
        ),
    };
    tracing::warn!(status = status.as_u16(), code, "unparsable request refused");
    let body = json!({ "error": code, "message": message }).to_string();
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        status.as_u16(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body.as_bytes());
    Some(out)
}
