//! On-disk record formats: every stored value is JSON with a format version `"v"`.
//!
//! Old databases must keep opening after an upgrade, so readers accept every
//! version ever written and upgrade it in memory; writers always write the
//! current one. New optional fields get `#[serde(default)]` so a record written
//! before the field existed still reads.

use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::duplicate::rough_tokens;
use super::error::StoreError;
use super::model::{Person, Priority, Status, Ticket, TicketId};

/// Current ticket record version.
pub const TICKET_VERSION: u64 = 2;
/// Current version of event, outbox and processed records.
pub const OTHER_VERSION: u64 = 1;

/// Adds `"v"` next to a struct's own fields.
#[derive(Serialize)]
struct Versioned<'a, T: Serialize> {
    v: u64,
    #[serde(flatten)]
    inner: &'a T,
}

pub(crate) fn encode<T: Serialize>(v: u64, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&Versioned { v, inner: value }).map_err(StoreError::Encode)
}

/// Just the `"v"` of a record. Reading it first and then the record itself
/// skips building a `serde_json::Value` tree: two fast scans beat one
/// allocation-heavy parse on the duplicate-detection hot path.
#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    v: Option<u64>,
}

fn version_of(bytes: &[u8], tree: &'static str) -> Result<u64, StoreError> {
    // Records from before versioning had no "v": that is version 1.
    let peek: Peek = serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(tree, e))?;
    Ok(peek.v.unwrap_or(1))
}

/// Decodes a record of a type that has only ever had version 1.
pub(crate) fn decode_v1<T: DeserializeOwned>(
    tree: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    match version_of(bytes, tree)? {
        OTHER_VERSION => serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(tree, e)),
        v => Err(StoreError::UnsupportedVersion { tree, version: v }),
    }
}

pub(crate) fn encode_ticket(t: &Ticket) -> Result<Vec<u8>, StoreError> {
    encode(TICKET_VERSION, t)
}

/// Reads any ticket record version, upgrading it to the current [`Ticket`].
pub(crate) fn decode_ticket(bytes: &[u8]) -> Result<Ticket, StoreError> {
    match version_of(bytes, "tickets")? {
        1 => {
            let old: TicketV1 =
                serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt("tickets", e))?;
            old.upgrade()
        }
        2 => serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt("tickets", e)),
        v => Err(StoreError::UnsupportedVersion {
            tree: "tickets",
            version: v,
        }),
    }
}

/// Ticket record version 1, as the first release wrote it: one reporter kept
/// as a `"platform:user_id"` string, the officer as a bare user id, one free
/// `note` for any reason, and no supporters, attachments, tokens or deadlines.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TicketV1 {
    pub id: u64,
    pub status: Status,
    pub category: String,
    pub category_name: String,
    pub department: String,
    #[serde(default)]
    pub priority: Priority,
    pub sla_hours: u32,
    #[serde(default)]
    pub location: Option<String>,
    pub text: String,
    pub platform: String,
    pub group_id: String,
    pub reporter: String,
    #[serde(default)]
    pub reporter_name: Option<String>,
    #[serde(default)]
    pub officer: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub note: Option<String>,
}

impl TicketV1 {
    pub fn upgrade(self) -> Result<Ticket, StoreError> {
        let id = TicketId::new(self.id).ok_or(StoreError::Corrupt {
            tree: "tickets",
            detail: "ticket id 0".to_string(),
        })?;
        // v1 stored "platform:user_id"; v2 keeps the platform on the ticket only.
        let reporter_id = self
            .reporter
            .strip_prefix(&format!("{}:", self.platform))
            .unwrap_or(&self.reporter)
            .to_string();
        let closed = matches!(
            self.status,
            Status::Closed | Status::Rejected | Status::Duplicate
        );
        Ok(Ticket {
            id,
            status: self.status,
            category: self.category,
            category_name: self.category_name,
            department: self.department,
            priority: self.priority,
            sla_hours: self.sla_hours,
            location: self.location,
            tokens: rough_tokens(&self.text),
            text: self.text,
            platform: self.platform,
            group_id: self.group_id,
            group_name: None,
            reporter: Person {
                id: reporter_id,
                name: self.reporter_name,
            },
            supporters: Vec::new(),
            attachments: Vec::new(),
            officer: self.officer.map(|o| Person { id: o, name: None }),
            due_at: self.created_at + Duration::hours(i64::from(self.sla_hours)),
            created_at: self.created_at,
            updated_at: self.updated_at,
            resolved_at: None,
            closed_at: closed.then_some(self.updated_at),
            status_reason: self.note,
            resolution: None,
            merged_into: None,
            rating: None,
            reopen_count: 0,
            source_message_id: String::new(),
            sla: Default::default(),
            follow_up: Default::default(),
        })
    }
}
