//! The officers' tests' harness: a small organisation in `org.toml`, the
//! server over it with a stand-in platform, and what the stand-in received.

use std::path::PathBuf;
use std::time::Duration;

use gongdan::clock::Clock;
use gongdan::config::Config;
use gongdan::ticket::TicketId;

use super::{spawn_app, spawn_app_with_clock, test_config, StandIn, TestApp};

pub const ORG: &str = r#"
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
leaders = [{ id = "generic:wangzz", name = "王站长" }]
staff_group = "generic:staff1"

[[department]]
name = "燃气公司"
contact_group = "generic:gas"
"#;

pub struct Org {
    pub _root: tempfile::TempDir,
    pub org_path: PathBuf,
    pub config: Config,
    pub platform: StandIn,
    pub app: TestApp,
}

pub async fn org_app(org: &str, tweak: impl FnOnce(&mut gongdan::config::Config)) -> Org {
    let root = tempfile::tempdir().unwrap();
    let org_path = root.path().join("org.toml");
    std::fs::write(&org_path, org).unwrap();
    let platform = StandIn::start().await;
    let mut config = test_config(root.path());
    config.platforms.generic.reply_url = Some(platform.url("/send"));
    config.org.path = Some(org_path.clone());
    tweak(&mut config);
    let app = spawn_app(config.clone()).await;
    Org {
        _root: root,
        org_path,
        config,
        platform,
        app,
    }
}

/// Texts the stand-in received for `group`, in order.
pub fn texts_to(platform: &StandIn, group: &str) -> Vec<String> {
    platform
        .received()
        .iter()
        .map(|r| r.json())
        .filter(|j| j["group_id"] == group)
        .map(|j| j["text"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Waits (up to 10 s) until `group` got a text containing `needle`.
pub async fn wait_text(platform: &StandIn, group: &str, needle: &str) -> Vec<String> {
    for _ in 0..200 {
        let texts = texts_to(platform, group);
        if texts.iter().any(|t| t.contains(needle)) {
            return texts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    texts_to(platform, group)
}

pub fn ticket_of(app: &TestApp, body: &serde_json::Value) -> gongdan::ticket::Ticket {
    let id = TicketId::new(body["ticket"].as_u64().expect("a ticket")).unwrap();
    app.service.store().get(id).unwrap().unwrap()
}

/// Stop the server and start it again on the same data, with the clock as
/// far ahead as it was.
pub async fn restart(app: TestApp, config: &Config) -> TestApp {
    let ahead = app.clock.ahead();
    app.stop().await;
    let clock = Clock::adjustable();
    clock.advance(ahead).unwrap();
    spawn_app_with_clock(config.clone(), clock).await
}

/// Every priority gets `hours`, so a test knows the ticket's time.
pub fn sla_hours(c: &mut Config, hours: u32) {
    for p in ["low", "normal", "high", "urgent"] {
        c.sla.priority_hours.insert(p.into(), hours);
    }
}

pub fn count(platform: &StandIn, group: &str, needle: &str) -> usize {
    texts_to(platform, group)
        .iter()
        .filter(|t| t.contains(needle))
        .count()
}

pub fn events(app: &TestApp, id: TicketId, kind: gongdan::ticket::EventKind) -> usize {
    let history = app.service.store().history(id).unwrap();
    history.iter().filter(|e| e.kind == kind).count()
}

/// Long enough for the timer to have acted on a jump, if it were going to.
pub async fn settle() {
    tokio::time::sleep(Duration::from_millis(800)).await;
}
