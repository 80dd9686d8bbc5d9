//! After the fix: 差评二次回访 (a leader calls back after a poor rating or a
//! second 未解决) and 回马枪 re-inspections (`#复查`, `#复查通过`, `#复查发现`).
//!
//! Revisits go to the leaders of the owner's community (or the first level
//! above with leaders) in that level's staff group; a leader of the
//! ticket's chain (or an admin) records the result with `#回访 N 满意|不满意`,
//! which ends the task, and an unhappy resident reopens a finished case.
//! Re-inspection reminders go back to the group where `#复查` was typed.

use chrono::Duration;

use super::super::model::{EventKind, Revisit, Role, Status, Ticket, TicketId};
use super::super::store::china_tz;
use super::super::workflow::{self, Act};
use super::{Planner, StoreError};

impl Planner<'_> {
    /// Opens a 回访 task (once per ticket while one is open) and tells the leaders.
    pub(super) fn open_revisit(
        &mut self,
        t: &mut Ticket,
        reason: String,
    ) -> Result<(), StoreError> {
        let org = self.ctx.org.clone();
        let chain = org
            .community_of(&t.platform, &t.group_id, t.group_name.as_deref())
            .map(|c| org.chain(c))
            .unwrap_or_default();
        let unit = chain
            .iter()
            .map(|i| &org.units[*i])
            .find(|u| !u.leaders.is_empty());
        let leaders = match unit {
            Some(u) => u
                .leaders
                .iter()
                .map(|m| m.mention())
                .collect::<Vec<_>>()
                .join("、"),
            None => "负责人".to_string(),
        };
        t.follow_up.revisit = Some(Revisit {
            leaders: leaders.clone(),
            reason: reason.clone(),
            opened_at: self.now,
        });
        let from = t.status;
        self.event(
            t,
            EventKind::RevisitOpened,
            Some(from),
            Some(format!("{reason}，请 {leaders} 回访")),
        )?;
        let owner = t
            .officer
            .as_ref()
            .map_or("（无）".to_string(), |p| format!("@{}", p.display()));
        let text = format!(
            "【二次回访】{} {}{}：{reason}。请 {leaders} 安排回访（首接 {owner}）。",
            t.id,
            t.category_name,
            t.location_suffix()
        );
        if let Some(g) = unit.and_then(|u| u.staff_group.clone()) {
            self.push_reply(&g.platform, &g.group, &text, Some(t.id));
        }
        Ok(())
    }

    /// Why the sender may not record this ticket's 回访 result, if not: no
    /// task is open, or they are neither a leader of a unit over the
    /// ticket's community nor an admin.
    pub(super) fn revisit_refusal(&self, t: &Ticket) -> Option<String> {
        let Some(task) = &t.follow_up.revisit else {
            return Some(format!("{} 没有待登记的回访任务。", t.id));
        };
        if self.role == Role::Admin {
            return None;
        }
        let me = format!("{}:{}", self.msg.platform, self.msg.sender_id);
        let org = &self.ctx.org;
        let leader = org
            .community_of(&t.platform, &t.group_id, t.group_name.as_deref())
            .map(|c| org.chain(c))
            .unwrap_or_default()
            .iter()
            .any(|u| org.units[*u].leaders.iter().any(|m| m.key() == me));
        (!leader).then(|| {
            format!(
                "抱歉，工单 {} 的回访结果只能由负责回访的领导（{}）或管理员登记。",
                t.id, task.leaders
            )
        })
    }

    /// `#回访 N 满意|不满意 说明`: the result is an event and the task ends;
    /// an unhappy resident sends a finished case back to work.
    pub(super) fn revisit_result(
        &mut self,
        t: &mut Ticket,
        to: Status,
        satisfied: bool,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        let reason = t
            .follow_up
            .revisit
            .take()
            .map_or(String::new(), |r| r.reason);
        let who = self.me().display().to_string();
        let detail = note.map_or(String::new(), |n| format!("（{n}）"));
        let from = t.status;
        t.updated_at = self.now;
        if satisfied {
            let note = format!("{who} 回访：居民满意{detail}");
            self.event(t, EventKind::RevisitSatisfied, Some(from), Some(note))?;
            self.say_here(
                format!("{} 回访已登记：居民满意{detail}，回访任务结束。", t.id),
                Some(t.id),
            );
            return Ok(());
        }
        let note = format!("{who} 回访：居民不满意{detail}，起因：{reason}");
        if to == from {
            // Still at work (a second 未解决 reopened it already).
            self.event(t, EventKind::RevisitUnsatisfied, Some(from), Some(note))?;
            self.say_here(
                format!(
                    "{} 回访已登记：居民不满意{detail}，工单仍在办理中，请抓紧处理。",
                    t.id
                ),
                Some(t.id),
            );
            return Ok(());
        }
        self.reopen(t, to, EventKind::RevisitUnsatisfied, note)?;
        let owner = t.officer.as_ref().map_or("（待认领）".to_string(), |p| {
            format!("@{}", p.display())
        });
        let residents = format!(
            "{} {}{} 经回访仍未让您满意，已重新处理，处理结果会在群里告知。",
            t.id,
            t.category_name,
            t.location_suffix()
        );
        self.push_reply(
            &t.platform.clone(),
            &t.group_id.clone(),
            &residents,
            Some(t.id),
        );
        self.say_here(
            format!(
                "{} 回访已登记：居民不满意{detail}，工单已重开，由 {owner} 继续办理。",
                t.id
            ),
            Some(t.id),
        );
        Ok(())
    }

    pub(super) fn schedule_recheck(
        &mut self,
        t: &mut Ticket,
        hours: u32,
    ) -> Result<(), StoreError> {
        let at = self.now + Duration::hours(i64::from(hours));
        t.follow_up.recheck_at = Some(at);
        t.follow_up.recheck_reminded = false;
        t.follow_up.recheck_group = Some((self.msg.platform.clone(), self.msg.group_id.clone()));
        let when = at.with_timezone(&china_tz()).format("%m月%d日 %H:%M");
        let from = t.status;
        self.event(
            t,
            EventKind::RecheckScheduled,
            Some(from),
            Some(format!("{when} 复查")),
        )?;
        self.say_here(
            format!("已安排复查：{} 将于 {when} 提醒复查现场。", t.id),
            Some(t.id),
        );
        Ok(())
    }

    pub(super) fn recheck_pass(&mut self, t: &mut Ticket) -> Result<(), StoreError> {
        t.follow_up.recheck_at = None;
        t.follow_up.recheck_reminded = false;
        let from = t.status;
        self.event(t, EventKind::RecheckPassed, Some(from), None)?;
        self.say_here(
            format!("{} 复查通过，未见反弹，复查结束。", t.id),
            Some(t.id),
        );
        Ok(())
    }

    /// The problem is back: reopened, marked recurring, residents told.
    pub(super) fn recheck_found(
        &mut self,
        t: &mut Ticket,
        to: Status,
        note: &str,
    ) -> Result<(), StoreError> {
        t.follow_up.recheck_at = None;
        t.follow_up.recheck_reminded = false;
        t.follow_up.recurring = true;
        self.reopen(t, to, EventKind::RecheckFound, note.to_string())?;
        let text = format!(
            "{} {}{} 复查发现问题反弹（{note}），已重新立案处理。",
            t.id,
            t.category_name,
            t.location_suffix()
        );
        self.say_about(t, text);
        Ok(())
    }

    /// The timer's reminder for a due `#复查`, once.
    pub(super) fn recheck_due(&mut self, id: TicketId) -> Result<(), StoreError> {
        let Some(mut t) = self.load(id)? else {
            return Ok(());
        };
        let due = t.follow_up.recheck_at.is_some_and(|at| at <= self.now);
        if !due
            || t.follow_up.recheck_reminded
            || workflow::check(id, t.status, Act::RecheckDue).is_err()
        {
            return Ok(());
        }
        self.plan.ticket = Some(id);
        t.follow_up.recheck_reminded = true;
        let from = t.status;
        self.event(&t, EventKind::RecheckDue, Some(from), None)?;
        self.by_system();
        let owner = t
            .officer
            .as_ref()
            .map_or(String::new(), |p| format!("@{} ", p.display()));
        let text = format!(
            "【复查提醒】{} {}{} 到了复查时间，{owner}请回访现场，之后发送 #复查通过 {n} 或 #复查发现 {n} 说明。",
            t.id,
            t.category_name,
            t.location_suffix(),
            n = id.get()
        );
        let (p, g) = t
            .follow_up
            .recheck_group
            .clone()
            .unwrap_or((t.platform.clone(), t.group_id.clone()));
        self.push_reply(&p, &g, &text, Some(id));
        self.save(t);
        Ok(())
    }
}
