//! Measuring the knowledge base against a labelled questions TSV (`entry_id<TAB>text`).
//!
//! `none` marks a message that must not be answered (a complaint, even one
//! phrased as a question, or chatter); `ticket_status` a question after one's
//! own ticket. The two bars: questions answered with the right entry, and
//! `none` lines answered instead of ticketed or ignored.

use std::fmt;

use super::matcher::{decide, Decision, Response};
use super::{KnowledgeBase, STATUS_LABEL};
use crate::rules::RuleSet;

/// One labelled line.
#[derive(Debug, Clone)]
pub struct QuestionSample {
    pub line: usize,
    /// Entry id, [`STATUS_LABEL`], or `None` for "must not be answered".
    pub label: Option<String>,
    pub text: String,
}

/// Parse `label<TAB>text` lines; `#` and blank lines are skipped. Errors name the line.
pub fn parse_questions(text: &str, kb: &KnowledgeBase) -> Result<Vec<QuestionSample>, Vec<String>> {
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_start_matches('\u{feff}');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((label, msg)) = line.split_once('\t') else {
            errors.push(format!("{}: expected `entry_id<TAB>text`", i + 1));
            continue;
        };
        let label = label.trim();
        let label = match label {
            "none" => None,
            l if l == STATUS_LABEL || kb.entry(l).is_some() => Some(l.to_string()),
            l => {
                errors.push(format!("{}: unknown entry {l:?}", i + 1));
                continue;
            }
        };
        samples.push(QuestionSample {
            line: i + 1,
            label,
            text: msg.to_string(),
        });
    }
    if errors.is_empty() {
        Ok(samples)
    } else {
        Err(errors)
    }
}

/// The two bar figures and every miss.
#[derive(Debug, Default, Clone)]
pub struct AnswerReport {
    pub questions: usize,
    pub answered_right: usize,
    pub none: usize,
    /// `none` lines that got an answer (an entry's or a ticket status).
    pub none_answered: usize,
    /// `(line, expected, got, text)`.
    pub misses: Vec<(usize, String, String, String)>,
}

impl AnswerReport {
    pub fn question_accuracy(&self) -> f64 {
        ratio(self.answered_right, self.questions)
    }

    pub fn none_answered_rate(&self) -> f64 {
        ratio(self.none_answered, self.none)
    }
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

/// What the service would do with `text`, as a label.
fn outcome(rules: &RuleSet, kb: &KnowledgeBase, text: &str) -> String {
    match decide(rules, kb, text) {
        Decision::Complaint(c) => format!("ticket:{}", c.category.unwrap_or_default()),
        Decision::Inquiry(Response::Answer(i)) => kb.entries[i].id.clone(),
        Decision::Inquiry(Response::TicketStatus) => STATUS_LABEL.to_string(),
        Decision::Inquiry(Response::Unanswered) => "unanswered".to_string(),
        Decision::Inquiry(Response::Nothing) => "none".to_string(),
    }
}

pub fn evaluate_answers(
    rules: &RuleSet,
    kb: &KnowledgeBase,
    samples: &[QuestionSample],
) -> AnswerReport {
    let mut r = AnswerReport::default();
    for s in samples {
        let got = outcome(rules, kb, &s.text);
        let answered = !(got.starts_with("ticket:") || got == "unanswered" || got == "none");
        let right = match &s.label {
            Some(l) => {
                r.questions += 1;
                let ok = *l == got;
                r.answered_right += usize::from(ok);
                ok
            }
            None => {
                r.none += 1;
                r.none_answered += usize::from(answered);
                !answered
            }
        };
        if !right {
            let expected = s.label.clone().unwrap_or_else(|| "none".into());
            r.misses.push((s.line, expected, got, s.text.clone()));
        }
    }
    r
}

impl fmt::Display for AnswerReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "questions answered with the right entry: {}/{} ({:.1}%)",
            self.answered_right,
            self.questions,
            100.0 * self.question_accuracy()
        )?;
        writeln!(
            f,
            "none lines (complaints, chatter) answered instead: {}/{} ({:.1}%)",
            self.none_answered,
            self.none,
            100.0 * self.none_answered_rate()
        )?;
        for (line, expected, got, text) in &self.misses {
            writeln!(f, "  line {line}: expected {expected}, got {got}: {text}")?;
        }
        Ok(())
    }
}
