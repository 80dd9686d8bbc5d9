//! Black-box tests of the officers' side: org.toml, 首接负责, staff cards, SLA
//! reminders and escalation, on the real server with a stand-in platform and
//! a clock the test moves.

mod common;

use std::time::Duration;

use chrono::{Datelike, TimeZone};
use common::org::*;
use gongdan::clock::Clock;
use gongdan::ticket::{Status, TicketId};

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

#[tokio::test]
async fn a_ticket_left_alone_is_reminded_then_escalated_once_each_across_restarts() {
    use gongdan::ticket::EventKind::{Escalated, SlaReminded};
    let mut o = org_app(ORG, |c| sla_hours(c, 10)).await;
    let (_, body) = o.app.say("m1", "zhang", PILED).await;
    let id = ticket_of(&o.app, &body).id;

    o.app.clock.advance(chrono::Duration::hours(7)).unwrap();
    settle().await;
    assert_eq!(
        count(&o.platform, "staff1", "【临期提醒】"),
        0,
        "70% is not yet 75%"
    );
    o.app.clock.advance(chrono::Duration::hours(1)).unwrap();
    let staff = wait_text(&o.platform, "staff1", "【临期提醒】").await;
    let remind = staff.iter().find(|t| t.contains("【临期提醒】")).unwrap();
    assert!(
        remind.contains(&id.to_string()) && remind.contains("@李明"),
        "{remind}"
    );

    o.app = restart(o.app, &o.config).await;
    settle().await;
    assert_eq!(
        count(&o.platform, "staff1", "【临期提醒】"),
        1,
        "not again after a restart"
    );
    assert_eq!(count(&o.platform, "street-staff", "【超时升级】"), 0);

    o.app.clock.advance(chrono::Duration::hours(3)).unwrap();
    let street = wait_text(&o.platform, "street-staff", "【超时升级】").await;
    let up = street.iter().find(|t| t.contains("【超时升级】")).unwrap();
    assert!(up.contains("@周队长") && up.contains("和平街道"), "{up}");
    let t = o.app.service.store().get(id).unwrap().unwrap();
    assert!(t.sla.is_overdue(), "marked 超时");

    o.app = restart(o.app, &o.config).await;
    settle().await;
    assert_eq!(count(&o.platform, "staff1", "【临期提醒】"), 1);
    assert_eq!(count(&o.platform, "street-staff", "【超时升级】"), 1);
    assert_eq!(events(&o.app, id, SlaReminded), 1);
    assert_eq!(events(&o.app, id, Escalated), 1);

    // Another full period: one level further up, naming that level's leaders.
    o.app.clock.advance(chrono::Duration::hours(10)).unwrap();
    let district = wait_text(&o.platform, "district-staff", "【超时升级】").await;
    assert!(
        district.iter().any(|t| t.contains("@刘区长")),
        "{district:?}"
    );
    settle().await;
    assert_eq!(count(&o.platform, "district-staff", "【超时升级】"), 1);
    assert_eq!(count(&o.platform, "city-staff", "【超时升级】"), 0);
    assert_eq!(events(&o.app, id, Escalated), 2);
    let metrics = o.app.metrics().await;
    assert!(
        metrics.contains("gongdan_sla_steps_total{step=\"escalate\",level=\"district\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gongdan_tickets_overdue{level=\"district\"} 1"),
        "{metrics}"
    );
    o.app.stop().await;
}

#[tokio::test]
async fn a_held_ticket_does_not_run_late_and_its_clock_resumes_where_it_stopped() {
    let o = org_app(ORG, |c| sla_hours(c, 10)).await;
    let (_, body) = o.app.say("m1", "zhang", PILED).await;
    let id = ticket_of(&o.app, &body).id;
    let hold = format!("#挂账 {} 等待管线改造", id.get());
    let (status, _) = o.app.say_in("staff1", "m2", "li", &hold).await;
    assert_eq!(status, 200);

    o.app.clock.advance(chrono::Duration::hours(25)).unwrap();
    settle().await;
    assert_eq!(count(&o.platform, "staff1", "【临期提醒】"), 0);
    assert_eq!(count(&o.platform, "street-staff", "【超时升级】"), 0);
    assert_eq!(events(&o.app, id, gongdan::ticket::EventKind::Escalated), 0);

    // Back to work: the 25 hours on hold do not count.
    let reopen = format!("#重开 {}", id.get());
    o.app.say_in("staff1", "m3", "li", &reopen).await;
    settle().await;
    assert_eq!(count(&o.platform, "staff1", "【临期提醒】"), 0);
    o.app.clock.advance(chrono::Duration::hours(8)).unwrap();
    wait_text(&o.platform, "staff1", "【临期提醒】").await;
    assert_eq!(count(&o.platform, "staff1", "【临期提醒】"), 1);
    assert_eq!(count(&o.platform, "street-staff", "【超时升级】"), 0);
    o.app.stop().await;
}

