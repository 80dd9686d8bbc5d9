//! Figures for reports and the dashboard: a period, per-community figures, trend, breakdowns, hotspots.
//!
//! Pure functions of tickets and `org.toml`, so the console, the CLI
//! (`gongdan report`) and the tests compute the same numbers. `xlsx.rs` lays
//! them out as the monthly report workbook.

pub mod xlsx;

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};

use crate::digest::{self, Figures};
use crate::org::Org;
use crate::ticket::{InquiryRecord, Ticket};

/// `[from, to)` with the label reports show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub label: String,
}

impl Period {
    /// A calendar month in China time: `2026-11`.
    pub fn month(text: &str) -> Result<Period, String> {
        let bad = || format!("month {text:?}: use the form 2026-11");
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        let first = NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)?;
        let next = first.checked_add_months(Months::new(1)).ok_or_else(bad)?;
        Ok(Period {
            from: digest::day_start(first),
            to: digest::day_start(next),
            label: format!("{y}年{m}月"),
        })
    }

    /// Days `from..=to` (China dates), as the dashboard's form sends them.
    pub fn days(from: NaiveDate, to: NaiveDate) -> Result<Period, String> {
        if to < from {
            return Err("结束日期早于开始日期".into());
        }
        if (to - from).num_days() > 366 * 3 {
            return Err("时间段最长三年".into());
        }
        Ok(Period {
            from: digest::day_start(from),
            to: digest::day_start(to + Duration::days(1)),
            label: format!("{from} 至 {to}"),
        })
    }

    /// The month holding `now` up to today.
    pub fn month_to_date(now: DateTime<Utc>) -> Period {
        let today = now.with_timezone(&crate::ticket::china_tz()).date_naive();
        let first = today.with_day(1).unwrap_or(today);
        Period::days(first, today).unwrap_or_else(|_| Period {
            from: now,
            to: now,
            label: String::new(),
        })
    }

    /// The period of the same length just before this one (the previous month for a month).
    pub fn previous(&self) -> Period {
        let from_day = self.first_day();
        let is_month = from_day.day() == 1
            && from_day
                .checked_add_months(Months::new(1))
                .map(digest::day_start)
                == Some(self.to);
        if is_month {
            let prev = from_day
                .checked_sub_months(Months::new(1))
                .unwrap_or(from_day);
            return Period {
                from: digest::day_start(prev),
                to: self.from,
                label: format!("{}年{}月", prev.year(), prev.month()),
            };
        }
        let len = self.to - self.from;
        Period {
            from: self.from - len,
            to: self.from,
            label: "上期".into(),
        }
    }

    pub fn first_day(&self) -> NaiveDate {
        self.from
            .with_timezone(&crate::ticket::china_tz())
            .date_naive()
    }

    /// Every China date in the period.
    pub fn dates(&self) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut d = self.first_day();
        while digest::day_start(d) < self.to && out.len() < 4000 {
            out.push(d);
            d = d.succ_opt().unwrap_or(d);
        }
        out
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        at >= self.from && at < self.to
    }
}

/// The community of a ticket, by index; `None`: a group `org.toml` does not list.
pub fn community(org: &Org, t: &Ticket) -> Option<usize> {
    org.community_of(&t.platform, &t.group_id, t.group_name.as_deref())
}

/// The community's name, or [`UNLISTED`].
pub fn community_name(org: &Org, t: &Ticket) -> String {
    community(org, t)
        .and_then(|i| org.unit(i))
        .map_or_else(|| UNLISTED.to_string(), |u| u.name.clone())
}

/// The name reports file tickets of unlisted groups under.
pub const UNLISTED: &str = "未登记的群";

/// Figures per community in scope, in `org.toml` order; unlisted groups last, when any.
pub fn by_community(
    org: &Org,
    tickets: &[Ticket],
    scope: Option<usize>,
    period: &Period,
) -> Vec<(String, Figures)> {
    let mut rows: Vec<(String, Figures)> = org
        .units
        .iter()
        .enumerate()
        .filter(|(i, u)| !u.groups.is_empty() && scope.is_none_or(|s| org.within(*i, s)))
        .map(|(i, u)| {
            (
                u.name.clone(),
                digest::figures(org, tickets, Some(i), period.from, period.to),
            )
        })
        .collect();
    if scope.is_none() {
        let unlisted: Vec<Ticket> = tickets
            .iter()
            .filter(|t| community(org, t).is_none())
            .cloned()
            .collect();
        if !unlisted.is_empty() {
            rows.push((
                UNLISTED.to_string(),
                digest::figures(org, &unlisted, None, period.from, period.to),
            ));
        }
    }
    rows
}

/// Share of rated tickets resolved in the period rated 4 or 5 (满意率), in percent.
pub fn satisfied_rate(tickets: &[Ticket], period: &Period) -> Option<f64> {
    let rated: Vec<u8> = tickets
        .iter()
        .filter(|t| t.resolved_at.is_some_and(|at| period.contains(at)))
        .filter_map(|t| t.rating)
        .collect();
    (!rated.is_empty())
        .then(|| rated.iter().filter(|r| **r >= 4).count() as f64 * 100.0 / rated.len() as f64)
}

/// Per day: received, resolved.
pub fn daily(tickets: &[Ticket], period: &Period) -> Vec<(NaiveDate, usize, usize)> {
    let dates = period.dates();
    let index: BTreeMap<NaiveDate, usize> =
        dates.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let mut out: Vec<(NaiveDate, usize, usize)> = dates.iter().map(|d| (*d, 0, 0)).collect();
    let day = |at: DateTime<Utc>| at.with_timezone(&crate::ticket::china_tz()).date_naive();
    for t in tickets {
        if let Some(i) = index
            .get(&day(t.created_at))
            .filter(|_| period.contains(t.created_at))
        {
            out[*i].1 += 1;
        }
        if let Some(at) = t.resolved_at.filter(|at| period.contains(*at)) {
            if let Some(i) = index.get(&day(at)) {
                out[*i].2 += 1;
            }
        }
    }
    out
}

