//! The on-disk shape of rule files, exactly as admins write them (serde structs, no logic).
//!
//! Values that can be wrong for reasons TOML cannot see (a regex, a weight, an
//! example) are `Spanned`, so the loader can name the line they stand on.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::priority::Priority;

/// `rules/categories/<id>.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryFile {
    pub id: Spanned<String>,
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub standard_code: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default)]
    pub sla_hours: Option<Spanned<i64>>,
    pub threshold: Spanned<f64>,
    #[serde(default)]
    pub reply: Option<Spanned<String>>,
    #[serde(default)]
    pub examples: Vec<Spanned<String>>,
    #[serde(default)]
    pub counter_examples: Vec<Spanned<String>>,
    #[serde(default)]
    pub keywords: BTreeMap<Spanned<String>, Spanned<f64>>,
    #[serde(default)]
    pub patterns: Vec<PatternSpec>,
    #[serde(default)]
    pub exclude: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

/// One `[[patterns]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternSpec {
    pub regex: Spanned<String>,
    pub weight: Spanned<f64>,
    #[serde(default)]
    pub note: Option<String>,
    /// A match raises the ticket to at least this priority (`燃气泄漏` → urgent).
    #[serde(default)]
    pub priority: Option<Priority>,
}

/// `rules/global.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalFile {
    #[serde(default)]
    pub locations: Vec<Spanned<String>>,
    #[serde(default)]
    pub counter_examples: Vec<Spanned<String>>,
    #[serde(default)]
    pub complaint: CueSpec,
    #[serde(default)]
    pub chatter: CueSpec,
}

/// `[complaint]` / `[chatter]`: words and patterns that push a message one way.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CueSpec {
    #[serde(default)]
    pub keywords: BTreeMap<Spanned<String>, Spanned<f64>>,
    #[serde(default)]
    pub patterns: Vec<PatternSpec>,
}
