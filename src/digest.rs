//! Figures for a scope of the organisation, and the digests that carry them.
//!
//! Every morning (`[digest] morning_at`, China time) each staff group gets
//! yesterday's figures for its unit and everything below it; on the 1st it
//! also gets last month's, in the city reports' form ("收到反映 N 件，办结 M
//! 件，按时办结率 x%，满意度 y"). `#统计` answers the same figures for the
//! sender's scope. Digests go through the writer as notices under a message
//! id naming the unit and the day, so each is sent once, also after a restart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::org::Org;
use crate::platform::Answer;
use crate::service::Service;
use crate::ticket::{china_tz, InquiryRecord, Ticket};

/// What one scope did in one period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub received: usize,
    pub resolved: usize,
    /// Resolved within their time, never escalated.
    pub on_time: usize,
    /// Still open at the end of the period and past their time.
    pub overdue: usize,
    /// Open tickets by owner's name (`待认领` for none).
    pub open_by_owner: BTreeMap<String, usize>,
    /// Mean hours from report to 办结, over those resolved in the period.
    pub avg_hours_to_resolve: Option<f64>,
    /// Mean rating of those resolved in the period that were rated.
    pub satisfaction: Option<f64>,
    /// Questions answered from the knowledge base (解答问询), ticket-status ones included.
    pub answered: usize,
}