/// Tickets received in the period by category name, most first.
pub fn by_category(tickets: &[Ticket], period: &Period) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in tickets.iter().filter(|t| period.contains(t.created_at)) {
        *counts.entry(t.category_name.as_str()).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// A place where complaints cluster (热点问题).
#[derive(Debug, Clone, PartialEq)]
pub struct Hotspot {
    pub community: String,
    /// The location the classifier read (`5号楼`, `北门`); `None`: the community as a whole.
    pub location: Option<String>,
    /// The categories seen there, most first.
    pub categories: Vec<String>,
    pub tickets: usize,
    /// Reports, counting every resident who reported or joined.
    pub reports: usize,
    /// Share of reports that repeated an open ticket, or came back after a fix, in percent.
    pub repeat_rate: f64,
}

/// Places with at least `min` tickets received in the period, most first.
pub fn hotspots(org: &Org, tickets: &[Ticket], period: &Period, min: usize) -> Vec<Hotspot> {
    #[derive(Default)]
    struct Acc<'a> {
        tickets: usize,
        reports: usize,
        repeats: usize,
        categories: BTreeMap<&'a str, usize>,
    }
    let mut places: BTreeMap<(String, Option<String>), Acc> = BTreeMap::new();
    for t in tickets.iter().filter(|t| period.contains(t.created_at)) {
        let community = community(org, t).and_then(|i| org.unit(i)).map_or_else(
            || t.group_name.clone().unwrap_or_else(|| UNLISTED.into()),
            |u| u.name.clone(),
        );
        let location = t
            .location
            .as_deref()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty());
        let mut keys = vec![(community.clone(), None)];
        if let Some(l) = location {
            keys.push((community, Some(l)));
        }
        for key in keys {
            let acc = places.entry(key).or_default();
            acc.tickets += 1;
            acc.reports += t.report_count();
            acc.repeats += t.report_count() - 1 + t.reopen_count as usize;
            *acc.categories.entry(t.category_name.as_str()).or_default() += 1;
        }
    }
    let mut out: Vec<Hotspot> = places
        .into_iter()
        .filter(|(_, a)| a.tickets >= min)
        .map(|((community, location), a)| {
            let mut cats: Vec<(&str, usize)> = a.categories.into_iter().collect();
            cats.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
            Hotspot {
                community,
                location,
                categories: cats.into_iter().map(|(c, _)| c.to_string()).collect(),
                tickets: a.tickets,
                reports: a.reports,
                repeat_rate: if a.reports == 0 {
                    0.0
                } else {
                    (a.repeats as f64 * 100.0 / a.reports as f64).min(100.0)
                },
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.tickets
            .cmp(&a.tickets)
            .then(b.reports.cmp(&a.reports))
            .then(a.location.is_none().cmp(&b.location.is_none()))
            .then(a.community.cmp(&b.community))
    });
    out
}

/// Everything the monthly report shows, for one scope.
#[derive(Debug, Clone)]
pub struct MonthlyReport {
    pub scope: String,
    pub period: Period,
    pub summary: Figures,
    pub previous: Figures,
    pub satisfied_rate: Option<f64>,
    pub communities: Vec<(String, Figures)>,
    /// Tickets received in the period with their community's name, oldest first.
    pub tickets: Vec<(String, Ticket)>,
}

impl MonthlyReport {
    /// `tickets` must already be the scope's (the console filters by user scope).
    pub fn build(
        org: &Org,
        tickets: &[Ticket],
        inquiries: &[InquiryRecord],
        scope: Option<usize>,
        scope_label: &str,
        period: Period,
    ) -> MonthlyReport {
        let previous_period = period.previous();
        let mut summary = digest::figures(org, tickets, scope, period.from, period.to);
        summary.answered = digest::answered(org, inquiries, scope, period.from, period.to);
        let mut previous = digest::figures(
            org,
            tickets,
            scope,
            previous_period.from,
            previous_period.to,
        );
        previous.answered = digest::answered(
            org,
            inquiries,
            scope,
            previous_period.from,
            previous_period.to,
        );
        let mut received: Vec<(String, Ticket)> = tickets
            .iter()
            .filter(|t| period.contains(t.created_at))
            .map(|t| (community_name(org, t), t.clone()))
            .collect();
        received.sort_by_key(|(_, t)| (t.created_at, t.id));
        MonthlyReport {
            scope: scope_label.to_string(),
            satisfied_rate: satisfied_rate(tickets, &period),
            communities: by_community(org, tickets, scope, &period),
            summary,
            previous,
            period,
            tickets: received,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_their_previous() {
        let nov = Period::month("2026-11").unwrap();
        assert_eq!(nov.dates().len(), 30);
        assert_eq!(nov.previous(), Period::month("2026-10").unwrap());
        let jan = Period::month("2027-01").unwrap();
        assert_eq!(jan.previous().label, "2026年12月");
        assert!(Period::month("2026-13").is_err());
        assert!(Period::month("11月").is_err());
        let week = Period::days(
            NaiveDate::from_ymd_opt(2026, 11, 9).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 15).unwrap(),
        )
        .unwrap();
        assert_eq!(week.previous().to, week.from);
        assert_eq!(
            week.previous().to - week.previous().from,
            week.to - week.from
        );
    }
}
