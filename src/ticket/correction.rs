//! Corrections: what officers and residents taught the classifier, kept to grow the labelled sets.
//!
//! Each time a person overrules the classifier — an officer's `#改类`, a
//! resident's `#投诉` on a message it did not take for a complaint, an
//! officer's `#非投诉` — the store records the text and the label it should
//! have had, in the same transaction as the change. `gongdan rules
//! corrections` exports them as `labels<TAB>text`, the format of the eval
//! sets and of `rules/corpus/`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::UNCLASSIFIED_ID;

/// The eval format's label for "not a complaint".
pub const NOT_A_COMPLAINT: &str = "none";

/// Who overruled the classifier, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionKind {
    /// An officer's `#改类`: the ticket was in the wrong category.
    Recategorized,
    /// A resident's `#投诉` on a message the classifier let pass.
    Reported,
    /// An officer's `#非投诉`: the ticket was not a complaint at all.
    NotComplaint,
    /// Written by a newer version.
    #[serde(other)]
    Other,
}

/// One correction, as stored in the `corrections` tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub at: DateTime<Utc>,
    pub kind: CorrectionKind,
    #[serde(default)]
    pub ticket: Option<u64>,
    /// `platform:user_id` of the person who made it.
    pub actor: String,
    /// The message text the label belongs to.
    pub text: String,
    /// The category id it should have had, or [`NOT_A_COMPLAINT`].
    pub label: String,
    /// Display name of the label, for `#统计`.
    pub label_name: String,
    /// The category the ticket had before, if any.
    #[serde(default)]
    pub from: Option<String>,
}

impl Correction {
    /// Whether the label names a category the rules can be measured against
    /// (`待分类` cannot: nobody has said what it is yet).
    pub fn is_exportable(&self) -> bool {
        self.label != UNCLASSIFIED_ID && !self.text.trim().is_empty()
    }
}

/// `labels<TAB>text` lines, one per distinct text, oldest first; a text
/// corrected twice (`#投诉`, then `#改类`) keeps its latest label. Tabs and
/// line breaks in a text become spaces so each correction stays one line.
pub fn to_tsv(corrections: &[Correction]) -> String {
    let mut latest: Vec<(String, &str)> = Vec::new();
    for c in corrections.iter().filter(|c| c.is_exportable()) {
        let text: String = c
            .text
            .trim()
            .chars()
            .map(|ch| if ch.is_control() { ' ' } else { ch })
            .collect();
        latest.retain(|(t, _)| *t != text);
        latest.push((text, c.label.as_str()));
    }
    let mut out = String::new();
    for (text, label) in latest {
        out.push_str(label);
        out.push('\t');
        out.push_str(&text);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str, label: &str) -> Correction {
        Correction {
            at: Utc::now(),
            kind: CorrectionKind::Recategorized,
            ticket: None,
            actor: "generic:w".into(),
            text: text.into(),
            label: label.into(),
            label_name: label.into(),
            from: None,
        }
    }

    #[test]
    fn tsv_keeps_the_latest_label_per_text_and_one_line_each() {
        let got = to_tsv(&[
            c("楼道堆满杂物", "parking"),
            c("狗叫\t一整夜\n没人管", "noise"),
            c("楼道堆满杂物", "clutter"),
            c("群里发广告", NOT_A_COMPLAINT),
            c("说不清的事", UNCLASSIFIED_ID),
        ]);
        assert_eq!(
            got,
            "noise\t狗叫 一整夜 没人管\nclutter\t楼道堆满杂物\nnone\t群里发广告\n"
        );
    }
}
