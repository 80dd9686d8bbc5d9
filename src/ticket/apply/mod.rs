//! Turning one complaint or command into a plan of writes and replies.
//!
//! Planning reads the store freely (scans included) and changes nothing; the
//! store then commits the plan in one transaction. Keeping the decisions here
//! and the bytes in `store.rs` means every rule can be read in one place.

mod questions;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::command::{help_for, help_text, Access, Command, CommandKind};
use super::correction::{Correction, CorrectionKind, NOT_A_COMPLAINT};
use super::error::StoreError;
use super::inquiry::{Inquiry, InquiryOutcome, InquiryRecord};
use super::model::{
    ComplaintInput, Event, EventKind, Person, Role, Status, Ticket, TicketId, UNCLASSIFIED_ID,
    UNCLASSIFIED_NAME,
};
use super::reply::{render_key, ticket_vars};
use super::store::{Action, Context, Reply, Store};
use super::workflow::{self, Act};
use crate::message::InboundMessage;

mod complaint;
mod list;
mod merge;
mod officers;
mod revisit;
mod sla;

/// How many candidate tickets of a group duplicate detection looks at, newest first.
const DUPLICATE_SCAN_LIMIT: usize = 200;
/// How many tickets `#列表` shows in a chat.
const LIST_LIMIT: usize = 10;
/// The reason `#非投诉` closes a ticket with.
const NOT_A_COMPLAINT_REASON: &str = "非城管诉求";

/// A reply with what the outbox needs besides the text.
#[derive(Debug, Clone)]
pub(crate) struct OutReply {
    pub reply: Reply,
    pub reply_handle: Option<String>,
    pub ticket: Option<TicketId>,
}

/// Everything one message changes.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// The ticket the message was about (for `Processed::ticket`).
    pub ticket: Option<TicketId>,
    /// Set when a new ticket number was used: the counter moves past it.
    pub new_ticket: Option<TicketId>,
    /// `(before, after)`; `before` is `None` for a new ticket.
    pub writes: Vec<(Option<Ticket>, Ticket)>,
    pub events: Vec<(TicketId, Event)>,
    pub replies: Vec<OutReply>,
    /// `meta` keys to set (`Some`) or remove (`None`): leave, turns.
    pub meta: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Labels people gave that the classifier missed.
    pub corrections: Vec<Correction>,
    /// A question's 咨询 record, written with the delivery.
    pub inquiry: Option<InquiryRecord>,
}

pub(crate) fn plan(
    store: &Store,
    msg: &InboundMessage,
    action: &Action,
    ctx: &Context,
    now: DateTime<Utc>,
) -> Result<Plan, StoreError> {
    let mut p = Planner {
        store,
        msg,
        ctx,
        now,
        role: ctx.roles.role_of(&msg.platform, &msg.sender_id),
        work: BTreeMap::new(),
        seqs: HashMap::new(),
        plan: Plan::default(),
    };
    match action {
        Action::Complaint(input) => p.complaint(input)?,
        Action::Command(cmd) => p.command(cmd)?,
        Action::Invalid(e) => p.say_here(e.to_string(), None),
        Action::Notice(text) => p.say_here(text.clone(), None),
        Action::AutoClose(id) => p.auto_close(*id)?,
        Action::Sla(id) => p.sla_step(*id)?,
        Action::Recheck(id) => p.recheck_due(*id)?,
        Action::Silent => {}
        Action::Inquiry(q) => p.inquiry(q)?,
    }
    Ok(p.finish())
}

struct Planner<'a> {
    store: &'a Store,
    msg: &'a InboundMessage,
    ctx: &'a Context,
    now: DateTime<Utc>,
    role: Role,
    /// Tickets touched so far: (as stored, as it will be).
    work: BTreeMap<TicketId, (Option<Ticket>, Ticket)>,
    seqs: HashMap<TicketId, u32>,
    plan: Plan,
}

