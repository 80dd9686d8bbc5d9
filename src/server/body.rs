//! Request bodies: refused codings, the size limit (from the header when it says), the read timeout.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::ApiError;

/// Refuses a body in a coding we do not decode (`Transfer-Encoding: gzip,
/// chunked`, `Content-Encoding: br`), instead of reading the coded bytes as JSON.
pub async fn refuse_unsupported_codings(req: Request, next: Next) -> Result<Response, ApiError> {
    check_codings(req.headers())?;
    Ok(next.run(req).await)
}

fn check_codings(headers: &HeaderMap) -> Result<(), ApiError> {
    // hyper has already taken `chunked` off the wire; identity is no coding.
    for (name, allowed) in [
        (header::TRANSFER_ENCODING, "chunked"),
        (header::CONTENT_ENCODING, "identity"),
    ] {
        for value in headers.get_all(&name) {
            let value = value.to_str().unwrap_or("\u{fffd}");
            for coding in value.split(',').map(str::trim) {
                if !coding.eq_ignore_ascii_case(allowed) {
                    return Err(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "unsupported_encoding",
                        format!("{name} {coding:?} is not supported: send the body uncompressed"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Reads the whole body: at most `max` bytes, within `timeout` of the head.
/// A `Content-Length` over `max` is refused before a byte of the body is read.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max: usize,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("request body is larger than {max} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let collected = tokio::time::timeout(timeout, Limited::new(body, max).collect())
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "the request body did not arrive within {} ms",
                    timeout.as_millis()
                ),
            )
        })?;
    match collected {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("cannot read the request body: {e}"),
        )),
    }
}
