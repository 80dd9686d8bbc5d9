//! The durable ticket store on sled: trees, indexes, the outbox, and the one `process` entry point.
//!
//! Layout (all integers big-endian so byte order is numeric order):
//!
//! | tree          | key                                         | value                     |
//! |---------------|---------------------------------------------|---------------------------|
//! | `tickets`     | id                                          | ticket record (v2)        |
//! | `events`      | id ++ seq (u32)                             | event record              |
//! | `idx_status`  | status ++ 0x00 ++ id                        | empty                     |
//! | `idx_category`| category ++ 0x00 ++ id                      | empty                     |
//! | `idx_group`   | platform ++ 0x00 ++ group_id ++ 0x00 ++ id  | empty                     |
//! | `idx_created` | unix seconds (u64) ++ id                    | empty                     |
//! | `processed`   | platform ++ 0x00 ++ message_id              | stored outcome            |
//! | `meta`        | `next_ticket`, `next_outbox`                | u64                       |
//! | `outbox`      | sequence (u64)                              | [`OutboxEntry`]           |
//! | `group_moves` | platform ++ 0x00 ++ group_id                | the id it lives under now |
//! | `group_aliases`| platform ++ 0x00 ++ later id               | the group_id it stands for|
//! | `corrections` | unix seconds (u64) ++ unique id (u64)       | [`Correction`]            |
//! | `inquiries`   | platform ++ 0x00 ++ message_id              | [`InquiryRecord`] (咨询)  |
//!
//! A group that changes id (a Telegram group upgraded to a supergroup) keeps
//! the id it was first seen under: its tickets and replies stay filed there,
//! messages from a later id are filed under it too (`group_aliases`), and
//! replies are sent to where it lives now (`group_moves`).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveTime, Offset, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{abort, ConflictableTransactionError, TransactionError, Transactional};
use sled::Tree;

use super::apply::{self, Plan};
use super::command::{Command, CommandError, Period};
use super::correction::Correction;
use super::error::StoreError;
use super::inquiry::{Inquiry, InquiryOutcome, InquiryRecord};
use super::model::{CategoryInfo, ComplaintInput, Event, Roles, Status, Ticket, TicketId};
use super::record::{self, OTHER_VERSION};
use super::reply::mask_phones;
use crate::message::InboundMessage;

/// The first ticket number issued, so numbers look like `#1024` from day one.
pub const FIRST_TICKET: u64 = 1001;
/// Default duplicate window.
pub const DEFAULT_DUPLICATE_WINDOW_HOURS: u32 = 72;
/// Default wait for the reporter after 办结 before closing without them: a week.
pub const DEFAULT_AUTO_CLOSE_HOURS: u32 = 168;

const NEXT_TICKET: &[u8] = b"next_ticket";
const NEXT_OUTBOX: &[u8] = b"next_outbox";
/// Default sled page cache (`[storage] cache_mb`), in MiB. Reading a large
/// store fills the cache, so it is what memory grows by with the store;
/// sled's own accounting undercounts its heap: going from 1 to 8 MiB cost
/// 33 MiB of RSS in the soak, with no latency gain (lists and lookups go
/// through indexes and touch few pages).
pub const DEFAULT_CACHE_MB: u64 = 4;

/// What a message asks the store to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The classifier says this is a complaint (also used for `#投诉`).
    Complaint(ComplaintInput),
    Command(Command),
    /// The text was a command but could not be parsed: the store records the
    /// delivery and queues the explanation, like any other reply.
    Invalid(CommandError),
    /// A reply the pipeline composed itself (the answer to `#重载规则`): the
    /// store records the delivery and queues the text for the message's group.
    Notice(String),
    /// Close this ticket if it has waited in `resolved` for the reporter
    /// longer than [`Context::auto_close_hours`]; otherwise change nothing.
    /// Sent by the service's own timer, never parsed from chat.
    AutoClose(TicketId),
    /// Take the SLA step due for this ticket (remind, escalate), if any.
    /// Sent by the SLA timer, never parsed from chat.
    Sla(TicketId),
    /// Remind of a `#复查` that is due, if it still is. Sent by the timer.
    Recheck(TicketId),
    /// Record the delivery and do nothing: a help or error reply the sender
    /// was just given (see `crate::reply_limit`).
    Silent,
    /// A question, not a complaint: answered (or logged), never a ticket.
    Inquiry(Inquiry),
}

impl Action {
    /// Turns the result of [`Command::parse`] into an action; `None` stays `None`
    /// (not a command: classify it instead).
    pub fn from_parse(parsed: Option<Result<Command, CommandError>>) -> Option<Action> {
        parsed.map(|r| match r {
            Ok(c) => Action::Command(c),
            Err(e) => Action::Invalid(e),
        })
    }
}

/// Everything `process` needs that is not in the message: roles, categories, settings.
#[derive(Debug, Clone)]
pub struct Context {
    pub roles: Roles,
    /// By category id; used for `#改类` and per-category reply templates.
    pub categories: HashMap<String, CategoryInfo>,
    pub duplicate_window_hours: u32,
    /// Reply template overrides by event name (`created`, `claimed`, ...).
    pub replies: HashMap<String, String>,
    /// A resolved ticket the reporter neither confirms nor disputes closes
    /// on its own after this long; 0 keeps it waiting for ever.
    pub auto_close_hours: u32,
    /// `org.toml`: who owns a community's tickets, where staff talk, who is above.
    pub org: std::sync::Arc<crate::org::Org>,
    /// How `sla_hours` counts (calendar or working hours).
    pub sla: std::sync::Arc<crate::sla::Policy>,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            roles: Roles::default(),
            categories: HashMap::new(),
            duplicate_window_hours: DEFAULT_DUPLICATE_WINDOW_HOURS,
            replies: HashMap::new(),
            auto_close_hours: DEFAULT_AUTO_CLOSE_HOURS,
            org: Default::default(),
            sla: Default::default(),
        }
    }
}

