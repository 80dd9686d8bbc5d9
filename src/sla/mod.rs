//! SLA clocks: how long a ticket has had, in calendar or working hours, and what is due.
//!
//! [`Policy`] is built once from `[sla]` (and the holiday file) and shared
//! through the ticket [`crate::ticket::Context`]; everything here is pure
//! arithmetic over a ticket and a time, so the planner and the timer agree.

pub mod calendar;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

pub use calendar::{CalendarError, WorkCalendar};

use crate::config::{SlaConfig, SlaMode};
use crate::org::{Level, Org};
use crate::priority::Priority;
use crate::ticket::{Status, Ticket};

pub mod timer;

/// What the SLA timer has to do next for one ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Remind the owner (the remind share of the time is used).
    Remind,
    /// Mark 超时 and rise to this many levels above the community.
    Escalate(u8),
}

/// The levels a ticket can rise to, bottom first: the units above its
/// community. Empty when its group is in no community: it can still be
/// marked 超时 once, with nobody to name.
pub fn levels_above(org: &Org, t: &Ticket) -> Vec<Level> {
    org.community_of(&t.platform, &t.group_id, t.group_name.as_deref())
        .map(|c| {
            org.chain(c)
                .iter()
                .skip(1)
                .map(|u| org.units[*u].level)
                .collect()
        })
        .unwrap_or_default()
}

/// `"09:00"` → minutes after midnight.
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `None`: calendar hours.
    pub working: Option<WorkCalendar>,
    pub priority_hours: HashMap<Priority, u32>,
    /// The time a level has once the ticket has risen to it; unset: the
    /// ticket's own `sla_hours`.
    pub level_hours: HashMap<Level, u32>,
    pub remind_percent: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            working: None,
            priority_hours: HashMap::new(),
            level_hours: HashMap::new(),
            remind_percent: 75,
        }
    }
}

impl Policy {
    pub fn from_config(c: &SlaConfig) -> Result<Policy, CalendarError> {
        let working = match c.mode {
            SlaMode::Calendar => None,
            SlaMode::Working => {
                let start = parse_hhmm(&c.work_start).unwrap_or(9 * 60);
                let end = parse_hhmm(&c.work_end).unwrap_or(18 * 60);
                let cal = WorkCalendar::new(start, end);
                Some(match &c.holidays {
                    Some(path) => cal.with_holidays(path)?,
                    None => cal,
                })
            }
        };
        Ok(Policy {
            working,
            priority_hours: c
                .priority_hours
                .iter()
                .filter_map(|(k, v)| Some((Priority::parse(k)?, *v)))
                .collect(),
            level_hours: c
                .level_hours
                .iter()
                .filter_map(|(k, v)| Some((Level::parse(k)?, (*v).max(1))))
                .collect(),
            remind_percent: c.remind_percent.clamp(1, 100),
        })
    }

    /// The hours a new ticket gets: a per-priority override, else the category's.
    pub fn hours_for(&self, priority: Priority, category_hours: u32) -> u32 {
        self.priority_hours
            .get(&priority)
            .copied()
            .unwrap_or(category_hours)
            .max(1)
    }

    /// The hours of the period a ticket spends at a level: the ticket's own
    /// at its community (`None`), else that level's `level_hours`.
    pub fn period_hours(&self, t: &Ticket, at: Option<Level>) -> u32 {
        at.and_then(|l| self.level_hours.get(&l).copied())
            .unwrap_or(t.sla_hours)
            .max(1)
    }

    /// SLA seconds that passed between `from` and `to`.
    pub fn counted(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        match &self.working {
            Some(cal) => cal.working_secs(from, to),
            None => (to - from).num_seconds().max(0),
        }
    }

    /// The instant `secs` SLA seconds after `from`.
    pub fn after(&self, from: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
        match &self.working {
            Some(cal) => cal.add_working(from, secs),
            None => from + Duration::seconds(secs.max(0)),
        }
    }
}

impl Policy {
    /// SLA seconds the ticket's current clock has used by `now` (time on
    /// hold not counted).
    pub fn used(&self, t: &Ticket, now: DateTime<Utc>) -> i64 {
        let start = t.sla.started_at.unwrap_or(t.created_at);
        let end = t.sla.held_since.unwrap_or(now).min(now);
        (self.counted(start, end) - t.sla.paused_secs).max(0)
    }

