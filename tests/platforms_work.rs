//! Black-box tests of the Feishu, DingTalk and WeCom adapters: signed and encrypted fixtures through the real server, replies into a stand-in platform API, and parsers fuzzed with proptest.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Method};
use bytes::Bytes;
use common::{spawn_app, test_config, Received, StandIn, TestApp};
use gongdan::config::{Config, DingtalkConfig, FeishuConfig, Secret, WecomConfig};
use gongdan::platform::{crypto, dingtalk, feishu, wecom, Adapter, RawRequest};
use proptest::prelude::*;
use serde_json::{json, Value};

const COMPLAINT: &str = "5号楼楼道里堆满了纸箱，没人管";
const NEIGHBOUR: &str = "5号楼楼道堆满杂物了，过不去";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn ticket_count(app: &TestApp) -> usize {
    app.service.store().list(&Default::default()).unwrap().len()
}

fn first_ticket(app: &TestApp) -> u64 {
    app.service.store().list(&Default::default()).unwrap()[0]
        .id
        .get()
}

fn on_path<'a>(got: &'a [Received], path: &str) -> Vec<&'a Received> {
    got.iter().filter(|r| r.path == path).collect()
}

/// Give the outbox time to send anything it still would, then return what arrived.
async fn settle(platform: &StandIn) -> Vec<Received> {
    tokio::time::sleep(Duration::from_millis(700)).await;
    platform.received()
}

// ---------------------------------------------------------------- Feishu

const FS_ENCRYPT_KEY: &str = "gongdan-encrypt-key";
const FS_TOKEN: &str = "verification-token";
const FS_TENANT_TOKEN: &str = "t-g1044qeGEDXTB6NDJOGV4JQCYDGHRBARFTGT1234";

fn feishu_config(root: &std::path::Path, platform: &StandIn) -> Config {
    let mut c = test_config(root);
    c.platforms.feishu = FeishuConfig {
        enabled: true,
        app_id: Some("cli_a1b2c3".into()),
        app_secret: Some(Secret::new("app-secret-xyz")),
        verification_token: Some(Secret::new(FS_TOKEN)),
        encrypt_key: Some(Secret::new(FS_ENCRYPT_KEY)),
        api_base: platform.url(""),
        ..FeishuConfig::default()
    };
    platform.set_reply_body(
        &json!({"code": 0, "msg": "ok", "tenant_access_token": FS_TENANT_TOKEN,
                "expire": 7200, "data": {}})
        .to_string(),
    );
    c
}

fn feishu_event(event_id: &str, chat: &str, sender: &str, message_id: &str, text: &str) -> Value {
    json!({
        "schema": "2.0",
        "header": {
            "event_id": event_id, "event_type": "im.message.receive_v1",
            "create_time": format!("{}000", now()), "token": FS_TOKEN,
            "app_id": "cli_a1b2c3", "tenant_key": "736588c9260f175d"
        },
        "event": {
            "sender": {"sender_id": {"open_id": sender, "union_id": "on_x", "user_id": "u1"},
                       "sender_type": "user", "tenant_key": "736588c9260f175d"},
            "message": {
                "message_id": message_id, "chat_id": chat, "chat_type": "group",
                "message_type": "text", "create_time": format!("{}123", now()),
                "content": json!({"text": format!("@_user_1 {text}")}).to_string(),
                "mentions": [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "工单助手"}]
            }
        }
    })
}

fn feishu_encrypt(plain: &[u8]) -> String {
    let body =
        json!({ "encrypt": feishu::encrypt(&feishu::aes_key(FS_ENCRYPT_KEY), &[0x42; 16], plain) });
    body.to_string()
}

