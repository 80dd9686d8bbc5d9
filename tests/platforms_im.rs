//! Black-box tests of the IM adapters (OneBot v11, the wechatbot-webhook bridge, Telegram):
//! the real server, a temp database, and a stand-in for each platform's send API.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use common::{spawn_app, test_config, StandIn, TestApp};
use gongdan::config::Secret;
use gongdan::platform::signature::hmac_sha1;
use gongdan::ticket::Ticket;
use serde_json::{json, Value};

const COMPLAINT: &str = "5号楼楼道里堆满了纸箱，没人管";

fn tickets(app: &TestApp) -> Vec<Ticket> {
    app.service.store().list(&Default::default()).unwrap()
}

/// Wait a little, then check the stand-in got exactly `n` requests (no late duplicates).
async fn settle(platform: &StandIn, n: usize) {
    platform.wait_for(n).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(platform.received().len(), n);
}

// ---------------------------------------------------------------- OneBot

const QQ_GROUP: i64 = 736120384;

/// A group message as a OneBot v11 implementation posts it (string format).
fn onebot_event(message_id: i64, user_id: i64, raw: &str) -> String {
    json!({
        "time": 1718000000,
        "self_id": 10001000,
        "post_type": "message",
        "message_type": "group",
        "sub_type": "normal",
        "message_id": message_id,
        "group_id": QQ_GROUP,
        "user_id": user_id,
        "anonymous": null,
        "message": raw,
        "raw_message": raw,
        "font": 0,
        "sender": {"user_id": user_id, "nickname": "小张", "card": "5号楼 张阿姨", "role": "member"}
    })
    .to_string()
}

async fn post_onebot(app: &TestApp, body: &str, secret: Option<&str>) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/webhook/onebot"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(secret) = secret {
        let sig = hex::encode(hmac_sha1(secret.as_bytes(), body.as_bytes()));
        req = req.header("X-Signature", format!("sha1={sig}"));
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn onebot_signed_group_message_becomes_a_ticket_and_reply_goes_through_send_group_msg() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    platform.set_reply_body(r#"{"status":"ok","retcode":0,"data":{"message_id":2051}}"#);
    let mut config = test_config(root.path());
    config.platforms.onebot.enabled = true;
    config.platforms.onebot.secret = Some(Secret::new("qq-s3cret"));
    config.platforms.onebot.api_url = Some(platform.url(""));
    config.platforms.onebot.access_token = Some(Secret::new("napcat-token"));
    let app = spawn_app(config).await;

    let raw = format!("[CQ:at,qq=10001000] {COMPLAINT}[CQ:image,file=a.image,url=https://gchat.qpic.cn/x?a=1&amp;b=2]");
    let resp = post_onebot(
        &app,
        &onebot_event(1893746523, 1234567, &raw),
        Some("qq-s3cret"),
    )
    .await;
    // Replies go through the API, so the event itself gets an empty 204.
    assert_eq!(resp.status(), 204);
    let stored = tickets(&app);
    assert_eq!(stored.len(), 1);
    let t = &stored[0];
    assert_eq!(t.platform, "onebot");
    assert_eq!(t.group_id, QQ_GROUP.to_string());
    assert_eq!(t.category, "clutter");
    assert_eq!(t.reporter.id, "1234567");
    assert_eq!(t.reporter.name.as_deref(), Some("5号楼 张阿姨"));
    assert!(!t.text.contains("CQ:"), "{}", t.text);
    assert_eq!(t.attachments, vec!["https://gchat.qpic.cn/x?a=1&b=2"]);

    let got = platform.wait_for(1).await;
    assert_eq!(got[0].path, "/send_group_msg");
    assert_eq!(
        got[0].headers.get("authorization").unwrap(),
        "Bearer napcat-token"
    );
    let sent = got[0].json();
    assert_eq!(sent["group_id"], json!(QQ_GROUP), "a number, not a string");
    let text = sent["message"].as_str().unwrap();
    assert!(text.contains(&format!("#{}", t.id.get())), "{text}");
    settle(&platform, 1).await;
    assert_eq!(app.service.store().outbox_len(), 0);
    app.stop().await;
}

