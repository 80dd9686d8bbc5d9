//! The read-only answers: `#查询` (one ticket and its latest events) and `#列表`.

use super::super::command::ListScope;
use super::super::export::{ticket_brief, ticket_line};
use super::super::model::TicketId;
use super::super::reply::{render_key, template};
use super::super::store::ListFilter;
use super::{Planner, StoreError, LIST_LIMIT};

impl Planner<'_> {
    pub(super) fn show(&mut self, id: TicketId) -> Result<(), StoreError> {
        let Some(t) = self.store.get(id)? else {
            self.not_found(id);
            return Ok(());
        };
        // Residents only see their own group's tickets: others may name people.
        let same_group = t.platform == self.msg.platform && t.group_id == self.msg.group_id;
        if !self.role.is_officer() && !same_group && !self.is_reporter(&t) {
            let text = self.render_ticket("not_in_group", &t, &[]);
            self.say_here(text, Some(id));
            return Ok(());
        }
        let history = self.store.history(id)?;
        let text = ticket_brief(&t, &history, self.now);
        self.plan.ticket = Some(id);
        self.say_here(text, Some(id));
        Ok(())
    }

    pub(super) fn list(&mut self, scope: &ListScope) -> Result<(), StoreError> {
        let mut f = ListFilter {
            limit: Some(LIST_LIMIT + 1),
            ..ListFilter::default()
        };
        // Residents see their own group only; officers work across groups.
        if !self.role.is_officer() {
            f.group = Some((self.msg.platform.clone(), self.msg.group_id.clone()));
        }
        let title = match scope {
            ListScope::Active => {
                f.active_only = true;
                "未结案工单".to_string()
            }
            ListScope::All => "全部工单".to_string(),
            ListScope::Mine if self.role.is_officer() => {
                f.officer = Some(self.msg.sender_id.clone());
                f.active_only = true;
                "我负责的工单".to_string()
            }
            ListScope::Mine => {
                f.reporter = Some(self.msg.sender_id.clone());
                "我反映的工单".to_string()
            }
            ListScope::Status(s) => {
                f.status = Some(*s);
                format!("{}的工单", s.label())
            }
            ListScope::Category(word) => match self.find_category(word) {
                Some((id, name)) => {
                    f.category = Some(id);
                    format!("{name}类工单")
                }
                None => {
                    let text = render_key(
                        "unknown_category",
                        &self.ctx.replies,
                        &[
                            ("note", word.clone()),
                            ("categories", self.category_names()),
                        ],
                    );
                    self.say_here(text, None);
                    return Ok(());
                }
            },
        };
        let tickets = self.store.list(&f)?;
        if tickets.is_empty() {
            let text = template("list_empty", &self.ctx.replies).into_owned();
            self.say_here(text, None);
            return Ok(());
        }
        let mut text = format!("{title}（最近 {} 条）：", tickets.len().min(LIST_LIMIT));
        for t in tickets.iter().take(LIST_LIMIT) {
            text.push('\n');
            text.push_str(&ticket_line(t, self.now));
        }
        if tickets.len() > LIST_LIMIT {
            text.push_str("\n……更多请用 #列表 状态 或 #列表 类别 筛选");
        }
        self.say_here(text, None);
        Ok(())
    }
}
