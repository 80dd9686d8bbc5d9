//! Service counters and the classification latency histogram, rendered in Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the classification latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 10] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01,
];

#[derive(Default)]
pub struct Metrics {
    /// (platform, outcome) → count. Outcomes: ticket, joined, command, answered
    /// (a question answered, 解答问询), unanswered (a question logged for admins), chatter, duplicate, rejected.
    messages: Mutex<BTreeMap<(String, String), u64>>,
    /// knowledge-base entry (or `ticket_status`) → questions answered (解答问询).
    inquiries_answered: Mutex<BTreeMap<String, u64>>,
    /// category → tickets opened.
    tickets_created: Mutex<BTreeMap<String, u64>>,
    /// result (`ok` / `error`) → reloads.
    rule_reloads: Mutex<BTreeMap<String, u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ns: AtomicU64,
    deliveries_ok: AtomicU64,
    deliveries_failed: AtomicU64,
    dead_letters: AtomicU64,
    tickets_auto_closed: AtomicU64,
    /// (step, level) → SLA steps taken: `remind`/`escalate` at `community`…`city`.
    sla_steps: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    // A poisoned lock only means another thread panicked mid-increment; the
    // counts are still usable.
    let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
    *m.entry(key).or_insert(0) += 1;
}

impl Metrics {
    pub fn message(&self, platform: &str, outcome: &str) {
        bump(&self.messages, (platform.to_string(), outcome.to_string()));
    }

    pub fn inquiry_answered(&self, entry: &str) {
        bump(&self.inquiries_answered, entry.to_string());
    }

    pub fn ticket_created(&self, category: &str) {
        bump(&self.tickets_created, category.to_string());
    }

    pub fn rule_reload(&self, ok: bool) {
        bump(
            &self.rule_reloads,
            if ok { "ok" } else { "error" }.to_string(),
        );
    }

    pub fn classify_latency(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ns
            .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    pub fn delivery(&self, ok: bool) {
        if ok {
            self.deliveries_ok.fetch_add(1, Ordering::Relaxed);
        } else {
            self.deliveries_failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn ticket_auto_closed(&self) {
        self.tickets_auto_closed.fetch_add(1, Ordering::Relaxed);
    }

    /// An SLA reminder (`remind`) or escalation (`escalate`) at a level.
    pub fn sla_step(&self, step: &'static str, level: &'static str) {
        bump(&self.sla_steps, (step, level));
    }

    pub fn dead_letter(&self) {
        self.dead_letters.fetch_add(1, Ordering::Relaxed);
    }

    pub fn deliveries_failed(&self) -> u64 {
        self.deliveries_failed.load(Ordering::Relaxed)
    }

    /// Prometheus text exposition; `outbox_depth` is read from the store by the caller.
    pub fn render(&self, outbox_depth: usize) -> String {
        let mut out = String::new();
        let _ = self.render_into(&mut out, outbox_depth);
        out
    }

    fn render_into(&self, out: &mut String, outbox_depth: usize) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP gongdan_messages_total Messages received, by platform and outcome."
        )?;
        writeln!(out, "# TYPE gongdan_messages_total counter")?;
        for ((platform, outcome), n) in self
            .messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            writeln!(
                out,
                "gongdan_messages_total{{platform=\"{platform}\",outcome=\"{outcome}\"}} {n}"
            )?;
        }
        writeln!(
            out,
            "# HELP gongdan_tickets_created_total Tickets opened, by category."
        )?;
        writeln!(out, "# TYPE gongdan_tickets_created_total counter")?;
        for (cat, n) in self
            .tickets_created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            writeln!(
                out,
                "gongdan_tickets_created_total{{category=\"{cat}\"}} {n}"
            )?;
        }
        writeln!(
            out,
            "# HELP gongdan_inquiries_answered_total Questions answered (解答问询), by knowledge-base entry."
        )?;
        writeln!(out, "# TYPE gongdan_inquiries_answered_total counter")?;
        for (entry, n) in self
            .inquiries_answered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            writeln!(
                out,
                "gongdan_inquiries_answered_total{{entry=\"{entry}\"}} {n}"
            )?;
        }
        writeln!(
            out,
            "# HELP gongdan_classify_seconds Time to classify one message."
        )?;
        writeln!(out, "# TYPE gongdan_classify_seconds histogram")?;
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            let n = self.latency_buckets[i].load(Ordering::Relaxed);
            writeln!(out, "gongdan_classify_seconds_bucket{{le=\"{bound}\"}} {n}")?;
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        writeln!(
            out,
            "gongdan_classify_seconds_bucket{{le=\"+Inf\"}} {count}"
        )?;
        let sum = self.latency_sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        writeln!(out, "gongdan_classify_seconds_sum {sum}")?;
        writeln!(out, "gongdan_classify_seconds_count {count}")?;
        writeln!(
            out,
            "# HELP gongdan_outbox_depth Replies waiting to be delivered."
        )?;
        writeln!(out, "# TYPE gongdan_outbox_depth gauge")?;
        writeln!(out, "gongdan_outbox_depth {outbox_depth}")?;
        writeln!(
            out,
            "# HELP gongdan_deliveries_total Reply delivery attempts, by result."
        )?;
        writeln!(out, "# TYPE gongdan_deliveries_total counter")?;
        writeln!(
            out,
            "gongdan_deliveries_total{{result=\"ok\"}} {}",
            self.deliveries_ok.load(Ordering::Relaxed)
        )?;
        writeln!(
            out,
            "gongdan_deliveries_total{{result=\"failed\"}} {}",
            self.deliveries_failed.load(Ordering::Relaxed)
        )?;
        writeln!(
            out,
            "# HELP gongdan_dead_letters_total Replies given up on."
        )?;
        writeln!(out, "# TYPE gongdan_dead_letters_total counter")?;
        writeln!(
            out,
            "gongdan_dead_letters_total {}",
            self.dead_letters.load(Ordering::Relaxed)
        )?;
        writeln!(
            out,
            "# HELP gongdan_tickets_auto_closed_total Resolved tickets closed because the reporter never answered."
        )?;
        writeln!(out, "# TYPE gongdan_tickets_auto_closed_total counter")?;
        writeln!(
            out,
            "gongdan_tickets_auto_closed_total {}",
            self.tickets_auto_closed.load(Ordering::Relaxed)
        )?;
        writeln!(
            out,
            "# HELP gongdan_rule_reloads_total Rule reloads, by result."
        )?;
        writeln!(out, "# TYPE gongdan_rule_reloads_total counter")?;
        for (result, n) in self
            .rule_reloads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            writeln!(out, "gongdan_rule_reloads_total{{result=\"{result}\"}} {n}")?;
        }
        writeln!(
            out,
            "# HELP gongdan_sla_steps_total SLA reminders and escalations, by step and the level told."
        )?;
        writeln!(out, "# TYPE gongdan_sla_steps_total counter")?;
        for ((step, level), n) in self
            .sla_steps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            writeln!(
                out,
                "gongdan_sla_steps_total{{step=\"{step}\",level=\"{level}\"}} {n}"
            )?;
        }
        Ok(())
    }
}
