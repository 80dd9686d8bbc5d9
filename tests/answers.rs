//! 问询答复 through the real server and the generic platform's stand-in: a
//! question gets its knowledge-base answer in the group, a ticket-status
//! question gets the ticket's state, an unanswered question is logged (and
//! exported by `gongdan rules unanswered`), and a complaint phrased as a
//! question still opens a ticket.

mod common;

use std::process::Command;

use common::{spawn_app, test_config, StandIn, TestApp};
use gongdan::ticket::{InquiryOutcome, Period};

async fn app_with_platform() -> (tempfile::TempDir, StandIn, TestApp) {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    let mut config = test_config(root.path());
    config.platforms.generic.reply_url = Some(platform.url("/send"));
    let app = spawn_app(config).await;
    (root, platform, app)
}

fn reply_text(body: &serde_json::Value) -> String {
    body["replies"][0]["text"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn a_question_gets_its_answer_in_the_group_and_is_counted() {
    let (_root, platform, app) = app_with_platform().await;

    let (status, body) = app
        .say("q1", "zhang", "请问旧沙发不要了放哪里？我电话13812345678")
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["ticket"].is_null(),
        "a question is never a ticket: {body}"
    );
    let text = reply_text(&body);
    assert!(text.contains("大件垃圾"), "{text}");
    // No org.toml: the placeholder reads as the neutral office, never a made-up number.
    assert!(text.contains("街道环卫所"), "{text}");
    assert!(!text.contains('{'), "{text}");

    let got = platform.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let sent = got[0].json();
    assert_eq!(sent["group_id"], "g1");
    assert!(sent["text"].as_str().unwrap().contains("大件垃圾"));

    // Recorded on a 咨询 record, not as a ticket, and counted.
    let store = app.service.store();
    assert!(store.all_tickets().unwrap().is_empty());
    let asked = store.inquiries().unwrap();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].outcome, InquiryOutcome::Answered);
    assert_eq!(asked[0].entry.as_deref(), Some("bulky_waste"));
    let stats = store.stats(Period::Today, chrono::Utc::now()).unwrap();
    assert_eq!(stats.inquiries_answered, 1);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("gongdan_inquiries_answered_total{entry=\"bulky_waste\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("outcome=\"answered\""), "{metrics}");

    // `#统计` reports it (officers only).
    let (_, body) = app.say("q2", "admin", "#统计").await;
    assert!(reply_text(&body).contains("解答问询 1 件"), "{body}");

    // A retried delivery answers once.
    let (_, again) = app
        .say("q1", "zhang", "请问旧沙发不要了放哪里？我电话13812345678")
        .await;
    assert_eq!(again["replies"], body_replies_of_first(&got));
    assert_eq!(store.inquiries().unwrap().len(), 1);
    app.stop().await;
}

/// The replies the first delivery produced, as the webhook answer lists them.
fn body_replies_of_first(got: &[common::Received]) -> serde_json::Value {
    let sent = got[0].json();
    serde_json::json!([{"group_id": sent["group_id"], "text": sent["text"]}])
}

