//! 问询答复: the knowledge base in `rules/answers/*.toml` and the decision "answer, ticket or log".
//!
//! A message the classifier does not take for a complaint may still be a
//! question a hotline answers directly (直接答复): how to get rid of an old
//! sofa, when heating starts. The knowledge base is loaded and checked with
//! the rule set (`gongdan rules check`), is immutable once loaded, and its
//! matching is pure like the classifier's.

mod contacts;
pub mod eval;
mod load;
mod matcher;
mod spec;

use std::path::PathBuf;

use aho_corasick::AhoCorasick;
use regex::Regex;

pub use contacts::{Contacts, CONTACT_FALLBACKS};
pub use matcher::{decide, Decision, Response, StatusQuery};

use crate::rules::Example;

/// The label a labelled-questions file and the eval use for a ticket-status question.
pub const STATUS_LABEL: &str = "ticket_status";

/// A loaded, checked knowledge base. Immutable and `Sync`: share it behind an `Arc`.
#[derive(Debug, Default)]
pub struct KnowledgeBase {
    pub(crate) entries: Vec<Entry>,
    pub(crate) index: Index,
}

/// One question and its answer, as loaded from `rules/answers/<file>.toml`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    pub question: String,
    /// As written: `{station}`-style placeholders are filled when it is sent
    /// ([`Contacts::fill`]), so contacts can change without a reload.
    pub answer: String,
    pub category: Option<String>,
    pub threshold: f64,
    pub examples: Vec<Example>,
    pub counter_examples: Vec<Example>,
    pub file: PathBuf,
    /// Line of `id = ...` in `file`.
    pub line: usize,
}

/// The compiled signals of every entry, for one pass over a message.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Every keyword, once; `keyword_entries[k]` says which entries it counts for.
    pub keywords: Option<AhoCorasick>,
    pub keyword_entries: Vec<Vec<(usize, f64)>>,
    /// `(entry, regex, weight)`.
    pub patterns: Vec<(usize, Regex, f64)>,
}

impl KnowledgeBase {
    /// Load `<rules_dir>/answers/*.toml` (none is an empty knowledge base) and
    /// run every example against `rules`: all or nothing, like the rule set.
    pub fn load(rules: &crate::rules::RuleSet) -> Result<KnowledgeBase, crate::rules::RuleErrors> {
        load::load(rules)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }
}
