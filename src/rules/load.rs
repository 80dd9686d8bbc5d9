//! Reads a rules directory, reports every problem with `file:line`, and compiles what parsed.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jieba_rs::Jieba;
use regex::Regex;
use toml::Spanned;

use super::compile::{build_matcher, compile_regex};
use super::error::line_of;
use super::model::{Doc, Model};
use super::spec::{CategoryFile, CueSpec, GlobalFile, ModelSpec, PatternSpec};
use super::{
    corpus, standard, Category, Effect, Example, RuleError, RuleErrors, RuleSet, Signal,
    SignalKind, Target, Training,
};
use crate::classify::{classify, normalize, words};

/// Placeholders a reply template may use.
pub const REPLY_PLACEHOLDERS: &[&str] = &[
    "ticket",
    "category",
    "location",
    "department",
    "sla_hours",
    "priority",
];

const MAX_WEIGHT: f64 = 100.0;

/// A source file's text, kept to turn byte offsets into line numbers.
pub(super) struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    pub fn error<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> RuleError {
        RuleError::new(self.path, line_of(self.text, value.span().start), message)
    }
}

/// A user-dictionary entry for jieba.
struct DictEntry {
    word: String,
    freq: Option<usize>,
    tag: Option<String>,
}

/// Signals as parsed, before they are indexed into a [`Matcher`].
#[derive(Default)]
pub(super) struct SignalList {
    /// (normalised word, signal)
    pub words: Vec<(String, Signal)>,
    /// (regex source, signal)
    pub patterns: Vec<(String, Signal)>,
}

pub fn load(dir: &Path, training: Training) -> Result<RuleSet, RuleErrors> {
    let mut errors = Vec::new();
    if !dir.is_dir() {
        return Err(RuleErrors(vec![RuleError::new(
            dir,
            0,
            "rules directory not found (pass --rules DIR or create it)",
        )]));
    }

    let dict_path = dir.join("dict.txt");
    let dict = match fs::read_to_string(&dict_path) {
        Ok(text) => parse_dict(&dict_path, &text, &mut errors),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            errors.push(RuleError::new(&dict_path, 0, format!("cannot read: {e}")));
            Vec::new()
        }
    };

    let mut signals = SignalList::default();
    let global_path = dir.join("global.toml");
    let mut model_spec = ModelSpec::default();
    let (locations, global_counter_examples) =
        match read_toml::<GlobalFile>(&global_path, &mut errors) {
            Some((text, global)) => {
                let src = Source {
                    path: &global_path,
                    text: &text,
                };
                let locations = compile_locations(&src, &global.locations, &mut errors);
                add_cues(
                    &src,
                    &global.complaint,
                    Target::Complaint,
                    &mut signals,
                    &mut errors,
                );
                add_cues(
                    &src,
                    &global.chatter,
                    Target::Chatter,
                    &mut signals,
                    &mut errors,
                );
                add_cues(
                    &src,
                    &global.problem,
                    Target::Problem,
                    &mut signals,
                    &mut errors,
                );
                for w in [&global.model.weight, &global.model.none_weight] {
                    if !(w.get_ref().is_finite() && (0.0..=MAX_WEIGHT).contains(w.get_ref())) {
                        errors.push(src.error(w, "model weight must be between 0 and 100"));
                    }
                }
                model_spec = global.model;
                let counter = examples(&src, &global.counter_examples, &mut errors);
                (locations, counter)
            }
            None => (None, Vec::new()),
        };

    let categories = load_categories(dir, &mut signals, &mut errors);
    standard::load(dir, &categories, &mut signals, &mut errors);
    let ids: Vec<&str> = categories.iter().map(|c| c.id.as_str()).collect();
    let corpus = corpus::read(dir, &ids, training, &mut errors);

    let matcher = match build_matcher(signals) {
        Ok(m) => Some(m),
        Err(message) => {
            errors.push(RuleError::new(dir, 0, message));
            None
        }
    };
    let (Some(matcher), true) = (matcher, errors.is_empty()) else {
        return Err(RuleErrors(errors));
    };

    let mut jieba = Jieba::new();
    for entry in &dict {
        jieba.add_word(&entry.word, entry.freq, entry.tag.as_deref());
    }

    let model = train(&jieba, &categories, &global_counter_examples, &corpus);
    let rules = RuleSet {
        category_ids: categories
            .iter()
            .map(|c| Arc::from(c.id.as_str()))
            .collect(),
        model,
        model_weight: *model_spec.weight.get_ref(),
        model_none_weight: *model_spec.none_weight.get_ref(),
        categories,
        matcher,
        locations,
        jieba,
        global_counter_examples,
        global_file: global_path,
        dir: dir.to_path_buf(),
    };
    let failures = check_examples(&rules);
    if failures.is_empty() {
        Ok(rules)
    } else {
        Err(RuleErrors(failures))
    }
}

