//! Crash test: `gongdan serve` as a real process, killed with SIGKILL at random
//! moments while messages pour in, restarted each time. Afterwards every
//! acknowledged message has exactly one effect, none has two, the event log
//! matches ticket states, and every queued reply is delivered once.
//!
//! Replies are delivered during the killing too (the stand-in is up every
//! other cycle), one send at a time. The stand-in dedupes by
//! `Idempotency-Key` as a platform would: every reply's key must arrive, and
//! a raw duplicate is allowed only for a send in flight at a kill (at most
//! one per kill).

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{copy_rules, StandIn};
use gongdan::ticket::{EventKind, ListFilter, Status, Store};
use rand::Rng;
use serde_json::json;

const CYCLES: usize = 20;
const WORKERS: usize = 8;

/// `in_flight`: the outbox's `max_in_flight` (1 while killing, so at most
/// one delivery is unconfirmed at any kill).
fn start_server(data: &Path, rules: &Path, port: u16, reply_url: &str, in_flight: usize) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gongdan"))
        .arg("serve")
        .env("GONGDAN__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("GONGDAN__STORAGE__DATA_DIR", data)
        .env("GONGDAN__RULES__DIR", rules)
        .env("GONGDAN__RULES__WATCH", "false")
        .env("GONGDAN__PLATFORMS__GENERIC__REPLY_URL", reply_url)
        .env("GONGDAN__OUTBOX__INITIAL_BACKOFF_MS", "50")
        .env("GONGDAN__OUTBOX__MAX_BACKOFF_MS", "200")
        .env("GONGDAN__OUTBOX__PER_GROUP_PER_MINUTE", "1000")
        .env("GONGDAN__OUTBOX__SEND_TIMEOUT_MS", "2000")
        .env("GONGDAN__OUTBOX__MAX_IN_FLIGHT", in_flight.to_string())
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gongdan serve starts")
}

async fn wait_healthy(client: &reqwest::Client, port: u16, child: &mut Child) {
    let url = format!("http://127.0.0.1:{port}/healthz");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "server exited during start-up"
        );
        if client
            .get(&url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("server did not become healthy");
}

/// What the load generator knows about one message it sent.
#[derive(Clone, Debug)]
struct Sent {
    id: String,
    /// A complaint (unique text) or a `#补充` note (unique note) for `ticket`.
    kind: Kind,
    acked: bool,
}

#[derive(Clone, Debug)]
enum Kind {
    Complaint { text: String },
    Note { ticket: u64, note: String },
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let root = tempfile::tempdir().unwrap();
    let rules = copy_rules(root.path());
    let data = root.path().join("data");
    let platform = StandIn::start().await;
    let reply_url = platform.url("/send");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    // Tickets whose complaint was acknowledged, with the reporter: notes go to them.
    let tickets: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let mut seq = 0u64;
    let mut rng = rand::thread_rng();

    for cycle in 0..CYCLES {
        // Down half the time, so replies also queue up and wait across kills.
        platform.set_up(cycle % 2 == 0);
        let mut child = start_server(&data, &rules, port, &reply_url, 1);
        wait_healthy(&client, port, &mut child).await;
        let deadline = Instant::now() + Duration::from_millis(rng.gen_range(50..600));
        let mut tasks = Vec::new();
        for w in 0..WORKERS {
            let (client, sent, tickets) = (client.clone(), sent.clone(), tickets.clone());
            let base = seq + (w as u64) * 100_000;
            tasks.push(tokio::spawn(async move {
                let url = format!("http://127.0.0.1:{port}/webhook/generic");
                let mut n = 0u64;
                loop {
                    n += 1;
                    let k = base + n;
                    let id = format!("c{cycle}-w{w}-{n}");
                    let target = {
                        let t = tickets.lock().unwrap();
                        (k.is_multiple_of(5) && !t.is_empty()).then(|| t[(k as usize) % t.len()].clone())
                    };
                    let (kind, sender, group, text) = match target {
                        Some((ticket, reporter)) => {
                            // Bracketed so no note is a substring of another (c1-w2-1 vs c1-w2-10).
                            let note = format!("补充说明〔{id}〕");
                            let text = format!("#补充 {ticket} {note}");
                            (Kind::Note { ticket, note }, reporter, format!("g{ticket}"), text)
                        }
                        None => {
                            // A unique problem in its own group: it opens its own ticket.
                            let text = format!("{}号楼{}单元楼道里堆满了纸箱，没人管 {id}", k % 90 + 1, k % 7 + 1);
                            (Kind::Complaint { text: text.clone() }, format!("u{id}"), format!("grp-{id}"), text)
                        }
                    };
                    let body = json!({"message_id": id, "group_id": group, "sender_id": sender, "text": text});
                    let result = client.post(&url).json(&body).send().await;
                    let acked = matches!(&result, Ok(r) if r.status().is_success());
                    let answer: Option<serde_json::Value> = match result {
                        Ok(r) if acked => r.json().await.ok(),
                        _ => None,
                    };
                    if let (true, Kind::Complaint { .. }, Some(t)) =
                        (acked, &kind, answer.as_ref().and_then(|a| a["ticket"].as_u64()))
                    {
                        tickets.lock().unwrap().push((t, sender.clone()));
                    }
                    sent.lock().unwrap().push(Sent { id, kind, acked });
                    if !acked && Instant::now() > deadline {
                        break; // the server is gone
                    }
                }
            }));
        }
        tokio::time::sleep_until(deadline.into()).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        seq += 1_000_000;
    }

