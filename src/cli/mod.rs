//! Command-line interface: clap definitions and dispatch. The binary edge, so `anyhow` lives here.

mod bench;
mod classify;
mod rules;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "gongdan",
    version,
    about = "工单: turns resident complaints in group chats into tracked tickets"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Classify messages (arguments, or one per line on stdin) and explain why.
    Classify(classify::ClassifyArgs),
    /// Work with the rule files.
    Rules {
        #[command(subcommand)]
        command: rules::RulesCommand,
    },
    /// Measure the classifier on a labelled TSV file (`labels<TAB>text`).
    Eval(rules::EvalArgs),
    /// Benchmarks that print figures.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Classify(args) => classify::run(args),
        Command::Rules { command } => rules::run(command),
        Command::Eval(args) => rules::eval(args),
        Command::Bench { command } => bench::run(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
