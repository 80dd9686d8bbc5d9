//! The learned part of the classifier: a multinomial naive Bayes over jieba words and
//! character bigrams, trained at load time from the rules' examples and `rules/corpus/`.
//!
//! Admins teach it by adding labelled messages instead of guessing weights. It is
//! deterministic (features are numbered in sorted order, nothing depends on hash
//! iteration) and cheap to run: one table lookup per feature and a dense row of
//! log-probabilities per feature, so a message costs a few hundred additions.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::classify::is_letter;

/// Additive smoothing: small, because most features are seen a handful of times.
const ALPHA: f64 = 0.2;
/// Naive Bayes multiplies many dependent features and is far too sure of itself;
/// its log-scores are divided by this before the softmax so a vote of 0.9
/// means something.
const TEMPERATURE: f64 = 4.0;
/// How many features an explanation names.
const TOP_FEATURES: usize = 3;

/// A training message: its class (`categories.len()` stands for "no complaint").
pub(crate) struct Doc<'a> {
    pub class: usize,
    pub tokens: Vec<&'a str>,
    pub norm: &'a str,
}

/// The trained model. `classes - 1` is the "no complaint" class.
pub(crate) struct Model {
    classes: usize,
    index: HashMap<u64, u32, BuildHasherDefault<FeatureHasher>>,
    names: Vec<Arc<str>>,
    /// `log_like[f * classes + k]`: ln P(feature f | class k).
    log_like: Vec<f32>,
    log_prior: Vec<f32>,
    docs: usize,
}

/// The model's verdict on one message.
pub(crate) struct Vote {
    /// P(class | message), one per class, "no complaint" last.
    pub posterior: Vec<f64>,
    /// Known features of the message, by id (sorted, unique).
    features: Vec<u32>,
}

impl Model {
    /// Train on `docs`. With no documents the model abstains (every vote is uniform).
    pub fn train(classes: usize, docs: &[Doc]) -> Model {
        // Count into one flat table (a row of `classes` per feature, in the
        // order first seen), then number features in sorted order of their
        // keys, so the same documents always give the same table whatever
        // order they came in.
        let mut slot_of: HashMap<u64, usize, BuildHasherDefault<FeatureHasher>> =
            HashMap::default();
        let mut seen: Vec<(u64, &str)> = Vec::new();
        let mut counts: Vec<u32> = Vec::new();
        let mut class_docs = vec![0usize; classes];
        let mut totals = vec![0u64; classes];
        for doc in docs {
            class_docs[doc.class] += 1;
            for (key, name) in features(&doc.tokens, doc.norm) {
                let slot = *slot_of.entry(key).or_insert_with(|| {
                    seen.push((key, name));
                    counts.resize(counts.len() + classes, 0);
                    seen.len() - 1
                });
                counts[slot * classes + doc.class] += 1;
                totals[doc.class] += 1;
            }
        }
        let mut order: Vec<usize> = (0..seen.len()).collect();
        order.sort_unstable_by_key(|&s| seen[s].0);
        let vocabulary = seen.len().max(1) as f64;
        let mut index = HashMap::default();
        index.reserve(seen.len());
        let mut names = Vec::with_capacity(seen.len());
        let mut log_like = Vec::with_capacity(seen.len() * classes);
        for (f, &slot) in order.iter().enumerate() {
            let (key, name) = seen[slot];
            index.insert(key, f as u32);
            names.push(Arc::from(name));
            for (k, n) in counts[slot * classes..][..classes].iter().enumerate() {
                let p = (f64::from(*n) + ALPHA) / (totals[k] as f64 + ALPHA * vocabulary);
                log_like.push(p.ln() as f32);
            }
        }
        let total_docs = docs.len() as f64;
        let log_prior = class_docs
            .iter()
            .map(|&n| ((n as f64 + 1.0) / (total_docs + classes as f64)).ln() as f32)
            .collect();
        Model {
            classes,
            index,
            names,
            log_like,
            log_prior,
            docs: docs.len(),
        }
    }

    /// How many messages it learnt from.
    pub fn docs(&self) -> usize {
        self.docs
    }

    pub fn vote(&self, tokens: &[&str], norm: &str) -> Vote {
        // A message has about one bigram per character and fewer words.
        let mut features: Vec<u32> = Vec::with_capacity(tokens.len() + norm.len() / 2);
        features.extend(feature_keys(tokens, norm).filter_map(|key| self.index.get(&key).copied()));
        features.sort_unstable();
        features.dedup();
        if self.docs == 0 || features.is_empty() {
            return Vote {
                posterior: vec![1.0 / self.classes as f64; self.classes],
                features,
            };
        }
        let mut score: Vec<f64> = self.log_prior.iter().map(|&p| f64::from(p)).collect();
        for &f in &features {
            let row = &self.log_like[f as usize * self.classes..][..self.classes];
            for (s, &l) in score.iter_mut().zip(row) {
                *s += f64::from(l);
            }
        }
        let top = score.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for s in &mut score {
            *s = ((*s - top) / TEMPERATURE).exp();
            sum += *s;
        }
        for s in &mut score {
            *s /= sum;
        }
        Vote {
            posterior: score,
            features,
        }
    }

