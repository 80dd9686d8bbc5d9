//! The console in a real headless Chromium (through ChromeDriver): log in, work a ticket, read the dashboard.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use common::org::{org_app, wait_text};
use gongdan::console::users::{hash_password, users_path, StaffRole, User, Users};

const ORG: &str = r#"
[city]
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
officers = [{ id = "generic:li", name = "李明" }]
"#;

#[tokio::test]
async fn an_officer_works_a_ticket_in_the_browser() {
    let org = org_app(ORG, |_| {}).await;
    let path = users_path(&org.config.storage.data_dir);
    let mut users = Users::load(&path).unwrap();
    users.upsert(User {
        name: "李明".into(),
        role: StaffRole::Officer,
        platform_id: Some("generic:li".into()),
        scope: None,
        password_hash: hash_password("correct-horse-9").unwrap(),
        token_hashes: Vec::new(),
    });
    users.save(&path).unwrap();
    let (status, body) = org
        .app
        .say_in(
            "g1",
            "m1",
            "resident1",
            "5号楼门口的消防通道又被私家车堵死了，电话13812345678",
        )
        .await;
    assert_eq!(status, 200);
    let id = body["ticket"].as_u64().unwrap();
    org.app
        .say_in("g1", "m2", "resident2", "北门天天有人摆摊卖菜，把路都占了")
        .await;

    let b = webdriver::Browser::start().await;
    b.goto(&org.app.url("/console")).await;
    assert!(b.url().await.ends_with("/console/login"), "sent to log in");
    b.type_into("input[name=name]", "李明").await;
    b.type_into("input[name=password]", "wrong-password").await;
    b.click("button[type=submit]").await;
    assert!(b.source().await.contains("用户名或密码错误"));
    b.type_into("input[name=name]", "李明").await;
    b.type_into("input[name=password]", "correct-horse-9").await;
    b.click("button[type=submit]").await;
    let title = b.wait_title("工单看板").await;
    assert!(title.contains("工单看板"), "{title}");
    // The session cookie is out of reach of page scripts.
    let cookies = b.run("return document.cookie").await;
    assert!(
        !cookies.as_str().unwrap_or("").contains("gongdan_session"),
        "{cookies}"
    );
    let rows = b
        .run("return document.querySelectorAll('tbody tr').length")
        .await;
    assert_eq!(rows.as_u64(), Some(2));

    // Filter by text: the select-driven JS and the form both work.
    b.type_into("input[name=q]", "消防").await;
    b.click("form.filters button[type=submit]").await;
    b.wait_title("工单看板").await;
    let rows = b
        .run("return document.querySelectorAll('tbody tr').length")
        .await;
    assert_eq!(rows.as_u64(), Some(1));

    // Staff see the phone number in full.
    b.click(&format!("a[href='/console/tickets/{id}']")).await;
    b.wait_title(&format!("#{id}")).await;
    assert!(b.source().await.contains("13812345678"));
    b.run("document.querySelector('select[name=verb]').value = '办结'; return true")
        .await;
    b.type_into("input[name=note]", "车辆已挪走，通道畅通")
        .await;
    b.click("form[data-confirm] button[type=submit]").await;
    for _ in 0..50 {
        if b.source().await.contains("已执行") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(b.source().await.contains("已执行"), "{}", b.source().await);
    let texts = wait_text(&org.platform, "g1", "车辆已挪走").await;
    assert!(texts.iter().any(|t| t.contains("车辆已挪走")), "{texts:?}");
    assert!(
        !texts.iter().any(|t| t.contains("13812345678")),
        "the group never sees the phone"
    );

    // The dashboard draws its charts with Chinese labels.
    b.goto(&org.app.url("/console/dashboard")).await;
    b.wait_title("统计分析").await;
    let charts = b
        .run("return document.querySelectorAll('svg.chart').length")
        .await;
    assert!(charts.as_u64().unwrap_or(0) >= 2, "{charts}");
    let text = b
        .run("return document.querySelector('svg.chart').textContent")
        .await;
    assert!(text.as_str().unwrap_or("").contains("受理"), "{text}");
    let received = b
        .run("return document.querySelector('.card .v').textContent")
        .await;
    assert_eq!(received.as_str(), Some("2"));

    // The print stylesheet hides the console around the case sheet.
    b.goto(&org.app.url(&format!("/console/tickets/{id}")))
        .await;
    let hidden = b
        .run("return [...document.styleSheets].some(s => [...s.cssRules].some(r => r.media && r.media.mediaText.includes('print')))")
        .await;
    assert_eq!(hidden.as_bool(), Some(true));
    b.quit().await;
}
