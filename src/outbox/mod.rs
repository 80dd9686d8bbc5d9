//! The delivery worker: drains the outbox through each platform's send API, never inside a webhook.
//!
//! Replies were queued in the same transaction as the ticket change that made
//! them, so a crash loses none: the worker picks them up again on start. Per
//! group, replies go out in order (one send in flight) and at most
//! `per_group_per_minute` a minute; groups never wait on each other (each
//! send is its own task, handled as it finishes). Failures retry with
//! exponential backoff and jitter; after `give_up_after_hours` a reply moves
//! to the dead-letter tree.
//!
//! Delivery is at-least-once, made as close to once as the platform allows:
//! a delivered reply's removal is flushed before its group's next send, and
//! kept in memory (never re-sent) while the removal fails; every attempt
//! carries the same idempotency key; a send that times out (its outcome
//! unknown) waits the longest backoff before it is tried again; attempt
//! counts and next-attempt times are stored, so a restart keeps the backoff.

mod queue;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use tokio::task::JoinSet;

use crate::platform::{Outgoing, SendError};
use crate::service::Service;
use crate::ticket::OutboxEntry;
use queue::{GroupKey, Queues};

/// How many new replies one look at the store reads.
const BATCH: usize = 512;
/// Longest sleep between passes when nothing is due (also bounds how late a
/// retry can fire after its time comes).
const IDLE_TICK: Duration = Duration::from_millis(500);
/// A gap in outbox ids is a transaction still being applied; one older than
/// this is taken as final.
const GAP_GRACE: Duration = Duration::from_secs(1);

pub fn backoff(attempts: u32, initial: Duration, max: Duration) -> Duration {
    let exp = initial.saturating_mul(1u32 << attempts.min(20).saturating_sub(1));
    let capped = exp.min(max);
    // Full jitter on the upper half: spreads retries from many groups apart.
    let jitter = rand::thread_rng().gen_range(0.5..=1.0);
    capped.mul_f64(jitter)
}

/// How one attempt ended.
enum Outcome {
    Sent(Result<(), SendError>),
    /// Abandoned at the send timeout: the platform may still post it.
    TimedOut,
}

struct Finished {
    key: GroupKey,
    entry: OutboxEntry,
    outcome: Outcome,
}

type Joined = Result<(tokio::task::Id, Finished), tokio::task::JoinError>;

struct Worker {
    service: Arc<Service>,
    client: reqwest::Client,
    initial: Duration,
    max: Duration,
    send_timeout: Duration,
    queues: Queues,
    /// The highest outbox id queued in memory.
    seen: u64,
    /// Since when the id after `seen` has been missing while later ones exist.
    gap_since: Option<Instant>,
    /// The backlog stored before start-up is queued (its gaps are old removals).
    caught_up: bool,
    sends: JoinSet<Finished>,
    /// Which group each send task serves, to free the group if a task panics.
    tasks: HashMap<tokio::task::Id, GroupKey>,
}

/// Run until shutdown.
pub async fn run(service: Arc<Service>, client: reqwest::Client) {
    let cfg = service.config().outbox.clone();
    let mut shutdown = service.shutdown_signal();
    let mut w = Worker {
        initial: Duration::from_millis(cfg.initial_backoff_ms),
        max: Duration::from_millis(cfg.max_backoff_ms),
        send_timeout: Duration::from_millis(cfg.send_timeout_ms),
        service,
        client,
        queues: Queues::default(),
        seen: 0,
        gap_since: None,
        caught_up: false,
        sends: JoinSet::new(),
        tasks: HashMap::new(),
    };
    loop {
        if *shutdown.borrow() {
            break;
        }
        let more = w.load_new();
        w.retry_removals().await;
        let now = Instant::now();
        let due = w
            .queues
            .due(now, cfg.per_group_per_minute, cfg.max_in_flight);
        let mut wake_at = due.wake_at;
        for (key, id) in due.start {
            if let Some(at) = w.start(key, id, now) {
                wake_at = Some(wake_at.map_or(at, |x| x.min(at)));
            }
        }
        let sleep_for = if more {
            Duration::ZERO
        } else {
            wake_at
                .map(|at| at.saturating_duration_since(Instant::now()))
                .unwrap_or(IDLE_TICK)
                .min(IDLE_TICK)
        };
        tokio::select! {
            Some(done) = w.sends.join_next_with_id(), if !w.sends.is_empty() => {
                let mut finished = vec![done];
                while let Some(more) = w.sends.try_join_next_with_id() {
                    finished.push(more);
                }
                w.finish_all(finished).await;
            }
            _ = tokio::time::sleep(sleep_for) => {}
            _ = w.service.outbox_wake().notified() => {}
            _ = shutdown.changed() => break,
        }
    }
    // Let the sends in flight end (each within the send timeout) and record
    // them, so a clean stop re-sends nothing.
    let mut finished = Vec::new();
    while let Some(done) = w.sends.join_next_with_id().await {
        finished.push(done);
    }
    w.finish_all(finished).await;
}

