//! Pattern gating: run a rule pattern only where the message can match it.
//!
//! Every pattern branch has clauses, sets of literals one of which each of
//! its matches contains (see `rules::compile::required_clauses`). One
//! Aho-Corasick pass over the message finds them all; a pattern runs only
//! when each of its clauses was seen, and a pattern whose matches start
//! with a known literal runs anchored at each place one starts, a short
//! bounded scan instead of a search over the rest of the message. Gating
//! never changes a verdict, only what it costs (tested below).

use std::cell::RefCell;

use regex_automata::{Anchored, Input};

use crate::rules::Matcher;

thread_local! {
    /// Per pattern, the clause bits seen in the message at hand; all zero
    /// between messages. Kept per thread so a message does not pay for
    /// zeroing one word per pattern of the whole rule set.
    static SEEN: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

pub(crate) struct Gate<'a> {
    matcher: &'a Matcher,
    text: &'a str,
    /// The patterns worth running, ascending: every clause has a literal
    /// here, or the pattern has no gate.
    admitted: Vec<usize>,
    /// (pattern, byte offset) where a literal its matches start with starts.
    starts: Vec<(usize, usize)>,
}

impl<'a> Gate<'a> {
    pub fn new(matcher: &'a Matcher, text: &'a str) -> Gate<'a> {
        // Capacities from what typical messages need: growing these one
        // push at a time cost more than the work itself.
        let mut starts = Vec::with_capacity(16);
        let mut admitted = Vec::with_capacity(matcher.ungated.len() + 32);
        admitted.extend_from_slice(&matcher.ungated);
        SEEN.with_borrow_mut(|seen| {
            if seen.len() < matcher.patterns.len() {
                seen.resize(matcher.patterns.len(), 0);
            }
            // Patterns a literal touched, each once: what to check and
            // then zero again, so the next message starts clean.
            let mut touched = Vec::with_capacity(64);
            for hit in matcher.gates.find_overlapping_iter(text) {
                for &(p, bit) in &matcher.gate_clauses[hit.pattern().as_usize()] {
                    if bit == 1 && matcher.starts_gated[p] {
                        starts.push((p, hit.start()));
                    }
                    if seen[p] == 0 {
                        touched.push(p);
                    }
                    seen[p] |= bit;
                }
            }
            for p in touched {
                if seen[p] == matcher.clauses_needed[p] {
                    admitted.push(p);
                }
                seen[p] = 0;
            }
        });
        admitted.sort_unstable();
        // Overlapping hits arrive in order of where they end.
        starts.sort_unstable();
        starts.dedup();
        Gate {
            matcher,
            text,
            admitted,
            starts,
        }
    }

    /// The patterns that can match at all, ascending: each pattern's
    /// clauses all have a literal here (or it has none).
    pub fn admitted(&self) -> &[usize] {
        &self.admitted
    }

    /// Whether pattern `p` matches; call only for a pattern [`Gate::admitted`] lists.
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
                let gated = gate.admitted().binary_search(&p).is_ok() && gate.is_match(p);
                assert_eq!(gated, plain, "pattern {p} on {text:?}");
                matched += usize::from(plain);
            }
        }
        assert!(matched > texts.len(), "too few matches to mean anything");
    }
}
