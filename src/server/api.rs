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

/// Who called the API: the service token sees everything, a user's token their scope.
#[derive(Clone)]
pub enum ApiCaller {
    Service,
    User(Box<crate::console::User>),
}

impl ApiCaller {
    fn scope(&self, org: &crate::org::Org) -> crate::console::Scope {
        match self {
            ApiCaller::Service => crate::console::Scope::All,
            ApiCaller::User(u) => crate::console::Scope::of(u, org),
        }
    }
}

/// Refuses every call unless `Authorization: Bearer …` is `[server] api_token`
/// or a token issued with `gongdan users token NAME`.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let sent = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_string();
    let service_token = state.service.config().server.api_token.as_ref();
    let caller = if service_token
        .is_some_and(|t| signature::equal(sent.as_bytes(), t.expose().as_bytes()))
    {
        Some(ApiCaller::Service)
    } else if sent.is_empty() {
        None
    } else {
        state
            .console
            .users()
            .by_token(&sent)
            .cloned()
            .map(|u| ApiCaller::User(Box::new(u)))
    };
    let Some(caller) = caller else {
        if service_token.is_none()
            && state
                .console
                .users()
                .all()
                .iter()
                .all(|u| u.token_hashes.is_empty())
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "api_disabled",
                "the API is off until a token is configured: set [server] api_token in the config file \
                 or GONGDAN__SERVER__API_TOKEN in the environment, or issue one with `gongdan users token NAME`",
            ));
        }
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token",
        ));
    };
    // Reloading rules is the service's (an admin's) business, not a scoped user's.
    if matches!(&caller, ApiCaller::User(u) if u.role != crate::console::StaffRole::Admin)
        && req.uri().path().starts_with("/api/rules")
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only admins may reload rules",
        ));
    }
    req.extensions_mut().insert(caller);
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
    axum::Extension(caller): axum::Extension<ApiCaller>,
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
    let scope = caller.scope(&state.service.org());
    let tickets = tokio::task::spawn_blocking(move || {
        let org = service.org();
        if scope == crate::console::Scope::All {
            return service.store().list(&filter);
        }
        // Scoped: filter before the limit, so a page is full when it can be.
        let limit = filter.limit;
        let mut all = service.store().list(&ListFilter {
            limit: None,
            ..filter
        })?;
        all.retain(|t| scope.admits(&org, t));
        all.truncate(limit.unwrap_or(usize::MAX));
        Ok(all)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(Json(json!({ "count": tickets.len(), "tickets": tickets })))
}

pub async fn show_ticket(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<ApiCaller>,
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
    let scope = caller.scope(&state.service.org());
    let ticket = ticket
        .filter(|t| scope.admits(&state.service.org(), t))
        .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))?;
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