    // Bring the platform up and let one last server deliver everything.
    platform.set_up(true);
    let mut child = start_server(&data, &rules, port, &reply_url, 32);
    wait_healthy(&client, port, &mut child).await;
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let started = Instant::now();
    loop {
        let m = client
            .get(&metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if m.lines().any(|l| l == "gongdan_outbox_depth 0") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "outbox never drained"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();

    // Verify offline.
    let store = Store::open(&data).unwrap();
    let sent = sent.lock().unwrap().clone();
    let all = store.list(&ListFilter::default()).unwrap();
    let mut lost = 0;
    let mut duplicated = 0;
    let mut complaints_by_text: HashMap<&str, usize> = HashMap::new();
    for t in &all {
        *complaints_by_text.entry(t.text.as_str()).or_default() += 1;
    }
    // (ticket, note text) → how many times it was recorded.
    let mut notes: HashMap<(u64, String), usize> = HashMap::new();
    let mut replies_expected = 0usize;
    for t in &all {
        let history = store.history(t.id).unwrap();
        for e in &history {
            if e.kind == EventKind::Supplemented {
                if let Some(n) = &e.note {
                    *notes.entry((t.id.get(), n.clone())).or_default() += 1;
                }
            }
        }
        // The event log agrees with the ticket's state.
        let last_to = history.iter().rev().find_map(|e| e.to);
        assert_eq!(
            last_to.unwrap_or(Status::Open),
            t.status,
            "ticket {} log vs state",
            t.id
        );
        assert_eq!(history.first().map(|e| e.kind), Some(EventKind::Created));
    }
    for s in &sent {
        let processed = store.processed_outcome("generic", &s.id).unwrap();
        if let Some(p) = &processed {
            replies_expected += p.replies.len();
        }
        let effects = match &s.kind {
            Kind::Complaint { text } => complaints_by_text.get(text.as_str()).copied().unwrap_or(0),
            Kind::Note { ticket, note } => notes
                .iter()
                .filter(|((t, text), _)| t == ticket && text.contains(note.as_str()))
                .map(|(_, n)| n)
                .sum(),
        };
        if effects > 1 {
            duplicated += 1;
        }
        if s.acked && (effects != 1 || processed.is_none()) {
            lost += 1;
        }
        // Written means recorded: an effect without a processed record would
        // be applied again on a retry.
        if effects == 1 {
            assert!(
                processed.is_some(),
                "{} has an effect but no processed record",
                s.id
            );
        }
    }
    let received = platform.received();
    let texts: HashSet<String> = received
        .iter()
        .map(|r| r.json()["text"].as_str().unwrap_or("").to_string())
        .collect();
    // Outbox ids are handed out 1, 2, 3, ...: every one must have arrived.
    let next_id = store.outbox_next_id().unwrap();
    let keys = platform.distinct_keys();
    let missing: Vec<u64> = (1..next_id)
        .filter(|id| !keys.contains(&format!("gongdan-{id}")))
        .collect();
    let raw_duplicates = received.len() - keys.len();
    let acked = sent.iter().filter(|s| s.acked).count();
    println!(
        "crash test: {CYCLES} SIGKILL cycles, {} messages sent, {acked} acknowledged, {} tickets, \
         {lost} lost, {duplicated} duplicated, {} replies queued, {} delivered ({} distinct keys, \
         {raw_duplicates} raw duplicates)",
        sent.len(),
        all.len(),
        next_id - 1,
        received.len(),
        keys.len()
    );
    assert!(
        acked > CYCLES * 5,
        "too few messages acknowledged to mean anything"
    );
    assert_eq!(lost, 0, "acknowledged messages without exactly one effect");
    assert_eq!(duplicated, 0, "messages with more than one effect");
    assert!(
        received.len() >= replies_expected,
        "{} replies delivered, {replies_expected} queued",
        received.len()
    );
    assert!(!texts.is_empty());
    assert!(
        store.dead_letters().unwrap().is_empty(),
        "replies dead-lettered"
    );
    assert!(missing.is_empty(), "replies never delivered: {missing:?}");
    assert_eq!(keys.len() as u64, next_id - 1, "keys that are no reply's");
    assert_eq!(
        received.len(),
        received
            .iter()
            .filter(|r| r.headers.contains_key("idempotency-key"))
            .count()
    );
    assert!(
        raw_duplicates <= CYCLES,
        "{raw_duplicates} replies posted twice in {CYCLES} kills"
    );
}
