//! The board's filter: parsed from the query string, applied through the store's indexes.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::scope::{community_name, Scope};
use crate::org::Org;
use crate::ticket::{ListFilter, Status, Store, StoreError, Ticket};

/// Rows per board page.
pub const PAGE_SIZE: usize = 50;

/// The board's query string, as sent by its form (empty fields are "any").
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BoardQuery {
    /// `active` (default), `all`, or a status name.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub community: String,
    /// Officer name or id; `none` for unclaimed.
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub overdue: String,
    #[serde(default)]
    pub q: String,
    /// `new` (default), `old`, `due`, `updated`.
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub page: Option<usize>,
}

/// Which statuses the board asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StatusFilter {
    Active,
    All,
    One(Status),
}

impl BoardQuery {
    pub fn status_filter(&self) -> Result<StatusFilter, String> {
        match self.status.trim() {
            "" | "active" => Ok(StatusFilter::Active),
            "all" => Ok(StatusFilter::All),
            s => Status::parse(s)
                .map(StatusFilter::One)
                .ok_or_else(|| format!("未知状态 {s:?}")),
        }
    }

    pub fn page(&self) -> usize {
        self.page.unwrap_or(1).max(1)
    }

    /// The query string without `page`, for links to other pages and the export.
    pub fn to_query_string(&self) -> String {
        let pairs = [
            ("status", &self.status),
            ("category", &self.category),
            ("community", &self.community),
            ("owner", &self.owner),
            ("overdue", &self.overdue),
            ("q", &self.q),
            ("sort", &self.sort),
        ];
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn admits(&self, org: &Org, t: &Ticket, now: DateTime<Utc>) -> bool {
        let owner = self.owner.trim();
        let q = self.q.trim();
        (self.community.is_empty() || community_name(org, t) == self.community)
            && (owner.is_empty()
                || match &t.officer {
                    None => owner == "none",
                    Some(p) => p.id == owner || p.display() == owner,
                })
            && (self.overdue.is_empty() || is_overdue(t, now))
            && (q.is_empty()
                || t.text.contains(q)
                || t.location.as_deref().is_some_and(|l| l.contains(q))
                || t.id.to_string() == q
                || t.id.get().to_string() == q)
    }
}

/// Still to act on and past its time.
pub fn is_overdue(t: &Ticket, now: DateTime<Utc>) -> bool {
    t.status.is_active() && (t.sla.is_overdue() || t.due_at < now)
}

/// Tickets in `scope` matching `q`, sorted; the caller pages.
pub fn board_tickets(
    store: &Store,
    org: &Org,
    scope: &Scope,
    q: &BoardQuery,
    now: DateTime<Utc>,
) -> Result<Vec<Ticket>, StoreError> {
    let status = q.status_filter().unwrap_or(StatusFilter::Active);
    let mut base = ListFilter {
        category: (!q.category.is_empty()).then(|| q.category.clone()),
        ..ListFilter::default()
    };
    match status {
        StatusFilter::Active => base.active_only = true,
        StatusFilter::All => {}
        StatusFilter::One(s) => base.status = Some(s),
    }
    // A unit's groups answer through the group index; WeChat groups listed
    // by name have no id to look up, so a scope holding one scans.
    let groups = scope
        .groups(org)
        .filter(|gs| !gs.iter().any(|(p, _)| p == "wechat"));
    let mut tickets = match groups {
        Some(groups) => {
            let mut out = Vec::new();
            for g in groups {
                out.extend(store.list(&ListFilter {
                    group: Some(g),
                    ..base.clone()
                })?);
            }
            out
        }
        None => store.list(&base)?,
    };
    tickets.retain(|t| scope.admits(org, t) && q.admits(org, t, now));
    match q.sort.as_str() {
        "old" => tickets.sort_by_key(|t| (t.created_at, t.id)),
        "due" => tickets.sort_by_key(|t| (t.due_at, t.id)),
        "updated" => tickets.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id))),
        _ => tickets.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id))),
    }
    Ok(tickets)
}

/// Every ticket in `scope` (through the group index when the scope is a unit).
pub fn all_in_scope(store: &Store, org: &Org, scope: &Scope) -> Result<Vec<Ticket>, StoreError> {
    let groups = scope
        .groups(org)
        .filter(|gs| !gs.iter().any(|(p, _)| p == "wechat"));
    let mut tickets = match groups {
        Some(groups) => {
            let mut out = Vec::new();
            for g in groups {
                out.extend(store.list(&ListFilter {
                    group: Some(g),
                    ..ListFilter::default()
                })?);
            }
            out
        }
        None => store.all_tickets()?,
    };
    tickets.retain(|t| scope.admits(org, t));
    Ok(tickets)
}

/// Percent-encoding for query values (everything but unreserved ASCII).
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