#[tokio::test]
async fn a_ticket_status_question_gets_that_tickets_state() {
    let (_root, platform, app) = app_with_platform().await;

    let (_, dog) = app.say("c1", "zhang", "草坪上全是狗屎没人清理").await;
    let dog = dog["ticket"].as_u64().expect("dog ticket");
    let (_, park) = app
        .say("c2", "zhang", "消防通道被车堵死了，5号楼这边")
        .await;
    let park = park["ticket"].as_u64().expect("fire-lane ticket");
    assert_ne!(dog, park);

    // By category words: the dog ticket, although the newer one is the fire lane.
    let (_, body) = app.say("s1", "zhang", "我反映的狗屎问题怎么样了").await;
    let text = reply_text(&body);
    assert!(body["ticket"].as_u64() == Some(dog), "{body}");
    assert!(text.contains(&format!("#{dog}")), "{text}");
    let stored = app
        .service
        .store()
        .get(gongdan::ticket::TicketId::new(dog).unwrap())
        .unwrap()
        .unwrap();
    assert!(
        text.contains(&format!("状态：{}", stored.status.label())),
        "{text}"
    );

    // By number.
    let (_, body) = app
        .say("s2", "zhang", &format!("{park}号工单处理了吗"))
        .await;
    assert!(reply_text(&body).contains(&format!("#{park}")), "{body}");

    // Someone with no open ticket here is told so, and nothing opens.
    let (_, body) = app.say("s3", "li", "我反映的狗屎问题怎么样了").await;
    assert!(body["ticket"].is_null(), "{body}");
    assert!(reply_text(&body).contains("没有查到"), "{body}");

    // Asking after a report that has no open ticket, in words the classifier
    // takes for a complaint: the complaint stands and a ticket opens.
    let (_, body) = app
        .say(
            "s4",
            "wu",
            "我投诉过的楼下烧烤摊又摆出来了，烟熏得不行，有没有人管",
        )
        .await;
    let bbq = body["ticket"]
        .as_u64()
        .expect("the complaint opens a ticket");
    assert!(reply_text(&body).contains(&format!("#{bbq}")), "{body}");

    let store = app.service.store();
    assert_eq!(store.all_tickets().unwrap().len(), 3);
    let asked = store.inquiries().unwrap();
    assert_eq!(asked.len(), 3, "the complaint is no 咨询: {asked:?}");
    assert!(asked
        .iter()
        .all(|q| q.outcome == InquiryOutcome::TicketStatus));
    assert_eq!(asked[0].ticket, Some(dog));
    // Two ticket replies, three status replies, one more ticket reply.
    let got = platform.wait_for(6).await;
    assert_eq!(got.len(), 6);
    app.stop().await;
}

