//! `gongdan tickets ...`: offline access to the ticket store (list, show with history, export, reindex).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use gongdan::config::Config;
use gongdan::ticket::{ListFilter, Status, Store, TicketId};

#[derive(Args)]
pub struct TicketsArgs {
    /// Data directory (default: the config's storage.data_dir, `data`).
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// Config file to read storage.data_dir from.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: TicketsCommand,
}

#[derive(Args, Default)]
struct FilterArgs {
    /// open, assigned, in_progress, resolved, closed, rejected, duplicate, on_hold (or 受理, 已办结, ...).
    #[arg(long)]
    status: Option<String>,
    /// Category id, e.g. fire_lane.
    #[arg(long)]
    category: Option<String>,
    /// Group id (with --platform).
    #[arg(long)]
    group: Option<String>,
    #[arg(long, default_value = "generic")]
    platform: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// UTF-8 with BOM, opens cleanly in Excel.
    Csv,
    Json,
}

#[derive(Subcommand)]
enum TicketsCommand {
    /// List tickets, newest first.
    List(FilterArgs),
    /// One ticket with its full history.
    Show {
        /// Ticket number, with or without `#`.
        id: String,
    },
    /// Export tickets (to stdout, or --output FILE).
    Export {
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Rebuild the indexes and rewrite older record formats in the current
    /// one (after restoring a backup or upgrading gongdan; the server must be stopped).
    Reindex,
}

impl FilterArgs {
    fn to_filter(&self) -> anyhow::Result<ListFilter> {
        let status = match &self.status {
            Some(s) => Some(Status::parse(s).with_context(|| {
                format!("unknown status {s:?}; try open, assigned, in_progress, resolved, closed, rejected, duplicate, on_hold")
            })?),
            None => None,
        };
        Ok(ListFilter {
            status,
            category: self.category.clone(),
            group: self.group.clone().map(|g| (self.platform.clone(), g)),
            ..ListFilter::default()
        })
    }
}

pub fn run(args: TicketsArgs) -> anyhow::Result<ExitCode> {
    let (dir, store) = open_store(args.data, args.config.as_deref())?;
    let stdout = std::io::stdout();
    match args.command {
        TicketsCommand::List(f) => {
            let now = gongdan::clock::Clock::system().now();
            let text = store.list_text(&f.to_filter()?, now)?;
            writeln!(stdout.lock(), "{text}")?;
        }
        TicketsCommand::Show { id } => {
            let id = TicketId::parse(&id).map_err(|e| anyhow::anyhow!("ticket {id:?}: {e}"))?;
            match store.show_text(id)? {
                Some(text) => writeln!(stdout.lock(), "{text}")?,
                None => {
                    eprintln!("no ticket {id}");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        TicketsCommand::Export {
            format,
            output,
            filter,
        } => {
            let filter = filter.to_filter()?;
            let mut sink: Box<dyn Write> = match &output {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("cannot create {}", p.display()))?,
                )),
                None => Box::new(stdout.lock()),
            };
            match format {
                ExportFormat::Csv => store.export_csv(&filter, &mut sink)?,
                ExportFormat::Json => store.export_json(&filter, &mut sink)?,
            };
            sink.flush()?;
        }
        TicketsCommand::Reindex => {
            let n = store.reindex()?;
            store.flush()?;
            writeln!(stdout.lock(), "reindexed {n} tickets in {}", dir.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The store in `--data DIR`, or the config's `storage.data_dir`; the server must not hold it.
pub(super) fn open_store(
    data: Option<PathBuf>,
    config: Option<&Path>,
) -> anyhow::Result<(PathBuf, Store)> {
    let dir = match data {
        Some(d) => d,
        None => Config::load(config)?.storage.data_dir,
    };
    if !dir.exists() {
        anyhow::bail!(
            "no data directory at {} (start `gongdan serve` once, or pass --data DIR)",
            dir.display()
        );
    }
    let store = Store::open(&dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot open the ticket store in {}: {e}\n(is `gongdan serve` running on it? use the HTTP API, or stop it first)",
            dir.display()
        )
    })?;
    Ok((dir, store))
}
