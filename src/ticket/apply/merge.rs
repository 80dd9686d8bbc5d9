//! Reports moving between tickets: `#撤回` (the last reporter closes it) and
//! `#合并` (one ticket becomes a duplicate of another, its reporters joining).

use super::super::model::{EventKind, Status, Ticket, TicketId};
use super::super::workflow::{self, Act};
use super::{Planner, StoreError};

impl Planner<'_> {
    /// The last person withdrawing closes the ticket; if others reported the
    /// same problem, only this person's report is removed and work goes on.
    pub(super) fn withdraw(&mut self, t: &mut Ticket, to: Status) -> Result<(), StoreError> {
        let from = t.status;
        let me = self.msg.sender_id.clone();
        if t.report_count() > 1 {
            if t.reporter.id == me {
                let next = t.supporters.remove(0);
                t.reporter = next;
            } else {
                t.supporters.retain(|p| p.id != me);
            }
            t.updated_at = self.now;
            self.event(
                t,
                EventKind::Withdrawn,
                Some(from),
                Some("撤回个人反映".into()),
            )?;
            let reply = self.render_ticket("withdrawn_one", t, &[]);
            self.say_about(t, reply);
        } else {
            t.status = to;
            t.status_reason = Some("反映人撤回".into());
            t.closed_at = Some(self.now);
            t.updated_at = self.now;
            self.event(t, EventKind::Withdrawn, Some(from), None)?;
            let reply = self.render_ticket("withdrawn", t, &[]);
            self.say_about(t, reply);
        }
        Ok(())
    }

    pub(super) fn merge(
        &mut self,
        mut src: Ticket,
        into: TicketId,
        to: Status,
    ) -> Result<(), StoreError> {
        if src.id == into {
            let text = self.render_ticket("merge_self", &src, &[]);
            self.say_here(text, Some(src.id));
            return Ok(());
        }
        let Some(mut dst) = self.load(into)? else {
            self.not_found(into);
            return Ok(());
        };
        if workflow::check(into, dst.status, Act::Absorb).is_err() {
            let vars = [
                ("target", into.to_string()),
                ("target_number", into.get().to_string()),
                ("status", dst.status.label().to_string()),
            ];
            let text = self.render_ticket("merge_target_closed", &src, &vars);
            self.say_here(text, Some(src.id));
            return Ok(());
        }
        let from_src = src.status;
        let from_dst = dst.status;
        let mut joined = 0;
        for p in src.reporters().cloned().collect::<Vec<_>>() {
            if dst.add_supporter(p) {
                joined += 1;
            }
        }
        for a in &src.attachments {
            if !dst.attachments.contains(a) {
                dst.attachments.push(a.clone());
            }
        }
        dst.priority = dst.priority.max(src.priority);
        dst.updated_at = self.now;
        src.status = to;
        src.merged_into = Some(into);
        src.closed_at = Some(self.now);
        src.updated_at = self.now;
        self.event(
            &src,
            EventKind::Merged,
            Some(from_src),
            Some(format!("合并到 {into}")),
        )?;
        self.event(
            &dst,
            EventKind::MergedFrom,
            Some(from_dst),
            Some(format!("{} 并入，新增 {joined} 位反映人", src.id)),
        )?;
        let vars = [
            ("target", into.to_string()),
            ("count", dst.report_count().to_string()),
        ];
        let text = self.render_ticket("merged", &src, &vars);
        self.say_about(&src, text.clone());
        // The target's residents hear about it too when it came from another group.
        self.push_reply(
            &dst.platform.clone(),
            &dst.group_id.clone(),
            &text,
            Some(into),
        );
        self.save(src);
        self.save(dst);
        Ok(())
    }
}
