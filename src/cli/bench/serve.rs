//! `gongdan bench serve`: the real server on loopback under realistic traffic, beside a trivial axum handler.
//!
//! Traffic: about 60% chatter, 30% complaints across every category (some
//! repeated in the same group, so they merge into one ticket), 10% commands.
//! Only 200 answers count, and a 200 means the message was flushed to disk.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use gongdan::config::Config;
use gongdan::rules::RuleSet;
use gongdan::server::Application;
use serde_json::json;

use super::{peak_rss_mib, percentiles};

#[derive(Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// Concurrent connections for the throughput runs.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds per run.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Messages per second for the fixed-rate run (0 skips it).
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Chat groups the traffic is spread over.
    #[arg(long, default_value_t = 50)]
    groups: u64,
}

/// Pre-built request bodies, picked by sequence number.
struct Traffic {
    chatter: Vec<String>,
    complaints: Vec<String>,
    groups: u64,
    run: String,
}

impl Traffic {
    fn from_rules(rules: &RuleSet, groups: u64, run: &str) -> Traffic {
        let mut chatter = Vec::new();
        let mut complaints = Vec::new();
        for c in rules.categories() {
            complaints.extend(c.examples.iter().map(|e| e.text.clone()));
            chatter.extend(c.counter_examples.iter().map(|e| e.text.clone()));
        }
        Traffic {
            chatter,
            complaints,
            groups: groups.max(1),
            run: run.to_string(),
        }
    }

    /// The `i`-th message of the run, as a generic-webhook body.
    fn body(&self, i: u64) -> String {
        let mix = i % 10;
        let mut group = i.wrapping_mul(2_654_435_761) % self.groups;
        let (sender, text) = if mix < 6 {
            (
                format!("r{}", i % 997),
                self.chatter[(i as usize / 10) % self.chatter.len()].clone(),
            )
        } else if mix < 9 {
            let k = i as usize / 10;
            if k.is_multiple_of(5) {
                // A hot problem reported again and again in a few groups: merges.
                group = (k as u64 / 5) % 5;
                (
                    format!("r{}", i % 991),
                    self.complaints[(k / 5) % 10].clone(),
                )
            } else {
                (
                    format!("r{}", i % 991),
                    self.complaints[k % self.complaints.len()].clone(),
                )
            }
        } else {
            let n = 1001 + (i / 10) % 500;
            match (i / 10) % 4 {
                0 => (format!("r{}", i % 997), format!("#查询 {n}")),
                1 => (format!("r{}", i % 997), "#列表".to_string()),
                2 => ("bench-officer".to_string(), format!("#认领 {n}")),
                _ => ("bench-officer".to_string(), format!("#处理 {n} 已到场")),
            }
        };
        json!({
            "message_id": format!("{}-{i}", self.run),
            "group_id": format!("group-{group}"),
            "sender_id": sender,
            "text": text,
        })
        .to_string()
    }
}

struct RunResult {
    ok: u64,
    failed: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl RunResult {
    fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn print(&mut self, label: &str) {
        let [p50, p99, p999] = percentiles(&mut self.latencies_us);
        println!(
            "{label:<34} {:>9.0} msgs/s  p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  p99.9 {p999:>6.2} ms  ({} ok, {} failed)",
            self.throughput(),
            self.ok,
            self.failed
        );
    }
}

async fn post(client: &reqwest::Client, url: &str, body: String) -> bool {
    match client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(r) => {
            let ok = r.status().is_success();
            let _ = r.bytes().await;
            ok
        }
        Err(_) => false,
    }
}

