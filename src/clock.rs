//! The one wall clock for ticket time: the system clock, or (tests, `gongdan chat`) one that can jump ahead.
//!
//! Every decision about ticket time (created and updated stamps, deadlines,
//! auto-close, statistics, the outbox's retry window) reads the [`Clock`]
//! the [`crate::service::Service`] owns, never `Utc::now()` directly, so a
//! test or a demo can move a week forward and watch the timers act. Only
//! checks against a *platform's* clock (signature replay windows, reply
//! handles' expiry) read the real system time, and monotonic `Instant`s stay
//! what they are: backoff and rate limits are about elapsed time, not dates.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::watch;

/// The furthest an adjustable clock goes ahead of the system clock: far past
/// any timer, and far from the end of `DateTime`'s range, so the date
/// arithmetic after it never overflows.
const MAX_AHEAD: TimeDelta = TimeDelta::days(10 * 366);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("this is the system clock; it cannot be moved")]
    NotAdjustable,
    #[error("the clock only moves forward")]
    Backwards,
    #[error("the clock goes at most {} days ahead", MAX_AHEAD.num_days())]
    TooFar,
    #[error("{0:?} is not a time step; write +3d, +2h or +90m")]
    BadStep(String),
}

/// Cheap to clone; clones share one offset, so a jump is seen everywhere.
#[derive(Debug, Clone)]
pub struct Clock(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    adjustable: bool,
    /// How far ahead of the system clock this clock is; watched so that
    /// sleeping timers wake when it jumps.
    ahead: watch::Sender<TimeDelta>,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::system()
    }
}

impl Clock {
    /// The system clock, as the server runs.
    pub fn system() -> Clock {
        Clock::new(false)
    }

    /// The system clock that [`Clock::advance`] can move forward (tests, `gongdan chat`).
    pub fn adjustable() -> Clock {
        Clock::new(true)
    }

    fn new(adjustable: bool) -> Clock {
        let (ahead, _) = watch::channel(TimeDelta::zero());
        Clock(Arc::new(Inner { adjustable, ahead }))
    }

    pub fn now(&self) -> DateTime<Utc> {
        // `ahead` is at most MAX_AHEAD, so this stays in range.
        Utc::now() + self.ahead()
    }

    /// How far ahead of the system clock it is (zero for the system clock).
    pub fn ahead(&self) -> TimeDelta {
        *self.0.ahead.borrow()
    }

    /// Move forward by `step`; returns the new time.
    pub fn advance(&self, step: TimeDelta) -> Result<DateTime<Utc>, ClockError> {
        if !self.0.adjustable {
            return Err(ClockError::NotAdjustable);
        }
        if step < TimeDelta::zero() {
            return Err(ClockError::Backwards);
        }
        let ahead = self
            .ahead()
            .checked_add(&step)
            .filter(|a| *a <= MAX_AHEAD)
            .ok_or(ClockError::TooFar)?;
        self.0.ahead.send_replace(ahead);
        Ok(self.now())
    }

    /// Changes each time the clock jumps, so a timer can wake and look again.
    pub fn jumps(&self) -> watch::Receiver<TimeDelta> {
        self.0.ahead.subscribe()
    }
}

/// A forward step as typed in `gongdan chat`: `+3d`, `+2h`, `+90m` (the `+` optional).
pub fn parse_step(text: &str) -> Result<TimeDelta, ClockError> {
    let bad = || ClockError::BadStep(text.to_string());
    let t = text.trim();
    if t.starts_with('-') {
        return Err(ClockError::Backwards);
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    let unit = t.chars().last().ok_or_else(bad)?;
    let digits = &t[..t.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = digits.parse().map_err(|_| ClockError::TooFar)?;
    let step = match unit {
        'd' => TimeDelta::try_days(n),
        'h' => TimeDelta::try_hours(n),
        'm' => TimeDelta::try_minutes(n),
        _ => return Err(bad()),
    };
    step.ok_or(ClockError::TooFar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adjustable_clock_jumps_forward_for_every_clone() {
        let clock = Clock::adjustable();
        let shared = clock.clone();
        let mut jumps = clock.jumps();
        let before = clock.now();
        let after = clock.advance(TimeDelta::days(3)).unwrap();
        assert!(after - before >= TimeDelta::days(3));
        assert!(
            shared.now() - before >= TimeDelta::days(3),
            "clones share it"
        );
        assert_eq!(shared.ahead(), TimeDelta::days(3));
        assert!(jumps.has_changed().unwrap(), "timers hear of the jump");
        jumps.mark_unchanged();

        assert_eq!(
            clock.advance(TimeDelta::hours(-1)),
            Err(ClockError::Backwards)
        );
        assert_eq!(
            clock.advance(TimeDelta::days(3700)),
            Err(ClockError::TooFar)
        );
        assert_eq!(clock.ahead(), TimeDelta::days(3), "a refusal moves nothing");
        assert!(!jumps.has_changed().unwrap());
    }

    #[test]
    fn the_system_clock_cannot_be_moved() {
        let clock = Clock::system();
        assert_eq!(
            clock.advance(TimeDelta::days(1)),
            Err(ClockError::NotAdjustable)
        );
        assert_eq!(clock.ahead(), TimeDelta::zero());
        let lag = Utc::now() - clock.now();
        assert!(lag < TimeDelta::minutes(1) && lag > TimeDelta::minutes(-1));
    }

    #[test]
    fn steps_parse_in_days_hours_and_minutes() {
        assert_eq!(parse_step("+3d"), Ok(TimeDelta::days(3)));
        assert_eq!(parse_step("+2h"), Ok(TimeDelta::hours(2)));
        assert_eq!(parse_step(" 90m "), Ok(TimeDelta::minutes(90)));
        assert_eq!(parse_step("-1d"), Err(ClockError::Backwards));
        for bad in ["", "+", "+d", "3", "+3x", "+1.5h", "+3天", "++3d", "+ 3d"] {
            assert_eq!(
                parse_step(bad),
                Err(ClockError::BadStep(bad.to_string())),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_step("+99999999999999999999d"),
            Err(ClockError::TooFar)
        );
        assert_eq!(parse_step("+9999999999999999d"), Err(ClockError::TooFar));
    }
}