/// Train the model on every labelled message the rules hold. A category's
/// counter-example is a message that is not that category; as most are
/// chatter that happens to use its words, it teaches "no complaint", unless
/// another category claims it as an example.
fn train(
    jieba: &Jieba,
    categories: &[Category],
    global_counter_examples: &[Example],
    corpus: &[corpus::Labelled],
) -> Model {
    let none = categories.len();
    let mut labelled: Vec<(usize, String)> = Vec::new();
    for (i, cat) in categories.iter().enumerate() {
        labelled.extend(cat.examples.iter().map(|e| (i, normalize(&e.text))));
    }
    let examples: std::collections::HashSet<String> =
        labelled.iter().map(|(_, t)| t.clone()).collect();
    for cat in categories {
        labelled.extend(
            cat.counter_examples
                .iter()
                .map(|e| normalize(&e.text))
                .filter(|t| !examples.contains(t))
                .map(|t| (none, t)),
        );
    }
    labelled.extend(
        global_counter_examples
            .iter()
            .map(|e| (none, normalize(&e.text))),
    );
    labelled.extend(
        corpus
            .iter()
            .map(|m| (m.class.unwrap_or(none), normalize(&m.text))),
    );
    let docs: Vec<Doc> = labelled
        .iter()
        .map(|(class, norm)| Doc {
            class: *class,
            tokens: words(jieba, norm),
            norm,
        })
        .collect();
    Model::train(none + 1, &docs)
}

/// Run every example and counter-example; one error per message that lands wrong.
pub fn check_examples(rules: &RuleSet) -> Vec<RuleError> {
    let mut errors = Vec::new();
    for cat in &rules.categories {
        for ex in &cat.examples {
            let got = classify(rules, &ex.text);
            if got.category.as_deref() != Some(cat.id.as_str()) {
                errors.push(RuleError::new(
                    &cat.file,
                    ex.line,
                    format!(
                        "example {:?} should classify as {} but got {}",
                        ex.text,
                        cat.id,
                        describe(&got)
                    ),
                ));
            }
        }
        for ex in &cat.counter_examples {
            let got = classify(rules, &ex.text);
            if got.category.as_deref() == Some(cat.id.as_str()) {
                errors.push(RuleError::new(
                    &cat.file,
                    ex.line,
                    format!(
                        "counter-example {:?} must not classify as {} (score {:.1})",
                        ex.text, cat.id, got.score
                    ),
                ));
            }
        }
    }
    for ex in &rules.global_counter_examples {
        let got = classify(rules, &ex.text);
        if got.category.is_some() {
            errors.push(RuleError::new(
                &rules.global_file,
                ex.line,
                format!(
                    "counter-example {:?} should not be a complaint but got {}",
                    ex.text,
                    describe(&got)
                ),
            ));
        }
    }
    errors
}

fn describe(got: &crate::classify::Classification) -> String {
    match &got.category {
        Some(id) => format!("{id} (score {:.1})", got.score),
        None => match got.candidates.first() {
            Some(c) => format!("none (best {} at {:.1})", c.category, c.score),
            None => "none (nothing matched)".to_string(),
        },
    }
}

pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    errors: &mut Vec<RuleError>,
) -> Option<(String, T)> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            errors.push(RuleError::new(path, 0, "not valid UTF-8 text"));
            return None;
        }
        Err(e) => {
            errors.push(RuleError::new(path, 0, format!("cannot read: {e}")));
            return None;
        }
    };
    match toml::from_str::<T>(&text) {
        Ok(v) => Some((text, v)),
        Err(e) => {
            let line = e.span().map(|s| line_of(&text, s.start)).unwrap_or(0);
            let mut message = e.message().trim().replace('\n', " ");
            if message.is_empty() {
                // Some TOML errors (an empty or cut-off file) carry no text.
                message = "invalid TOML: the file is empty or cut off".to_string();
            }
            errors.push(RuleError::new(path, line, message));
            None
        }
    }
}

