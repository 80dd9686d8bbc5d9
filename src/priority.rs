//! Ticket priority, shared by rule files, classification results and tickets.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How fast a matter needs attention. Ordered: `Low < Normal < High < Urgent`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// The Chinese label used in replies and exports.
    pub fn label(self) -> &'static str {
        match self {
            Priority::Low => "低",
            Priority::Normal => "普通",
            Priority::High => "高",
            Priority::Urgent => "紧急",
        }
    }

    /// English id or Chinese label.
    pub fn parse(word: &str) -> Option<Priority> {
        match word.trim().to_lowercase().as_str() {
            "low" | "低" => Some(Priority::Low),
            "normal" | "普通" | "一般" => Some(Priority::Normal),
            "high" | "高" | "较急" => Some(Priority::High),
            "urgent" | "紧急" => Some(Priority::Urgent),
            _ => None,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