impl Worker {
    /// Queue replies stored since the last look; `true` if there may be more.
    fn load_new(&mut self) -> bool {
        // Read before the scan: every id below it is stored or long gone.
        let next_before = (!self.caught_up).then(|| self.service.store().outbox_next_id());
        let batch = match self.service.store().outbox_after(self.seen, BATCH) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                return false;
            }
        };
        let full = batch.len() == BATCH;
        for entry in batch {
            // Ids are handed out in order and only this worker removes, so
            // past the start-up backlog a missing id is a commit not yet
            // fully visible, which must not be skipped for good.
            if self.caught_up && entry.id != self.seen + 1 {
                let since = *self.gap_since.get_or_insert_with(Instant::now);
                if since.elapsed() < GAP_GRACE {
                    return false;
                }
            }
            self.gap_since = None;
            self.seen = entry.id;
            self.queues
                .push((entry.platform.clone(), entry.group_id.clone()), entry.id);
        }
        if let (Some(Ok(next)), false) = (next_before, full) {
            self.seen = self.seen.max(next.saturating_sub(1));
            self.caught_up = true;
        }
        full
    }

    /// Start sending `id`, the head of `key`; returns when to look at the
    /// group again if it was not started.
    fn start(&mut self, key: GroupKey, id: u64, now: Instant) -> Option<Instant> {
        let store = self.service.store();
        let entry = match store.outbox_get(id) {
            Ok(Some(e)) => e,
            Ok(None) => {
                self.queues.not_sent(&key);
                self.queues.drop_head(&key, id);
                return None;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read a queued reply");
                let at = now + self.max;
                self.queues.not_sent(&key);
                self.queues.retry_at(&key, at);
                return Some(at);
            }
        };
        let give_up =
            chrono::Duration::hours(i64::from(self.service.config().outbox.give_up_after_hours));
        // Wall-clock decisions read the service clock, which stamped
        // `created_at`; the monotonic `Instant`s pace sends.
        let wall_now = self.service.clock().now();
        if wall_now - entry.created_at > give_up {
            dead_letter(&self.service, &entry, "gave up after the retry window");
            self.queues.not_sent(&key);
            self.queues.drop_head(&key, id);
            return None;
        }
        // A stored next attempt (from before a restart) still holds.
        if let Some(wait) = entry
            .next_attempt_at
            .and_then(|at| (at - wall_now).to_std().ok())
            .filter(|d| !d.is_zero())
        {
            let at = now + wait;
            self.queues.not_sent(&key);
            self.queues.retry_at(&key, at);
            return Some(at);
        }
        let Some(adapter) = self.service.adapter(&entry.platform) else {
            // The platform was switched off; keep the reply until the
            // retry window runs out in case it comes back.
            let at = now + self.max;
            self.queues.not_sent(&key);
            self.queues.retry_at(&key, at);
            return Some(at);
        };
        if !adapter.sends() {
            // Answered in the webhook response already (no send API configured).
            self.queues.not_sent(&key);
            match store.outbox_remove(id) {
                Ok(_) => self.queues.drop_head(&key, id),
                Err(_) => self.queues.delivered(&key, id),
            }
            return None;
        }
        // If this process dies mid-send, the next one waits as after a
        // failure instead of firing at once (sled syncs within half a second;
        // no fsync per attempt).
        let attempts = entry.attempts + 1;
        let unknown_until = self.send_timeout + backoff(attempts, self.initial, self.max);
        if let Err(e) =
            store.outbox_record_attempt(id, attempts, wall(&self.service, unknown_until))
        {
            tracing::warn!(error = %e, "cannot record a delivery attempt");
        }
        let svc = Arc::clone(&self.service);
        let client = self.client.clone();
        let timeout = self.send_timeout;
        let task_key = key.clone();
        let task = self.sends.spawn(async move {
            let adapter = svc.adapter(&entry.platform).expect("checked above");
            let idempotency_key = format!("gongdan-{}", entry.id);
            let out = Outgoing {
                group_id: &entry.group_id,
                text: &entry.text,
                reply_handle: entry.reply_handle.as_deref(),
                ticket: entry.ticket,
                idempotency_key: &idempotency_key,
            };
            let send = svc.send_reply(&client, adapter, &out);
            let outcome = match tokio::time::timeout(timeout, send).await {
                Ok(r) => Outcome::Sent(r),
                Err(_) => Outcome::TimedOut,
            };
            let mut entry = entry;
            entry.attempts = attempts;
            Finished {
                key,
                entry,
                outcome,
            }
        });
        self.tasks.insert(task.id(), task_key);
        None
    }

    /// Record finished sends; removals are flushed before those groups go again.
    async fn finish_all(&mut self, finished: Vec<Joined>) {
        let mut removed_any = false;
        for done in finished {
            match done {
                Ok((task, f)) => {
                    self.tasks.remove(&task);
                    removed_any |= self.finish(f);
                }
                Err(e) => {
                    // A send panicked: retry that group's head later.
                    tracing::error!(error = %e, "a reply send task failed");
                    if let Some(key) = self.tasks.remove(&e.id()) {
                        self.queues.retry_at(&key, Instant::now() + self.max);
                    }
                }
            }
        }
        if removed_any {
            if let Err(e) = self.service.store().flush_async().await {
                tracing::error!(error = %e, "cannot flush delivered replies");
            }
        }
    }

    /// Returns whether something was removed from the store.
    fn finish(&mut self, f: Finished) -> bool {
        let Finished {
            key,
            entry,
            outcome,
        } = f;
        let store = self.service.store();
        let (delay, reason) = match outcome {
            Outcome::Sent(Ok(())) => {
                self.service.metrics().delivery(true);
                self.queues.delivered(&key, entry.id);
                tracing::debug!(platform = %entry.platform, group = %entry.group_id, "reply delivered");
                return match store.outbox_remove(entry.id) {
                    Ok(_) => {
                        self.queues.removed(entry.id);
                        true
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot remove a delivered reply; will retry the removal");
                        false
                    }
                };
            }
            Outcome::Sent(Err(SendError::Permanent(reason))) => {
                self.service.metrics().delivery(false);
                dead_letter(&self.service, &entry, &reason);
                self.queues.drop_head(&key, entry.id);
                return false;
            }
            Outcome::Sent(Err(SendError::Retry { reason, after })) => (
                after.unwrap_or_else(|| backoff(entry.attempts, self.initial, self.max)),
                reason,
            ),
            // The platform may post it yet: wait long, so a platform that is
            // merely slow is not sent the same reply again and again.
            Outcome::TimedOut => (
                backoff(u32::MAX, self.initial, self.max),
                "send timed out".to_string(),
            ),
        };
        self.service.metrics().delivery(false);
        self.queues.retry_at(&key, Instant::now() + delay);
        if let Err(e) =
            store.outbox_record_attempt(entry.id, entry.attempts, wall(&self.service, delay))
        {
            tracing::warn!(error = %e, "cannot record a delivery attempt");
        }
        tracing::warn!(platform = %entry.platform, group = %entry.group_id,
            attempts = entry.attempts, retry_in_ms = delay.as_millis() as u64, %reason,
            "reply delivery failed, will retry");
        false
    }

    /// Retry removing replies that were delivered but could not be removed.
    async fn retry_removals(&mut self) {
        let unremoved = self.queues.unremoved();
        if unremoved.is_empty() {
            return;
        }
        let mut removed_any = false;
        for id in unremoved {
            if self.service.store().outbox_remove(id).is_ok() {
                self.queues.removed(id);
                removed_any = true;
            }
        }
        if removed_any {
            let _ = self.service.store().flush_async().await;
        }
    }
}

/// The service-clock time `after` from now, for storing.
fn wall(service: &Service, after: Duration) -> chrono::DateTime<Utc> {
    let now = service.clock().now();
    chrono::Duration::from_std(after)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC)
}

fn dead_letter(service: &Service, entry: &OutboxEntry, reason: &str) {
    service.metrics().dead_letter();
    tracing::error!(platform = %entry.platform, group = %entry.group_id, ticket = ?entry.ticket,
        %reason, "reply could not be delivered; moved to the dead-letter tree");
    if let Err(e) = service
        .store()
        .outbox_dead_letter(entry.id, reason, service.clock().now())
    {
        tracing::error!(error = %e, "cannot move a reply to the dead-letter tree");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let i = Duration::from_millis(100);
        let m = Duration::from_secs(5);
        for attempts in 1..30 {
            let d = backoff(attempts, i, m);
            let full = i.saturating_mul(1 << (attempts - 1).min(19)).min(m);
            assert!(
                d >= full.mul_f64(0.5) && d <= full,
                "attempt {attempts}: {d:?}"
            );
        }
    }
}
