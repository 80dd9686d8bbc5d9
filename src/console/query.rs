//! The board's filter: parsed from the query string, applied through the store's indexes.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::scope::{community_name, Scope};
use crate::org::Org;
use crate::ticket::{ListFilter, Status, Store, StoreError, Ticket, TicketId};

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

/// The base filter the board's status and category ask for.
fn base_filter(q: &BoardQuery) -> ListFilter {
    let mut base = ListFilter {
        category: (!q.category.is_empty()).then(|| q.category.clone()),
        ..ListFilter::default()
    };
    match q.status_filter().unwrap_or(StatusFilter::Active) {
        StatusFilter::Active => base.active_only = true,
        StatusFilter::All => {}
        StatusFilter::One(s) => base.status = Some(s),
    }
    base
}

/// The groups to read through the group index: the scope's, narrowed to the
/// chosen community; `None`: every group. WeChat groups listed by name have
/// no id to look up, so a scope holding one is read whole.
fn index_groups(org: &Org, scope: &Scope, q: &BoardQuery) -> Option<Vec<(String, String)>> {
    let mut groups = scope.groups(org);
    if !q.community.is_empty() {
        let of_community: Vec<(String, String)> = org
            .find(&q.community)
            .and_then(|i| org.unit(i))
            .map(|u| {
                u.groups
                    .iter()
                    .map(|g| (g.platform.clone(), g.group.clone()))
                    .collect()
            })
            .unwrap_or_default();
        groups = Some(match groups {
            None => of_community,
            Some(gs) => gs
                .into_iter()
                .filter(|g| of_community.contains(g))
                .collect(),
        });
    }
    groups.filter(|gs| !gs.iter().any(|(p, _)| p == "wechat"))
}

/// Tickets in `scope` matching `q`, sorted; the caller pages.
pub fn board_tickets(
    store: &Store,
    org: &Org,
    scope: &Scope,
    q: &BoardQuery,
    now: DateTime<Utc>,
) -> Result<Vec<Ticket>, StoreError> {
    let base = base_filter(q);
    let mut tickets = match index_groups(org, scope, q) {
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

/// One page of the board and how many tickets match in all.
///
/// Filters the indexes answer (status, category, community, scope) sorted by
/// age are counted and paged from the indexes, decoding only the page's
/// tickets; the rest (owner, overdue, text, other sorts) read the records.
pub fn board_page(
    store: &Store,
    org: &Org,
    scope: &Scope,
    q: &BoardQuery,
    now: DateTime<Utc>,
) -> Result<(usize, Vec<Ticket>), StoreError> {
    let page = q.page();
    let by_index = q.owner.trim().is_empty()
        && q.overdue.is_empty()
        && q.q.trim().is_empty()
        && matches!(q.sort.as_str(), "" | "new" | "old");
    let groups = index_groups(org, scope, q);
    let whole_scope_readable = groups.is_some() || *scope == Scope::All;
    if by_index && whole_scope_readable {
        let base = base_filter(q);
        let mut ids: Vec<TicketId> = Vec::new();
        let complete = match &groups {
            Some(groups) => {
                let mut ok = true;
                for g in groups {
                    match store.index_ids(&ListFilter {
                        group: Some(g.clone()),
                        ..base.clone()
                    })? {
                        Some(found) => ids.extend(found),
                        None => ok = false,
                    }
                }
                ok
            }
            None => match store.index_ids(&base)? {
                Some(found) => {
                    ids = found;
                    true
                }
                None => false,
            },
        };
        if complete {
            // Ticket numbers are issued in order, so id order is age order.
            ids.sort_unstable();
            if q.sort != "old" {
                ids.reverse();
            }
            let total = ids.len();
            let mut out = Vec::with_capacity(PAGE_SIZE);
            for id in ids.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE) {
                if let Some(t) = store.get(*id)? {
                    out.push(t);
                }
            }
            return Ok((total, out));
        }
    }
    let all = board_tickets(store, org, scope, q, now)?;
    let total = all.len();
    let out = all
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    Ok((total, out))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::InboundMessage;
    use crate::priority::Priority;
    use crate::ticket::{Action, ComplaintInput, Context};

    fn fill(store: &Store, n: u64) {
        let start = Utc::now() - chrono::Duration::days(30);
        for i in 0..n {
            let msg = InboundMessage {
                platform: "generic".into(),
                message_id: format!("m{i}"),
                group_id: format!("g{}", i % 3),
                group_name: None,
                sender_id: format!("r{i}"),
                sender_name: None,
                text: format!("第{i}件"),
                images: Vec::new(),
                timestamp: None,
                reply_handle: None,
            };
            let cat = if i % 2 == 0 { "dog" } else { "noise" };
            let input = ComplaintInput {
                category: cat.into(),
                category_name: cat.into(),
                department: "城管".into(),
                priority: Priority::Normal,
                sla_hours: 72,
                location: None,
                tokens: vec![format!("t{i}")],
                reply_template: None,
                missed: false,
            };
            store
                .process(
                    &msg,
                    Action::Complaint(input),
                    &Context::default(),
                    start + chrono::Duration::hours(i as i64 * 5),
                )
                .unwrap();
        }
    }

    #[test]
    fn index_pages_equal_the_full_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fill(&store, 130);
        let org = Org::default();
        let now = Utc::now();
        for (status, category, sort, page) in [
            ("", "", "", 1),
            ("all", "", "", 2),
            ("all", "dog", "old", 1),
            ("open", "noise", "new", 2),
            ("closed", "", "", 1),
            ("all", "", "", 9),
        ] {
            let q = BoardQuery {
                status: status.into(),
                category: category.into(),
                sort: sort.into(),
                page: Some(page),
                ..BoardQuery::default()
            };
            let (total, fast) = board_page(&store, &org, &Scope::All, &q, now).unwrap();
            let slow = board_tickets(&store, &org, &Scope::All, &q, now).unwrap();
            assert_eq!(total, slow.len(), "{q:?}");
            let want: Vec<TicketId> = slow
                .iter()
                .skip((page - 1) * PAGE_SIZE)
                .take(PAGE_SIZE)
                .map(|t| t.id)
                .collect();
            let got: Vec<TicketId> = fast.iter().map(|t| t.id).collect();
            assert_eq!(got, want, "{q:?}");
        }
    }
}
