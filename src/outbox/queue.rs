//! The worker's in-memory schedule: one queue per group, who is in flight, who may go next.
//!
//! Pure bookkeeping with the clock passed in, so the rules are tested without
//! a platform: per group only the oldest reply is eligible and only one send
//! is in flight; every group's head is considered on every pass (a flood in
//! one group cannot push another group's reply out of view); a reply the
//! platform accepted is never offered again, even while its removal from
//! the store keeps failing.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// `(platform, group_id)`.
pub type GroupKey = (String, String);

#[derive(Default)]
struct Group {
    ids: VecDeque<u64>,
    in_flight: bool,
    /// The head waits until then (retry backoff, or a rate-limit slot).
    not_before: Option<Instant>,
    /// Send times in the last minute, for `per_group_per_minute`.
    sent: VecDeque<Instant>,
}

#[derive(Default)]
pub struct Queues {
    groups: HashMap<GroupKey, Group>,
    in_flight: usize,
    /// Accepted by the platform, not yet removed from the store.
    delivered: BTreeSet<u64>,
}

/// What [`Queues::due`] found.
pub struct Due {
    /// Group heads to send now, already marked in flight.
    pub start: Vec<(GroupKey, u64)>,
    /// The earliest moment something else becomes due.
    pub wake_at: Option<Instant>,
}

const MINUTE: Duration = Duration::from_secs(60);

impl Queues {
    /// Queue `id` behind the group's earlier replies. Ids must arrive in order.
    pub fn push(&mut self, key: GroupKey, id: u64) {
        if !self.delivered.contains(&id) {
            self.groups.entry(key).or_default().ids.push_back(id);
        }
    }

