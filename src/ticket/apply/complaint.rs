//! A complaint: joined to an open ticket about the same problem, or a new
//! ticket, assigned on the spot under 首接负责 when its group is a community's.

use chrono::Duration;

use super::super::command::Command;
use super::super::correction::CorrectionKind;
use super::super::duplicate;
use super::super::model::{ComplaintInput, EventKind, Status, Ticket, TicketId, UNCLASSIFIED_ID};
use super::super::reply::{render, ticket_vars};
use super::{Planner, StoreError, DUPLICATE_SCAN_LIMIT};

impl Planner<'_> {
    /// The complaint as the ticket keeps it: `#投诉 xxx` keeps only `xxx`.
    fn complaint_text(&self) -> String {
        match Command::parse(&self.msg.text) {
            Some(Ok(Command::Report(content))) => content,
            _ => self.msg.text.trim().to_string(),
        }
    }

    pub(super) fn complaint(&mut self, input: &ComplaintInput) -> Result<(), StoreError> {
        let text = self.complaint_text();
        let mut best: Option<(f64, TicketId)> = None;
        let ids: Vec<TicketId> = self
            .store
            .ids_in_group(&self.msg.platform, &self.msg.group_id)
            .take(DUPLICATE_SCAN_LIMIT)
            .collect::<Result<_, _>>()?;
        let window_start = self.now - Duration::hours(i64::from(self.ctx.duplicate_window_hours));
        for id in ids {
            let Some(t) = self.store.get(id)? else {
                continue;
            };
            // Ids come newest first and numbers grow with time: once one is
            // older than the window, so is every ticket after it.
            if t.created_at < window_start {
                break;
            }
            let score = duplicate::score(
                &t,
                input,
                &self.msg.platform,
                &self.msg.group_id,
                self.now,
                self.ctx.duplicate_window_hours,
            );
            if let Some(s) = score {
                // Ties go to the newer ticket (ids come newest first).
                if best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, id));
                }
            }
        }
        match best {
            Some((_, id)) => self.join_existing(id, input, &text)?,
            None => self.create(input, text.clone())?,
        }
        if input.missed {
            let label = (input.category.as_str(), input.category_name.as_str());
            let ticket = self.plan.ticket;
            self.correct(CorrectionKind::Reported, ticket, &text, label, None);
        }
        Ok(())
    }

    fn join_existing(
        &mut self,
        id: TicketId,
        input: &ComplaintInput,
        text: &str,
    ) -> Result<(), StoreError> {
        let Some(mut t) = self.load(id)? else {
            return Ok(());
        };
        let added = t.add_supporter(self.me());
        let new_images: Vec<String> = self
            .msg
            .images
            .iter()
            .filter(|i| !t.attachments.contains(i))
            .cloned()
            .collect();
        let changed = added || !new_images.is_empty();
        t.attachments.extend(new_images);
        if changed {
            t.priority = t.priority.max(input.priority);
            t.updated_at = self.now;
            let kind = if added {
                EventKind::Supported
            } else {
                EventKind::Supplemented
            };
            self.event(&t, kind, Some(t.status), Some(text.to_string()))?;
        }
        let key = if added {
            "supported"
        } else {
            "supported_again"
        };
        let reply = self.render_ticket(key, &t, &[]);
        self.plan.ticket = Some(t.id);
        self.say_about(&t, reply);
        self.save(t);
        Ok(())
    }

    fn create(&mut self, input: &ComplaintInput, text: String) -> Result<(), StoreError> {
        let id = self.store.next_ticket_id()?;
        let sla = input.sla_hours.max(1);
        let location = input
            .location
            .as_ref()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty());
        let t = Ticket {
            id,
            status: Status::Open,
            category: input.category.clone(),
            category_name: input.category_name.clone(),
            department: input.department.clone(),
            priority: input.priority,
            sla_hours: sla,
            location,
            text,
            tokens: input.tokens.clone(),
            platform: self.msg.platform.clone(),
            group_id: self.msg.group_id.clone(),
            group_name: self.msg.group_name.clone(),
            reporter: self.me(),
            supporters: Vec::new(),
            attachments: self.msg.images.clone(),
            officer: None,
            created_at: self.now,
            updated_at: self.now,
            due_at: self.now + Duration::hours(i64::from(sla)),
            resolved_at: None,
            closed_at: None,
            status_reason: None,
            resolution: None,
            merged_into: None,
            rating: None,
            reopen_count: 0,
            source_message_id: self.msg.message_id.clone(),
            sla: super::super::model::SlaState {
                started_at: Some(self.now),
                ..Default::default()
            },
            follow_up: Default::default(),
        };
        let mut t = t;
        t.sla_hours = self.ctx.sla.hours_for(t.priority, sla);
        t.due_at = self.ctx.sla.after(self.now, i64::from(t.sla_hours) * 3600);
        self.event(&t, EventKind::Created, None, None)?;
        // 首接负责: the community's station officer owns it from the start.
        let community = self.first_responder(&mut t)?;
        // A category's own reply beats the configured and default "created" reply.
        let category_template = input.reply_template.clone().or_else(|| {
            self.ctx
                .categories
                .get(&input.category)
                .and_then(|c| c.reply_template.clone())
        });
        let reply = match category_template {
            Some(tpl) => render(&tpl, &ticket_vars(&t)),
            None if t.category == UNCLASSIFIED_ID => {
                self.render_ticket("created_unclassified", &t, &[])
            }
            None => self.render_ticket("created", &t, &[]),
        };
        self.plan.ticket = Some(id);
        self.plan.new_ticket = Some(id);
        self.say_about(&t, reply);
        if let Some(c) = community {
            self.staff_card(c, &t);
        }
        self.save(t);
        Ok(())
    }
}
