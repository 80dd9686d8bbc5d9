//! The officers' side of planning: 首接负责 (first-responder assignment), staff cards, leave.
//!
//! A community listed in `org.toml` owns the tickets from its residents'
//! groups: the next station officer not on leave gets each new one, and the
//! community's staff group gets a short card. Both happen in the same plan as
//! the ticket, so a crash cannot leave a ticket without its owner or card.

use super::super::command::Period;
use super::super::export::stats_text;
use super::super::model::{EventKind, Person, Role, Ticket};
use super::super::reply::mask_phones;
use super::super::store::{china_tz, keys, period_start};
use super::super::workflow::{self, Act};
use super::Planner;
use crate::service::AUTO_CLOSE_ACTOR;

impl Planner<'_> {
    /// Assigns a new ticket to its community's next available station
    /// officer; returns the community's index when the group has one (the
    /// card goes out even when everyone is on leave).
    pub(super) fn first_responder(
        &mut self,
        t: &mut Ticket,
    ) -> Result<Option<usize>, super::StoreError> {
        let org = self.ctx.org.clone();
        let Some(ci) = org.community_of(&t.platform, &t.group_id, t.group_name.as_deref()) else {
            return Ok(None);
        };
        let unit = &org.units[ci];
        let n = unit.officers.len();
        if n == 0 {
            return Ok(Some(ci));
        }
        let turn_key = keys::turn(&unit.name);
        let turn = self
            .store
            .meta_get(&turn_key)?
            .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
            .map_or(0, u64::from_be_bytes) as usize;
        // Round-robin over the whole list, stepping over anyone on leave.
        let mut pick = None;
        for k in 0..n {
            let i = (turn + k) % n;
            if !self.store.is_away(&unit.officers[i].key())? {
                pick = Some(i);
                break;
            }
        }
        let Some(i) = pick else {
            return Ok(Some(ci));
        };
        let Ok(target) = workflow::check(t.id, t.status, Act::Assign) else {
            return Ok(Some(ci));
        };
        let m = &unit.officers[i];
        let from = t.status;
        t.officer = Some(Person {
            id: m.id.clone(),
            name: m.name.clone(),
        });
        t.status = workflow::target_status(from, target, true);
        self.event(
            t,
            EventKind::Assigned,
            Some(from),
            Some(format!("首接负责：{}", unit.name)),
        )?;
        self.by_system();
        self.plan
            .meta
            .push((turn_key, Some(((i + 1) as u64).to_be_bytes().to_vec())));
        Ok(Some(ci))
    }

    /// The last event planned was the service's own doing, not the sender's.
    pub(super) fn by_system(&mut self) {
        if let Some((_, e)) = self.plan.events.last_mut() {
            e.actor = format!("{}:{AUTO_CLOSE_ACTOR}", self.msg.platform);
            e.actor_name = Some("工单助手".into());
            e.role = Role::Officer;
        }
    }

    /// `#1001 乱堆乱放（5号楼）` … to the community's staff group.
    pub(super) fn staff_card(&mut self, community: usize, t: &Ticket) {
        let org = self.ctx.org.clone();
        let Some(staff) = org.units.get(community).and_then(|u| u.staff_group.clone()) else {
            return;
        };
        let owner = match &t.officer {
            Some(p) => format!("@{}", p.display()),
            None => "待认领（站内队员均请假）".to_string(),
        };
        let due = t.due_at.with_timezone(&china_tz()).format("%m月%d日 %H:%M");
        let text = format!(
            "【新工单】{} {}{}\n内容：{}\n首接：{owner}，限 {due} 前办结",
            t.id,
            t.category_name,
            t.location_suffix(),
            mask_phones(&t.text),
        );
        self.push_reply(&staff.platform, &staff.group, &text, Some(t.id));
    }

    /// `#统计`: someone in org.toml gets their own scope's figures; others
    /// the whole service's counts.
    pub(super) fn stats(&mut self, period: Period) -> Result<(), super::StoreError> {
        let org = self.ctx.org.clone();
        let key = format!("{}:{}", self.msg.platform, self.msg.sender_id);
        let Some(unit) = org.scope_of(&key) else {
            let stats = self.store.stats(period, self.now)?;
            self.say_here(stats_text(&stats), None);
            return Ok(());
        };
        let tickets = self.store.all_tickets()?;
        let from = period_start(period, self.now);
        let to = self.now + chrono::Duration::seconds(1);
        let label = match period {
            Period::Today => "今日",
            Period::Week => "本周",
            Period::Month => "本月",
        };
        let text = crate::digest::figures(&org, &tickets, Some(unit), from, to)
            .monthly_text(&org.units[unit].name, label);
        self.say_here(text, None);
        Ok(())
    }

    /// A transfer to a department org.toml lists with a contact group: it
    /// gets the case there, with its fresh deadline.
    pub(super) fn department_card(&mut self, t: &Ticket) {
        let org = self.ctx.org.clone();
        let Some(g) = org
            .departments
            .iter()
            .find(|d| d.name == t.department.trim())
            .and_then(|d| d.contact_group.clone())
        else {
            return;
        };
        let due = t.due_at.with_timezone(&china_tz()).format("%m月%d日 %H:%M");
        let text = format!(
            "【转办】{} {}{} 转至{}\n内容：{}\n请于 {due} 前办结。",
            t.id,
            t.category_name,
            t.location_suffix(),
            t.department,
            mask_phones(&t.text),
        );
        self.push_reply(&g.platform, &g.group, &text, Some(t.id));
    }

    /// `#请假` / `#销假`: recorded by sender, answered where typed.
    pub(super) fn away(&mut self, away: bool) {
        let key = keys::away(&format!("{}:{}", self.msg.platform, self.msg.sender_id));
        let text = if away {
            self.plan.meta.push((key, Some(b"1".to_vec())));
            "已登记请假：新工单暂不派给你，发送 #销假 恢复。"
        } else {
            self.plan.meta.push((key, None));
            "已销假：新工单会照常派给你。"
        };
        self.say_here(text.to_string(), None);
    }
}
