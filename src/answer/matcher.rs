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
    "哪",
    "什么",
    "啥",
    "谁",
    "几点",
    "几号",
    "几月",
    "几个",
    "多久",
    "多少",
    "能不能",
    "可不可以",
    "可以吗",
    "行不行",
    "是否",
    "是不是",
    "要不要",
    "需不需要",
    "有没有",
    "还是",
    "吗",
    "么",
    "?",
];

/// Words that ask how far something got: "怎么样了", "处理了吗", "有结果没".
const PROGRESS: &str =
    "(怎么样|咋样|如何了|进展|进度|处理了|处理没|处理完|处理得|处理到|解决了|解决没|\
                        办了|办好|办完|有结果|有回复|有消息|有下文|到哪|啥情况|什么情况|有人管|\
                        有没有人管|管了没|修了没|修好|清了没|清走了没|结案|还没弄|弄了没|受理了)";

/// "我反映的狗屎问题怎么样了": a resident asking after their own report.
static MINE_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        "(我|咱|俺)[^,。!?;]{{0,12}}(反映|投诉|举报|报修|上报|报的|提的|报过|说的|发的)[^。!;]{{0,24}}{PROGRESS}"
    ))
    .expect("status-question regex compiles")
});

/// "3号工单处理了吗", "工单12怎么样了", "#12 有进展吗": the ticket by number.
static NUMBERED_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        "(?:(?:工单|单号|编号)\\s*(?:号|编号)?\\s*#?\\s*(\\d{{1,9}})|#\\s*(\\d{{1,9}})|(\\d{{1,9}})\\s*号?\\s*(?:工单|单子))\
         [^。!;]{{0,16}}{PROGRESS}"
    ))
    .expect("numbered status regex compiles")
});

static CUES: LazyLock<AhoCorasick> =
    LazyLock::new(|| AhoCorasick::new(QUESTION_CUES).expect("question cues compile"));

/// What the knowledge base makes of a message that is not a complaint.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// Answer with `entries[i]`.
    Answer(usize),
    /// The resident asks after a ticket: by number, or their own open one.
    TicketStatus(StatusQuery),
    /// A city-management question nothing answers: log it for the admins.
    Unanswered,
    /// Not a question, or not one about the city: say nothing.
    Nothing,
}

/// Which ticket a status question is about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusQuery {
    /// The number the resident gave (`3号工单` → 3).
    pub number: Option<u64>,
    /// Categories the question's words point to, best first: "我反映的狗屎
    /// 问题" picks the asker's dog ticket over their parking one.
    pub categories: Vec<String>,
}

/// A status question's [`StatusQuery`], or `None` when `norm` asks after no ticket.
fn status_query(norm: &str, c: &Classification) -> Option<StatusQuery> {
    let categories = || {
        c.candidates
            .iter()
            .filter(|k| k.score > 0.0)
            .map(|k| k.category.to_string())
            .collect()
    };
    if let Some(caps) = NUMBERED_STATUS.captures(norm) {
        let number = (1..=3)
            .find_map(|i| caps.get(i))
            .and_then(|m| m.as_str().parse().ok());
        return Some(StatusQuery {
            number,
            categories: categories(),
        });
    }
    MINE_STATUS.is_match(norm).then(|| StatusQuery {
        number: None,
        categories: categories(),
    })
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
    // Before the complaint test: "我反映的狗屎问题怎么样了" scores as a dog
    // complaint, but it asks after the ticket that complaint already opened.
    if let Some(q) = status_query(&normalize(text), &c) {
        return Decision::Inquiry(Response::TicketStatus(q));
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
        if let Some(q) = status_query(&norm, classification) {
            return Response::TicketStatus(q);
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
