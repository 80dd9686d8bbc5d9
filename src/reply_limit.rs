//! Repeat guard for canned replies: one sender asking for help or mistyping a command over and over gets few answers.
//!
//! Help texts and command errors cost nothing to ask for, and each one is a
//! reply in the group's rate-limited outbox: a resident sending `#帮助` 600
//! times would fill their group's queue for half an hour. Within a window, a
//! sender gets the same canned reply once and at most [`MAX_PER_WINDOW`]
//! canned replies in all; the rest are recorded as processed and answered
//! with silence. In memory only: a restart forgets, which costs one answer.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How long a canned reply counts against its sender.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Most canned replies one sender gets in a group per window.
pub const MAX_PER_WINDOW: usize = 3;
/// Senders remembered before old windows are swept out.
const SWEEP_AT: usize = 10_000;

/// `(platform, group_id, sender_id)`.
type SenderKey = (String, String, String);

#[derive(Default)]
pub struct RepeatGuard {
    given: HashMap<SenderKey, VecDeque<(Instant, String)>>,
}

impl RepeatGuard {
    /// May `sender` be given the canned reply `what` (e.g. `help:None`) at `now`?
    /// Counts it when the answer is yes.
    pub fn allow(&mut self, sender: SenderKey, what: &str, now: Instant) -> bool {
        if self.given.len() >= SWEEP_AT {
            self.given.retain(|_, q| {
                q.back()
                    .is_some_and(|(at, _)| now.duration_since(*at) < WINDOW)
            });
        }
        let q = self.given.entry(sender).or_default();
        while q
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= WINDOW)
        {
            q.pop_front();
        }
        if q.len() >= MAX_PER_WINDOW || q.iter().any(|(_, w)| w == what) {
            return false;
        }
        q.push_back((now, what.to_string()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(s: &str) -> SenderKey {
        ("generic".into(), "g1".into(), s.into())
    }

    #[test]
    fn the_same_canned_reply_once_per_window() {
        let mut g = RepeatGuard::default();
        let t0 = Instant::now();
        assert!(g.allow(who("a"), "help", t0));
        assert!(!g.allow(who("a"), "help", t0 + Duration::from_secs(59)));
        assert!(
            g.allow(who("b"), "help", t0),
            "another sender is not affected"
        );
        assert!(g.allow(who("a"), "help", t0 + WINDOW));
    }

    #[test]
    fn varied_requests_are_capped_too() {
        let mut g = RepeatGuard::default();
        let t0 = Instant::now();
        for i in 0..MAX_PER_WINDOW {
            assert!(g.allow(who("a"), &format!("error {i}"), t0));
        }
        assert!(!g.allow(who("a"), "error x", t0));
        assert!(g.allow(who("a"), "error x", t0 + WINDOW));
    }
}
