//! Core ticket types: ids, statuses, priorities, roles, the ticket record and its events.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Full-width ASCII (`＃１０２４`) and the ideographic space become their
/// half-width forms. Chinese input methods produce these freely, and residents
/// should not have to care which one they typed.
pub fn to_halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// A ticket number such as `#1024`.
///
/// Parse, don't validate: once you hold a `TicketId` it is a positive integer,
/// so nothing downstream re-checks user text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u64", try_from = "u64")]
pub struct TicketId(u64);

impl From<TicketId> for u64 {
    fn from(id: TicketId) -> u64 {
        id.0
    }
}

/// Stored records go through the same check as user input: no ticket 0.
impl TryFrom<u64> for TicketId {
    type Error = TicketIdError;
    fn try_from(n: u64) -> Result<TicketId, TicketIdError> {
        TicketId::new(n).ok_or(TicketIdError::OutOfRange)
    }
}

/// Why a piece of text is not a ticket number.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TicketIdError {
    #[error("工单号为空")]
    Empty,
    #[error("工单号应为数字")]
    NotANumber,
    #[error("工单号超出范围")]
    OutOfRange,
}

impl TicketId {
    /// Wraps a raw number; `None` for 0, which is never issued.
    pub fn new(n: u64) -> Option<TicketId> {
        (n > 0).then_some(TicketId(n))
    }

    /// Accepts an optional `#` followed by ASCII or full-width digits:
    /// `1024`, `#1024`, `＃１０２４`. Anything else (`abc`, `-5`, `10.5`, `0`) is an error.
    pub fn parse(text: &str) -> Result<TicketId, TicketIdError> {
        let half = to_halfwidth(text);
        let t = half.trim();
        let t = t.strip_prefix('#').unwrap_or(t).trim();
        if t.is_empty() {
            return Err(TicketIdError::Empty);
        }
        if !t.chars().all(|c| c.is_ascii_digit()) {
            return Err(TicketIdError::NotANumber);
        }
        let n: u64 = t.parse().map_err(|_| TicketIdError::OutOfRange)?;
        TicketId::new(n).ok_or(TicketIdError::OutOfRange)
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// Big-endian bytes, so that sled's byte order is numeric order.
    pub fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where a ticket is in the 城管 case loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 受理/立案: accepted, waiting for dispatch.
    Open,
    /// 派遣/认领: an officer owns it.
    Assigned,
    /// 处置中.
    InProgress,
    /// 已办结: the officer says it is done, the reporter may confirm or object.
    Resolved,
    /// 结案.
    Closed,
    /// 不予受理/驳回, with a reason.
    Rejected,
    /// Merged into another ticket.
    Duplicate,
    /// 挂账: cannot be handled now (needs another agency, budget, season), with a reason.
    OnHold,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Open,
        Status::Assigned,
        Status::InProgress,
        Status::Resolved,
        Status::Closed,
        Status::Rejected,
        Status::Duplicate,
        Status::OnHold,
    ];

    /// Statuses in which someone is still expected to act; duplicates join only these.
    pub const ACTIVE: [Status; 4] = [
        Status::Open,
        Status::Assigned,
        Status::InProgress,
        Status::OnHold,
    ];

    pub fn is_active(self) -> bool {
        Status::ACTIVE.contains(&self)
    }

