//! The platform-neutral shape of a chat message, as every adapter hands it to the pipeline.

use serde::{Deserialize, Serialize};

/// One group-chat message after a platform adapter has verified and parsed it.
///
/// Vendor JSON never leaves `platform/`: adapters translate into this type, and
/// everything downstream (classifier, tickets, outbox) only sees this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Platform name as configured (`generic`, `onebot`, `feishu`, ...).
    pub platform: String,
    /// The platform's own id for this delivery; `(platform, message_id)` is the dedupe key.
    pub message_id: String,
    pub group_id: String,
    #[serde(default)]
    pub group_name: Option<String>,
    pub sender_id: String,
    #[serde(default)]
    pub sender_name: Option<String>,
    /// Text with platform mention markup already removed.
    pub text: String,
    /// Image URLs or platform file keys, kept as attachments on a ticket.
    #[serde(default)]
    pub images: Vec<String>,
    /// Unix seconds when the platform says the message was sent.
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// Opaque data the adapter needs to answer this message (a reply token,
    /// a session webhook, the platform message id to quote). Stored with
    /// outgoing replies, interpreted only by the same adapter.
    #[serde(default)]
    pub reply_handle: Option<String>,
}