    /// The message's features that speak most for `class` against "no complaint"
    /// (or, for "no complaint", against the best category), strongest first.
    pub fn reasons(&self, vote: &Vote, class: usize) -> Vec<Arc<str>> {
        let none = self.classes - 1;
        let rival = if class == none {
            (0..none)
                .max_by(|&a, &b| vote.posterior[a].total_cmp(&vote.posterior[b]))
                .unwrap_or(none)
        } else {
            none
        };
        let like = |f: u32, k: usize| self.log_like[f as usize * self.classes + k];
        let mut scored: Vec<(f32, u32)> = vote
            .features
            .iter()
            .map(|&f| (like(f, class) - like(f, rival), f))
            .filter(|(gain, _)| *gain > 0.0)
            .collect();
        // A total order (ties broken by feature), so unstable is as stable as stable.
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        // A word and a bigram can read the same (幸福 and 幸福): name it once.
        let mut named: Vec<Arc<str>> = Vec::with_capacity(TOP_FEATURES);
        for (_, f) in scored {
            let name = &self.names[f as usize];
            if !named.contains(name) {
                named.push(name.clone());
                if named.len() == TOP_FEATURES {
                    break;
                }
            }
        }
        named
    }
}

/// Every feature of a message as (stable key, readable name): its jieba words
/// and the bigrams of adjacent letters, which survive jieba's mis-splits of
/// words it does not know (僵尸车 → 僵尸 / 车 still gives 尸车).
fn features<'a>(tokens: &'a [&'a str], norm: &'a str) -> impl Iterator<Item = (u64, &'a str)> + 'a {
    let words = tokens.iter().map(|w| (key(b'w', w.as_bytes()), *w));
    words.chain(bigrams(norm))
}

/// [`features`]' keys only: what a vote needs, without building a string per feature.
fn feature_keys<'a>(tokens: &'a [&'a str], norm: &'a str) -> impl Iterator<Item = u64> + 'a {
    let words = tokens.iter().map(|w| key(b'w', w.as_bytes()));
    words.chain(bigrams(norm).map(|(k, _)| k))
}

/// Adjacent pairs of letters, not both ASCII (jieba's words cover those), with their keys.
fn bigrams(norm: &str) -> impl Iterator<Item = (u64, &str)> + '_ {
    let mut chars = norm.char_indices().peekable();
    std::iter::from_fn(move || loop {
        let (i, a) = chars.next()?;
        let &(j, b) = chars.peek()?;
        if is_letter(a) && is_letter(b) && !(a.is_ascii() && b.is_ascii()) {
            let pair = &norm[i..j + b.len_utf8()];
            return Some((key(b'b', pair.as_bytes()), pair));
        }
    })
}

/// FNV-1a, with the feature's kind mixed in first: stable across runs and platforms.
fn key(kind: u8, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in std::iter::once(&kind).chain(bytes) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The keys are already good hashes; hashing them again would only cost time.
#[derive(Default)]
pub(crate) struct FeatureHasher(u64);

impl Hasher for FeatureHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Whether a corpus message is in the held-out fifth, which `gongdan eval
/// --holdout` measures with a model trained without it. Decided by the
/// message's text, so the split is the same on every machine and a line keeps
/// its side when others are added around it.
pub fn held_out(text: &str) -> bool {
    key(b'h', crate::classify::normalize(text).as_bytes()).is_multiple_of(5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(class: usize, text: &'static str) -> Doc<'static> {
        Doc {
            class,
            tokens: vec![text],
            norm: text,
        }
    }

    #[test]
    fn training_order_does_not_change_the_model() {
        let docs = vec![
            doc(0, "路灯不亮"),
            doc(1, "谢谢大家"),
            doc(0, "井盖坏了"),
            doc(1, "今天天气好"),
        ];
        let mut reversed: Vec<Doc> = docs.iter().rev().map(|d| doc(d.class, d.norm)).collect();
        reversed.rotate_left(1);
        let (a, b) = (Model::train(2, &docs), Model::train(2, &reversed));
        assert_eq!(a.log_like, b.log_like);
        assert_eq!(a.names, b.names);
        let vote = a.vote(&["路灯坏了"], "路灯坏了");
        assert!(
            vote.posterior[0] > vote.posterior[1],
            "{:?}",
            vote.posterior
        );
        let reasons = a.reasons(&vote, 0);
        assert!(reasons.iter().any(|r| r.as_ref() == "路灯"), "{reasons:?}");
    }

    #[test]
    fn an_untrained_model_abstains() {
        let m = Model::train(3, &[]);
        let v = m.vote(&["路灯"], "路灯");
        assert!(v.posterior.iter().all(|&p| (p - 1.0 / 3.0).abs() < 1e-9));
    }
}
