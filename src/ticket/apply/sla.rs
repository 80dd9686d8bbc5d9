//! Planning the SLA timer's steps: the 临期提醒 to the owner and 超时升级 up the tree.
//!
//! The step comes from [`crate::sla::Policy::next_step`], the same function
//! the timer used to decide to send it, so a step the ticket already records
//! (a repeat, a run after a restart) plans nothing.

use super::super::model::{EventKind, Ticket, TicketId};
use super::super::store::china_tz;
use super::super::workflow::{self, Act};
use super::{Planner, StoreError};
use crate::sla::{levels_above, Step};

impl Planner<'_> {
    pub(super) fn sla_step(&mut self, id: TicketId) -> Result<(), StoreError> {
        let Some(mut t) = self.load(id)? else {
            return Ok(());
        };
        let org = self.ctx.org.clone();
        let Some(step) = self
            .ctx
            .sla
            .next_step(&t, self.now, &levels_above(&org, &t))
        else {
            return Ok(());
        };
        let act = match step {
            Step::Remind => Act::Remind,
            Step::Escalate(_) => Act::Escalate,
        };
        if workflow::check(t.id, t.status, act).is_err() {
            return Ok(());
        }
        self.plan.ticket = Some(t.id);
        let chain = org
            .community_of(&t.platform, &t.group_id, t.group_name.as_deref())
            .map(|c| org.chain(c))
            .unwrap_or_default();
        let owner = match &t.officer {
            Some(p) => format!("@{}", p.display()),
            None => "（尚无人认领）".to_string(),
        };
        let due = t.due_at.with_timezone(&china_tz()).format("%m月%d日 %H:%M");
        let what = format!("{} {}{}", t.id, t.category_name, t.location_suffix());
        let from = t.status;
        match step {
            Step::Remind => {
                t.sla.reminded = true;
                let percent = self.ctx.sla.remind_percent;
                self.event(
                    &t,
                    EventKind::SlaReminded,
                    Some(from),
                    Some(format!("已用时 {percent}%")),
                )?;
                self.by_system();
                let staff = chain
                    .first()
                    .and_then(|c| org.units[*c].staff_group.clone());
                if let Some(g) = staff {
                    let text = format!(
                        "【临期提醒】{what} 已用去 {percent}% 办理时限，限 {due} 前办结。{owner} 请抓紧处理。"
                    );
                    self.push_reply(&g.platform, &g.group, &text, Some(t.id));
                }
            }
            Step::Escalate(n) => {
                t.sla.escalations = n;
                let up = chain.get(usize::from(n)).map(|i| &org.units[*i]);
                let note = match up {
                    Some(u) => format!("超时，升级至{}", u.name),
                    None => "超时".to_string(),
                };
                self.event(&t, EventKind::Escalated, Some(from), Some(note))?;
                self.by_system();
                if let Some(u) = up {
                    if let Some(g) = &u.staff_group {
                        let leaders = if u.leaders.is_empty() {
                            format!("{}负责人", u.name)
                        } else {
                            u.leaders
                                .iter()
                                .map(|m| m.mention())
                                .collect::<Vec<_>>()
                                .join("、")
                        };
                        // The period just used up: the community's, or that
                        // of the level it had risen to.
                        let was_at = usize::from(n - 1);
                        let level = (was_at > 0)
                            .then(|| chain.get(was_at).map(|i| org.units[*i].level))
                            .flatten();
                        let text = format!(
                            "【超时升级】{what} 已超过 {} 小时办理时限（限 {due}），首接 {owner} 尚未办结，升级至{}（{}）：请 {leaders} 督办。",
                            self.ctx.sla.period_hours(&t, level),
                            u.name,
                            u.level.label(),
                        );
                        self.push_reply(&g.platform, &g.group, &text, Some(t.id));
                    }
                }
            }
        }
        self.save(t);
        Ok(())
    }

    /// 挂账 resumes: the time on hold is not counted, the deadline moves.
    pub(super) fn resume_clock(&mut self, t: &mut Ticket) {
        if let Some(held) = t.sla.held_since.take() {
            t.sla.paused_secs += self.ctx.sla.counted(held, self.now);
        }
        t.due_at = self.ctx.sla.due(t, self.now);
    }

    /// A transfer or reopening: a fresh clock and deadline.
    pub(super) fn restart_clock(&mut self, t: &mut Ticket) {
        t.sla.restart(self.now);
        t.due_at = self
            .ctx
            .sla
            .after(self.now, i64::from(t.sla_hours.max(1)) * 3600);
    }
}
