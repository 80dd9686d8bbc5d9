//! The HTTP server: routes, middleware, start-up and graceful shutdown.

mod api;
mod body;
mod conn;
mod error;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;

use crate::clock::Clock;
use crate::config::Config;
use crate::service::{Service, ServiceError};

#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    /// Console accounts and sessions.
    pub console: Arc<crate::console::Console>,
}

/// Every route of the service.
pub fn router(service: Arc<Service>) -> Router {
    let console = Arc::new(crate::console::Console::new(
        &service.config().storage.data_dir,
    ));
    let state = AppState { service, console };
    let api = Router::new()
        .route("/api/tickets", get(api::list_tickets))
        .route("/api/tickets/{id}", get(api::show_ticket))
        .route("/api/rules/reload", post(api::reload_rules))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            api::require_token,
        ));
    Router::new()
        .route(
            "/webhook/{platform}",
            post(webhook::webhook).get(webhook::webhook),
        )
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(api)
        .merge(crate::console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(body::refuse_unsupported_codings))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("-", |m| m.as_str());
            tracing::info_span!("http", method = %req.method(), route)
        }))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
            .into_response()
        }))
        .with_state(state)
}

/// `ok`, or 503 with the reason while storage refuses work (low disk, failing writes).
async fn healthz(State(state): State<AppState>) -> axum::response::Response {
    match state.service.storage_health().status() {
        Ok(()) => "ok".into_response(),
        Err(why) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, why.code(), why.to_string())
            .into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let depth = state.service.store().outbox_len();
    let mut text = state.service.metrics().render(depth);
    // Overdue and revisit gauges come from the tickets themselves, so they
    // are right after a restart too.
    let store = state.service.store().clone();
    let org = state.service.org();
    if let Ok(Ok(tickets)) = tokio::task::spawn_blocking(move || store.all_tickets()).await {
        text.push_str(&crate::digest::gauges(&org, &tickets));
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("this route does not take {method}"),
    )
}

/// A built service: bound listener plus the background workers, ready to run.
pub struct Application {
    listener: TcpListener,
    service: Arc<Service>,
    port: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

impl Application {
    /// Load rules, open the store and bind (port 0 picks a free port, for tests).
    pub async fn build(config: Config) -> Result<Application, StartError> {
        Application::build_with_clock(config, Clock::system()).await
    }

    /// Test hook: [`Application::build`] on a clock the test can jump.
    #[doc(hidden)]
    pub async fn build_with_clock(config: Config, clock: Clock) -> Result<Application, StartError> {
        let addr = config.server.bind;
        let service = tokio::task::spawn_blocking(move || Service::open_with_clock(config, clock))
            .await
            .map_err(ServiceError::from)??;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or(addr.port());
        Ok(Application {
            listener,
            service: Arc::new(service),
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn service(&self) -> Arc<Service> {
        self.service.clone()
    }

    /// Test hook: the clock the service's timers go by.
    #[doc(hidden)]
    pub fn clock(&self) -> Clock {
        self.service.clock().clone()
    }

    /// Serve until [`Service::begin_shutdown`] (or SIGTERM/Ctrl-C when
    /// `handle_signals`): stop accepting, finish in-flight requests for up to
    /// `[server] shutdown_grace_secs` and drop the rest, stop the workers,
    /// flush the store.
    pub async fn run_until_stopped(self, handle_signals: bool) -> std::io::Result<()> {
        let service = self.service;
        let workers = spawn_workers(&service);
        if handle_signals {
            let svc = service.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutdown requested");
                svc.begin_shutdown();
            });
        }
        let limits = conn::Limits::from_config(&service.config().server);
        let app = router(service.clone());
        conn::serve(self.listener, app, limits, service.shutdown_signal()).await;
        service.begin_shutdown();
        for w in workers {
            let _ = w.await;
        }
        if let Err(e) = service.store().flush_async().await {
            tracing::error!(error = %e, "final flush failed");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

fn spawn_workers(service: &Arc<Service>) -> Vec<JoinHandle<()>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap_or_default();
    let mut handles = vec![
        tokio::spawn(crate::outbox::run(service.clone(), client)),
        tokio::spawn(crate::auto_close::run(service.clone())),
        tokio::spawn(crate::sla::timer::run(service.clone())),
        tokio::spawn(crate::digest::run(service.clone())),
    ];
    if service.config().rules.watch {
        let interval = Duration::from_millis(service.config().rules.watch_interval_ms.max(100));
        handles.push(tokio::spawn(crate::watch::run(service.clone(), interval)));
    }
    handles
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
