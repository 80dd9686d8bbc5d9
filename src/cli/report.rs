//! `gongdan report --month 2026-11 -o report.xlsx`: the monthly report from the data directory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use gongdan::config::Config;
use gongdan::report::{self, MonthlyReport, Period};

#[derive(Args)]
pub struct ReportArgs {
    /// The month, e.g. 2026-11 (China time).
    #[arg(long)]
    month: String,
    /// Where to write the workbook.
    #[arg(long, short)]
    output: PathBuf,
    /// Only this unit of org.toml and below (default: everything).
    #[arg(long)]
    scope: Option<String>,
    /// Data directory (default: the config's storage.data_dir, `data`).
    #[arg(long)]
    data: Option<PathBuf>,
    /// org.toml (default: the config's org.path).
    #[arg(long)]
    org: Option<PathBuf>,
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let period = Period::month(&args.month).map_err(anyhow::Error::msg)?;
    let config = Config::load(args.config.as_deref())?;
    let org = match args.org.as_ref().or(config.org.path.as_ref()) {
        Some(p) => gongdan::org::load(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
        None => gongdan::org::Org::default(),
    };
    let (scope, label) = match &args.scope {
        Some(name) => (
            Some(
                org.find(name)
                    .with_context(|| format!("--scope {name:?} is not a unit of org.toml"))?,
            ),
            name.clone(),
        ),
        None => (
            None,
            org.units
                .iter()
                .find(|u| u.parent.is_none())
                .map_or("全部".into(), |u| u.name.clone()),
        ),
    };
    let (_, store) = super::tickets::open_store(args.data, args.config.as_deref())?;
    let tickets = store.all_tickets()?;
    let inquiries = store.inquiries()?;
    let r = MonthlyReport::build(&org, &tickets, &inquiries, scope, &label, period);
    let bytes = report::xlsx::write(&r)?;
    std::fs::write(&args.output, bytes)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!(
        "{}: {} received, {} resolved, {} on time, {} communities → {}",
        r.period.label,
        r.summary.received,
        r.summary.resolved,
        r.summary.on_time,
        r.communities.len(),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}