fn load_categories(
    dir: &Path,
    signals: &mut SignalList,
    errors: &mut Vec<RuleError>,
) -> Vec<Category> {
    let cat_dir = dir.join("categories");
    let mut files: Vec<PathBuf> = match fs::read_dir(&cat_dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => {
            errors.push(RuleError::new(&cat_dir, 0, format!("cannot read: {e}")));
            return Vec::new();
        }
    };
    files.sort();
    if files.is_empty() {
        errors.push(RuleError::new(&cat_dir, 0, "no category files (*.toml)"));
    }

    let mut categories: Vec<Category> = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for path in files {
        let Some((text, file)) = read_toml::<CategoryFile>(&path, errors) else {
            continue;
        };
        let src = Source {
            path: &path,
            text: &text,
        };
        let index = categories.len();
        if let Some(cat) = category(&src, file, index, signals, errors) {
            if let Some(first) = seen.get(&cat.id) {
                errors.push(RuleError::new(
                    &path,
                    cat.id_line,
                    format!(
                        "duplicate category id {:?} (also in {})",
                        cat.id,
                        first.display()
                    ),
                ));
                continue;
            }
            seen.insert(cat.id.clone(), path.clone());
            categories.push(cat);
        }
    }
    categories
}

fn category(
    src: &Source,
    file: CategoryFile,
    index: usize,
    signals: &mut SignalList,
    errors: &mut Vec<RuleError>,
) -> Option<Category> {
    let before = errors.len();
    let id = file.id.get_ref().trim().to_string();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        errors.push(src.error(&file.id, "id must be lower-case ascii letters, digits or _"));
    }
    if file.name.get_ref().trim().is_empty() {
        errors.push(src.error(&file.name, "name must not be empty"));
    }
    let threshold = *file.threshold.get_ref();
    if !(threshold.is_finite() && threshold > 0.0 && threshold <= MAX_WEIGHT) {
        errors.push(src.error(
            &file.threshold,
            "threshold must be a number above 0 and at most 100",
        ));
    }
    let sla_hours = match &file.sla_hours {
        None => 72,
        Some(h) if (1..=24 * 365).contains(h.get_ref()) => *h.get_ref() as u32,
        Some(h) => {
            errors.push(src.error(h, "sla_hours must be between 1 and 8760"));
            72
        }
    };
    if let Some(reply) = &file.reply {
        if let Err(message) = check_template(reply.get_ref()) {
            errors.push(src.error(reply, message));
        }
    }
    if file.keywords.is_empty() && file.topics.is_empty() && file.patterns.is_empty() {
        errors.push(src.error(
            &file.id,
            "category has no keywords, topics or patterns: it can never match",
        ));
    }

    let target = Target::Category(index);
    for (word, weight) in &file.keywords {
        if let Some(w) = check_weight(src, weight, errors) {
            add_word(
                src,
                word,
                target,
                SignalKind::Keyword,
                Effect::Add(w),
                signals,
                errors,
            );
        }
    }
    for word in &file.topics {
        add_word(
            src,
            word,
            target,
            SignalKind::Topic,
            Effect::Add(standard::TOPIC_WEIGHT),
            signals,
            errors,
        );
    }
    add_patterns(src, &file.patterns, target, signals, errors);
    for (word, value) in &file.exclude {
        let effect = match value.get_ref() {
            toml::Value::String(s) if s == "veto" => Some(Effect::Veto),
            toml::Value::Integer(n) if *n > 0 && (*n as f64) <= MAX_WEIGHT => {
                Some(Effect::Subtract(*n as f64))
            }
            toml::Value::Float(n) if *n > 0.0 && *n <= MAX_WEIGHT => Some(Effect::Subtract(*n)),
            _ => {
                errors.push(src.error(
                    value,
                    format!(
                        "exclude {:?}: value must be a number above 0 (subtracted) or \"veto\"",
                        word.get_ref()
                    ),
                ));
                None
            }
        };
        if let Some(effect) = effect {
            add_word(
                src,
                word,
                target,
                SignalKind::Exclude,
                effect,
                signals,
                errors,
            );
        }
    }
    let examples_ = examples(src, &file.examples, errors);
    let counter = examples(src, &file.counter_examples, errors);

    if errors.len() > before {
        return None;
    }
    Some(Category {
        id_line: line_of(src.text, file.id.span().start),
        id,
        name: file.name.into_inner().trim().to_string(),
        description: file.description,
        standard_code_line: file
            .standard_code
            .as_ref()
            .map_or(0, |c| line_of(src.text, c.span().start)),
        standard_code: file.standard_code.map(Spanned::into_inner),
        department: file
            .department
            .unwrap_or_else(|| "城管执法中队".to_string()),
        priority: file.priority,
        sla_hours,
        threshold,
        reply: file.reply.map(Spanned::into_inner),
        examples: examples_,
        counter_examples: counter,
        file: src.path.to_path_buf(),
    })
}

fn check_weight(src: &Source, weight: &Spanned<f64>, errors: &mut Vec<RuleError>) -> Option<f64> {
    let w = *weight.get_ref();
    if w.is_finite() && w > 0.0 && w <= MAX_WEIGHT {
        Some(w)
    } else {
        errors.push(src.error(weight, "weight must be a number above 0 and at most 100"));
        None
    }
}

