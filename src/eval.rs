//! Measuring the classifier against a labelled TSV (`labels<TAB>text`).

use std::collections::BTreeMap;
use std::fmt;

use crate::classify::classify;
use crate::rules::RuleSet;

/// One labelled message.
#[derive(Debug, Clone)]
pub struct Sample {
    pub line: usize,
    /// Acceptable category ids; empty means "not a complaint".
    pub labels: Vec<String>,
    pub text: String,
}

/// Parse `labels<TAB>text` lines; `#` lines and blank lines are skipped.
/// Errors name the line: `12: ...`.
pub fn parse_tsv(text: &str, rules: &RuleSet) -> Result<Vec<Sample>, Vec<String>> {
    let mut samples = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_start_matches('\u{feff}');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((labels, msg)) = line.split_once('\t') else {
            errors.push(format!("{}: expected `labels<TAB>text`", i + 1));
            continue;
        };
        let labels: Vec<String> = if labels.trim() == "none" {
            Vec::new()
        } else {
            labels.split('|').map(|l| l.trim().to_string()).collect()
        };
        for l in &labels {
            if rules.category(l).is_none() {
                errors.push(format!("{}: unknown category {l:?}", i + 1));
            }
        }
        samples.push(Sample {
            line: i + 1,
            labels,
            text: msg.to_string(),
        });
    }
    if errors.is_empty() {
        Ok(samples)
    } else {
        Err(errors)
    }
}

/// Per-category tallies.
#[derive(Debug, Default, Clone, Copy)]
pub struct CategoryCounts {
    /// Messages labelled with this category (first label).
    pub gold: usize,
    /// Messages the classifier put here.
    pub predicted: usize,
    /// Messages labelled here and classified to an acceptable label.
    pub correct: usize,
}

#[derive(Debug, Clone)]
pub struct Miss {
    pub line: usize,
    pub expected: String,
    pub got: String,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub total: usize,
    pub true_positive: usize,
    pub false_positive: usize,
    pub false_negative: usize,
    /// Complaints whose predicted category is one of their labels.
    pub category_correct: usize,
    pub complaints: usize,
    pub per_category: BTreeMap<String, CategoryCounts>,
    pub misses: Vec<Miss>,
}

impl Report {
    pub fn precision(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_positive)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_negative)
    }
    /// Share of labelled complaints put in an acceptable category (a missed
    /// complaint counts as wrong).
    pub fn category_accuracy(&self) -> f64 {
        ratio(self.category_correct, self.complaints)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

pub fn evaluate(rules: &RuleSet, samples: &[Sample]) -> Report {
    let mut r = Report {
        total: samples.len(),
        ..Report::default()
    };
    for s in samples {
        let got = classify(rules, &s.text).category;
        let is_complaint = !s.labels.is_empty();
        if let Some(first) = s.labels.first() {
            r.per_category.entry(first.clone()).or_default().gold += 1;
        }
        if let Some(g) = &got {
            r.per_category.entry(g.clone()).or_default().predicted += 1;
        }
        let right = match (&got, is_complaint) {
            (Some(g), true) => {
                r.true_positive += 1;
                s.labels.contains(g)
            }
            (Some(_), false) => {
                r.false_positive += 1;
                false
            }
            (None, true) => {
                r.false_negative += 1;
                false
            }
            (None, false) => true,
        };
        if is_complaint {
            r.complaints += 1;
            if right {
                r.category_correct += 1;
                r.per_category
                    .entry(s.labels[0].clone())
                    .or_default()
                    .correct += 1;
            }
        }
        if !right {
            r.misses.push(Miss {
                line: s.line,
                expected: if is_complaint {
                    s.labels.join("|")
                } else {
                    "none".to_string()
                },
                got: got.unwrap_or_else(|| "none".to_string()),
                text: s.text.clone(),
            });
        }
    }
    r
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "messages: {} ({} complaints, {} chatter)",
            self.total,
            self.complaints,
            self.total - self.complaints
        )?;
        writeln!(
            f,
            "detection: precision {:.3} ({}/{})  recall {:.3} ({}/{})",
            self.precision(),
            self.true_positive,
            self.true_positive + self.false_positive,
            self.recall(),
            self.true_positive,
            self.true_positive + self.false_negative
        )?;
        writeln!(
            f,
            "category accuracy on complaints: {:.3} ({}/{})",
            self.category_accuracy(),
            self.category_correct,
            self.complaints
        )?;
        writeln!(
            f,
            "\n{:<22} {:>5} {:>9} {:>7}",
            "category", "gold", "predicted", "correct"
        )?;
        for (id, c) in &self.per_category {
            writeln!(
                f,
                "{:<22} {:>5} {:>9} {:>7}",
                id, c.gold, c.predicted, c.correct
            )?;
        }
        if self.misses.is_empty() {
            writeln!(f, "\nno misses")?;
        } else {
            writeln!(
                f,
                "\nmisses ({}): line  expected -> got  text",
                self.misses.len()
            )?;
            for m in &self.misses {
                writeln!(
                    f,
                    "  {:>4}  {} -> {}  {}",
                    m.line, m.expected, m.got, m.text
                )?;
            }
        }
        Ok(())
    }
}
