//! The HTTP layer under hostile clients, over raw TCP: timeouts, the
//! connection cap, bounded shutdown, and JSON answers to malformed requests.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{spawn_app, test_config, TestApp};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const COMPLAINT: &str = "5号楼楼道里堆满了纸箱，没人管";

async fn app(tweak: impl FnOnce(&mut gongdan::config::Config)) -> (tempfile::TempDir, TestApp) {
    let root = tempfile::tempdir().unwrap();
    let mut config = test_config(root.path());
    tweak(&mut config);
    let app = spawn_app(config).await;
    (root, app)
}

/// Everything the server sends until it closes, or `None` if it is still
/// open after `wait`.
async fn read_to_close(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    match tokio::time::timeout(wait, stream.read_to_end(&mut got)).await {
        Ok(_) => Some(got),
        Err(_) => None,
    }
}

/// Sends `request` raw and returns the status and JSON body of the answer.
async fn raw(addr: SocketAddr, request: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let got = read_to_close(&mut stream, Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("no answer to {}", String::from_utf8_lossy(request)));
    parse_answer(&got)
}

fn parse_answer(got: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(got);
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let json = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, json)
}

fn assert_error(got: (u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
    assert!(got.1["message"].as_str().is_some_and(|m| !m.is_empty()));
}

fn tickets(app: &TestApp) -> usize {
    app.service.store().list(&Default::default()).unwrap().len()
}

#[tokio::test]
async fn requests_hyper_cannot_parse_get_json_errors() {
    let (_root, app) = app(|_| {}).await;
    let long = "a".repeat(20_000);
    let cases: Vec<(String, u16, &str)> = vec![
        (
            "DELETE /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".into(),
            405,
            "method_not_allowed",
        ),
        (
            format!("GET /{long} HTTP/1.1\r\nhost: x\r\n\r\n"),
            431,
            "headers_too_large",
        ),
        (
            format!("GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {long}\r\n\r\n"),
            431,
            "headers_too_large",
        ),
        (
            "POST /webhook/generic HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n".into(),
            400,
            "bad_request",
        ),
        (
            "POST /webhook/generic HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}"
                .into(),
            400,
            "bad_request",
        ),
        (
            "POST /webhook/generic HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip\r\n\r\n".into(),
            400,
            "bad_request",
        ),
        ("HELLO\r\n\r\n".into(), 400, "bad_request"),
    ];
    for (request, status, code) in cases {
        assert_error(raw(app.addr, request.as_bytes()).await, status, code);
    }
    let (status, _) = app.say("ok", "zhang", COMPLAINT).await;
    assert_eq!(status, 200, "the server still works");
    app.stop().await;
}

#[tokio::test]
async fn compressed_bodies_are_refused_not_read_as_json() {
    let (_root, app) = app(|_| {}).await;
    let json =
        format!(r#"{{"message_id":"m1","group_id":"g1","sender_id":"u","text":"{COMPLAINT}"}}"#);
    let chunked = format!(
        "POST /webhook/generic HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
         transfer-encoding: gzip, chunked\r\n\r\n{:x}\r\n{json}\r\n0\r\n\r\n",
        json.len()
    );
    let encoded = format!(
        "POST /webhook/generic HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
         content-encoding: gzip\r\ncontent-length: {}\r\n\r\n{json}",
        json.len()
    );
    for request in [chunked, encoded] {
        assert_error(
            raw(app.addr, request.as_bytes()).await,
            415,
            "unsupported_encoding",
        );
    }
    assert_eq!(tickets(&app), 0, "nothing was ingested");
    app.stop().await;
}

#[tokio::test]
async fn a_get_never_ingests_a_message() {
    let (_root, app) = app(|_| {}).await;
    let json =
        format!(r#"{{"message_id":"m1","group_id":"g1","sender_id":"u","text":"{COMPLAINT}"}}"#);
    let request = format!(
        "GET /webhook/generic HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{json}",
        json.len()
    );
    assert_error(
        raw(app.addr, request.as_bytes()).await,
        405,
        "method_not_allowed",
    );
    assert_eq!(tickets(&app), 0);
    app.stop().await;
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_the_body() {
    let (_root, app) = app(|c| c.server.body_read_timeout_ms = 30_000).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    // The body never comes: the answer must not wait for it.
    stream
        .write_all(
            b"POST /webhook/generic HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000000\r\n\r\n{",
        )
        .await
        .unwrap();
    let mut got = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut got))
        .await
        .expect("answered at once from the header")
        .unwrap();
    assert_error(parse_answer(&got[..n]), 413, "body_too_large");
    app.stop().await;
}

#[tokio::test]
async fn a_body_that_trickles_gets_408() {
    let (_root, app) = app(|c| c.server.body_read_timeout_ms = 300).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(
            b"POST /webhook/generic HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"mes",
        )
        .await
        .unwrap();
    let got = read_to_close(&mut stream, Duration::from_secs(3))
        .await
        .expect("answered and closed");
    assert_error(parse_answer(&got), 408, "body_timeout");
    app.stop().await;
}

#[tokio::test]
async fn a_head_sent_byte_by_byte_is_cut_off() {
    let (_root, app) = app(|c| c.server.header_read_timeout_ms = 300).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    let head = b"POST /webhook/generic HTTP/1.1\r\nhost: x\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for byte in head {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
        if started.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    assert!(
        read_to_close(&mut stream, Duration::from_millis(500))
            .await
            .is_some(),
        "the server closed the connection"
    );
    assert!(started.elapsed() < Duration::from_secs(3), "closed in time");
    app.stop().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_once_idle() {
    let (_root, app) = app(|c| {
        c.server.header_read_timeout_ms = 30_000;
        c.server.idle_timeout_ms = 300;
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    assert!(
        read_to_close(&mut stream, Duration::from_secs(3))
            .await
            .is_some(),
        "closed by the idle timeout"
    );
    app.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let (_root, app) = app(|c| c.server.max_connections = 2).await;
    let silent: Vec<TcpStream> = vec![
        TcpStream::connect(app.addr).await.unwrap(),
        TcpStream::connect(app.addr).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(app.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "answered while two connections were open");
    drop(silent);
    let got = read_to_close(&mut third, Duration::from_secs(3))
        .await
        .expect("answered once a slot was free");
    assert!(
        got.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    app.stop().await;
}

#[tokio::test]
async fn shutdown_waits_no_longer_than_the_grace_for_a_slow_client() {
    let (_root, app) = app(|c| {
        c.server.shutdown_grace_secs = 1;
        c.server.body_read_timeout_ms = 60_000;
    })
    .await;
    let (status, body) = app.say("m1", "zhang", COMPLAINT).await;
    assert_eq!(status, 200);
    let id = body["ticket"].as_u64().unwrap();
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"POST /webhook/generic HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let store = app.service.store().clone();
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), app.stop())
        .await
        .expect("shutdown is bounded by the grace");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the grace was given"
    );
    assert!(
        read_to_close(&mut slow, Duration::from_secs(1))
            .await
            .is_some(),
        "the slow request was dropped"
    );
    let ticket = gongdan::ticket::TicketId::new(id).unwrap();
    assert!(
        store.get(ticket).unwrap().is_some(),
        "the acknowledged one is stored"
    );
}
