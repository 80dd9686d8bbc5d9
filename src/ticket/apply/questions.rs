//! Planning a question (咨询): an answer, a ticket's status, or a log line for admins; never a ticket of its own.

use super::*;

impl Planner<'_> {
    /// Answer a question, or tell the resident where their ticket stands;
    /// either way record it, and never open a ticket.
    pub(super) fn inquiry(&mut self, q: &Inquiry) -> Result<(), StoreError> {
        let (outcome, entry, ticket) = match q {
            Inquiry::Answered { entry, text } => {
                self.say_here(text.clone(), None);
                (InquiryOutcome::Answered, Some(entry.clone()), None)
            }
            Inquiry::TicketStatus {
                number: Some(n), ..
            } => match TicketId::new(*n) {
                Some(id) => {
                    // `show` refuses a resident another group's ticket.
                    self.show(id)?;
                    (InquiryOutcome::TicketStatus, None, Some(id.get()))
                }
                None => {
                    let text = render_key("no_open_ticket", &self.ctx.replies, &[]);
                    self.say_here(text, None);
                    (InquiryOutcome::TicketStatus, None, None)
                }
            },
            Inquiry::TicketStatus {
                number: None,
                categories,
                otherwise,
            } => match self.my_open_ticket(categories)? {
                Some(id) => {
                    self.show(id)?;
                    (InquiryOutcome::TicketStatus, None, Some(id.get()))
                }
                // No ticket of theirs to ask after: the complaint it also is.
                None if otherwise.is_some() => {
                    return match otherwise {
                        Some(c) => self.complaint(c),
                        None => Ok(()),
                    };
                }
                None => {
                    let text = render_key("no_open_ticket", &self.ctx.replies, &[]);
                    self.say_here(text, None);
                    (InquiryOutcome::TicketStatus, None, None)
                }
            },
            Inquiry::Unanswered => (InquiryOutcome::Unanswered, None, None),
        };
        self.plan.inquiry = Some(InquiryRecord {
            at: self.now,
            platform: self.msg.platform.clone(),
            group_id: self.msg.group_id.clone(),
            sender_id: self.msg.sender_id.clone(),
            text: self.msg.text.trim().to_string(),
            outcome,
            entry,
            ticket,
        });
        Ok(())
    }

    /// The sender's open ticket in this group: of the first of `categories`
    /// they have one in, else their newest.
    fn my_open_ticket(&mut self, categories: &[String]) -> Result<Option<TicketId>, StoreError> {
        let ids: Vec<TicketId> = self
            .store
            .ids_in_group(&self.msg.platform, &self.msg.group_id)
            .take(DUPLICATE_SCAN_LIMIT)
            .collect::<Result<_, _>>()?;
        let mut mine = Vec::new();
        for id in ids {
            if let Some(t) = self.store.get(id)? {
                if t.status.is_active() && self.is_reporter(&t) {
                    mine.push(t);
                }
            }
        }
        let by_category = categories
            .iter()
            .find_map(|c| mine.iter().find(|t| t.category == *c));
        Ok(by_category.or(mine.first()).map(|t| t.id))
    }
}
