//! Classification: from one chat message to a category, a location, a priority and the reasons.
//!
//! Pure computation over a loaded [`RuleSet`]: no IO, no locks, safe to call
//! from any number of threads at once.

mod gate;
pub mod normalize;

use std::sync::Arc;

use serde::Serialize;

use crate::priority::Priority;
use crate::rules::{Effect, RuleSet, SignalKind, Target};

use gate::Gate;
pub use normalize::normalize;

/// Complaint cues can lift a category over its threshold, but only so far:
/// "太…了，没人管，投诉" alone is not a category.
const MAX_COMPLAINT_BONUS: f64 = 3.0;
/// The model alone makes a category a candidate when it is at least this sure.
const MODEL_NAMES: f64 = 0.5;
/// A category's own evidence counts up to this many thresholds: past it, more
/// keywords and patterns for the same thing add nothing, so a strong chatter
/// cue ("问题已修复，感谢") still outweighs a message full of category words.
const MAX_TOPIC: f64 = 2.0;
/// Chatter cues worth this much (a procedure question, "fixed now", a notice)
/// are a rule's word against a complaint: like an exclude, they silence the
/// model's vote for any category (its doubt still counts).
const CHATTER_SILENCES_MODEL: f64 = -2.0;
/// Model contributions smaller than this are left out of the explanation.
const MIN_SHOWN: f64 = 0.05;

/// The verdict on one message.
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    pub text: String,
    /// Category id, or `None` when the message is not a complaint.
    pub category: Option<String>,
    /// 0..1: how sure the classifier is of `category` (of "no complaint" when `None`).
    pub confidence: f64,
    /// Final score of the winning category (of the best candidate when `None`).
    pub score: f64,
    pub location: Option<String>,
    pub priority: Priority,
    /// Every category that scored, best first (the winner included).
    pub candidates: Vec<Candidate>,
    /// What contributed, and how much.
    pub matches: Vec<Contribution>,
    /// Jieba's words for the normalised message, punctuation dropped.
    pub tokens: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub category: Arc<str>,
    pub score: f64,
    pub threshold: f64,
}

/// One word or pattern that moved a score.
#[derive(Debug, Clone, Serialize)]
pub struct Contribution {
    /// `keyword`, `topic`, `pattern`, `exclude`, `veto`, `complaint_cue`,
    /// `problem`, `chatter_cue` or `model` (its term: the probability and the
    /// features that weighed most).
    pub kind: &'static str,
    pub term: Arc<str>,
    /// Signed effect on the score (0 for a veto).
    pub weight: f64,
    /// The category it counted for; `None` for global cues.
    pub category: Option<Arc<str>>,
}

/// Per-category running totals.
#[derive(Clone, Copy, Default)]
struct Tally {
    score: f64,
    positive: bool,
    vetoed: bool,
    /// An exclude fired: the model may not vote for this category.
    excluded: bool,
    priority: Option<Priority>,
}

