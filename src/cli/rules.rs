//! `gongdan rules check` and `gongdan eval`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use gongdan::eval;
use gongdan::rules::RuleSet;

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Validate the rules and run every example and counter-example.
    Check {
        /// Rules directory.
        #[arg(default_value = "rules")]
        dir: PathBuf,
    },
}

#[derive(Args)]
pub struct EvalArgs {
    /// Labelled messages: `labels<TAB>text`, labels = ids joined by `|`, or `none`.
    file: PathBuf,
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
}

pub fn run(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::Check { dir } => {
            let started = Instant::now();
            match RuleSet::load(&dir) {
                Ok(rules) => {
                    let cats = rules.categories();
                    let examples: usize = cats.iter().map(|c| c.examples.len()).sum();
                    let counter: usize =
                        cats.iter().map(|c| c.counter_examples.len()).sum::<usize>()
                            + rules.global_counter_examples().len();
                    writeln!(
                        std::io::stdout().lock(),
                        "{}: OK: {} categories, {} examples and {} counter-examples pass ({} ms)",
                        dir.display(),
                        cats.len(),
                        examples,
                        counter,
                        started.elapsed().as_millis()
                    )?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    let mut out = std::io::stdout().lock();
                    for e in errors.iter() {
                        writeln!(out, "{e}")?;
                    }
                    out.flush()?;
                    eprintln!("{}: {} problem(s)", dir.display(), errors.len());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

pub fn eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let rules = super::classify::load_rules(&args.rules)?;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let samples = match eval::parse_tsv(&text, &rules) {
        Ok(s) => s,
        Err(errors) => {
            for e in errors {
                eprintln!("{}:{e}", args.file.display());
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let report = eval::evaluate(&rules, &samples);
    write!(std::io::stdout().lock(), "{report}")?;
    Ok(ExitCode::SUCCESS)
}
