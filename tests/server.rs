//! Black-box tests of the service: the real server on port 0, a temp sled
//! database, and a local stand-in for the platform's send API.

mod common;

use std::time::Duration;

use common::{spawn_app, test_config, StandIn, TestApp};
use gongdan::platform::signature::hmac_sha256;
use gongdan::ticket::TicketId;
use serde_json::{json, Value};

/// An app whose generic-platform replies go to a fresh stand-in; `tweak`
/// adjusts the config first. Keep the temp dir alive for the test.
async fn app_with_platform(
    tweak: impl FnOnce(&mut gongdan::config::Config),
) -> (tempfile::TempDir, StandIn, TestApp) {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let mut config = test_config(root.path());
    config.platforms.generic.reply_url = Some(platform.url("/send"));
    tweak(&mut config);
    let app = spawn_app(config).await;
    (root, platform, app)
}

const COMPLAINT: &str = "5号楼楼道里堆满了纸箱，没人管，有事打13812345678";

#[tokio::test]
async fn complaint_becomes_ticket_and_reply_is_delivered() {
    let (_root, platform, app) = app_with_platform(|_| {}).await;

    let (status, body) = app.say("m1", "zhang", COMPLAINT).await;
    assert_eq!(status, 200, "{body}");
    let ticket = body["ticket"].as_u64().expect("a ticket number");
    let reply = body["replies"][0]["text"].as_str().unwrap();
    assert!(reply.contains(&format!("#{ticket}")), "{reply}");
    assert!(reply.contains("乱堆乱放"), "{reply}");
    assert_eq!(body["replies"][0]["group_id"], "g1");

    // Acknowledged means stored: the ticket is there before any delivery.
    let stored = app
        .service
        .store()
        .get(gongdan::ticket::TicketId::new(ticket).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(stored.category, "clutter");
    assert_eq!(
        stored.location.as_deref().map(|l| l.starts_with("5号楼")),
        Some(true)
    );

    let got = platform.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let sent = got[0].json();
    assert_eq!(sent["group_id"], "g1");
    assert_eq!(sent["ticket"], ticket);
    assert!(sent["text"]
        .as_str()
        .unwrap()
        .contains(&format!("#{ticket}")));
    assert!(!sent["text"].as_str().unwrap().contains("13812345678"));

    // Chatter gets no ticket and no reply.
    let (status, body) = app.say("m2", "li", "早上好呀各位").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"replies": [], "ticket": null}));
    app.stop().await;
}

#[tokio::test]
async fn a_retried_delivery_makes_one_ticket_and_one_reply() {
    let (_root, platform, app) = app_with_platform(|_| {}).await;

    let (_, first) = app.say("same-id", "zhang", COMPLAINT).await;
    let (_, second) = app.say("same-id", "zhang", COMPLAINT).await;
    assert_eq!(first["ticket"], second["ticket"]);
    assert_eq!(first["replies"], second["replies"]);
    assert_eq!(
        app.service.store().list(&Default::default()).unwrap().len(),
        1
    );

    platform.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(platform.received().len(), 1, "exactly one reply posted");
    app.stop().await;
}

#[tokio::test]
async fn repeat_report_from_a_neighbour_joins_the_ticket() {
    let root = tempfile::tempdir().unwrap();
    let app = spawn_app(test_config(root.path())).await;
    let (_, a) = app.say("m1", "zhang", COMPLAINT).await;
    let (_, b) = app.say("m2", "wang", "5号楼楼道堆满杂物了，过不去").await;
    assert_eq!(a["ticket"], b["ticket"]);
    let reply = b["replies"][0]["text"].as_str().unwrap();
    assert!(
        reply.contains("已记录您的反映") && reply.contains("2 人"),
        "{reply}"
    );
    app.stop().await;
}

