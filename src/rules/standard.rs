//! `rules/standard.toml` (optional): the GB/T 30428.2 components (部件) and events
//! (事件), each mapped onto a category. Their terms become topic evidence for it, or,
//! with `alone = true`, terms that are a problem by themselves; the item's code is
//! shown in explanations.

use std::path::Path;

use super::load::{add_word, read_toml, SignalList, Source};
use super::spec::StandardFile;
use super::{Category, Effect, RuleError, SignalKind, Target};

/// What a topic word or standard term weighs: half a threshold, so a shared
/// problem word completes it.
pub(super) const TOPIC_WEIGHT: f64 = 1.5;

pub(super) fn load(
    dir: &Path,
    categories: &[Category],
    signals: &mut SignalList,
    errors: &mut Vec<RuleError>,
) {
    let path = dir.join("standard.toml");
    if !path.exists() {
        return;
    }
    let Some((text, file)) = read_toml::<StandardFile>(&path, errors) else {
        return;
    };
    let src = Source {
        path: &path,
        text: &text,
    };
    // (category, code) of every mapped item: a category's `standard_code` must be one.
    let mut codes: Vec<(usize, &str)> = Vec::new();
    for item in &file.item {
        let code = item.code.get_ref().trim();
        if code.is_empty() || !code.chars().all(|c| c.is_ascii_digit()) {
            errors.push(src.error(&item.code, "code must be digits (e.g. \"0101\")"));
        }
        if !matches!(item.kind.get_ref().as_str(), "部件" | "事件") {
            errors.push(src.error(&item.kind, "kind must be \"部件\" or \"事件\""));
        }
        if item.name.get_ref().trim().is_empty() {
            errors.push(src.error(&item.name, "name must not be empty"));
        }
        let category = item.category.get_ref().trim();
        if category == "none" {
            continue;
        }
        let Some(index) = categories.iter().position(|c| c.id == category) else {
            errors.push(src.error(
                &item.category,
                format!(
                    "unknown category {category:?} (one of the categories/*.toml ids, or \"none\")"
                ),
            ));
            continue;
        };
        codes.push((index, code));
        if item.terms.is_empty() {
            errors.push(src.error(&item.name, "item maps to a category but has no terms"));
        }
        let weight = if item.alone {
            categories[index].threshold
        } else {
            TOPIC_WEIGHT
        };
        for term in &item.terms {
            let before = signals.words.len();
            add_word(
                &src,
                term,
                Target::Category(index),
                SignalKind::Topic,
                Effect::Add(weight),
                signals,
                errors,
            );
            if let Some((_, signal)) = signals.words.get_mut(before) {
                signal.label = format!("{} [{code}]", signal.label).into();
            }
        }
    }
    check_codes(categories, &codes, errors);
}

/// A category's `standard_code` names the standard item it stands for, so it
/// must be the code of an item `standard.toml` maps to that category.
fn check_codes(categories: &[Category], codes: &[(usize, &str)], errors: &mut Vec<RuleError>) {
    for (i, cat) in categories.iter().enumerate() {
        let Some(code) = cat.standard_code.as_deref().map(str::trim) else {
            continue;
        };
        if codes.contains(&(i, code)) {
            continue;
        }
        let mut own: Vec<&str> = codes
            .iter()
            .filter(|(c, _)| *c == i)
            .map(|(_, code)| *code)
            .filter(|code| code.len() == 4)
            .collect();
        own.sort_unstable();
        own.dedup();
        let hint = if own.is_empty() {
            "it has no coded items there; leave standard_code out".to_string()
        } else {
            format!("its items there: {}", own.join(", "))
        };
        errors.push(RuleError::new(
            &cat.file,
            cat.standard_code_line,
            format!(
                "standard_code {code:?} is not a standard.toml item of {:?} ({hint})",
                cat.id
            ),
        ));
    }
}
