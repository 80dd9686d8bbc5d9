//! Working time in China: working hours on working days, with holidays and 调休 from a file.
//!
//! The holiday file is TOML, one table per year, copied from the 国务院办公厅
//! notice for that year:
//!
//! ```toml
//! [2026]
//! holidays = ["2026-01-01..2026-01-03", "2026-02-15..2026-02-23"]
//! workdays = ["2026-01-04", "2026-02-14"]   # weekend days worked (调休)
//! ```
//!
//! A day is a working day when it is listed under `workdays`, or when it is a
//! Monday to Friday not listed under `holidays`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use serde::Deserialize;
use toml::Spanned;

use crate::rules::line_of;
use crate::ticket::china_tz;

/// The furthest a computation walks, so a calendar with no working days
/// (all holidays) cannot loop for ever: past it, time counts as calendar time.
const MAX_DAYS: i64 = 3 * 366;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct CalendarError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    /// Minutes after midnight, China time; `start < end`.
    start: u32,
    end: u32,
    holidays: HashSet<NaiveDate>,
    workdays: HashSet<NaiveDate>,
    /// Years whose table lists at least one holiday: the years the file covers.
    years: BTreeSet<i32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearSpec {
    #[serde(default)]
    holidays: Vec<Spanned<String>>,
    #[serde(default)]
    workdays: Vec<Spanned<String>>,
}

impl WorkCalendar {
    /// Weekends only, until a holiday file is added.
    pub fn new(start_min: u32, end_min: u32) -> WorkCalendar {
        WorkCalendar {
            start: start_min.min(end_min),
            end: end_min.max(start_min),
            holidays: HashSet::new(),
            workdays: HashSet::new(),
            years: BTreeSet::new(),
        }
    }

    /// Reads the holiday file; every bad date names its line.
    pub fn with_holidays(mut self, path: &Path) -> Result<WorkCalendar, CalendarError> {
        let err = |line, message: String| CalendarError {
            file: path.to_path_buf(),
            line,
            message,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| err(0, format!("cannot read: {e}")))?;
        self.add_holidays(path, &text)?;
        Ok(self)
    }

    fn add_holidays(&mut self, path: &Path, text: &str) -> Result<(), CalendarError> {
        let err = |line, message: String| CalendarError {
            file: path.to_path_buf(),
            line,
            message,
        };
        let years: BTreeMap<String, YearSpec> = toml::from_str(text).map_err(|e| {
            err(
                e.span().map_or(0, |s| line_of(text, s.start)),
                e.message().trim().to_string(),
            )
        })?;
        for (year, spec) in years {
            // An empty `[2027]` placeholder covers nothing: still missing.
            if let (Ok(y), false) = (year.parse::<i32>(), spec.holidays.is_empty()) {
                self.years.insert(y);
            }
            for (list, into) in [
                (&spec.holidays, &mut self.holidays),
                (&spec.workdays, &mut self.workdays),
            ] {
                for item in list {
                    let line = line_of(text, item.span().start);
                    let days = parse_range(item.get_ref()).ok_or_else(|| {
                        err(
                            line,
                            format!(
                                "{:?} is not a date or range (2026-10-01..2026-10-07)",
                                item.get_ref()
                            ),
                        )
                    })?;
                    if days.iter().any(|d| d.year().to_string() != year) {
                        return Err(err(
                            line,
                            format!("{:?} is not in [{year}]", item.get_ref()),
                        ));
                    }
                    into.extend(days);
                }
            }
        }
        Ok(())
    }

