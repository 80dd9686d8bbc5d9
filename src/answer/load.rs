//! Reads `rules/answers/*.toml`, reports every problem with `file:line`, compiles and runs the examples.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use aho_corasick::AhoCorasick;
use toml::Spanned;

use super::contacts::Contacts;
use super::matcher::{decide, Decision, Response};
use super::spec::{AnswerFile, EntrySpec};
use super::{Entry, KnowledgeBase};
use crate::rules::{compile_regex, line_of, read_toml, Example, RuleError, RuleErrors, RuleSet};

const DEFAULT_THRESHOLD: f64 = 2.0;
const MAX_WEIGHT: f64 = 100.0;

pub fn load(rules: &RuleSet) -> Result<KnowledgeBase, RuleErrors> {
    let dir = rules.dir().join("answers");
    let mut errors = Vec::new();
    let mut files: Vec<_> = match fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            errors.push(RuleError::new(&dir, 0, format!("cannot read: {e}")));
            Vec::new()
        }
    };
    // Load order decides ties, so it must not depend on the file system.
    files.sort();

    let mut kb = KnowledgeBase::default();
    let mut keyword_ids: HashMap<String, usize> = HashMap::new();
    let mut first_seen: HashMap<String, (std::path::PathBuf, usize)> = HashMap::new();
    for path in &files {
        let Some((text, file)) = read_toml::<AnswerFile>(path, &mut errors) else {
            continue;
        };
        let src = Source { path, text: &text };
        for spec in &file.entry {
            let before = errors.len();
            let entry = entry(&src, spec, rules, &mut errors);
            if let Some(first) = first_seen.get(&entry.id) {
                errors.push(src.error(
                    &spec.id,
                    format!(
                        "duplicate entry id {:?} (first in {}:{})",
                        entry.id,
                        first.0.display(),
                        first.1
                    ),
                ));
            }
            first_seen.insert(entry.id.clone(), (path.clone(), entry.line));
            if errors.len() > before {
                continue;
            }
            let index = kb.entries.len();
            for (word, weight) in &spec.keywords {
                let w = normalized_word(word.get_ref());
                let next = keyword_ids.len();
                let k = *keyword_ids.entry(w).or_insert(next);
                if k == kb.index.keyword_entries.len() {
                    kb.index.keyword_entries.push(Vec::new());
                }
                kb.index.keyword_entries[k].push((index, *weight.get_ref()));
            }
            for p in &spec.patterns {
                if let Ok(re) = compile_regex(p.regex.get_ref()) {
                    kb.index.patterns.push((index, re, *p.weight.get_ref()));
                }
            }
            kb.entries.push(entry);
        }
    }
    let mut words: Vec<(usize, String)> = keyword_ids.into_iter().map(|(w, k)| (k, w)).collect();
    words.sort();
    if !words.is_empty() {
        match AhoCorasick::new(words.iter().map(|(_, w)| w)) {
            Ok(ac) => kb.index.keywords = Some(ac),
            Err(e) => errors.push(RuleError::new(&dir, 0, format!("keywords: {e}"))),
        }
    }
    if errors.is_empty() {
        errors.extend(check_examples(rules, &kb));
    }
    if errors.is_empty() {
        Ok(kb)
    } else {
        Err(RuleErrors(errors))
    }
}

/// Every example must be answered with its entry, every counter-example must not.
pub fn check_examples(rules: &RuleSet, kb: &KnowledgeBase) -> Vec<RuleError> {
    let mut errors = Vec::new();
    for (i, e) in kb.entries.iter().enumerate() {
        for ex in &e.examples {
            let got = decide(rules, kb, &ex.text);
            if !matches!(got, Decision::Inquiry(Response::Answer(j)) if j == i) {
                errors.push(RuleError::new(
                    &e.file,
                    ex.line,
                    format!(
                        "example {:?} of {} gets {}",
                        ex.text,
                        e.id,
                        describe(kb, &got)
                    ),
                ));
            }
        }
        for ex in &e.counter_examples {
            let got = decide(rules, kb, &ex.text);
            if matches!(got, Decision::Inquiry(Response::Answer(j)) if j == i) {
                errors.push(RuleError::new(
                    &e.file,
                    ex.line,
                    format!("counter-example {:?} is answered with {}", ex.text, e.id),
                ));
            }
        }
    }
    errors
}

