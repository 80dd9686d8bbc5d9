//! The organisation: 市 → 区 → 街道/中队 → 社区, who works where, and where each level talks.
//!
//! Loaded from `org.toml` (see [`load`]); the service keeps one [`Org`] in an
//! `Arc` and swaps it whole on reload, like the rules, so a bad edit never
//! leaves half an organisation in force. An empty `Org` (no file) means no
//! first-responder assignment, no staff cards and no escalation: today's
//! behaviour, with `[roles]` alone deciding who is an officer.

pub mod load;

use std::collections::HashMap;
use std::path::PathBuf;

pub use load::{load, OrgError, OrgErrors};

/// The four levels, from the bottom up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Community,
    Street,
    District,
    City,
}

impl Level {
    pub const ALL: [Level; 4] = [
        Level::Community,
        Level::Street,
        Level::District,
        Level::City,
    ];

    /// `社区`, `街道/中队`, `区`, `市`.
    pub fn label(self) -> &'static str {
        match self {
            Level::Community => "社区",
            Level::Street => "街道/中队",
            Level::District => "区",
            Level::City => "市",
        }
    }

    /// A config key: `street`, or its Chinese name (`街道`, `中队`, `区`, `市`).
    pub fn parse(key: &str) -> Option<Level> {
        match key.trim() {
            "community" | "社区" => Some(Level::Community),
            "street" | "街道" | "中队" | "街道/中队" => Some(Level::Street),
            "district" | "区" => Some(Level::District),
            "city" | "市" => Some(Level::City),
            _ => None,
        }
    }

    /// For metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Community => "community",
            Level::Street => "street",
            Level::District => "district",
            Level::City => "city",
        }
    }
}

/// A person as `platform:user_id`, with the name replies show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub platform: String,
    pub id: String,
    pub name: Option<String>,
}

impl Member {
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform, self.id)
    }

    /// `@李明`, or `@user_id` without a name.
    pub fn mention(&self) -> String {
        format!("@{}", self.name.as_deref().unwrap_or(&self.id))
    }
}

/// A chat group as `platform:group_id`; for WeChat, `wechat:群名` matches by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupRef {
    pub platform: String,
    pub group: String,
}

/// One node of the tree.
#[derive(Debug, Clone)]
pub struct Unit {
    pub name: String,
    pub level: Level,
    /// Index into [`Org::units`]; `None` at the top.
    pub parent: Option<usize>,
    pub leaders: Vec<Member>,
    /// Station officers (communities only).
    pub officers: Vec<Member>,
    /// Residents' groups (communities only).
    pub groups: Vec<GroupRef>,
    pub staff_group: Option<GroupRef>,
}

/// Where a ticket can be transferred (住建, 公安, 燃气公司…).
#[derive(Debug, Clone)]
pub struct Department {
    pub name: String,
    pub contact_group: Option<GroupRef>,
}

#[derive(Debug, Clone, Default)]
pub struct Org {
    /// The file it came from; `None` for the empty organisation.
    pub source: Option<PathBuf>,
    pub units: Vec<Unit>,
    pub departments: Vec<Department>,
    /// `(platform, group id or name)` → community index.
    by_group: HashMap<(String, String), usize>,
    /// `platform:user_id` → the units listing the person.
    by_person: HashMap<String, Vec<usize>>,
}

impl Org {
    /// Builds the lookups; `load` has checked that names and groups are unique.
    pub(crate) fn new(
        source: Option<PathBuf>,
        units: Vec<Unit>,
        departments: Vec<Department>,
    ) -> Org {
        let mut by_group = HashMap::new();
        let mut by_person: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, u) in units.iter().enumerate() {
            for g in &u.groups {
                by_group.insert((g.platform.clone(), g.group.clone()), i);
            }
            for m in u.leaders.iter().chain(&u.officers) {
                let slot = by_person.entry(m.key()).or_default();
                if !slot.contains(&i) {
                    slot.push(i);
                }
            }
        }
        Org {
            source,
            units,
            departments,
            by_group,
            by_person,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty() && self.departments.is_empty()
    }

