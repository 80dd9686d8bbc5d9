//! Full-disk tests on real small filesystems: a tmpfs mounted under a temp
//! dir holds the data dir, a ballast file fills it, deleting the ballast frees
//! it again. Mounting needs root (CI runs as root); otherwise each test says
//! it was skipped and why.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{copy_rules, spawn_app, test_config, StandIn, TestApp};
use gongdan::ticket::Store;
use serde_json::{json, Value};

const MIB: u64 = 1024 * 1024;

/// A tmpfs of a few MB under a temp dir; unmounted on drop, also when the test fails.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(test: &str, size_mb: u64) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("{test}: skipped: cannot mount a tmpfs (needs root; CI runs as root)");
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn ballast(&self) -> PathBuf {
        self.path().join("ballast")
    }

    /// Grow the ballast until at most `leave` bytes are free (0: until the disk is full).
    fn fill(&self, leave: u64) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.ballast())
            .unwrap();
        let chunk = vec![0x5a_u8; 64 * 1024];
        loop {
            let free = gongdan::disk::free_bytes(self.path()).unwrap();
            if free <= leave {
                break;
            }
            let n = usize::try_from((free - leave).min(chunk.len() as u64)).unwrap();
            if f.write_all(&chunk[..n]).is_err() {
                break;
            }
        }
        let _ = f.sync_all();
    }

    fn free_ballast(&self) {
        std::fs::remove_file(self.ballast()).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// A complaint in its own group, so each one that is stored opens a ticket.
fn complaint(id: &str, padding: usize) -> Value {
    json!({
        "message_id": id,
        "group_id": format!("grp-{id}"),
        "sender_id": format!("u-{id}"),
        "text": format!("3号楼2单元楼道里堆满了纸箱，没人管 {id} {}", "纸箱".repeat(padding)),
    })
}

async fn post(client: &reqwest::Client, base: &str, body: &Value) -> (u16, Value) {
    let resp = client
        .post(format!("{base}/webhook/generic"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn healthz(client: &reqwest::Client, base: &str) -> (u16, String) {
    let resp = client.get(format!("{base}/healthz")).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Poll `/healthz` until it answers `want` (up to 10 s); the last answer.
async fn healthz_until(client: &reqwest::Client, base: &str, want: u16) -> (u16, String) {
    let started = Instant::now();
    loop {
        let got = healthz(client, base).await;
        if got.0 == want || started.elapsed() > Duration::from_secs(10) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn base(app: &TestApp) -> String {
    app.url("")
}

/// What [`send_until_refused`] saw.
struct Refused {
    /// The ids that got a 200 first.
    acked: Vec<String>,
    id: String,
    status: u16,
    body: Value,
}

/// Send complaints until one is not acknowledged.
async fn send_until_refused(app: &TestApp, prefix: &str, most: usize) -> Refused {
    let mut acked = Vec::new();
    for n in 0..most {
        let id = format!("{prefix}-{n}");
        let (status, body) = post(&app.client, &base(app), &complaint(&id, 200)).await;
        if status != 200 {
            return Refused {
                acked,
                id,
                status,
                body,
            };
        }
        acked.push(id);
    }
    panic!("{most} messages were all acknowledged on a full disk");
}

fn full_disk_config(fs: &Tmpfs, min_free_mb: u64) -> gongdan::config::Config {
    let rules_root = tempfile::tempdir().unwrap().keep();
    let mut c = test_config(&rules_root);
    c.storage.data_dir = fs.path().join("data");
    c.storage.min_free_mb = min_free_mb;
    c.storage.free_space_check_ms = 20;
    c
}

fn ticket_count(app: &TestApp) -> usize {
    app.service.store().all_tickets().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_503_while_writes_fail_and_ok_after_space_returns() {
    let Some(fs) = Tmpfs::mount("healthz_is_503_while_writes_fail", 24) else {
        return;
    };
    // No reserve: the disk really fills and sled's writes fail.
    let app = spawn_app(full_disk_config(&fs, 0)).await;
    assert_eq!(healthz(&app.client, &base(&app)).await, (200, "ok".into()));

    fs.fill(0);
    let refused = send_until_refused(&app, "h", 2000).await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.body["error"], "storage_failing");
    let (code, body) = healthz(&app.client, &base(&app)).await;
    assert_eq!(code, 503, "healthz while writes fail: {body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "storage_failing");
    assert!(
        body["message"].as_str().unwrap().contains("No space left"),
        "{body}"
    );

    fs.free_ballast();
    // No message needed: the writer reopens the database by itself.
    assert_eq!(
        healthz_until(&app.client, &base(&app), 200).await,
        (200, "ok".into())
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_recover_without_restart_once_space_returns() {
    let Some(fs) = Tmpfs::mount("writes_recover_without_restart", 24) else {
        return;
    };
    let platform = StandIn::start().await;
    let mut config = full_disk_config(&fs, 0);
    config.platforms.generic.reply_url = Some(platform.url("/send"));
    let data_dir = config.storage.data_dir.clone();
    let app = spawn_app(config).await;
    let mut acked = Vec::new();
    for n in 0..3 {
        let id = format!("early-{n}");
        let (status, _) = post(&app.client, &base(&app), &complaint(&id, 200)).await;
        assert_eq!(status, 200);
        acked.push(id);
    }

    fs.fill(0);
    let refused = send_until_refused(&app, "full", 2000).await;
    assert_eq!(refused.status, 503, "{}", refused.body);
    acked.extend(refused.acked);
    let refused_id = refused.id;
    // Let the delivery worker look at the outbox while the failed database
    // still holds the refused message's reply in memory.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let replies_to = |id: &str| {
        let group = format!("grp-{id}");
        platform
            .received()
            .iter()
            .filter(|r| r.json()["group_id"] == group)
            .count()
    };
    let refused_replies_before = replies_to(&refused_id);

    fs.free_ballast();
    // The refused message, retried by the platform, is stored now, in the same process.
    let mut status = 0;
    for _ in 0..200 {
        status = post(&app.client, &base(&app), &complaint(&refused_id, 200))
            .await
            .0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        status, 200,
        "the retried message is stored after space returns"
    );
    acked.push(refused_id.clone());
    let (status, _) = post(&app.client, &base(&app), &complaint("after", 200)).await;
    assert_eq!(status, 200);
    acked.push("after".into());
    // Their replies are delivered: numbers the failed database handed out in
    // memory are not reused for them.
    for (id, before) in [(refused_id.as_str(), refused_replies_before), ("after", 0)] {
        let mut delivered = false;
        for _ in 0..100 {
            delivered = replies_to(id) > before;
            if delivered {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(delivered, "the reply to {id} is never delivered");
    }
    app.stop().await;

    // Everything acknowledged is on disk, before and after the failure.
    let store = Store::open(&data_dir).unwrap();
    for id in &acked {
        assert!(
            store.processed_outcome("generic", id).unwrap().is_some(),
            "acknowledged message {id} is lost"
        );
    }
    assert_eq!(store.all_tickets().unwrap().len(), acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_disk_refuses_messages_with_503_before_the_disk_is_full() {
    let Some(fs) = Tmpfs::mount("low_disk_refuses_messages", 32) else {
        return;
    };
    let app = spawn_app(full_disk_config(&fs, 8)).await;
    let (status, _) = post(&app.client, &base(&app), &complaint("roomy", 10)).await;
    assert_eq!(status, 200);

    fs.fill(4 * MIB);
    let (code, body) = healthz_until(&app.client, &base(&app), 503).await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "low_disk"
    );
    for n in 0..20 {
        let (status, body) = post(
            &app.client,
            &base(&app),
            &complaint(&format!("low-{n}"), 10),
        )
        .await;
        assert_eq!(status, 503, "message {n} on a low disk: {body}");
        assert_eq!(body["error"], "low_disk");
        assert!(
            body["message"].as_str().unwrap().contains("min_free_mb"),
            "{body}"
        );
    }
    assert_eq!(
        ticket_count(&app),
        1,
        "a refused message must not be stored"
    );
    assert!(gongdan::disk::free_bytes(fs.path()).unwrap() > 3 * MIB);

    fs.free_ballast();
    assert_eq!(healthz_until(&app.client, &base(&app), 200).await.0, 200);
    let (status, _) = post(&app.client, &base(&app), &complaint("low-0", 10)).await;
    assert_eq!(status, 200);
    assert_eq!(ticket_count(&app), 2);
    app.stop().await;
}

fn start_server(data: &Path, rules: &Path, port: u16, min_free_mb: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gongdan"))
        .arg("serve")
        .env("GONGDAN__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("GONGDAN__STORAGE__DATA_DIR", data)
        .env("GONGDAN__STORAGE__MIN_FREE_MB", min_free_mb.to_string())
        .env("GONGDAN__STORAGE__FREE_SPACE_CHECK_MS", "20")
        .env("GONGDAN__RULES__DIR", rules)
        .env("GONGDAN__RULES__WATCH", "false")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gongdan serve starts")
}

/// Wait until the server answers `/healthz` at all (a 503 counts: it is up); panics if it exits.
async fn wait_answering(client: &reqwest::Client, base: &str, child: &mut Child) -> u16 {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Some(exit) = child.try_wait().unwrap() {
            panic!("server exited during start-up ({exit}): the database did not open");
        }
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            return r.status().as_u16();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("server did not answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_opens_after_sigkill_on_a_full_disk() {
    let Some(fs) = Tmpfs::mount("database_opens_after_sigkill", 32) else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let rules = copy_rules(root.path());
    let data = fs.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let mut child = start_server(&data, &rules, port, 8);
    assert_eq!(wait_answering(&client, &base, &mut child).await, 200);
    let mut acked = Vec::new();
    for n in 0..5 {
        let id = format!("k-{n}");
        assert_eq!(post(&client, &base, &complaint(&id, 200)).await.0, 200);
        acked.push(id);
    }
    // Everything else on the disk fills it up to the reserve; the messages
    // keep coming until they are refused, and the service is killed while
    // they still come.
    fs.fill(6 * MIB);
    let refused = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..4 {
        let (client, base, refused) = (client.clone(), base.clone(), refused.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for n in 0..5000 {
                let id = format!("w{w}-{n}");
                let sent = client
                    .post(format!("{base}/webhook/generic"))
                    .json(&complaint(&id, 400))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 200 => acked.push(id),
                    Ok(_) => refused.store(true, Ordering::SeqCst),
                    Err(_) => break,
                }
            }
            acked
        }));
    }
    let started = Instant::now();
    while !refused.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        refused.load(Ordering::SeqCst),
        "nothing was refused on a full disk"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }

    // The disk is as full as it was; the database must still open.
    let mut child = start_server(&data, &rules, port, 8);
    let status = wait_answering(&client, &base, &mut child).await;
    assert_eq!(status, 503, "low disk is reported after the restart");
    child.kill().unwrap();
    child.wait().unwrap();

    let store = Store::open(&data).expect("database opens after SIGKILL on a full disk");
    for id in &acked {
        assert!(
            store.processed_outcome("generic", id).unwrap().is_some(),
            "acknowledged message {id} is lost"
        );
    }
}