/// One text to post in one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub platform: String,
    pub group_id: String,
    pub text: String,
}

/// The outcome of [`Store::process`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The platform delivered this message before; nothing was written and
    /// `ticket`/`replies` are the stored outcome of the first delivery.
    pub duplicate_delivery: bool,
    pub ticket: Option<TicketId>,
    /// This message opened a new ticket (as opposed to joining one or a command).
    pub opened: bool,
    /// Also queued in the outbox; returned for logging and tests.
    pub replies: Vec<Reply>,
}

/// A reply waiting for the delivery worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: u64,
    pub platform: String,
    pub group_id: String,
    pub text: String,
    /// The adapter's handle from the message being answered, when the reply
    /// goes to that message's group.
    #[serde(default)]
    pub reply_handle: Option<String>,
    #[serde(default)]
    pub ticket: Option<u64>,
    pub created_at: DateTime<Utc>,
    /// Sends tried so far, and when the next may start: stored before each
    /// attempt, so a restart neither forgets the backoff nor fires every
    /// reply again at once.
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProcessedRecord {
    #[serde(default)]
    ticket: Option<TicketId>,
    #[serde(default)]
    replies: Vec<Reply>,
    at: DateTime<Utc>,
}

/// Which tickets `list` returns. Empty filter = all tickets, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListFilter {
    pub status: Option<Status>,
    /// Only open/assigned/in_progress/on_hold (ignored when `status` is set).
    pub active_only: bool,
    pub category: Option<String>,
    /// `(platform, group_id)`.
    pub group: Option<(String, String)>,
    pub since: Option<DateTime<Utc>>,
    /// Reporter or supporter user id.
    pub reporter: Option<String>,
    /// Officer user id.
    pub officer: Option<String>,
    pub limit: Option<usize>,
}

impl ListFilter {
    fn matches(&self, t: &Ticket) -> bool {
        self.status.is_none_or(|s| t.status == s)
            && (self.status.is_some() || !self.active_only || t.status.is_active())
            && self.category.as_ref().is_none_or(|c| &t.category == c)
            && self
                .group
                .as_ref()
                .is_none_or(|(p, g)| &t.platform == p && &t.group_id == g)
            && self.since.is_none_or(|s| t.created_at >= s)
            && self.reporter.as_ref().is_none_or(|r| t.is_reporter(r))
            && self
                .officer
                .as_ref()
                .is_none_or(|o| t.officer.as_ref().is_some_and(|p| &p.id == o))
    }
}

/// Numbers for `#统计` and the CLI.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub period: Period,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Tickets created in the period.
    pub created: usize,
    /// Tickets resolved in the period.
    pub resolved: usize,
    /// Tickets closed in the period.
    pub closed: usize,
    /// Tickets someone must still act on, now.
    pub active_now: usize,
    /// Active tickets past their deadline, now.
    pub overdue_now: usize,
    /// Tickets created in the period by category name, most first.
    pub by_category: Vec<(String, usize)>,
    /// Tickets created in the period by their current status.
    pub by_status: Vec<(Status, usize)>,
    /// Corrections (`#改类`, `#投诉` the classifier missed, `#非投诉`) made
    /// in the period, by the label they gave, most first.
    pub corrections_by_category: Vec<(String, usize)>,
    /// Questions answered in the period (解答问询), status questions included.
    pub inquiries_answered: usize,
    pub avg_rating: Option<f64>,
    pub avg_resolve_hours: Option<f64>,
}

/// China Standard Time, used for all human-facing dates and `#统计` periods.
pub fn china_tz() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// Start of the period containing `now`, in China time.
pub fn period_start(period: Period, now: DateTime<Utc>) -> DateTime<Utc> {
    let tz = china_tz();
    let local = now.with_timezone(&tz).date_naive();
    let day = match period {
        Period::Today => local,
        Period::Week => local - Duration::days(i64::from(local.weekday().num_days_from_monday())),
        Period::Month => local.with_day(1).unwrap_or(local),
    };
    tz.from_local_datetime(&day.and_time(NaiveTime::MIN))
        .single()
        .map_or(now, |d| d.with_timezone(&Utc))
}

/// Key helpers.
pub(crate) mod keys {
    use super::{Status, Ticket, TicketId};

    pub fn status(s: Status, id: TicketId) -> Vec<u8> {
        let mut k = s.as_str().as_bytes().to_vec();
        k.push(0);
        k.extend_from_slice(&id.to_be_bytes());
        k
    }
    pub fn status_prefix(s: Status) -> Vec<u8> {
        let mut k = s.as_str().as_bytes().to_vec();
        k.push(0);
        k
    }
    pub fn category_prefix(c: &str) -> Vec<u8> {
        let mut k = c.as_bytes().to_vec();
        k.push(0);
        k
    }
    pub fn category(c: &str, id: TicketId) -> Vec<u8> {
        let mut k = category_prefix(c);
        k.extend_from_slice(&id.to_be_bytes());
        k
    }
    pub fn group_prefix(platform: &str, group: &str) -> Vec<u8> {
        let mut k = platform.as_bytes().to_vec();
        k.push(0);
        k.extend_from_slice(group.as_bytes());
        k.push(0);
        k
    }
    pub fn group(platform: &str, group: &str, id: TicketId) -> Vec<u8> {
        let mut k = group_prefix(platform, group);
        k.extend_from_slice(&id.to_be_bytes());
        k
    }
    pub fn created(t: &Ticket) -> Vec<u8> {
        let secs = u64::try_from(t.created_at.timestamp()).unwrap_or(0);
        let mut k = secs.to_be_bytes().to_vec();
        k.extend_from_slice(&t.id.to_be_bytes());
        k
    }
    pub fn processed(platform: &str, message_id: &str) -> Vec<u8> {
        let mut k = platform.as_bytes().to_vec();
        k.push(0);
        k.extend_from_slice(message_id.as_bytes());
        k
    }
    /// `away:<platform:user>` in `meta`: set while an officer is on leave.
    pub fn away(member_key: &str) -> Vec<u8> {
        format!("away:{member_key}").into_bytes()
    }

