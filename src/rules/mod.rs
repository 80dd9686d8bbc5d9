//! Rule sets: what admins write in `rules/`, loaded, validated and compiled for the classifier.
//!
//! Loading is all-or-nothing: [`RuleSet::load`] returns a complete, checked rule
//! set (every example classifies as its file says) or the full list of
//! `file:line` errors. A running service keeps its old rule set when a new one
//! fails to load.

mod compile;
mod corpus;
mod error;
mod load;
mod model;
mod spec;
mod standard;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use jieba_rs::Jieba;
use regex::Regex;

pub(crate) use compile::compile_regex;
pub use error::{line_of, RuleError, RuleErrors};
pub(crate) use load::read_toml;
pub use model::held_out;
pub(crate) use model::{Model, Vote};

use crate::priority::Priority;

/// A validated, compiled rules directory. Immutable and `Sync`: share it behind an `Arc`.
pub struct RuleSet {
    pub(crate) categories: Vec<Category>,
    /// `categories[i].id`, shared: every explanation names categories.
    pub(crate) category_ids: Vec<Arc<str>>,
    pub(crate) matcher: Matcher,
    pub(crate) locations: Option<Regex>,
    pub(crate) jieba: Jieba,
    pub(crate) global_counter_examples: Vec<Example>,
    pub(crate) global_file: PathBuf,
    /// Trained at load from examples, counter-examples and `corpus/*.tsv`.
    pub(crate) model: Model,
    pub(crate) model_weight: f64,
    pub(crate) model_none_weight: f64,
    dir: PathBuf,
}

/// Which corpus messages the model learns from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Training {
    /// Every one: what the service runs with.
    All,
    /// All but the held-out fifth ([`held_out`]), to measure the model on messages it never saw.
    WithoutHeldOut,
}

/// One category as loaded from `rules/categories/<id>.toml`.
#[derive(Debug, Clone)]
pub struct Category {
    pub id: String,
    /// Line of `id = ...` in `file`.
    pub id_line: usize,
    pub name: String,
    pub description: String,
    /// GB/T 30428.2 code: must be one that `standard.toml` maps to this category.
    pub standard_code: Option<String>,
    /// Line of `standard_code = ...` in `file` (0 when there is none).
    pub standard_code_line: usize,
    pub department: String,
    pub priority: Priority,
    pub sla_hours: u32,
    pub threshold: f64,
    /// Reply template for a newly opened ticket, if the file overrides the default.
    pub reply: Option<String>,
    pub examples: Vec<Example>,
    pub counter_examples: Vec<Example>,
    pub file: PathBuf,
}

/// A message written in a rule file together with the line it stands on.
#[derive(Debug, Clone)]
pub struct Example {
    pub line: usize,
    pub text: String,
}

/// Who a signal speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Category(usize),
    Complaint,
    /// What is wrong: counts for any category that has topic evidence.
    Problem,
    Chatter,
}

/// What a signal does to its target's score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Effect {
    Add(f64),
    Subtract(f64),
    Veto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalKind {
    Keyword,
    /// A `topics` word or a `standard.toml` term.
    Topic,
    Pattern,
    Exclude,
}

/// One weighted word or pattern from a rule file.
#[derive(Debug, Clone)]
pub(crate) struct Signal {
    pub target: Target,
    pub kind: SignalKind,
    pub effect: Effect,
    /// The word, or the pattern's note (its regex when it has none).
    pub label: Arc<str>,
    /// A pattern may raise the priority of what it matches.
    pub priority: Option<Priority>,
}

/// All signals of a rule set, indexed for one pass over a message.
pub(crate) struct Matcher {
    pub signals: Vec<Signal>,
    /// Words of two or more characters, matched anywhere (jieba may split them).
    pub phrases: AhoCorasick,
    pub phrase_signals: Vec<Vec<usize>>,
    /// One-character words, matched only as whole jieba tokens.
    pub words: HashMap<String, Vec<usize>>,
    /// Every pattern branch (`A|B` is two), with the signal it raises.
    /// Compiled with regex-automata directly so the classifier can run one
    /// anchored at each place its start literal occurs.
    pub patterns: Vec<regex_automata::meta::Regex>,
    pub pattern_signals: Vec<usize>,
    /// Gate literals. A pattern has up to 64 clauses, each a set of
    /// literals one of which every match contains; `gate_clauses[g]` lists
    /// the (pattern, clause bit) pairs literal `g` satisfies.
    pub gates: AhoCorasick,
    pub gate_clauses: Vec<Vec<(usize, u64)>>,
    /// Per pattern: the clause bits that must all be seen before it runs
    /// (0: no gate, it runs on every message).
    pub clauses_needed: Vec<u64>,
    /// The patterns whose `clauses_needed` is 0, ascending.
    pub ungated: Vec<usize>,
    /// Per pattern: its first clause holds the literals every match starts
    /// with, so the search can begin at the first of them.
    pub starts_gated: Vec<bool>,
}

impl RuleSet {
    /// Load, validate and compile a rules directory; run every example.
    pub fn load(dir: &Path) -> Result<RuleSet, RuleErrors> {
        load::load(dir, Training::All)
    }

    /// [`RuleSet::load`], choosing which corpus messages the model learns from.
    pub fn load_with(dir: &Path, training: Training) -> Result<RuleSet, RuleErrors> {
        load::load(dir, training)
    }

    /// The same rules with the model silenced: it names no candidate and its
    /// vote weighs nothing. For measuring what the model adds (`gongdan eval
    /// --no-model`); the examples were checked with the model, and may not
    /// all hold without it.
    pub fn without_model(mut self) -> RuleSet {
        self.model = Model::train(self.categories.len() + 1, &[]);
        self.model_weight = 0.0;
        self.model_none_weight = 0.0;
        self
    }

    /// How many labelled messages the model learnt from.
    pub fn model_size(&self) -> usize {
        self.model.docs()
    }

    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// Chatter from `global.toml` that must not classify as any complaint.
    pub fn global_counter_examples(&self) -> &[Example] {
        &self.global_counter_examples
    }

    /// The directory this rule set was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("dir", &self.dir)
            .field("categories", &self.categories.len())
            .field("signals", &self.matcher.signals.len())
            .finish()
    }
}
