//! Text normalisation before matching: width, case, @mentions, URLs and emoji.

/// Normalise a chat message for matching.
///
/// Full-width ASCII becomes half-width (`１２号楼` → `12号楼`), ASCII is
/// lower-cased, @mentions, URLs, emoji and bracketed chat stickers (`[捂脸]`)
/// are removed, and runs of white space collapse to one space.
pub fn normalize(text: &str) -> String {
    // Most messages are plain text: nothing to strip or widen, so the result
    // is the text with ASCII lowercased, without the per-char walk below.
    if text.chars().all(is_plain) {
        return text.to_ascii_lowercase();
    }
    walk(text)
}

/// The full normalisation, char by char.
fn walk(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().map(half_width).collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '@' {
            i = skip_mention(&chars, i);
            continue;
        }
        if (c == 'h' || c == 'H' || c == 'w' || c == 'W') && starts_url(&chars[i..]) {
            while i < chars.len() && !chars[i].is_whitespace() && !is_cjk(chars[i]) {
                i += 1;
            }
            continue;
        }
        if c == '[' {
            if let Some(end) = sticker_end(&chars, i) {
                i = end;
                continue;
            }
        }
        if is_emoji(c) {
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
        i += 1;
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

/// A char the full walk would copy as it is (up to ASCII case), whatever
/// surrounds it: not the start of a mention, URL or sticker, not space, not
/// full-width, not an emoji.
fn is_plain(c: char) -> bool {
    match c {
        '@' | '[' | 'h' | 'H' | 'w' | 'W' => false,
        c if c.is_ascii() => !c.is_ascii_whitespace() && !c.is_ascii_control(),
        '\u{4e00}'..='\u{9fff}' => true,
        c => {
            !c.is_whitespace() && !is_emoji(c) && !matches!(c, '\u{3000}' | '\u{ff01}'..='\u{ff5e}')
        }
    }
}

fn half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
        _ => c,
    }
}

/// A mention runs from `@` to the next space (QQ and WeChat put a space, often
/// U+2005, after it). Without one we only drop the `@`: eating the rest would
/// lose the complaint in "@物业 楼道又堆满了".
fn skip_mention(chars: &[char], at: usize) -> usize {
    let mut j = at + 1;
    while j < chars.len() && j - at <= 24 {
        if chars[j].is_whitespace() {
            return j + 1;
        }
        if chars[j] == '@' {
            return j;
        }
        j += 1;
    }
    if j == chars.len() {
        j
    } else {
        at + 1
    }
}

fn starts_url(rest: &[char]) -> bool {
    let lower: String = rest
        .iter()
        .take(8)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("www.")
}

/// WeChat and QQ render stickers as `[捂脸]`, `[微笑]`: short bracketed words.
fn sticker_end(chars: &[char], at: usize) -> Option<usize> {
    let mut j = at + 1;
    while j < chars.len() && j - at <= 5 {
        if chars[j] == ']' {
            return (j > at + 1).then_some(j + 1);
        }
        if chars[j] == '[' || chars[j].is_whitespace() || chars[j].is_ascii_digit() {
            return None;
        }
        j += 1;
    }
    None
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{3000}'..='\u{303f}' | '\u{ff00}'..='\u{ffef}')
}

fn is_emoji(c: char) -> bool {
    matches!(c,
        '\u{1f000}'..='\u{1faff}'
        | '\u{2600}'..='\u{27bf}'
        | '\u{2b00}'..='\u{2bff}'
        | '\u{fe00}'..='\u{fe0f}'
        | '\u{200d}'
        | '\u{20e3}'
        | '\u{e0020}'..='\u{e007f}')
}

#[cfg(test)]
mod tests {
    use super::{is_plain, normalize, walk};

    proptest::proptest! {
        /// The plain-text shortcut gives what the full walk gives.
        #[test]
        fn the_shortcut_agrees_with_the_walk(s in "[a-zA-Z0-9\\u{4e00}-\\u{4e80}，。！？@\\[\\] \\u{3000}\\u{ff10}-\\u{ff20}😡.:/]{0,24}") {
            proptest::prop_assert_eq!(normalize(&s), walk(&s));
            if s.chars().all(is_plain) {
                proptest::prop_assert_eq!(walk(&s), s.to_ascii_lowercase());
            }
        }
    }

    #[test]
    fn normalises_width_case_mentions_urls_and_emoji() {
        let cases = [
            ("１２号楼ＡＢＣ", "12号楼abc"),
            ("@物业小王 楼道堆满了", "楼道堆满了"),
            ("@张三\u{2005}狗屎没人管", "狗屎没人管"),
            ("@物业", ""),
            ("看这里 https://example.com/x?y=1 太脏了", "看这里 太脏了"),
            ("又有狗屎😡😡", "又有狗屎"),
            ("[捂脸]烧烤烟太大", "烧烤烟太大"),
            ("[12号楼] 停车", "[12号楼] 停车"),
            ("  多个   空格  ", "多个 空格"),
            ("全角　空格", "全角 空格"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input), want, "input {input:?}");
        }
    }
}
