//! `/api/...`: tickets as JSON and rule reloads, behind a bearer token.

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::AppState;
use crate::platform::signature;
use crate::service::ServiceError;
use crate::ticket::{ListFilter, Status, TicketId};

/// Refuses every call unless `Authorization: Bearer <server.api_token>` matches.
pub async fn require_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(token) = &state.service.config().server.api_token else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "api_disabled",
            "the API is off until a token is configured: set [server] api_token in the config file \
             or GONGDAN__SERVER__API_TOKEN in the environment",
        ));
    };
    let sent = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !signature::equal(sent.as_bytes(), token.expose().as_bytes()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token",
        ));
    }
    Ok(next.run(req).await)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    category: Option<String>,
    /// Group id; with `platform` (default `generic`).
    group: Option<String>,
    platform: Option<String>,
    /// RFC 3339 time or a date (`2026-11-01`, China time).
    since: Option<String>,
    limit: Option<usize>,
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
}

fn parse_since(s: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        bad_request(format!(
            "since {s:?}: use a date like 2026-11-01 or an RFC 3339 time"
        ))
    })?;
    let local = date
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(crate::ticket::china_tz()).single())
        .ok_or_else(|| bad_request(format!("since {s:?} is not a valid date")))?;
    Ok(local.with_timezone(&Utc))
}

pub async fn list_tickets(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| bad_request(e.body_text()))?;
    let status = match &q.status {
        Some(s) => {
            Some(Status::parse(s).ok_or_else(|| bad_request(format!("unknown status {s:?}")))?)
        }
        None => None,
    };
    let filter = ListFilter {
        status,
        category: q.category.clone(),
        group: q
            .group
            .clone()
            .map(|g| (q.platform.clone().unwrap_or_else(|| "generic".into()), g)),
        since: q.since.as_deref().map(parse_since).transpose()?,
        limit: Some(q.limit.unwrap_or(100).min(1000)),
        ..ListFilter::default()
    };
    let service = state.service.clone();
    let tickets = tokio::task::spawn_blocking(move || service.store().list(&filter))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Json(json!({ "count": tickets.len(), "tickets": tickets })))
}

pub async fn show_ticket(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = TicketId::parse(&id).map_err(|e| bad_request(format!("ticket id {id:?}: {e}")))?;
    let service = state.service.clone();
    let (ticket, history) = tokio::task::spawn_blocking(move || {
        let store = service.store();
        Ok::<_, crate::ticket::StoreError>((store.get(id)?, store.history(id)?))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let ticket = ticket.ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))?;
    Ok(Json(json!({ "ticket": ticket, "history": history })))
}

#[derive(Debug, Deserialize)]
pub struct ReloadQuery {
    /// Accept rules that drop a category which still has open tickets.
    #[serde(default)]
    allow_removed: bool,
}

pub async fn reload_rules(
    State(state): State<AppState>,
    Query(q): Query<ReloadQuery>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    match state.service.reload_rules(q.allow_removed).await {
        Ok(s) => Ok((
            StatusCode::OK,
            Json(json!({ "ok": true, "categories": s.categories, "examples": s.examples })),
        )),
        Err(ServiceError::Rules { errors, .. }) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "ok": false,
                "message": "rules not loaded; the previous rules stay in force",
                "errors": errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            })),
        )),
        Err(ServiceError::RemovedCategories(removed)) => Ok((
            StatusCode::CONFLICT,
            Json(json!({
                "ok": false,
                "message": "the new rules remove categories that still have open tickets; \
                            the previous rules stay in force (POST ?allow_removed=true to accept)",
                "removed": removed.iter().map(|r| json!({
                    "category": r.id, "name": r.name, "open_tickets": r.open_tickets,
                })).collect::<Vec<_>>(),
            })),
        )),
        Err(e) => Err(ApiError::internal(e)),
    }
}
