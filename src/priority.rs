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

    /// The Chinese label used in replies.
    pub fn label_zh(self) -> &'static str {
        match self {
            Priority::Low => "低",
            Priority::Normal => "一般",
            Priority::High => "较急",
            Priority::Urgent => "紧急",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
