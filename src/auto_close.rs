//! The 核查结案 timer: closes tickets whose reporter never answered the 办结 reply.
//!
//! Residents rarely come back to type `#确认`; without this, resolved
//! tickets would pile up in lists and statistics for ever. The wait is
//! `[tickets] auto_close_hours` (a week by default); the work itself is
//! [`Service::close_stale_tickets`], which goes through the writer like any
//! message, so closing is durable, idempotent and answered in the group.

use std::sync::Arc;
use std::time::Duration;

use crate::service::Service;

/// How often to look; a ticket closes at most this late.
const CHECK_EVERY: Duration = Duration::from_secs(10 * 60);

/// Check once at start (catching up after downtime), then every
/// [`CHECK_EVERY`] and whenever the service clock jumps, until the service
/// shuts down.
pub async fn run(service: Arc<Service>) {
    let mut shutdown = service.shutdown_signal();
    let mut jumps = service.clock().jumps();
    loop {
        jumps.mark_unchanged();
        match service.close_stale_tickets(service.clock().now()).await {
            Ok(closed) if closed.is_empty() => {}
            Ok(closed) => tracing::info!(
                closed = closed.len(),
                "closed resolved tickets nobody confirmed"
            ),
            Err(e) => tracing::warn!(error = %e, "auto-close check failed; will retry"),
        }
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            Ok(()) = jumps.changed() => {}
            _ = shutdown.changed() => return,
        }
    }
}
