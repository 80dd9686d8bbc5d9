//! Command-line interface: clap definitions and dispatch. The binary edge, so `anyhow` lives here.

mod bench;
mod chat;
mod classify;
mod report;
mod rules;
mod serve;
mod tickets;
mod users;

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
    /// Run the webhook service (embedded defaults without --config).
    Serve(serve::ServeArgs),
    /// Try the bot in a simulated group chat in this terminal.
    Chat(chat::ChatArgs),
    /// Offline access to tickets in the data directory.
    Tickets(tickets::TicketsArgs),
    /// Console accounts: add, list, remove, API tokens.
    Users(users::UsersArgs),
    /// The monthly report as an Excel workbook.
    Report(report::ReportArgs),
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
        Command::Serve(args) => serve::run(args),
        Command::Chat(args) => chat::run(args),
        Command::Tickets(args) => tickets::run(args),
        Command::Users(args) => users::run(args),
        Command::Report(args) => report::run(args),
    };
    match result {
        Ok(code) => code,
        // `gongdan eval … | head`: the reader left; that is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
