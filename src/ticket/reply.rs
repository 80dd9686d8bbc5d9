//! Chinese reply templates with built-in defaults, placeholder rendering, and phone masking.
//!
//! Replies are built here; [`mask_phones`] is applied once, where a reply
//! leaves for a group (`Store::process` masks every reply before it is queued
//! or answered inline), because residents paste phone numbers into complaints
//! and command arguments, and echoing them into a 500-member group chat
//! would leak them.

use super::model::Ticket;
use std::borrow::Cow;
use std::collections::HashMap;

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
    ("not_complaint", "工单 {ticket} 经核实为{note}，不予受理，也不会计入投诉。感谢您的留言！如有占道、噪音、垃圾等城管问题，欢迎随时在群里反映。"),
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
    ("no_open_ticket", "没有查到您在本群反映、尚未结案的工单。要反映问题，直接说明情况即可，或发送 #投诉 内容；发送 #列表 我的 可查看您反映过的工单。"),
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

/// Replaces `{name}` placeholders in one pass.
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
    out
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

/// A digit's value, ASCII or full-width.
fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        '０'..='９' => Some(c as u32 - '０' as u32),
        _ => None,
    }
}

/// What may sit between the digits of one phone number as people type it:
/// spaces, dashes, dots, slashes, underscores, brackets round an area code,
/// and the zero-width characters that hide a number from a naive filter.
fn is_phone_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{3000}'
            | '\u{a0}'
            | '\t'
            | '-'
            | '－'
            | '‐'
            | '‑'
            | '–'
            | '—'
            | '.'
            | '．'
            | '_'
            | '/'
            | '('
            | ')'
            | '（'
            | '）'
            | '\u{200b}'
            | '\u{200c}'
            | '\u{200d}'
            | '\u{2060}'
            | '\u{feff}'
    )
}

/// Most separator characters accepted between two digit groups of one number.
const MAX_GAP: usize = 3;

/// A run of digits: byte range and the digits' values.
struct Group {
    start: usize,
    end: usize,
    digits: Vec<u32>,
}

/// How many leading digits of a number stay visible, or `None` when the
/// digits of `groups` are not a phone number. Mobiles (`1[3-9]` + 9, with
/// `86` / `0086` before them), landlines (`0` + area code, 10–12 digits: as
/// one run, or an area-code run of 3–4 digits then 7–8 more) and `400`/`800`
/// service numbers.
fn phone_shape(groups: &[Group]) -> Option<(usize, usize)> {
    let digits: Vec<u32> = groups
        .iter()
        .flat_map(|g| g.digits.iter().copied())
        .collect();
    let n = digits.len();
    let mobile_at = |i: usize| n == i + 11 && digits[i] == 1 && (3..=9).contains(&digits[i + 1]);
    // (digits to skip: a country code, digits to show)
    if mobile_at(0) {
        return Some((0, 3));
    }
    if digits.starts_with(&[8, 6]) && mobile_at(2) {
        return Some((2, 3));
    }
    if digits.starts_with(&[0, 0, 8, 6]) && mobile_at(4) {
        return Some((4, 3));
    }
    if n == 10 && (digits.starts_with(&[4, 0, 0]) || digits.starts_with(&[8, 0, 0])) {
        return Some((0, 3));
    }
    let landline = (10..=12).contains(&n)
        && digits[0] == 0
        && digits[1] != 0
        && match groups {
            [_] => true,
            [area, rest @ ..] => {
                (3..=4).contains(&area.digits.len())
                    && rest.first().is_some_and(|g| g.digits.len() >= 3)
            }
            [] => false,
        };
    landline.then(|| (0, n - 8))
}

