//! `{contact:…}` placeholders in answers: the community's contacts, or a neutral name when none is configured.
//!
//! Answers never carry phone numbers an admin did not write: a placeholder
//! renders to the configured contact (from `org.toml`, once it exists) and
//! otherwise to the office that handles it, so the resident still knows whom
//! to ask.

use std::collections::HashMap;

/// Every placeholder key, with what it says when no contact is configured.
pub const CONTACT_FALLBACKS: &[(&str, &str)] = &[
    ("station", "社区城管工作站"),
    ("neighborhood", "社区居委会"),
    ("property", "小区物业服务中心"),
    ("street", "街道办事处"),
    ("hotline", "12345政务服务便民热线"),
    ("sanitation", "街道环卫所"),
    ("heating", "供热单位客服"),
    ("gas", "燃气公司客服"),
    ("police", "辖区派出所"),
    ("market", "辖区市场监管所"),
    ("housing", "区住房和城乡建设部门"),
];

/// Configured contacts by placeholder key (`station` → `社区城管工作站 张三 138…`).
#[derive(Debug, Clone, Default)]
pub struct Contacts(pub HashMap<String, String>);

impl Contacts {
    /// What `{contact:key}` renders to; `None` for a key no answer may use.
    pub fn get(&self, key: &str) -> Option<&str> {
        let fallback = CONTACT_FALLBACKS
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)?;
        Some(self.0.get(key).map(String::as_str).unwrap_or(fallback))
    }

    /// Render every `{contact:key}` in `answer`; the error names the first
    /// placeholder that is unknown or unclosed.
    pub fn render(&self, answer: &str) -> Result<String, String> {
        let mut out = String::with_capacity(answer.len());
        let mut rest = answer;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| "unclosed `{` in answer".to_string())?;
            let inner = &after[..close];
            let key = inner.strip_prefix("contact:").ok_or_else(|| {
                format!("unknown placeholder {{{inner}}}: answers use {{contact:key}} only")
            })?;
            let value = self.get(key).ok_or_else(|| {
                let keys: Vec<&str> = CONTACT_FALLBACKS.iter().map(|(k, _)| *k).collect();
                format!("unknown contact {key:?}; known: {}", keys.join(", "))
            })?;
            out.push_str(value);
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fall_back_to_the_office_and_use_a_configured_contact() {
        let none = Contacts::default();
        assert_eq!(
            none.render("请联系{contact:station}。").unwrap(),
            "请联系社区城管工作站。"
        );
        let some = Contacts(HashMap::from([(
            "station".to_string(),
            "城管工作站王站长".to_string(),
        )]));
        assert_eq!(
            some.render("请联系{contact:station}。").unwrap(),
            "请联系城管工作站王站长。"
        );
        assert!(none
            .render("{contact:mayor}")
            .unwrap_err()
            .contains("mayor"));
        assert!(none.render("{ticket}").unwrap_err().contains("{ticket}"));
        assert!(none.render("见 {contact:station").is_err());
    }
}