    /// The deadline as of `now`: what is left of the time, counted from now.
    pub fn due(&self, t: &Ticket, now: DateTime<Utc>) -> DateTime<Utc> {
        let budget = i64::from(t.sla_hours.max(1)) * 3600;
        self.after(now, budget - self.used(t, now))
    }

    /// The one step due now, if any: the reminder first, then one level per
    /// period used, never past the top of `above` (the levels over the
    /// community, bottom first; none: one step, 超时). The first period is
    /// the ticket's `sla_hours`; each later one is the time of the level it
    /// has risen to (`[sla.level_hours]`, else `sla_hours` again). Only
    /// tickets someone is working on run late; 挂账 and finished tickets
    /// have no step.
    pub fn next_step(&self, t: &Ticket, now: DateTime<Utc>, above: &[Level]) -> Option<Step> {
        if !matches!(
            t.status,
            Status::Open | Status::Assigned | Status::InProgress
        ) || t.sla.held_since.is_some()
        {
            return None;
        }
        let budget = i64::from(t.sla_hours.max(1)) * 3600;
        let used = self.used(t, now);
        if !t.sla.reminded
            && t.sla.escalations == 0
            && used.saturating_mul(100) >= budget * i64::from(self.remind_percent)
        {
            return Some(Step::Remind);
        }
        let done = t.sla.escalations;
        let ceiling = u8::try_from(above.len().max(1)).unwrap_or(u8::MAX);
        if done >= ceiling {
            return None;
        }
        // When the next rise is due: the first period, plus the time of
        // every level already reached.
        let due = above
            .iter()
            .take(usize::from(done))
            .map(|l| {
                self.level_hours
                    .get(l)
                    .map_or(budget, |h| i64::from(*h) * 3600)
            })
            .fold(budget, i64::saturating_add);
        (used >= due).then_some(Step::Escalate(done + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(hours: u32, escalations: u8, created: DateTime<Utc>) -> Ticket {
        let mut t: Ticket = serde_json::from_value(serde_json::json!({
            "id": 1001, "status": "assigned", "category": "c", "category_name": "c",
            "department": "d", "sla_hours": hours, "text": "t", "platform": "generic",
            "group_id": "g", "reporter": {"id": "r"}, "created_at": created,
            "updated_at": created, "due_at": created,
        }))
        .unwrap();
        t.sla.started_at = Some(created);
        t.sla.reminded = true;
        t.sla.escalations = escalations;
        t
    }

    #[test]
    fn each_level_has_its_own_time_once_reached() {
        let policy = Policy {
            level_hours: HashMap::from([(Level::Street, 24), (Level::District, 4)]),
            ..Policy::default()
        };
        let above = [Level::Street, Level::District, Level::City];
        let t0 = Utc::now();
        let at = |h: i64| t0 + Duration::hours(h);
        // 72 h at the community, then 24 at the street, 4 at the district,
        // and the city is never passed.
        assert_eq!(policy.next_step(&ticket(72, 0, t0), at(71), &above), None);
        assert_eq!(
            policy.next_step(&ticket(72, 0, t0), at(72), &above),
            Some(Step::Escalate(1))
        );
        assert_eq!(policy.next_step(&ticket(72, 1, t0), at(95), &above), None);
        assert_eq!(
            policy.next_step(&ticket(72, 1, t0), at(96), &above),
            Some(Step::Escalate(2))
        );
        assert_eq!(
            policy.next_step(&ticket(72, 2, t0), at(100), &above),
            Some(Step::Escalate(3))
        );
        assert_eq!(policy.next_step(&ticket(72, 3, t0), at(999), &above), None);
        // Without level_hours every level gets the ticket's own time.
        let plain = Policy::default();
        assert_eq!(plain.next_step(&ticket(72, 1, t0), at(143), &above), None);
        assert_eq!(
            plain.next_step(&ticket(72, 1, t0), at(144), &above),
            Some(Step::Escalate(2))
        );
        // A group in no community: 超时 once.
        assert_eq!(
            plain.next_step(&ticket(72, 0, t0), at(72), &[]),
            Some(Step::Escalate(1))
        );
        assert_eq!(plain.next_step(&ticket(72, 1, t0), at(999), &[]), None);
    }

    #[test]
    fn hhmm() {
        assert_eq!(parse_hhmm("09:30"), Some(570));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("9"), None);
        assert_eq!(parse_hhmm("25:00"), None);
    }
}