    pub fn unit(&self, index: usize) -> Option<&Unit> {
        self.units.get(index)
    }

    pub fn find(&self, name: &str) -> Option<usize> {
        self.units.iter().position(|u| u.name == name)
    }

    /// The community a residents' group belongs to: by id, or (WeChat) by name.
    pub fn community_of(
        &self,
        platform: &str,
        group_id: &str,
        group_name: Option<&str>,
    ) -> Option<usize> {
        let key = |g: &str| (platform.to_string(), g.to_string());
        self.by_group
            .get(&key(group_id))
            .or_else(|| group_name.and_then(|n| self.by_group.get(&key(n))))
            .copied()
    }

    /// The unit and every unit above it, bottom first.
    pub fn chain(&self, index: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut at = Some(index);
        while let Some(i) = at {
            if out.contains(&i) || i >= self.units.len() {
                break;
            }
            out.push(i);
            at = self.units[i].parent;
        }
        out
    }

    /// Everyone listed, as `platform:user_id`.
    pub fn member_keys(&self) -> impl Iterator<Item = String> + '_ {
        self.by_person.keys().cloned()
    }

    /// Whether `platform:user_id` is listed anywhere (and so is an officer).
    pub fn is_member(&self, key: &str) -> bool {
        self.by_person.contains_key(key)
    }

    /// The highest unit listing the person: what `#统计` answers for.
    pub fn scope_of(&self, key: &str) -> Option<usize> {
        self.by_person
            .get(key)?
            .iter()
            .copied()
            .max_by_key(|i| self.units[*i].level)
    }

    /// The unit whose staff group this is.
    pub fn unit_by_staff_group(&self, platform: &str, group_id: &str) -> Option<usize> {
        self.units.iter().position(|u| {
            u.staff_group
                .as_ref()
                .is_some_and(|g| g.platform == platform && g.group == group_id)
        })
    }

    /// Whether `inner` is `outer` or below it.
    pub fn within(&self, inner: usize, outer: usize) -> bool {
        self.chain(inner).contains(&outer)
    }

    /// Every member's display name by key, for replies naming officers.
    pub fn member(&self, key: &str) -> Option<&Member> {
        let units = self.by_person.get(key)?;
        units.iter().find_map(|i| {
            let u = &self.units[*i];
            u.leaders.iter().chain(&u.officers).find(|m| m.key() == key)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str) -> Member {
        Member {
            platform: "generic".into(),
            id: id.into(),
            name: None,
        }
    }

    fn unit(name: &str, level: Level, parent: Option<usize>) -> Unit {
        Unit {
            name: name.into(),
            level,
            parent,
            leaders: vec![member(&format!("{name}-leader"))],
            officers: Vec::new(),
            groups: Vec::new(),
            staff_group: None,
        }
    }

    #[test]
    fn lookups_follow_the_tree() {
        let mut community = unit("阳光社区", Level::Community, Some(2));
        community.groups = vec![
            GroupRef {
                platform: "generic".into(),
                group: "g1".into(),
            },
            GroupRef {
                platform: "wechat".into(),
                group: "阳光小区业主群".into(),
            },
        ];
        community.officers = vec![member("li")];
        let org = Org::new(
            None,
            vec![
                unit("市", Level::City, None),
                unit("区", Level::District, Some(0)),
                unit("街道", Level::Street, Some(1)),
                community,
            ],
            Vec::new(),
        );
        assert_eq!(org.community_of("generic", "g1", None), Some(3));
        assert_eq!(
            org.community_of("wechat", "wxid", Some("阳光小区业主群")),
            Some(3)
        );
        assert_eq!(org.community_of("generic", "g2", None), None);
        assert_eq!(org.chain(3), vec![3, 2, 1, 0]);
        assert!(org.is_member("generic:li"));
        assert!(!org.is_member("generic:zhang"));
        assert_eq!(org.scope_of("generic:区-leader"), Some(1));
        assert!(org.within(3, 1) && !org.within(1, 3));
    }
}