fn describe(kb: &KnowledgeBase, d: &Decision) -> String {
    match d {
        Decision::Complaint(c) => format!(
            "a ticket ({}): the classifier takes it for a complaint",
            c.category.as_deref().unwrap_or("?")
        ),
        Decision::Inquiry(Response::Answer(j)) => format!("the answer of {}", kb.entries[*j].id),
        Decision::Inquiry(Response::TicketStatus(_)) => "a ticket-status reply".to_string(),
        Decision::Inquiry(Response::Unanswered) => {
            "no answer (logged as unanswered: no entry reaches its threshold)".to_string()
        }
        Decision::Inquiry(Response::Nothing) => {
            "no answer (no question cue, or nothing about the city)".to_string()
        }
    }
}

struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    fn line<T>(&self, value: &Spanned<T>) -> usize {
        line_of(self.text, value.span().start)
    }

    fn error<T>(&self, value: &Spanned<T>, message: impl Into<String>) -> RuleError {
        RuleError::new(self.path, self.line(value), message)
    }
}

fn normalized_word(w: &str) -> String {
    crate::classify::normalize(w)
}

fn entry(src: &Source, spec: &EntrySpec, rules: &RuleSet, errors: &mut Vec<RuleError>) -> Entry {
    let id = spec.id.get_ref().trim().to_string();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        errors.push(src.error(
            &spec.id,
            format!("entry id {id:?} must be lower-case letters, digits and `_`"),
        ));
    }
    if spec.question.get_ref().trim().is_empty() {
        errors.push(src.error(&spec.question, format!("{id}: question is empty")));
    }
    let answer = spec.answer.get_ref().trim().to_string();
    if answer.is_empty() {
        errors.push(src.error(&spec.answer, format!("{id}: answer is empty")));
    } else if let Err(e) = Contacts::default().render(&answer) {
        errors.push(src.error(&spec.answer, format!("{id}: {e}")));
    }
    if let Some(cat) = &spec.category {
        if rules.category(cat.get_ref()).is_none() {
            errors.push(src.error(cat, format!("{id}: unknown category {:?}", cat.get_ref())));
        }
    }
    let threshold = match &spec.threshold {
        Some(t) => {
            let v = *t.get_ref();
            if !(v.is_finite() && v > 0.0 && v <= MAX_WEIGHT) {
                errors.push(src.error(t, format!("{id}: threshold must be in (0, {MAX_WEIGHT}]")));
            }
            v
        }
        None => DEFAULT_THRESHOLD,
    };
    if spec.keywords.is_empty() && spec.patterns.is_empty() {
        errors.push(src.error(&spec.id, format!("{id}: no keywords and no patterns")));
    }
    for (word, weight) in &spec.keywords {
        if normalized_word(word.get_ref()).is_empty() {
            errors.push(src.error(word, format!("{id}: empty keyword")));
        }
        check_weight(src, &id, weight, errors);
    }
    for p in &spec.patterns {
        if let Err(e) = compile_regex(p.regex.get_ref()) {
            errors.push(src.error(&p.regex, format!("{id}: {e}")));
        }
        check_weight(src, &id, &p.weight, errors);
    }
    Entry {
        question: spec.question.get_ref().trim().to_string(),
        answer,
        category: spec.category.as_ref().map(|c| c.get_ref().clone()),
        threshold,
        examples: examples(src, &spec.examples),
        counter_examples: examples(src, &spec.counter_examples),
        file: src.path.to_path_buf(),
        line: src.line(&spec.id),
        id,
    }
}

fn check_weight(src: &Source, id: &str, w: &Spanned<f64>, errors: &mut Vec<RuleError>) {
    let v = *w.get_ref();
    if !(v.is_finite() && v != 0.0 && v.abs() <= MAX_WEIGHT) {
        errors.push(src.error(
            w,
            format!("{id}: weight {v} must be non-zero and within ±{MAX_WEIGHT}"),
        ));
    }
}

fn examples(src: &Source, list: &[Spanned<String>]) -> Vec<Example> {
    list.iter()
        .map(|ex| Example {
            line: src.line(ex),
            text: ex.get_ref().clone(),
        })
        .collect()
}
