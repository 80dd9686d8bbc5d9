//! The staff web console: login, board, ticket, dashboard, rules and reports, served under `/console`.
//!
//! Server-rendered HTML (maud, compiled into the binary) with embedded CSS and
//! a few lines of progressive JS, so it works offline on an intranet. Every
//! page is scoped: a user sees and acts only on tickets of their unit of
//! `org.toml` and below. Actions are chat commands applied through
//! [`Service::act_as_staff`], so the residents' group hears them as from chat.

mod chart;
// Handlers return a ready error page as `Err(Response)`, as axum handlers do.
#[allow(clippy::result_large_err)]
mod dashboard;
// Handlers return a ready error page as `Err(Response)`, as axum handlers do.
#[allow(clippy::result_large_err)]
mod handlers;
mod layout;
mod query;
// Handlers return a ready error page as `Err(Response)`, as axum handlers do.
#[allow(clippy::result_large_err)]
mod rules_page;
mod scope;
pub mod session;
pub mod users;

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use axum::routing::{get, post};
use axum::Router;

pub use scope::Scope;
use session::Sessions;
pub use users::{StaffRole, User, Users, UsersError};

use crate::server::AppState;

/// Accounts (re-read when the file changes) and live sessions.
pub struct Console {
    users_path: PathBuf,
    users: RwLock<Users>,
    pub sessions: Sessions,
}

impl Console {
    pub fn new(data_dir: &Path) -> Console {
        let users_path = users::users_path(data_dir);
        let users = Users::load(&users_path).unwrap_or_else(|e| {
            tracing::error!(error = %e, "console users file unreadable: nobody can log in until it is fixed");
            Users::default()
        });
        Console {
            users_path,
            users: RwLock::new(users),
            sessions: Sessions::default(),
        }
    }

    /// The accounts, re-read if the file changed since; a broken file keeps the last good ones.
    pub fn users(&self) -> Users {
        let current = self.users.read().unwrap_or_else(|p| p.into_inner()).clone();
        if !current.is_stale(&self.users_path) {
            return current;
        }
        match Users::load(&self.users_path) {
            Ok(fresh) => {
                // Removed users lose their sessions at once.
                for u in current.all() {
                    if fresh
                        .get(&u.name)
                        .is_none_or(|f| f.password_hash != u.password_hash)
                    {
                        self.sessions.end_user(&u.name);
                    }
                }
                *self.users.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
                fresh
            }
            Err(e) => {
                tracing::error!(error = %e, "console users file unreadable: keeping the accounts last read");
                current
            }
        }
    }
}

/// A random id for console-made message ids.
pub fn random_id() -> String {
    users::random_token(12)
}

/// The `/console` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(handlers::board))
        .route("/console/", get(handlers::board))
        .route(
            "/console/login",
            get(handlers::login_form).post(handlers::login),
        )
        .route("/console/logout", post(handlers::logout))
        .route("/console/export.csv", get(handlers::export_csv))
        .route("/console/tickets/{id}", get(handlers::ticket_page))
        .route(
            "/console/tickets/{id}/action",
            post(handlers::ticket_action),
        )
        .route("/console/dashboard", get(dashboard::show))
        .route("/console/report.xlsx", get(dashboard::report_xlsx))
        .route("/console/rules", get(rules_page::show))
        .route("/console/static/console.css", get(layout::css))
        .route("/console/static/console.js", get(layout::js))
}
