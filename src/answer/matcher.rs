//! Matching one message against the knowledge base: a question cue, then the best-scoring entry.
//!
//! Pure and deterministic: the same text and knowledge base always give the
//! same entry (ties go to the entry loaded first).

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::Regex;

use super::KnowledgeBase;
use crate::classify::{classify, normalize, Classification};
use crate::rules::RuleSet;

/// Words that make a message a question. Without one, nothing is answered:
/// "楼下大件垃圾堆了一周" is a report, not a question.
const QUESTION_CUES: &[&str] = &[
    "请问",
    "问下",
    "问一下",
    "想问",
    "咨询",
    "打听",
    "怎么",
    "怎样",
    "咋",
    "如何",
    "哪里",
    "哪儿",
    "在哪",
    "去哪",
    "哪个",
    "哪家",
    "哪些",
    "能不能",
    "能否",
    "可不可以",
    "可以吗",
    "行不行",
    "是否",
    "什么时候",
    "啥时候",
    "几点",
    "几号",
    "多久",
    "找谁",
    "找哪",
    "电话",
    "热线",
    "号码",
    "要不要",
    "需不需要",
    "需要什么",
    "要什么",
    "多少钱",
    "收费吗",
    "吗",
    "?",
];

/// "我反映的狗屎问题怎么样了": a resident asking after their own report.
static STATUS_QUESTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        "(我|咱)[^,。!?;]{0,12}(反映|投诉|举报|报修|上报|报的|提的|报过)[^。!;]{0,24}\
         (怎么样|咋样|进展|进度|处理了|处理没|处理得|有人管吗|有没有人管|解决了吗|解决没|\
         办了没|办好了|有结果|有回复|有消息|到哪一步)",
    )
    .expect("status-question regex compiles")
});

static CUES: LazyLock<AhoCorasick> =
    LazyLock::new(|| AhoCorasick::new(QUESTION_CUES).expect("question cues compile"));

/// What the knowledge base makes of a message that is not a complaint.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// Answer with `entries[i]`.
    Answer(usize),
    /// The resident asks after a ticket they reported.
    TicketStatus,
    /// A city-management question nothing answers: log it for the admins.
    Unanswered,
    /// Not a question, or not one about the city: say nothing.
    Nothing,
}

/// The whole decision for one message, as the service takes it.
#[derive(Debug, Clone)]
pub enum Decision {
    Complaint(Classification),
    Inquiry(Response),
}

/// Classify first (a complaint phrased as a question is still a complaint),
/// then ask the knowledge base.
pub fn decide(rules: &RuleSet, kb: &KnowledgeBase, text: &str) -> Decision {
    let c = classify(rules, text);
    if STATUS_QUESTION.is_match(&normalize(text)) {
        return Decision::Inquiry(Response::TicketStatus);
    }
    if c.category.is_some() {
        return Decision::Complaint(c);
    }
    Decision::Inquiry(kb.respond(text, &c))
}

impl KnowledgeBase {
    /// The response to `text`, which `classification` did not take for a complaint.
    pub fn respond(&self, text: &str, classification: &Classification) -> Response {
        let norm = normalize(text);
        if STATUS_QUESTION.is_match(&norm) {
            return Response::TicketStatus;
        }
        if !CUES.is_match(&norm) {
            return Response::Nothing;
        }
        let scores = self.scores(&norm);
        let best = scores
            .iter()
            .enumerate()
            .filter(|(i, s)| **s >= self.entries[*i].threshold)
            // `max_by` keeps the last of equals; reversed, the first entry wins ties.
            .rev()
            .max_by(|a, b| a.1.total_cmp(b.1));
        if let Some((i, _)) = best {
            return Response::Answer(i);
        }
        let topical = scores.iter().any(|s| *s > 0.0)
            || classification.candidates.iter().any(|c| c.score > 0.0);
        if topical {
            Response::Unanswered
        } else {
            Response::Nothing
        }
    }

    /// Each entry's score for a normalised message: every keyword and pattern counts once.
    fn scores(&self, norm: &str) -> Vec<f64> {
        let mut scores = vec![0.0; self.entries.len()];
        if let Some(ac) = &self.index.keywords {
            let mut seen = vec![false; self.index.keyword_entries.len()];
            for hit in ac.find_overlapping_iter(norm) {
                let k = hit.pattern().as_usize();
                if std::mem::replace(&mut seen[k], true) {
                    continue;
                }
                for &(entry, weight) in &self.index.keyword_entries[k] {
                    scores[entry] += weight;
                }
            }
        }
        for (entry, regex, weight) in &self.index.patterns {
            if regex.is_match(norm) {
                scores[*entry] += weight;
            }
        }
        scores
    }
}