    /// The years the holiday file should cover by `now` but does not: this
    /// year, and from 1 November (when the 国务院办公厅 notice is due) next
    /// year too. Such a year counts only weekends as days off, so start-up
    /// warns about it. Nothing is missing without a holiday file.
    pub fn missing_years(&self, now: DateTime<Utc>) -> Vec<i32> {
        if self.years.is_empty() && self.holidays.is_empty() {
            return Vec::new();
        }
        let today = now.with_timezone(&china_tz()).date_naive();
        let mut want = vec![today.year()];
        if today.month() >= 11 {
            want.push(today.year() + 1);
        }
        want.retain(|y| !self.years.contains(y));
        want
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.workdays.contains(&day) {
            return true;
        }
        !self.holidays.contains(&day) && !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The working hours of `day`, as UTC instants.
    fn window(&self, day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_working_day(day) || self.start == self.end {
            return None;
        }
        let at = |min: u32| {
            let naive = day.and_hms_opt(min / 60, min % 60, 0)?;
            china_tz()
                .from_local_datetime(&naive)
                .single()
                .map(|t| t.with_timezone(&Utc))
        };
        Some((at(self.start)?, at(self.end)?))
    }

    /// Working seconds between `from` and `to` (0 when `to <= from`).
    pub fn working_secs(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let first = from.with_timezone(&china_tz()).date_naive();
        let last = to.with_timezone(&china_tz()).date_naive();
        if (last - first).num_days() > MAX_DAYS {
            return (to - from).num_seconds();
        }
        let mut total = 0;
        let mut day = first;
        while day <= last {
            if let Some((open, close)) = self.window(day) {
                let (a, b) = (open.max(from), close.min(to));
                if b > a {
                    total += (b - a).num_seconds();
                }
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        total
    }

    /// The instant `secs` working seconds after `from`.
    pub fn add_working(&self, from: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
        let mut left = secs.max(0);
        let mut day = from.with_timezone(&china_tz()).date_naive();
        for _ in 0..MAX_DAYS {
            if let Some((open, close)) = self.window(day) {
                let a = open.max(from);
                if close > a {
                    let here = (close - a).num_seconds();
                    if left <= here {
                        return a + Duration::seconds(left);
                    }
                    left -= here;
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        from + Duration::seconds(secs.max(0))
    }
}

/// `2026-10-01` or `2026-10-01..2026-10-07` (inclusive).
fn parse_range(s: &str) -> Option<Vec<NaiveDate>> {
    let date = |t: &str| NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok();
    let (a, b) = match s.split_once("..") {
        Some((a, b)) => (date(a)?, date(b)?),
        None => (date(s)?, date(s)?),
    };
    if b < a || (b - a).num_days() > 60 {
        return None;
    }
    Some(a.iter_days().take_while(|d| *d <= b).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn china(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        china_tz()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn calendar() -> WorkCalendar {
        let mut c = WorkCalendar::new(9 * 60, 18 * 60);
        c.add_holidays(
            Path::new("h.toml"),
            "[2026]\nholidays = [\"2026-10-01..2026-10-07\"]\nworkdays = [\"2026-10-10\"]\n",
        )
        .unwrap();
        c
    }

    #[test]
    fn weekends_and_holidays_do_not_count() {
        let c = calendar();
        // Friday 17:00 → Monday 10:00: one hour on Friday, one on Monday.
        assert_eq!(
            c.working_secs(china(2026, 9, 25, 17, 0), china(2026, 9, 28, 10, 0)),
            2 * 3600
        );
        // 2026-09-30 (Wed) 17:00 plus 2 working hours: the holiday week is
        // skipped, 10-08 (Thu) 10:00.
        assert_eq!(
            c.add_working(china(2026, 9, 30, 17, 0), 2 * 3600),
            china(2026, 10, 8, 10, 0)
        );
        // The 调休 Saturday counts.
        assert!(c.is_working_day(NaiveDate::from_ymd_opt(2026, 10, 10).unwrap()));
        assert!(!c.is_working_day(NaiveDate::from_ymd_opt(2026, 10, 11).unwrap()));
    }

    #[test]
    fn a_bad_date_names_its_line() {
        let mut c = WorkCalendar::new(540, 1080);
        let e = c
            .add_holidays(
                Path::new("h.toml"),
                "[2026]\nholidays = [\n  \"2026-13-01\",\n]\n",
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "h.toml:3: \"2026-13-01\" is not a date or range (2026-10-01..2026-10-07)"
        );
        let e = c
            .add_holidays(Path::new("h.toml"), "[2027]\nholidays = [\"2026-01-01\"]\n")
            .unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn a_year_missing_from_the_file_is_named() {
        let mut c = WorkCalendar::new(540, 1080);
        // No file: nothing to warn about.
        assert!(c.missing_years(china(2026, 12, 3, 9, 0)).is_empty());
        c.add_holidays(
            Path::new("h.toml"),
            "[2026]\nholidays = [\"2026-10-01\"]\n[2027]\nholidays = []\n",
        )
        .unwrap();
        // Before November only this year matters; it is there.
        assert!(c.missing_years(china(2026, 6, 1, 9, 0)).is_empty());
        // From November next year's notice is due; an empty table is missing.
        assert_eq!(c.missing_years(china(2026, 11, 1, 9, 0)), vec![2027]);
        // 2026-10-31 16:30 UTC is already 1 November in China.
        assert_eq!(
            c.missing_years(Utc.with_ymd_and_hms(2026, 10, 31, 16, 30, 0).unwrap()),
            vec![2027]
        );
        assert_eq!(c.missing_years(china(2028, 3, 1, 9, 0)), vec![2028]);
    }

    #[test]
    fn the_shipped_calendar_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("holidays/cn.toml");
        let c = WorkCalendar::new(540, 1080).with_holidays(&path).unwrap();
        // 国庆 2026 is a holiday; a 调休 Sunday works.
        assert!(!c.is_working_day(NaiveDate::from_ymd_opt(2026, 10, 5).unwrap()));
        assert!(c.is_working_day(NaiveDate::from_ymd_opt(2026, 9, 20).unwrap()));
    }
}