/// POST a body to /webhook/feishu with the signature headers for `ts` (None = unsigned).
async fn feishu_post(app: &TestApp, body: &str, ts: Option<i64>) -> (u16, String) {
    let mut req = app
        .client
        .post(app.url("/webhook/feishu"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(ts) = ts {
        let sig = feishu::sign(&ts.to_string(), "nonce-9", FS_ENCRYPT_KEY, body.as_bytes());
        req = req
            .header(feishu::TIMESTAMP_HEADER, ts.to_string())
            .header(feishu::NONCE_HEADER, "nonce-9")
            .header(feishu::SIGNATURE_HEADER, hex::encode(sig));
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn feishu_say(app: &TestApp, event: &Value) -> (u16, String) {
    let body = feishu_encrypt(event.to_string().as_bytes());
    feishu_post(app, &body, Some(now())).await
}

#[tokio::test]
async fn feishu_signed_encrypted_complaint_becomes_a_ticket_and_the_reply_quotes_it() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(feishu_config(root.path(), &platform)).await;

    let ev = feishu_event("ev-1", "oc_group", "ou_zhang", "om_msg1", COMPLAINT);
    let (status, body) = feishu_say(&app, &ev).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ticket_count(&app), 1, "stored before the answer");
    let n = first_ticket(&app);
    let t = app
        .service
        .store()
        .list(&Default::default())
        .unwrap()
        .remove(0);
    assert_eq!(t.platform, "feishu");
    assert_eq!(t.group_id, "oc_group");
    assert_eq!(t.text, COMPLAINT, "the @mention placeholder is gone");

    let got = platform.wait_for(2).await;
    let token_calls = on_path(&got, feishu::TOKEN_PATH);
    assert_eq!(token_calls.len(), 1);
    assert_eq!(
        token_calls[0].json(),
        json!({"app_id": "cli_a1b2c3", "app_secret": "app-secret-xyz"})
    );
    let replies = on_path(&got, "/open-apis/im/v1/messages/om_msg1/reply");
    assert_eq!(replies.len(), 1, "{got:?}");
    assert_eq!(
        replies[0].headers["authorization"],
        format!("Bearer {FS_TENANT_TOKEN}").as_str()
    );
    let sent = replies[0].json();
    assert_eq!(sent["msg_type"], "text");
    let content: Value = serde_json::from_str(sent["content"].as_str().unwrap()).unwrap();
    let text = content["text"].as_str().unwrap();
    assert!(text.contains(&format!("#{n}")), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn feishu_token_is_fetched_once_for_two_replies() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(feishu_config(root.path(), &platform)).await;

    let (s1, _) = feishu_say(
        &app,
        &feishu_event("ev-1", "oc_g", "ou_a", "om_1", COMPLAINT),
    )
    .await;
    let (s2, _) = feishu_say(
        &app,
        &feishu_event("ev-2", "oc_g", "ou_b", "om_2", NEIGHBOUR),
    )
    .await;
    assert_eq!((s1, s2), (200, 200));
    platform.wait_for(3).await;
    let got = settle(&platform).await;
    assert_eq!(on_path(&got, feishu::TOKEN_PATH).len(), 1, "{got:?}");
    assert_eq!(
        on_path(&got, "/open-apis/im/v1/messages/om_1/reply").len(),
        1
    );
    assert_eq!(
        on_path(&got, "/open-apis/im/v1/messages/om_2/reply").len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn feishu_refuses_forged_stale_and_undecryptable_events() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(feishu_config(root.path(), &platform)).await;
    let body = feishu_encrypt(
        feishu_event("ev-1", "oc_g", "ou_a", "om_1", COMPLAINT)
            .to_string()
            .as_bytes(),
    );

    // Wrong signature.
    let resp = app
        .client
        .post(app.url("/webhook/feishu"))
        .header(feishu::TIMESTAMP_HEADER, now().to_string())
        .header(feishu::NONCE_HEADER, "n")
        .header(feishu::SIGNATURE_HEADER, "ab".repeat(32))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // Correctly signed, but ten minutes old: a replay.
    let (status, text) = feishu_post(&app, &body, Some(now() - 600)).await;
    assert_eq!(status, 401);
    assert!(text.contains("stale_timestamp"), "{text}");
    // Correctly signed, but the ciphertext does not decrypt.
    let garbage = json!({ "encrypt": crypto::b64_encode(&[7u8; 48]) }).to_string();
    let (status, text) = feishu_post(&app, &garbage, Some(now())).await;
    assert_eq!(status, 401);
    assert!(text.contains("bad_ciphertext"), "{text}");
    // Unsigned event.
    let (status, _) = feishu_post(&app, &body, None).await;
    assert_eq!(status, 401);
    // Signed and decryptable, but the verification token is wrong.
    let mut ev = feishu_event("ev-1", "oc_g", "ou_a", "om_1", COMPLAINT);
    ev["header"]["token"] = json!("someone-else");
    let (status, _) = feishu_say(&app, &ev).await;
    assert_eq!(status, 401);

    assert_eq!(ticket_count(&app), 0);
    assert!(settle(&platform).await.is_empty(), "nothing was sent");
    app.stop().await;
}

#[tokio::test]
async fn feishu_redelivered_event_makes_one_ticket_and_one_reply() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(feishu_config(root.path(), &platform)).await;
    let ev = feishu_event("ev-same", "oc_g", "ou_a", "om_1", COMPLAINT);
    assert_eq!(feishu_say(&app, &ev).await.0, 200);
    assert_eq!(feishu_say(&app, &ev).await.0, 200);
    assert_eq!(ticket_count(&app), 1);
    platform.wait_for(2).await;
    let got = settle(&platform).await;
    assert_eq!(
        on_path(&got, "/open-apis/im/v1/messages/om_1/reply").len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn feishu_url_verification_plain_and_encrypted() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    // Encrypted: the challenge arrives as {"encrypt": …} without a signature.
    let app = spawn_app(feishu_config(root.path(), &platform)).await;
    let check =
        json!({"challenge": "ajls384kdjx98XX", "token": FS_TOKEN, "type": "url_verification"});
    let (status, body) =
        feishu_post(&app, &feishu_encrypt(check.to_string().as_bytes()), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"challenge": "ajls384kdjx98XX"})
    );
    assert_eq!(ticket_count(&app), 0);
    app.stop().await;

    // Plain: no Encrypt Key configured, the token alone vouches for Feishu.
    let root = tempfile::tempdir().unwrap();
    let mut config = feishu_config(root.path(), &platform);
    config.platforms.feishu.encrypt_key = None;
    let app = spawn_app(config).await;
    let (status, body) = feishu_post(&app, &check.to_string(), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"challenge": "ajls384kdjx98XX"})
    );
    let mut wrong = check.clone();
    wrong["token"] = json!("guess");
    assert_eq!(feishu_post(&app, &wrong.to_string(), None).await.0, 401);
    app.stop().await;
}