/// 解答问询 in `scope` over `[from, to)`, for [`Figures::answered`].
pub fn answered(
    org: &Org,
    inquiries: &[InquiryRecord],
    scope: Option<usize>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> usize {
    inquiries
        .iter()
        .filter(|q| q.outcome.is_answered() && q.at >= from && q.at < to)
        .filter(|q| match scope {
            None => true,
            Some(unit) => org
                .community_of(&q.platform, &q.group_id, None)
                .is_some_and(|c| org.within(c, unit)),
        })
        .count()
}

/// Whether a ticket belongs to `scope` (a unit index; `None`: everything).
fn in_scope(org: &Org, t: &Ticket, scope: Option<usize>) -> bool {
    let Some(unit) = scope else { return true };
    org.community_of(&t.platform, &t.group_id, t.group_name.as_deref())
        .is_some_and(|c| org.within(c, unit))
}

/// Figures for tickets in `scope` over `[from, to)`.
pub fn figures(
    org: &Org,
    tickets: &[Ticket],
    scope: Option<usize>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Figures {
    let mut f = Figures::default();
    let within = |at: DateTime<Utc>| at >= from && at < to;
    let mut hours = Vec::new();
    let mut ratings = Vec::new();
    for t in tickets.iter().filter(|t| in_scope(org, t, scope)) {
        if within(t.created_at) {
            f.received += 1;
        }
        if let Some(at) = t.resolved_at.filter(|at| within(*at)) {
            f.resolved += 1;
            if at <= t.due_at && !t.sla.is_overdue() {
                f.on_time += 1;
            }
            hours.push((at - t.created_at).num_seconds() as f64 / 3600.0);
            if let Some(r) = t.rating {
                ratings.push(f64::from(r));
            }
        }
        if t.status.is_active() && t.created_at < to {
            let owner = t
                .officer
                .as_ref()
                .map_or("待认领".to_string(), |p| p.display().to_string());
            *f.open_by_owner.entry(owner).or_default() += 1;
            if t.sla.is_overdue() || t.due_at < to {
                f.overdue += 1;
            }
        }
    }
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    f.avg_hours_to_resolve = mean(&hours);
    f.satisfaction = mean(&ratings);
    f
}

impl Figures {
    /// `按时办结率`: on time over resolved, in percent.
    pub fn on_time_rate(&self) -> Option<f64> {
        (self.resolved > 0).then(|| self.on_time as f64 * 100.0 / self.resolved as f64)
    }

    /// The morning digest body.
    pub fn daily_text(&self, scope: &str, day: NaiveDate) -> String {
        let open = if self.open_by_owner.is_empty() {
            "无".to_string()
        } else {
            self.open_by_owner
                .iter()
                .map(|(who, n)| format!("{who} {n} 件"))
                .collect::<Vec<_>>()
                .join("、")
        };
        format!(
            "【昨日工单】{scope} {}\n收到 {} 件，办结 {} 件（按时 {} 件），超时 {} 件{}\n在办：{open}\n平均办结用时 {}，满意度 {}",
            day.format("%m月%d日"),
            self.received,
            self.resolved,
            self.on_time,
            self.overdue,
            self.answered_clause(),
            self.avg_hours_to_resolve
                .map_or("—".to_string(), |h| format!("{h:.1} 小时")),
            self.satisfaction_label(),
        )
    }

    /// The city reports' sentence.
    pub fn monthly_text(&self, scope: &str, label: &str) -> String {
        format!(
            "【{label}工单】{scope}：收到反映 {} 件，办结 {} 件{}，按时办结率 {}，满意度 {}",
            self.received,
            self.resolved,
            self.answered_clause(),
            self.on_time_rate()
                .map_or("—".to_string(), |r| format!("{r:.0}%")),
            self.satisfaction_label(),
        )
    }

    /// `，解答问询 N 件`, or nothing when none were answered.
    fn answered_clause(&self) -> String {
        if self.answered == 0 {
            String::new()
        } else {
            format!("，解答问询 {} 件", self.answered)
        }
    }

    fn satisfaction_label(&self) -> String {
        self.satisfaction
            .map_or("—".to_string(), |s| format!("{s:.1}"))
    }
}

/// `/metrics` gauges from the tickets: overdue tickets by the level they
/// have risen to, and tickets with a 回访 task by the level asked.
pub fn gauges(org: &Org, tickets: &[Ticket]) -> String {
    use std::fmt::Write;
    let level_at = |t: &Ticket, pick: &dyn Fn(&[usize]) -> Option<usize>| {
        org.community_of(&t.platform, &t.group_id, t.group_name.as_deref())
            .and_then(|c| pick(&org.chain(c)))
            .map_or("none", |u| org.units[u].level.as_str())
    };
    let mut overdue: BTreeMap<&str, usize> = BTreeMap::new();
    let mut revisits: BTreeMap<&str, usize> = BTreeMap::new();
    for t in tickets {
        if t.status.is_active() && t.sla.is_overdue() {
            let n = usize::from(t.sla.escalations);
            *overdue
                .entry(level_at(t, &|chain| {
                    chain.get(n.min(chain.len().saturating_sub(1))).copied()
                }))
                .or_default() += 1;
        }
        if t.follow_up.revisit.is_some() {
            let first_with_leaders = |chain: &[usize]| {
                chain
                    .iter()
                    .copied()
                    .find(|u| !org.units[*u].leaders.is_empty())
            };
            *revisits
                .entry(level_at(t, &first_with_leaders))
                .or_default() += 1;
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "# HELP gongdan_tickets_overdue Open tickets past their time (超时), by the level they have risen to.");
    let _ = writeln!(out, "# TYPE gongdan_tickets_overdue gauge");
    for (level, n) in &overdue {
        let _ = writeln!(out, "gongdan_tickets_overdue{{level=\"{level}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP gongdan_revisits Tickets with a 回访 task, by the level asked to call back."
    );
    let _ = writeln!(out, "# TYPE gongdan_revisits gauge");
    for (level, n) in &revisits {
        let _ = writeln!(out, "gongdan_revisits{{level=\"{level}\"}} {n}");
    }
    out
}

/// Midnight starting `day`, China time.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    china_tz()
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .single()
        .map_or(DateTime::<Utc>::MIN_UTC, |d| d.with_timezone(&Utc))
}

/// Send today's digests if their time has come: yesterday's figures every
/// day, last month's on the 1st. Returns those sent now (each as the
/// answer of its notice: group and text), or `None` when today's time has
/// not come yet (or digests are off).
pub async fn send_due(
    service: &Service,
    now: DateTime<Utc>,
) -> Result<Option<Vec<Answer>>, crate::service::ServiceError> {
    let cfg = &service.config().digest;
    let Some(at) = crate::sla::parse_hhmm(&cfg.morning_at).filter(|_| cfg.enabled) else {
        return Ok(None);
    };
    let local = now.with_timezone(&china_tz());
    let today = local.date_naive();
    let minutes = local.hour_minute();
    if minutes < at {
        return Ok(None);
    }
    let org = service.org();
    if org.units.iter().all(|u| u.staff_group.is_none()) {
        return Ok(Some(Vec::new()));
    }
    let store = service.store().clone();
    let (tickets, inquiries) = tokio::task::spawn_blocking(move || {
        Ok::<_, crate::ticket::StoreError>((store.all_tickets()?, store.inquiries()?))
    })
    .await??;
    let yesterday = today.pred_opt().unwrap_or(today);
    let (from, to) = (day_start(yesterday), day_start(today));
    let month_start = today.with_day(1).unwrap_or(today);
    let last_month = month_start
        .checked_sub_months(Months::new(1))
        .unwrap_or(month_start);
    let mut sent = Vec::new();
    for (i, unit) in org.units.iter().enumerate() {
        let Some(staff) = &unit.staff_group else {
            continue;
        };
        let mut day = figures(&org, &tickets, Some(i), from, to);
        day.answered = answered(&org, &inquiries, Some(i), from, to);
        let mut texts = vec![(
            format!("digest:{}:{today}", unit.name),
            day.daily_text(&unit.name, yesterday),
        )];
        if today.day() == 1 && cfg.monthly {
            let label = format!("{}月", last_month.month());
            let (from, to) = (day_start(last_month), day_start(month_start));
            let mut f = figures(&org, &tickets, Some(i), from, to);
            f.answered = answered(&org, &inquiries, Some(i), from, to);
            texts.push((
                format!("monthly:{}:{}", unit.name, last_month.format("%Y-%m")),
                f.monthly_text(&unit.name, &label),
            ));
        }
        for (message_id, text) in texts {
            if let Some(answer) = service
                .post_notice(&staff.platform, &staff.group, message_id, text, now)
                .await?
            {
                sent.push(answer);
            }
        }
    }
    Ok(Some(sent))
}

/// The morning digest over every ticket, once its time has come today
/// (`None` before `morning_at`, or with digests off): what `gongdan chat`
/// shows when no unit in `org.toml` has a staff group to receive one.
pub async fn overall_due(
    service: &Service,
    now: DateTime<Utc>,
) -> Result<Option<(NaiveDate, String)>, crate::service::ServiceError> {
    let cfg = &service.config().digest;
    let Some(at) = crate::sla::parse_hhmm(&cfg.morning_at).filter(|_| cfg.enabled) else {
        return Ok(None);
    };
    let local = now.with_timezone(&china_tz());
    let today = local.date_naive();
    if local.hour_minute() < at {
        return Ok(None);
    }
    let store = service.store().clone();
    let tickets = tokio::task::spawn_blocking(move || store.all_tickets()).await??;
    let yesterday = today.pred_opt().unwrap_or(today);
    let f = figures(
        &service.org(),
        &tickets,
        None,
        day_start(yesterday),
        day_start(today),
    );
    Ok(Some((today, f.daily_text("全部", yesterday))))
}

trait HourMinute {
    fn hour_minute(&self) -> u32;
}

impl<T: chrono::Timelike> HourMinute for T {
    fn hour_minute(&self) -> u32 {
        self.hour() * 60 + self.minute()
    }
}

/// Look every minute and whenever the clock jumps, until shutdown.
pub async fn run(service: Arc<Service>) {
    let mut shutdown = service.shutdown_signal();
    let mut jumps = service.clock().jumps();
    // The day whose digests are out: no need to read every ticket again
    // each minute (after a restart the ids make the first try a no-op).
    let mut done_for: Option<NaiveDate> = None;
    loop {
        jumps.mark_unchanged();
        let now = service.clock().now();
        let today = now.with_timezone(&china_tz()).date_naive();
        if done_for != Some(today) {
            match send_due(&service, now).await {
                Ok(None) => {}
                Ok(Some(sent)) => {
                    done_for = Some(today);
                    if !sent.is_empty() {
                        tracing::info!(digests = sent.len(), "digests sent");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "digest run failed; will retry"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            Ok(()) = jumps.changed() => {}
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticket::InquiryOutcome;

    #[test]
    fn answered_questions_count_in_the_digest_and_only_in_their_period() {
        let q = |at: &str, outcome| InquiryRecord {
            at: at.parse().unwrap(),
            platform: "generic".into(),
            group_id: "g1".into(),
            sender_id: "u1".into(),
            text: "请问旧沙发放哪".into(),
            outcome,
            entry: Some("bulky_waste".into()),
            ticket: None,
        };
        let asked = [
            q("2026-03-01T02:00:00Z", InquiryOutcome::Answered),
            q("2026-03-01T03:00:00Z", InquiryOutcome::TicketStatus),
            q("2026-03-01T04:00:00Z", InquiryOutcome::Unanswered),
            q("2026-03-02T04:00:00Z", InquiryOutcome::Answered),
        ];
        let (from, to) = (
            "2026-03-01T00:00:00Z".parse().unwrap(),
            "2026-03-02T00:00:00Z".parse().unwrap(),
        );
        let n = answered(&Org::default(), &asked, None, from, to);
        assert_eq!(n, 2);
        let f = Figures {
            answered: n,
            ..Figures::default()
        };
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert!(f
            .daily_text("阳光社区", day)
            .contains("超时 0 件，解答问询 2 件"));
        assert!(f
            .monthly_text("阳光社区", "3月")
            .contains("办结 0 件，解答问询 2 件，"));
        // None answered: the digest reads as before.
        assert!(!Figures::default()
            .daily_text("阳光社区", day)
            .contains("解答问询"));
    }
}
