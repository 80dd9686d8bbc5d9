//! The service's own timers' work: SLA steps, due re-inspections, digests' notices.
//!
//! Each goes through the writer like a chat message from the service
//! (`AUTO_CLOSE_ACTOR`), under a message id that names the ticket or unit and
//! the step, so a repeated or restarted run is a no-op.

use super::{answer_of, timer_message, Service, ServiceError};
use crate::platform::Answer;
use crate::ticket::{Action, ListFilter, Status, StoreError};

impl Service {
    /// Take every SLA step due as of `now` (reminders, escalations), each
    /// through the writer under a message id naming the ticket, its clock's
    /// start and the step, so a repeated run sends nothing twice. Returns
    /// each step's answer (its replies are queued in the outbox too).
    pub async fn check_sla(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Answer>, ServiceError> {
        let store = self.store();
        let active = tokio::task::spawn_blocking(move || {
            let mut all = Vec::new();
            for status in [Status::Open, Status::Assigned, Status::InProgress] {
                all.extend(store.list(&ListFilter {
                    status: Some(status),
                    ..ListFilter::default()
                })?);
            }
            Ok::<_, StoreError>(all)
        })
        .await??;
        let mut done = self.check_rechecks(now).await?;
        for mut t in active {
            // A ticket long past its time takes its steps one after another.
            for _ in 0..8 {
                let ctx = self.context();
                let above = crate::sla::levels_above(&ctx.org, &t);
                let Some(step) = ctx.sla.next_step(&t, now, &above) else {
                    break;
                };
                let (name, stage, level) = match step {
                    crate::sla::Step::Remind => ("remind", "remind".to_string(), 0),
                    crate::sla::Step::Escalate(n) => ("escalate", format!("up{n}"), usize::from(n)),
                };
                let start = t.sla.started_at.unwrap_or(t.created_at).timestamp();
                let msg = timer_message(
                    &t.platform,
                    &t.group_id,
                    t.group_name.clone(),
                    format!("sla:{}:{start}:{stage}", t.id.get()),
                );
                let processed = self
                    .writer
                    .process_at(msg, Action::Sla(t.id), ctx.clone(), Some(now))
                    .await??;
                if processed.duplicate_delivery || processed.ticket.is_none() {
                    break;
                }
                let level_name = ctx
                    .org
                    .community_of(&t.platform, &t.group_id, t.group_name.as_deref())
                    .and_then(|c| ctx.org.chain(c).get(level).copied())
                    .map_or("none", |u| ctx.org.units[u].level.as_str());
                self.metrics.sla_step(name, level_name);
                if !processed.replies.is_empty() {
                    self.outbox_wake.notify_one();
                }
                done.push(answer_of(processed));
                match self.store().get(t.id)? {
                    Some(next) => t = next,
                    None => break,
                }
            }
        }
        Ok(done)
    }

    /// Post `text` to a group as the service, once per `message_id` (a
    /// digest's id names its unit and day). Returns what was posted, or
    /// `None` when it had been already.
    pub async fn post_notice(
        &self,
        platform: &str,
        group: &str,
        message_id: String,
        text: String,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<Answer>, ServiceError> {
        let msg = timer_message(platform, group, None, message_id);
        let processed = self
            .writer
            .process_at(msg, Action::Notice(text), self.context(), Some(now))
            .await??;
        if processed.duplicate_delivery {
            return Ok(None);
        }
        self.outbox_wake.notify_one();
        Ok(Some(answer_of(processed)))
    }

    /// Remind of every `#复查` due by `now`, once each.
    async fn check_rechecks(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Answer>, ServiceError> {
        let store = self.store();
        let due = tokio::task::spawn_blocking(move || {
            let mut all = Vec::new();
            for status in [Status::Resolved, Status::Closed] {
                all.extend(
                    store
                        .list(&ListFilter {
                            status: Some(status),
                            ..ListFilter::default()
                        })?
                        .into_iter()
                        .filter(|t| {
                            !t.follow_up.recheck_reminded
                                && t.follow_up.recheck_at.is_some_and(|at| at <= now)
                        }),
                );
            }
            Ok::<_, StoreError>(all)
        })
        .await??;
        let mut done = Vec::new();
        for t in due {
            let at = t.follow_up.recheck_at.map_or(0, |a| a.timestamp());
            let msg = timer_message(
                &t.platform,
                &t.group_id,
                t.group_name.clone(),
                format!("recheck:{}:{at}", t.id.get()),
            );
            let processed = self
                .writer
                .process_at(msg, Action::Recheck(t.id), self.context(), Some(now))
                .await??;
            if processed.duplicate_delivery || processed.ticket.is_none() {
                continue;
            }
            if !processed.replies.is_empty() {
                self.outbox_wake.notify_one();
            }
            done.push(answer_of(processed));
        }
        Ok(done)
    }
}