#[tokio::test]
async fn feishu_reply_to_a_group_with_no_message_to_quote_goes_to_the_chat() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let mut config = feishu_config(root.path(), &platform);
    config.roles.officers = vec!["feishu:ou_officer".into()];
    let app = spawn_app(config).await;

    feishu_say(
        &app,
        &feishu_event("ev-1", "oc_residents", "ou_a", "om_1", COMPLAINT),
    )
    .await;
    let n = first_ticket(&app);
    platform.wait_for(2).await;
    // An officer claims it from the officers' group: the residents' group is told
    // too, and nothing there is being replied to.
    let claim = feishu_event(
        "ev-2",
        "oc_officers",
        "ou_officer",
        "om_9",
        &format!("#认领 {n}"),
    );
    assert_eq!(feishu_say(&app, &claim).await.0, 200);
    platform.wait_for(4).await;
    let got = settle(&platform).await;
    let to_chat: Vec<_> = on_path(&got, "/open-apis/im/v1/messages")
        .into_iter()
        .filter(|r| r.query == "receive_id_type=chat_id")
        .collect();
    assert_eq!(to_chat.len(), 1, "{got:?}");
    let sent = to_chat[0].json();
    assert_eq!(sent["receive_id"], "oc_residents");
    assert_eq!(sent["msg_type"], "text");
    assert!(sent["content"].as_str().unwrap().contains(&format!("#{n}")));
    assert_eq!(
        on_path(&got, "/open-apis/im/v1/messages/om_9/reply").len(),
        1
    );
    assert_eq!(on_path(&got, feishu::TOKEN_PATH).len(), 1);
    app.stop().await;
}

// ---------------------------------------------------------------- DingTalk

const DT_SECRET: &str = "dt-app-secret-Zk9x";

fn dingtalk_config(root: &std::path::Path, platform: &StandIn) -> Config {
    let mut c = test_config(root);
    c.platforms.dingtalk = DingtalkConfig {
        enabled: true,
        app_key: Some("dingappkey".into()),
        app_secret: Some(Secret::new(DT_SECRET)),
        api_base: platform.url(""),
        ..DingtalkConfig::default()
    };
    platform.set_reply_body(
        &json!({"errcode": 0, "errmsg": "ok", "accessToken": "dt-token-1",
                "expireIn": 7200, "processQueryKey": "q1"})
        .to_string(),
    );
    c
}

fn dingtalk_message(msg_id: &str, text: &str, webhook: &str, expires_ms: i64) -> Value {
    json!({
        "conversationId": "cidGROUP==", "atUsers": [{"dingtalkId": "$:LWCP_v1:$bot"}],
        "chatbotCorpId": "dingcorp", "chatbotUserId": "$:LWCP_v1:$bot", "msgId": msg_id,
        "senderNick": "张三", "isAdmin": false, "senderStaffId": "staff-zhang",
        "sessionWebhookExpiredTime": expires_ms, "createAt": now() * 1000,
        "senderCorpId": "dingcorp", "conversationType": "2", "senderId": "$:LWCP_v1:$zhang",
        "conversationTitle": "阳光小区业主群", "isInAtList": true, "sessionWebhook": webhook,
        "text": {"content": format!(" {text}")}, "robotCode": "dingappkey", "msgtype": "text"
    })
}

