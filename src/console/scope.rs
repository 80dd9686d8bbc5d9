//! What part of the organisation a console user (or API token) sees.

use crate::org::Org;
use crate::ticket::Ticket;

use super::users::User;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole organisation, and tickets of groups it does not list.
    All,
    /// A unit of `org.toml` and everything below it.
    Unit(usize),
    /// A scope naming a unit `org.toml` does not have: nothing, until fixed.
    Nothing(String),
}

impl Scope {
    /// The user's scope: their `scope`, else the highest unit listing their
    /// chat identity, else everything.
    pub fn of(user: &User, org: &Org) -> Scope {
        if let Some(name) = &user.scope {
            return match org.find(name) {
                Some(i) => Scope::Unit(i),
                None => Scope::Nothing(format!("org.toml 中没有单位 {name:?}")),
            };
        }
        match user.platform_id.as_deref().and_then(|k| org.scope_of(k)) {
            Some(i) => Scope::Unit(i),
            None => Scope::All,
        }
    }

    /// For digest figures: `None` is everything.
    pub fn unit(&self) -> Option<usize> {
        match self {
            Scope::Unit(i) => Some(*i),
            _ => None,
        }
    }

    pub fn admits(&self, org: &Org, t: &Ticket) -> bool {
        match self {
            Scope::All => true,
            Scope::Nothing(_) => false,
            Scope::Unit(unit) => org
                .community_of(&t.platform, &t.group_id, t.group_name.as_deref())
                .is_some_and(|c| org.within(c, *unit)),
        }
    }

    /// The residents' groups in scope, for index lookups; `None`: every group.
    pub fn groups(&self, org: &Org) -> Option<Vec<(String, String)>> {
        match self {
            Scope::All => None,
            Scope::Nothing(_) => Some(Vec::new()),
            Scope::Unit(unit) => Some(
                org.units
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| org.within(*i, *unit))
                    .flat_map(|(_, u)| u.groups.iter())
                    .map(|g| (g.platform.clone(), g.group.clone()))
                    .collect(),
            ),
        }
    }

    pub fn label(&self, org: &Org) -> String {
        match self {
            Scope::All => "全部".to_string(),
            Scope::Unit(i) => org.unit(*i).map_or("?".into(), |u| u.name.clone()),
            Scope::Nothing(why) => format!("无（{why}）"),
        }
    }
}

/// The community a ticket belongs to, by name (`未登记` for a group `org.toml` does not list).
pub fn community_name(org: &Org, t: &Ticket) -> String {
    org.community_of(&t.platform, &t.group_id, t.group_name.as_deref())
        .and_then(|i| org.unit(i))
        .map_or_else(
            || t.group_name.clone().unwrap_or_else(|| "未登记".to_string()),
            |u| u.name.clone(),
        )
}