    /// Start every group head that may go now, up to `max_in_flight` sends in
    /// all, at most `per_minute` per group in any minute.
    pub fn due(&mut self, now: Instant, per_minute: u32, max_in_flight: usize) -> Due {
        let mut due = Due {
            start: Vec::new(),
            wake_at: None,
        };
        let mut wake = |at: Instant| {
            due.wake_at = Some(due.wake_at.map_or(at, |w: Instant| w.min(at)));
        };
        for (key, g) in &mut self.groups {
            // Age the send log first, also for groups with nothing queued:
            // otherwise a group that once got a reply keeps its entry (and
            // the retain below keeps it) for as long as the process runs.
            while g
                .sent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= MINUTE)
            {
                g.sent.pop_front();
            }
            if g.in_flight {
                continue;
            }
            let Some(&head) = g.ids.front() else {
                continue;
            };
            if let Some(at) = g.not_before.filter(|at| *at > now) {
                wake(at);
                continue;
            }
            if g.sent.len() >= per_minute as usize {
                if let Some(first) = g.sent.front() {
                    wake(*first + MINUTE);
                }
                continue;
            }
            if self.in_flight >= max_in_flight {
                // Full: whatever finishes next wakes the worker.
                continue;
            }
            g.in_flight = true;
            g.not_before = None;
            g.sent.push_back(now);
            self.in_flight += 1;
            due.start.push((key.clone(), head));
        }
        self.groups
            .retain(|_, g| !g.ids.is_empty() || !g.sent.is_empty() || g.in_flight);
        due
    }

    /// The head [`Queues::due`] just started was not sent after all (gone,
    /// given up, or not due yet): it takes no rate-limit slot.
    pub fn not_sent(&mut self, key: &GroupKey) {
        if let Some(g) = self.groups.get_mut(key) {
            g.sent.pop_back();
        }
    }

    /// The head of `key` was accepted by the platform: never offer it again.
    /// It stays marked until [`Queues::removed`].
    pub fn delivered(&mut self, key: &GroupKey, id: u64) {
        self.drop_head(key, id);
        self.delivered.insert(id);
    }

    /// The store no longer holds `id`.
    pub fn removed(&mut self, id: u64) {
        self.delivered.remove(&id);
    }

    /// Delivered replies whose removal has not succeeded yet.
    pub fn unremoved(&self) -> Vec<u64> {
        self.delivered.iter().copied().collect()
    }

    /// The head of `key` is finished without delivery (dead-lettered,
    /// answered in the webhook response) or was found gone.
    pub fn drop_head(&mut self, key: &GroupKey, id: u64) {
        if let Some(g) = self.groups.get_mut(key) {
            if g.ids.front() == Some(&id) {
                g.ids.pop_front();
            }
            self.finish(key);
        }
    }

    /// The head of `key` goes again no sooner than `at`.
    pub fn retry_at(&mut self, key: &GroupKey, at: Instant) {
        self.finish(key);
        if let Some(g) = self.groups.get_mut(key) {
            g.not_before = Some(at);
        }
    }

    fn finish(&mut self, key: &GroupKey) {
        if let Some(g) = self.groups.get_mut(key) {
            if g.in_flight {
                g.in_flight = false;
                self.in_flight -= 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(g: &str) -> GroupKey {
        ("generic".to_string(), g.to_string())
    }

    fn started(d: &Due) -> Vec<u64> {
        let mut ids: Vec<u64> = d.start.iter().map(|(_, id)| *id).collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_flooded_group_does_not_hide_another_groups_reply() {
        let mut q = Queues::default();
        for id in 1..=5000 {
            q.push(key("flood"), id);
        }
        q.push(key("quiet"), 5001);
        let t0 = Instant::now();
        assert_eq!(started(&q.due(t0, 20, 32)), vec![1, 5001]);
    }

    #[test]
    fn one_send_in_flight_per_group_and_order_kept() {
        let mut q = Queues::default();
        q.push(key("a"), 1);
        q.push(key("a"), 2);
        let t0 = Instant::now();
        assert_eq!(started(&q.due(t0, 20, 32)), vec![1]);
        assert!(q.due(t0, 20, 32).start.is_empty(), "1 is still in flight");
        q.retry_at(&key("a"), t0 + Duration::from_secs(1));
        let d = q.due(t0, 20, 32);
        assert!(d.start.is_empty());
        assert_eq!(d.wake_at, Some(t0 + Duration::from_secs(1)));
        assert_eq!(
            started(&q.due(t0 + Duration::from_secs(1), 20, 32)),
            vec![1]
        );
    }

    #[test]
    fn a_delivered_reply_is_never_offered_again_while_its_removal_fails() {
        let mut q = Queues::default();
        q.push(key("a"), 1);
        q.push(key("a"), 2);
        let t0 = Instant::now();
        assert_eq!(started(&q.due(t0, 20, 32)), vec![1]);
        q.delivered(&key("a"), 1);
        // The removal failed: the worker keeps retrying it, and a rescan
        // that finds 1 still stored does not queue it again.
        assert_eq!(q.unremoved(), vec![1]);
        q.push(key("a"), 1);
        assert_eq!(started(&q.due(t0, 20, 32)), vec![2]);
        q.delivered(&key("a"), 2);
        assert!(q.due(t0, 20, 32).start.is_empty());
        q.removed(1);
        assert_eq!(q.unremoved(), vec![2]);
    }

    #[test]
    fn the_21st_reply_in_a_minute_waits_for_a_slot() {
        let mut q = Queues::default();
        let t0 = Instant::now();
        for id in 1..=21 {
            q.push(key("a"), id);
        }
        for id in 1..=20 {
            assert_eq!(started(&q.due(t0, 20, 32)), vec![id]);
            q.delivered(&key("a"), id);
        }
        let d = q.due(t0, 20, 32);
        assert!(d.start.is_empty());
        assert_eq!(d.wake_at, Some(t0 + MINUTE));
        assert_eq!(started(&q.due(t0 + MINUTE, 20, 32)), vec![21]);
    }

    #[test]
    fn sends_in_flight_are_capped_across_groups() {
        let mut q = Queues::default();
        for id in 1..=10 {
            q.push(key(&format!("g{id}")), id);
        }
        let t0 = Instant::now();
        assert_eq!(q.due(t0, 20, 4).start.len(), 4);
        assert!(q.due(t0, 20, 4).start.is_empty());
    }

    #[test]
    fn groups_that_went_quiet_are_forgotten_after_a_minute() {
        let mut q = Queues::default();
        let t0 = Instant::now();
        for g in 0..1000u64 {
            q.push(key(&format!("g{g}")), g + 1);
        }
        assert_eq!(q.due(t0, 20, 2000).start.len(), 1000);
        for g in 0..1000u64 {
            q.delivered(&key(&format!("g{g}")), g + 1);
            q.removed(g + 1);
        }
        q.push(key("late"), 5000);
        let half = t0 + Duration::from_secs(30);
        assert_eq!(started(&q.due(half, 20, 2000)), vec![5000]);
        q.delivered(&key("late"), 5000);
        assert_eq!(q.groups.len(), 1001, "sends within the minute still count");
        q.due(t0 + MINUTE + Duration::from_secs(1), 20, 2000);
        assert_eq!(
            q.groups.len(),
            1,
            "only the group that sent 31 s ago is left"
        );
    }
}