    /// `turn:<community>` in `meta`: the next station officer's index.
    pub fn turn(community: &str) -> Vec<u8> {
        format!("turn:{community}").into_bytes()
    }

    pub fn event(id: TicketId, seq: u32) -> Vec<u8> {
        let mut k = id.to_be_bytes().to_vec();
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }
    /// The id at the end of any index key.
    pub fn trailing_id(key: &[u8]) -> Option<TicketId> {
        let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
        TicketId::new(u64::from_be_bytes(tail))
    }
}

fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The ticket database. Cheap to clone; clones share the database and the write lock.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    tickets: Tree,
    events: Tree,
    idx_status: Tree,
    idx_category: Tree,
    idx_group: Tree,
    idx_created: Tree,
    processed: Tree,
    meta: Tree,
    outbox: Tree,
    /// Replies the delivery worker gave up on, kept for inspection.
    dead_letters: Tree,
    group_moves: Tree,
    group_aliases: Tree,
    /// What officers and residents corrected, to learn from.
    corrections: Tree,
    inquiries: Tree,
    /// Serialises `process`. sled transactions cannot scan ranges, and
    /// duplicate detection and event numbering must scan, so planning happens
    /// outside the transaction under this lock and the transaction only writes.
    write_lock: Arc<Mutex<()>>,
    /// Test hook: this many coming `outbox_remove` calls fail (a full disk).
    failing_removals: Arc<AtomicUsize>,
}

/// Why a commit transaction gave up.
#[derive(Debug)]
enum TxAbort {
    AlreadyProcessed,
    Encode(StoreError),
}

/// How the store opens sled: the cache bound and the write mode.
pub fn sled_config(path: &Path, cache_mb: u64) -> sled::Config {
    sled::Config::new()
        .path(path)
        // sled's default page cache is 1 GiB; hot tickets are a small set.
        .cache_capacity(cache_mb.saturating_mul(1024 * 1024))
        // Favour write speed over compaction: ingest is the hot path.
        .mode(sled::Mode::HighThroughput)
}