    /// The stable name used in storage keys and exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Assigned => "assigned",
            Status::InProgress => "in_progress",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Rejected => "rejected",
            Status::Duplicate => "duplicate",
            Status::OnHold => "on_hold",
        }
    }

    /// The name shown to residents and officers.
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "已受理",
            Status::Assigned => "已派遣",
            Status::InProgress => "处置中",
            Status::Resolved => "已办结",
            Status::Closed => "已结案",
            Status::Rejected => "已驳回",
            Status::Duplicate => "已合并",
            Status::OnHold => "已挂账",
        }
    }

    /// Recognises the stable name, the label and the everyday words officers use.
    pub fn parse(word: &str) -> Option<Status> {
        let w = to_halfwidth(word).trim().to_lowercase();
        let s = match w.as_str() {
            "open" | "已受理" | "受理" | "待处理" | "立案" | "待派遣" => Status::Open,
            "assigned" | "已派遣" | "派遣" | "已认领" | "认领" => Status::Assigned,
            "in_progress" | "inprogress" | "progress" | "处置中" | "处理中" | "处置" => {
                Status::InProgress
            }
            "resolved" | "已办结" | "办结" | "待确认" => Status::Resolved,
            "closed" | "已结案" | "结案" | "已关闭" => Status::Closed,
            "rejected" | "已驳回" | "驳回" | "不予受理" => Status::Rejected,
            "duplicate" | "已合并" | "合并" | "重复" => Status::Duplicate,
            "on_hold" | "onhold" | "hold" | "已挂账" | "挂账" => Status::OnHold,
            _ => return None,
        };
        Some(s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub use crate::priority::Priority;

/// What a chat user may do. Being the reporter of a ticket is not a role: it is
/// a relation to one ticket, checked per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Resident,
    Officer,
    Admin,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Resident => "居民",
            Role::Officer => "城管工作人员",
            Role::Admin => "管理员",
        }
    }

    /// Admins can do everything officers can.
    pub fn is_officer(self) -> bool {
        self >= Role::Officer
    }
}

/// Officer and admin ids from the configuration, each as `"platform:user_id"`.
/// Everyone else is a resident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    #[serde(default)]
    pub officers: HashSet<String>,
    #[serde(default)]
    pub admins: HashSet<String>,
}

impl Roles {
    pub fn role_of(&self, platform: &str, user_id: &str) -> Role {
        let key = format!("{platform}:{user_id}");
        if self.admins.contains(&key) {
            Role::Admin
        } else if self.officers.contains(&key) {
            Role::Officer
        } else {
            Role::Resident
        }
    }
}

/// A chat user as remembered on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// The platform's user id (the platform is the ticket's).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Person {
    /// The name when known, else the id: what replies show.
    pub fn display(&self) -> &str {
        match &self.name {
            Some(n) if !n.trim().is_empty() => n,
            _ => &self.id,
        }
    }
}

/// A ticket as the current code sees it (record version 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub status: Status,
    pub category: String,
    pub category_name: String,
    pub department: String,
    #[serde(default)]
    pub priority: Priority,
    pub sla_hours: u32,
    #[serde(default)]
    pub location: Option<String>,
    /// The complaint as the resident wrote it (command prefix removed for #投诉).
    pub text: String,
    /// Content words, kept for duplicate detection against later complaints.
    #[serde(default)]
    pub tokens: Vec<String>,
    pub platform: String,
    pub group_id: String,
    #[serde(default)]
    pub group_name: Option<String>,
    pub reporter: Person,
    /// Other residents who reported the same problem (automatic or 合并).
    #[serde(default)]
    pub supporters: Vec<Person>,
    #[serde(default)]
    pub attachments: Vec<String>,
    #[serde(default)]
    pub officer: Option<Person>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was rejected, put on hold or withdrawn.
    #[serde(default)]
    pub status_reason: Option<String>,
    /// What the officer said when resolving.
    #[serde(default)]
    pub resolution: Option<String>,
    #[serde(default)]
    pub merged_into: Option<TicketId>,
    #[serde(default)]
    pub rating: Option<u8>,
    #[serde(default)]
    pub reopen_count: u32,
    #[serde(default)]
    pub source_message_id: String,
    /// The SLA clock: reminders, escalations, time on hold.
    #[serde(default)]
    pub sla: SlaState,
    /// Revisits and re-inspections after the fix.
    #[serde(default)]
    pub follow_up: FollowUp,
}

/// What happens after 办结: a 回访 by a leader, a 复查 by the officer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    /// A 回访 task: who must call the resident back, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisit: Option<Revisit>,
    /// When the re-inspection is due, and where it was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck_group: Option<(String, String)>,
    #[serde(default)]
    pub recheck_reminded: bool,
    /// Reopened by a re-inspection: the problem came back (反复发生).
    #[serde(default)]
    pub recurring: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revisit {
    /// `@王站长、@周队长`: the leaders asked to call back.
    pub leaders: String,
    pub reason: String,
    pub opened_at: DateTime<Utc>,
}

