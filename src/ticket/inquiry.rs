//! 咨询 records: a question answered from the knowledge base, a ticket-status question, or one left unanswered.
//!
//! A question never becomes a ticket, but it still counts (解答问询 in the
//! statistics) and an unanswered one tells admins what to write next
//! (`gongdan rules unanswered`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the service decided about a question; the store records it and replies.
#[derive(Debug, Clone, PartialEq)]
pub enum Inquiry {
    /// Answer with this knowledge-base entry's text.
    Answered { entry: String, text: String },
    /// Tell the resident where a ticket stands: `number` if they gave one,
    /// else their own open ticket in this group, preferring `categories`
    /// (best first) when they named what it was about.
    TicketStatus {
        number: Option<u64>,
        categories: Vec<String>,
        /// What the classifier made of it. "我投诉的烧烤摊又开始了，有没有人管"
        /// asks after a ticket, but when the asker has none open here it is
        /// a complaint, and the classifier's word stands: a ticket opens.
        otherwise: Option<Box<super::model::ComplaintInput>>,
    },
    /// A city question no entry answers: log it, say nothing.
    Unanswered,
}

/// How one question ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InquiryOutcome {
    Answered,
    TicketStatus,
    Unanswered,
}

impl InquiryOutcome {
    /// Whether the resident got an answer (解答问询 counts these).
    pub fn is_answered(self) -> bool {
        !matches!(self, InquiryOutcome::Unanswered)
    }
}

/// One question as the `inquiries` tree keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InquiryRecord {
    pub at: DateTime<Utc>,
    pub platform: String,
    pub group_id: String,
    pub sender_id: String,
    pub text: String,
    pub outcome: InquiryOutcome,
    /// The knowledge-base entry that answered it.
    #[serde(default)]
    pub entry: Option<String>,
    /// The ticket a status question was answered with.
    #[serde(default)]
    pub ticket: Option<u64>,
}

/// `gongdan rules unanswered`: `time<TAB>platform<TAB>group<TAB>text`, China
/// time, phones masked (admins share this file), one line per question.
pub fn to_tsv(questions: &[InquiryRecord]) -> String {
    let mut out = String::new();
    for q in questions {
        let text: String = super::reply::mask_phones(q.text.trim())
            .chars()
            .map(|ch| if ch.is_control() { ' ' } else { ch })
            .collect();
        let at = q.at.with_timezone(&super::store::china_tz());
        out.push_str(&format!(
            "{}\t{}\t{}\t{text}\n",
            at.format("%Y-%m-%d %H:%M"),
            q.platform,
            q.group_id
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_is_china_time_masked_and_one_line_per_question() {
        let q = InquiryRecord {
            at: "2026-03-01T16:30:00Z".parse().unwrap(),
            platform: "onebot".into(),
            group_id: "g1".into(),
            sender_id: "u1".into(),
            text: "请问换锁\t找谁？我电话13812345678\n谢谢".into(),
            outcome: InquiryOutcome::Unanswered,
            entry: None,
            ticket: None,
        };
        let tsv = to_tsv(&[q]);
        assert_eq!(tsv.lines().count(), 1);
        assert!(tsv.starts_with("2026-03-02 00:30\tonebot\tg1\t"), "{tsv}");
        assert!(!tsv.contains("13812345678"), "{tsv}");
        assert_eq!(tsv.trim_end().split('\t').count(), 4, "{tsv}");
    }
}
