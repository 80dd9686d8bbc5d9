//! `gongdan bench serve`: the real server on loopback under realistic traffic, beside a trivial axum handler.
//!
//! Traffic: about 60% chatter, 30% complaints across every category (one in
//! ten a repeat of a recent report in the same group, so it merges into the
//! open ticket), 10% commands.
//! Only 200 answers count, and a 200 means the message was flushed to disk.
//! The server runs as a child process (`gongdan serve`), so its peak RSS is
//! its own; the load generator shares the machine's cores with it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use gongdan::rules::RuleSet;
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
    #[arg(long, default_value_t = 1000)]
    groups: u64,
}

/// Pre-built request bodies, picked by sequence number.
pub(super) struct Traffic {
    chatter: Vec<String>,
    complaints: Vec<String>,
    groups: u64,
    run: String,
}

impl Traffic {
    pub(super) fn from_rules(rules: &RuleSet, groups: u64, run: &str) -> Traffic {
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
            // Complaints: each a problem at its own building, except that
            // every tenth repeats a recent one in the same group (a neighbour
            // reporting it again), which merges into the open ticket.
            let mut k = i / 10 * 3 + (mix - 6);
            if k % 10 == 9 {
                k -= 3;
            }
            group = k.wrapping_mul(2_654_435_761) % self.groups;
            let text = &self.complaints[k as usize % self.complaints.len()];
            let building = k / self.complaints.len() as u64 % 40 + 1;
            (format!("r{}", i % 991), format!("{building}号楼 {text}"))
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

pub(super) struct RunResult {
    pub(super) ok: u64,
    pub(super) failed: u64,
    elapsed: Duration,
    pub(super) latencies_us: Vec<u64>,
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
            let (mut ok, mut failed, mut lat) = (0u64, 0u64, Vec::with_capacity(4096));
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
pub(super) async fn fixed_rate(
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

/// `gongdan serve` as a child process, so its memory is measured alone.
pub(super) struct ServerProcess {
    child: std::process::Child,
    pub(super) port: u16,
}

impl ServerProcess {
    /// `env` adds or overrides `GONGDAN__...` settings.
    pub(super) fn start(
        rules: &std::path::Path,
        data: &std::path::Path,
        env: &[(&str, String)],
    ) -> anyhow::Result<ServerProcess> {
        // Ask the OS for a free port, then hand it to the child.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = std::process::Command::new(std::env::current_exe()?)
            .arg("serve")
            .env("GONGDAN__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("GONGDAN__STORAGE__DATA_DIR", data)
            .env("GONGDAN__RULES__DIR", rules)
            .env("GONGDAN__RULES__WATCH", "false")
            .env("GONGDAN__ROLES__OFFICERS", r#"["generic:bench-officer"]"#)
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .spawn()
            .context("cannot start `gongdan serve`")?;
        Ok(ServerProcess { child, port })
    }

    pub(super) async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("`gongdan serve` exited during start-up: {status}");
            }
            if reqwest::get(&url)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("`gongdan serve` did not answer /healthz within 10 s")
    }

    pub(super) fn peak_rss_mib(&self) -> Option<f64> {
        self.status_mib("VmHWM:")
    }

    pub(super) fn rss_mib(&self) -> Option<f64> {
        self.status_mib("VmRSS:")
    }

    fn status_mib(&self, field: &str) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
    }

    pub(super) async fn metric(&self, name: &str) -> f64 {
        let url = format!("http://127.0.0.1:{}/metrics", self.port);
        let Ok(resp) = reqwest::get(&url).await else {
            return 0.0;
        };
        let text = resp.text().await.unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// SIGTERM: the server finishes in-flight requests and flushes.
    pub(super) fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let rules = crate::cli::classify::load_rules(&args.rules)?;
    let traffic = Arc::new(Traffic::from_rules(&rules, args.groups, "bench"));
    drop(rules);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let data = tempfile::tempdir().context("cannot create a temporary data directory")?;
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
        base.print("trivial axum handler (in-process)");
        trivial.abort();

        let mut server = ServerProcess::start(&args.rules, &data.path().join("data"), &[])?;
        server.wait_ready().await?;
        let url = format!("http://127.0.0.1:{}/webhook/generic", server.port);
        let mut ours = closed_loop(&url, traffic.clone(), args.connections, args.seconds).await;
        ours.print("gongdan serve, durable ingest");
        let sent = ours.ok + ours.failed;
        println!(
            "  ratio to the trivial handler: {:.1}%",
            100.0 * ours.throughput() / base.throughput().max(1.0)
        );
        if args.rate > 0 {
            let mut fixed = fixed_rate(&url, traffic.clone(), args.rate, args.seconds, sent).await;
            fixed.print(&format!("gongdan serve at {} msgs/s", args.rate));
        }
        println!(
            "  tickets opened: {:.0}; messages merged into open tickets: {:.0}",
            server.metric("gongdan_tickets_created_total").await,
            server
                .metric("gongdan_messages_total{platform=\"generic\",outcome=\"joined\"}")
                .await,
        );
        match server.peak_rss_mib() {
            Some(rss) => println!("  peak RSS of gongdan serve: {rss:.0} MiB"),
            None => println!("  peak RSS of gongdan serve: unavailable (no /proc)"),
        }
        server.stop();
        Ok::<_, anyhow::Error>(())
    })?;
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS of the load generator: {rss:.0} MiB");
    }
    Ok(ExitCode::SUCCESS)
}
