//! Compiling loaded signals into the classifier's [`Matcher`]: duplicate words merged,
//! phrases and one-character words indexed, patterns split into branches with their gate
//! literals, and the checks that keep one rule regex from costing every message.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use regex_automata::meta::Regex as MetaRegex;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind};

use super::load::SignalList;
use super::{Effect, Matcher, Signal, Target};

/// Largest compiled program of one rule regex. Real rules need a few KiB;
/// the limit stops a valid but huge pattern before it costs every message.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Most repeats a counted repetition may ask for, nested ones multiplied:
/// `.{0,12}` is what rules need, `[\s\S]{0,3000}` took 2.6 s per long message.
const MAX_COUNTED_REPEAT: u64 = 200;

/// The largest repeat count in `hir`, nested repetitions multiplied
/// (`(a{0,50}){0,50}` counts 2500); unbounded `*` and `+` count their minimum.
fn counted_repeat(hir: &Hir) -> u64 {
    match hir.kind() {
        HirKind::Repetition(r) => {
            let own = u64::from(r.max.unwrap_or(r.min).max(1));
            own.saturating_mul(counted_repeat(&r.sub).max(1))
        }
        HirKind::Capture(c) => counted_repeat(&c.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            parts.iter().map(counted_repeat).max().unwrap_or(0)
        }
        _ => 0,
    }
}

pub(crate) fn compile_regex(source: &str) -> Result<Regex, String> {
    if source.is_empty() {
        return Err("regex is empty".to_string());
    }
    if let Ok(hir) = regex_syntax::Parser::new().parse(source) {
        let repeat = counted_repeat(&hir);
        if repeat > MAX_COUNTED_REPEAT {
            return Err(format!(
                "regex {source:?} repeats up to {repeat} times; at most {MAX_COUNTED_REPEAT} \
                 (nested repetitions multiply): such a pattern is slow on every long message"
            ));
        }
    }
    regex::RegexBuilder::new(source)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            // The regex crate's message spans several lines with a caret diagram;
            // its last line says what is wrong.
            let text = e.to_string();
            let reason = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid")
                .trim()
                .trim_start_matches("error: ")
                .to_string();
            format!("invalid regex {source:?}: {reason}")
        })
}

/// A word counts once for what it speaks for: a keyword that is also a
/// `topics` word or a `standard.toml` term of the same category weighs the
/// larger of the two, not their sum (and a word both a complaint cue and a
/// problem word, the larger of those). Excludes and chatter are kept as they are.
fn merge_duplicates(words: Vec<(String, Signal)>) -> Vec<(String, Signal)> {
    let slot = |t: Target| match t {
        Target::Category(i) => Some(i),
        Target::Complaint | Target::Problem => Some(usize::MAX),
        Target::Chatter => None,
    };
    let mut first: HashMap<(String, usize), usize> = HashMap::new();
    let mut kept: Vec<(String, Signal)> = Vec::with_capacity(words.len());
    for (word, signal) in words {
        if let (Some(s), Effect::Add(w)) = (slot(signal.target), signal.effect) {
            if let Some(&k) = first.get(&(word.clone(), s)) {
                let old = &mut kept[k].1;
                let priority = old.priority.max(signal.priority);
                if matches!(old.effect, Effect::Add(o) if w > o) {
                    *old = signal;
                }
                old.priority = priority;
                continue;
            }
            first.insert((word.clone(), s), kept.len());
        }
        kept.push((word, signal));
    }
    kept
}

pub(super) fn build_matcher(list: SignalList) -> Result<Matcher, String> {
    let mut signals = Vec::new();
    let mut phrase_index: HashMap<String, usize> = HashMap::new();
    let mut phrases: Vec<String> = Vec::new();
    let mut phrase_signals: Vec<Vec<usize>> = Vec::new();
    let mut words: HashMap<String, Vec<usize>> = HashMap::new();
    for (word, signal) in merge_duplicates(list.words) {
        let id = signals.len();
        signals.push(signal);
        if word.chars().count() >= 2 {
            let slot = *phrase_index.entry(word.clone()).or_insert_with(|| {
                phrases.push(word.clone());
                phrase_signals.push(Vec::new());
                phrases.len() - 1
            });
            phrase_signals[slot].push(id);
        } else {
            words.entry(word).or_default().push(id);
        }
    }
    // The default (noncontiguous NFA) kind: a DFA was measured slower in
    // wall time on the shipped rules (35.5k vs 46.1k msgs/s, bench classify).
    let phrases_ac = AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .build(&phrases)
        .map_err(|e| format!("cannot build the keyword matcher: {e}"))?;
    // Patterns are gated by literals: a match of `(狗|犬|泰迪).{0,12}(叫|吠)`
    // contains 狗, 犬 or 泰迪 and 叫 or 吠, so the regex runs only on a
    // message that has one of each. One Aho-Corasick pass finds the
    // candidates; few patterns survive it, so the cost per message stays
    // flat however many patterns admins add (one RegexSet of a few hundred
    // Unicode patterns needs tens of MiB of DFA cache per thread and is
    // ~100x slower without it).
    let mut patterns = Vec::new();
    let mut pattern_signals = Vec::new();
    let mut gate_index: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut gate_literals: Vec<Vec<u8>> = Vec::new();
    let mut gate_clauses: Vec<Vec<(usize, u64)>> = Vec::new();
    let mut clauses_needed = Vec::new();
    let mut starts_gated = Vec::new();
    for (source, signal) in list.patterns {
        // Already checked by `add_patterns`, which reported any error at
        // its file and line.
        let signal_id = signals.len();
        signals.push(signal);
        // A pattern `A|B` matches when either branch does; each branch is
        // gated on its own literals, so `改成.{0,4}(出租房|…)|(楼顶|…)…`
        // runs only on messages that could match one of them.
        for (regex, hir) in branches(&source)? {
            let p = patterns.len();
            let (clauses, starts) = required_clauses(&hir);
            let mut needed = 0u64;
            for (i, clause) in clauses.into_iter().enumerate() {
                let bit = 1u64 << i;
                needed |= bit;
                for lit in clause {
                    let slot = *gate_index.entry(lit.clone()).or_insert_with(|| {
                        gate_literals.push(lit);
                        gate_clauses.push(Vec::new());
                        gate_literals.len() - 1
                    });
                    gate_clauses[slot].push((p, bit));
                }
            }
            patterns.push(regex);
            pattern_signals.push(signal_id);
            clauses_needed.push(needed);
            starts_gated.push(starts);
        }
    }
    let gates = AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .build(&gate_literals)
        .map_err(|e| format!("cannot build the pattern gate: {e}"))?;
    let ungated = (0..patterns.len())
        .filter(|&p| clauses_needed[p] == 0)
        .collect();
    Ok(Matcher {
        signals,
        phrases: phrases_ac,
        phrase_signals,
        words,
        patterns,
        pattern_signals,
        gates,
        gate_clauses,
        clauses_needed,
        ungated,
        starts_gated,
    })
}