/// Classify one message. Never fails: the worst answer is "not a complaint".
pub fn classify(rules: &RuleSet, text: &str) -> Classification {
    let norm = normalize(text);
    let m = &rules.matcher;
    let tokens = words(&rules.jieba, &norm);

    // Which signals fire: each at most once, however often its word appears.
    let mut fired: Vec<usize> = Vec::with_capacity(32);
    for hit in m.phrases.find_overlapping_iter(&norm) {
        fired.extend_from_slice(&m.phrase_signals[hit.pattern().as_usize()]);
    }
    for tok in &tokens {
        if let Some(ids) = m.words.get(*tok) {
            fired.extend_from_slice(ids);
        }
    }
    let gate = Gate::new(m, &norm);
    // Category patterns first. Cue patterns only move the score of a
    // category that already scored, so they run only when one did: most
    // chatter never pays for them.
    let is_cue = |p: usize| !matches!(m.signals[m.pattern_signals[p]].target, Target::Category(_));
    let mut cues = Vec::new();
    for &p in gate.admitted() {
        // Branches of one pattern sit side by side: once one matched, the
        // others need not run.
        if fired.last() == Some(&m.pattern_signals[p]) {
            continue;
        }
        if is_cue(p) {
            cues.push(p);
        } else if gate.is_match(p) {
            fired.push(m.pattern_signals[p]);
        }
    }
    let vote = rules.model.vote(&tokens, &norm);
    let none = rules.categories.len();
    // A model weighed at 0 is off: it names no candidate either.
    let model_names = |i: usize| rules.model_weight > 0.0 && vote.posterior[i] >= MODEL_NAMES;
    let any_category = (0..none).any(model_names)
        || fired.iter().any(|&id| {
            let s = &m.signals[id];
            matches!((s.target, s.effect), (Target::Category(_), Effect::Add(_)))
        });
    if any_category {
        for p in cues {
            if fired.last() != Some(&m.pattern_signals[p]) && gate.is_match(p) {
                fired.push(m.pattern_signals[p]);
            }
        }
    }
    fired.sort_unstable();
    fired.dedup();

    let mut tally = vec![Tally::default(); rules.categories.len()];
    let mut complaint = 0.0;
    let mut chatter = 0.0;
    let mut matches = Vec::with_capacity(fired.len());
    for &id in &fired {
        let s = &m.signals[id];
        let delta = match s.effect {
            Effect::Add(w) => w,
            Effect::Subtract(w) => -w,
            Effect::Veto => 0.0,
        };
        let (kind, category) = match s.target {
            Target::Category(i) => {
                let t = &mut tally[i];
                match s.effect {
                    Effect::Veto => t.vetoed = true,
                    Effect::Add(_) => {
                        t.positive = true;
                        t.score += delta;
                    }
                    Effect::Subtract(_) => {
                        t.excluded = true;
                        t.score += delta;
                    }
                }
                if s.priority.is_some() {
                    t.priority = t.priority.max(s.priority);
                }
                let kind = match (s.kind, s.effect) {
                    (_, Effect::Veto) => "veto",
                    (SignalKind::Exclude, _) => "exclude",
                    (SignalKind::Pattern, _) => "pattern",
                    (SignalKind::Keyword, _) => "keyword",
                    (SignalKind::Topic, _) => "topic",
                };
                (kind, Some(rules.category_ids[i].clone()))
            }
            Target::Complaint => {
                complaint += delta;
                ("complaint_cue", None)
            }
            Target::Problem => {
                complaint += delta;
                ("problem", None)
            }
            Target::Chatter => {
                chatter += delta;
                ("chatter_cue", None)
            }
        };
        matches.push(Contribution {
            kind,
            term: s.label.clone(),
            weight: delta,
            category,
        });
    }

    // The model's vote: for each category, its probability times the
    // weight; against them all, the probability of "no complaint". A veto
    // or an exclude of a category silences the vote for it.
    let doubt = rules.model_none_weight * vote.posterior[none];
    let silenced = chatter <= CHATTER_SILENCES_MODEL;
    let model_for = |i: usize, t: &Tally| {
        if t.excluded || silenced {
            0.0
        } else {
            rules.model_weight * vote.posterior[i]
        }
    };
    let cue = complaint.min(MAX_COMPLAINT_BONUS) + chatter - doubt;
    let mut candidates: Vec<(usize, f64)> = tally
        .iter()
        .enumerate()
        .filter(|&(i, t)| (t.positive || (model_names(i) && !silenced)) && !t.vetoed)
        .map(|(i, t)| {
            let own = t.score.min(MAX_TOPIC * rules.categories[i].threshold);
            (i, own + cue + model_for(i, t))
        })
        .collect();
    // Best first. On a tie the more urgent category wins (a fire lane
    // blocked by junk is a fire-lane matter), then file order, so results
    // are stable.
    let urgency = |i: usize| rules.categories[i].priority;
    candidates.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(tally[b.0].score.total_cmp(&tally[a.0].score))
            .then(urgency(b.0).cmp(&urgency(a.0)))
            .then(a.0.cmp(&b.0))
    });

    let winner = candidates
        .iter()
        .find(|(i, score)| *score >= rules.categories[*i].threshold)
        .copied();
    let best = candidates.first().copied();
    // Explain the model's part in the verdict: its vote for the category
    // that won (or came closest), and its doubt.
    if let Some((i, _)) = winner.or(best) {
        let weight = model_for(i, &tally[i]);
        if weight >= MIN_SHOWN {
            matches.push(Contribution {
                kind: "model",
                term: model_term(rules, &vote, i),
                weight: round2(weight),
                category: Some(rules.category_ids[i].clone()),
            });
        }
    }
    if doubt >= MIN_SHOWN && best.is_some() {
        matches.push(Contribution {
            kind: "model",
            term: model_term(rules, &vote, none),
            weight: -round2(doubt),
            category: None,
        });
    }
    let (category, score, priority, confidence) = match winner {
        Some((i, score)) => {
            let cat = &rules.categories[i];
            let runner_up = candidates
                .iter()
                .find(|(j, _)| *j != i)
                .map_or(0.0, |c| c.1.max(0.0));
            let priority = cat.priority.max(tally[i].priority.unwrap_or(Priority::Low));
            (
                Some(cat.id.clone()),
                score,
                priority,
                confidence(score, cat.threshold, runner_up),
            )
        }
        None => {
            let (score, doubt) = match best {
                Some((i, s)) => (s, (s / rules.categories[i].threshold).clamp(0.0, 1.0)),
                None => (0.0, 0.0),
            };
            (None, score, Priority::Normal, round2(1.0 - 0.5 * doubt))
        }
    };

    Classification {
        text: text.to_string(),
        location: category.as_ref().and_then(|_| locate(rules, &norm)),
        category,
        confidence,
        score: round2(score),
        priority,
        candidates: candidates
            .iter()
            .map(|&(i, s)| Candidate {
                category: rules.category_ids[i].clone(),
                score: round2(s),
                threshold: rules.categories[i].threshold,
            })
            .collect(),
        matches,
        tokens: tokens.into_iter().map(str::to_string).collect(),
    }
}