#[tokio::test]
async fn onebot_wrong_signature_is_refused_and_nothing_is_stored() {
    let root = tempfile::tempdir().unwrap();
    let mut config = test_config(root.path());
    config.platforms.onebot.enabled = true;
    config.platforms.onebot.secret = Some(Secret::new("qq-s3cret"));
    let app = spawn_app(config).await;
    let body = onebot_event(1, 1234567, COMPLAINT);
    for secret in [None, Some("wrong")] {
        let resp = post_onebot(&app, &body, secret).await;
        assert_eq!(resp.status(), 401, "{secret:?}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "bad_signature");
    }
    let resp = app
        .client
        .post(app.url("/webhook/onebot"))
        .header(
            "X-Signature",
            "sha1=0000000000000000000000000000000000000000",
        )
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(tickets(&app).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn onebot_retried_event_makes_one_ticket() {
    let root = tempfile::tempdir().unwrap();
    let mut config = test_config(root.path());
    config.platforms.onebot.enabled = true;
    let app = spawn_app(config).await;
    let body = onebot_event(42, 1234567, COMPLAINT);
    let first: Value = post_onebot(&app, &body, None).await.json().await.unwrap();
    let second: Value = post_onebot(&app, &body, None).await.json().await.unwrap();
    // Quick-reply mode: the retry gets the same answer, and there is one ticket.
    assert_eq!(first, second);
    assert_eq!(tickets(&app).len(), 1);
    // The same message id in another group is another message.
    let other = body.replace(&QQ_GROUP.to_string(), "555000111");
    post_onebot(&app, &other, None).await;
    assert_eq!(tickets(&app).len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn onebot_quick_reply_mode_answers_in_the_response() {
    let root = tempfile::tempdir().unwrap();
    let mut config = test_config(root.path());
    config.platforms.onebot.enabled = true;
    config.roles.officers.push("onebot:20002".into());
    let app = spawn_app(config).await;

    let resp = post_onebot(&app, &onebot_event(1, 1234567, COMPLAINT), None).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/json"
    );
    let v: Value = resp.json().await.unwrap();
    let n = tickets(&app)[0].id.get();
    let reply = v["reply"].as_str().unwrap();
    assert!(reply.contains(&format!("#{n}")), "{reply}");
    assert_eq!(v["at_sender"], false);

    // An officer (by QQ number) claims it from the group.
    let resp = post_onebot(&app, &onebot_event(2, 20002, &format!("#认领 {n}")), None).await;
    let v: Value = resp.json().await.unwrap();
    assert!(
        v["reply"].as_str().unwrap().contains(&format!("#{n}")),
        "{v}"
    );
    assert_eq!(
        tickets(&app)[0].officer.as_ref().map(|o| o.id.as_str()),
        Some("20002")
    );

    // Chatter, heartbeats and private messages: nothing to say, nothing stored.
    let resp = post_onebot(&app, &onebot_event(3, 1234567, "早上好呀各位"), None).await;
    assert_eq!(resp.status(), 204);
    let heartbeat = r#"{"time":1718000000,"self_id":10001000,"post_type":"meta_event","meta_event_type":"heartbeat","status":{"online":true,"good":true},"interval":30000}"#;
    assert_eq!(post_onebot(&app, heartbeat, None).await.status(), 204);
    let private = onebot_event(4, 1234567, COMPLAINT)
        .replace(r#""message_type":"group""#, r#""message_type":"private""#);
    assert_eq!(post_onebot(&app, &private, None).await.status(), 204);
    assert_eq!(tickets(&app).len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn onebot_failed_status_is_not_taken_as_delivered() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    // HTTP 200, but the implementation says it failed (e.g. the account is offline).
    platform.set_reply_body(r#"{"status":"failed","retcode":200,"data":null,"message":"offline"}"#);
    let mut config = test_config(root.path());
    config.platforms.onebot.enabled = true;
    config.platforms.onebot.api_url = Some(platform.url("/"));
    let app = spawn_app(config).await;
    post_onebot(&app, &onebot_event(1, 1234567, COMPLAINT), None).await;
    // Retried, and still pending.
    let got = platform.wait_for(2).await;
    assert!(got.len() >= 2, "retried after a failed status");
    assert_eq!(app.service.store().outbox_len(), 1);
    platform.set_reply_body(r#"{"status":"ok","retcode":0,"data":{"message_id":1}}"#);
    for _ in 0..100 {
        if app.service.store().outbox_len() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        app.service.store().outbox_len(),
        0,
        "delivered once it succeeded"
    );
    app.stop().await;
}

// ---------------------------------------------------------------- WeChat bridge

const ROOM_ID: &str = "@@f6b1a5c2e7d84c3a9b0e1d2c3b4a5968";
const ROOM_TOPIC: &str = "阳光小区业主群";

/// `source` as the bridge documents it (docs/recvdApi.example.md).
fn wechat_source(from_id: &str, from_name: &str) -> String {
    wechat_source_in(ROOM_ID, ROOM_TOPIC, from_id, from_name)
}

fn wechat_source_in(room_id: &str, topic: &str, from_id: &str, from_name: &str) -> String {
    json!({
        "room": {
            "id": room_id,
            "topic": topic,
            "payload": {"id": room_id, "adminIdList": [], "avatar": "", "memberList": [{"id": from_id, "name": from_name, "alias": ""}]},
            "_events": {}, "_eventsCount": 0
        },
        "to": {"id": "@b0a9c8", "payload": {"alias": "", "id": "@b0a9c8", "name": "工单助手", "type": 1}, "_events": {}, "_eventsCount": 0},
        "from": {
            "id": from_id,
            "payload": {"alias": "", "avatar": "", "city": "北京", "friend": true, "gender": 2, "id": from_id, "name": from_name, "phone": [], "province": "北京", "star": false, "type": 1},
            "_events": {}, "_eventsCount": 0
        }
    })
    .to_string()
}

/// A room text message as the bridge posts it: multipart form, fields in its order.
fn wechat_form(source: String, content: &str, from_self: bool) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("source", source)
        .text("isSystemEvent", "0")
        .text("isMentioned", "0")
        .text("isMsgFromSelf", if from_self { "1" } else { "0" })
        .text("type", "text")
        .text("content", content.to_string())
}

async fn post_wechat(
    app: &TestApp,
    form: reqwest::multipart::Form,
    token: Option<&str>,
) -> reqwest::Response {
    let url = match token {
        Some(t) => app.url(&format!("/webhook/wechat?token={t}")),
        None => app.url("/webhook/wechat"),
    };
    app.client.post(url).multipart(form).send().await.unwrap()
}

/// The bridge sends no message id, so the dedupe key uses the receipt time
/// in windows; keep a test's two deliveries inside one window.
async fn away_from_a_window_edge() {
    let window = gongdan::platform::wechat::DEDUPE_WINDOW_SECS;
    let now = chrono::Utc::now().timestamp();
    if now.rem_euclid(window) > window - 10 {
        tokio::time::sleep(Duration::from_secs(11)).await;
    }
}

#[tokio::test]
async fn wechat_room_message_becomes_a_ticket_and_reply_goes_to_the_room_by_name() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    platform.set_reply_body(r#"{"success":true,"message":"Message sent successfully","task":{"successCount":1,"totalCount":1,"failedCount":0,"reject":[],"sentFailed":[],"notFound":[]}}"#);
    let mut config = test_config(root.path());
    config.platforms.wechat.enabled = true;
    config.platforms.wechat.token = Some(Secret::new("wx-s3cret"));
    config.platforms.wechat.api_url = Some(platform.url(""));
    config.platforms.wechat.api_token = Some(Secret::new("bridge-token"));
    config.roles.officers.push("wechat:@o1".into());
    let app = spawn_app(config).await;

    let content = format!("@工单助手\u{2005}{COMPLAINT}");
    let resp = post_wechat(
        &app,
        wechat_form(wechat_source("@8e1f0c", "张阿姨"), &content, false),
        Some("wx-s3cret"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v, json!({}), "replies go through the send API");
    let stored = tickets(&app);
    assert_eq!(stored.len(), 1);
    let t = &stored[0];
    assert_eq!(t.platform, "wechat");
    assert_eq!(
        t.group_id, ROOM_TOPIC,
        "the topic outlives the session's room id"
    );
    assert_eq!(t.group_name.as_deref(), Some(ROOM_TOPIC));
    assert_eq!(t.reporter.name.as_deref(), Some("张阿姨"));
    assert!(!t.text.contains("工单助手"), "{}", t.text);

    let got = platform.wait_for(1).await;
    assert_eq!(got[0].path, "/webhook/msg/v2");
    assert_eq!(got[0].query, "token=bridge-token");
    let sent = got[0].json();
    assert_eq!(sent["to"], ROOM_TOPIC);
    assert_eq!(sent["isRoom"], true);
    assert_eq!(sent["data"]["type"], "text");
    let text = sent["data"]["content"].as_str().unwrap();
    assert!(text.contains(&format!("#{}", t.id.get())), "{text}");
    settle(&platform, 1).await;

    // After a re-login every `@@` id is new. An officer claims the ticket
    // from the staff group: the residents' group still hears, by name.
    let staff = wechat_source_in("@@9c0ffee", "城管执法队工作群", "@o1", "王队");
    let resp = post_wechat(
        &app,
        wechat_form(staff, &format!("#认领 {}", t.id.get()), false),
        Some("wx-s3cret"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let got = platform.wait_for(3).await;
    let mut to: Vec<String> = got[1..]
        .iter()
        .map(|r| r.json()["to"].to_string())
        .collect();
    to.sort();
    assert_eq!(
        to,
        [
            json!("城管执法队工作群").to_string(),
            json!(ROOM_TOPIC).to_string()
        ]
    );
    assert!(got[1].json()["data"]["content"]
        .as_str()
        .unwrap()
        .contains("王队"));
    settle(&platform, 3).await;
    app.stop().await;
}

#[tokio::test]
async fn wechat_wrong_token_is_refused_and_nothing_is_stored() {
    let root = tempfile::tempdir().unwrap();
    let mut config = test_config(root.path());
    config.platforms.wechat.enabled = true;
    config.platforms.wechat.token = Some(Secret::new("wx-s3cret"));
    let app = spawn_app(config).await;
    for token in [None, Some("wrong"), Some("wx-s3cre")] {
        let resp = post_wechat(
            &app,
            wechat_form(wechat_source("@8e1f0c", "张阿姨"), COMPLAINT, false),
            token,
        )
        .await;
        assert_eq!(resp.status(), 401, "{token:?}");
    }
    assert!(tickets(&app).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn wechat_repeated_delivery_makes_one_ticket_and_quick_reply_answers() {
    let root = tempfile::tempdir().unwrap();
    let mut config = test_config(root.path());
    config.platforms.wechat.enabled = true;
    let app = spawn_app(config).await;
    away_from_a_window_edge().await;

    let source = wechat_source("@8e1f0c", "张阿姨");
    let first: Value = post_wechat(&app, wechat_form(source.clone(), COMPLAINT, false), None)
        .await
        .json()
        .await
        .unwrap();
    let second: Value = post_wechat(&app, wechat_form(source.clone(), COMPLAINT, false), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tickets(&app).len(), 1);
    // No send API: the reply rides on the response, in the bridge's format.
    assert_eq!(first["success"], true);
    assert_eq!(first["data"]["type"], "text");
    let n = tickets(&app)[0].id.get();
    assert!(
        first["data"]["content"]
            .as_str()
            .unwrap()
            .contains(&format!("#{n}")),
        "{first}"
    );
    assert_eq!(first, second);

    // The bot's own messages and private chats are ignored.
    let own = post_wechat(
        &app,
        wechat_form(source, "5号楼楼道里又堆满了纸箱", true),
        None,
    )
    .await;
    assert_eq!(own.status(), 200);
    let private = json!({"room": {}, "to": {"id": "@b0a9c8"}, "from": {"id": "@8e1f0c", "payload": {"name": "张阿姨"}}}).to_string();
    let resp = post_wechat(
        &app,
        wechat_form(private, "东门路灯坏了好几天了", false),
        None,
    )
    .await;
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({}));
    assert_eq!(tickets(&app).len(), 1);
    app.stop().await;
}

// ---------------------------------------------------------------- Telegram

const TG_CHAT: i64 = -1001987654321;
const BOT_TOKEN: &str = "123456789:AAtestTOKEN";

fn telegram_update(update_id: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": 1365,
            "from": {"id": 5123456789i64, "is_bot": false, "first_name": "三", "last_name": "张", "username": "zhangsan", "language_code": "zh-hans"},
            "chat": {"id": TG_CHAT, "title": "阳光小区业主群", "type": "supergroup"},
            "date": 1718000000,
            "text": format!("@gongdan_bot {text}"),
            "entities": [{"offset": 0, "length": 12, "type": "mention"}]
        }
    })
}

async fn post_telegram(app: &TestApp, update: &Value, secret: Option<&str>) -> reqwest::Response {
    let mut req = app.client.post(app.url("/webhook/telegram")).json(update);
    if let Some(s) = secret {
        req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
    }
    req.send().await.unwrap()
}

fn telegram_config(root: &std::path::Path, api_base: String) -> gongdan::config::Config {
    let mut config = test_config(root);
    config.platforms.telegram.enabled = true;
    config.platforms.telegram.bot_token = Some(Secret::new(BOT_TOKEN));
    config.platforms.telegram.secret_token = Some(Secret::new("tg-s3cret_1"));
    config.platforms.telegram.bot_username = Some("gongdan_bot".into());
    config.platforms.telegram.api_base = api_base;
    config
}

#[tokio::test]
async fn telegram_group_message_becomes_a_ticket_and_reply_goes_through_send_message() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    platform.set_reply_body(r#"{"ok":true,"result":{"message_id":1366,"chat":{"id":-1001987654321,"type":"supergroup"},"date":1718000001,"text":"ok"}}"#);
    let app = spawn_app(telegram_config(root.path(), platform.url(""))).await;

    let resp = post_telegram(
        &app,
        &telegram_update(734159021, COMPLAINT),
        Some("tg-s3cret_1"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let stored = tickets(&app);
    assert_eq!(stored.len(), 1);
    let t = &stored[0];
    assert_eq!(t.platform, "telegram");
    assert_eq!(t.group_id, TG_CHAT.to_string());
    assert_eq!(t.group_name.as_deref(), Some("阳光小区业主群"));
    assert_eq!(t.reporter.name.as_deref(), Some("三 张"));
    assert!(!t.text.contains("@gongdan_bot"), "{}", t.text);

    let got = platform.wait_for(1).await;
    assert_eq!(got[0].path, format!("/bot{BOT_TOKEN}/sendMessage"));
    let sent = got[0].json();
    assert_eq!(sent["chat_id"], json!(TG_CHAT));
    assert!(sent["text"]
        .as_str()
        .unwrap()
        .contains(&format!("#{}", t.id.get())));
    settle(&platform, 1).await;
    app.stop().await;
}

#[tokio::test]
async fn telegram_wrong_secret_token_is_refused_and_nothing_is_stored() {
    let root = tempfile::tempdir().unwrap();
    let app = spawn_app(telegram_config(root.path(), "http://127.0.0.1:9".into())).await;
    for secret in [None, Some("tg-s3cret_2"), Some("")] {
        let resp = post_telegram(&app, &telegram_update(1, COMPLAINT), secret).await;
        assert_eq!(resp.status(), 401, "{secret:?}");
    }
    assert!(tickets(&app).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn telegram_redelivered_update_makes_one_ticket_and_one_reply() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    platform.set_reply_body(r#"{"ok":true,"result":{}}"#);
    let app = spawn_app(telegram_config(root.path(), platform.url(""))).await;
    let update = telegram_update(734159030, COMPLAINT);
    for _ in 0..3 {
        let resp = post_telegram(&app, &update, Some("tg-s3cret_1")).await;
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(tickets(&app).len(), 1);
    settle(&platform, 1).await;

    // Private chats and edits are acknowledged and ignored.
    let private = json!({"update_id": 734159031, "message": {"message_id": 1, "from": {"id": 5, "is_bot": false, "first_name": "A"}, "chat": {"id": 5, "first_name": "A", "type": "private"}, "date": 1, "text": COMPLAINT}});
    assert_eq!(
        post_telegram(&app, &private, Some("tg-s3cret_1"))
            .await
            .status(),
        200
    );
    assert_eq!(tickets(&app).len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn telegram_429_waits_retry_after_before_trying_again() {
    let root = tempfile::tempdir().unwrap();
    // A Bot API stand-in that is rate limited once, then fine.
    let hits: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let seen = Arc::clone(&hits);
    let api = Router::new().route(
        "/{*path}",
        post(move |uri: axum::http::Uri| {
            let seen = Arc::clone(&seen);
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push((Instant::now(), uri.path().to_string()));
                if seen.len() == 1 {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#,
                    )
                } else {
                    (StatusCode::OK, r#"{"ok":true,"result":{}}"#)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });
    let app = spawn_app(telegram_config(root.path(), base)).await;

    post_telegram(&app, &telegram_update(1, COMPLAINT), Some("tg-s3cret_1")).await;
    for _ in 0..100 {
        if hits.lock().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hits = hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 2, "one 429, one success");
    // The test config backs off at most 300 ms; the wait came from retry_after.
    let gap = hits[1].0 - hits[0].0;
    assert!(gap >= Duration::from_millis(900), "{gap:?}");
    assert_eq!(hits[1].1, format!("/bot{BOT_TOKEN}/sendMessage"));
    assert_eq!(app.service.store().outbox_len(), 0);
    app.stop().await;
}

/// A group message from `sender` in the chat `chat` of Telegram type `kind`.
fn telegram_update_in(update_id: i64, chat: i64, kind: &str, sender: i64, text: &str) -> Value {
    let mut u = telegram_update(update_id, text);
    u["message"]["chat"] = json!({"id": chat, "title": "阳光小区业主群", "type": kind});
    u["message"]["from"]["id"] = json!(sender);
    u
}

const TG_OLD_GROUP: i64 = -4012345678;
const TG_SUPERGROUP: i64 = -1004012345678;

#[tokio::test]
async fn telegram_reply_stays_in_the_forum_topic_and_quotes_the_message() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    platform.set_reply_body(r#"{"ok":true,"result":{}}"#);
    let app = spawn_app(telegram_config(root.path(), platform.url(""))).await;

    // A complaint in the topic "5号楼" of a forum supergroup.
    let mut in_topic = telegram_update(734159040, COMPLAINT);
    in_topic["message"]["chat"]["is_forum"] = json!(true);
    in_topic["message"]["message_thread_id"] = json!(42);
    in_topic["message"]["is_topic_message"] = json!(true);
    post_telegram(&app, &in_topic, Some("tg-s3cret_1")).await;
    let got = platform.wait_for(1).await;
    let sent = got[0].json();
    assert_eq!(sent["chat_id"], json!(TG_CHAT));
    assert_eq!(sent["message_thread_id"], json!(42), "{sent}");
    assert_eq!(
        sent["reply_parameters"],
        json!({"message_id": 1365, "allow_sending_without_reply": true})
    );

    // In General (no topic) the reply quotes the message and names no thread.
    let mut general = telegram_update(734159041, "#帮助");
    general["message"]["message_id"] = json!(1400);
    general["message"]["chat"]["is_forum"] = json!(true);
    post_telegram(&app, &general, Some("tg-s3cret_1")).await;
    let got = platform.wait_for(2).await;
    let sent = got[1].json();
    assert!(sent.get("message_thread_id").is_none(), "{sent}");
    assert_eq!(sent["reply_parameters"]["message_id"], json!(1400));
    settle(&platform, 2).await;
    app.stop().await;
}

#[tokio::test]
async fn telegram_group_upgraded_to_a_supergroup_stays_one_group_and_replies_follow_it() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    platform.set_reply_body(r#"{"ok":true,"result":{}}"#);
    platform.set_up(false);
    let app = spawn_app(telegram_config(root.path(), platform.url(""))).await;
    let secret = Some("tg-s3cret_1");

    let complaint = telegram_update_in(1, TG_OLD_GROUP, "group", 5123456789, COMPLAINT);
    assert_eq!(post_telegram(&app, &complaint, secret).await.status(), 200);
    // The reply is still pending when the group is upgraded.
    let upgraded = json!({"update_id": 2, "message": {
        "message_id": 1366, "from": {"id": 5123456789i64, "is_bot": false, "first_name": "三"},
        "chat": {"id": TG_OLD_GROUP, "title": "阳光小区业主群", "type": "group"},
        "date": 1718000100, "migrate_to_chat_id": TG_SUPERGROUP}});
    assert_eq!(post_telegram(&app, &upgraded, secret).await.status(), 200);
    // A neighbour reports the same thing from the supergroup.
    let again = telegram_update_in(3, TG_SUPERGROUP, "supergroup", 5987654321, COMPLAINT);
    assert_eq!(post_telegram(&app, &again, secret).await.status(), 200);

    let stored = tickets(&app);
    assert_eq!(stored.len(), 1, "one group, one ticket");
    assert_eq!(stored[0].supporters.len(), 1, "{:?}", stored[0]);

    platform.set_up(true);
    let got = platform.wait_for(2).await;
    let chats: Vec<Value> = got.iter().map(|r| r.json()["chat_id"].clone()).collect();
    assert_eq!(chats, vec![json!(TG_SUPERGROUP), json!(TG_SUPERGROUP)]);
    // The first reply quoted a message of the old group: no quote in the new one.
    assert!(got[0].json().get("reply_parameters").is_none());
    settle(&platform, 2).await;
    app.stop().await;
}

/// A Bot API stand-in that answers each `sendMessage` body with `answer` and
/// records the bodies; returns its base URL and the record.
async fn bot_api(answer: fn(&Value) -> Option<String>) -> (String, Arc<Mutex<Vec<Value>>>) {
    let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = Arc::clone(&bodies);
    let api = Router::new().route(
        "/{*path}",
        post(move |axum::Json(body): axum::Json<Value>| {
            let seen = Arc::clone(&seen);
            async move {
                let refusal = answer(&body);
                seen.lock().unwrap().push(body);
                match refusal {
                    Some(error) => (StatusCode::BAD_REQUEST, error),
                    None => (StatusCode::OK, r#"{"ok":true,"result":{}}"#.to_string()),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });
    (base, bodies)
}

/// Wait until `bodies` holds at least `n` (up to 10 s), and a little longer
/// for late extras; then return them.
async fn bodies_after(bodies: &Arc<Mutex<Vec<Value>>>, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        if bodies.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    bodies.lock().unwrap().clone()
}

#[tokio::test]
async fn telegram_send_error_naming_the_supergroup_is_remembered_for_later_replies() {
    let root = tempfile::tempdir().unwrap();
    // The old group id is gone; Telegram names the supergroup.
    let (base, bodies) = bot_api(|body| {
        (body["chat_id"] == json!(TG_OLD_GROUP)).then(|| {
            format!(r#"{{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{{"migrate_to_chat_id":{TG_SUPERGROUP}}}}}"#)
        })
    })
    .await;
    let mut config = telegram_config(root.path(), base);
    config.roles.officers.push("telegram:777".into());
    let app = spawn_app(config).await;
    let secret = Some("tg-s3cret_1");
    let chats = |bodies: Vec<Value>| -> Vec<Value> {
        bodies.iter().map(|b| b["chat_id"].clone()).collect()
    };

    let complaint = telegram_update_in(1, TG_OLD_GROUP, "group", 5123456789, COMPLAINT);
    post_telegram(&app, &complaint, secret).await;
    let n = tickets(&app)[0].id.get();
    assert_eq!(
        chats(bodies_after(&bodies, 2).await),
        vec![json!(TG_OLD_GROUP), json!(TG_SUPERGROUP)]
    );
    // An officer claims it from the supergroup; the reply goes straight there.
    let claim = telegram_update_in(2, TG_SUPERGROUP, "supergroup", 777, &format!("#认领 {n}"));
    post_telegram(&app, &claim, secret).await;
    assert_eq!(
        chats(bodies_after(&bodies, 3).await),
        vec![
            json!(TG_OLD_GROUP),
            json!(TG_SUPERGROUP),
            json!(TG_SUPERGROUP)
        ]
    );
    let t = &tickets(&app)[0];
    assert_eq!(t.officer.as_ref().map(|o| o.id.as_str()), Some("777"));
    assert_eq!(app.service.store().outbox_len(), 0);
    assert!(app.service.store().dead_letters().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn telegram_reply_to_a_deleted_topic_goes_to_general() {
    let root = tempfile::tempdir().unwrap();
    let (base, bodies) = bot_api(|body| {
        body.get("message_thread_id").map(|_| {
            r#"{"ok":false,"error_code":400,"description":"Bad Request: message thread not found"}"#
                .to_string()
        })
    })
    .await;
    let app = spawn_app(telegram_config(root.path(), base)).await;
    let mut in_topic = telegram_update(734159050, COMPLAINT);
    in_topic["message"]["message_thread_id"] = json!(42);
    in_topic["message"]["is_topic_message"] = json!(true);
    post_telegram(&app, &in_topic, Some("tg-s3cret_1")).await;

    let got = bodies_after(&bodies, 2).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["message_thread_id"], json!(42));
    assert!(got[1].get("message_thread_id").is_none());
    assert!(got[1].get("reply_parameters").is_none(), "{}", got[1]);
    assert_eq!(app.service.store().outbox_len(), 0);
    assert!(app.service.store().dead_letters().unwrap().is_empty());
    app.stop().await;
}
