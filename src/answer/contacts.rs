//! `{station}`-style placeholders in answers: the community's contacts, or a neutral phrase when none is configured.
//!
//! Answers never carry phone numbers an admin did not write: a placeholder
//! renders to the contact `org.toml` gives the group's community
//! ([`Contacts::for_group`]) and otherwise to a phrase that still tells the
//! resident whom to ask.

use std::collections::HashMap;

/// Every placeholder key, with what it says when no contact is configured.
pub const CONTACT_FALLBACKS: &[(&str, &str)] = &[
    ("station", "本社区城管工作站"),
    ("station_phone", "社区公示栏上的城管工作站电话"),
    ("neighborhood", "社区居委会"),
    ("neighborhood_phone", "社区公示栏上的居委会电话"),
    ("property", "小区物业服务中心"),
    ("street", "街道办事处"),
    ("sanitation", "街道环卫所"),
    ("heating", "所在小区的供热单位"),
    ("gas", "所在小区的燃气公司"),
    ("police", "辖区派出所"),
    ("market", "辖区市场监管所"),
    ("housing", "区住房和城乡建设部门"),
    ("grid", "本网格的网格员"),
];

/// Configured contacts by placeholder key (`station` → `幸福里城管工作站`).
#[derive(Debug, Clone, Default)]
pub struct Contacts(pub HashMap<String, String>);

impl Contacts {
    /// The contacts `org.toml` gives for a residents' group: its community's
    /// name makes `{station}` and `{neighborhood}`, its street's `{street}`.
    /// `org.toml` lists no phone numbers, so `*_phone` keep their phrases.
    pub fn for_group(
        org: &crate::org::Org,
        platform: &str,
        group_id: &str,
        group_name: Option<&str>,
    ) -> Contacts {
        let mut out = HashMap::new();
        let Some(community) = org.community_of(platform, group_id, group_name) else {
            return Contacts(out);
        };
        for i in org.chain(community) {
            let Some(unit) = org.unit(i) else { continue };
            match unit.level {
                crate::org::Level::Community => {
                    out.insert("station".into(), format!("{}城管工作站", unit.name));
                    out.insert("neighborhood".into(), format!("{}居委会", unit.name));
                }
                crate::org::Level::Street if unit.name.ends_with("街道") => {
                    out.insert("street".into(), format!("{}办事处", unit.name));
                }
                _ => {}
            }
        }
        Contacts(out)
    }

    /// What `{key}` renders to; `None` for a key no answer may use.
    pub fn get(&self, key: &str) -> Option<&str> {
        let fallback = CONTACT_FALLBACKS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)?;
        Some(
            self.0
                .get(key)
                .map(String::as_str)
                .filter(|v| !v.trim().is_empty())
                .unwrap_or(fallback),
        )
    }

    /// Render every `{key}` in `answer`; the error names the first placeholder
    /// that is unknown or unclosed, so `rules check` can point at it.
    pub fn render(&self, answer: &str) -> Result<String, String> {
        let mut out = String::with_capacity(answer.len());
        let mut rest = answer;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| "unclosed `{` in answer".to_string())?;
            let key = after[..close].trim();
            let value = self.get(key).ok_or_else(|| {
                let keys: Vec<&str> = CONTACT_FALLBACKS.iter().map(|(k, _)| *k).collect();
                format!("unknown placeholder {{{key}}}; known: {}", keys.join(", "))
            })?;
            out.push_str(value);
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// [`Contacts::render`] for an answer that already passed `rules check`:
    /// an unknown placeholder (impossible after the check) is left as written.
    pub fn fill(&self, answer: &str) -> String {
        self.render(answer).unwrap_or_else(|_| answer.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fall_back_to_a_neutral_phrase_and_use_a_configured_contact() {
        let none = Contacts::default();
        assert_eq!(
            none.render("请联系{station}。").unwrap(),
            "请联系本社区城管工作站。"
        );
        let some = Contacts(HashMap::from([(
            "station".to_string(),
            "幸福里城管工作站".to_string(),
        )]));
        assert_eq!(
            some.render("请联系{station}。").unwrap(),
            "请联系幸福里城管工作站。"
        );
        assert!(none.render("{mayor}").unwrap_err().contains("mayor"));
        assert!(none.render("{ticket}").unwrap_err().contains("{ticket}"));
        assert!(none.render("见 {station").is_err());
        // No fallback ever invents a number.
        for (_, phrase) in CONTACT_FALLBACKS {
            assert!(!phrase.chars().any(|c| c.is_ascii_digit()), "{phrase}");
        }
    }
}