#[tokio::test]
async fn officer_claims_and_resolves_and_resident_confirms() {
    let root = tempfile::tempdir().unwrap();
    let app = spawn_app(test_config(root.path())).await;
    let (_, body) = app.say("m1", "zhang", COMPLAINT).await;
    let n = body["ticket"].as_u64().unwrap();

    // A resident may not claim.
    let (status, refused) = app.say("m2", "li", &format!("#认领 {n}")).await;
    assert_eq!(status, 200);
    let text = refused["replies"][0]["text"].as_str().unwrap();
    assert!(text.contains("仅限"), "{text}");
    let t = app
        .service
        .store()
        .get(gongdan::ticket::TicketId::new(n).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(t.status, gongdan::ticket::Status::Open, "nothing changed");

    let (_, claimed) = app.say("m3", "officer-wang", &format!("#认领 #{n}")).await;
    assert!(claimed["replies"][0]["text"]
        .as_str()
        .unwrap()
        .contains(&format!("#{n}")));
    let (_, resolved) = app
        .say("m4", "officer-wang", &format!("/resolve {n} 已清理完毕"))
        .await;
    assert!(
        resolved["replies"][0]["text"]
            .as_str()
            .unwrap()
            .contains("已清理完毕"),
        "{resolved}"
    );
    let (_, confirmed) = app.say("m5", "zhang", &format!("#确认 {n}")).await;
    assert!(!confirmed["replies"].as_array().unwrap().is_empty());
    let t = app
        .service
        .store()
        .get(gongdan::ticket::TicketId::new(n).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(t.status, gongdan::ticket::Status::Closed);

    // The history is on the API.
    let resp = app.api_get(&format!("/api/tickets/{n}")).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["ticket"]["status"], "closed");
    assert!(v["history"].as_array().unwrap().len() >= 4, "{v}");
    app.stop().await;
}

#[tokio::test]
async fn replies_wait_while_the_platform_is_down_and_go_out_once_it_is_back() {
    let (_root, platform, app) = app_with_platform(|_| {}).await;
    platform.set_up(false);

    let (status, _) = app.say("m1", "zhang", COMPLAINT).await;
    assert_eq!(status, 200, "ingest does not wait for the platform");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(platform.received().is_empty());
    assert_eq!(app.service.store().outbox_len(), 1);

    platform.set_up(true);
    let got = platform.wait_for(1).await;
    assert_eq!(got.len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(platform.received().len(), 1, "delivered once");
    assert_eq!(app.service.store().outbox_len(), 0);
    assert!(app.service.metrics().deliveries_failed() >= 1);
    app.stop().await;
}

#[tokio::test]
async fn pending_replies_are_delivered_after_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let mut config = test_config(root.path());
    // Nothing listens on the discard port: every send fails.
    config.platforms.generic.reply_url = Some("http://127.0.0.1:9/send".into());
    let app = spawn_app(config.clone()).await;
    let (_, body) = app.say("m1", "zhang", COMPLAINT).await;
    let n = body["ticket"].as_u64().unwrap();
    app.stop().await;

    let platform = StandIn::start().await;
    config.platforms.generic.reply_url = Some(platform.url("/send"));
    let app = spawn_app(config).await;
    let got = platform.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["ticket"], n);
    // And the ticket survived the restart.
    let (_, again) = app.say("m1", "zhang", COMPLAINT).await;
    assert_eq!(again["ticket"], n);
    app.stop().await;
}

#[tokio::test]
async fn a_bad_rule_edit_keeps_the_old_rules_and_names_the_file() {
    let root = tempfile::tempdir().unwrap();
    let config = test_config(root.path());
    let rules_dir = config.rules.dir.clone();
    let app = spawn_app(config).await;

    let dog = rules_dir.join("categories/dog.toml");
    let original = std::fs::read_to_string(&dog).unwrap();
    std::fs::write(&dog, original.replacen("threshold", "threshhold", 1)).unwrap();

    // Through the API: the errors come back, naming file and line.
    let resp = app
        .client
        .post(app.url("/api/rules/reload"))
        .bearer_auth("test-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let v: Value = resp.json().await.unwrap();
    let errors = v["errors"].to_string();
    assert!(
        errors.contains("dog.toml:") && errors.contains("threshhold"),
        "{v}"
    );

    // Through chat, for an admin.
    let (_, reply) = app.say("r1", "admin", "#重载规则").await;
    let text = reply["replies"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("dog.toml:") && text.contains("仍使用原规则"),
        "{text}"
    );

    // The old rules still classify.
    let (_, body) = app.say("m1", "zhang", "草坪上全是狗屎没人清理").await;
    assert!(body["ticket"].is_u64(), "{body}");

    // The admin fixes the typo: the watcher picks it up without being asked.
    std::fs::write(&dog, &original).unwrap();
    let mut reloaded = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let m = app.metrics().await;
        if m.contains("gongdan_rule_reloads_total{result=\"ok\"}") {
            reloaded = true;
            break;
        }
    }
    assert!(reloaded, "watcher reloaded the fixed rules");
    app.stop().await;
}

