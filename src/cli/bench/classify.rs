//! `gongdan bench classify`: rule-set load time and single-thread classification throughput.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use gongdan::classify::classify;

pub fn run(dir: PathBuf, seconds: f64, passes: Option<u32>) -> anyhow::Result<ExitCode> {
    if let Some(passes) = passes {
        return fixed(dir, passes);
    }
    // Load a few times: the first pays for cold file caches.
    let mut loads = Vec::new();
    let mut rules = None;
    for _ in 0..5 {
        let started = Instant::now();
        let r = crate::cli::classify::load_rules(&dir)?;
        loads.push(started.elapsed());
        rules = Some(r);
    }
    let rules = rules.expect("loaded at least once");
    loads.sort();

    let corpus = corpus(&rules)?;
    let avg_chars =
        corpus.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / corpus.len() as f64;

    // Rounds, not one long run: the machine's noise (a neighbour, a
    // frequency step) then shows as spread instead of skewing the figure.
    const ROUNDS: usize = 10;
    let budget = Duration::from_secs_f64(seconds.max(0.1) / ROUNDS as f64);
    let mut done = 0u64;
    let mut rates = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let mut round = 0u64;
        while started.elapsed() < budget {
            for text in &corpus {
                black_box(classify(&rules, black_box(text)));
            }
            round += corpus.len() as u64;
        }
        rates.push(round as f64 / started.elapsed().as_secs_f64());
        done += round;
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[ROUNDS / 2];
    println!(
        "rule set: {} ({} categories)",
        dir.display(),
        rules.categories().len()
    );
    println!(
        "load (jieba dictionary included): median {:.0} ms, min {:.0} ms, max {:.0} ms over {} loads",
        ms(loads[loads.len() / 2]),
        ms(loads[0]),
        ms(loads[loads.len() - 1]),
        loads.len()
    );
    println!(
        "classify, one thread: {:.0} messages/s ({:.1} µs/message; median of {ROUNDS} rounds, \
         slowest {:.0}, fastest {:.0}) over {} messages, {} distinct, {:.1} chars average",
        median,
        1e6 / median,
        rates[0],
        rates[ROUNDS - 1],
        done,
        corpus.len(),
        avg_chars
    );
    Ok(ExitCode::SUCCESS)
}

/// A fixed workload (one load, `passes` runs over the corpus) whose cost
/// callgrind counts in instructions: repeatable on a loaded machine, where
/// wall-clock rates are not.
fn fixed(dir: PathBuf, passes: u32) -> anyhow::Result<ExitCode> {
    let rules = crate::cli::classify::load_rules(&dir)?;
    let corpus = corpus(&rules)?;
    for _ in 0..passes {
        for text in &corpus {
            black_box(classify(&rules, black_box(text)));
        }
    }
    println!(
        "classified {} messages ({} passes over {})",
        u64::from(passes) * corpus.len() as u64,
        passes,
        corpus.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Every example and counter-example in the rules, i.e. short messages in
/// residents' own voice, complaints and chatter mixed; an error when there is none.
fn corpus(rules: &gongdan::rules::RuleSet) -> anyhow::Result<Vec<&str>> {
    let mut corpus: Vec<&str> = Vec::new();
    for c in rules.categories() {
        corpus.extend(c.examples.iter().map(|e| e.text.as_str()));
        corpus.extend(c.counter_examples.iter().map(|e| e.text.as_str()));
    }
    anyhow::ensure!(!corpus.is_empty(), "the rules have no examples to classify");
    Ok(corpus)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