/// Where a ticket's SLA clock stands. Stored on the ticket, so reminders and
/// escalations happen once each, also across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaState {
    /// When the current clock started: creation, a transfer or a reopening
    /// (`None`: at `created_at`, for tickets from before SLA clocks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// 挂账 since then: the clock is paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_since: Option<DateTime<Utc>>,
    /// SLA seconds spent on hold before, not counted.
    #[serde(default)]
    pub paused_secs: i64,
    /// The owner was reminded at the remind share.
    #[serde(default)]
    pub reminded: bool,
    /// How many levels it has risen (0: still with the community); >0 is 超时.
    #[serde(default)]
    pub escalations: u8,
}

impl SlaState {
    /// A fresh clock from `now` (a transfer, a reopening).
    pub fn restart(&mut self, now: DateTime<Utc>) {
        *self = SlaState {
            started_at: Some(now),
            ..SlaState::default()
        };
    }

    pub fn is_overdue(&self) -> bool {
        self.escalations > 0
    }
}

impl Ticket {
    /// Everyone who reported this problem: the reporter first, then supporters.
    pub fn reporters(&self) -> impl Iterator<Item = &Person> {
        std::iter::once(&self.reporter).chain(self.supporters.iter())
    }

    pub fn is_reporter(&self, user_id: &str) -> bool {
        self.reporters().any(|p| p.id == user_id)
    }

    /// How many distinct people reported it.
    pub fn report_count(&self) -> usize {
        1 + self.supporters.len()
    }

    /// Adds a supporter unless already counted; returns whether anyone was added.
    pub fn add_supporter(&mut self, person: Person) -> bool {
        if self.is_reporter(&person.id) {
            return false;
        }
        self.supporters.push(person);
        true
    }

    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status.is_active() && now > self.due_at
    }

    /// Location in the form replies use: `（5号楼）`, or empty.
    pub fn location_suffix(&self) -> String {
        location_suffix(self.location.as_deref())
    }
}

pub(crate) fn location_suffix(loc: Option<&str>) -> String {
    match loc.map(str::trim) {
        Some(l) if !l.is_empty() => format!("（{l}）"),
        _ => String::new(),
    }
}

/// What happened to a ticket. The snake_case name doubles as the key for
/// reply overrides in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Created,
    /// Another resident reported the same problem (automatic duplicate detection).
    Supported,
    Supplemented,
    Claimed,
    Assigned,
    Progress,
    Resolved,
    Confirmed,
    NotFixed,
    Rated,
    Withdrawn,
    Rejected,
    Transferred,
    /// This ticket was merged into another (`note` names it).
    Merged,
    /// Another ticket was merged into this one.
    MergedFrom,
    OnHold,
    Reopened,
    Recategorized,
    Noted,
    /// Resolved and no word from the reporter within the configured time:
    /// closed without a confirmation (核查结案 by default).
    AutoClosed,
    /// The owner was reminded that time is running out.
    SlaReminded,
    /// 超时: risen one level.
    Escalated,
    /// A 回访 task was opened for the owner's leader.
    RevisitOpened,
    /// The leader called back: the resident is satisfied; the task ends.
    RevisitSatisfied,
    /// The leader called back: still unhappy; the task ends, the case reopens.
    RevisitUnsatisfied,
    RecheckScheduled,
    RecheckDue,
    RecheckPassed,
    /// A re-inspection found the problem back; reopened as recurring.
    RecheckFound,
    /// Records written by a newer version with an event this code does not know.
    #[serde(other)]
    Other,
}

impl EventKind {
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Created => "受理",
            EventKind::Supported => "追加反映",
            EventKind::Supplemented => "补充",
            EventKind::Claimed => "认领",
            EventKind::Assigned => "派遣",
            EventKind::Progress => "处置进展",
            EventKind::Resolved => "办结",
            EventKind::Confirmed => "确认结案",
            EventKind::AutoClosed => "超时结案",
            EventKind::NotFixed => "反馈未解决",
            EventKind::Rated => "评价",
            EventKind::Withdrawn => "撤回",
            EventKind::Rejected => "驳回",
            EventKind::Transferred => "转办",
            EventKind::Merged => "合并到",
            EventKind::MergedFrom => "并入",
            EventKind::OnHold => "挂账",
            EventKind::Reopened => "重开",
            EventKind::Recategorized => "改类",
            EventKind::Noted => "备注",
            EventKind::SlaReminded => "临期提醒",
            EventKind::Escalated => "超时升级",
            EventKind::RevisitOpened => "二次回访",
            EventKind::RevisitSatisfied => "回访满意",
            EventKind::RevisitUnsatisfied => "回访不满意",
            EventKind::RecheckScheduled => "安排复查",
            EventKind::RecheckDue => "复查提醒",
            EventKind::RecheckPassed => "复查通过",
            EventKind::RecheckFound => "复查发现反弹",
            EventKind::Other => "其他",
        }
    }
}