async fn dingtalk_post(app: &TestApp, body: &Value, ts_ms: i64, secret: &str) -> u16 {
    let ts = ts_ms.to_string();
    app.client
        .post(app.url("/webhook/dingtalk"))
        .header(dingtalk::TIMESTAMP_HEADER, &ts)
        .header(dingtalk::SIGN_HEADER, dingtalk::sign(&ts, secret))
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn dingtalk_signed_complaint_becomes_a_ticket_and_the_reply_uses_the_session_webhook() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(dingtalk_config(root.path(), &platform)).await;
    let hook = platform.url("/robot/sendBySession?session=abc123");
    let msg = dingtalk_message("msgA1", COMPLAINT, &hook, (now() + 5400) * 1000);

    assert_eq!(
        dingtalk_post(&app, &msg, now() * 1000, DT_SECRET).await,
        200
    );
    assert_eq!(ticket_count(&app), 1);
    let t = app
        .service
        .store()
        .list(&Default::default())
        .unwrap()
        .remove(0);
    assert_eq!(
        (t.platform.as_str(), t.group_id.as_str()),
        ("dingtalk", "cidGROUP==")
    );
    assert_eq!(t.group_name.as_deref(), Some("阳光小区业主群"));

    let got = platform.wait_for(1).await;
    assert_eq!(got[0].path, "/robot/sendBySession");
    assert_eq!(got[0].query, "session=abc123");
    let sent = got[0].json();
    assert_eq!(sent["msgtype"], "text");
    assert!(sent["text"]["content"]
        .as_str()
        .unwrap()
        .contains(&format!("#{}", t.id.get())));
    assert_eq!(settle(&platform).await.len(), 1, "no token, no group send");
    app.stop().await;
}

#[tokio::test]
async fn dingtalk_expired_session_webhook_falls_back_to_the_group_send_api() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(dingtalk_config(root.path(), &platform)).await;
    let hook = platform.url("/robot/sendBySession?session=old");
    let msg = dingtalk_message("msgB1", COMPLAINT, &hook, (now() - 10) * 1000);
    assert_eq!(
        dingtalk_post(&app, &msg, now() * 1000, DT_SECRET).await,
        200
    );

    platform.wait_for(2).await;
    let got = settle(&platform).await;
    assert!(on_path(&got, "/robot/sendBySession").is_empty());
    let token = on_path(&got, dingtalk::TOKEN_PATH);
    assert_eq!(token.len(), 1);
    assert_eq!(
        token[0].json(),
        json!({"appKey": "dingappkey", "appSecret": DT_SECRET})
    );
    let sends = on_path(&got, dingtalk::GROUP_SEND_PATH);
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].headers[dingtalk::TOKEN_HEADER], "dt-token-1");
    let body = sends[0].json();
    assert_eq!(body["robotCode"], "dingappkey");
    assert_eq!(body["openConversationId"], "cidGROUP==");
    assert_eq!(body["msgKey"], "sampleText");
    let param: Value = serde_json::from_str(body["msgParam"].as_str().unwrap()).unwrap();
    assert!(param["content"]
        .as_str()
        .unwrap()
        .contains(&format!("#{}", first_ticket(&app))));
    app.stop().await;
}

