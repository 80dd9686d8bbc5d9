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
    pub standard_code: Option<Spanned<String>>,
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
    /// Objects and activities of the category: topic evidence, worth a fixed
    /// weight, that a shared problem word in `global.toml` completes.
    #[serde(default)]
    pub topics: Vec<Spanned<String>>,
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
    /// What is wrong, in any register and for every category (坏了, 违规, 长期, 整夜…).
    #[serde(default)]
    pub problem: CueSpec,
    #[serde(default)]
    pub model: ModelSpec,
}

/// `[model]`: how much the statistical model's vote weighs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Added to a category's score, times the model's probability for it.
    #[serde(default = "default_model_weight")]
    pub weight: Spanned<f64>,
    /// Taken from every category's score, times the model's probability of "no complaint".
    #[serde(default = "default_model_none_weight")]
    pub none_weight: Spanned<f64>,
}

impl Default for ModelSpec {
    fn default() -> Self {
        ModelSpec {
            weight: default_model_weight(),
            none_weight: default_model_none_weight(),
        }
    }
}

fn default_model_weight() -> Spanned<f64> {
    Spanned::new(0..0, 2.0)
}

fn default_model_none_weight() -> Spanned<f64> {
    Spanned::new(0..0, 1.0)
}

/// `rules/standard.toml`: the GB/T 30428.2 components and events, mapped onto categories.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardFile {
    #[serde(default)]
    pub item: Vec<StandardItem>,
}

/// One `[[item]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardItem {
    pub code: Spanned<String>,
    pub kind: Spanned<String>,
    pub name: Spanned<String>,
    /// A category id, or `none` (then the item is ignored).
    pub category: Spanned<String>,
    #[serde(default)]
    pub terms: Vec<Spanned<String>>,
    /// The terms are a problem by themselves (私搭乱建, 占道经营).
    #[serde(default)]
    pub alone: bool,
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
