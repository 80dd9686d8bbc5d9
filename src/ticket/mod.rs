//! Tickets: the durable store, the 城管 case workflow, chat commands and replies.
//!
//! The service's writer thread calls [`Store::process`] once per inbound
//! message with an [`Action`] (a classified complaint, a parsed command, a
//! command that failed to parse, or a notice), then [`Store::flush`] once for
//! the batch before anyone is acknowledged. The
//! delivery worker reads the outbox with [`Store::outbox_after`], records
//! attempts with [`Store::outbox_record_attempt`] and removes delivered
//! replies with [`Store::outbox_remove`]. The CLI uses `list`, `show_text` and the exports.

mod apply;
pub mod command;
pub mod correction;
pub mod duplicate;
mod error;
pub mod export;
pub mod inquiry;
pub mod model;
pub mod record;
pub mod reply;
pub mod store;
pub mod workflow;

pub use command::{help_text, Command, CommandError, ListScope, Period};
pub use correction::{Correction, CorrectionKind};
pub use error::StoreError;
pub use inquiry::{Inquiry, InquiryOutcome, InquiryRecord};
pub use model::{
    CategoryInfo, ComplaintInput, Event, EventKind, FollowUp, Person, Priority, Revisit, Role,
    Roles, SlaState, Status, Ticket, TicketId, TicketIdError, UNCLASSIFIED_ID, UNCLASSIFIED_NAME,
};
pub use reply::mask_phones;
pub use store::{
    china_tz, Action, Context, ListFilter, OutboxEntry, Processed, Reply, Stats, Store,
    DEFAULT_AUTO_CLOSE_HOURS, DEFAULT_CACHE_MB, DEFAULT_DUPLICATE_WINDOW_HOURS, FIRST_TICKET,
};