/// Masks phone numbers in text bound for a group chat, keeping the first
/// digits and the last four: `13812341234` → `138****1234`,
/// `0531-88888888` → `0531****8888`. Numbers split by spaces, dashes, dots,
/// slashes, underscores or zero-width characters are caught, as are
/// full-width digits and `+86`. Ticket numbers, dates, times, house
/// numbers, amounts and runs of digits longer than a phone number (an id
/// card) are left alone: only whole digit runs make up a number.
pub fn mask_phones(text: &str) -> String {
    // Digit runs, and for each whether it is within MAX_GAP separators of the previous one.
    let mut groups: Vec<Group> = Vec::new();
    let mut joined: Vec<bool> = Vec::new();
    let mut gap: Option<usize> = None;
    for (i, c) in text.char_indices() {
        match digit_value(c) {
            Some(d) => {
                match groups.last_mut() {
                    Some(g) if g.end == i => {
                        g.end = i + c.len_utf8();
                        g.digits.push(d);
                    }
                    _ => {
                        joined.push(gap.is_some_and(|n| n <= MAX_GAP));
                        groups.push(Group {
                            start: i,
                            end: i + c.len_utf8(),
                            digits: vec![d],
                        });
                    }
                }
                gap = Some(0);
            }
            None if is_phone_separator(c) => gap = gap.map(|n| n + 1),
            None => gap = None,
        }
    }
    // Within each chain of joined runs, the longest stretch of whole runs
    // that is a phone number wins, leftmost first.
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    let mut i = 0;
    while i < groups.len() {
        let mut chain_end = i + 1;
        while chain_end < groups.len() && joined[chain_end] {
            chain_end += 1;
        }
        let found = (i + 1..=chain_end)
            .rev()
            .find_map(|j| phone_shape(&groups[i..j]).map(|shape| (j, shape)));
        match found {
            Some((j, (skip, show))) => {
                let chars: Vec<char> = groups[i..j]
                    .iter()
                    .flat_map(|g| text[g.start..g.end].chars())
                    .skip(skip)
                    .collect();
                let mut masked: String = chars[..show].iter().collect();
                masked.push_str("****");
                masked.extend(&chars[chars.len() - 4..]);
                let mut start = groups[i].start;
                // `+86 138…` loses its plus with the country code; `(0531)…` its bracket.
                let before = text[..start].chars().next_back();
                if (skip > 0 && before == Some('+')) || matches!(before, Some('(' | '（')) {
                    start -= before.map_or(0, char::len_utf8);
                }
                spans.push((start, groups[j - 1].end, masked));
                i = j;
            }
            None => i += 1,
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end, masked) in spans {
        out.push_str(&text[last..start]);
        out.push_str(&masked);
        last = end;
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
            ("0086 138 1234 1234", "138****1234"),
            ("１３８１２３４１２３４", "１３８****１２３４"),
            (
                "两个：13812341234、15900001111",
                "两个：138****1234、159****1111",
            ),
            ("13812341234/15900001111", "138****1234/159****1111"),
            // Separators people (and evaders) use.
            ("138.1234.1234", "138****1234"),
            ("138_1234_1234", "138****1234"),
            ("138/1234/1234", "138****1234"),
            ("138  1234  1234", "138****1234"),
            ("1 3 8 1 2 3 4 1 2 3 4", "138****1234"),
            ("138\u{200b}1234\u{200b}1234", "138****1234"),
            ("1\u{200b}3\u{200b}8\u{2060}12341234", "138****1234"),
            ("联系电话13812345678", "联系电话138****5678"),
            // Landlines and service numbers.
            ("0531-88888888", "0531****8888"),
            ("(0531)88888888", "0531****8888"),
            ("（0531）88888888", "0531****8888"),
            ("053188888888", "0531****8888"),
            ("010-12345678", "010****5678"),
            ("0531 8888 8888", "0531****8888"),
            ("400-123-4567", "400****4567"),
            ("4001234567", "400****4567"),
            ("800 123 4567", "800****4567"),
            ("工单 #1024 13812345678", "工单 #1024 138****5678"),
            // Not phones: too long, wrong prefix, too short, ticket numbers,
            // dates, times, house numbers, amounts.
            ("身份证110101199003071234", "身份证110101199003071234"),
            ("订单 12812341234", "订单 12812341234"),
            ("1381234123", "1381234123"),
            ("工单 #1024", "工单 #1024"),
            ("#认领 1024", "#认领 1024"),
            ("2024-05-01", "2024-05-01"),
            ("2024.05.01 18:30", "2024.05.01 18:30"),
            ("2024/05/01-2024/05/31", "2024/05/01-2024/05/31"),
            ("05/01/2024 05/31", "05/01/2024 05/31"),
            ("12:30-13:45", "12:30-13:45"),
            ("12号楼3单元502", "12号楼3单元502"),
            ("12号楼 3单元 502室", "12号楼 3单元 502室"),
            (
                "罚款 2000 元，已缴 1500.50 元",
                "罚款 2000 元，已缴 1500.50 元",
            ),
            ("¥1,380,000", "¥1,380,000"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(mask_phones(input), *want, "{input}");
        }
    }

    #[test]
    fn render_is_single_pass() {
        let vars = [
            ("ticket", "#1024".to_string()),
            ("note", "请打 13812341234，不是 {ticket}".to_string()),
        ];
        assert_eq!(
            render("工单 {ticket}：{note} {unknown} {", &vars),
            "工单 #1024：请打 13812341234，不是 {ticket} {unknown} {"
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