impl Planner<'_> {
    fn finish(mut self) -> Plan {
        self.plan.writes = self
            .work
            .into_values()
            .filter(|(before, after)| before.as_ref() != Some(after))
            .collect();
        self.plan
    }

    // ---- helpers ---------------------------------------------------------

    fn load(&mut self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        if let Some((_, t)) = self.work.get(&id) {
            return Ok(Some(t.clone()));
        }
        let t = self.store.get(id)?;
        if let Some(t) = &t {
            self.work.insert(id, (Some(t.clone()), t.clone()));
        }
        Ok(t)
    }

    fn save(&mut self, t: Ticket) {
        match self.work.get_mut(&t.id) {
            Some(slot) => slot.1 = t,
            None => {
                self.work.insert(t.id, (None, t));
            }
        }
    }

    fn me(&self) -> Person {
        Person {
            id: self.msg.sender_id.clone(),
            name: self.msg.sender_name.clone(),
        }
    }

    fn event(
        &mut self,
        t: &Ticket,
        kind: EventKind,
        from: Option<Status>,
        note: Option<String>,
    ) -> Result<(), StoreError> {
        let seq = match self.seqs.get(&t.id) {
            Some(s) => *s,
            None => self.store.next_event_seq(t.id)?,
        };
        self.seqs.insert(t.id, seq.saturating_add(1));
        let to = (from != Some(t.status) || kind == EventKind::Created).then_some(t.status);
        self.plan.events.push((
            t.id,
            Event {
                seq,
                at: self.now,
                actor: format!("{}:{}", self.msg.platform, self.msg.sender_id),
                actor_name: self.msg.sender_name.clone(),
                role: self.role,
                kind,
                from,
                to,
                note,
            },
        ));
        Ok(())
    }

    fn push_reply(&mut self, platform: &str, group: &str, text: &str, ticket: Option<TicketId>) {
        let here = platform == self.msg.platform && group == self.msg.group_id;
        let dup = self.plan.replies.iter().any(|r| {
            r.reply.platform == platform && r.reply.group_id == group && r.reply.text == text
        });
        if dup || text.is_empty() {
            return;
        }
        self.plan.replies.push(OutReply {
            reply: Reply {
                platform: platform.to_string(),
                group_id: group.to_string(),
                text: text.to_string(),
            },
            reply_handle: if here {
                self.msg.reply_handle.clone()
            } else {
                None
            },
            ticket,
        });
    }

    /// A reply to the group where the message was typed.
    fn say_here(&mut self, text: String, ticket: Option<TicketId>) {
        let (p, g) = (self.msg.platform.clone(), self.msg.group_id.clone());
        self.push_reply(&p, &g, &text, ticket);
    }

    /// A reply about a ticket: to the group it came from, and also here when
    /// an officer typed the command somewhere else.
    fn say_about(&mut self, t: &Ticket, text: String) {
        self.push_reply(&t.platform, &t.group_id, &text, Some(t.id));
        self.say_here(text, Some(t.id));
    }

    /// Records that a person overruled the classifier on `text`.
    fn correct(
        &mut self,
        kind: CorrectionKind,
        ticket: Option<TicketId>,
        text: &str,
        (label, label_name): (&str, &str),
        from: Option<&str>,
    ) {
        self.plan.corrections.push(Correction {
            at: self.now,
            kind,
            ticket: ticket.map(TicketId::get),
            actor: format!("{}:{}", self.msg.platform, self.msg.sender_id),
            text: text.to_string(),
            label: label.to_string(),
            label_name: label_name.to_string(),
            from: from.map(str::to_string),
        });
    }

    fn render_ticket(&self, key: &str, t: &Ticket, extra: &[(&'static str, String)]) -> String {
        // Extra variables come first so they win over the ticket's own (`count`).
        let mut vars = extra.to_vec();
        vars.extend(ticket_vars(t));
        render_key(key, &self.ctx.replies, &vars)
    }

    fn is_reporter(&self, t: &Ticket) -> bool {
        t.platform == self.msg.platform && t.is_reporter(&self.msg.sender_id)
    }

    fn find_category(&self, word: &str) -> Option<(String, String)> {
        let w = word.trim();
        if w.eq_ignore_ascii_case(UNCLASSIFIED_ID) || w == UNCLASSIFIED_NAME {
            return Some((UNCLASSIFIED_ID.into(), UNCLASSIFIED_NAME.into()));
        }
        self.ctx
            .categories
            .values()
            .find(|c| c.id.eq_ignore_ascii_case(w) || c.name == w)
            .map(|c| (c.id.clone(), c.name.clone()))
    }

    fn category_names(&self) -> String {
        let mut names: Vec<&str> = self
            .ctx
            .categories
            .values()
            .map(|c| c.name.as_str())
            .collect();
        names.sort_unstable();
        if names.is_empty() {
            "（未配置）".into()
        } else {
            names.join("、")
        }
    }

    // ---- commands --------------------------------------------------------

    fn command(&mut self, cmd: &Command) -> Result<(), StoreError> {
        let def = cmd.def();
        if !def.access.visible_to(self.role) {
            let needed = match def.access {
                Access::Admin => Role::Admin,
                _ => Role::Officer,
            };
            let text = render_key(
                "denied_role",
                &self.ctx.replies,
                &[
                    ("command", def.display_name()),
                    ("role", needed.label().to_string()),
                ],
            );
            self.say_here(text, cmd.ticket());
            return Ok(());
        }
        match cmd {
            Command::Help(topic) => {
                let text = topic
                    .as_deref()
                    .and_then(help_for)
                    .unwrap_or_else(|| help_text(self.role));
                self.say_here(text, None);
            }
            Command::Show(id) => self.show(*id)?,
            Command::List(scope) => self.list(scope)?,
            Command::Report(content) => {
                // The pipeline normally classifies `#投诉` and sends a
                // Complaint; this is the fallback when it did not.
                self.complaint(&ComplaintInput {
                    missed: true,
                    ..ComplaintInput::unclassified(content)
                })?
            }
            Command::Stats(period) => self.stats(*period)?,
            // The pipeline reloads the rules and answers; nothing to store.
            Command::Reload { .. } => {}
            Command::Away(away) => self.away(*away),
            _ => self.ticket_command(cmd)?,
        }
        Ok(())
    }

    fn not_found(&mut self, id: TicketId) {
        let text = render_key(
            "not_found",
            &self.ctx.replies,
            &[("ticket", id.to_string())],
        );
        self.say_here(text, None);
    }

    /// 核查结案 without the reporter: a ticket resolved longer ago than the
    /// configured wait closes, and its group is told how to reopen it.
    /// Anything else (confirmed meanwhile, reopened, auto-close off) is left
    /// alone, so a late or repeated timer run is harmless.
    fn auto_close(&mut self, id: TicketId) -> Result<(), StoreError> {
        let hours = self.ctx.auto_close_hours;
        let Some(mut t) = self.load(id)? else {
            return Ok(());
        };
        let due = t
            .resolved_at
            .is_some_and(|at| self.now - at >= Duration::hours(i64::from(hours)));
        let Ok(target) = workflow::check(t.id, t.status, Act::AutoClose) else {
            return Ok(()); // confirmed, reopened or merged meanwhile: nothing to do
        };
        if hours == 0 || !due {
            return Ok(());
        }
        self.plan.ticket = Some(t.id);
        let from = t.status;
        t.status = workflow::target_status(from, target, t.officer.is_some());
        t.closed_at = Some(self.now);
        t.updated_at = self.now;
        let waited = wait_label(hours);
        self.event(&t, EventKind::AutoClosed, Some(from), Some(waited.clone()))?;
        let reply = self.render_ticket("auto_closed", &t, &[("note", waited)]);
        self.push_reply(&t.platform.clone(), &t.group_id.clone(), &reply, Some(t.id));
        self.save(t);
        Ok(())
    }

    fn ticket_command(&mut self, cmd: &Command) -> Result<(), StoreError> {
        let Some(id) = cmd.ticket() else {
            return Ok(());
        };
        let Some(mut t) = self.load(id)? else {
            self.not_found(id);
            return Ok(());
        };
        let def = cmd.def();
        let relation_ok = match def.access {
            Access::Reporter => self.is_reporter(&t),
            Access::ReporterOrOfficer => self.role.is_officer() || self.is_reporter(&t),
            _ => true,
        };
        let Some(act) = act_of(cmd) else {
            return Ok(());
        };
        if !relation_ok {
            let text = self.render_ticket("denied_reporter", &t, &[("action", act.verb().into())]);
            self.say_here(text, Some(id));
            return Ok(());
        }
        // Only the leaders asked to call back (or an admin) record the result.
        if let Command::Revisit(..) = cmd {
            if let Some(refusal) = self.revisit_refusal(&t) {
                self.say_here(refusal, Some(id));
                return Ok(());
            }
        }
        let target = match workflow::check(id, t.status, act) {
            Ok(target) => target,
            Err(refusal) => {
                self.say_here(refusal, Some(id));
                return Ok(());
            }
        };
        self.plan.ticket = Some(id);
        let from = t.status;
        let now = self.now;
        let to = workflow::target_status(from, target, t.officer.is_some());
        let note_var = |n: &str| ("note", n.to_string());
        match cmd {
            Command::Add(_, text) => {
                t.attachments.extend(
                    self.msg
                        .images
                        .iter()
                        .filter(|i| !t.attachments.contains(i))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
                t.updated_at = now;
                self.event(&t, EventKind::Supplemented, Some(from), Some(text.clone()))?;
                let reply = self.render_ticket("supplemented", &t, &[note_var(text)]);
                self.say_about(&t, reply);
            }
            Command::Confirm(_) => {
                t.status = to;
                t.closed_at = Some(now);
                t.updated_at = now;
                self.event(&t, EventKind::Confirmed, Some(from), None)?;
                let reply = self.render_ticket("confirmed", &t, &[]);
                self.say_about(&t, reply);
            }
            Command::NotFixed(_, reason) => {
                let reason = reason.clone().unwrap_or_else(|| "未说明原因".to_string());
                let before = self
                    .store
                    .history(t.id)?
                    .iter()
                    .filter(|e| e.kind == EventKind::NotFixed)
                    .count();
                self.reopen(&mut t, to, EventKind::NotFixed, reason.clone())?;
                if before >= 1 {
                    self.open_revisit(&mut t, "居民第二次反馈未解决".to_string())?;
                }
                let reply = self.render_ticket("not_fixed", &t, &[note_var(&reason)]);
                self.say_about(&t, reply);
            }
            Command::Rate(_, stars, comment) => {
                t.rating = Some(*stars);
                t.updated_at = now;
                let note = match comment {
                    Some(c) => format!("{stars} 星：{c}"),
                    None => format!("{stars} 星"),
                };
                self.event(&t, EventKind::Rated, Some(from), Some(note))?;
                // 差评二次回访.
                if *stars <= 2 {
                    self.open_revisit(&mut t, format!("居民评价 {stars} 星"))?;
                }
                let reply = self.render_ticket("rated", &t, &[("rating", stars.to_string())]);
                self.say_about(&t, reply);
            }
            Command::Withdraw(_) => self.withdraw(&mut t, to)?,
            Command::Claim(_) => {
                t.officer = Some(self.me());
                t.status = to;
                t.updated_at = now;
                self.event(&t, EventKind::Claimed, Some(from), None)?;
                let reply = self.render_ticket("claimed", &t, &[]);
                self.say_about(&t, reply);
            }
            Command::Assign(_, who) => {
                t.officer = Some(self.resolve_officer(who));
                t.status = to;
                t.updated_at = now;
                self.event(&t, EventKind::Assigned, Some(from), Some(who.clone()))?;
                let reply = self.render_ticket("assigned", &t, &[]);
                self.say_about(&t, reply);
            }
            Command::Progress(_, note) => {
                if t.officer.is_none() {
                    t.officer = Some(self.me());
                }
                t.status = to;
                t.updated_at = now;
                self.event(&t, EventKind::Progress, Some(from), Some(note.clone()))?;
                let reply = self.render_ticket("progress", &t, &[note_var(note)]);
                self.say_about(&t, reply);
            }
            Command::Resolve(_, result) => {
                if t.officer.is_none() {
                    t.officer = Some(self.me());
                }
                t.status = to;
                t.resolved_at = Some(now);
                t.resolution = Some(result.clone());
                t.updated_at = now;
                self.event(&t, EventKind::Resolved, Some(from), Some(result.clone()))?;
                // Residents learn the deadline with the result, not after it.
                let hint = match self.ctx.auto_close_hours {
                    0 => String::new(),
                    h => format!("{}内未反馈将自动结案。", wait_label(h)),
                };
                let vars = [note_var(result), ("auto_close", hint)];
                let reply = self.render_ticket("resolved", &t, &vars);
                self.say_about(&t, reply);
            }
            Command::Reject(_, reason) => {
                t.status = to;
                t.status_reason = Some(reason.clone());
                t.closed_at = Some(now);
                t.updated_at = now;
                self.event(&t, EventKind::Rejected, Some(from), Some(reason.clone()))?;
                let reply = self.render_ticket("rejected", &t, &[note_var(reason)]);
                self.say_about(&t, reply);
            }
            Command::Transfer(_, dept) => {
                let old = std::mem::replace(&mut t.department, dept.clone());
                t.officer = None;
                t.status = to;
                // The receiving department gets its own full time.
                self.restart_clock(&mut t);
                t.updated_at = now;
                self.event(
                    &t,
                    EventKind::Transferred,
                    Some(from),
                    Some(format!("{old} → {dept}")),
                )?;
                let reply = self.render_ticket("transferred", &t, &[]);
                self.say_about(&t, reply);
                self.department_card(&t);
            }
            Command::Merge(_, into) => return self.merge(t, *into, to),
            Command::Hold(_, reason) => {
                t.status = to;
                t.sla.held_since = Some(now);
                t.status_reason = Some(reason.clone());
                t.updated_at = now;
                self.event(&t, EventKind::OnHold, Some(from), Some(reason.clone()))?;
                let reply = self.render_ticket("on_hold", &t, &[note_var(reason)]);
                self.say_about(&t, reply);
            }
            Command::Reopen(_, note) => {
                let n = note.clone().unwrap_or_default();
                self.reopen(&mut t, to, EventKind::Reopened, n.clone())?;
                let shown = if n.is_empty() {
                    String::new()
                } else {
                    format!("说明：{n}")
                };
                let reply = self.render_ticket("reopened", &t, &[note_var(&shown)]);
                self.say_about(&t, reply);
            }
            Command::Recat(_, word) => {
                let Some(info) = self.lookup_category_info(word) else {
                    let text = render_key(
                        "unknown_category",
                        &self.ctx.replies,
                        &[
                            ("note", word.clone()),
                            ("categories", self.category_names()),
                        ],
                    );
                    self.say_here(text, Some(id));
                    return Ok(());
                };
                let old_name = t.category_name.clone();
                if info.id != t.category {
                    let (label, from) = ((info.id.as_str(), info.name.as_str()), &t.category);
                    let kind = CorrectionKind::Recategorized;
                    self.correct(kind, Some(id), &t.text, label, Some(from));
                }
                t.category = info.id;
                t.category_name = info.name;
                t.department = info.department;
                // A rule may have raised the priority; changing category must not lower it.
                t.priority = t.priority.max(info.priority);
                t.sla_hours = info.sla_hours.max(1);
                t.due_at = t.created_at + Duration::hours(i64::from(t.sla_hours));
                t.updated_at = now;
                let note = format!("{old_name} → {}", t.category_name);
                self.event(&t, EventKind::Recategorized, Some(from), Some(note))?;
                let reply = self.render_ticket("recategorized", &t, &[]);
                self.say_about(&t, reply);
            }
            Command::Recheck(_, hours) => self.schedule_recheck(&mut t, *hours)?,
            Command::RecheckPass(_) => self.recheck_pass(&mut t)?,
            Command::RecheckFound(_, note) => self.recheck_found(&mut t, to, note)?,
            Command::Revisit(_, satisfied, note) => {
                self.revisit_result(&mut t, to, *satisfied, note.as_deref())?
            }
            Command::NotComplaint(_) => {
                let reason = NOT_A_COMPLAINT_REASON.to_string();
                let label = (NOT_A_COMPLAINT, "非投诉");
                let kind = CorrectionKind::NotComplaint;
                self.correct(kind, Some(id), &t.text, label, Some(&t.category));
                t.status = to;
                t.status_reason = Some(reason.clone());
                t.closed_at = Some(now);
                t.updated_at = now;
                self.event(&t, EventKind::Rejected, Some(from), Some(reason.clone()))?;
                let reply = self.render_ticket("not_complaint", &t, &[note_var(&reason)]);
                self.say_about(&t, reply);
            }
            Command::Note(_, text) => {
                t.updated_at = now;
                self.event(&t, EventKind::Noted, Some(from), Some(text.clone()))?;
                // Internal: answered only where it was typed, never in the residents' group.
                let reply = self.render_ticket("noted", &t, &[]);
                self.say_here(reply, Some(id));
            }
            _ => return Ok(()),
        }
        self.save(t);
        Ok(())
    }

    fn lookup_category_info(&self, word: &str) -> Option<super::model::CategoryInfo> {
        let (id, _) = self.find_category(word)?;
        match self.ctx.categories.get(&id) {
            Some(c) => Some(c.clone()),
            None => {
                // `unclassified` is always known even when not configured.
                let u = ComplaintInput::unclassified("");
                Some(super::model::CategoryInfo {
                    id: u.category,
                    name: u.category_name,
                    department: u.department,
                    priority: u.priority,
                    sla_hours: u.sla_hours,
                    reply_template: None,
                })
            }
        }
    }

    /// `@张队` may be an officer's user id or just a name; either way it is
    /// what replies show.
    fn resolve_officer(&self, who: &str) -> Person {
        let who = who.trim().trim_start_matches('@').to_string();
        let full = format!("{}:{who}", self.msg.platform);
        let known =
            self.ctx.roles.officers.contains(&full) || self.ctx.roles.admins.contains(&full);
        Person {
            id: who.clone(),
            name: (!known).then_some(who),
        }
    }

    fn reopen(
        &mut self,
        t: &mut Ticket,
        to: Status,
        kind: EventKind,
        reason: String,
    ) -> Result<(), StoreError> {
        let from = t.status;
        t.status = to;
        t.reopen_count = t.reopen_count.saturating_add(1);
        t.resolved_at = None;
        t.closed_at = None;
        t.status_reason = None;
        t.rating = None;
        if from == Status::OnHold {
            // 挂账 ends: the clock goes on where it stopped.
            self.resume_clock(t);
        } else {
            // A reopened case gets a fresh deadline: the old one is long gone.
            self.restart_clock(t);
        }
        t.updated_at = self.now;
        self.event(t, kind, Some(from), (!reason.is_empty()).then_some(reason))
    }
}

/// The workflow action a ticket command performs.
/// "7 天", "36 小时": how long a wait is, as a reply says it.
fn wait_label(hours: u32) -> String {
    if hours.is_multiple_of(24) {
        format!("{} 天", hours / 24)
    } else {
        format!("{hours} 小时")
    }
}

fn act_of(cmd: &Command) -> Option<Act> {
    let act = match cmd.kind() {
        CommandKind::Add => Act::Supplement,
        CommandKind::Confirm => Act::Confirm,
        CommandKind::NotFixed => Act::NotFixed,
        CommandKind::Rate => Act::Rate,
        CommandKind::Withdraw => Act::Withdraw,
        CommandKind::Claim => Act::Claim,
        CommandKind::Assign => Act::Assign,
        CommandKind::Progress => Act::Progress,
        CommandKind::Resolve => Act::Resolve,
        CommandKind::Reject => Act::Reject,
        CommandKind::Transfer => Act::Transfer,
        CommandKind::Merge => Act::Merge,
        CommandKind::Hold => Act::Hold,
        CommandKind::Reopen => Act::Reopen,
        CommandKind::Recat => Act::Recategorize,
        CommandKind::Note => Act::Note,
        CommandKind::Recheck => Act::Recheck,
        CommandKind::RecheckPass => Act::RecheckPass,
        CommandKind::RecheckFound => Act::RecheckFound,
        CommandKind::Revisit => match cmd {
            Command::Revisit(_, false, _) => Act::RevisitFailed,
            _ => Act::RevisitDone,
        },
        CommandKind::NotComplaint => Act::NotComplaint,
        CommandKind::Help
        | CommandKind::Show
        | CommandKind::List
        | CommandKind::Report
        | CommandKind::Stats
        | CommandKind::Away
        | CommandKind::Back
        | CommandKind::Reload => return None,
    };
    Some(act)
}