#[tokio::test]
async fn working_hours_skip_a_weekend_and_a_listed_holiday() {
    let china = gongdan::ticket::china_tz();
    let root_holidays = tempfile::tempdir().unwrap();
    // Jump to the coming Friday 20:00 China time; the Monday after is a holiday.
    let probe = Clock::adjustable();
    let today = probe.now().with_timezone(&china).date_naive();
    let mut friday = today.succ_opt().unwrap();
    while friday.weekday() != chrono::Weekday::Fri {
        friday = friday.succ_opt().unwrap();
    }
    let at = |d: chrono::NaiveDate, h: u32| {
        china
            .from_local_datetime(&d.and_hms_opt(h, 0, 0).unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let monday = friday + chrono::Duration::days(3);
    let tuesday = friday + chrono::Duration::days(4);
    let holidays = root_holidays.path().join("cn.toml");
    std::fs::write(
        &holidays,
        format!("[{}]\nholidays = [\"{monday}\"]\n", monday.year()),
    )
    .unwrap();
    let o = org_app(ORG, |c| {
        sla_hours(c, 9);
        c.sla.mode = gongdan::config::SlaMode::Working;
        c.sla.holidays = Some(holidays.clone());
    })
    .await;
    let step = at(friday, 20) - o.app.clock.now();
    o.app.clock.advance(step).unwrap();
    let (_, body) = o.app.say("m1", "zhang", PILED).await;
    let t = ticket_of(&o.app, &body);
    // Nine working hours from Friday evening: all of Tuesday.
    assert_eq!(t.due_at, at(tuesday, 18));

    o.app
        .clock
        .advance(at(monday, 20) - o.app.clock.now())
        .unwrap();
    settle().await;
    assert_eq!(
        count(&o.platform, "staff1", "【临期提醒】"),
        0,
        "no working time yet"
    );
    o.app
        .clock
        .advance(at(tuesday, 16) - o.app.clock.now())
        .unwrap();
    let staff = wait_text(&o.platform, "staff1", "【临期提醒】").await;
    assert_eq!(count(&o.platform, "staff1", "【临期提醒】"), 1, "{staff:?}");
    o.app.stop().await;
}

#[tokio::test]
async fn a_rating_of_one_or_a_second_not_fixed_opens_a_revisit_for_the_leader() {
    let o = org_app(ORG, |_| {}).await;
    let (_, body) = o.app.say("m1", "zhang", PILED).await;
    let id = ticket_of(&o.app, &body).id.get();
    o.app
        .say_in("staff1", "m2", "li", &format!("#办结 {id} 已清理"))
        .await;
    o.app.say("m3", "zhang", &format!("#评价 {id} 4")).await;
    settle().await;
    assert_eq!(
        count(&o.platform, "staff1", "【二次回访】"),
        0,
        "4 stars is fine"
    );
    o.app
        .say("m4", "zhang", &format!("#评价 {id} 1 还是很乱"))
        .await;
    let staff = wait_text(&o.platform, "staff1", "【二次回访】").await;
    let card = staff.iter().find(|t| t.contains("【二次回访】")).unwrap();
    assert!(card.contains("@王站长") && card.contains("1 星"), "{card}");
    let t = o
        .app
        .service
        .store()
        .get(TicketId::new(id).unwrap())
        .unwrap()
        .unwrap();
    assert!(t.follow_up.revisit.is_some_and(|r| r.leaders == "@王站长"));
    let metrics = o.app.metrics().await;
    assert!(
        metrics.contains("gongdan_revisits{level=\"community\"} 1"),
        "{metrics}"
    );

    // A second 未解决 does the same.
    let (_, body) = o.app.say("m5", "qian", LAMP).await;
    let lamp = ticket_of(&o.app, &body).id.get();
    for (i, step) in [
        "#办结 {n} 已修",
        "#未解决 {n} 还是不亮",
        "#办结 {n} 换了灯泡",
        "#未解决 {n} 又灭了",
    ]
    .iter()
    .enumerate()
    {
        let (who, group) = if step.starts_with("#办结") {
            ("zhao", "staff1")
        } else {
            ("qian", "g1")
        };
        o.app
            .say_in(
                group,
                &format!("n{i}"),
                who,
                &step.replace("{n}", &lamp.to_string()),
            )
            .await;
        if i == 1 {
            settle().await;
            assert_eq!(
                count(&o.platform, "staff1", "【二次回访】"),
                1,
                "once is not yet twice"
            );
        }
    }
    let staff = wait_text(&o.platform, "staff1", "第二次反馈未解决").await;
    assert!(
        staff
            .iter()
            .any(|t| t.contains(&format!("#{lamp}")) && t.contains("第二次反馈未解决")),
        "{staff:?}"
    );
    o.app.stop().await;
}

#[tokio::test]
async fn a_recheck_fires_on_time_and_a_finding_reopens_as_recurring() {
    let o = org_app(ORG, |_| {}).await;
    let (_, body) = o.app.say("m1", "zhang", PILED).await;
    let id = ticket_of(&o.app, &body).id;
    let n = id.get();
    o.app
        .say_in("staff1", "m2", "li", &format!("#办结 {n} 已清理"))
        .await;
    let (_, body) = o
        .app
        .say_in("staff1", "m3", "li", &format!("#复查 {n} 3天"))
        .await;
    assert!(
        body["replies"][0]["text"]
            .as_str()
            .unwrap()
            .contains("已安排复查"),
        "{body}"
    );

    o.app.clock.advance(chrono::Duration::hours(71)).unwrap();
    settle().await;
    assert_eq!(
        count(&o.platform, "staff1", "【复查提醒】"),
        0,
        "not before 3 days"
    );
    o.app.clock.advance(chrono::Duration::hours(2)).unwrap();
    let staff = wait_text(&o.platform, "staff1", "【复查提醒】").await;
    assert!(
        staff
            .iter()
            .any(|t| t.contains("【复查提醒】") && t.contains("@李明")),
        "{staff:?}"
    );
    o.app.clock.advance(chrono::Duration::hours(1)).unwrap();
    settle().await;
    assert_eq!(count(&o.platform, "staff1", "【复查提醒】"), 1, "once");

    o.app
        .say_in("staff1", "m4", "li", &format!("#复查发现 {n} 又堆满了"))
        .await;
    let t = o.app.service.store().get(id).unwrap().unwrap();
    assert_eq!(t.status, Status::Assigned);
    assert!(t.follow_up.recurring);
    let residents = wait_text(&o.platform, "g1", "复查发现问题反弹").await;
    assert!(
        residents.iter().any(|x| x.contains("又堆满了")),
        "{residents:?}"
    );
    o.app.stop().await;
}

#[tokio::test]
async fn the_morning_digest_lists_the_day_s_figures_and_the_statistics_answer_the_scope() {
    let o = org_app(ORG, |c| sla_hours(c, 4)).await;
    let china = gongdan::ticket::china_tz();
    let at = |d: chrono::NaiveDate, h: u32| {
        china
            .from_local_datetime(&d.and_hms_opt(h, 0, 0).unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let jump_to = |t: chrono::DateTime<chrono::Utc>| {
        o.app.clock.advance(t - o.app.clock.now()).unwrap();
    };
    // The seeded day starts tomorrow, China time, at 10:00.
    let day = o
        .app
        .clock
        .now()
        .with_timezone(&china)
        .date_naive()
        .succ_opt()
        .unwrap();
    jump_to(at(day, 10));
    let (_, a) = o.app.say("m1", "zhang", PILED).await; // → 李明
    let (_, b) = o.app.say("m2", "qian", LAMP).await; // → 赵伟
    let (_, c) = o.app.say("m3", "sun", FIRE).await; // → 李明, left open
    let (a, b) = (
        ticket_of(&o.app, &a).id.get(),
        ticket_of(&o.app, &b).id.get(),
    );
    assert_eq!(
        ticket_of(&o.app, &c).officer.map(|p| p.id),
        Some("li".into())
    );
    jump_to(at(day, 11));
    o.app
        .say_in("staff1", "m4", "li", &format!("#办结 {a} 已清理"))
        .await;
    o.app.say("m5", "zhang", &format!("#评价 {a} 5")).await;
    jump_to(at(day, 16));
    o.app
        .say_in("staff1", "m6", "zhao", &format!("#办结 {b} 已修好"))
        .await;

    // `#统计` from the station answers for its community.
    let (_, body) = o.app.say_in("staff1", "m7", "li", "#统计 今日").await;
    let stats = body["replies"][0]["text"].as_str().unwrap().to_string();
    assert!(
        stats.contains("阳光社区：收到反映 3 件，办结 2 件，按时办结率 50%，满意度 5.0"),
        "{stats}"
    );

    jump_to(at(day.succ_opt().unwrap(), 8) + chrono::Duration::minutes(1));
    let label = format!("【昨日工单】阳光社区 {}", day.format("%m月%d日"));
    let staff = wait_text(&o.platform, "staff1", &label).await;
    let digest = staff.iter().find(|t| t.contains(&label)).expect("a digest");
    assert!(
        digest.contains("收到 3 件，办结 2 件（按时 1 件），超时 1 件"),
        "{digest}"
    );
    assert!(digest.contains("在办：李明 1 件"), "{digest}");
    assert!(
        digest.contains("平均办结用时 3.5 小时，满意度 5.0"),
        "{digest}"
    );
    // The street's staff group gets its own (the same tickets, one level up).
    let street = wait_text(&o.platform, "street-staff", "【昨日工单】和平街道").await;
    assert!(street.iter().any(|t| t.contains("收到 3 件")), "{street:?}");
    settle().await;
    assert_eq!(count(&o.platform, "staff1", &label), 1, "once a day");
    o.app.stop().await;
}

#[tokio::test]
async fn a_transfer_restarts_the_clock_and_tells_the_department_s_contact_group() {
    let o = org_app(ORG, |c| sla_hours(c, 10)).await;
    let (_, body) = o.app.say("m1", "zhang", PILED).await;
    let n = ticket_of(&o.app, &body).id.get();
    o.app.clock.advance(chrono::Duration::hours(7)).unwrap();
    o.app
        .say_in("staff1", "m2", "li", &format!("#转办 {n} 燃气公司"))
        .await;
    let gas = wait_text(&o.platform, "gas", "【转办】").await;
    let card = gas.iter().find(|t| t.contains("【转办】")).expect("a card");
    assert!(
        card.contains("转至燃气公司") && !card.contains("13812345678"),
        "{card}"
    );

    // 11 hours since the report, 4 since the transfer: not yet 75%.
    o.app.clock.advance(chrono::Duration::hours(4)).unwrap();
    settle().await;
    assert_eq!(count(&o.platform, "staff1", "【临期提醒】"), 0);
    assert_eq!(count(&o.platform, "street-staff", "【超时升级】"), 0);
    o.app.clock.advance(chrono::Duration::hours(4)).unwrap();
    wait_text(&o.platform, "staff1", "【临期提醒】").await;
    assert_eq!(count(&o.platform, "staff1", "【临期提醒】"), 1);
    o.app.stop().await;
}

#[tokio::test]
async fn a_leader_records_the_revisit_and_an_unhappy_resident_reopens_the_case() {
    use gongdan::ticket::EventKind::{RevisitSatisfied, RevisitUnsatisfied};
    let o = org_app(ORG, |_| {}).await;
    // Every reply to the command, wherever it goes.
    let reply = |body: &serde_json::Value| {
        body["replies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["text"].as_str().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (_, body) = o.app.say("m1", "zhang", PILED).await;
    let id = ticket_of(&o.app, &body).id;
    let n = id.get();
    let (_, body) = o
        .app
        .say_in("staff1", "m2", "wangzz", &format!("#回访 {n} 满意"))
        .await;
    assert!(reply(&body).contains("没有待登记的回访任务"), "{body}");
    o.app
        .say_in("staff1", "m3", "li", &format!("#办结 {n} 已清理"))
        .await;
    o.app
        .say("m4", "zhang", &format!("#评价 {n} 1 还是很乱"))
        .await;
    wait_text(&o.platform, "staff1", "【二次回访】").await;

    // Residents, and officers who are not the leaders asked, are refused;
    // nothing changes.
    let (_, body) = o.app.say("m5", "zhang", &format!("#回访 {n} 满意")).await;
    assert!(!reply(&body).contains("回访已登记"), "{body}");
    let (_, body) = o
        .app
        .say_in("staff1", "m6", "li", &format!("#回访 {n} 满意"))
        .await;
    assert!(
        reply(&body).contains("只能由负责回访的领导（@王站长）或管理员登记"),
        "{body}"
    );
    let t = o.app.service.store().get(id).unwrap().unwrap();
    assert!(t.follow_up.revisit.is_some() && t.status == Status::Resolved);
    assert_eq!(events(&o.app, id, RevisitSatisfied), 0);

    // The leader calls back: still unhappy. The task ends and the case reopens.
    let (_, body) = o
        .app
        .say_in(
            "staff1",
            "m7",
            "wangzz",
            &format!("#回访 {n} 不满意 夜里又堆上了"),
        )
        .await;
    let text = reply(&body);
    assert!(
        text.contains("回访已登记：居民不满意（夜里又堆上了），工单已重开，由 @李明 继续办理"),
        "{text}"
    );
    let t = o.app.service.store().get(id).unwrap().unwrap();
    assert_eq!(t.status, Status::Assigned);
    assert!(t.follow_up.revisit.is_none(), "the task ended");
    assert_eq!(events(&o.app, id, RevisitUnsatisfied), 1);
    let residents = wait_text(&o.platform, "g1", "经回访仍未让您满意").await;
    assert!(
        residents.iter().any(|x| x.contains("已重新处理")),
        "{residents:?}"
    );
    let metrics = o.app.metrics().await;
    assert!(!metrics.contains("gongdan_revisits{"), "{metrics}");

    // Fixed again, rated badly again; this time the call goes well.
    o.app
        .say_in("staff1", "m8", "li", &format!("#办结 {n} 已清理并加装监控"))
        .await;
    o.app.say("m9", "zhang", &format!("#评价 {n} 2")).await;
    let (_, body) = o
        .app
        .say_in(
            "staff1",
            "m10",
            "wangzz",
            &format!("#回访 {n} 满意 居民认可"),
        )
        .await;
    assert!(
        reply(&body).contains("回访已登记：居民满意（居民认可），回访任务结束"),
        "{body}"
    );
    let t = o.app.service.store().get(id).unwrap().unwrap();
    assert_eq!(
        t.status,
        Status::Resolved,
        "a satisfied call changes no status"
    );
    assert!(t.follow_up.revisit.is_none());
    assert_eq!(events(&o.app, id, RevisitSatisfied), 1);
    o.app.stop().await;
}

#[tokio::test]
async fn each_level_above_gets_its_own_sla_hours_from_the_config() {
    use gongdan::ticket::EventKind::Escalated;
    let o = org_app(ORG, |c| {
        sla_hours(c, 10);
        c.sla.level_hours.insert("street".into(), 2);
        c.sla.level_hours.insert("区".into(), 30);
    })
    .await;
    let (_, body) = o.app.say("m1", "zhang", PILED).await;
    let id = ticket_of(&o.app, &body).id;
    o.app.clock.advance(chrono::Duration::hours(10)).unwrap();
    wait_text(&o.platform, "street-staff", "【超时升级】").await;
    assert_eq!(events(&o.app, id, Escalated), 1);

    // The street has 2 hours, not the ticket's 10.
    o.app.clock.advance(chrono::Duration::minutes(110)).unwrap();
    settle().await;
    assert_eq!(count(&o.platform, "district-staff", "【超时升级】"), 0);
    o.app.clock.advance(chrono::Duration::minutes(10)).unwrap();
    let district = wait_text(&o.platform, "district-staff", "【超时升级】").await;
    assert!(
        district.iter().any(|t| t.contains("已超过 2 小时办理时限")),
        "the street's time: {district:?}"
    );
    assert_eq!(events(&o.app, id, Escalated), 2);

    // The district has 30.
    o.app.clock.advance(chrono::Duration::hours(29)).unwrap();
    settle().await;
    assert_eq!(count(&o.platform, "city-staff", "【超时升级】"), 0);
    o.app.clock.advance(chrono::Duration::hours(1)).unwrap();
    wait_text(&o.platform, "city-staff", "【超时升级】").await;
    assert_eq!(events(&o.app, id, Escalated), 3);
    o.app.stop().await;
}
