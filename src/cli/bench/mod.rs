//! `gongdan bench ...`: benchmarks that print figures (never timed tests).

mod classify;
mod console;
mod scale;
mod serve;
mod soak;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Rule-set load time and single-thread classification throughput.
    Classify {
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// How long to classify for.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Instead of timing, load once and classify the corpus exactly this
        /// many times: a fixed workload for `valgrind --tool=callgrind`.
        #[arg(long)]
        passes: Option<u32>,
    },
    /// Durable ingest through /webhook/generic on loopback, against a trivial axum handler.
    Serve(serve::ServeArgs),
    /// Fill a store with many tickets; report open time, list latency and disk size.
    Scale(scale::ScaleArgs),
    /// Every console page timed over HTTP on a `bench scale --data DIR` store.
    Console(console::ConsoleArgs),
    /// Minutes at a fixed rate beside a slow-loris crowd and one chat whose send never answers.
    Soak(soak::SoakArgs),
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Classify {
            rules,
            seconds,
            passes,
        } => classify::run(rules, seconds, passes),
        BenchCommand::Serve(args) => serve::run(args),
        BenchCommand::Scale(args) => scale::run(args),
        BenchCommand::Soak(args) => soak::run(args),
        BenchCommand::Console(args) => console::run(args),
    }
}

/// Peak resident set size of this process so far, in MiB (Linux `VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Bytes under `path`, recursively (a store's size on disk).
pub fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(path) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Latency percentiles over microsecond samples (sorted in place).
pub fn percentiles(samples: &mut [u64]) -> [f64; 3] {
    samples.sort_unstable();
    let at = |q: f64| -> f64 {
        if samples.is_empty() {
            return 0.0;
        }
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i] as f64 / 1000.0
    };
    [at(0.50), at(0.99), at(0.999)]
}