#[tokio::test]
async fn dingtalk_refuses_wrong_sign_and_stale_timestamps() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(dingtalk_config(root.path(), &platform)).await;
    let msg = dingtalk_message("m1", COMPLAINT, &platform.url("/s"), (now() + 3600) * 1000);

    assert_eq!(dingtalk_post(&app, &msg, now() * 1000, "wrong").await, 401);
    assert_eq!(
        dingtalk_post(&app, &msg, (now() - 3700) * 1000, DT_SECRET).await,
        401
    );
    assert_eq!(
        dingtalk_post(&app, &msg, (now() + 3700) * 1000, DT_SECRET).await,
        401
    );
    let unsigned = app
        .client
        .post(app.url("/webhook/dingtalk"))
        .json(&msg)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    assert_eq!(ticket_count(&app), 0);
    assert!(settle(&platform).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn dingtalk_redelivered_message_makes_one_ticket_and_one_reply() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(dingtalk_config(root.path(), &platform)).await;
    let msg = dingtalk_message(
        "msgSame",
        COMPLAINT,
        &platform.url("/robot/sendBySession?session=s"),
        (now() + 3600) * 1000,
    );
    assert_eq!(
        dingtalk_post(&app, &msg, now() * 1000, DT_SECRET).await,
        200
    );
    assert_eq!(
        dingtalk_post(&app, &msg, now() * 1000, DT_SECRET).await,
        200
    );
    assert_eq!(ticket_count(&app), 1);
    platform.wait_for(1).await;
    assert_eq!(settle(&platform).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn dingtalk_voice_message_is_read_through_its_speech_recognition() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(dingtalk_config(root.path(), &platform)).await;
    let hook = platform.url("/robot/sendBySession?session=v1");
    let mut msg = dingtalk_message("msgV1", "", &hook, (now() + 3600) * 1000);
    let fields = msg.as_object_mut().unwrap();
    fields.remove("text");
    fields.insert("msgtype".into(), json!("audio"));
    fields.insert(
        "content".into(),
        json!({"duration": 4000, "downloadCode": "dc-voice-1", "recognition": COMPLAINT}),
    );
    assert_eq!(
        dingtalk_post(&app, &msg, now() * 1000, DT_SECRET).await,
        200
    );
    let stored = app.service.store().list(&Default::default()).unwrap();
    assert_eq!(stored.len(), 1, "the spoken complaint is a ticket");
    assert_eq!(stored[0].text, COMPLAINT);
    assert_eq!(stored[0].category, "clutter");
    let got = platform.wait_for(1).await;
    assert_eq!(got[0].path, "/robot/sendBySession");
    app.stop().await;
}

// ---------------------------------------------------------------- WeCom

const WC_TOKEN: &str = "wecomToken42";
/// 43 characters: Base64 of 32 bytes 0x00..0x1f without the final "=".
const WC_AES_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

fn wecom_config(root: &std::path::Path, platform: &StandIn) -> Config {
    let mut c = test_config(root);
    c.platforms.wecom = WecomConfig {
        enabled: true,
        token: Some(Secret::new(WC_TOKEN)),
        encoding_aes_key: Some(Secret::new(WC_AES_KEY)),
        webhook_base: platform.url(""),
        ..WecomConfig::default()
    };
    platform.set_reply_body(r#"{"errcode":0,"errmsg":"ok"}"#);
    c
}

fn wc_key() -> [u8; 32] {
    crypto::wecom_aes_key(WC_AES_KEY).unwrap()
}

fn wecom_message(msgid: &str, chat: &str, user: &str, text: &str, response_url: &str) -> Value {
    json!({
        "msgid": msgid, "aibotid": "aibMOCK", "chatid": chat, "chattype": "group",
        "from": {"userid": user}, "response_url": response_url,
        "msgtype": "text", "text": {"content": format!("@工单助手 {text}")}
    })
}

/// Query parameters for `encrypted` signed at `ts`.
fn wecom_query(encrypted: &str, ts: i64, token: &str) -> Vec<(&'static str, String)> {
    let ts = ts.to_string();
    let sig = wecom::msg_signature(token, &ts, "1372623149", encrypted);
    vec![
        ("msg_signature", sig),
        ("timestamp", ts),
        ("nonce", "1372623149".into()),
    ]
}

async fn wecom_post_raw(app: &TestApp, encrypted: &str, query: &[(&str, String)]) -> u16 {
    app.client
        .post(app.url("/webhook/wecom"))
        .query(query)
        .json(&json!({ "encrypt": encrypted }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn wecom_say(app: &TestApp, msg: &Value) -> u16 {
    let enc = wecom::encrypt(&wc_key(), "", &[5; 16], msg.to_string().as_bytes());
    wecom_post_raw(app, &enc, &wecom_query(&enc, now(), WC_TOKEN)).await
}

#[tokio::test]
async fn wecom_url_verification_answers_the_decrypted_echostr() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(wecom_config(root.path(), &platform)).await;
    // A '+' and '/' in the Base64 exercise the query decoding.
    let echostr = wecom::encrypt(&wc_key(), "", &[0xfb; 16], b"5927782489442352469");
    let mut query = wecom_query(&echostr, now(), WC_TOKEN);
    query.push(("echostr", echostr.clone()));
    let resp = app
        .client
        .get(app.url("/webhook/wecom"))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(resp.text().await.unwrap(), "5927782489442352469");

    let mut forged = wecom_query(&echostr, now(), "not-the-token");
    forged.push(("echostr", echostr));
    let resp = app
        .client
        .get(app.url("/webhook/wecom"))
        .query(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn wecom_encrypted_complaint_becomes_a_ticket_and_the_reply_goes_to_response_url() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(wecom_config(root.path(), &platform)).await;
    let url = platform.url("/cgi-bin/aibot/response?response_code=RC-1");
    let msg = wecom_message("CAIQ16HMjQYY", "wrGroupA", "zhangsan", COMPLAINT, &url);

    assert_eq!(wecom_say(&app, &msg).await, 200);
    assert_eq!(ticket_count(&app), 1);
    let t = app
        .service
        .store()
        .list(&Default::default())
        .unwrap()
        .remove(0);
    assert_eq!(
        (t.platform.as_str(), t.group_id.as_str(), t.text.as_str()),
        ("wecom", "wrGroupA", COMPLAINT)
    );

    let got = platform.wait_for(1).await;
    assert_eq!(got[0].path, "/cgi-bin/aibot/response");
    assert_eq!(got[0].query, "response_code=RC-1");
    let sent = got[0].json();
    assert_eq!(sent["msgtype"], "markdown");
    assert!(sent["markdown"]["content"]
        .as_str()
        .unwrap()
        .contains(&format!("#{}", t.id.get())));
    assert_eq!(settle(&platform).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn wecom_refuses_forged_stale_and_undecryptable_callbacks() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(wecom_config(root.path(), &platform)).await;
    let msg = wecom_message("m1", "wrG", "u1", COMPLAINT, &platform.url("/r"));
    let enc = wecom::encrypt(&wc_key(), "", &[5; 16], msg.to_string().as_bytes());

    assert_eq!(
        wecom_post_raw(&app, &enc, &wecom_query(&enc, now(), "wrong-token")).await,
        401
    );
    assert_eq!(
        wecom_post_raw(&app, &enc, &wecom_query(&enc, now() - 3600, WC_TOKEN)).await,
        401
    );
    // Signed, but encrypted under another key.
    let other_key = [9u8; 32];
    let bad = wecom::encrypt(&other_key, "", &[5; 16], msg.to_string().as_bytes());
    assert_eq!(
        wecom_post_raw(&app, &bad, &wecom_query(&bad, now(), WC_TOKEN)).await,
        401
    );
    // Signed, but not even a whole block.
    let short = crypto::b64_encode(b"short");
    assert_eq!(
        wecom_post_raw(&app, &short, &wecom_query(&short, now(), WC_TOKEN)).await,
        401
    );
    // No signature at all.
    let resp = app
        .client
        .post(app.url("/webhook/wecom"))
        .json(&json!({ "encrypt": enc }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    assert_eq!(ticket_count(&app), 0);
    assert!(settle(&platform).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn wecom_redelivered_callback_makes_one_ticket_and_one_reply() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let app = spawn_app(wecom_config(root.path(), &platform)).await;
    let msg = wecom_message(
        "msg-same",
        "wrG",
        "u1",
        COMPLAINT,
        &platform.url("/cgi-bin/aibot/response?response_code=RC"),
    );
    assert_eq!(wecom_say(&app, &msg).await, 200);
    assert_eq!(wecom_say(&app, &msg).await, 200);
    assert_eq!(ticket_count(&app), 1);
    platform.wait_for(1).await;
    assert_eq!(settle(&platform).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn wecom_posts_to_a_group_without_a_message_through_its_webhook_key() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let mut config = wecom_config(root.path(), &platform);
    config
        .platforms
        .wecom
        .webhook_keys
        .insert("wrResidents".into(), Secret::new("693a91f6-key"));
    config.roles.officers = vec!["wecom:officer-li".into()];
    let app = spawn_app(config).await;

    let first = platform.url("/cgi-bin/aibot/response?response_code=R1");
    assert_eq!(
        wecom_say(
            &app,
            &wecom_message("m1", "wrResidents", "zhang", COMPLAINT, &first)
        )
        .await,
        200
    );
    let n = first_ticket(&app);
    platform.wait_for(1).await;
    let second = platform.url("/cgi-bin/aibot/response?response_code=R2");
    let claim = wecom_message(
        "m2",
        "wrOfficers",
        "officer-li",
        &format!("#认领 {n}"),
        &second,
    );
    assert_eq!(wecom_say(&app, &claim).await, 200);
    platform.wait_for(3).await;
    let got = settle(&platform).await;
    let hooks = on_path(&got, wecom::WEBHOOK_PATH);
    assert_eq!(hooks.len(), 1, "{got:?}");
    assert_eq!(hooks[0].query, "key=693a91f6-key");
    let sent = hooks[0].json();
    assert_eq!(sent["msgtype"], "text");
    assert!(sent["text"]["content"]
        .as_str()
        .unwrap()
        .contains(&format!("#{n}")));
    let answered: Vec<_> = on_path(&got, "/cgi-bin/aibot/response")
        .into_iter()
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(answered, vec!["response_code=R1", "response_code=R2"]);
    app.stop().await;
}

// ---------------------------------------------------------------- parsers never panic

fn adapters() -> HashMap<&'static str, Adapter> {
    let mut c = Config::default();
    c.platforms.feishu = FeishuConfig {
        enabled: true,
        app_id: Some("cli".into()),
        app_secret: Some(Secret::new("s")),
        verification_token: Some(Secret::new(FS_TOKEN)),
        encrypt_key: Some(Secret::new(FS_ENCRYPT_KEY)),
        ..FeishuConfig::default()
    };
    c.platforms.dingtalk = DingtalkConfig {
        enabled: true,
        app_key: Some("k".into()),
        app_secret: Some(Secret::new(DT_SECRET)),
        ..DingtalkConfig::default()
    };
    c.platforms.wecom = WecomConfig {
        enabled: true,
        token: Some(Secret::new(WC_TOKEN)),
        encoding_aes_key: Some(Secret::new(WC_AES_KEY)),
        ..WecomConfig::default()
    };
    Adapter::from_config(&c)
}

fn raw(
    method: Method,
    headers: &[(&str, String)],
    query: &[(&str, String)],
    body: Vec<u8>,
) -> RawRequest {
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.insert(name, value);
        }
    }
    RawRequest {
        method,
        headers: h,
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        body: Bytes::from(body),
    }
}

const TS: i64 = 1_700_000_000;

fn feishu_signed(body: Vec<u8>) -> RawRequest {
    let sig = feishu::sign(&TS.to_string(), "n", FS_ENCRYPT_KEY, &body);
    raw(
        Method::POST,
        &[
            (feishu::TIMESTAMP_HEADER, TS.to_string()),
            (feishu::NONCE_HEADER, "n".into()),
            (feishu::SIGNATURE_HEADER, hex::encode(sig)),
        ],
        &[],
        body,
    )
}

fn dingtalk_signed(body: Vec<u8>) -> RawRequest {
    let ts = (TS * 1000).to_string();
    raw(
        Method::POST,
        &[
            (dingtalk::TIMESTAMP_HEADER, ts.clone()),
            (dingtalk::SIGN_HEADER, dingtalk::sign(&ts, DT_SECRET)),
        ],
        &[],
        body,
    )
}

fn wecom_signed(plain: &[u8]) -> RawRequest {
    let enc = wecom::encrypt(&wc_key(), "", &[1; 16], plain);
    let sig = wecom::msg_signature(WC_TOKEN, &TS.to_string(), "n", &enc);
    raw(
        Method::POST,
        &[],
        &[
            ("msg_signature", sig),
            ("timestamp", TS.to_string()),
            ("nonce", "n".into()),
        ],
        json!({ "encrypt": enc }).to_string().into_bytes(),
    )
}

/// Real payloads, one per platform, as the fuzzers' starting points.
fn real_payloads() -> [(&'static str, Value); 3] {
    [
        (
            "feishu",
            feishu_event("ev", "oc_g", "ou_a", "om_1", COMPLAINT),
        ),
        (
            "dingtalk",
            dingtalk_message("m", COMPLAINT, "https://oapi.dingtalk.com/x", 0),
        ),
        (
            "wecom",
            wecom_message("m", "wrG", "u", COMPLAINT, "https://q/r"),
        ),
    ]
}

/// Any JSON value, small.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::hash_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer into `v` (objects and arrays), for mutation targets.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{at}/{k}");
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        _ => {}
    }
}

/// The request `platform` would send for `plain` (signed and, where the platform does, encrypted).
fn deliver(platform: &str, plain: Vec<u8>) -> RawRequest {
    match platform {
        "feishu" => {
            let body = json!({ "encrypt": feishu::encrypt(&feishu::aes_key(FS_ENCRYPT_KEY), &[2; 16], &plain) });
            feishu_signed(body.to_string().into_bytes())
        }
        "dingtalk" => dingtalk_signed(plain),
        _ => wecom_signed(&plain),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: gongdan::fuzz_cases(256), ..ProptestConfig::default() })]

    #[test]
    fn parsers_survive_arbitrary_bytes(
        body in prop::collection::vec(any::<u8>(), 0..512),
        header in ".{0,40}",
        get in any::<bool>(),
    ) {
        let adapters = adapters();
        let method = if get { Method::GET } else { Method::POST };
        for (name, a) in &adapters {
            // Unsigned, with junk in every header and query parameter a platform reads.
            let junk: Vec<(&str, String)> = ["x-lark-signature", "x-lark-request-timestamp",
                "timestamp", "sign", "msg_signature", "nonce", "echostr"]
                .iter().map(|k| (*k, header.clone())).collect();
            let _ = a.parse(&raw(method.clone(), &junk, &junk, body.clone()), TS);
            // Correctly signed (and encrypted) arbitrary bytes.
            let _ = a.parse(&deliver(name, body.clone()), TS);
        }
    }

    #[test]
    fn parsers_survive_mutated_real_payloads(
        which in 0usize..3,
        pick in any::<prop::sample::Index>(),
        replacement in arb_json(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let adapters = adapters();
        let (name, mut payload) = real_payloads()[which].clone();
        let mut ptrs = Vec::new();
        pointers(&payload, String::new(), &mut ptrs);
        let ptr = pick.get(&ptrs).clone();
        if let Some(slot) = payload.pointer_mut(&ptr) {
            *slot = replacement;
        }
        let mut bytes = payload.to_string().into_bytes();
        for (i, b) in flips {
            let len = bytes.len();
            bytes[i.index(len)] = b;
        }
        let adapter = &adapters[name];
        let _ = adapter.parse(&deliver(name, bytes), TS);
    }
}

/// A Feishu stand-in that answers per path: tokens `t-1`, `t-2`, … and a reply
/// API that rejects `t-1` as expired.
async fn feishu_with_expiring_token() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use axum::routing::post;
    use std::sync::{Arc, Mutex};
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let (l1, l2) = (log.clone(), log.clone());
    let app = axum::Router::new()
        .route(
            feishu::TOKEN_PATH,
            post(move || async move {
                let mut l = l1.lock().unwrap();
                l.push("token".into());
                let n = l.iter().filter(|e| *e == "token").count();
                axum::Json(json!({"code": 0, "msg": "ok", "tenant_access_token": format!("t-{n}"), "expire": 7200}))
            }),
        )
        .route(
            "/open-apis/im/v1/messages/{id}/reply",
            post(move |headers: HeaderMap| async move {
                let auth = headers["authorization"].to_str().unwrap_or("").to_string();
                l2.lock().unwrap().push(auth.clone());
                if auth == "Bearer t-1" {
                    axum::Json(json!({"code": 99991663, "msg": "Invalid access token for authorization"}))
                } else {
                    axum::Json(json!({"code": 0, "msg": "success", "data": {}}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, log)
}

#[tokio::test]
async fn feishu_refreshes_an_expired_token_once_and_retries() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let (addr, log) = feishu_with_expiring_token().await;
    let mut config = feishu_config(root.path(), &platform);
    config.platforms.feishu.api_base = format!("http://{addr}");
    let app = spawn_app(config).await;

    feishu_say(
        &app,
        &feishu_event("ev-1", "oc_g", "ou_a", "om_1", COMPLAINT),
    )
    .await;
    for _ in 0..200 {
        if log.lock().unwrap().len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        *log.lock().unwrap(),
        vec!["token", "Bearer t-1", "token", "Bearer t-2"],
        "fetch, rejected as expired, fetch again, delivered"
    );
    assert_eq!(app.service.store().outbox_len(), 0);
    assert!(app.service.store().dead_letters().unwrap().is_empty());
    assert_eq!(
        app.service.metrics().deliveries_failed(),
        0,
        "one send call, no retry round"
    );
    app.stop().await;
}

#[tokio::test]
async fn feishu_retried_reply_carries_the_same_uuid() {
    use axum::routing::post;
    use std::sync::{Arc, Mutex};
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    // Token on request; the reply API fails once (the answer is lost), then works.
    let uuids: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = uuids.clone();
    let api = axum::Router::new()
        .route(
            feishu::TOKEN_PATH,
            post(|| async {
                axum::Json(
                    json!({"code": 0, "msg": "ok", "tenant_access_token": "t-1", "expire": 7200}),
                )
            }),
        )
        .route(
            "/open-apis/im/v1/messages/{id}/reply",
            post(move |axum::Json(body): axum::Json<Value>| async move {
                let mut seen = seen.lock().unwrap();
                seen.push(body["uuid"].clone());
                if seen.len() == 1 {
                    (axum::http::StatusCode::BAD_GATEWAY, axum::Json(json!({})))
                } else {
                    (
                        axum::http::StatusCode::OK,
                        axum::Json(json!({"code": 0, "msg": "success", "data": {}})),
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });
    let mut config = feishu_config(root.path(), &platform);
    config.platforms.feishu.api_base = format!("http://{addr}");
    let app = spawn_app(config).await;

    feishu_say(
        &app,
        &feishu_event("ev-u1", "oc_g", "ou_a", "om_u1", COMPLAINT),
    )
    .await;
    for _ in 0..200 {
        if app.service.store().outbox_len() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let uuids = uuids.lock().unwrap().clone();
    assert_eq!(uuids.len(), 2, "{uuids:?}");
    let first = uuids[0].as_str().expect("a uuid is sent");
    assert_eq!(uuids[1].as_str(), Some(first), "the retry reuses it");
    assert!(first.starts_with("gongdan-"), "{first}");
    assert!(first.len() <= 50, "Feishu's limit: {first}");
    app.stop().await;
}
