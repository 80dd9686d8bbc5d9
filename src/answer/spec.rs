//! The on-disk shape of `rules/answers/*.toml`, exactly as admins write it (serde structs, no logic).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// One knowledge-base file: any number of `[[entry]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerFile {
    #[serde(default)]
    pub entry: Vec<EntrySpec>,
}

/// One question residents ask and the answer the hotline would give.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntrySpec {
    pub id: Spanned<String>,
    /// The question in one line, for admins and `gongdan rules unanswered`.
    pub question: Spanned<String>,
    pub answer: Spanned<String>,
    /// A category this question belongs to (for reports); must exist.
    #[serde(default)]
    pub category: Option<Spanned<String>>,
    #[serde(default)]
    pub threshold: Option<Spanned<f64>>,
    #[serde(default)]
    pub keywords: BTreeMap<Spanned<String>, Spanned<f64>>,
    #[serde(default)]
    pub patterns: Vec<PatternSpec>,
    #[serde(default)]
    pub examples: Vec<Spanned<String>>,
    #[serde(default)]
    pub counter_examples: Vec<Spanned<String>>,
}

/// One `[[entry.patterns]]` regex and its weight.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternSpec {
    pub regex: Spanned<String>,
    pub weight: Spanned<f64>,
}
