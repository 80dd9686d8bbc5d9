//! Chinese reply templates with built-in defaults, placeholder rendering, and phone masking.
//!
//! Every text a group will see is built here and passed through
//! [`mask_phones`], because residents paste phone numbers into complaints and
//! echoing them into a 500-member group chat would leak them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;

use super::model::Ticket;

/// Default templates, keyed by event name. Configuration may override any of
/// them by the same name; a category's own `reply` overrides `created`.
pub const DEFAULT_TEMPLATES: &[(&str, &str)] = &[
    ("created", "已受理：{category}{location}，工单 {ticket}。{department}将在 {sla_hours} 小时内处理，处理结果会在群里告知。"),
    ("created_unclassified", "已收到您的反映，工单 {ticket}。暂未能自动分类，工作人员会尽快分派处理。"),
    ("supported", "已有工单 {ticket} 正在处理，已记录您的反映（共 {count} 人反映）。"),
    ("supported_again", "您已反映过该问题，工单 {ticket} 正在处理（共 {count} 人反映）。"),
    ("supplemented", "工单 {ticket} 已收到补充信息，处理人员会一并查看。"),
    ("claimed", "工单 {ticket} 已由 {officer} 认领，正在安排处置。"),
    ("assigned", "工单 {ticket} 已派遣给 {officer} 处理。"),
    ("progress", "工单 {ticket} 处置进展：{note}"),
    ("resolved", "工单 {ticket} 已办结：{note}。如确已解决请发送 #确认 {number}；仍未解决请发送 #未解决 {number} 原因。{auto_close}"),
    ("confirmed", "工单 {ticket} 已确认解决并结案，感谢您的反馈！欢迎发送 #评价 {number} 1-5 为本次处理打分。"),
    ("auto_closed", "工单 {ticket} 办结后 {note}未收到反馈，已自动结案。如问题仍在，请发送 #未解决 {number} 原因。"),
    ("not_fixed", "工单 {ticket} 已重新打开（反映人反馈未解决：{note}），我们会尽快再次处理。"),
    ("rated", "感谢评价！工单 {ticket} 评分 {rating} 星。"),
    ("withdrawn", "工单 {ticket} 已由反映人撤回，不再处理。"),
    ("withdrawn_one", "已撤回您对工单 {ticket} 的反映，该工单仍有 {count} 人反映，将继续处理。"),
    ("rejected", "工单 {ticket} 不予受理：{note}"),
    ("transferred", "工单 {ticket} 已转交{department}办理。"),
    ("merged", "工单 {ticket} 与 {target} 为同一问题，已合并到 {target} 一并处理（共 {count} 人反映）。"),
    ("on_hold", "工单 {ticket} 暂缓处理（挂账）：{note}"),
    ("reopened", "工单 {ticket} 已重新打开，将继续处理。{note}"),
    ("recategorized", "工单 {ticket} 已改为「{category}」，由{department}处理。"),
    ("noted", "已为工单 {ticket} 添加备注。"),
    ("not_found", "没有找到工单 {ticket}。"),
    ("denied_role", "抱歉，{command} 仅限{role}使用。"),
    ("denied_reporter", "抱歉，只有工单 {ticket} 的反映人可以{action}。"),
    ("not_in_group", "工单 {ticket} 不是在本群反映的，请在原群查询。"),
    ("unknown_category", "没有找到类别「{note}」。可用类别：{categories}"),
    ("merge_self", "不能把工单 {ticket} 合并到它自己。"),
    ("merge_target_closed", "目标工单 {target} {status}，不能合并到它。请先 #重开 {target_number}。"),
    ("list_empty", "暂无符合条件的工单。"),
];

/// The template for an event: configuration override, else the default.
pub fn template<'a>(key: &str, overrides: &'a HashMap<String, String>) -> Cow<'a, str> {
    if let Some(t) = overrides.get(key) {
        return Cow::Borrowed(t.as_str());
    }
    let default = DEFAULT_TEMPLATES
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("", |(_, t)| *t);
    Cow::Owned(default.to_string())
}

