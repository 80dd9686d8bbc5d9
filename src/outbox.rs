//! The delivery worker: drains the outbox through each platform's send API, never inside a webhook.
//!
//! Replies were queued in the same transaction as the ticket change that made
//! them, so a crash loses none: the worker picks them up again on start. Per
//! group, replies go out in order (only the oldest is in flight) and at most
//! `per_group_per_minute` a minute. Failures retry with exponential backoff and
//! jitter; after `give_up_after_hours` a reply moves to the dead-letter tree.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use tokio::task::JoinSet;

use crate::platform::{Outgoing, SendError};
use crate::service::Service;
use crate::ticket::OutboxEntry;

/// How many pending replies one pass looks at.
const BATCH: usize = 512;
/// How long one send may take before it counts as a temporary failure.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest sleep between passes when nothing is due (also bounds how late a
/// retry can fire after its time comes).
const IDLE_TICK: Duration = Duration::from_millis(500);

/// Retry bookkeeping, kept in memory: after a restart every pending reply is
/// simply due again, and the 24-hour limit counts from `created_at`, which is stored.
#[derive(Default)]
struct Retry {
    attempts: u32,
    next_at: Option<Instant>,
}

/// Sliding one-minute windows of send times per (platform, group).
#[derive(Default)]
struct RateLimiter {
    sent: HashMap<(String, String), VecDeque<Instant>>,
}

impl RateLimiter {
    /// When the group may get its next reply (`None` = now).
    fn next_slot(&mut self, key: &(String, String), limit: u32, now: Instant) -> Option<Instant> {
        let q = self.sent.entry(key.clone()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            q.pop_front();
        }
        if q.len() < limit as usize {
            None
        } else {
            q.front().map(|t| *t + Duration::from_secs(60))
        }
    }

    fn record(&mut self, key: (String, String), now: Instant) {
        self.sent.entry(key).or_default().push_back(now);
    }
}

pub fn backoff(attempts: u32, initial: Duration, max: Duration) -> Duration {
    let exp = initial.saturating_mul(1u32 << attempts.min(20).saturating_sub(1));
    let capped = exp.min(max);
    // Full jitter on the upper half: spreads retries from many groups apart.
    let jitter = rand::thread_rng().gen_range(0.5..=1.0);
    capped.mul_f64(jitter)
}

/// Run until shutdown.
pub async fn run(service: Arc<Service>, client: reqwest::Client) {
    let cfg = service.config().outbox.clone();
    let initial = Duration::from_millis(cfg.initial_backoff_ms);
    let max = Duration::from_millis(cfg.max_backoff_ms);
    let give_up = chrono::Duration::hours(i64::from(cfg.give_up_after_hours));
    let mut retries: HashMap<u64, Retry> = HashMap::new();
    let mut limiter = RateLimiter::default();
    let mut shutdown = service.shutdown_signal();

    loop {
        if *shutdown.borrow() {
            return;
        }
        let pending = match service.store().outbox_pending(BATCH) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                Vec::new()
            }
        };
        let now = Instant::now();
        let mut wake_at: Option<Instant> = None;
        let mut busy_groups = HashSet::new();
        let mut sends = JoinSet::new();
        for entry in pending {
            let key = (entry.platform.clone(), entry.group_id.clone());
            // Per group, only the oldest reply is eligible: keeps order.
            if !busy_groups.insert(key.clone()) {
                continue;
            }
            if Utc::now() - entry.created_at > give_up {
                dead_letter(&service, &entry, "gave up after the retry window");
                retries.remove(&entry.id);
                continue;
            }
            let Some(adapter) = service.adapter(&entry.platform) else {
                // The platform was switched off; keep the reply until the
                // retry window runs out in case it comes back.
                schedule(&mut retries, &mut wake_at, entry.id, now + max);
                continue;
            };
            if !adapter.sends() {
                // Answered in the webhook response already (no send API configured).
                let _ = service.store().outbox_remove(entry.id);
                continue;
            }
            if let Some(at) = retries.get(&entry.id).and_then(|r| r.next_at) {
                if at > now {
                    wake_at = Some(wake_at.map_or(at, |w| w.min(at)));
                    continue;
                }
            }
            if let Some(at) = limiter.next_slot(&key, cfg.per_group_per_minute, now) {
                wake_at = Some(wake_at.map_or(at, |w| w.min(at)));
                continue;
            }
            limiter.record(key, now);
            let svc = Arc::clone(&service);
            let client = client.clone();
            sends.spawn(async move {
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
                let result = match tokio::time::timeout(SEND_TIMEOUT, send).await {
                    Ok(r) => r,
                    Err(_) => Err(SendError::Retry {
                        reason: "send timed out".into(),
                        after: None,
                    }),
                };
                (entry, result)
            });
        }

        while let Some(joined) = sends.join_next().await {
            let Ok((entry, result)) = joined else {
                continue;
            };
            match result {
                Ok(()) => {
                    service.metrics().delivery(true);
                    retries.remove(&entry.id);
                    if let Err(e) = service.store().outbox_remove(entry.id) {
                        tracing::error!(error = %e, "cannot remove a delivered reply");
                    }
                    tracing::debug!(platform = %entry.platform, group = %entry.group_id, "reply delivered");
                }
                Err(SendError::Retry { reason, after }) => {
                    service.metrics().delivery(false);
                    let r = retries.entry(entry.id).or_default();
                    r.attempts += 1;
                    let delay = after.unwrap_or_else(|| backoff(r.attempts, initial, max));
                    let at = Instant::now() + delay;
                    r.next_at = Some(at);
                    wake_at = Some(wake_at.map_or(at, |w| w.min(at)));
                    tracing::warn!(platform = %entry.platform, group = %entry.group_id,
                        attempts = r.attempts, retry_in_ms = delay.as_millis() as u64, %reason,
                        "reply delivery failed, will retry");
                }
                Err(SendError::Permanent(reason)) => {
                    service.metrics().delivery(false);
                    retries.remove(&entry.id);
                    dead_letter(&service, &entry, &reason);
                }
            }
        }

        let sleep_for = wake_at
            .map(|at| at.saturating_duration_since(Instant::now()))
            .unwrap_or(IDLE_TICK)
            .min(IDLE_TICK);
        tokio::select! {
            _ = tokio::time::sleep(sleep_for) => {}
            _ = service.outbox_wake().notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn schedule(
    retries: &mut HashMap<u64, Retry>,
    wake_at: &mut Option<Instant>,
    id: u64,
    at: Instant,
) {
    retries.entry(id).or_default().next_at = Some(at);
    *wake_at = Some(wake_at.map_or(at, |w| w.min(at)));
}

fn dead_letter(service: &Service, entry: &OutboxEntry, reason: &str) {
    service.metrics().dead_letter();
    tracing::error!(platform = %entry.platform, group = %entry.group_id, ticket = ?entry.ticket,
        %reason, "reply could not be delivered; moved to the dead-letter tree");
    if let Err(e) = service.store().outbox_dead_letter(entry.id, reason) {
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

    #[test]
    fn rate_limiter_holds_the_21st_reply_for_a_minute() {
        let mut rl = RateLimiter::default();
        let key = ("generic".to_string(), "g".to_string());
        let t0 = Instant::now();
        for _ in 0..20 {
            assert_eq!(rl.next_slot(&key, 20, t0), None);
            rl.record(key.clone(), t0);
        }
        assert_eq!(
            rl.next_slot(&key, 20, t0),
            Some(t0 + Duration::from_secs(60))
        );
        assert_eq!(rl.next_slot(&key, 20, t0 + Duration::from_secs(61)), None);
    }
}