/// jieba's words for a normalised message, punctuation dropped: what rules
/// and the model both see.
pub(crate) fn words<'a>(jieba: &jieba_rs::Jieba, norm: &'a str) -> Vec<&'a str> {
    jieba
        .cut(norm, true)
        .into_iter()
        .map(|t| t.word)
        .filter(|w| w.chars().any(is_letter))
        .collect()
}

/// `char::is_alphanumeric`, with the common CJK block answered without
/// the Unicode table search (every character of every message asks).
pub(crate) fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        matches!(c, '\u{4e00}'..='\u{9fff}') || c.is_alphanumeric()
    }
}

/// `p=0.87: 路灯 不亮 坏了` — the model's probability and its strongest features.
fn model_term(rules: &RuleSet, vote: &crate::rules::Vote, class: usize) -> Arc<str> {
    let reasons = rules.model.reasons(vote, class);
    let named: Vec<&str> = reasons.iter().map(|r| r.as_ref()).collect();
    format!("p={:.2}: {}", vote.posterior[class], named.join(" ")).into()
}

/// How far past the threshold, and how clear of the runner-up, squashed into 0..1.
fn confidence(score: f64, threshold: f64, runner_up: f64) -> f64 {
    let past = 1.0 / (1.0 + (-(score - threshold) / threshold * 2.0 - 1.0).exp());
    let clear = if score > 0.0 {
        ((score - runner_up) / score).clamp(0.0, 1.0)
    } else {
        0.0
    };
    round2(past * (0.6 + 0.4 * clear))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Find where: adjacent location matches join up (`5号楼` + `3单元` → `5号楼3单元`).
pub fn locate(rules: &RuleSet, norm: &str) -> Option<String> {
    let re = rules.locations.as_ref()?;
    let mut out = String::new();
    let mut last_end = None;
    for m in re.find_iter(norm) {
        if m.as_str().is_empty() {
            continue;
        }
        match last_end {
            None => out.push_str(m.as_str()),
            Some(end) if m.start() == end => out.push_str(m.as_str()),
            Some(_) => break,
        }
        last_end = Some(m.end());
    }
    (!out.is_empty()).then_some(out)
}
