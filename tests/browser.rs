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

[[community]]
name = "明月社区"
street = "和平街道"
groups = ["generic:g2"]
officers = [{ id = "generic:sun", name = "孙强" }]
"#;

/// A week of a street's complaints, one batch a day: `(group, text)`.
const WEEK: &[&[(&str, &str)]] = &[
    &[
        ("g1", "北门天天有人摆摊卖菜，把路都占了"),
        ("g2", "3号楼下面有人私搭乱建了一个铁皮棚子"),
    ],
    &[
        ("g1", "小区里有人遛狗不拴绳，狗屎到处都是"),
        ("g2", "晚上十一点了工地还在施工，噪音太大睡不着"),
    ],
    &[
        ("g1", "5号楼门口消防通道又被堵了，车还是没挪"),
        ("g2", "2号楼楼道里堆满了旧家具和纸箱"),
    ],
    &[
        ("g1", "北门摆摊的又来了，占道经营没人管"),
        ("g2", "小区东侧的路灯坏了一个多月了，晚上黑漆漆的"),
    ],
    &[
        ("g1", "楼下烧烤摊油烟太大了，窗户都不敢开"),
        ("g2", "3号楼那个铁皮棚子还在搭，越搭越大"),
    ],
];

#[tokio::test]
async fn an_officer_works_a_ticket_in_the_browser() {
    let org = org_app(ORG, |_| {}).await;
    let path = users_path(&org.config.storage.data_dir);
    let mut users = Users::load(&path).unwrap();
    users.upsert(User {
        name: "李明".into(),
        role: StaffRole::Officer,
        platform_id: Some("generic:li".into()),
        // A 中队 officer who covers the whole street.
        scope: Some("和平街道".into()),
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
    let mut n = 0;
    for day in WEEK {
        org.app.clock.advance(chrono::TimeDelta::hours(20)).unwrap();
        for (group, text) in *day {
            n += 1;
            let (status, _) = org
                .app
                .say_in(group, &format!("w{n}"), &format!("resident-{n}"), text)
                .await;
            assert_eq!(status, 200);
        }
    }
    let store = org.app.service.store();
    let open: Vec<_> = store.all_tickets().unwrap();
    // Officers close a few in chat, so the dashboard has something resolved.
    for t in open.iter().filter(|t| t.id.get() != id).take(3) {
        let officer = if t.group_id == "g1" { "li" } else { "sun" };
        let (status, _) = org
            .app
            .say_in(
                &t.group_id,
                &format!("done-{}", t.id.get()),
                officer,
                &format!("#办结 {} 已处理", t.id.get()),
            )
            .await;
        assert_eq!(status, 200);
    }
    let active = store
        .all_tickets()
        .unwrap()
        .iter()
        .filter(|t| t.status.is_active())
        .count();
    let fire = store
        .all_tickets()
        .unwrap()
        .iter()
        .filter(|t| t.status.is_active() && t.text.contains("消防"))
        .count();

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
    assert_eq!(rows.as_u64(), Some(active as u64));
    b.screenshot("board").await;

    // Filter by text: the select-driven JS and the form both work.
    b.type_into("input[name=q]", "消防").await;
    b.click("form.filters button[type=submit]").await;
    b.wait_title("工单看板").await;
    let rows = b
        .run("return document.querySelectorAll('tbody tr').length")
        .await;
    assert_eq!(rows.as_u64(), Some(fire as u64));

    // Staff see the phone number in full.
    b.click(&format!("a[href='/console/tickets/{id}']")).await;
    b.wait_title(&format!("#{id}")).await;
    assert!(b.source().await.contains("13812345678"));
    b.screenshot("ticket").await;
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
    let period = gongdan::report::Period::month_to_date(org.app.clock.now());
    let received = store
        .all_tickets()
        .unwrap()
        .iter()
        .filter(|t| period.contains(t.created_at))
        .count();
    let shown = b
        .run("return document.querySelector('.card .v').textContent")
        .await;
    assert_eq!(shown.as_str(), Some(received.to_string().as_str()));
    let hot = b.source().await;
    assert!(hot.contains("热点问题") && hot.contains("阳光社区"));
    b.window(1280, 1900).await;
    b.screenshot("dashboard").await;
    b.window(1280, 900).await;

    // The print stylesheet hides the console around the case sheet.
    b.goto(&org.app.url(&format!("/console/tickets/{id}")))
        .await;
    let hidden = b
        .run("return [...document.styleSheets].some(s => [...s.cssRules].some(r => r.media && r.media.mediaText.includes('print')))")
        .await;
    assert_eq!(hidden.as_bool(), Some(true));
    b.quit().await;
}
