//! `gongdan bench console`: every console page timed over HTTP against a large store (`bench scale --data DIR`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use gongdan::config::Config;
use gongdan::console::users::{hash_password, users_path};
use gongdan::console::{StaffRole, User, Users};
use gongdan::server::Application;

use super::percentiles;

#[derive(Args)]
pub struct ConsoleArgs {
    /// A store filled by `gongdan bench scale --data DIR` (the server must not hold it).
    #[arg(long)]
    data: PathBuf,
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// Requests per page.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// One community over `bench scale`'s first ten groups, for the scoped officer.
const ORG: &str = r#"
[city]
name = "基准市"

[[district]]
name = "基准区"

[[street]]
name = "基准街道"
district = "基准区"

[[community]]
name = "基准社区"
street = "基准街道"
groups = ["generic:group-0", "generic:group-1", "generic:group-2", "generic:group-3", "generic:group-4",
          "generic:group-5", "generic:group-6", "generic:group-7", "generic:group-8", "generic:group-9"]
officers = [{ id = "generic:bench-officer", name = "基准队员" }]
"#;

const PASSWORD: &str = "bench-password";

struct Client {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Client {
    async fn login(base: &str, name: &str) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let form = http.get(format!("{base}/console/login")).send().await?;
        let login_cookie = form
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .context("no login cookie")?
            .to_string();
        let csrf = login_cookie
            .split_once('=')
            .map(|x| x.1.to_string())
            .unwrap_or_default();
        let resp = http
            .post(format!("{base}/console/login"))
            .header("cookie", &login_cookie)
            .form(&[("name", name), ("password", PASSWORD), ("csrf", &csrf)])
            .send()
            .await?;
        let session = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("gongdan_session="))
            .and_then(|v| v.split(';').next())
            .with_context(|| format!("login as {name} failed: {}", resp.status()))?
            .to_string();
        Ok(Client {
            http,
            base: base.to_string(),
            cookie: session,
        })
    }

    /// Milliseconds for one GET, and its size; fails on a non-200.
    async fn time(&self, path: &str) -> anyhow::Result<(u64, usize)> {
        let t = Instant::now();
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        if !status.is_success() {
            bail!("{path}: {status}");
        }
        Ok((t.elapsed().as_micros() as u64, body.len()))
    }
}

pub fn run(args: ConsoleArgs) -> anyhow::Result<ExitCode> {
    if !args.data.exists() {
        bail!(
            "no store at {}: fill one first with `gongdan bench scale --data {}`",
            args.data.display(),
            args.data.display()
        );
    }
    let org_dir = tempfile::tempdir()?;
    let org_path = org_dir.path().join("org.toml");
    std::fs::write(&org_path, ORG)?;
    let users_file = users_path(&args.data);
    let mut users = Users::load(&users_file)?;
    for (name, role, platform_id) in [
        ("bench-admin", StaffRole::Admin, None),
        (
            "bench-officer",
            StaffRole::Officer,
            Some("generic:bench-officer"),
        ),
    ] {
        users.upsert(User {
            name: name.into(),
            role,
            platform_id: platform_id.map(String::from),
            scope: None,
            password_hash: hash_password(PASSWORD)?,
            token_hashes: Vec::new(),
        });
    }
    users.save(&users_file)?;

    let mut config = Config::default();
    config.server.bind = "127.0.0.1:0".parse()?;
    config.storage.data_dir = args.data.clone();
    config.rules.dir = args.rules.clone();
    config.rules.watch = false;
    config.org.path = Some(org_path);
    config.digest.enabled = false;
    // The SLA timer would sweep every open ticket during the measurement.
    config.sla.check_every_secs = 86_400;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = Application::build(config).await?;
        let service = app.service();
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(app.run_until_stopped(false));
        let newest = service
            .store()
            .list(&gongdan::ticket::ListFilter {
                limit: Some(1),
                ..Default::default()
            })?
            .first()
            .map(|t| t.id.get())
            .context("the store is empty: fill it with `gongdan bench scale --data DIR`")?;
        let month = service
            .clock()
            .now()
            .with_timezone(&gongdan::ticket::china_tz())
            .format("%Y-%m")
            .to_string();
        let admin = Client::login(&base, "bench-admin").await?;
        let officer = Client::login(&base, "bench-officer").await?;
        let pages: Vec<(&str, &Client, String)> = vec![
            (
                "board, officer (one community)",
                &officer,
                "/console".into(),
            ),
            ("board, city (all open)", &admin, "/console".into()),
            (
                "board, city, all statuses, page 3",
                &admin,
                "/console?status=all&page=3".into(),
            ),
            (
                "board, city, text search",
                &admin,
                "/console?status=all&q=%E7%AC%AC5%E6%AC%A1".into(),
            ),
            ("ticket page", &admin, format!("/console/tickets/{newest}")),
            ("dashboard, officer", &officer, "/console/dashboard".into()),
            ("dashboard, city", &admin, "/console/dashboard".into()),
            (
                "monthly xlsx, officer",
                &officer,
                format!("/console/report.xlsx?month={month}"),
            ),
            ("rules", &admin, "/console/rules".into()),
        ];
        let tickets = service.store().counters().map(|c| c.0).unwrap_or(0);
        println!(
            "gongdan bench console: {} ({} tickets issued), {} runs per page",
            args.data.display(),
            tickets.saturating_sub(gongdan::ticket::FIRST_TICKET),
            args.runs
        );
        for (label, client, path) in &pages {
            let mut samples = Vec::new();
            let mut size = 0;
            for _ in 0..args.runs.max(1) {
                let (us, bytes) = client.time(path).await?;
                samples.push(us);
                size = bytes;
            }
            let max = samples.iter().copied().max().unwrap_or(0) as f64 / 1000.0;
            let [p50, _, _] = percentiles(&mut samples);
            let verdict = if p50 < 200.0 { "" } else { "  (over 200 ms)" };
            println!(
                "  {label:<36} p50 {p50:>8.1} ms  max {max:>8.1} ms  {:>7} KiB{verdict}",
                size / 1024
            );
        }
        service.begin_shutdown();
        let _ = server.await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