impl Store {
    /// Opens (or creates) the database at `path` with the default cache.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Store::open_with_cache(path, DEFAULT_CACHE_MB)
    }

    /// Opens (or creates) the database at `path` with a page cache of `cache_mb` MiB.
    pub fn open_with_cache(path: impl AsRef<Path>, cache_mb: u64) -> Result<Store, StoreError> {
        Store::from_db(sled_config(path.as_ref(), cache_mb).open()?)
    }

    /// Uses an already open sled database (the trees are created if missing).
    pub fn from_db(db: sled::Db) -> Result<Store, StoreError> {
        Ok(Store {
            tickets: db.open_tree("tickets")?,
            events: db.open_tree("events")?,
            idx_status: db.open_tree("idx_status")?,
            idx_category: db.open_tree("idx_category")?,
            idx_group: db.open_tree("idx_group")?,
            idx_created: db.open_tree("idx_created")?,
            processed: db.open_tree("processed")?,
            meta: db.open_tree("meta")?,
            outbox: db.open_tree("outbox")?,
            dead_letters: db.open_tree("dead_letters")?,
            group_moves: db.open_tree("group_moves")?,
            group_aliases: db.open_tree("group_aliases")?,
            corrections: db.open_tree("corrections")?,
            inquiries: db.open_tree("inquiries")?,
            db,
            write_lock: Arc::new(Mutex::new(())),
            failing_removals: Arc::default(),
        })
    }

    /// The underlying database, for tests and maintenance tools.
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// Applies one inbound message: the single entry point of the HTTP pipeline.
    ///
    /// In one transaction: refuses a second delivery of the same
    /// `(platform, message_id)` (returning the first outcome), applies the
    /// complaint or command, queues the replies in the outbox and records the
    /// delivery. Call [`Store::flush_async`] before acknowledging the platform.
    /// Blocking: from async code run it in `spawn_blocking`.
    pub fn process(
        &self,
        msg: &InboundMessage,
        action: Action,
        ctx: &Context,
        now: DateTime<Utc>,
    ) -> Result<Processed, StoreError> {
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pkey = keys::processed(&msg.platform, &msg.message_id);
        if let Some(done) = self.load_processed(&pkey)? {
            return Ok(done);
        }
        // Under the lock, so a move recorded meanwhile cannot split the group.
        let filed;
        let msg = match self.group_alias(&msg.platform, &msg.group_id)? {
            Some(group_id) => {
                filed = InboundMessage {
                    group_id,
                    ..msg.clone()
                };
                &filed
            }
            None => msg,
        };
        let plan = apply::plan(self, msg, &action, ctx, now)?;
        self.commit(&pkey, plan, msg, now)
    }

    /// The stored outcome of an earlier delivery, if any.
    pub fn processed_outcome(
        &self,
        platform: &str,
        message_id: &str,
    ) -> Result<Option<Processed>, StoreError> {
        self.load_processed(&keys::processed(platform, message_id))
    }

    fn load_processed(&self, pkey: &[u8]) -> Result<Option<Processed>, StoreError> {
        let Some(bytes) = self.processed.get(pkey)? else {
            return Ok(None);
        };
        let rec: ProcessedRecord = record::decode_v1("processed", &bytes)?;
        Ok(Some(Processed {
            duplicate_delivery: true,
            opened: false,
            ticket: rec.ticket,
            replies: rec.replies,
        }))
    }

    fn commit(
        &self,
        pkey: &[u8],
        plan: Plan,
        msg: &InboundMessage,
        now: DateTime<Utc>,
    ) -> Result<Processed, StoreError> {
        // Encode everything possible before the transaction, so the closure
        // (which sled may run several times) only moves bytes.
        let mut ticket_ops = Vec::new();
        for (before, after) in &plan.writes {
            let old_idx = before.as_ref().map(index_keys);
            ticket_ops.push((
                after.id.to_be_bytes(),
                record::encode_ticket(after)?,
                old_idx,
                index_keys(after),
            ));
        }
        let mut event_ops = Vec::new();
        for (id, ev) in &plan.events {
            event_ops.push((keys::event(*id, ev.seq), record::encode(OTHER_VERSION, ev)?));
        }
        let mut correction_ops = Vec::new();
        for c in &plan.corrections {
            let secs = u64::try_from(c.at.timestamp()).unwrap_or(0);
            let mut key = secs.to_be_bytes().to_vec();
            key.extend_from_slice(&self.db.generate_id()?.to_be_bytes());
            correction_ops.push((key, record::encode(OTHER_VERSION, c)?));
        }
        // Keyed by the delivery: one question, one record.
        let inquiry_bytes = match &plan.inquiry {
            Some(rec) => Some(record::encode(OTHER_VERSION, rec)?),
            None => None,
        };
        // The one place where text leaves for a group: every outbox row and
        // every inline webhook answer is this list, so it is masked here and
        // only here, whatever kind of reply (an echoed command error, a
        // ticket brief, a note) carries the number.
        let replies: Vec<Reply> = plan
            .replies
            .iter()
            .map(|r| Reply {
                text: mask_phones(&r.reply.text),
                ..r.reply.clone()
            })
            .collect();
        let processed_bytes = record::encode(
            OTHER_VERSION,
            &ProcessedRecord {
                ticket: plan.ticket,
                replies: replies.clone(),
                at: now,
            },
        )?;

        let trees = (
            &self.tickets,
            &self.events,
            &self.idx_status,
            &self.idx_category,
            &self.idx_group,
            &self.idx_created,
            &self.processed,
            &self.meta,
            &self.outbox,
            &self.corrections,
            &self.inquiries,
        );
        let result = trees.transaction(|(tk, ev, st, ca, gr, cr, pr, me, ob, co, iq)| {
            if pr.get(pkey)?.is_some() {
                return abort(TxAbort::AlreadyProcessed);
            }
            if let Some(id) = plan.new_ticket {
                me.insert(NEXT_TICKET, &(id.get() + 1).to_be_bytes())?;
            }
            for (key, bytes, old, new) in &ticket_ops {
                // Only index entries that changed are rewritten: most updates
                // (a note, a supporter) touch none, a transition only status.
                for (tree, old_key, new_key) in [
                    (st, old.as_ref().map(|o| &o.status), &new.status),
                    (ca, old.as_ref().map(|o| &o.category), &new.category),
                    (gr, old.as_ref().map(|o| &o.group), &new.group),
                    (cr, old.as_ref().map(|o| &o.created), &new.created),
                ] {
                    if old_key == Some(new_key) {
                        continue;
                    }
                    if let Some(old_key) = old_key {
                        tree.remove(old_key.as_slice())?;
                    }
                    tree.insert(new_key.as_slice(), &[])?;
                }
                tk.insert(key, bytes.as_slice())?;
            }
            for (key, bytes) in &event_ops {
                ev.insert(key.as_slice(), bytes.as_slice())?;
            }
            for (key, bytes) in &correction_ops {
                co.insert(key.as_slice(), bytes.as_slice())?;
            }
            if let Some(bytes) = &inquiry_bytes {
                iq.insert(pkey, bytes.as_slice())?;
            }
            let mut next = me.get(NEXT_OUTBOX)?.and_then(|b| be_u64(&b)).unwrap_or(1);
            for (r, reply) in plan.replies.iter().zip(&replies) {
                let entry = OutboxEntry {
                    id: next,
                    platform: reply.platform.clone(),
                    group_id: reply.group_id.clone(),
                    text: reply.text.clone(),
                    reply_handle: r.reply_handle.clone(),
                    ticket: r.ticket.map(TicketId::get),
                    created_at: now,
                    attempts: 0,
                    next_attempt_at: None,
                };
                let bytes = record::encode(OTHER_VERSION, &entry)
                    .map_err(|e| ConflictableTransactionError::Abort(TxAbort::Encode(e)))?;
                ob.insert(&next.to_be_bytes(), bytes)?;
                next += 1;
            }
            me.insert(NEXT_OUTBOX, &next.to_be_bytes())?;
            for (key, value) in &plan.meta {
                match value {
                    Some(v) => me.insert(key.as_slice(), v.as_slice())?,
                    None => me.remove(key.as_slice())?,
                };
            }
            pr.insert(pkey, processed_bytes.as_slice())?;
            Ok(())
        });
        match result {
            Ok(()) => Ok(Processed {
                duplicate_delivery: false,
                opened: plan.new_ticket.is_some(),
                ticket: plan.ticket,
                replies,
            }),
            Err(TransactionError::Abort(TxAbort::AlreadyProcessed)) => {
                // Only possible if something wrote outside the lock; report the first outcome.
                Ok(self.load_processed(pkey)?.unwrap_or(Processed {
                    duplicate_delivery: true,
                    opened: false,
                    ticket: None,
                    replies: Vec::new(),
                }))
            }
            Err(TransactionError::Abort(TxAbort::Encode(e))) => Err(e),
            Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
        }
        .inspect(|_| tracing::debug!(message_id = %msg.message_id, "processed"))
    }

    /// A small value the workflow keeps besides tickets (who is away, whose
    /// turn it is); written only through a plan, read freely.
    pub(crate) fn meta_get(&self, key: &[u8]) -> Result<Option<sled::IVec>, StoreError> {
        Ok(self.meta.get(key)?)
    }

    /// Whether `platform:user_id` said `#请假` and not `#销假` since.
    pub fn is_away(&self, member_key: &str) -> Result<bool, StoreError> {
        Ok(self.meta_get(&keys::away(member_key))?.is_some())
    }

    /// Makes everything written so far durable.
    pub fn flush(&self) -> Result<usize, StoreError> {
        Ok(self.db.flush()?)
    }

    /// [`Store::flush`] off the async threads. The webhook path does not use
    /// it: there the writer thread (`crate::writer`) flushes once per batch.
    /// sled's own `flush_async` is avoided on purpose: it deadlocks when called
    /// concurrently (spacejam/sled#1308).
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.flush().map(|_| ()))
            .await
            .map_err(|e| StoreError::FlushFailed(e.to_string()))?
    }

    // ---- reads -----------------------------------------------------------

    pub fn get(&self, id: TicketId) -> Result<Option<Ticket>, StoreError> {
        self.tickets
            .get(id.to_be_bytes())?
            .map(|b| record::decode_ticket(&b))
            .transpose()
    }

    /// A ticket's events, oldest first.
    pub fn history(&self, id: TicketId) -> Result<Vec<Event>, StoreError> {
        self.events
            .scan_prefix(id.to_be_bytes())
            .values()
            .map(|v| record::decode_v1::<Event>("events", &v?))
            .collect()
    }

    /// The next free event sequence number of a ticket.
    pub(crate) fn next_event_seq(&self, id: TicketId) -> Result<u32, StoreError> {
        let last = self.events.scan_prefix(id.to_be_bytes()).keys().next_back();
        match last {
            None => Ok(0),
            Some(k) => {
                let k = k?;
                let seq = k
                    .get(8..12)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(u32::from_be_bytes)
                    .ok_or_else(|| StoreError::corrupt("events", "short key"))?;
                Ok(seq.saturating_add(1))
            }
        }
    }

    /// The number the next new ticket gets. Robust against a missing counter
    /// (a database written by an older version): never below an existing id.
    pub(crate) fn next_ticket_id(&self) -> Result<TicketId, StoreError> {
        let counter = self
            .meta
            .get(NEXT_TICKET)?
            .and_then(|b| be_u64(&b))
            .unwrap_or(0);
        let after_last = match self.tickets.last()? {
            Some((k, _)) => be_u64(&k).unwrap_or(0).saturating_add(1),
            None => 0,
        };
        let n = counter.max(after_last).max(FIRST_TICKET);
        if n == u64::MAX {
            return Err(StoreError::CounterExhausted);
        }
        TicketId::new(n).ok_or(StoreError::CounterExhausted)
    }

    /// Ticket ids in one chat group, newest first.
    pub(crate) fn ids_in_group(
        &self,
        platform: &str,
        group: &str,
    ) -> impl Iterator<Item = Result<TicketId, StoreError>> {
        self.idx_group
            .scan_prefix(keys::group_prefix(platform, group))
            .keys()
            .rev()
            .map(|k| {
                let k = k?;
                keys::trailing_id(&k).ok_or_else(|| StoreError::corrupt("idx_group", "bad key"))
            })
    }

    fn ids_from_index(
        tree: &Tree,
        prefix: &[u8],
        name: &'static str,
    ) -> Result<BTreeSet<TicketId>, StoreError> {
        tree.scan_prefix(prefix)
            .keys()
            .map(|k| {
                let k = k?;
                keys::trailing_id(&k).ok_or_else(|| StoreError::corrupt(name, "bad key"))
            })
            .collect()
    }

    /// The ids a filter selects, newest first, from the indexes alone (no
    /// record is decoded); `None` when the filter needs the records (`since`,
    /// `reporter`, `officer`). For pages and counts over many tickets.
    pub fn index_ids(&self, filter: &ListFilter) -> Result<Option<Vec<TicketId>>, StoreError> {
        if filter.since.is_some() || filter.reporter.is_some() || filter.officer.is_some() {
            return Ok(None);
        }
        let mut sets: Vec<BTreeSet<TicketId>> = Vec::new();
        if let Some((p, g)) = &filter.group {
            sets.push(Self::ids_from_index(
                &self.idx_group,
                &keys::group_prefix(p, g),
                "idx_group",
            )?);
        }
        if let Some(c) = &filter.category {
            sets.push(Self::ids_from_index(
                &self.idx_category,
                &keys::category_prefix(c),
                "idx_category",
            )?);
        }
        let statuses: &[Status] = match filter.status {
            Some(ref s) => std::slice::from_ref(s),
            None if filter.active_only => &Status::ACTIVE,
            None => &[],
        };
        if !statuses.is_empty() {
            let mut set = BTreeSet::new();
            for s in statuses {
                set.extend(Self::ids_from_index(
                    &self.idx_status,
                    &keys::status_prefix(*s),
                    "idx_status",
                )?);
            }
            sets.push(set);
        }
        // The smallest set first, so the intersection touches least.
        sets.sort_by_key(|s| s.len());
        let mut ids: Vec<TicketId> = match sets.split_first() {
            Some((first, rest)) => first
                .iter()
                .filter(|id| rest.iter().all(|s| s.contains(id)))
                .copied()
                .collect(),
            None => {
                let mut all = Vec::new();
                for k in self.tickets.iter().keys() {
                    let k = k?;
                    let n = <[u8; 8]>::try_from(k.as_ref())
                        .map(u64::from_be_bytes)
                        .map_err(|_| StoreError::corrupt("tickets", "bad key"))?;
                    all.extend(TicketId::new(n));
                }
                all
            }
        };
        ids.reverse();
        if let Some(limit) = filter.limit {
            ids.truncate(limit);
        }
        Ok(Some(ids))
    }

    /// Tickets matching the filter, newest first, using the most selective index.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Ticket>, StoreError> {
        let ids: Option<BTreeSet<TicketId>> = if let Some((p, g)) = &filter.group {
            Some(Self::ids_from_index(
                &self.idx_group,
                &keys::group_prefix(p, g),
                "idx_group",
            )?)
        } else if let Some(c) = &filter.category {
            Some(Self::ids_from_index(
                &self.idx_category,
                &keys::category_prefix(c),
                "idx_category",
            )?)
        } else if let Some(s) = filter.status {
            Some(Self::ids_from_index(
                &self.idx_status,
                &keys::status_prefix(s),
                "idx_status",
            )?)
        } else if filter.active_only {
            let mut all = BTreeSet::new();
            for s in Status::ACTIVE {
                all.extend(Self::ids_from_index(
                    &self.idx_status,
                    &keys::status_prefix(s),
                    "idx_status",
                )?);
            }
            Some(all)
        } else if let Some(since) = filter.since {
            let start = u64::try_from(since.timestamp()).unwrap_or(0).to_be_bytes();
            let mut set = BTreeSet::new();
            for k in self.idx_created.range(start..).keys() {
                let k = k?;
                set.insert(
                    keys::trailing_id(&k)
                        .ok_or_else(|| StoreError::corrupt("idx_created", "bad key"))?,
                );
            }
            Some(set)
        } else {
            None
        };
        let limit = filter.limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        match ids {
            Some(ids) => {
                for id in ids.into_iter().rev() {
                    if out.len() >= limit {
                        break;
                    }
                    // An index entry without a ticket is skipped, not fatal.
                    if let Some(t) = self.get(id)? {
                        if filter.matches(&t) {
                            out.push(t);
                        }
                    }
                }
            }
            None => {
                for item in self.tickets.iter().values().rev() {
                    if out.len() >= limit {
                        break;
                    }
                    let t = record::decode_ticket(&item?)?;
                    if filter.matches(&t) {
                        out.push(t);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The 咨询 record one delivery left, if it was a question.
    pub fn inquiry(
        &self,
        platform: &str,
        message_id: &str,
    ) -> Result<Option<InquiryRecord>, StoreError> {
        self.inquiries
            .get(keys::processed(platform, message_id))?
            .map(|v| record::decode_v1("inquiries", &v))
            .transpose()
    }

    /// Questions no entry answered, from `since` on, oldest first.
    pub fn unanswered(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<InquiryRecord>, StoreError> {
        Ok(self
            .inquiries()?
            .into_iter()
            .filter(|q| q.outcome == InquiryOutcome::Unanswered)
            .filter(|q| since.is_none_or(|s| q.at >= s))
            .collect())
    }

    /// Every recorded question (咨询), oldest first.
    pub fn inquiries(&self) -> Result<Vec<InquiryRecord>, StoreError> {
        let mut all = self
            .inquiries
            .iter()
            .values()
            .map(|v| record::decode_v1::<InquiryRecord>("inquiries", &v?))
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by_key(|q| q.at);
        Ok(all)
    }

    /// Every ticket, oldest first.
    pub fn all_tickets(&self) -> Result<Vec<Ticket>, StoreError> {
        self.tickets
            .iter()
            .values()
            .map(|v| record::decode_ticket(&v?))
            .collect()
    }

    /// Corrections made at or after `since` (all without it), oldest first.
    pub fn corrections(&self, since: Option<DateTime<Utc>>) -> Result<Vec<Correction>, StoreError> {
        let start = since.map_or(0, |s| u64::try_from(s.timestamp()).unwrap_or(0));
        self.corrections
            .range(start.to_be_bytes()..)
            .values()
            .map(|v| record::decode_v1("corrections", &v?))
            .collect()
    }

    /// Counts for the period containing `now` (China time).
    pub fn stats(&self, period: Period, now: DateTime<Utc>) -> Result<Stats, StoreError> {
        let start = period_start(period, now);
        let in_period = |t: Option<DateTime<Utc>>| t.is_some_and(|t| t >= start && t <= now);
        let mut s = Stats {
            period,
            start,
            end: now,
            created: 0,
            resolved: 0,
            closed: 0,
            active_now: 0,
            overdue_now: 0,
            by_category: Vec::new(),
            by_status: Vec::new(),
            inquiries_answered: 0,
            avg_rating: None,
            avg_resolve_hours: None,
            corrections_by_category: Vec::new(),
        };
        let mut by_cat: HashMap<String, usize> = HashMap::new();
        let mut by_status: HashMap<Status, usize> = HashMap::new();
        let (mut ratings, mut rating_n) = (0u64, 0u64);
        let (mut hours, mut hours_n) = (0f64, 0u64);
        for t in self.all_tickets()? {
            if t.status.is_active() {
                s.active_now += 1;
                if t.is_overdue(now) {
                    s.overdue_now += 1;
                }
            }
            if in_period(Some(t.created_at)) {
                s.created += 1;
                *by_cat.entry(t.category_name.clone()).or_default() += 1;
                *by_status.entry(t.status).or_default() += 1;
            }
            if in_period(t.resolved_at) {
                s.resolved += 1;
                if let Some(r) = t.resolved_at {
                    hours += (r - t.created_at).num_minutes() as f64 / 60.0;
                    hours_n += 1;
                }
            }
            if in_period(t.closed_at) {
                s.closed += 1;
                if let Some(r) = t.rating {
                    ratings += u64::from(r);
                    rating_n += 1;
                }
            }
        }
        for rec in self.inquiries()? {
            if rec.outcome.is_answered() && in_period(Some(rec.at)) {
                s.inquiries_answered += 1;
            }
        }
        s.by_category = by_cat.into_iter().collect();
        s.by_category
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        s.by_status = Status::ALL
            .iter()
            .filter_map(|st| by_status.get(st).map(|n| (*st, *n)))
            .collect();
        let mut corrected: HashMap<String, usize> = HashMap::new();
        for c in self.corrections(Some(start))? {
            if c.at <= now {
                *corrected.entry(c.label_name).or_default() += 1;
            }
        }
        s.corrections_by_category = corrected.into_iter().collect();
        s.corrections_by_category
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        s.avg_rating = (rating_n > 0).then(|| ratings as f64 / rating_n as f64);
        s.avg_resolve_hours = (hours_n > 0).then(|| hours / hours_n as f64);
        Ok(s)
    }

    // ---- outbox ----------------------------------------------------------

    /// Up to `limit` queued replies, oldest first.
    pub fn outbox_pending(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.outbox
            .iter()
            .values()
            .take(limit)
            .map(|v| record::decode_v1("outbox", &v?))
            .collect()
    }

    /// Up to `limit` queued replies with ids above `after`, oldest first.
    pub fn outbox_after(&self, after: u64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let Some(from) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        self.outbox
            .range(from.to_be_bytes()..)
            .values()
            .take(limit)
            .map(|v| record::decode_v1("outbox", &v?))
            .collect()
    }

    /// The id the next queued reply will get.
    pub fn outbox_next_id(&self) -> Result<u64, StoreError> {
        Ok(self
            .meta
            .get(NEXT_OUTBOX)?
            .and_then(|b| be_u64(&b))
            .unwrap_or(1))
    }

    pub fn outbox_get(&self, id: u64) -> Result<Option<OutboxEntry>, StoreError> {
        self.outbox
            .get(id.to_be_bytes())?
            .map(|v| record::decode_v1("outbox", &v))
            .transpose()
    }

    /// Stores a reply's attempt count and next attempt time; `false` if it is
    /// no longer queued (never re-creates a removed reply).
    pub fn outbox_record_attempt(
        &self,
        id: u64,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some(mut entry) = self.outbox_get(id)? else {
            return Ok(false);
        };
        entry.attempts = attempts;
        entry.next_attempt_at = Some(next_attempt_at);
        let new = record::encode(OTHER_VERSION, &entry)?;
        let key = id.to_be_bytes();
        let mut written = false;
        // Only the delivery worker changes queued replies, but a removal
        // between the read and the write must win: update in place only.
        self.outbox.update_and_fetch(key, |old| {
            written = old.is_some();
            old.map(|_| new.clone())
        })?;
        Ok(written)
    }

    /// Removes a delivered reply; `false` if it was already gone. Not flushed:
    /// the worker flushes once per batch of deliveries, before those groups'
    /// next sends.
    pub fn outbox_remove(&self, id: u64) -> Result<bool, StoreError> {
        let failing = self.failing_removals.load(Ordering::Relaxed);
        if failing > 0 {
            self.failing_removals.store(failing - 1, Ordering::Relaxed);
            return Err(StoreError::Sled(sled::Error::Io(std::io::Error::other(
                "removal failed (test hook)",
            ))));
        }
        Ok(self.outbox.remove(id.to_be_bytes())?.is_some())
    }

    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// Move an undeliverable reply from the outbox to `dead_letters`, with the
    /// reason and time `at`, in one transaction. Returns false if it was not pending.
    pub fn outbox_dead_letter(
        &self,
        id: u64,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = id.to_be_bytes();
        let moved = (&self.outbox, &self.dead_letters).transaction(|(outbox, dead)| {
            let Some(value) = outbox.remove(&key)? else {
                return Ok(false);
            };
            let mut record: serde_json::Value =
                serde_json::from_slice(&value).unwrap_or(serde_json::Value::Null);
            if let Some(obj) = record.as_object_mut() {
                obj.insert("dead_reason".into(), reason.into());
                obj.insert("dead_at".into(), at.to_rfc3339().into());
            }
            let bytes = serde_json::to_vec(&record).unwrap_or_else(|_| value.to_vec());
            dead.insert(&key, bytes)?;
            Ok(true)
        });
        moved.map_err(|e: sled::transaction::TransactionError<()>| match e {
            sled::transaction::TransactionError::Storage(e) => StoreError::from(e),
            sled::transaction::TransactionError::Abort(()) => StoreError::from(
                sled::Error::ReportableBug("dead-letter move aborted".into()),
            ),
        })
    }

    /// Replies given up on, as stored (JSON with `dead_reason` and `dead_at`).
    pub fn dead_letters(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        self.dead_letters
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?).unwrap_or(serde_json::Value::Null)))
            .collect()
    }

    // ---- groups that changed id -------------------------------------------

    /// The group id a later id of the same group stands for, if it is one.
    fn group_alias(&self, platform: &str, group: &str) -> Result<Option<String>, StoreError> {
        let key = keys::group_prefix(platform, group);
        self.group_aliases
            .get(key)?
            .map(|v| {
                String::from_utf8(v.to_vec())
                    .map_err(|_| StoreError::corrupt("group_aliases", "not UTF-8"))
            })
            .transpose()
    }

    /// Where replies for `group` go: the id it lives under now.
    pub fn group_send_id(&self, platform: &str, group: &str) -> Result<String, StoreError> {
        let filed = self
            .group_alias(platform, group)?
            .unwrap_or_else(|| group.to_string());
        match self.group_moves.get(keys::group_prefix(platform, &filed))? {
            Some(v) => String::from_utf8(v.to_vec())
                .map_err(|_| StoreError::corrupt("group_moves", "not UTF-8")),
            None => Ok(filed),
        }
    }

    /// Record that the group known as `from` now lives under `to`. Returns
    /// false when that was known already. Not flushed: the caller flushes.
    pub fn record_group_move(
        &self,
        platform: &str,
        from: &str,
        to: &str,
    ) -> Result<bool, StoreError> {
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let filed = self
            .group_alias(platform, from)?
            .unwrap_or_else(|| from.to_string());
        if from == to || self.group_send_id(platform, &filed)? == to {
            return Ok(false);
        }
        let filed_key = keys::group_prefix(platform, &filed);
        let to_key = keys::group_prefix(platform, to);
        (&self.group_moves, &self.group_aliases)
            .transaction(|(moves, aliases)| {
                if to == filed {
                    // Back under its first id: nothing to redirect.
                    moves.remove(filed_key.as_slice())?;
                } else {
                    moves.insert(filed_key.as_slice(), to.as_bytes())?;
                    aliases.insert(to_key.as_slice(), filed.as_bytes())?;
                }
                Ok(())
            })
            .map_err(|e: TransactionError<()>| match e {
                TransactionError::Storage(e) => StoreError::from(e),
                TransactionError::Abort(()) => {
                    StoreError::from(sled::Error::ReportableBug("group move aborted".into()))
                }
            })?;
        Ok(true)
    }

    // ---- maintenance -----------------------------------------------------

    /// Rebuilds all indexes from the tickets tree, and rewrites old-version
    /// records in the current format. Returns the number of tickets. Run it
    /// offline after restoring or upgrading a database.
    pub fn reindex(&self) -> Result<usize, StoreError> {
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for tree in [
            &self.idx_status,
            &self.idx_category,
            &self.idx_group,
            &self.idx_created,
        ] {
            tree.clear()?;
        }
        let mut n = 0;
        for item in self.tickets.iter() {
            let (k, v) = item?;
            let t = record::decode_ticket(&v)?;
            let ix = index_keys(&t);
            self.idx_status.insert(ix.status, &[])?;
            self.idx_category.insert(ix.category, &[])?;
            self.idx_group.insert(ix.group, &[])?;
            self.idx_created.insert(ix.created, &[])?;
            self.tickets.insert(k, record::encode_ticket(&t)?)?;
            n += 1;
        }
        Ok(n)
    }

    /// Makes the next `n` [`Store::outbox_remove`] calls fail, as on a full
    /// disk, for tests of the delivery worker.
    #[doc(hidden)]
    pub fn fail_outbox_removals(&self, n: usize) {
        self.failing_removals.store(n, Ordering::Relaxed);
    }

    /// The next ticket and outbox numbers as this handle sees them, also
    /// those handed out in memory and never flushed.
    pub fn counters(&self) -> Result<(u64, u64), StoreError> {
        Ok((self.next_ticket_id()?.get(), self.outbox_next_id()?))
    }

    /// Never hand out numbers below these: after a reopen, a number the failed
    /// database gave out in memory may already be in a sent reply, or seen
    /// by the delivery worker.
    pub fn raise_counters(&self, (ticket, outbox): (u64, u64)) -> Result<(), StoreError> {
        for (key, at_least) in [(NEXT_TICKET, ticket), (NEXT_OUTBOX, outbox)] {
            self.meta.fetch_and_update(key, |old| {
                let now = old.and_then(be_u64).unwrap_or(0);
                Some(now.max(at_least).to_be_bytes().to_vec())
            })?;
        }
        Ok(())
    }

    /// Raw access to a tree, for tests that write old-format records.
    #[doc(hidden)]
    pub fn raw_tree(&self, name: &str) -> Result<Tree, StoreError> {
        Ok(self.db.open_tree(name)?)
    }
}

struct IndexKeys {
    status: Vec<u8>,
    category: Vec<u8>,
    group: Vec<u8>,
    created: Vec<u8>,
}

fn index_keys(t: &Ticket) -> IndexKeys {
    IndexKeys {
        status: keys::status(t.status, t.id),
        category: keys::category(&t.category, t.id),
        group: keys::group(&t.platform, &t.group_id, t.id),
        created: keys::created(t),
    }
}
