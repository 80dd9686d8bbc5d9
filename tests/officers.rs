//! Black-box tests of the officers' side: org.toml, 首接负责, staff cards, SLA
//! reminders and escalation, on the real server with a stand-in platform and
//! a clock the test moves.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{spawn_app, test_config, StandIn, TestApp};
use gongdan::ticket::{Status, TicketId};

const ORG: &str = r#"
[city]
name = "示例市"
leaders = [{ id = "generic:mayor", name = "陈市长" }]
staff_group = "generic:city-staff"

[[district]]
name = "东城区"
leaders = [{ id = "generic:qu", name = "刘区长" }]
staff_group = "generic:district-staff"

[[street]]
name = "和平街道"
district = "东城区"
leaders = [{ id = "generic:zhou", name = "周队长" }]
staff_group = "generic:street-staff"

[[community]]
name = "阳光社区"
street = "和平街道"
groups = ["generic:g1"]
officers = [{ id = "generic:li", name = "李明" }, { id = "generic:zhao", name = "赵伟" }]
staff_group = "generic:staff1"
"#;

struct Org {
    _root: tempfile::TempDir,
    org_path: PathBuf,
    platform: StandIn,
    app: TestApp,
}

async fn org_app(org: &str, tweak: impl FnOnce(&mut gongdan::config::Config)) -> Org {
    let root = tempfile::tempdir().unwrap();
    let org_path = root.path().join("org.toml");
    std::fs::write(&org_path, org).unwrap();
    let platform = StandIn::start().await;
    let mut config = test_config(root.path());
    config.platforms.generic.reply_url = Some(platform.url("/send"));
    config.org.path = Some(org_path.clone());
    tweak(&mut config);
    let app = spawn_app(config).await;
    Org {
        _root: root,
        org_path,
        platform,
        app,
    }
}

/// Texts the stand-in received for `group`, in order.
fn texts_to(platform: &StandIn, group: &str) -> Vec<String> {
    platform
        .received()
        .iter()
        .map(|r| r.json())
        .filter(|j| j["group_id"] == group)
        .map(|j| j["text"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Waits (up to 10 s) until `group` got a text containing `needle`.
async fn wait_text(platform: &StandIn, group: &str, needle: &str) -> Vec<String> {
    for _ in 0..200 {
        let texts = texts_to(platform, group);
        if texts.iter().any(|t| t.contains(needle)) {
            return texts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    texts_to(platform, group)
}

fn ticket_of(app: &TestApp, body: &serde_json::Value) -> gongdan::ticket::Ticket {
    let id = TicketId::new(body["ticket"].as_u64().expect("a ticket")).unwrap();
    app.service.store().get(id).unwrap().unwrap()
}

const PILED: &str = "5号楼楼道里堆满了纸箱，没人管，有事打13812345678";
const LAMP: &str = "东门路灯坏了一个星期没人修";
const FIRE: &str = "消防通道被车堵死了";

#[tokio::test]
async fn a_report_in_a_community_group_goes_to_its_station_officer_and_the_staff_group_hears() {
    let o = org_app(ORG, |_| {}).await;
    let (status, body) = o.app.say("m1", "zhang", PILED).await;
    assert_eq!(status, 200, "{body}");
    let t = ticket_of(&o.app, &body);
    assert_eq!(t.status, Status::Assigned);
    assert_eq!(t.officer.as_ref().map(|p| p.id.as_str()), Some("li"));

    let card = wait_text(&o.platform, "staff1", "【新工单】").await;
    let card = card
        .iter()
        .find(|c| c.contains("【新工单】"))
        .expect("a card");
    assert!(card.contains(&t.id.to_string()), "{card}");
    assert!(card.contains("首接：@李明"), "{card}");
    assert!(card.contains("限 "), "{card}");
    assert!(!card.contains("13812345678"), "phone masked: {card}");

    // Round-robin: the next one goes to the second officer.
    let (_, body) = o.app.say("m2", "qian", LAMP).await;
    assert_eq!(
        ticket_of(&o.app, &body).officer.map(|p| p.id),
        Some("zhao".into())
    );

    // 李明 (an officer because org.toml lists him) goes on leave from the
    // staff group: his turn is skipped.
    let (_, body) = o.app.say_in("staff1", "m3", "li", "#请假").await;
    assert!(
        body["replies"][0]["text"]
            .as_str()
            .unwrap()
            .contains("已登记请假"),
        "{body}"
    );
    let (_, body) = o.app.say("m4", "sun", FIRE).await;
    let third = ticket_of(&o.app, &body);
    assert_eq!(third.officer.map(|p| p.id), Some("zhao".into()));

    // Officers act from the staff group; residents hear it in theirs.
    let cmd = format!("#办结 {} 已清理", t.id.get());
    let (status, _) = o.app.say_in("staff1", "m5", "li", &cmd).await;
    assert_eq!(status, 200);
    let resident = wait_text(&o.platform, "g1", "已清理").await;
    assert!(
        resident.iter().any(|x| x.contains("已清理")),
        "{resident:?}"
    );
    o.app.stop().await;
}

#[tokio::test]
async fn a_bad_org_edit_keeps_the_old_organisation_and_names_file_and_line() {
    let o = org_app(ORG, |_| {}).await;
    // Line 26 of the edited file names a street that does not exist.
    let bad = ORG.replace("street = \"和平街道\"", "street = \"幸福街道\"");
    let line = bad.lines().position(|l| l.contains("幸福街道")).unwrap() + 1;
    std::fs::write(&o.org_path, &bad).unwrap();
    let (_, body) = o.app.say("m1", "admin", "#重载规则").await;
    let reply = body["replies"][0]["text"].as_str().unwrap().to_string();
    let want = format!(
        "{}:{line}: no [[street]] is named \"幸福街道\"",
        o.org_path.display()
    );
    assert!(
        reply.contains("组织架构有误，未加载，仍使用原架构"),
        "{reply}"
    );
    assert!(reply.contains(&want), "{reply}");

    // The old organisation still assigns and still makes 李明 an officer.
    let (_, body) = o.app.say("m2", "zhang", PILED).await;
    assert_eq!(
        ticket_of(&o.app, &body).officer.map(|p| p.id),
        Some("li".into())
    );

    // A good edit is picked up by the watcher without a command.
    let moved = ORG.replace("groups = [\"generic:g1\"]", "groups = [\"generic:g9\"]");
    std::fs::write(&o.org_path, moved).unwrap();
    let mut moved_in = false;
    for _ in 0..100 {
        if o.app
            .service
            .org()
            .community_of("generic", "g9", None)
            .is_some()
        {
            moved_in = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(moved_in, "the watcher reloads a good org.toml");
    o.app.stop().await;
}