/// Closed loop: `connections` workers, each sending as soon as the last answer came.
async fn closed_loop(url: &str, traffic: Arc<Traffic>, connections: usize, secs: f64) -> RunResult {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap_or_default();
    let next = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, next, traffic, url) = (
            client.clone(),
            next.clone(),
            traffic.clone(),
            url.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed, mut lat) = (0u64, 0u64, Vec::with_capacity(65536));
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let body = traffic.body(i);
                let t = Instant::now();
                if post(&client, &url, body).await {
                    ok += 1;
                    lat.push(t.elapsed().as_micros() as u64);
                } else {
                    failed += 1;
                }
            }
            (ok, failed, lat)
        }));
    }
    let mut result = RunResult {
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    for t in tasks {
        if let Ok((ok, failed, lat)) = t.await {
            result.ok += ok;
            result.failed += failed;
            result.latencies_us.extend(lat);
        }
    }
    result.elapsed = started.elapsed();
    result
}

/// Open loop at a fixed rate; latency counts from the scheduled send time, so
/// a stall shows up in the figures instead of silently lowering the rate.
async fn fixed_rate(
    url: &str,
    traffic: Arc<Traffic>,
    rate: u64,
    secs: f64,
    offset: u64,
) -> RunResult {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap_or_default();
    let total = (rate as f64 * secs) as u64;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = started + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let (client, traffic, url) = (client.clone(), traffic.clone(), url.to_string());
        tasks.spawn(async move {
            let ok = post(&client, &url, traffic.body(offset + n)).await;
            (ok, due.elapsed().as_micros() as u64)
        });
    }
    let mut result = RunResult {
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok((true, us)) => {
                result.ok += 1;
                result.latencies_us.push(us);
            }
            _ => result.failed += 1,
        }
    }
    result.elapsed = started.elapsed();
    result
}

async fn trivial_server() -> anyhow::Result<(u16, tokio::task::JoinHandle<()>)> {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/webhook/generic",
        post(|_body: axum::body::Bytes| async {
            axum::Json(json!({"replies": [], "ticket": null}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((port, handle))
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let rules = crate::cli::classify::load_rules(&args.rules)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let data = tempfile::tempdir().context("cannot create a temporary data directory")?;
    let traffic = Arc::new(Traffic::from_rules(&rules, args.groups, "bench"));
    drop(rules);
    println!(
        "gongdan bench serve: {} connections, {:.0} s per run, {} groups, {} cores",
        args.connections,
        args.seconds,
        args.groups,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    runtime.block_on(async {
        let (port, trivial) = trivial_server().await?;
        let url = format!("http://127.0.0.1:{port}/webhook/generic");
        let mut base = closed_loop(&url, traffic.clone(), args.connections, args.seconds).await;
        base.print("trivial axum handler");
        trivial.abort();

        let mut config = Config::default();
        config.server.bind = "127.0.0.1:0".parse()?;
        config.storage.data_dir = data.path().join("data");
        config.rules.dir = args.rules.clone();
        config.rules.watch = false;
        config.roles.officers = vec!["generic:bench-officer".into()];
        let app = Application::build(config).await?;
        let service = app.service();
        let url = format!("http://127.0.0.1:{}/webhook/generic", app.port());
        let server = tokio::spawn(app.run_until_stopped(false));

        let mut ours = closed_loop(&url, traffic.clone(), args.connections, args.seconds).await;
        ours.print("gongdan, durable (flushed) ingest");
        let sent = ours.ok + ours.failed;
        println!(
            "  ratio to trivial handler: {:.1}%",
            100.0 * ours.throughput() / base.throughput().max(1.0)
        );
        if args.rate > 0 {
            let mut fixed = fixed_rate(&url, traffic.clone(), args.rate, args.seconds, sent).await;
            fixed.print(&format!("gongdan at fixed {} msgs/s", args.rate));
        }
        let tickets = service
            .store()
            .list(&Default::default())
            .map(|t| t.len())
            .unwrap_or(0);
        println!(
            "  tickets opened: {tickets}; outbox depth: {}",
            service.store().outbox_len()
        );
        service.begin_shutdown();
        drop(service);
        let _ = server.await;
        Ok::<_, anyhow::Error>(())
    })?;
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS (server + load generator in one process): {rss:.0} MiB");
    }
    Ok(ExitCode::SUCCESS)
}
