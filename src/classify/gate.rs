//! Pattern gating: run a rule pattern only where the message can match it.
//!
//! Every pattern branch has clauses, sets of literals one of which each of
//! its matches contains (see `rules::compile::required_clauses`). One
//! Aho-Corasick pass over the message finds them all; a pattern runs only
//! when each of its clauses was seen, and a pattern whose matches start
//! with a known literal runs anchored at each place one starts, a short
//! bounded scan instead of a search over the rest of the message. Gating
//! never changes a verdict, only what it costs (tested below).

use regex_automata::{Anchored, Input};

use crate::rules::Matcher;

pub(crate) struct Gate<'a> {
    matcher: &'a Matcher,
    text: &'a str,
    /// Per pattern: the clause bits seen.
    seen: Vec<u64>,
    /// (pattern, byte offset) where a literal its matches start with starts.
    starts: Vec<(usize, usize)>,
}

impl<'a> Gate<'a> {
    pub fn new(matcher: &'a Matcher, text: &'a str) -> Gate<'a> {
        let mut seen = vec![0u64; matcher.patterns.len()];
        let mut starts = Vec::new();
        for hit in matcher.gates.find_overlapping_iter(text) {
            for &(p, bit) in &matcher.gate_clauses[hit.pattern().as_usize()] {
                if bit == 1 && matcher.starts_gated[p] {
                    starts.push((p, hit.start()));
                }
                seen[p] |= bit;
            }
        }
        // Overlapping hits arrive in order of where they end.
        starts.sort_unstable();
        starts.dedup();
        Gate {
            matcher,
            text,
            seen,
            starts,
        }
    }

    /// Whether pattern `p` can match at all: every clause has a literal here.
    pub fn admits(&self, p: usize) -> bool {
        self.seen[p] == self.matcher.clauses_needed[p]
    }

    /// Whether pattern `p` matches; call only when [`Gate::admits`] it.
    pub fn is_match(&self, p: usize) -> bool {
        let re = &self.matcher.patterns[p];
        if !self.matcher.starts_gated[p] {
            return re.is_match(Input::new(self.text).earliest(true));
        }
        let from = self.starts.partition_point(|&(q, _)| q < p);
        self.starts[from..]
            .iter()
            .take_while(|&&(q, _)| q == p)
            .any(|&(_, at)| {
                let input = Input::new(self.text)
                    .range(at..)
                    .anchored(Anchored::Yes)
                    .earliest(true);
                re.is_match(input)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::normalize;
    use crate::rules::RuleSet;

    /// Gated and anchored runs agree with running every pattern on the
    /// whole message, on every example in the shipped rules and on splices
    /// of them (a literal from one message next to a tail from another).
    #[test]
    fn gating_never_changes_which_patterns_match() {
        let rules = RuleSet::load(std::path::Path::new("rules")).expect("shipped rules load");
        let m = &rules.matcher;
        let mut texts: Vec<String> = rules
            .categories()
            .iter()
            .flat_map(|c| c.examples.iter().chain(&c.counter_examples))
            .chain(rules.global_counter_examples())
            .map(|e| normalize(&e.text))
            .collect();
        let n = texts.len();
        for i in 0..n {
            let (a, b) = (&texts[i], &texts[(i * 7 + 3) % n]);
            let cut_a = a
                .char_indices()
                .nth(a.chars().count() / 2)
                .map_or(0, |c| c.0);
            let cut_b = b
                .char_indices()
                .nth(b.chars().count() / 3)
                .map_or(0, |c| c.0);
            texts.push(format!("{}{}", &a[..cut_a], &b[cut_b..]));
        }
        let mut matched = 0;
        for text in &texts {
            let gate = Gate::new(m, text);
            for p in 0..m.patterns.len() {
                let plain = m.patterns[p].is_match(text.as_str());
                let gated = gate.admits(p) && gate.is_match(p);
                assert_eq!(gated, plain, "pattern {p} on {text:?}");
                matched += usize::from(plain);
            }
        }
        assert!(matched > texts.len(), "too few matches to mean anything");
    }
}