/// Replaces `{name}` placeholders in one pass, then masks phone numbers.
///
/// One pass matters: a resident's note containing `{ticket}` is inserted as
/// text, not expanded again. Unknown placeholders are left as written so a
/// typo in a configured template is visible rather than silently dropped.
pub fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').filter(|&c| c <= 32);
        match close.and_then(|c| {
            let name = &after[..c];
            vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (c, v))
        }) {
            Some((c, value)) => {
                out.push_str(value);
                rest = &after[c + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    mask_phones(&out)
}

/// Renders an event's template (override or default) with the given variables.
pub fn render_key(
    key: &str,
    overrides: &HashMap<String, String>,
    vars: &[(&str, String)],
) -> String {
    render(&template(key, overrides), vars)
}

/// The placeholders every ticket reply can use.
pub fn ticket_vars(t: &Ticket) -> Vec<(&'static str, String)> {
    vec![
        ("ticket", t.id.to_string()),
        ("number", t.id.get().to_string()),
        ("category", t.category_name.clone()),
        ("location", t.location_suffix()),
        ("department", t.department.clone()),
        ("sla_hours", t.sla_hours.to_string()),
        ("priority", t.priority.label().to_string()),
        (
            "officer",
            t.officer
                .as_ref()
                .map_or_else(|| "工作人员".to_string(), |o| o.display().to_string()),
        ),
        ("count", t.report_count().to_string()),
        ("status", t.status.label().to_string()),
    ]
}

fn phone_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // `\d` is Unicode-aware, so full-width digits are caught too.
        Regex::new(r"(?:(?:\+|00)?86[-\s]?)?[1１][3-9３-９]\d[-\s]?\d{4}[-\s]?\d{4}")
            .expect("constant phone regex compiles")
    })
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// Masks mainland mobile numbers: `13812341234` → `138****1234`; also
/// `138 1234 1234`, `138-1234-1234`, `+86 13812341234`, full-width digits.
/// A run of digits that is longer than a phone number (an id card, an order
/// number) is left alone.
pub fn mask_phones(text: &str) -> String {
    let re = phone_regex();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in re.find_iter(text) {
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        if before.is_some_and(is_digit) || after.is_some_and(is_digit) {
            continue;
        }
        let digits: Vec<char> = m.as_str().chars().filter(|c| is_digit(*c)).collect();
        if digits.len() < 11 {
            continue;
        }
        // The mobile number is always the last 11 digits; a country code precedes it.
        let core = &digits[digits.len() - 11..];
        out.push_str(&text[last..m.start()]);
        out.extend(core[..3].iter());
        out.push_str("****");
        out.extend(core[7..].iter());
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_table() {
        let cases: &[(&str, &str)] = &[
            ("13812341234", "138****1234"),
            ("电话13812341234找我", "电话138****1234找我"),
            ("电话 138 1234 1234", "电话 138****1234"),
            ("138-1234-1234", "138****1234"),
            ("+86 13812341234", "138****1234"),
            ("+8613812341234", "138****1234"),
            ("１３８１２３４１２３４", "１３８****１２３４"),
            (
                "两个：13812341234、15900001111",
                "两个：138****1234、159****1111",
            ),
            // Not phones: too long, wrong prefix, too short, ticket numbers.
            ("身份证110101199003071234", "身份证110101199003071234"),
            ("订单 12812341234", "订单 12812341234"),
            ("1381234123", "1381234123"),
            ("工单 #1024", "工单 #1024"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(mask_phones(input), *want, "{input}");
        }
    }

    #[test]
    fn render_is_single_pass_and_masks() {
        let vars = [
            ("ticket", "#1024".to_string()),
            ("note", "请打 13812341234，不是 {ticket}".to_string()),
        ];
        assert_eq!(
            render("工单 {ticket}：{note} {unknown} {", &vars),
            "工单 #1024：请打 138****1234，不是 {ticket} {unknown} {"
        );
    }

    #[test]
    fn overrides_win_and_every_default_is_nonempty() {
        let mut o = HashMap::new();
        o.insert("claimed".to_string(), "{ticket} 收到".to_string());
        assert_eq!(template("claimed", &o), "{ticket} 收到");
        assert!(template("confirmed", &o).contains("{ticket}"));
        for (k, t) in DEFAULT_TEMPLATES {
            assert!(!t.is_empty(), "{k}");
        }
    }
}