#[tokio::test]
async fn a_reload_that_drops_a_category_with_open_tickets_needs_force() {
    let root = tempfile::tempdir().unwrap();
    let config = test_config(root.path());
    let rules_dir = config.rules.dir.clone();
    // About categories only: the knowledge base links answers to `dog`, and a
    // forced removal with those links left in place fails on them (file:line).
    std::fs::remove_dir_all(rules_dir.join("answers")).unwrap();
    let app = spawn_app(config).await;
    let (_, body) = app.say("m1", "zhang", "草坪上全是狗屎没人清理").await;
    let id = body["ticket"].as_u64().expect("a dog ticket");
    assert_eq!(
        app.service
            .store()
            .get(TicketId::new(id).unwrap())
            .unwrap()
            .unwrap()
            .category,
        "dog"
    );
    std::fs::remove_file(rules_dir.join("categories/dog.toml")).unwrap();

    let reload = |query: &'static str| {
        app.client
            .post(app.url(&format!("/api/rules/reload{query}")))
            .bearer_auth("test-token")
            .send()
    };
    let resp = reload("").await.unwrap();
    assert_eq!(resp.status(), 409);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["removed"][0]["category"], "dog", "{v}");
    assert_eq!(v["removed"][0]["open_tickets"], 1, "{v}");
    assert!(
        app.service.rules().category("dog").is_some(),
        "old rules stay"
    );

    let (_, reply) = app.say("r1", "admin", "#重载规则").await;
    let text = reply["replies"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("不文明养犬")
            && text.contains("1 件未结案")
            && text.contains("#重载规则 强制"),
        "{text}"
    );
    assert!(
        app.service.rules().category("dog").is_some(),
        "old rules stay"
    );

    let (_, reply) = app.say("r2", "admin", "#重载规则 强制").await;
    let text = reply["replies"][0]["text"].as_str().unwrap();
    assert!(text.contains("规则已重新加载"), "{text}");
    assert!(app.service.rules().category("dog").is_none());

    // The same from the command line: back again, then removed again.
    let dog = rules_dir.join("categories/dog.toml");
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/categories/dog.toml");
    std::fs::copy(shipped, &dog).unwrap();
    assert_eq!(reload("").await.unwrap().status(), 200);
    std::fs::remove_file(&dog).unwrap();
    let cli = |force: bool| {
        let url = app.url("");
        tokio::task::spawn_blocking(move || {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gongdan"));
            cmd.args(["rules", "reload", "--url", &url])
                .env("GONGDAN__SERVER__API_TOKEN", "test-token");
            if force {
                cmd.arg("--allow-removed");
            }
            cmd.output().unwrap()
        })
    };
    let out = cli(false).await.unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success() && said.contains("\"dog\""), "{said}");
    assert!(
        app.service.rules().category("dog").is_some(),
        "old rules stay"
    );
    let out = cli(true).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(app.service.rules().category("dog").is_none());
    app.stop().await;
}

