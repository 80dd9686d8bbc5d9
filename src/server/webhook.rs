//! `/webhook/{platform}`: verify → parse → dedupe → classify or command → store → flush → answer.

use std::collections::HashMap;

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;
use crate::platform::{Parsed, RawRequest, WebhookResponse};

pub async fn webhook(
    State(state): State<AppState>,
    Path(platform): Path<String>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> Result<Response, ApiError> {
    let service = &state.service;
    let Some(adapter) = service.adapter(&platform) else {
        return Err(ApiError::not_found(format!(
            "unknown or disabled platform {platform:?}"
        )));
    };
    // A GET is only ever a platform's URL check: its body is never read,
    // and whatever it parses to other than the check is refused below.
    let is_get = method == Method::GET;
    if is_get && !adapter.verifies_by_get() {
        return Err(get_refused(&platform));
    }
    let body = if is_get {
        Bytes::new()
    } else {
        let server = &service.config().server;
        let timeout = Duration::from_millis(server.body_read_timeout_ms.max(1));
        super::body::read_body(&headers, body, server.max_body_bytes, timeout).await?
    };
    let raw = RawRequest {
        method,
        headers,
        query,
        body,
    };
    // Replay windows compare the platform's timestamp with the real time,
    // not the service clock: a jumped test or chat clock must not turn fresh
    // signed requests away (or let stale ones in).
    let parsed = adapter
        .parse(&raw, chrono::Utc::now().timestamp())
        .map_err(|e| {
            service.metrics().message(adapter.name(), "rejected");
            ApiError::new(
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST),
                e.code(),
                e.to_string(),
            )
        })?;
    let answer = match parsed {
        Parsed::Handshake(resp) => return Ok(respond(resp)),
        _ if is_get => return Err(get_refused(&platform)),
        Parsed::Ignored(reason) => {
            tracing::debug!(platform = adapter.name(), reason, "event ignored");
            service.metrics().message(adapter.name(), "ignored");
            adapter.answer(&[])
        }
        Parsed::GroupMoved { from, to } => {
            service
                .record_group_move(adapter.name(), &from, &to)
                .await
                .map_err(ApiError::internal)?;
            adapter.answer(&[])
        }
        Parsed::Messages(messages) => {
            let mut answers = Vec::with_capacity(messages.len());
            for msg in messages {
                let answer = service
                    .handle(msg)
                    .await
                    .map_err(|e| match e.unavailable() {
                        Some(why) => ApiError::unavailable(why),
                        None => ApiError::internal(e),
                    })?;
                answers.push(answer);
            }
            adapter.answer(&answers)
        }
    };
    Ok(respond(answer))
}

fn get_refused(platform: &str) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{platform} takes messages by POST; GET is only for URL verification"),
    )
}

fn respond(resp: WebhookResponse) -> Response {
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::OK);
    let mut out = (status, resp.body).into_response();
    out.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(resp.content_type),
    );
    out
}
