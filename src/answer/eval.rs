//! Measuring the knowledge base against a labelled questions TSV (`label<TAB>text`).
//!
//! A label is an entry id or `ticket_status` (a question that must get that
//! answer), `complaint` (must open a ticket, even phrased as a question) or
//! `none` (chatter: must get no answer). The bars: questions answered with the
//! right entry, and complaints answered instead of ticketed.

use std::fmt;

use super::matcher::{decide, Decision, Response};
use super::{KnowledgeBase, STATUS_LABEL};
use crate::rules::RuleSet;

/// The label of a message that must open a ticket.
pub const COMPLAINT_LABEL: &str = "complaint";
/// The label of a message that must get no answer at all.
pub const NONE_LABEL: &str = "none";

/// What a labelled line expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// This entry id, or [`STATUS_LABEL`].
    Answer(String),
    Complaint,
    Nothing,
}

/// One labelled line.
#[derive(Debug, Clone)]
pub struct QuestionSample {
    pub line: usize,
    pub expect: Expect,
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
            errors.push(format!("{}: expected `label<TAB>text`", i + 1));
            continue;
        };
        let expect = match label.trim() {
            NONE_LABEL => Expect::Nothing,
            COMPLAINT_LABEL => Expect::Complaint,
            l if l == STATUS_LABEL || kb.entry(l).is_some() => Expect::Answer(l.to_string()),
            l => {
                errors.push(format!("{}: unknown entry {l:?}", i + 1));
                continue;
            }
        };
        samples.push(QuestionSample {
            line: i + 1,
            expect,
            text: msg.to_string(),
        });
    }
    if errors.is_empty() {
        Ok(samples)
    } else {
        Err(errors)
    }
}

/// The bar figures and every miss.
#[derive(Debug, Default, Clone)]
pub struct AnswerReport {
    pub questions: usize,
    pub answered_right: usize,
    pub complaints: usize,
    /// Complaints that got an answer (an entry's or a ticket status) instead of a ticket.
    pub complaints_answered: usize,
    pub complaints_ticketed: usize,
    pub none: usize,
    /// `none` lines that got an answer.
    pub none_answered: usize,
    /// `(line, expected, got, text)`.
    pub misses: Vec<(usize, String, String, String)>,
}

impl AnswerReport {
    pub fn question_accuracy(&self) -> f64 {
        ratio(self.answered_right, self.questions)
    }

    pub fn complaints_answered_rate(&self) -> f64 {
        ratio(self.complaints_answered, self.complaints)
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
pub fn outcome(rules: &RuleSet, kb: &KnowledgeBase, text: &str) -> String {
    match decide(rules, kb, text) {
        Decision::Complaint(c) => format!("ticket:{}", c.category.unwrap_or_default()),
        Decision::Inquiry(Response::Answer(i)) => kb.entries[i].id.clone(),
        Decision::Inquiry(Response::TicketStatus(_)) => STATUS_LABEL.to_string(),
        Decision::Inquiry(Response::Unanswered) => "unanswered".to_string(),
        Decision::Inquiry(Response::Nothing) => NONE_LABEL.to_string(),
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
        let ticketed = got.starts_with("ticket:");
        let answered = !(ticketed || got == "unanswered" || got == NONE_LABEL);
        let (right, expected) = match &s.expect {
            Expect::Answer(l) => {
                r.questions += 1;
                let ok = *l == got;
                r.answered_right += usize::from(ok);
                (ok, l.as_str())
            }
            Expect::Complaint => {
                r.complaints += 1;
                r.complaints_answered += usize::from(answered);
                r.complaints_ticketed += usize::from(ticketed);
                (ticketed, COMPLAINT_LABEL)
            }
            Expect::Nothing => {
                r.none += 1;
                r.none_answered += usize::from(answered);
                (!answered, NONE_LABEL)
            }
        };
        if !right {
            r.misses
                .push((s.line, expected.to_string(), got, s.text.clone()));
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
            "complaints answered instead of ticketed: {}/{} ({:.1}%); ticketed {}/{}",
            self.complaints_answered,
            self.complaints,
            100.0 * self.complaints_answered_rate(),
            self.complaints_ticketed,
            self.complaints
        )?;
        writeln!(
            f,
            "chatter (none) answered: {}/{} ({:.1}%)",
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