/// One line of a ticket's history: who, when, what, note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub seq: u32,
    pub at: DateTime<Utc>,
    /// `"platform:user_id"`, or `"system"`.
    pub actor: String,
    #[serde(default)]
    pub actor_name: Option<String>,
    pub role: Role,
    pub kind: EventKind,
    #[serde(default)]
    pub from: Option<Status>,
    #[serde(default)]
    pub to: Option<Status>,
    #[serde(default)]
    pub note: Option<String>,
}

/// What the classifier (or `#投诉`) hands the store for a new complaint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplaintInput {
    pub category: String,
    pub category_name: String,
    pub department: String,
    pub priority: Priority,
    pub sla_hours: u32,
    pub location: Option<String>,
    /// Content words for similarity.
    pub tokens: Vec<String>,
    /// The category's `reply`, which overrides the default "created" reply.
    pub reply_template: Option<String>,
    /// The resident insisted (`#投诉`) on a message the classifier did not
    /// take for a complaint: the store records it as a correction.
    pub missed: bool,
}

/// The category id used when the classifier is unsure but the resident insisted (`#投诉`).
pub const UNCLASSIFIED_ID: &str = "unclassified";
/// Its display name.
pub const UNCLASSIFIED_NAME: &str = "待分类";

impl ComplaintInput {
    /// A complaint nobody could classify: officers sort it out with `#改类`.
    pub fn unclassified(text: &str) -> ComplaintInput {
        ComplaintInput {
            category: UNCLASSIFIED_ID.to_string(),
            category_name: UNCLASSIFIED_NAME.to_string(),
            department: "城管受理中心".to_string(),
            priority: Priority::Normal,
            sla_hours: 72,
            location: None,
            tokens: crate::ticket::duplicate::rough_tokens(text),
            reply_template: None,
            missed: false,
        }
    }
}

/// What the store needs to know about a category, for `#改类` and reply templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryInfo {
    pub id: String,
    pub name: String,
    pub department: String,
    #[serde(default)]
    pub priority: Priority,
    pub sla_hours: u32,
    #[serde(default)]
    pub reply_template: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_id_parse_table() {
        let cases: &[(&str, Result<u64, TicketIdError>)] = &[
            ("1024", Ok(1024)),
            ("#1024", Ok(1024)),
            ("＃１０２４", Ok(1024)),
            (" # 1024 ", Ok(1024)),
            ("", Err(TicketIdError::Empty)),
            ("#", Err(TicketIdError::Empty)),
            ("abc", Err(TicketIdError::NotANumber)),
            ("-5", Err(TicketIdError::NotANumber)),
            ("10.5", Err(TicketIdError::NotANumber)),
            ("0", Err(TicketIdError::OutOfRange)),
            ("99999999999999999999999", Err(TicketIdError::OutOfRange)),
            ("١٢", Err(TicketIdError::NotANumber)),
        ];
        for (input, want) in cases {
            let got = TicketId::parse(input).map(TicketId::get);
            assert_eq!(&got, want, "input {input:?}");
        }
        assert_eq!(
            TicketId::new(1024).map(|t| t.to_string()),
            Some("#1024".into())
        );
    }

    #[test]
    fn status_parse_roundtrip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(Status::parse(s.label()), Some(s), "{}", s.label());
        }
        assert_eq!(Status::parse("不存在"), None);
    }

    #[test]
    fn roles_lookup() {
        let mut roles = Roles::default();
        roles.officers.insert("onebot:100".into());
        roles.admins.insert("onebot:1".into());
        assert_eq!(roles.role_of("onebot", "100"), Role::Officer);
        assert_eq!(roles.role_of("onebot", "1"), Role::Admin);
        assert_eq!(roles.role_of("feishu", "100"), Role::Resident);
        assert!(Role::Admin.is_officer());
        assert!(!Role::Resident.is_officer());
    }
}
