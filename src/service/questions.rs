//! Questions (问询答复): a message that is no command is a complaint if the
//! classifier says so, else perhaps a question the knowledge base answers,
//! a ticket-status question, or one logged for admins.

use super::*;
use crate::answer::{Contacts, Decision, Response};
use crate::classify::Classification;

impl Service {
    /// The contacts of the community `msg`'s group belongs to, for
    /// `{station}`-style placeholders (neutral phrases where `org.toml` says nothing).
    fn contacts(&self, msg: &InboundMessage) -> Contacts {
        Contacts::for_group(
            &self.org(),
            &msg.platform,
            &msg.group_id,
            msg.group_name.as_deref(),
        )
    }

    /// A message that is no command: a complaint if the classifier says so,
    /// else perhaps a question the knowledge base answers (or logs).
    pub(super) fn complaint_or_question(&self, msg: &InboundMessage) -> Option<Action> {
        let text = msg.text.as_str();
        let (rules, kb) = (self.rules(), self.answers());
        let started = Instant::now();
        let decision = answer::decide(&rules, &kb, text);
        self.metrics.classify_latency(started.elapsed());
        match decision {
            Decision::Complaint(c) => complaint_from(&rules, text, c, false).map(Action::Complaint),
            Decision::Inquiry(Response::Answer(i)) => {
                let e = &kb.entries()[i];
                Some(Action::Inquiry(Inquiry::Answered {
                    entry: e.id.clone(),
                    text: self.contacts(msg).fill(&e.answer),
                }))
            }
            Decision::Inquiry(Response::TicketStatus(q)) => {
                // Only a message that says more than the question itself
                // ("…又摆出来了，烟熏得不行，有没有人管") may stand as a
                // complaint; "我反映的狗屎问题怎么样了" alone opens nothing.
                let otherwise = if more_than_one_clause(text) {
                    complaint_from(&rules, text, classify(&rules, text), false)
                } else {
                    None
                };
                Some(Action::Inquiry(Inquiry::TicketStatus {
                    number: q.number,
                    categories: q.categories,
                    otherwise: otherwise.map(Box::new),
                }))
            }
            Decision::Inquiry(Response::Unanswered) => Some(Action::Inquiry(Inquiry::Unanswered)),
            Decision::Inquiry(Response::Nothing) => None,
        }
    }
}

/// Whether `text` has a clause break before its end (`，` `。` `！` `；`…).
fn more_than_one_clause(text: &str) -> bool {
    let breaks: &[char] = &['，', ',', '。', '！', '!', '；', ';', '\n', ' '];
    text.trim()
        .trim_end_matches(|c: char| breaks.contains(&c) || c == '？' || c == '?')
        .contains(breaks)
}

/// The ticket input for a classification; `None` when it is not a complaint
/// (with `insist`, the best-scoring category is taken even below its threshold).
pub(super) fn complaint_from(
    rules: &RuleSet,
    text: &str,
    c: Classification,
    insist: bool,
) -> Option<ComplaintInput> {
    let missed = c.category.is_none();
    let id = match (&c.category, insist) {
        (Some(id), _) => id.as_str(),
        (None, true) => c.candidates.first()?.category.as_ref(),
        (None, false) => return None,
    };
    let cat = rules.category(id)?;
    Some(ComplaintInput {
        category: cat.id.clone(),
        category_name: cat.name.clone(),
        department: cat.department.clone(),
        priority: c.priority.max(cat.priority),
        sla_hours: cat.sla_hours,
        location: c
            .location
            .or_else(|| crate::classify::locate(rules, &crate::classify::normalize(text))),
        tokens: c.tokens,
        reply_template: cat.reply.clone(),
        missed,
    })
}

pub(super) fn load_answers(dir: &Path, rules: &RuleSet) -> Result<KnowledgeBase, ServiceError> {
    KnowledgeBase::load(rules).map_err(|errors| ServiceError::Rules {
        dir: dir.display().to_string(),
        errors,
    })
}