/// A pattern's top-level branches, each compiled on its own with its syntax
/// tree; the whole pattern as one branch when it has no `|` at the top.
fn branches(source: &str) -> Result<Vec<(MetaRegex, Hir)>, String> {
    const MAX_BRANCHES: usize = 16;
    let hir = regex_syntax::Parser::new()
        .parse(source)
        .map_err(|e| format!("invalid regex {source:?}: {e}"))?;
    let build = |h: &Hir| {
        MetaRegex::builder()
            .configure(MetaRegex::config().nfa_size_limit(Some(REGEX_SIZE_LIMIT)))
            .build_from_hir(h)
            .map_err(|e| format!("invalid regex {source:?}: {e}"))
    };
    let mut top = &hir;
    while let HirKind::Capture(c) = top.kind() {
        top = &c.sub;
    }
    match top.kind() {
        HirKind::Alternation(alts) if alts.len() <= MAX_BRANCHES => {
            alts.iter().map(|b| Ok((build(b)?, b.clone()))).collect()
        }
        _ => Ok(vec![(build(&hir)?, hir)]),
    }
}

/// Sets of literals that every match of `hir` contains one of (at most 64
/// sets), and whether the first set is the one every match starts with.
/// No sets when nothing is certain: the pattern then runs on every message.
///
/// The whole match starts with one of its prefix literals and ends with one
/// of its suffix literals; and when the pattern is a sequence of pieces,
/// each mandatory piece contributes the literals it starts with, so
/// `(不|没)(牵|拴)(绳|狗)` needs a word from each of the three groups.
fn required_clauses(hir: &Hir) -> (Vec<Vec<Vec<u8>>>, bool) {
    const MAX_CLAUSES: usize = 64;
    let prefix = literal_set(hir, ExtractKind::Prefix);
    let mut rest: Vec<Vec<Vec<u8>>> = literal_set(hir, ExtractKind::Suffix).into_iter().collect();
    pieces(hir, &mut rest);
    rest.sort();
    rest.dedup();
    rest.retain(|c| Some(c) != prefix.as_ref());
    let starts = prefix.is_some();
    let mut clauses: Vec<Vec<Vec<u8>>> = prefix.into_iter().chain(rest).collect();
    clauses.truncate(MAX_CLAUSES);
    (clauses, starts)
}

/// The prefix literal sets of every mandatory piece of a sequence.
fn pieces(hir: &Hir, out: &mut Vec<Vec<Vec<u8>>>) {
    match hir.kind() {
        HirKind::Capture(c) => pieces(&c.sub, out),
        HirKind::Concat(parts) => parts.iter().for_each(|p| pieces(p, out)),
        HirKind::Repetition(r) if r.min >= 1 => pieces(&r.sub, out),
        _ => out.extend(literal_set(hir, ExtractKind::Prefix)),
    }
}

/// The literals one of which every match of `hir` starts (or ends) with, if
/// there is a short, finite set of them.
fn literal_set(hir: &Hir, kind: ExtractKind) -> Option<Vec<Vec<u8>>> {
    const MAX_LITERALS: usize = 64;
    let seq = Extractor::new().kind(kind).extract(hir);
    let literals = seq.literals()?;
    if literals.is_empty()
        || literals.len() > MAX_LITERALS
        || literals.iter().any(|l| l.as_bytes().is_empty())
    {
        return None;
    }
    let mut set: Vec<Vec<u8>> = literals.iter().map(|l| l.as_bytes().to_vec()).collect();
    set.sort();
    set.dedup();
    Some(set)
}