#[tokio::test]
async fn an_unanswered_question_is_logged_and_exported_as_tsv() {
    let (root, _platform, app) = app_with_platform().await;

    let (_, body) = app
        .say("u1", "zhang", "请问小区充电桩怎么收费，13812345678")
        .await;
    assert_eq!(body["replies"], serde_json::json!([]), "no reply: {body}");
    assert!(body["ticket"].is_null());
    // Plain chatter is not logged.
    app.say("u2", "li", "各位邻居早上好").await;

    let logged = app.service.store().unanswered(None).unwrap();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0].outcome, InquiryOutcome::Unanswered);
    let by_delivery = app.service.store().inquiry("generic", "u1").unwrap();
    assert_eq!(by_delivery.as_ref(), Some(&logged[0]));
    assert!(app
        .service
        .store()
        .inquiry("generic", "u2")
        .unwrap()
        .is_none());
    assert!(app.metrics().await.contains("outcome=\"unanswered\""));
    app.stop().await;

    let data = root.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_gongdan"))
        .args(["rules", "unanswered", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let tsv = String::from_utf8(out.stdout).unwrap();
    let fields: Vec<&str> = tsv.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 4, "{tsv}");
    assert_eq!(fields[1], "generic");
    assert_eq!(fields[2], "g1");
    assert!(fields[3].starts_with("请问小区充电桩怎么收费"), "{tsv}");
    assert!(!tsv.contains("13812345678"), "phones masked: {tsv}");

    // --since after today leaves nothing.
    let out = Command::new(env!("CARGO_BIN_EXE_gongdan"))
        .args(["rules", "unanswered", "--since", "2999-01-01", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[tokio::test]
async fn a_complaint_phrased_as_a_question_still_opens_a_ticket() {
    let (_root, _platform, app) = app_with_platform().await;
    for (id, text) in [
        ("p1", "能不能管管楼下的烧烤摊，天天烟熏火燎到半夜"),
        ("p2", "怎么没人管啊，3号楼门口的垃圾堆了一个礼拜"),
        ("p3", "一楼那户在院子里私搭棚子，城管管不管？"),
    ] {
        let (_, body) = app.say(id, "zhang", text).await;
        assert!(body["ticket"].is_u64(), "{text}: {body}");
    }
    assert!(app.service.store().inquiries().unwrap().is_empty());
    app.stop().await;
}

/// A OneBot v11 group message (string format), unsigned.
fn onebot_event(message_id: i64, user_id: i64, raw: &str) -> String {
    serde_json::json!({
        "time": 1718000000,
        "self_id": 10001000,
        "post_type": "message",
        "message_type": "group",
        "sub_type": "normal",
        "message_id": message_id,
        "group_id": 736120384,
        "user_id": user_id,
        "message": raw,
        "raw_message": raw,
        "font": 0,
        "sender": {"user_id": user_id, "nickname": "小张", "role": "member"}
    })
    .to_string()
}

#[tokio::test]
async fn through_onebot_a_question_is_answered_with_send_group_msg_and_a_complaint_ticketed() {
    let root = tempfile::tempdir().unwrap();
    let platform = StandIn::start().await;
    platform.set_reply_body(r#"{"status":"ok","retcode":0,"data":{"message_id":1}}"#);
    let mut config = test_config(root.path());
    config.platforms.onebot.enabled = true;
    config.platforms.onebot.api_url = Some(platform.url(""));
    let app = spawn_app(config).await;
    let post = |body: String| {
        app.client
            .post(app.url("/webhook/onebot"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let resp = post(onebot_event(11, 1234567, "请问今年什么时候开始供暖"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let got = platform.wait_for(1).await;
    assert_eq!(got[0].path, "/send_group_msg");
    let sent = got[0].json();
    assert_eq!(sent["group_id"], serde_json::json!(736120384));
    assert!(
        sent["message"].as_str().unwrap().contains("供暖期"),
        "{sent}"
    );

    let resp = post(onebot_event(
        12,
        1234567,
        "暖气怎么还不热？家里才十四度，能不能管管",
    ))
    .await
    .unwrap();
    assert_eq!(resp.status(), 204);
    let store = app.service.store();
    let tickets = store.all_tickets().unwrap();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].category, "heating");
    let asked = store.inquiries().unwrap();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].platform, "onebot");
    assert_eq!(asked[0].entry.as_deref(), Some("heating_season"));
    app.stop().await;
}

#[test]
fn gongdan_chat_answers_a_question_and_says_when_one_is_logged() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_gongdan"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("chat")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("请问暖气费在哪交\n请问小区充电桩怎么收费\n".as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("供暖费一般在开栓前缴纳"), "{text}");
    assert!(
        text.contains("logged for `gongdan rules unanswered`"),
        "{text}"
    );
}

#[tokio::test]
async fn an_edited_answer_is_picked_up_by_the_watcher() {
    let (root, _platform, app) = app_with_platform().await;
    let file = root.path().join("rules/answers/sanitation.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let edited = text.replacen(
        "大件垃圾（旧沙发、床垫、柜子等）不要放进普通垃圾桶",
        "大件垃圾请周六上午放到东门大件垃圾点",
        1,
    );
    assert_ne!(edited, text);
    // Let the watcher take its first look before the edit.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    std::fs::write(&file, edited).unwrap();
    let mut seen = String::new();
    for i in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (_, body) = app
            .say(&format!("w{i}"), "zhang", "请问旧沙发不要了放哪里")
            .await;
        seen = reply_text(&body);
        if seen.contains("周六上午") {
            break;
        }
    }
    let m = app.metrics().await;
    assert!(seen.contains("周六上午"), "{seen}\n{m}");
    app.stop().await;
}

#[tokio::test]
async fn with_org_toml_an_answer_names_the_groups_own_community_and_street() {
    let root = tempfile::tempdir().unwrap();
    let org = root.path().join("org.toml");
    std::fs::write(
        &org,
        r#"[city]
name = "示例市"

[[district]]
name = "东城区"

[[street]]
name = "和平街道"
district = "东城区"

[[community]]
name = "阳光社区"
street = "和平街道"
groups = ["generic:g1"]
"#,
    )
    .unwrap();
    let mut config = test_config(root.path());
    config.org.path = Some(org);
    let app = spawn_app(config).await;

    let (_, body) = app.say("o1", "zhang", "请问城管工作站在哪").await;
    let text = reply_text(&body);
    assert!(text.contains("阳光社区城管工作站"), "{text}");
    // org.toml has no phone numbers: the phone placeholder keeps its phrase.
    assert!(text.contains("社区公示栏上的城管工作站电话"), "{text}");
    // Another group, outside the organisation, gets the neutral names.
    let (_, body) = app.say_in("g2", "o2", "zhang", "请问城管工作站在哪").await;
    assert!(reply_text(&body).contains("本社区城管工作站"), "{body}");
    let (_, body) = app
        .say("o3", "zhang", "和物业有纠纷一般找哪个部门调解？")
        .await;
    assert!(reply_text(&body).contains("和平街道办事处"), "{body}");
    app.stop().await;
}