pub(super) fn add_word(
    src: &Source,
    word: &Spanned<String>,
    target: Target,
    kind: SignalKind,
    effect: Effect,
    signals: &mut SignalList,
    errors: &mut Vec<RuleError>,
) {
    let normalised = normalize::normalize(word.get_ref());
    if normalised.is_empty() {
        errors.push(src.error(
            word,
            format!("word {:?} is empty after normalising", word.get_ref()),
        ));
        return;
    }
    signals.words.push((
        normalised.clone(),
        Signal {
            target,
            kind,
            effect,
            label: normalised.into(),
            priority: None,
        },
    ));
}

fn add_patterns(
    src: &Source,
    patterns: &[PatternSpec],
    target: Target,
    signals: &mut SignalList,
    errors: &mut Vec<RuleError>,
) {
    for p in patterns {
        let Some(weight) = check_weight(src, &p.weight, errors) else {
            continue;
        };
        if let Err(message) = compile_regex(p.regex.get_ref()) {
            errors.push(src.error(&p.regex, message));
            continue;
        }
        let effect = match target {
            Target::Chatter => Effect::Subtract(weight),
            _ => Effect::Add(weight),
        };
        signals.patterns.push((
            p.regex.get_ref().clone(),
            Signal {
                target,
                kind: SignalKind::Pattern,
                effect,
                label: p.note.as_ref().unwrap_or(p.regex.get_ref()).as_str().into(),
                priority: p.priority,
            },
        ));
    }
}

fn add_cues(
    src: &Source,
    cues: &CueSpec,
    target: Target,
    signals: &mut SignalList,
    errors: &mut Vec<RuleError>,
) {
    for (word, weight) in &cues.keywords {
        if let Some(w) = check_weight(src, weight, errors) {
            let effect = match target {
                Target::Chatter => Effect::Subtract(w),
                _ => Effect::Add(w),
            };
            add_word(
                src,
                word,
                target,
                SignalKind::Keyword,
                effect,
                signals,
                errors,
            );
        }
    }
    add_patterns(src, &cues.patterns, target, signals, errors);
}

fn compile_locations(
    src: &Source,
    locations: &[Spanned<String>],
    errors: &mut Vec<RuleError>,
) -> Option<Regex> {
    let mut ok = Vec::new();
    for loc in locations {
        match compile_regex(loc.get_ref()) {
            Ok(_) => ok.push(format!("(?:{})", loc.get_ref())),
            Err(message) => errors.push(src.error(loc, message)),
        }
    }
    if ok.is_empty() {
        return None;
    }
    // One alternation: leftmost match wins, earlier patterns win ties.
    Regex::new(&ok.join("|")).ok()
}

fn examples(src: &Source, list: &[Spanned<String>], errors: &mut Vec<RuleError>) -> Vec<Example> {
    let mut out = Vec::new();
    for ex in list {
        if ex.get_ref().trim().is_empty() {
            errors.push(src.error(ex, "example is empty"));
            continue;
        }
        out.push(Example {
            line: line_of(src.text, ex.span().start),
            text: ex.get_ref().clone(),
        });
    }
    out
}

/// Check `{name}` placeholders in a reply template.
pub fn check_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            return Err("reply has a '{' without a closing '}'".to_string());
        };
        let name = &after[..end];
        if !REPLY_PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "reply uses unknown placeholder {{{name}}}; known: {}",
                REPLY_PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

fn parse_dict(path: &Path, text: &str, errors: &mut Vec<RuleError>) -> Vec<DictEntry> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let word = parts.next().unwrap_or_default().to_string();
        let freq = match parts.next() {
            None => None,
            Some(f) => match f.parse::<usize>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    errors.push(RuleError::new(
                        path,
                        i + 1,
                        format!("frequency {f:?} for {word:?} must be a whole number above 0"),
                    ));
                    continue;
                }
            },
        };
        if word.chars().any(char::is_control) {
            // jieba's trie (cedarwood) corrupts itself on a NUL and misbehaves
            // on other control characters; no real word contains one.
            errors.push(RuleError::new(
                path,
                i + 1,
                format!("word {word:?} contains a control character"),
            ));
            continue;
        }
        let tag = parts.next().map(str::to_string);
        if parts.next().is_some() {
            errors.push(RuleError::new(
                path,
                i + 1,
                "expected `word [frequency] [tag]`: too many fields",
            ));
            continue;
        }
        out.push(DictEntry { word, freq, tag });
    }
    out
}
