//! The service core shared by every front end (HTTP, `gongdan chat`): rules, store, metrics, adapters.
//!
//! One path for every message: parse a command or classify → store ticket,
//! events and replies in one transaction → flush → answer. A message is
//! acknowledged only after [`Service::handle`] returns, i.e. once it is on disk.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use tokio::sync::{watch, Notify};

use crate::answer::{self, KnowledgeBase};
use crate::classify::classify;
use crate::clock::Clock;
use crate::config::Config;
use crate::disk::{StorageHealth, Unhealthy};
use crate::message::InboundMessage;
use crate::metrics::Metrics;
use crate::org::{Org, OrgErrors};
use crate::platform::{Adapter, Answer, Outgoing, SendError, Sent};
use crate::reply_limit::RepeatGuard;
use crate::rules::{RuleErrors, RuleSet};
use crate::sla::Policy;
use crate::store_slot::StoreSlot;
use crate::ticket::{
    Action, CategoryInfo, Command, ComplaintInput, Context, Inquiry, ListFilter, Processed, Role,
    Roles, Status, Store, StoreError,
};
use crate::writer::Writer;
use questions::{complaint_from, load_answers};

mod questions;
mod staff;
mod timers;

pub use staff::{StaffActionError, StaffActor};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("rules in {dir} do not load:\n{errors}")]
    Rules { dir: String, errors: RuleErrors },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("internal task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error(transparent)]
    WriterStopped(#[from] crate::writer::WriterStopped),
    #[error("organisation file does not load:\n{0}")]
    Org(OrgErrors),
    #[error("holiday calendar: {0}")]
    Calendar(#[from] crate::sla::CalendarError),
    #[error("rules not reloaded: {} would remove categories that still have open tickets (reload with allow_removed to accept)", describe_removed(.0))]
    RemovedCategories(Vec<RemovedCategory>),
}

/// A category a reload would drop although tickets in it are still open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedCategory {
    pub id: String,
    pub name: String,
    pub open_tickets: usize,
}

fn describe_removed(removed: &[RemovedCategory]) -> String {
    removed
        .iter()
        .map(|r| format!("{} ({}): {} open", r.id, r.name, r.open_tickets))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ServiceError {
    /// Why storage refused the work, when that is what went wrong (a 503, not a 500).
    pub fn unavailable(&self) -> Option<&Unhealthy> {
        match self {
            ServiceError::Store(StoreError::Unavailable(why)) => Some(why),
            _ => None,
        }
    }
}

/// The sender id of the service's own timer in events (`generic:gongdan`).
pub const AUTO_CLOSE_ACTOR: &str = "gongdan";

/// The message a timer (auto-close, SLA, re-check, digest) feeds the writer:
/// from [`AUTO_CLOSE_ACTOR`], under an id that makes the step happen once.
pub(crate) fn timer_message(
    platform: &str,
    group_id: &str,
    group_name: Option<String>,
    message_id: String,
) -> InboundMessage {
    InboundMessage {
        platform: platform.to_string(),
        message_id,
        group_id: group_id.to_string(),
        group_name,
        sender_id: AUTO_CLOSE_ACTOR.to_string(),
        sender_name: Some("工单助手".to_string()),
        text: String::new(),
        images: Vec::new(),
        timestamp: None,
        reply_handle: None,
    }
}

pub struct Service {
    config: Config,
    rules: RwLock<Arc<RuleSet>>,
    /// 问询答复: loaded and swapped together with `rules`.
    answers: RwLock<Arc<KnowledgeBase>>,
    context: RwLock<Arc<Context>>,
    /// `org.toml` as last loaded without errors; swapped whole on reload.
    org: RwLock<Arc<Org>>,
    sla: Arc<Policy>,
    /// The database in use; the writer reopens it after failed writes.
    store: Arc<StoreSlot>,
    storage_health: Arc<StorageHealth>,
    /// The one thread that writes messages to `store` (group commit).
    writer: Writer,
    metrics: Metrics,
    /// Ticket time; see `crate::clock`.
    clock: Clock,
    adapters: HashMap<&'static str, Adapter>,
    /// Wakes the outbox worker when replies are queued.
    outbox_wake: Notify,
    /// Few help and error replies per sender (see `crate::reply_limit`).
    repeats: Mutex<RepeatGuard>,
    /// Serialises reloads so two admins cannot race each other.
    reload_lock: tokio::sync::Mutex<()>,
    shutdown: watch::Sender<bool>,
}

/// What a reload did, for the reply to the admin.
#[derive(Debug, Clone)]
pub struct ReloadSummary {
    pub categories: usize,
    pub examples: usize,
}

impl Service {
    /// Load the rules and open the store; fails if either cannot be had.
    pub fn open(config: Config) -> Result<Service, ServiceError> {
        Service::open_with_clock(config, Clock::system())
    }

    /// [`Service::open`] on another clock (`gongdan chat` and tests jump it).
    pub fn open_with_clock(config: Config, clock: Clock) -> Result<Service, ServiceError> {
        let (rules, answers) = load_rules(&config.rules.dir)?;
        let org = load_org(&config)?;
        let sla = Arc::new(Policy::from_config(&config.sla)?);
        if let (Some(cal), Some(path)) = (&sla.working, &config.sla.holidays) {
            for year in cal.missing_years(clock.now()) {
                tracing::warn!(
                    file = %path.display(),
                    year,
                    "holiday file has no table for {year}: only weekends count as days off; add it from the 国务院办公厅 notice"
                );
            }
        }
        let store = Arc::new(StoreSlot::open(
            &config.storage.data_dir,
            config.storage.cache_mb,
        )?);
        let storage_health = Arc::new(StorageHealth::new(&config.storage));
        let context = build_context(&config, &rules, &org, &sla);
        let adapters = Adapter::from_config(&config);
        let (shutdown, _) = watch::channel(false);
        Ok(Service {
            rules: RwLock::new(Arc::new(rules)),
            answers: RwLock::new(Arc::new(answers)),
            context: RwLock::new(Arc::new(context)),
            org: RwLock::new(org),
            sla,
            writer: Writer::start(store.clone(), storage_health.clone(), clock.clone()),
            clock,
            store,
            storage_health,
            metrics: Metrics::default(),
            adapters,
            outbox_wake: Notify::new(),
            repeats: Mutex::default(),
            reload_lock: tokio::sync::Mutex::new(()),
            shutdown,
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The database in use, for one use: do not keep it (see [`StoreSlot`]).
    pub fn store(&self) -> Store {
        self.store.current()
    }

    /// Low disk or failing writes, for `/healthz`.
    pub fn storage_health(&self) -> &StorageHealth {
        &self.storage_health
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn adapter(&self, platform: &str) -> Option<&Adapter> {
        self.adapters.get(platform)
    }

    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn answers(&self) -> Arc<KnowledgeBase> {
        self.answers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn context(&self) -> Arc<Context> {
        self.context
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn rules_dir(&self) -> &Path {
        &self.config.rules.dir
    }

    pub fn outbox_wake(&self) -> &Notify {
        &self.outbox_wake
    }

    /// Resolves when shutdown begins.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn begin_shutdown(&self) {
        // `send` drops the value when nobody subscribed yet (a stop right
        // after start, before the server task ran): the server would then
        // wait for ever. `send_replace` always stores it.
        self.shutdown.send_replace(true);
        self.outbox_wake.notify_waiters();
    }

    pub fn role_of(&self, msg: &InboundMessage) -> Role {
        self.context().roles.role_of(&msg.platform, &msg.sender_id)
    }

    /// Process one message end to end; returns once its effects are on disk.
    pub async fn handle(self: &Arc<Self>, msg: InboundMessage) -> Result<Answer, ServiceError> {
        let platform = msg.platform.clone();
        let action = match Command::parse(&msg.text) {
            Some(Ok(Command::Reload { allow_removed })) => {
                Some(self.reload_action(&msg, allow_removed).await)
            }
            // `#投诉 内容`: a ticket even when the classifier is unsure.
            Some(Ok(Command::Report(content))) => {
                let input = self.classify_blocking(content.clone(), true).await?;
                Some(Action::Complaint(input.unwrap_or_else(|| ComplaintInput {
                    missed: true,
                    ..ComplaintInput::unclassified(&content)
                })))
            }
            parsed @ Some(_) => Action::from_parse(parsed),
            None => {
                let service = Arc::clone(self);
                let msg = msg.clone();
                tokio::task::spawn_blocking(move || service.complaint_or_question(&msg)).await?
            }
        };
        let Some(action) = action else {
            self.metrics.message(&platform, "chatter");
            return Ok(Answer::default());
        };
        let action = self.unless_repeated(&msg, action);
        let category = match &action {
            Action::Complaint(c) => Some(c.category.clone()),
            _ => None,
        };
        // A status question with no ticket to ask after files its complaint.
        let status_fallback = match &action {
            Action::Inquiry(Inquiry::TicketStatus {
                otherwise: Some(c), ..
            }) => Some(c.category.clone()),
            _ => None,
        };
        let question = match &action {
            Action::Inquiry(Inquiry::Unanswered) => Some(("unanswered", None)),
            Action::Inquiry(Inquiry::TicketStatus { .. }) => {
                Some(("answered", Some(answer::STATUS_LABEL.to_string())))
            }
            Action::Inquiry(Inquiry::Answered { entry, .. }) => {
                Some(("answered", Some(entry.clone())))
            }
            _ => None,
        };
        let processed: Processed = self.writer.process(msg, action, self.context()).await??;

        let outcome = match (&category, processed.duplicate_delivery, processed.opened) {
            (_, true, _) => "duplicate",
            (Some(cat), false, true) => {
                self.metrics.ticket_created(cat);
                "ticket"
            }
            (Some(_), false, false) => "joined",
            (None, false, true) if status_fallback.is_some() => {
                if let Some(cat) = &status_fallback {
                    self.metrics.ticket_created(cat);
                }
                "ticket"
            }
            (None, false, _) => match question {
                Some((outcome, entry)) => {
                    if let Some(entry) = entry {
                        self.metrics.inquiry_answered(&entry);
                    }
                    outcome
                }
                None => "command",
            },
        };
        self.metrics.message(&platform, outcome);
        if !processed.duplicate_delivery && !processed.replies.is_empty() {
            self.outbox_wake.notify_one();
        }
        Ok(answer_of(processed))
    }

    /// A help or error reply the sender was just given becomes silence.
    fn unless_repeated(&self, msg: &InboundMessage, action: Action) -> Action {
        let what = match &action {
            Action::Command(Command::Help(topic)) => format!("help {topic:?}"),
            Action::Invalid(e) => format!("error {e}"),
            _ => return action,
        };
        let sender = (
            msg.platform.clone(),
            msg.group_id.clone(),
            msg.sender_id.clone(),
        );
        let allowed = self
            .repeats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .allow(sender, &what, Instant::now());
        if allowed {
            action
        } else {
            Action::Silent
        }
    }

    /// Record that a group now lives under another id, durably: a webhook
    /// announcing it is answered only after this returns.
    pub async fn record_group_move(
        &self,
        platform: &str,
        from: &str,
        to: &str,
    ) -> Result<(), ServiceError> {
        let store = self.store();
        let (p, f, t) = (platform.to_string(), from.to_string(), to.to_string());
        let recorded = tokio::task::spawn_blocking(move || {
            let recorded = store.record_group_move(&p, &f, &t)?;
            store.flush()?;
            Ok::<_, StoreError>(recorded)
        })
        .await??;
        if recorded {
            tracing::info!(
                platform,
                from,
                to,
                "group moved; its replies go to the new id"
            );
            self.metrics.message(platform, "group_moved");
        }
        Ok(())
    }

    /// Deliver one reply through `adapter` to where its group lives now: the
    /// id recorded by [`Self::record_group_move`], and a move the platform
    /// reports while sending is recorded before the reply goes to the new id.
    pub async fn send_reply(
        &self,
        client: &reqwest::Client,
        adapter: &Adapter,
        out: &Outgoing<'_>,
    ) -> Result<(), SendError> {
        let platform = adapter.name();
        let mut target = self
            .store()
            .group_send_id(platform, out.group_id)
            .map_err(|e| SendError::Retry {
                reason: format!("cannot read group moves: {e}"),
                after: None,
            })?;
        // A Telegram group moves once (to a supergroup); a second move in one
        // send is the platform going round in circles.
        for _ in 0..2 {
            let here = Outgoing {
                group_id: &target,
                ..out.clone()
            };
            match adapter.send(client, &here).await? {
                Sent::Posted => return Ok(()),
                Sent::Moved(to) => {
                    if let Err(e) = self.record_group_move(platform, &target, &to).await {
                        // This reply still goes to the new id; the next one
                        // learns the move again.
                        tracing::error!(error = %e, "cannot record a group move");
                    }
                    target = to;
                }
            }
        }
        Err(SendError::Permanent(
            "the group moved again after moving".into(),
        ))
    }

    /// Close every ticket that has waited in `resolved` longer than
    /// `[tickets] auto_close_hours` as of `now`; returns each closing's answer
    /// (its replies are queued in the outbox too).
    ///
    /// Each closing goes through the writer like a chat message, under a
    /// message id made of the ticket and its resolution time: a run that
    /// crashes half-way and is repeated closes nothing twice, while a ticket
    /// reopened and resolved again gets a fresh wait.
    pub async fn close_stale_tickets(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Answer>, ServiceError> {
        let hours = self.config.tickets.auto_close_hours;
        if hours == 0 {
            return Ok(Vec::new());
        }
        let cutoff = now - chrono::Duration::hours(i64::from(hours));
        let store = self.store();
        let resolved = tokio::task::spawn_blocking(move || {
            store.list(&ListFilter {
                status: Some(Status::Resolved),
                ..ListFilter::default()
            })
        })
        .await??;
        let mut closed = Vec::new();
        for t in resolved {
            let Some(resolved_at) = t.resolved_at.filter(|at| *at <= cutoff) else {
                continue;
            };
            let msg = timer_message(
                &t.platform,
                &t.group_id,
                None,
                format!("auto-close:{}:{}", t.id.get(), resolved_at.timestamp()),
            );
            let processed = self
                .writer
                .process_at(msg, Action::AutoClose(t.id), self.context(), Some(now))
                .await??;
            if processed.duplicate_delivery || processed.ticket.is_none() {
                continue;
            }
            self.metrics.ticket_auto_closed();
            if !processed.replies.is_empty() {
                self.outbox_wake.notify_one();
            }
            closed.push(answer_of(processed));
        }
        Ok(closed)
    }

    /// [`Service::complaint_input`] on the blocking pool: a long message
    /// against many patterns is CPU work that must not stall the async
    /// threads serving every other webhook.
    async fn classify_blocking(
        self: &Arc<Self>,
        text: String,
        insist: bool,
    ) -> Result<Option<ComplaintInput>, ServiceError> {
        let service = Arc::clone(self);
        Ok(tokio::task::spawn_blocking(move || service.complaint_input(&text, insist)).await?)
    }

    /// Classify `text`; `None` when it is not a complaint. With `insist` (the
    /// resident used `#投诉`), the best-scoring category is taken even below
    /// its threshold.
    fn complaint_input(&self, text: &str, insist: bool) -> Option<ComplaintInput> {
        let rules = self.rules();
        let started = Instant::now();
        let c = classify(&rules, text);
        self.metrics.classify_latency(started.elapsed());
        complaint_from(&rules, text, c, insist)
    }
}

impl Service {
    /// `#重载规则` from chat: admins only; the answer carries the errors.
    async fn reload_action(&self, msg: &InboundMessage, allow_removed: bool) -> Action {
        if self.role_of(msg) != Role::Admin {
            // The store refuses it with the standard polite message.
            return Action::Command(Command::Reload { allow_removed });
        }
        let text = match self.reload_rules(allow_removed).await {
            Ok(s) => format!(
                "规则已重新加载：{} 个类别，{} 条示例全部通过。",
                s.categories, s.examples
            ),
            Err(ServiceError::Rules { errors, .. }) => {
                let mut lines: Vec<String> =
                    errors.iter().take(10).map(|e| e.to_string()).collect();
                if errors.len() > 10 {
                    lines.push(format!("……共 {} 处问题", errors.len()));
                }
                format!("规则有误，未加载，仍使用原规则：\n{}", lines.join("\n"))
            }
            Err(ServiceError::RemovedCategories(removed)) => {
                let lines: Vec<String> = removed
                    .iter()
                    .map(|r| {
                        format!(
                            "「{}」（{}）仍有 {} 件未结案工单",
                            r.name, r.id, r.open_tickets
                        )
                    })
                    .collect();
                format!(
                    "新规则删除了以下类别，未加载，仍使用原规则：\n{}\n确认删除请发送 #重载规则 强制",
                    lines.join("\n")
                )
            }
            Err(e) => {
                tracing::error!(error = %e, "rule reload failed");
                "规则重新加载失败，仍使用原规则。详情见服务日志。".to_string()
            }
        };
        let org = match self.org_path() {
            None => String::new(),
            Some(_) => match self.reload_org().await {
                Ok(units) => format!("\n组织架构已重新加载：{units} 个单位。"),
                Err(ServiceError::Org(errors)) => {
                    let lines: Vec<String> =
                        errors.0.iter().take(10).map(|e| e.to_string()).collect();
                    format!(
                        "\n组织架构有误，未加载，仍使用原架构：\n{}",
                        lines.join("\n")
                    )
                }
                Err(e) => {
                    tracing::error!(error = %e, "org reload failed");
                    "\n组织架构重新加载失败，仍使用原架构。".to_string()
                }
            },
        };
        Action::Notice(format!("{text}{org}"))
    }

    /// The organisation in force.
    pub fn org(&self) -> Arc<Org> {
        self.org.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The file `org.toml` is read from, if any.
    pub fn org_path(&self) -> Option<&Path> {
        self.config.org.path.as_deref()
    }

    /// Read `org.toml` again; swap it in if it is valid, keep the old one
    /// (and log every `file:line`) if not. Returns how many units it has.
    pub async fn reload_org(&self) -> Result<usize, ServiceError> {
        let _guard = self.reload_lock.lock().await;
        let config = self.config.clone();
        match tokio::task::spawn_blocking(move || load_org(&config)).await? {
            Ok(org) => {
                let units = org.units.len();
                let context = build_context(&self.config, &self.rules(), &org, &self.sla);
                *self.org.write().unwrap_or_else(|p| p.into_inner()) = org;
                *self.context.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(context);
                tracing::info!(units, "organisation reloaded");
                Ok(units)
            }
            Err(e) => {
                if let ServiceError::Org(errors) = &e {
                    for err in &errors.0 {
                        tracing::error!(error = %err, "org file error; the previous organisation stays in force");
                    }
                }
                Err(e)
            }
        }
    }

    /// Load the rules directory again; swap it in if it is valid, keep the old one if not.
    ///
    /// A rule set that drops a category with open tickets is refused unless
    /// `allow_removed`: deleting `fire_lane.toml` by mistake would otherwise
    /// send fire-lane complaints to parking, or nowhere.
    pub async fn reload_rules(&self, allow_removed: bool) -> Result<ReloadSummary, ServiceError> {
        let _guard = self.reload_lock.lock().await;
        let dir = self.config.rules.dir.clone();
        let (old, store) = (self.rules(), self.store());
        let loaded = tokio::task::spawn_blocking(move || {
            let rules = load_categories(&dir)?;
            let removed = removed_categories(&old, &rules, &store)?;
            for r in &removed {
                tracing::warn!(
                    category = %r.id,
                    name = %r.name,
                    open_tickets = r.open_tickets,
                    forced = allow_removed,
                    "reload removes a category that has open tickets"
                );
            }
            if !removed.is_empty() && !allow_removed {
                return Err(ServiceError::RemovedCategories(removed));
            }
            // After the removal check, so a refused removal says so first;
            // answers linked to a removed category then fail with file:line.
            let answers = load_answers(&dir, &rules)?;
            Ok((rules, answers))
        })
        .await?;
        match loaded {
            Ok((rules, answers)) => {
                let summary = ReloadSummary {
                    categories: rules.categories().len(),
                    examples: rules
                        .categories()
                        .iter()
                        .map(|c| c.examples.len() + c.counter_examples.len())
                        .sum(),
                };
                let context = build_context(&self.config, &rules, &self.org(), &self.sla);
                *self.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
                *self.answers.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(answers);
                *self.context.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(context);
                self.metrics.rule_reload(true);
                tracing::info!(categories = summary.categories, "rules reloaded");
                Ok(summary)
            }
            Err(e) => {
                self.metrics.rule_reload(false);
                if let ServiceError::Rules { errors, .. } = &e {
                    for err in errors.iter() {
                        tracing::error!(error = %err, "rule file error; previous rules stay in force");
                    }
                }
                Err(e)
            }
        }
    }
}

fn answer_of(processed: Processed) -> Answer {
    Answer {
        ticket: processed.ticket.map(|t| t.get()),
        replies: processed
            .replies
            .into_iter()
            .map(|r| (r.group_id, r.text))
            .collect(),
    }
}

/// Categories of `old` that `new` no longer has, with their open tickets.
fn removed_categories(
    old: &RuleSet,
    new: &RuleSet,
    store: &Store,
) -> Result<Vec<RemovedCategory>, StoreError> {
    let mut out = Vec::new();
    for cat in old.categories() {
        if new.category(&cat.id).is_some() {
            continue;
        }
        let open_tickets = store
            .list(&ListFilter {
                category: Some(cat.id.clone()),
                active_only: true,
                ..ListFilter::default()
            })?
            .len();
        if open_tickets > 0 {
            out.push(RemovedCategory {
                id: cat.id.clone(),
                name: cat.name.clone(),
                open_tickets,
            });
        }
    }
    Ok(out)
}

/// The rule set and the knowledge base checked against it: both or neither.
fn load_rules(dir: &Path) -> Result<(RuleSet, KnowledgeBase), ServiceError> {
    let rules = load_categories(dir)?;
    let answers = load_answers(dir, &rules)?;
    Ok((rules, answers))
}

fn load_categories(dir: &Path) -> Result<RuleSet, ServiceError> {
    RuleSet::load(dir).map_err(|errors| ServiceError::Rules {
        dir: dir.display().to_string(),
        errors,
    })
}

fn load_org(config: &Config) -> Result<Arc<Org>, ServiceError> {
    match &config.org.path {
        Some(path) => crate::org::load(path)
            .map(Arc::new)
            .map_err(ServiceError::Org),
        None => Ok(Arc::new(Org::default())),
    }
}

fn build_context(config: &Config, rules: &RuleSet, org: &Arc<Org>, sla: &Arc<Policy>) -> Context {
    Context {
        org: org.clone(),
        sla: sla.clone(),
        roles: Roles {
            // A person listed in org.toml is an officer of their level.
            officers: config
                .roles
                .officers
                .iter()
                .cloned()
                .chain(org.member_keys())
                .collect(),
            admins: config.roles.admins.iter().cloned().collect(),
        },
        categories: rules
            .categories()
            .iter()
            .map(|c| {
                (
                    c.id.clone(),
                    CategoryInfo {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        department: c.department.clone(),
                        priority: c.priority,
                        sla_hours: c.sla_hours,
                        reply_template: c.reply.clone(),
                    },
                )
            })
            .collect(),
        duplicate_window_hours: config.tickets.duplicate_window_hours,
        auto_close_hours: config.tickets.auto_close_hours,
        replies: config
            .replies
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}
