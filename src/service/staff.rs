//! Staff actions from outside chat (the console): applied as if typed in the ticket's group.
//!
//! A console action is a chat command, parsed by the same parser, applied by
//! the same writer and transition table, and answered in the residents' group
//! exactly as if the person had typed it there. The person is their chat
//! identity when their account names one on the ticket's platform; otherwise a
//! `console:` id that carries their name.

use std::sync::Arc;

use super::{Service, ServiceError};
use crate::message::InboundMessage;
use crate::ticket::{Action, Command, Processed, Role, Ticket};

/// Who acts, as the console knows them.
#[derive(Debug, Clone)]
pub struct StaffActor {
    pub name: String,
    /// `platform:user_id`, when the account is the same person as in chat.
    pub platform_id: Option<String>,
    pub admin: bool,
}

/// Why an action was not applied.
#[derive(Debug, thiserror::Error)]
pub enum StaffActionError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl Service {
    /// Whether `platform:user_id` is staff (an officer or admin, by config or `org.toml`).
    pub fn is_staff(&self, key: &str) -> bool {
        let roles = &self.context().roles;
        roles.officers.contains(key) || roles.admins.contains(key)
    }

    /// Apply `text` (a chat command about `ticket`) for `actor`; returns what
    /// the writer did, replies included, once it is on disk.
    pub async fn act_as_staff(
        self: &Arc<Self>,
        ticket: &Ticket,
        actor: &StaffActor,
        text: &str,
    ) -> Result<Processed, StaffActionError> {
        let command = match Command::parse(text) {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(StaffActionError::Invalid(e.to_string())),
            None => return Err(StaffActionError::Invalid(format!("{text:?} 不是命令"))),
        };
        if command.ticket() != Some(ticket.id) {
            return Err(StaffActionError::Invalid(format!(
                "命令不是针对工单 {}",
                ticket.id
            )));
        }
        if matches!(command, Command::Reload { .. }) {
            return Err(StaffActionError::Invalid("控制台不能重载规则".into()));
        }
        let sender_id = match actor.platform_id.as_deref().and_then(|k| k.split_once(':')) {
            Some((p, id)) if p == ticket.platform => id.to_string(),
            _ => format!("console:{}", actor.name),
        };
        let key = format!("{}:{}", ticket.platform, sender_id);
        let mut context = (*self.context()).clone();
        if actor.admin {
            context.roles.admins.insert(key.clone());
        }
        context.roles.officers.insert(key);
        let role = context.roles.role_of(&ticket.platform, &sender_id);
        debug_assert!(role != Role::Resident);
        let msg = InboundMessage {
            platform: ticket.platform.clone(),
            message_id: format!("console:{}", crate::console::random_id()),
            group_id: ticket.group_id.clone(),
            group_name: ticket.group_name.clone(),
            sender_id,
            sender_name: Some(actor.name.clone()),
            text: text.to_string(),
            images: Vec::new(),
            timestamp: None,
            reply_handle: None,
        };
        let processed = self
            .writer
            .process(msg, Action::Command(command), Arc::new(context))
            .await
            .map_err(ServiceError::from)?
            .map_err(ServiceError::from)?;
        if !processed.replies.is_empty() {
            self.outbox_wake.notify_one();
        }
        self.metrics.message(&ticket.platform, "command");
        Ok(processed)
    }
}
