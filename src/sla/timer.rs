//! The SLA timer: reminds and escalates tickets as their time runs out.
//!
//! It looks once at start (catching up after downtime), then every
//! `[sla] check_every_secs` and whenever the service clock jumps. What it
//! does goes through the writer as `Action::Sla`, under a message id made of
//! the ticket, its clock's start and the step, and the ticket itself records
//! each step: a repeated or restarted run does nothing twice.

use std::sync::Arc;
use std::time::Duration;

use crate::service::Service;

pub async fn run(service: Arc<Service>) {
    let every = Duration::from_secs(service.config().sla.check_every_secs.max(1));
    let mut shutdown = service.shutdown_signal();
    let mut jumps = service.clock().jumps();
    loop {
        jumps.mark_unchanged();
        match service.check_sla(service.clock().now()).await {
            Ok(done) if done.is_empty() => {}
            Ok(done) => tracing::info!(steps = done.len(), "SLA reminders and escalations sent"),
            Err(e) => tracing::warn!(error = %e, "SLA check failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            Ok(()) = jumps.changed() => {}
            _ = shutdown.changed() => return,
        }
    }
}
