//! Duplicate detection: is a new complaint the same problem as a ticket that is still being handled?
//!
//! Ten neighbours complaining about the same blocked fire lane should give one
//! ticket with ten reporters, not ten tickets for the same officer.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use super::model::{to_halfwidth, ComplaintInput, Ticket};

/// Wording similarity at or above which two complaints count as the same problem.
pub const SIMILARITY_THRESHOLD: f64 = 0.5;

/// Jaccard similarity of two token sets (0 when both are empty: no evidence).
pub fn jaccard(a: &[String], b: &[String]) -> f64 {
    let a: HashSet<&str> = a.iter().map(String::as_str).collect();
    let b: HashSet<&str> = b.iter().map(String::as_str).collect();
    let union = a.union(&b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

fn norm_location(s: &str) -> String {
    to_halfwidth(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
}

/// `5号楼` matches `5号楼` and `5号楼东侧`; a missing location matches nothing.
pub fn locations_match(a: Option<&str>, b: Option<&str>) -> bool {
    match (a.map(norm_location), b.map(norm_location)) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => a.contains(&b) || b.contains(&a),
        _ => false,
    }
}

/// How strongly `input` looks like `ticket`, if it is a candidate at all.
///
/// A candidate is in the same group and category, still active, and created
/// within the window. Among candidates, a matching location scores 1.0;
/// otherwise the wording must reach [`SIMILARITY_THRESHOLD`].
pub fn score(
    ticket: &Ticket,
    input: &ComplaintInput,
    platform: &str,
    group_id: &str,
    now: DateTime<Utc>,
    window_hours: u32,
) -> Option<f64> {
    if ticket.platform != platform
        || ticket.group_id != group_id
        || ticket.category != input.category
        || !ticket.status.is_active()
        || now - ticket.created_at > Duration::hours(i64::from(window_hours))
    {
        return None;
    }
    if locations_match(ticket.location.as_deref(), input.location.as_deref()) {
        return Some(1.0);
    }
    let sim = jaccard(&ticket.tokens, &input.tokens);
    (sim >= SIMILARITY_THRESHOLD).then_some(sim)
}

/// Crude content words for text nobody classified (`#投诉` when the pipeline
/// did not pass tokens): Chinese character bigrams plus ASCII words. Good
/// enough for Jaccard between two short complaints about the same thing.
pub fn rough_tokens(text: &str) -> Vec<String> {
    let half = to_halfwidth(text).to_lowercase();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut cjk: Vec<char> = Vec::new();
    let mut word = String::new();
    let mut flush_cjk = |cjk: &mut Vec<char>, out: &mut Vec<String>| {
        if cjk.len() == 1 {
            let s: String = cjk.iter().collect();
            if seen.insert(s.clone()) {
                out.push(s);
            }
        }
        for w in cjk.windows(2) {
            let s: String = w.iter().collect();
            if seen.insert(s.clone()) {
                out.push(s);
            }
        }
        cjk.clear();
    };
    for c in half.chars() {
        if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            cjk.push(c);
        } else if c.is_alphanumeric() {
            flush_cjk(&mut cjk, &mut out);
            word.push(c);
        } else {
            flush_cjk(&mut cjk, &mut out);
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    flush_cjk(&mut cjk, &mut out);
    if !word.is_empty() {
        out.push(word);
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn jaccard_table() {
        let cases: &[(&str, &str, f64)] = &[
            ("消防通道 堵 车", "消防通道 堵 车", 1.0),
            ("消防通道 堵 车", "消防通道 堵", 2.0 / 3.0),
            ("消防通道 堵", "狗 叫", 0.0),
            ("", "", 0.0),
            ("a a b", "a b", 1.0),
        ];
        for (a, b, want) in cases {
            let got = jaccard(&toks(a), &toks(b));
            assert!((got - want).abs() < 1e-9, "{a} / {b}: {got}");
        }
    }

    #[test]
    fn location_table() {
        let cases: &[(Option<&str>, Option<&str>, bool)] = &[
            (Some("5号楼"), Some("5号楼"), true),
            (Some("５号楼"), Some("5号楼东侧"), true),
            (Some("5号楼"), Some("6号楼"), false),
            (None, Some("5号楼"), false),
            (Some(""), Some(""), false),
            (None, None, false),
        ];
        for (a, b, want) in cases {
            assert_eq!(locations_match(*a, *b), *want, "{a:?} {b:?}");
        }
    }

    #[test]
    fn rough_tokens_make_similar_texts_similar() {
        let a = rough_tokens("5号楼消防通道被车堵了");
        let b = rough_tokens("5号楼 消防通道又被车堵了！");
        assert!(jaccard(&a, &b) >= SIMILARITY_THRESHOLD, "{a:?} {b:?}");
        let c = rough_tokens("狗一直在叫");
        assert!(jaccard(&a, &c) < SIMILARITY_THRESHOLD);
        assert!(rough_tokens("").is_empty());
    }
}
