//! Test harness: the real server on port 0 with a temp data directory, and a
//! local stand-in for a chat platform's send API that records what it receives.

#![allow(dead_code)]

pub mod org;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::any;
use axum::Router;
use gongdan::clock::Clock;
use gongdan::config::{Config, Secret};
use gongdan::server::Application;
use gongdan::service::Service;
use serde_json::Value;
use tokio::task::JoinHandle;

/// One request the stand-in platform received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// A local HTTP server standing in for a platform's send API.
#[derive(Clone)]
pub struct StandIn {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    /// HTTP status to answer with (200 = up, 503 = down).
    status: Arc<AtomicU16>,
    /// Body to answer with (a platform's own success JSON).
    reply_body: Arc<Mutex<String>>,
    /// Groups whose sends are received but not answered until released.
    held: Arc<Mutex<HashSet<String>>>,
    /// Requests received and still waiting for an answer.
    waiting: Arc<AtomicU16>,
}

async fn record(
    State(s): State<StandIn>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let status = StatusCode::from_u16(s.status.load(Ordering::SeqCst)).unwrap();
    if !status.is_success() {
        return (status, s.reply_body.lock().unwrap().clone());
    }
    let group = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null)["group_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    s.received.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers,
        body,
    });
    // A held group: like a platform that posts the message and answers late
    // (or never, if the caller has given up by then).
    s.waiting.fetch_add(1, Ordering::SeqCst);
    while s.held.lock().unwrap().contains(&group) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.waiting.fetch_sub(1, Ordering::SeqCst);
    (status, s.reply_body.lock().unwrap().clone())
}

impl StandIn {
    pub async fn start() -> StandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let s = StandIn {
            addr: listener.local_addr().unwrap(),
            received: Arc::default(),
            status: Arc::new(AtomicU16::new(200)),
            reply_body: Arc::new(Mutex::new("{}".to_string())),
            held: Arc::default(),
            waiting: Arc::default(),
        };
        let app = Router::new().fallback(any(record)).with_state(s.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        s
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set_up(&self, up: bool) {
        self.status
            .store(if up { 200 } else { 503 }, Ordering::SeqCst);
    }

    pub fn set_reply_body(&self, body: &str) {
        *self.reply_body.lock().unwrap() = body.to_string();
    }

    /// Sends to `group` are received but not answered until [`StandIn::release`].
    pub fn hold(&self, group: &str) {
        self.held.lock().unwrap().insert(group.to_string());
    }

    pub fn release(&self, group: &str) {
        self.held.lock().unwrap().remove(group);
    }

    /// Requests received and not answered yet.
    pub fn waiting(&self) -> u16 {
        self.waiting.load(Ordering::SeqCst)
    }

    /// The distinct `Idempotency-Key`s received: what a platform that
    /// dedupes by key would have posted.
    pub fn distinct_keys(&self) -> HashSet<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter_map(|r| r.headers.get("idempotency-key"))
            .map(|v| v.to_str().unwrap_or("").to_string())
            .collect()
    }

    /// Wait (up to 15 s) until some received request's JSON `group_id` is `group`.
    pub async fn wait_for_group(&self, group: &str) -> bool {
        for _ in 0..300 {
            if self
                .received()
                .iter()
                .any(|r| r.json()["group_id"] == group)
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Wait until at least `n` requests arrived (up to 15 s), then return them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        self.wait_for_within(n, Duration::from_secs(15)).await
    }

    /// [`StandIn::wait_for`] with a shorter patience.
    pub async fn wait_for_within(&self, n: usize, patience: Duration) -> Vec<Received> {
        for _ in 0..patience.as_millis() / 50 {
            if self.received.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.received()
    }
}

/// The repo's rules, copied so a test can edit them.
pub fn copy_rules(to: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let dst = to.join("rules");
    std::fs::create_dir_all(dst.join("categories")).unwrap();
    for name in ["global.toml", "dict.txt"] {
        if src.join(name).exists() {
            std::fs::copy(src.join(name), dst.join(name)).unwrap();
        }
    }
    for e in std::fs::read_dir(src.join("categories")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dst.join("categories").join(p.file_name().unwrap())).unwrap();
    }
    // The knowledge base (rules/answers/*.toml), without its eval folder.
    if src.join("answers").is_dir() {
        std::fs::create_dir_all(dst.join("answers")).unwrap();
        for e in std::fs::read_dir(src.join("answers")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                std::fs::copy(&p, dst.join("answers").join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    dst
}

/// A config for tests: port 0, temp data and rules, fast retries, one officer and one admin.
pub fn test_config(root: &Path) -> Config {
    let mut c = Config::default();
    c.server.bind = "127.0.0.1:0".parse().unwrap();
    c.server.api_token = Some(Secret::new("test-token"));
    c.storage.data_dir = root.join("data");
    c.rules.dir = if root.join("rules").exists() {
        root.join("rules")
    } else {
        copy_rules(root)
    };
    c.rules.watch_interval_ms = 200;
    c.outbox.initial_backoff_ms = 50;
    c.outbox.max_backoff_ms = 300;
    c.roles.officers = vec!["generic:officer-wang".into()];
    c.roles.admins = vec!["generic:admin".into()];
    c
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub service: Arc<Service>,
    /// The service's clock; a test jumps it to make timers act.
    pub clock: Clock,
    pub client: reqwest::Client,
    handle: JoinHandle<()>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POST a generic-webhook message in group `g1`; returns (status, body).
    pub async fn say(&self, message_id: &str, sender: &str, text: &str) -> (u16, Value) {
        self.say_in("g1", message_id, sender, text).await
    }

    /// [`TestApp::say`] in another group.
    pub async fn say_in(
        &self,
        group: &str,
        message_id: &str,
        sender: &str,
        text: &str,
    ) -> (u16, Value) {
        let body = serde_json::json!({
            "message_id": message_id,
            "group_id": group,
            "group_name": "阳光小区业主群",
            "sender_id": sender,
            "sender_name": sender,
            "text": text,
        });
        let resp = self
            .client
            .post(self.url("/webhook/generic"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// `GET` an `/api` path with the test config's bearer token.
    pub async fn api_get(&self, path: &str) -> reqwest::Response {
        let req = self.client.get(self.url(path)).bearer_auth("test-token");
        req.send().await.unwrap()
    }

    /// The Prometheus text of `GET /metrics`.
    pub async fn metrics(&self) -> String {
        let resp = self.client.get(self.url("/metrics")).send().await.unwrap();
        resp.text().await.unwrap()
    }

    /// Graceful stop: stop accepting, finish in-flight work, flush, release the database.
    pub async fn stop(self) {
        self.service.begin_shutdown();
        drop(self.service);
        self.handle.await.unwrap();
    }
}

pub async fn spawn_app(config: Config) -> TestApp {
    spawn_app_with_clock(config, Clock::adjustable()).await
}

/// [`spawn_app`] on a given clock: a restart keeps the time the test had reached.
pub async fn spawn_app_with_clock(config: Config, clock: Clock) -> TestApp {
    let app = Application::build_with_clock(config, clock)
        .await
        .expect("app builds");
    let clock = app.clock();
    let addr: SocketAddr = format!("127.0.0.1:{}", app.port()).parse().unwrap();
    let service = app.service();
    let handle = tokio::spawn(async move {
        app.run_until_stopped(false).await.unwrap();
    });
    TestApp {
        addr,
        service,
        clock,
        client: reqwest::Client::new(),
        handle,
    }
}
