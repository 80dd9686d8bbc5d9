//! `gongdan bench soak`: minutes of fixed-rate traffic beside a slow-loris crowd and one chat that never answers.
//!
//! The server runs as a child process (`gongdan serve`, as in `bench serve`),
//! its replies go to a stand-in platform that answers at once except for one
//! group, whose sends hang for ever. Every minute prints latency, the child's
//! RSS and the store's size; at the end, how long SIGTERM took and the idle
//! RSS after reopening the store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::serve::{fixed_rate, ServerProcess, Traffic};
use super::{dir_size, percentiles};

#[derive(Args)]
pub struct SoakArgs {
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// How long to run.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// Messages per second (about 27% of them open a ticket).
    #[arg(long, default_value_t = 300)]
    rate: u64,
    /// Slow-loris connections: half send a request head one byte a second,
    /// half send nothing; each reconnects when the server cuts it off.
    #[arg(long, default_value_t = 300)]
    loris: usize,
    /// Chat groups the traffic is spread over; `group-0`'s sends never answer.
    #[arg(long, default_value_t = 1000)]
    groups: u64,
    /// Keep the store here (it must not exist yet) instead of a temporary directory.
    #[arg(long)]
    data: Option<PathBuf>,
}

const HANGING_GROUP: &str = "group-0";

/// The platform's send API: answers at once, except for [`HANGING_GROUP`].
async fn stand_in() -> anyhow::Result<(u16, Arc<AtomicU64>)> {
    let delivered = Arc::new(AtomicU64::new(0));
    let count = delivered.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let count = count.clone();
        async move {
            let reply: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            if reply["group_id"] == HANGING_GROUP {
                std::future::pending::<()>().await;
            }
            count.fetch_add(1, Ordering::Relaxed);
            "{}"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((port, delivered))
}

/// One slow-loris client until `deadline`; counts the times the server cut it off.
async fn loris(port: u16, byte_by_byte: bool, deadline: Instant, cut_offs: Arc<AtomicU64>) {
    let head = b"POST /webhook/generic HTTP/1.1\r\nhost: gongdan\r\nx-padding: ";
    while Instant::now() < deadline {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let mut sent = 0usize;
        let mut buf = [0u8; 512];
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return;
            }
            let tick = tokio::time::sleep(Duration::from_secs(1).min(remaining));
            tokio::select! {
                // The server answered or closed: either way it let go.
                _ = stream.read(&mut buf) => break,
                _ = tick => {
                    if byte_by_byte {
                        let byte = head.get(sent).copied().unwrap_or(b'a');
                        if stream.write_all(&[byte]).await.is_err() {
                            break;
                        }
                        sent += 1;
                    }
                }
            }
        }
        cut_offs.fetch_add(1, Ordering::Relaxed);
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub fn run(args: SoakArgs) -> anyhow::Result<ExitCode> {
    let rules = crate::cli::classify::load_rules(&args.rules)?;
    let traffic = Arc::new(Traffic::from_rules(&rules, args.groups, "soak"));
    drop(rules);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let temp = tempfile::tempdir().context("cannot create a temporary data directory")?;
    let data = match &args.data {
        Some(dir) if dir.exists() => anyhow::bail!("{} already exists", dir.display()),
        Some(dir) => dir.clone(),
        None => temp.path().join("data"),
    };
    println!(
        "gongdan bench soak: {} min at {} msgs/s, {} slow-loris connections, {} groups \
         ({HANGING_GROUP}'s sends never answer)",
        args.minutes, args.rate, args.loris, args.groups
    );
    runtime.block_on(soak(&args, traffic, &data))?;
    Ok(ExitCode::SUCCESS)
}

async fn soak(args: &SoakArgs, traffic: Arc<Traffic>, data: &Path) -> anyhow::Result<()> {
    let (platform_port, delivered) = stand_in().await?;
    let reply_url = format!("http://127.0.0.1:{platform_port}/send");
    // The hanging group's retries would fill the table with warnings.
    let env = [
        ("GONGDAN__PLATFORMS__GENERIC__REPLY_URL", reply_url),
        ("RUST_LOG", "error".to_string()),
    ];
    let mut server = ServerProcess::start(&args.rules, data, &env)?;
    server.wait_ready().await?;
    let url = format!("http://127.0.0.1:{}/webhook/generic", server.port);

    let deadline = Instant::now() + Duration::from_secs(args.minutes * 60);
    let cut_offs = Arc::new(AtomicU64::new(0));
    for i in 0..args.loris {
        tokio::spawn(loris(server.port, i % 2 == 0, deadline, cut_offs.clone()));
    }

    println!(
        "{:>3}  {:>8} {:>6}  {:>8} {:>8}  {:>8} {:>8}  {:>8} {:>9} {:>9}",
        "min",
        "ok",
        "failed",
        "p50 ms",
        "p99 ms",
        "RSS MiB",
        "DB MiB",
        "tickets",
        "delivered",
        "loris cut"
    );
    let mut offset = 0;
    for minute in 1..=args.minutes {
        let mut run = fixed_rate(&url, traffic.clone(), args.rate, 60.0, offset).await;
        offset += args.rate * 60;
        let [p50, p99, _] = percentiles(&mut run.latencies_us);
        println!(
            "{minute:>3}  {:>8} {:>6}  {p50:>8.2} {p99:>8.2}  {:>8.0} {:>8.0}  {:>8.0} {:>9} {:>9}",
            run.ok,
            run.failed,
            server.rss_mib().unwrap_or(0.0),
            mib(dir_size(data)),
            server.metric("gongdan_tickets_created_total").await,
            delivered.load(Ordering::Relaxed),
            cut_offs.load(Ordering::Relaxed),
        );
    }
    println!(
        "peak RSS of gongdan serve: {:.0} MiB; outbox depth at the end: {:.0}",
        server.peak_rss_mib().unwrap_or(0.0),
        server.metric("gongdan_outbox_depth").await
    );

    let stopping = Instant::now();
    server.stop();
    println!(
        "SIGTERM to exit, with the hanging sends and any slow-loris still open: {:.1} s",
        stopping.elapsed().as_secs_f64()
    );

    // Reopen the store and let it settle: what a restarted service holds idle.
    let mut server = ServerProcess::start(&args.rules, data, &[])?;
    server.wait_ready().await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!(
        "idle RSS after reopening the store ({:.0} MiB on disk): {:.0} MiB",
        mib(dir_size(data)),
        server.rss_mib().unwrap_or(0.0)
    );
    server.stop();
    Ok(())
}