#[tokio::test]
async fn a_report_the_classifier_missed_is_recorded_as_a_correction() {
    let root = tempfile::tempdir().unwrap();
    let app = spawn_app(test_config(root.path())).await;
    // Classified anyway: the resident only used the command form.
    let (_, body) = app
        .say("m1", "zhang", "#投诉 消防通道被车堵死了，5号楼这边")
        .await;
    assert!(body["ticket"].is_u64(), "{body}");
    assert!(app.service.store().corrections(None).unwrap().is_empty());
    // Not a complaint to the classifier: the resident's word is the correction.
    let (_, body) = app.say("m3", "li", "#投诉 群主今天的红包怎么还没发").await;
    assert!(body["ticket"].is_u64(), "{body}");
    let id = body["ticket"].as_u64().unwrap();
    let got = app.service.store().corrections(None).unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].text, "群主今天的红包怎么还没发");
    assert_eq!(got[0].kind, gongdan::ticket::CorrectionKind::Reported);
    assert_eq!(got[0].ticket, Some(id));
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx() {
    let root = tempfile::tempdir().unwrap();
    let mut config = test_config(root.path());
    config.server.max_body_bytes = 4096;
    let app = spawn_app(config).await;
    let post = |path: &str, body: Vec<u8>| {
        app.client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("/webhook/generic", b"{not json".to_vec(), 400, "malformed"),
        ("/webhook/generic", vec![0xff, 0xfe, 0x7b], 400, "malformed"),
        (
            "/webhook/generic",
            br#"{"message_id":"1","group_id":"g","text":"hi"}"#.to_vec(),
            422,
            "missing_field",
        ),
        (
            "/webhook/generic",
            br#"{"message_id":"1","group_id":"g","sender_id":"u","text":5}"#.to_vec(),
            400,
            "malformed",
        ),
        ("/webhook/generic", vec![b' '; 5000], 413, "body_too_large"),
        ("/webhook/nosuch", b"{}".to_vec(), 404, "not_found"),
        ("/nowhere", b"{}".to_vec(), 404, "not_found"),
    ];
    for (path, body, want, code) in cases {
        let resp = post(path, body).await.unwrap();
        assert_eq!(resp.status().as_u16(), want, "{path} {code}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], code, "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Nothing was stored by any of them; the server still works.
    assert_eq!(
        app.service.store().list(&Default::default()).unwrap().len(),
        0
    );
    let (status, _) = app.say("ok", "zhang", COMPLAINT).await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test]
async fn signed_generic_webhook_refuses_bad_signatures() {
    let root = tempfile::tempdir().unwrap();
    let mut config = test_config(root.path());
    config.platforms.generic.secret = Some(gongdan::config::Secret::new("s3cret"));
    let app = spawn_app(config).await;
    let body =
        json!({"message_id":"m1","group_id":"g1","sender_id":"u","text":COMPLAINT}).to_string();
    let good = format!(
        "sha256={}",
        hex::encode(hmac_sha256(b"s3cret", body.as_bytes()))
    );
    let bad = format!(
        "sha256={}",
        hex::encode(hmac_sha256(b"wrong", body.as_bytes()))
    );
    for (sig, want) in [
        (None, 401),
        (Some(bad.as_str()), 401),
        (Some("sha256=zz"), 401),
        (Some(good.as_str()), 200),
    ] {
        let mut req = app
            .client
            .post(app.url("/webhook/generic"))
            .body(body.clone());
        if let Some(s) = sig {
            req = req.header("X-Gongdan-Signature", s);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), want, "{sig:?}");
    }
    assert_eq!(
        app.service.store().list(&Default::default()).unwrap().len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn api_needs_a_token_and_health_and_metrics_answer() {
    let root = tempfile::tempdir().unwrap();
    let mut config = test_config(root.path());
    config.server.api_token = None;
    let app = spawn_app(config.clone()).await;
    let resp = app
        .client
        .get(app.url("/api/tickets"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let v: Value = resp.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("api_token"));
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    app.stop().await;

    let app = spawn_app(test_config(root.path())).await;
    let resp = app
        .client
        .get(app.url("/api/tickets"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    app.say("m1", "zhang", COMPLAINT).await;
    app.say("m2", "li", "消防通道被车堵死了").await;
    let v: Value = app
        .api_get("/api/tickets?category=fire_lane")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["tickets"][0]["category"], "fire_lane");
    let resp = app.api_get("/api/tickets?status=bogus").await;
    assert_eq!(resp.status(), 400);
    let resp = app.api_get("/api/tickets/abc").await;
    assert_eq!(resp.status(), 400);
    let resp = app.api_get("/api/tickets/99999").await;
    assert_eq!(resp.status(), 404);

    let m = app.metrics().await;
    for needle in [
        "gongdan_messages_total{platform=\"generic\",outcome=\"ticket\"} 2",
        "gongdan_tickets_created_total{category=\"fire_lane\"} 1",
        "gongdan_classify_seconds_count",
        "gongdan_outbox_depth",
        "gongdan_deliveries_total",
    ] {
        assert!(m.contains(needle), "{needle} missing in\n{m}");
    }
    app.stop().await;
}

#[tokio::test]
async fn resolved_tickets_nobody_confirms_close_on_their_own() {
    let (_root, platform, app) = app_with_platform(|c| c.tickets.auto_close_hours = 72).await;

    let (_, opened) = app.say("m1", "zhang", COMPLAINT).await;
    let id = opened["ticket"].as_u64().unwrap();
    app.say("m2", "officer-wang", &format!("#认领 {id}")).await;
    app.say("m3", "officer-wang", &format!("#办结 {id} 已清理"))
        .await;
    platform.wait_for(3).await;

    // The running timer acts when the service clock jumps past the wait.
    let svc = &app.service;
    app.clock.advance(chrono::Duration::hours(71)).unwrap();
    assert!(
        svc.close_stale_tickets(app.clock.now())
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    let jumped_to = app.clock.advance(chrono::Duration::hours(2)).unwrap();
    let received = platform.wait_for(4).await;
    assert_eq!(received.len(), 4, "the timer closed it and said so");
    assert!(
        svc.close_stale_tickets(app.clock.now())
            .await
            .unwrap()
            .is_empty(),
        "once only"
    );

    let ticket = gongdan::ticket::TicketId::new(id).unwrap();
    let stored = svc.store().get(ticket).unwrap().unwrap();
    assert_eq!(stored.status, gongdan::ticket::Status::Closed);
    assert!(stored.closed_at.is_some_and(|at| at >= jumped_to));
    // A complaint after the jump is stamped with the service clock too.
    let (_, later) = app.say("m4", "li", "东门路灯坏了一个星期没人修").await;
    let later = gongdan::ticket::TicketId::new(later["ticket"].as_u64().unwrap()).unwrap();
    let created = svc.store().get(later).unwrap().unwrap().created_at;
    assert!(created >= jumped_to, "{created} is before {jumped_to}");
    let text = received[3].json()["text"].as_str().unwrap().to_string();
    assert_eq!(
        text,
        format!(
            "工单 #{id} 办结后 3 天未收到反馈，已自动结案。如问题仍在，请发送 #未解决 {id} 原因。"
        )
    );
    assert_eq!(received[3].json()["group_id"], "g1");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("gongdan_tickets_auto_closed_total 1"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_reply_still_undelivered_when_the_clock_passes_the_retry_window_is_dead_lettered() {
    let (_root, platform, app) = app_with_platform(|c| c.outbox.give_up_after_hours = 24).await;
    platform.set_up(false);
    let (status, _) = app.say("m1", "zhang", COMPLAINT).await;
    assert_eq!(status, 200);

    let jumped_to = app.clock.advance(chrono::Duration::hours(25)).unwrap();
    let store = app.service.store();
    let mut dead = Vec::new();
    for _ in 0..200 {
        dead = store.dead_letters().unwrap();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        dead[0]["dead_reason"], "gave up after the retry window",
        "{dead:?}"
    );
    let dead_at = dead[0]["dead_at"].as_str().unwrap();
    let dead_at = chrono::DateTime::parse_from_rfc3339(dead_at).unwrap();
    assert!(
        dead_at >= jumped_to,
        "dead at {dead_at}, the clock says {jumped_to}"
    );
    assert_eq!(store.outbox_len(), 0);
    app.stop().await;
}

/// The `Idempotency-Key` a request to the stand-in carried.
fn key_of(r: &common::Received) -> String {
    r.headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_flood_of_help_in_one_group_does_not_hold_up_another_groups_reply() {
    let (_root, platform, app) = app_with_platform(|_| {}).await;
    // 600 residents ask for help in one group: 600 replies, 20 a minute.
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for w in 0..8 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..600).step_by(8) {
                let (status, _) = app
                    .say_in("busy", &format!("h{i}"), &format!("u{i}"), "#帮助")
                    .await;
                assert_eq!(status, 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let asked = std::time::Instant::now();
    let (status, _) = app.say_in("quiet", "c1", "zhang", COMPLAINT).await;
    assert_eq!(status, 200);
    assert!(
        platform.wait_for_group("quiet").await,
        "the quiet group's reply waited behind the busy group's queue"
    );
    println!(
        "quiet group's reply behind 600 queued: {:?}",
        asked.elapsed()
    );
    let busy = platform
        .received()
        .iter()
        .filter(|r| r.json()["group_id"] == "busy")
        .count();
    assert!(busy <= 20, "the busy group kept its rate limit: {busy}");
    std::sync::Arc::into_inner(app).unwrap().stop().await;
}

#[tokio::test]
async fn one_resident_repeating_help_or_a_bad_command_gets_one_answer() {
    let (_root, _platform, app) = app_with_platform(|_| {}).await;
    let mut answered = Vec::new();
    for (i, text) in ["#帮助", "#帮助", "#帮助", "#乱码命令", "#乱码命令", "#帮助"]
        .iter()
        .enumerate()
    {
        let (status, body) = app.say(&format!("r{i}"), "li", text).await;
        assert_eq!(status, 200, "{body}");
        answered.push(body["replies"].as_array().unwrap().len());
        // Recorded like any message: a redelivery is recognised.
        let seen = app
            .service
            .store()
            .processed_outcome("generic", &format!("r{i}"))
            .unwrap();
        assert!(seen.is_some(), "r{i} was not recorded");
    }
    assert_eq!(answered, vec![1, 0, 0, 1, 0, 0]);
    let (_, body) = app.say("r9", "zhao", "#帮助").await;
    assert_eq!(
        body["replies"].as_array().unwrap().len(),
        1,
        "another resident still gets help"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_hanging_group_does_not_hold_up_the_others() {
    let (_root, platform, app) = app_with_platform(|c| c.outbox.send_timeout_ms = 60_000).await;
    platform.hold("stuck");
    app.say_in("stuck", "s1", "zhang", COMPLAINT).await;
    assert!(platform.wait_for_group("stuck").await);
    let asked = std::time::Instant::now();
    for g in ["a", "b", "c"] {
        app.say_in(g, &format!("m-{g}"), "li", COMPLAINT).await;
    }
    // Well within the HTTP client's own 15 s timeout, which would free a
    // worker that waits for every send of a pass.
    let got = platform.wait_for_within(4, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 4, "the other groups waited for the stuck send");
    println!(
        "3 groups' replies beside a hanging one: {:?}",
        asked.elapsed()
    );
    assert_eq!(platform.waiting(), 1, "the stuck send is still open");
    platform.release("stuck");
    app.stop().await;
}

#[tokio::test]
async fn a_slow_platform_gets_each_reply_once_with_an_idempotency_key() {
    let (_root, platform, app) = app_with_platform(|c| {
        c.outbox.send_timeout_ms = 100;
        c.outbox.max_backoff_ms = 60_000;
    })
    .await;
    // Posts the reply, answers after the send timeout.
    platform.hold("g1");
    app.say("m1", "zhang", COMPLAINT).await;
    assert_eq!(platform.wait_for(1).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let got = platform.received();
    assert_eq!(got.len(), 1, "re-sent while the platform was merely slow");
    let pending = app.service.store().outbox_pending(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(key_of(&got[0]), format!("gongdan-{}", pending[0].id));
    assert_eq!(pending[0].attempts, 1, "the attempt is on record");
    platform.release("g1");
    app.stop().await;
}

#[tokio::test]
async fn a_restart_keeps_the_backoff_of_a_failing_reply() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    platform.set_up(false);
    let mut config = test_config(root.path());
    config.platforms.generic.reply_url = Some(platform.url("/send"));
    config.outbox.initial_backoff_ms = 60_000;
    config.outbox.max_backoff_ms = 60_000;
    let app = spawn_app(config.clone()).await;
    app.say("m1", "zhang", COMPLAINT).await;
    for _ in 0..100 {
        if app.service.metrics().deliveries_failed() >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.service.metrics().deliveries_failed(), 1);
    app.stop().await;

    // Back up, but the reply's next attempt is half a minute away or more.
    platform.set_up(true);
    let app = spawn_app(config).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        platform.received().is_empty(),
        "a restart fired the reply again at once"
    );
    let pending = app.service.store().outbox_pending(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 1);
    assert!(pending[0]
        .next_attempt_at
        .is_some_and(|at| at > chrono::Utc::now()));
    app.stop().await;
}

#[tokio::test]
async fn a_delivered_reply_whose_removal_fails_is_not_sent_again() {
    let (_root, platform, app) = app_with_platform(|_| {}).await;
    // As on a full disk: the platform takes the reply, the store cannot drop it.
    app.service.store().fail_outbox_removals(usize::MAX);
    app.say("m1", "zhang", COMPLAINT).await;
    assert_eq!(platform.wait_for(1).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(app.service.store().outbox_len(), 1, "the removal failed");
    assert_eq!(
        platform.received().len(),
        1,
        "a delivered reply was re-sent"
    );

    // Space again: the removal is retried and goes through.
    app.service.store().fail_outbox_removals(0);
    for _ in 0..100 {
        if app.service.store().outbox_len() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.service.store().outbox_len(), 0);
    assert_eq!(platform.received().len(), 1);
    app.stop().await;
}
