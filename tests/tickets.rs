//! End-to-end tests of the ticket store on a real sled database in a temp dir.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use gongdan::message::InboundMessage;
use gongdan::ticket::store::period_start;
use gongdan::ticket::{
    Action, CategoryInfo, Command, ComplaintInput, Context, CorrectionKind, EventKind, ListFilter,
    Period, Priority, Processed, Roles, Status, Store, TicketId,
};
use proptest::prelude::*;

const P: &str = "generic";

fn t(n: u64) -> TicketId {
    TicketId::new(n).expect("nonzero")
}

fn categories() -> HashMap<String, CategoryInfo> {
    let mut m = HashMap::new();
    m.insert(
        "fire_lane".to_string(),
        CategoryInfo {
            id: "fire_lane".into(),
            name: "占用消防通道".into(),
            department: "城管执法中队".into(),
            priority: Priority::High,
            sla_hours: 24,
            reply_template: None,
        },
    );
    m.insert(
        "dog".to_string(),
        CategoryInfo {
            id: "dog".into(),
            name: "不文明养犬".into(),
            department: "城管执法二中队".into(),
            priority: Priority::Normal,
            sla_hours: 72,
            reply_template: None,
        },
    );
    m
}

struct Env {
    _dir: tempfile::TempDir,
    store: Store,
    ctx: Context,
    now: DateTime<Utc>,
    seq: u64,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path().join("db")).expect("open store");
        let mut roles = Roles::default();
        roles.officers.insert(format!("{P}:officer1"));
        roles.officers.insert(format!("{P}:officer2"));
        roles.admins.insert(format!("{P}:admin"));
        let ctx = Context {
            roles,
            categories: categories(),
            ..Context::default()
        };
        Env {
            _dir: dir,
            store,
            ctx,
            // 09:00 on Sunday 2026-11-22, China time.
            now: Utc
                .with_ymd_and_hms(2026, 11, 22, 1, 0, 0)
                .single()
                .expect("valid"),
            seq: 0,
        }
    }

    fn msg(&mut self, group: &str, sender: &str, text: &str) -> InboundMessage {
        self.seq += 1;
        InboundMessage {
            platform: P.into(),
            message_id: format!("m{}", self.seq),
            group_id: group.into(),
            group_name: Some(format!("{group}群")),
            sender_id: sender.into(),
            sender_name: Some(format!("{sender}名")),
            text: text.into(),
            images: Vec::new(),
            timestamp: None,
            reply_handle: Some(format!("handle-{}", self.seq)),
        }
    }

    fn process(&self, msg: &InboundMessage, action: Action) -> Processed {
        self.store
            .process(msg, action, &self.ctx, self.now)
            .expect("process")
    }

    fn complain(
        &mut self,
        group: &str,
        sender: &str,
        text: &str,
        input: ComplaintInput,
    ) -> Processed {
        let m = self.msg(group, sender, text);
        self.process(&m, Action::Complaint(input))
    }

    /// Sends text the way the pipeline does: commands parsed, errors kept.
    fn say(&mut self, group: &str, sender: &str, text: &str) -> Processed {
        let m = self.msg(group, sender, text);
        let action = Action::from_parse(Command::parse(text)).expect("text is a command");
        self.process(&m, action)
    }

    fn get(&self, n: u64) -> gongdan::ticket::Ticket {
        self.store.get(t(n)).expect("get").expect("ticket exists")
    }
}

fn fire(location: Option<&str>, tokens: &str) -> ComplaintInput {
    ComplaintInput {
        category: "fire_lane".into(),
        category_name: "占用消防通道".into(),
        department: "城管执法中队".into(),
        priority: Priority::High,
        sla_hours: 24,
        location: location.map(String::from),
        tokens: tokens.split_whitespace().map(String::from).collect(),
        reply_template: None,
        missed: false,
    }
}

fn dog(location: Option<&str>, tokens: &str) -> ComplaintInput {
    ComplaintInput {
        category: "dog".into(),
        category_name: "不文明养犬".into(),
        department: "城管执法二中队".into(),
        priority: Priority::Normal,
        sla_hours: 72,
        location: location.map(String::from),
        tokens: tokens.split_whitespace().map(String::from).collect(),
        reply_template: None,
        missed: false,
    }
}

fn only_text(p: &Processed) -> String {
    assert_eq!(p.replies.len(), 1, "{:?}", p.replies);
    p.replies[0].text.clone()
}

#[test]
fn complaint_opens_numbered_ticket_and_queues_reply() {
    let mut env = Env::new();
    let p = env.complain(
        "g1",
        "r1",
        "5号楼消防通道又被车堵了",
        fire(Some("5号楼"), "消防通道 堵 车"),
    );
    assert!(!p.duplicate_delivery);
    assert_eq!(p.ticket, Some(t(1001)));
    assert_eq!(
        only_text(&p),
        "已受理：占用消防通道（5号楼），工单 #1001。城管执法中队将在 24 小时内处理，处理结果会在群里告知。"
    );
    let tk = env.get(1001);
    assert_eq!(tk.status, Status::Open);
    assert_eq!(tk.reporter.id, "r1");
    assert_eq!(tk.due_at, env.now + Duration::hours(24));
    let outbox = env.store.outbox_pending(10).expect("outbox");
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].group_id, "g1");
    assert_eq!(outbox[0].ticket, Some(1001));
    assert_eq!(outbox[0].reply_handle.as_deref(), Some("handle-1"));
    let history = env.store.history(t(1001)).expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, EventKind::Created);
    assert_eq!(history[0].to, Some(Status::Open));
    // The next one gets the next number.
    let p2 = env.complain("g2", "r2", "狗叫", dog(None, "狗 叫"));
    assert_eq!(p2.ticket, Some(t(1002)));
}

#[test]
fn same_message_twice_gives_one_ticket_and_one_outbox_entry() {
    let mut env = Env::new();
    let m = env.msg("g1", "r1", "5号楼消防通道被堵");
    let first = env.process(&m, Action::Complaint(fire(Some("5号楼"), "消防通道 堵")));
    let second = env.process(&m, Action::Complaint(fire(Some("5号楼"), "消防通道 堵")));
    assert!(!first.duplicate_delivery);
    assert!(second.duplicate_delivery);
    assert_eq!(first.ticket, second.ticket);
    assert_eq!(first.replies, second.replies);
    assert_eq!(
        env.store.list(&ListFilter::default()).expect("list").len(),
        1
    );
    assert_eq!(env.store.outbox_len(), 1);
    // A command redelivered is not applied twice either.
    let claim = env.msg("g1", "officer1", "#认领 1001");
    let a = env.process(&claim, Action::Command(Command::Claim(t(1001))));
    let b = env.process(&claim, Action::Command(Command::Claim(t(1001))));
    assert!(b.duplicate_delivery && !a.duplicate_delivery);
    assert_eq!(env.store.history(t(1001)).expect("history").len(), 2);
    assert_eq!(env.store.outbox_len(), 2);
    let stored = env
        .store
        .processed_outcome(P, &claim.message_id)
        .expect("read");
    assert_eq!(stored.map(|p| p.replies), Some(a.replies));
}

#[test]
fn duplicates_join_existing_ticket() {
    let mut env = Env::new();
    env.complain(
        "g1",
        "r1",
        "5号楼消防通道被堵",
        fire(Some("5号楼"), "消防通道 堵 车"),
    );
    // Same location.
    let p = env.complain(
        "g1",
        "r2",
        "5号楼东侧通道有车",
        fire(Some("5号楼东侧"), "通道 车"),
    );
    assert_eq!(p.ticket, Some(t(1001)));
    assert_eq!(
        only_text(&p),
        "已有工单 #1001 正在处理，已记录您的反映（共 2 人反映）。"
    );
    // Similar wording, no location.
    let p = env.complain(
        "g1",
        "r3",
        "消防通道被车堵了",
        fire(None, "消防通道 堵 车 了"),
    );
    assert_eq!(p.ticket, Some(t(1001)));
    assert!(only_text(&p).contains("共 3 人反映"));
    // Same sender twice counts once.
    let p = env.complain("g1", "r2", "还是堵着", fire(Some("5号楼"), "堵"));
    assert_eq!(p.ticket, Some(t(1001)));
    assert!(only_text(&p).contains("共 3 人反映"), "{:?}", p.replies);
    assert_eq!(env.get(1001).report_count(), 3);
    let kinds: Vec<EventKind> = env
        .store
        .history(t(1001))
        .expect("h")
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            EventKind::Created,
            EventKind::Supported,
            EventKind::Supported
        ]
    );

    // Not duplicates: each case opens a new ticket.
    let cases: Vec<(&str, ComplaintInput, i64)> = vec![
        ("g2", fire(Some("5号楼"), "消防通道 堵 车"), 0), // other group
        ("g1", dog(Some("5号楼"), "消防通道 堵 车"), 0),  // other category
        ("g1", fire(Some("9号楼"), "电动车 充电 飞线"), 0), // other place, other words
        ("g1", fire(Some("5号楼"), "消防通道 堵 车"), 73), // outside the 72 h window
    ];
    let mut expected = 1002;
    for (group, input, hours_later) in cases {
        env.now += Duration::hours(hours_later);
        let p = env.complain(group, "r9", "新的投诉", input);
        assert_eq!(p.ticket, Some(t(expected)), "{group} +{hours_later}h");
        expected += 1;
    }
    // A resolved ticket is not joined either.
    env.say("g1", "officer1", "#办结 1005 已清理");
    let p = env.complain("g1", "r4", "5号楼又堵了", fire(Some("5号楼"), "堵"));
    assert_eq!(p.ticket, Some(t(expected)));
}

#[test]
fn merge_command_moves_reporters() {
    let mut env = Env::new();
    env.complain("g1", "r1", "5号楼通道堵了", fire(Some("5号楼"), "通道 堵"));
    env.complain(
        "g2",
        "r2",
        "东门消防通道停满车",
        fire(Some("东门"), "消防通道 停 车"),
    );
    env.complain(
        "g2",
        "r3",
        "东门消防通道停车",
        fire(Some("东门"), "消防通道 停车"),
    );
    let p = env.say("staff", "officer1", "#合并 1002 1001");
    let dup = env.get(1002);
    assert_eq!(dup.status, Status::Duplicate);
    assert_eq!(dup.merged_into, Some(t(1001)));
    let target = env.get(1001);
    assert_eq!(target.report_count(), 3);
    let msg = "工单 #1002 与 #1001 为同一问题，已合并到 #1001 一并处理（共 3 人反映）。";
    let groups: Vec<&str> = p.replies.iter().map(|r| r.group_id.as_str()).collect();
    assert_eq!(groups, ["g2", "staff", "g1"]);
    assert!(p.replies.iter().all(|r| r.text == msg), "{:?}", p.replies);
    let last = env.store.history(t(1001)).expect("h");
    assert_eq!(last.last().map(|e| e.kind), Some(EventKind::MergedFrom));

    assert_eq!(
        only_text(&env.say("staff", "officer1", "#合并 1001 1001")),
        "不能把工单 #1001 合并到它自己。"
    );
    assert_eq!(
        only_text(&env.say("staff", "officer1", "#合并 1001 1002")),
        "目标工单 #1002 已合并，不能合并到它。请先 #重开 1002。"
    );
    assert_eq!(
        only_text(&env.say("staff", "officer1", "#合并 1001 4242")),
        "没有找到工单 #4242。"
    );
    assert_eq!(env.get(1001).status, Status::Open);
}

#[test]
fn full_case_loop_with_replies_in_origin_group() {
    let mut env = Env::new();
    env.complain("g1", "r1", "5号楼通道堵了", fire(Some("5号楼"), "通道 堵"));
    // Officer works from a staff group: residents' group hears too.
    let p = env.say("staff", "officer1", "#认领 1001");
    assert_eq!(p.replies.len(), 2);
    assert_eq!(
        (
            p.replies[0].group_id.as_str(),
            p.replies[1].group_id.as_str()
        ),
        ("g1", "staff")
    );
    assert_eq!(
        p.replies[0].text,
        "工单 #1001 已由 officer1名 认领，正在安排处置。"
    );
    let outbox = env.store.outbox_pending(100).expect("outbox");
    let handles: Vec<Option<&str>> = outbox[1..]
        .iter()
        .map(|e| e.reply_handle.as_deref())
        .collect();
    assert_eq!(handles, [None, Some("handle-2")]);

    let steps: &[(&str, &str, Status, &str)] = &[
        ("officer1", "#处理 1001 已联系车主", Status::InProgress, "工单 #1001 处置进展：已联系车主"),
        ("officer1", "#办结 1001 车辆已挪走", Status::Resolved, "工单 #1001 已办结：车辆已挪走。如确已解决请发送 #确认 1001；仍未解决请发送 #未解决 1001 原因。"),
        ("r1", "#确认 1001", Status::Closed, "工单 #1001 已确认解决并结案"),
        ("r1", "#评价 1001 5", Status::Closed, "感谢评价！工单 #1001 评分 5 星。"),
    ];
    for (who, text, status, reply) in steps {
        let p = env.say("g1", who, text);
        assert_eq!(env.get(1001).status, *status, "{text}");
        assert!(only_text(&p).starts_with(reply), "{text}: {:?}", p.replies);
    }
    let tk = env.get(1001);
    assert_eq!(tk.rating, Some(5));
    assert!(tk.closed_at.is_some() && tk.resolved_at.is_some());
    assert_eq!(env.store.history(t(1001)).expect("h").len(), 6);
    // Closed: officer commands are refused with the status.
    assert_eq!(
        only_text(&env.say("g1", "officer1", "#认领 1001")),
        "#1001 已结案，不能再认领"
    );
    let show = env.store.show_text(t(1001)).expect("show").expect("exists");
    assert!(
        show.contains("车辆已挪走") && show.contains("评价：5 星") && show.contains("确认结案")
    );
}

/// 核查结案 without the reporter: a resolved ticket closes after the wait,
/// not before, tells its group how to reopen it, and the reporter can still
/// say it is not fixed.
#[test]
fn resolved_ticket_auto_closes_after_the_wait() {
    let mut env = Env::new();
    env.ctx.auto_close_hours = 48;
    env.complain("g1", "r1", "5号楼通道堵了", fire(Some("5号楼"), "通道 堵"));
    env.say("staff", "officer1", "#认领 1001");
    let resolved = env.say("staff", "officer1", "#办结 1001 车辆已挪走");
    assert!(
        resolved.replies[0]
            .text
            .ends_with("原因。2 天内未反馈将自动结案。"),
        "the resolved reply names the deadline: {:?}",
        resolved.replies
    );
    let resolved_at = env.now;
    let timer = |env: &mut Env, id: &str| {
        let mut m = env.msg("g1", "gongdan", "");
        m.message_id = id.to_string();
        env.process(&m, Action::AutoClose(t(1001)))
    };

    // Not yet due: nothing changes, nobody is told.
    env.now = resolved_at + Duration::hours(47);
    let early = timer(&mut env, "auto-1");
    assert!(early.replies.is_empty() && early.ticket.is_none());
    assert_eq!(env.get(1001).status, Status::Resolved);

    env.now = resolved_at + Duration::hours(48);
    let p = timer(&mut env, "auto-2");
    assert_eq!(p.ticket, Some(t(1001)));
    assert_eq!(
        only_text(&p),
        "工单 #1001 办结后 2 天未收到反馈，已自动结案。如问题仍在，请发送 #未解决 1001 原因。"
    );
    assert_eq!(p.replies[0].group_id, "g1");
    let tk = env.get(1001);
    assert_eq!(tk.status, Status::Closed);
    assert_eq!(tk.closed_at, Some(env.now));
    let last = env
        .store
        .history(t(1001))
        .expect("history")
        .pop()
        .expect("event");
    assert_eq!(
        (last.kind, last.from, last.to),
        (
            EventKind::AutoClosed,
            Some(Status::Resolved),
            Some(Status::Closed)
        )
    );

    // A repeated run changes nothing; the same delivery is recognised.
    assert!(timer(&mut env, "auto-3").replies.is_empty());
    assert!(timer(&mut env, "auto-2").duplicate_delivery);
    assert_eq!(env.store.history(t(1001)).expect("history").len(), 4);

    // 回马枪 still works on an auto-closed ticket.
    env.say("g1", "r1", "#未解决 1001 车又停回来了");
    assert_ne!(env.get(1001).status, Status::Closed);

    // With the wait set to 0, resolved tickets wait for ever.
    env.ctx.auto_close_hours = 0;
    let resolved = env.say("staff", "officer1", "#办结 1001 再次处理");
    assert!(
        resolved.replies[0].text.ends_with("原因。"),
        "{:?}",
        resolved.replies
    );
    env.now += Duration::days(365);
    assert!(timer(&mut env, "auto-4").replies.is_empty());
    assert_eq!(env.get(1001).status, Status::Resolved);
}

/// Every (status × action) pair driven through chat commands on the real
/// store agrees with the workflow table: allowed ones land in the table's
/// target status, refused ones answer the table's refusal and change nothing.
#[test]
fn store_follows_transition_table_for_every_status_and_action() {
    use gongdan::ticket::workflow::{check, target_status, Act};
    let acts: &[(Act, &str, &str)] = &[
        (Act::Supplement, "rep", "#补充 {n} 更严重了"),
        (Act::Confirm, "rep", "#确认 {n}"),
        (Act::NotFixed, "rep", "#未解决 {n} 还在"),
        (Act::Rate, "rep", "#评价 {n} 3"),
        (Act::Withdraw, "rep", "#撤回 {n}"),
        (Act::Claim, "officer1", "#认领 {n}"),
        (Act::Assign, "officer1", "#派遣 {n} @张队"),
        (Act::Progress, "officer1", "#处理 {n} 到场"),
        (Act::Resolve, "officer1", "#办结 {n} 好了"),
        (Act::Reject, "officer1", "#驳回 {n} 不归我们管"),
        (Act::Transfer, "officer1", "#转办 {n} 园林局"),
        (Act::Merge, "officer1", "#合并 {n} {m}"),
        (Act::Hold, "officer1", "#挂账 {n} 等预算"),
        (Act::Reopen, "officer1", "#重开 {n}"),
        (Act::Recategorize, "officer1", "#改类 {n} dog"),
        (Act::Note, "officer1", "#备注 {n} 记一下"),
    ];
    let setups: &[(Status, &[&str])] = &[
        (Status::Open, &[]),
        (Status::Assigned, &["#认领 {n}"]),
        (Status::InProgress, &["#处理 {n} 到场"]),
        (Status::Resolved, &["#办结 {n} 好了"]),
        (Status::Closed, &["#办结 {n} 好了", "#确认 {n}"]),
        (Status::Rejected, &["#驳回 {n} 不归我们管"]),
        (Status::Duplicate, &["#合并 {n} {m}"]),
        (Status::OnHold, &["#挂账 {n} 等预算"]),
    ];
    let mut env = Env::new();
    let mut g = 0;
    for (status, steps) in setups {
        for (act, actor, template) in acts {
            g += 1;
            let group = format!("tt{g}");
            let n = env
                .complain(&group, "rep", "通道堵了", fire(Some("1号楼"), "x"))
                .ticket
                .expect("ticket");
            // The merge target lives in another group so it is not an automatic duplicate.
            let m = env
                .complain(
                    &format!("{group}m"),
                    "rep2",
                    "通道堵了",
                    fire(Some("1号楼"), "x"),
                )
                .ticket
                .expect("ticket");
            let fill = |t: &str| {
                t.replace("{n}", &n.get().to_string())
                    .replace("{m}", &m.get().to_string())
            };
            for step in *steps {
                let who = if step.starts_with("#确认") {
                    "rep"
                } else {
                    "officer2"
                };
                env.say(&group, who, &fill(step));
            }
            let before = env.store.get(n).expect("g").expect("exists");
            assert_eq!(before.status, *status, "setup {steps:?}");
            let p = env.say(&group, actor, &fill(template));
            let after = env.store.get(n).expect("g").expect("exists");
            match check(n, *status, *act) {
                Ok(target) => {
                    let want = target_status(*status, target, before.officer.is_some());
                    assert_eq!(
                        after.status, want,
                        "{act:?} from {status:?}: {:?}",
                        p.replies
                    );
                    assert!(after.updated_at >= before.updated_at);
                }
                Err(refusal) => {
                    assert_eq!(only_text(&p), refusal, "{act:?} from {status:?}");
                    assert_eq!(after, before, "{act:?} from {status:?} changed the ticket");
                }
            }
        }
    }
}

#[test]
fn refused_transition_changes_nothing() {
    let mut env = Env::new();
    env.complain("g1", "r1", "通道堵了", fire(Some("5号楼"), "通道"));
    env.say("g1", "officer1", "#办结 1001 已处理");
    let before = env.get(1001);
    let events = env.store.history(t(1001)).expect("h").len();
    let cases: &[(&str, &str, &str)] = &[
        ("officer1", "#认领 1001", "#1001 已办结，不能再认领"),
        ("officer1", "#挂账 1001 等等", "#1001 已办结，不能再挂账"),
        ("r1", "#撤回 1001", "#1001 已办结，不能再撤回"),
    ];
    for (who, text, want) in cases {
        assert_eq!(only_text(&env.say("g1", who, text)), *want);
    }
    assert_eq!(env.get(1001), before);
    assert_eq!(env.store.history(t(1001)).expect("h").len(), events);
}

#[test]
fn not_fixed_reopens_to_assigned_or_open() {
    let mut env = Env::new();
    env.complain("g1", "r1", "通道堵了", fire(Some("5号楼"), "通道"));
    env.say("g1", "officer1", "#认领 1001");
    env.say("g1", "officer1", "#办结 1001 已挪车");
    let p = env.say("g1", "r1", "#未解决 1001 车又停回来了");
    assert_eq!(
        only_text(&p),
        "工单 #1001 已重新打开（反映人反馈未解决：车又停回来了），我们会尽快再次处理。"
    );
    let tk = env.get(1001);
    assert_eq!(tk.status, Status::Assigned);
    assert_eq!(tk.reopen_count, 1);
    assert_eq!(tk.resolved_at, None);
    let last = env.store.history(t(1001)).expect("h").pop().expect("event");
    assert_eq!(
        (last.kind, last.from, last.to),
        (
            EventKind::NotFixed,
            Some(Status::Resolved),
            Some(Status::Assigned)
        )
    );
    assert_eq!(last.note.as_deref(), Some("车又停回来了"));
    // Someone else cannot say it is not fixed.
    assert!(only_text(&env.say("g1", "r2", "#未解决 1001"))
        .starts_with("抱歉，只有工单 #1001 的反映人"));

    // Without an owner it goes back to open: rejected before anyone claimed, then 重开.
    env.complain("g2", "r1", "狗叫", dog(None, "狗 叫"));
    env.say("g2", "officer1", "#驳回 1002 属于物业管理");
    assert_eq!(env.get(1002).status, Status::Rejected);
    env.say("g2", "officer1", "#重开 1002 物业不管");
    assert_eq!(env.get(1002).status, Status::Open);
    // 挂账 then 重开 with an owner: assigned.
    env.say("g2", "officer2", "#认领 1002");
    env.say("g2", "officer2", "#挂账 1002 等待道路改造");
    let held = env.get(1002);
    assert_eq!(
        (held.status, held.status_reason.as_deref()),
        (Status::OnHold, Some("等待道路改造"))
    );
    env.say("g2", "officer2", "#重开 1002");
    assert_eq!(env.get(1002).status, Status::Assigned);
}

#[test]
fn transfer_assign_recat_note_withdraw() {
    let mut env = Env::new();
    env.complain("g1", "r1", "通道堵了", fire(Some("5号楼"), "通道"));
    env.say("g1", "officer1", "#认领 1001");
    let p = env.say("g1", "officer1", "#转办 1001 市场监管所");
    assert_eq!(only_text(&p), "工单 #1001 已转交市场监管所办理。");
    let tk = env.get(1001);
    assert_eq!(
        (tk.status, tk.officer.is_none(), tk.department.as_str()),
        (Status::Open, true, "市场监管所")
    );

    assert_eq!(
        only_text(&env.say("g1", "officer1", "#派遣 1001 @张队")),
        "工单 #1001 已派遣给 张队 处理。"
    );
    assert_eq!(env.get(1001).status, Status::Assigned);

    let p = env.say("g1", "officer1", "#改类 1001 不文明养犬");
    assert_eq!(
        only_text(&p),
        "工单 #1001 已改为「不文明养犬」，由城管执法二中队处理。"
    );
    let tk = env.get(1001);
    assert_eq!(
        (tk.category.as_str(), tk.priority, tk.sla_hours),
        ("dog", Priority::High, 72)
    );
    let p = env.say("g1", "officer1", "#改类 1001 火星");
    assert!(only_text(&p).starts_with("没有找到类别「火星」。可用类别："));
    env.say("g1", "officer1", "/recat 1001 fire_lane");
    assert_eq!(env.get(1001).category, "fire_lane");

    // Notes are internal: answered where typed only, even if the ticket is elsewhere.
    let p = env.say("staff", "officer1", "#备注 1001 车主电话 13812341234");
    assert_eq!(p.replies.len(), 1);
    assert_eq!(p.replies[0].group_id, "staff");

    // Withdraw with another reporter: only this person leaves.
    env.complain("g1", "r2", "5号楼通道", fire(Some("5号楼"), "通道"));
    assert_eq!(env.get(1001).report_count(), 2);
    let p = env.say("g1", "r1", "#撤回 1001");
    assert_eq!(
        only_text(&p),
        "已撤回您对工单 #1001 的反映，该工单仍有 1 人反映，将继续处理。"
    );
    let tk = env.get(1001);
    assert_eq!(
        (tk.status, tk.reporter.id.as_str()),
        (Status::Assigned, "r2")
    );
    // The last reporter withdrawing closes it.
    assert_eq!(
        only_text(&env.say("g1", "r2", "/withdraw 1001")),
        "工单 #1001 已由反映人撤回，不再处理。"
    );
    assert_eq!(env.get(1001).status, Status::Closed);
}

#[test]
fn phone_numbers_are_masked_in_replies() {
    let mut env = Env::new();
    env.complain(
        "g1",
        "r1",
        "通道堵了，车主电话13812341234",
        fire(Some("5号楼"), "通道"),
    );
    let p = env.say(
        "g1",
        "officer1",
        "#处理 1001 已联系车主 138 1234 1234，马上挪",
    );
    assert_eq!(
        only_text(&p),
        "工单 #1001 处置进展：已联系车主 138****1234，马上挪"
    );
    let p = env.say("g1", "r1", "#查询 1001");
    let text = only_text(&p);
    assert!(
        text.contains("138****1234") && !text.contains("13812341234"),
        "{text}"
    );
    // The record keeps the original for officers.
    assert!(env.get(1001).text.contains("13812341234"));
    // Command errors echo what was typed: the number is masked there too,
    // in the inline answer and in the outbox, and on a repeated delivery.
    let m = env.msg("g1", "r1", "#联系电话13812345678");
    let action = Action::from_parse(Command::parse(&m.text)).expect("a command");
    let p = env.process(&m, action.clone());
    let text = only_text(&p);
    assert!(
        text.contains("138****5678") && !text.contains("13812345678"),
        "{text}"
    );
    let again = env.process(&m, action);
    assert!(again.duplicate_delivery);
    assert_eq!(only_text(&again), text);
    // Shapes an officer's note may carry: landlines, dots, zero-width characters.
    let p = env.say(
        "g1",
        "officer1",
        "#处理 1001 物业 0531-88886666，车主 138.1234.5678 或 139\u{200b}8765\u{200b}4321",
    );
    let text = only_text(&p);
    assert!(
        text.contains("0531****6666")
            && text.contains("138****5678")
            && text.contains("139****4321"),
        "{text}"
    );
    for e in env.store.outbox_pending(100).expect("outbox") {
        assert!(
            !e.text.contains("13812345678")
                && !e.text.contains("88886666")
                && !e.text.contains("1234.5678"),
            "{}",
            e.text
        );
        assert!(
            !e.text.contains("1234 1234") && !e.text.contains("13812341234"),
            "{}",
            e.text
        );
    }
}

#[test]
fn malformed_commands_get_helpful_replies() {
    let mut env = Env::new();
    let cases: &[(&str, &str)] = &[
        ("#认领", "用法：#认领 工单号，例如 #认领 1024"),
        (
            "#认领 abc",
            "工单号应为数字，例如 #认领 1024（收到的是「abc」）",
        ),
        ("#认领 99999", "没有找到工单 #99999。"),
        ("#foo", "未知命令「#foo」。发送 #帮助 查看可用命令。"),
        ("/claim", "用法：#认领 工单号，例如 #认领 1024"),
        ("#查询 1", "没有找到工单 #1。"),
    ];
    for (text, want) in cases {
        let p = env.say("g1", "officer1", text);
        assert_eq!(only_text(&p), *want, "{text}");
        assert_eq!(p.ticket, None);
    }
    assert_eq!(env.store.outbox_len(), cases.len());
    assert!(env
        .store
        .list(&ListFilter::default())
        .expect("list")
        .is_empty());
}

/// resident (not the reporter) / reporter / officer / admin × every command.
#[test]
fn authorisation_matrix() {
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Pre {
        Open,
        Resolved,
    }
    // (command text with {n} for a fresh ticket and {m} for another one,
    //  needed status, allowed for [resident, reporter, officer, admin]).
    let cases: &[(&str, Pre, [bool; 4])] = &[
        ("#帮助", Pre::Open, [true, true, true, true]),
        ("#查询 {n}", Pre::Open, [true, true, true, true]),
        ("#列表", Pre::Open, [true, true, true, true]),
        (
            "#投诉 楼道里堆满了纸箱",
            Pre::Open,
            [true, true, true, true],
        ),
        (
            "#补充 {n} 晚上更严重",
            Pre::Open,
            [false, true, false, false],
        ),
        ("#确认 {n}", Pre::Resolved, [false, true, true, true]),
        (
            "#未解决 {n} 还是堵",
            Pre::Resolved,
            [false, true, false, false],
        ),
        ("#评价 {n} 4", Pre::Resolved, [false, true, false, false]),
        ("#撤回 {n}", Pre::Open, [false, true, false, false]),
        ("#认领 {n}", Pre::Open, [false, false, true, true]),
        ("#派遣 {n} @张队", Pre::Open, [false, false, true, true]),
        ("#处理 {n} 已到场", Pre::Open, [false, false, true, true]),
        ("#办结 {n} 已处理", Pre::Open, [false, false, true, true]),
        (
            "#驳回 {n} 不属于职责",
            Pre::Open,
            [false, false, true, true],
        ),
        (
            "#转办 {n} 市场监管所",
            Pre::Open,
            [false, false, true, true],
        ),
        ("#合并 {n} {m}", Pre::Open, [false, false, true, true]),
        ("#挂账 {n} 等待改造", Pre::Open, [false, false, true, true]),
        ("#重开 {n}", Pre::Resolved, [false, false, true, true]),
        ("#改类 {n} dog", Pre::Open, [false, false, true, true]),
        ("#备注 {n} 内部", Pre::Open, [false, false, true, true]),
        ("#非投诉 {n}", Pre::Open, [false, false, true, true]),
        ("#统计 本周", Pre::Open, [false, false, true, true]),
        ("#重载规则", Pre::Open, [false, false, false, true]),
        ("#请假", Pre::Open, [false, false, true, true]),
        ("#销假", Pre::Open, [false, false, true, true]),
        ("#复查 {n} 3天", Pre::Resolved, [false, false, true, true]),
        ("#复查通过 {n}", Pre::Resolved, [false, false, true, true]),
        (
            "#复查发现 {n} 又堵了",
            Pre::Resolved,
            [false, false, true, true],
        ),
        // Residents are refused by role; officers hear there is no 回访 task.
        ("#回访 {n} 满意", Pre::Resolved, [false, false, true, true]),
    ];
    // Every command in the table is covered.
    assert_eq!(cases.len(), gongdan::ticket::command::COMMANDS.len());
    let actors = ["r_other", "reporter", "officer1", "admin"];
    let mut env = Env::new();
    let mut group_no = 0;
    for (template, pre, allowed) in cases {
        for (i, actor) in actors.iter().enumerate() {
            group_no += 1;
            let group = format!("auth{group_no}");
            let n = env
                .complain(&group, "reporter", "通道堵了", fire(Some("1号楼"), "a"))
                .ticket
                .expect("ticket");
            let m = env
                .complain(&group, "reporter2", "狗叫", dog(Some("2号楼"), "b"))
                .ticket
                .expect("ticket");
            if *pre == Pre::Resolved {
                env.say(&group, "officer2", &format!("#办结 {} 已处理", n.get()));
            }
            let before = (
                env.store.get(n).expect("g"),
                env.store.history(n).expect("h").len(),
            );
            let text = template
                .replace("{n}", &n.get().to_string())
                .replace("{m}", &m.get().to_string());
            let p = env.say(&group, actor, &text);
            let after = (
                env.store.get(n).expect("g"),
                env.store.history(n).expect("h").len(),
            );
            let denied = p.replies.iter().any(|r| r.text.starts_with("抱歉"));
            assert_eq!(!denied, allowed[i], "{actor} {text}: {:?}", p.replies);
            if denied {
                assert_eq!(p.replies.len(), 1);
                assert_eq!(before, after, "{actor} {text} changed the ticket");
            } else {
                assert!(
                    !p.replies.iter().any(|r| r.text.contains("不能")),
                    "{actor} {text}: {:?}",
                    p.replies
                );
            }
        }
    }
}

#[test]
fn chat_listing_and_help() {
    let mut env = Env::new();
    env.complain("g1", "r1", "通道堵了", fire(Some("5号楼"), "通道"));
    env.complain("g1", "r2", "狗叫", dog(None, "狗 叫"));
    env.complain("g2", "r3", "狗屎", dog(Some("东门"), "狗屎"));
    env.say("g1", "officer1", "#认领 1002");

    let list = only_text(&env.say("g1", "r1", "#列表"));
    assert!(
        list.contains("#1001 已受理 占用消防通道（5号楼）") && list.contains("#1002 已派遣"),
        "{list}"
    );
    assert!(
        !list.contains("#1003"),
        "residents see their own group only: {list}"
    );
    let mine = only_text(&env.say("g1", "r1", "/list mine"));
    assert!(mine.contains("#1001") && !mine.contains("#1002"), "{mine}");
    let officer_mine = only_text(&env.say("g1", "officer1", "#列表 我的"));
    assert!(
        officer_mine.contains("#1002") && !officer_mine.contains("#1001"),
        "{officer_mine}"
    );
    let by_cat = only_text(&env.say("g9", "officer1", "#列表 不文明养犬"));
    assert!(
        by_cat.contains("#1002") && by_cat.contains("#1003") && !by_cat.contains("#1001"),
        "{by_cat}"
    );
    let by_status = only_text(&env.say("g1", "r1", "#列表 已派遣"));
    assert!(by_status.contains("#1002") && !by_status.contains("#1001"));
    assert_eq!(
        only_text(&env.say("g1", "r1", "#列表 已结案")),
        "暂无符合条件的工单。"
    );
    // Showing another group's ticket to a resident is refused.
    assert_eq!(
        only_text(&env.say("g1", "r1", "#查询 1003")),
        "工单 #1003 不是在本群反映的，请在原群查询。"
    );

    let help = only_text(&env.say("g1", "r1", "#帮助"));
    assert!(help.contains("#查询 工单号") && !help.contains("#认领"));
    let help = only_text(&env.say("g1", "officer1", "/help"));
    assert!(help.contains("#认领 工单号"));
    assert!(only_text(&env.say("g1", "r1", "#帮助 评价")).contains("#评价 1024 5"));
}

#[test]
fn report_command_files_unclassified_ticket() {
    let mut env = Env::new();
    // The pipeline's path: classify the content, unsure → unclassified.
    let p = env.complain(
        "g1",
        "r1",
        "#投诉 小区门口有人私搭棚子",
        ComplaintInput::unclassified("小区门口有人私搭棚子"),
    );
    assert_eq!(p.ticket, Some(t(1001)));
    assert_eq!(
        only_text(&p),
        "已收到您的反映，工单 #1001。暂未能自动分类，工作人员会尽快分派处理。"
    );
    let tk = env.get(1001);
    assert_eq!(
        (tk.category.as_str(), tk.category_name.as_str()),
        ("unclassified", "待分类")
    );
    assert_eq!(tk.text, "小区门口有人私搭棚子");
    // The store's fallback when a bare Report command arrives, with similar wording: joins.
    let p = env.say("g1", "r2", "#投诉 小区门口有人私搭棚子！");
    assert_eq!(p.ticket, Some(t(1001)));
    assert_eq!(env.get(1001).report_count(), 2);
    let p = env.say("g1", "r3", "/report 垃圾桶满了没人清");
    assert_eq!(p.ticket, Some(t(1002)));
    // Officers sort it out.
    env.say("g1", "officer1", "#改类 1001 fire_lane");
    assert_eq!(env.get(1001).category_name, "占用消防通道");
    let list = only_text(&env.say("g1", "officer1", "#列表 待分类"));
    assert!(list.contains("#1002") && !list.contains("#1001"), "{list}");
}

#[test]
fn reply_templates_can_be_overridden() {
    let mut env = Env::new();
    env.ctx.replies.insert(
        "claimed".into(),
        "{ticket} 由{officer}接单（{priority}）".into(),
    );
    env.ctx
        .replies
        .insert("created".into(), "收到 {ticket}".into());
    let mut input = dog(Some("3号楼"), "狗");
    input.reply_template =
        Some("狗狗问题 {ticket}{location}，{department} {sla_hours} 小时内处理".into());
    let p = env.complain("g1", "r1", "狗叫", input);
    // The category's reply beats the configured "created".
    assert_eq!(
        only_text(&p),
        "狗狗问题 #1001（3号楼），城管执法二中队 72 小时内处理"
    );
    let p = env.complain("g1", "r1", "通道", fire(None, "x"));
    assert_eq!(only_text(&p), "收到 #1002");
    assert_eq!(
        only_text(&env.say("g1", "officer1", "#认领 1001")),
        "#1001 由officer1名接单（普通）"
    );
}

#[test]
fn database_written_by_record_version_1_still_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let store = Store::open(&path).expect("open");
        let tickets = store.raw_tree("tickets").expect("tree");
        let v1 = r#"{"v":1,"id":1005,"status":"assigned","category":"dog","category_name":"不文明养犬",
            "department":"城管执法中队","priority":"high","sla_hours":72,"location":"3号楼",
            "text":"3号楼的狗天天叫","platform":"generic","group_id":"g1",
            "reporter":"generic:r1","reporter_name":"老王","officer":"officer1",
            "created_at":"2026-11-01T02:00:00Z","updated_at":"2026-11-02T02:00:00Z"}"#;
        // Before versioning there was no "v" at all: also version 1.
        let unversioned = r#"{"id":1006,"status":"closed","category":"dog","category_name":"不文明养犬",
            "department":"城管执法中队","sla_hours":72,"text":"狗屎","platform":"generic",
            "group_id":"g1","reporter":"generic:r2","created_at":"2026-11-01T02:00:00Z",
            "updated_at":"2026-11-03T02:00:00Z","note":"已清理"}"#;
        tickets
            .insert(1005u64.to_be_bytes(), v1.as_bytes())
            .expect("insert");
        tickets
            .insert(1006u64.to_be_bytes(), unversioned.as_bytes())
            .expect("insert");
        store.flush().expect("flush");
    }
    let store = Store::open(&path).expect("reopen");
    let tk = store.get(t(1005)).expect("read").expect("exists");
    assert_eq!(tk.reporter.id, "r1");
    assert_eq!(tk.reporter.name.as_deref(), Some("老王"));
    assert!(tk.supporters.is_empty() && tk.attachments.is_empty());
    assert_eq!(tk.officer.as_ref().map(|o| o.id.as_str()), Some("officer1"));
    assert_eq!(tk.due_at, tk.created_at + Duration::hours(72));
    assert!(!tk.tokens.is_empty());
    let old = store.get(t(1006)).expect("read").expect("exists");
    assert_eq!(
        (old.status, old.status_reason.as_deref()),
        (Status::Closed, Some("已清理"))
    );
    assert_eq!(old.priority, Priority::Normal);

    // Indexes are rebuilt and old records rewritten in the current format.
    assert_eq!(store.reindex().expect("reindex"), 2);
    let raw = store
        .raw_tree("tickets")
        .expect("tree")
        .get(1005u64.to_be_bytes())
        .expect("get")
        .expect("some");
    let value: serde_json::Value = serde_json::from_slice(&raw).expect("json");
    assert_eq!(value["v"], 2);
    let filter = ListFilter {
        group: Some((P.into(), "g1".into())),
        ..ListFilter::default()
    };
    assert_eq!(store.list(&filter).expect("list").len(), 2);

    // New work continues after the highest old number, even with no counter stored.
    let mut env = Env::new();
    env.store = store;
    let p = env.complain("g2", "r1", "通道", fire(None, "x"));
    assert_eq!(p.ticket, Some(t(1007)));
    env.say("g1", "r2", "#未解决 1006 又有了");
    assert_eq!(
        env.store.get(t(1006)).expect("g").map(|t| t.status),
        Some(Status::Open)
    );
}

/// A v2 record written before the optional fields existed (only the required
/// ones) still reads, and a record claiming ticket 0 is reported as corrupt.
#[test]
fn minimal_and_broken_records() {
    let env = Env::new();
    let tickets = env.store.raw_tree("tickets").expect("tree");
    let minimal = r#"{"v":2,"id":1001,"status":"open","category":"dog","category_name":"不文明养犬",
        "department":"城管执法中队","sla_hours":72,"text":"狗叫","platform":"generic","group_id":"g1",
        "reporter":{"id":"r1"},"created_at":"2026-11-01T02:00:00Z","updated_at":"2026-11-01T02:00:00Z",
        "due_at":"2026-11-04T02:00:00Z","field_from_the_future":true}"#;
    tickets
        .insert(1001u64.to_be_bytes(), minimal.as_bytes())
        .expect("insert");
    let tk = env.store.get(t(1001)).expect("read").expect("exists");
    assert_eq!(
        (tk.priority, tk.supporters.len(), tk.rating),
        (Priority::Normal, 0, None)
    );
    let cases: &[(&str, &str)] = &[
        (r#"{"v":2,"id":0}"#, "corrupt"),
        (r#"{"v":9,"id":1002}"#, "format version 9"),
        ("not json", "corrupt"),
    ];
    for (raw, want) in cases {
        tickets
            .insert(1002u64.to_be_bytes(), raw.as_bytes())
            .expect("insert");
        let err = env.store.get(t(1002)).expect_err("must not read");
        assert!(err.to_string().contains(want), "{raw}: {err}");
    }
}

#[test]
fn exports_csv_with_bom_and_json() {
    let mut env = Env::new();
    env.complain(
        "g1",
        "r1",
        "通道堵了，\"很严重\"\n第二行",
        fire(Some("5号楼"), "通道"),
    );
    env.complain("g1", "r2", "=1+1 狗叫", dog(None, "狗"));
    env.say("g1", "officer1", "#认领 1001");
    let mut csv = Vec::new();
    assert_eq!(
        env.store
            .export_csv(&ListFilter::default(), &mut csv)
            .expect("csv"),
        2
    );
    assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM");
    let text = String::from_utf8(csv).expect("utf8");
    let rows: Vec<&str> = text.split("\r\n").filter(|r| !r.is_empty()).collect();
    assert!(rows[0].starts_with("\u{FEFF}\"工单号\",\"状态\""));
    assert!(
        text.contains("\"通道堵了，\"\"很严重\"\"\n第二行\""),
        "{text}"
    );
    assert!(text.contains("\"'=1+1 狗叫\""), "formula guarded: {text}");
    assert!(text.contains("\"1001\",\"已派遣\""));

    let mut json = Vec::new();
    let filter = ListFilter {
        status: Some(Status::Assigned),
        ..ListFilter::default()
    };
    assert_eq!(env.store.export_json(&filter, &mut json).expect("json"), 1);
    let value: serde_json::Value = serde_json::from_slice(&json).expect("parse");
    assert_eq!(value[0]["id"], 1001);
    assert_eq!(value[0]["status"], "assigned");
    assert_eq!(value[0]["history"].as_array().map(Vec::len), Some(2));

    let listing = env
        .store
        .list_text(&ListFilter::default(), env.now)
        .expect("list");
    assert_eq!(listing.lines().count(), 2);
}

#[test]
fn list_filter_uses_every_index() {
    let mut env = Env::new();
    env.complain("g1", "r1", "a", fire(Some("1号楼"), "a"));
    env.now += Duration::hours(2);
    env.complain("g2", "r2", "b", dog(Some("2号楼"), "b"));
    env.complain("g1", "r3", "c", dog(Some("3号楼"), "c"));
    env.say("g1", "officer1", "#认领 1003");
    let since = env.now - Duration::hours(1);
    let cases: Vec<(ListFilter, Vec<u64>)> = vec![
        (ListFilter::default(), vec![1003, 1002, 1001]),
        (
            ListFilter {
                group: Some((P.into(), "g1".into())),
                ..Default::default()
            },
            vec![1003, 1001],
        ),
        (
            ListFilter {
                category: Some("dog".into()),
                ..Default::default()
            },
            vec![1003, 1002],
        ),
        (
            ListFilter {
                status: Some(Status::Open),
                ..Default::default()
            },
            vec![1002, 1001],
        ),
        (
            ListFilter {
                active_only: true,
                ..Default::default()
            },
            vec![1003, 1002, 1001],
        ),
        (
            ListFilter {
                since: Some(since),
                ..Default::default()
            },
            vec![1003, 1002],
        ),
        (
            ListFilter {
                officer: Some("officer1".into()),
                ..Default::default()
            },
            vec![1003],
        ),
        (
            ListFilter {
                reporter: Some("r2".into()),
                ..Default::default()
            },
            vec![1002],
        ),
        (
            ListFilter {
                category: Some("dog".into()),
                status: Some(Status::Open),
                ..Default::default()
            },
            vec![1002],
        ),
        (
            ListFilter {
                limit: Some(1),
                ..Default::default()
            },
            vec![1003],
        ),
    ];
    for (filter, want) in cases {
        let got: Vec<u64> = env
            .store
            .list(&filter)
            .expect("list")
            .iter()
            .map(|t| t.id.get())
            .collect();
        assert_eq!(got, want, "{filter:?}");
    }
}

#[test]
fn stats_by_china_time_periods() {
    // Sunday 2026-11-22 01:30 in China is still Saturday in UTC.
    let now = Utc
        .with_ymd_and_hms(2026, 11, 21, 17, 30, 0)
        .single()
        .expect("valid");
    // Midnight China time is 16:00 UTC the day before.
    let cases: &[(Period, &str)] = &[
        (Period::Today, "2026-11-21T16:00:00Z"),
        (Period::Week, "2026-11-15T16:00:00Z"),
        (Period::Month, "2026-10-31T16:00:00Z"),
    ];
    for (period, want) in cases {
        let want: DateTime<Utc> = want.parse().expect("valid");
        assert_eq!(period_start(*period, now), want, "{period:?}");
    }

    let mut env = Env::new();
    env.now = now - Duration::hours(3); // Saturday evening China time: this week, not today.
    env.complain("g1", "r1", "a", fire(Some("1号楼"), "a"));
    env.now = now;
    env.complain("g1", "r2", "b", dog(Some("2号楼"), "b"));
    env.say("g1", "officer1", "#办结 1002 已处理");
    let today = env.store.stats(Period::Today, now).expect("stats");
    assert_eq!((today.created, today.resolved, today.active_now), (1, 1, 1));
    let week = env.store.stats(Period::Week, now).expect("stats");
    assert_eq!(week.created, 2);
    assert_eq!(week.by_category.len(), 2);
    let p = env.say("g1", "admin", "#统计 本周");
    assert!(
        only_text(&p).starts_with("本周统计（自 2026-11-16 00:00 起，北京时间）\n新增 2 件"),
        "{:?}",
        p.replies
    );
    // Overdue is counted now: 1001 is due 24 h after creation.
    let later = env
        .store
        .stats(Period::Today, now + Duration::hours(30))
        .expect("stats");
    assert_eq!(later.overdue_now, 1);
}

#[test]
fn outbox_accessors() {
    let mut env = Env::new();
    env.complain("g1", "r1", "a", fire(Some("1号楼"), "a"));
    env.say("staff", "officer1", "#认领 1001");
    let pending = env.store.outbox_pending(10).expect("pending");
    let ids: Vec<u64> = pending.iter().map(|e| e.id).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(env.store.outbox_pending(2).expect("pending").len(), 2);
    assert!(env.store.outbox_remove(2).expect("remove"));
    assert!(!env.store.outbox_remove(2).expect("remove again"));
    let left: Vec<u64> = env
        .store
        .outbox_pending(10)
        .expect("p")
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(left, [1, 3]);
    // Sequence numbers keep growing after removal.
    env.say("g1", "r1", "#帮助");
    assert_eq!(
        env.store
            .outbox_pending(10)
            .expect("p")
            .last()
            .map(|e| e.id),
        Some(4)
    );
    env.store.flush().expect("flush");
}

#[tokio::test]
async fn flush_async_works() {
    let mut env = Env::new();
    env.complain("g1", "r1", "a", fire(None, "a"));
    env.store.flush_async().await.expect("flush");
}

fn command_like() -> impl Strategy<Value = String> {
    let prefixes = prop::sample::select(vec!["#", "/", "＃", "／", "", "# "]);
    let words = prop::sample::select(
        gongdan::ticket::command::COMMANDS
            .iter()
            .flat_map(|d| d.names.iter().chain(d.aliases.iter()).copied())
            .chain(["foo", "1024", "", "#"])
            .collect::<Vec<_>>(),
    );
    (
        prefixes,
        words,
        "[ 　]{0,2}",
        "[#＃0-9０-９a-z@ ，号星-]{0,12}",
        ".{0,12}",
    )
        .prop_map(|(p, w, s, a, r)| format!("{p}{w}{s}{a}{r}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(gongdan::fuzz_cases(256)))]
    #[test]
    fn parse_never_panics(s in ".*") {
        let _ = Command::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_command_like_text(s in command_like()) {
        if let Some(Err(e)) = Command::parse(&s) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Whatever arrives, `process` answers without panicking or failing.
    #[test]
    fn process_never_fails_on_arbitrary_commands(texts in prop::collection::vec(command_like(), 1..6)) {
        let mut env = Env::new();
        env.complain("g1", "r1", "a", fire(Some("1号楼"), "a"));
        for (i, text) in texts.iter().enumerate() {
            let sender = ["r1", "officer1", "admin", "r2"][i % 4];
            let m = env.msg("g1", sender, text);
            let action = Action::from_parse(Command::parse(text))
                .unwrap_or_else(|| Action::Complaint(ComplaintInput::unclassified(text)));
            let p = env.store.process(&m, action, &env.ctx, env.now);
            prop_assert!(p.is_ok(), "{text}: {p:?}");
        }
    }
}

#[test]
fn a_group_that_changed_id_keeps_its_tickets_and_sends_to_the_new_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let mut env = Env::new();
    env.store = Store::open(&path).expect("open");
    let first = env.complain(
        "old",
        "r1",
        "5号楼消防通道被堵",
        fire(Some("5号楼"), "消防通道 堵"),
    );
    let n = first.ticket.expect("ticket").get();
    assert!(env.store.record_group_move(P, "old", "new").expect("move"));
    assert!(
        !env.store.record_group_move(P, "old", "new").expect("again"),
        "known already"
    );
    assert!(!env.store.record_group_move(P, "new", "new").expect("self"));
    assert_eq!(env.store.group_send_id(P, "old").expect("read"), "new");
    assert_eq!(env.store.group_send_id(P, "new").expect("read"), "new");
    assert_eq!(env.store.group_send_id(P, "other").expect("read"), "other");

    // Survives a restart; a message from the new id joins the old group's ticket.
    drop(env.store);
    env.store = Store::open(&path).expect("reopen");
    let joined = env.complain(
        "new",
        "r2",
        "5号楼消防通道又被堵",
        fire(Some("5号楼"), "消防通道 堵"),
    );
    assert_eq!(joined.ticket.map(|t| t.get()), Some(n));
    assert_eq!(env.get(n).group_id, "old", "filed under the first id");
    assert!(joined.replies.iter().all(|r| r.group_id == "old"));

    // A second move follows on from the first; moving back undoes the redirect.
    assert!(env
        .store
        .record_group_move(P, "new", "newer")
        .expect("move"));
    assert_eq!(env.store.group_send_id(P, "old").expect("read"), "newer");
    assert_eq!(env.store.group_send_id(P, "new").expect("read"), "newer");
    assert!(env
        .store
        .record_group_move(P, "newer", "old")
        .expect("back"));
    assert_eq!(env.store.group_send_id(P, "old").expect("read"), "old");
    let other = env.complain(
        "newer",
        "r3",
        "5号楼消防通道还是堵",
        fire(Some("5号楼"), "消防通道 堵"),
    );
    assert_eq!(other.ticket.map(|t| t.get()), Some(n), "still one group");
}

#[test]
fn corrections_are_recorded_with_the_change_and_exported() {
    let mut env = Env::new();
    // An officer moves a ticket to the right category.
    env.complain("g1", "r1", "楼下的狗天天叫", fire(None, "狗 叫"));
    let p = env.say("g1", "officer1", "#改类 1001 不文明养犬");
    assert!(only_text(&p).contains("不文明养犬"));
    // A resident insists on a message the classifier let pass.
    let mut missed = dog(None, "遛狗 牵绳");
    missed.missed = true;
    env.complain("g2", "r2", "#投诉 遛狗不牵绳吓到小孩", missed);
    // A classified complaint is no correction.
    env.complain("g3", "r3", "消防通道又被堵了", fire(None, "消防 通道"));
    // An officer closes a false ticket.
    env.complain("g4", "r4", "谁有多余的纸箱", fire(None, "纸箱"));
    let p = env.say("g4", "resident9", "#非投诉 1004");
    assert!(only_text(&p).contains("仅限"), "residents are refused");
    assert_eq!(env.get(1004).status, Status::Open);
    let p = env.say("g4", "officer1", "#非投诉 1004");
    assert_eq!(p.replies.len(), 1, "{:?}", p.replies);
    assert!(only_text(&p).contains("非城管诉求"), "{}", only_text(&p));
    let t = env.get(1004);
    assert_eq!(t.status, Status::Rejected);
    assert_eq!(t.status_reason.as_deref(), Some("非城管诉求"));
    let history = env.store.history(t.id).expect("history");
    assert_eq!(
        history.last().map(|e| e.kind),
        Some(EventKind::Rejected),
        "{history:?}"
    );
    // Closed tickets cannot be marked again: the transition table refuses.
    let p = env.say("g4", "officer1", "#非投诉 1004");
    assert!(
        only_text(&p).contains("不能再标记为非投诉"),
        "{}",
        only_text(&p)
    );

    let all = env.store.corrections(None).expect("corrections");
    let got: Vec<(CorrectionKind, Option<u64>, &str, &str)> = all
        .iter()
        .map(|c| (c.kind, c.ticket, c.label.as_str(), c.text.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                CorrectionKind::Recategorized,
                Some(1001),
                "dog",
                "楼下的狗天天叫"
            ),
            (
                CorrectionKind::Reported,
                Some(1002),
                "dog",
                "遛狗不牵绳吓到小孩"
            ),
            (
                CorrectionKind::NotComplaint,
                Some(1004),
                "none",
                "谁有多余的纸箱"
            ),
        ]
    );
    assert_eq!(all[0].from.as_deref(), Some("fire_lane"));
    assert_eq!(all[0].actor, "generic:officer1");
    assert_eq!(
        gongdan::ticket::correction::to_tsv(&all),
        "dog\t楼下的狗天天叫\ndog\t遛狗不牵绳吓到小孩\nnone\t谁有多余的纸箱\n"
    );
    let later = env.now + Duration::seconds(1);
    assert!(env
        .store
        .corrections(Some(later))
        .expect("since")
        .is_empty());

    let stats = env.store.stats(Period::Today, env.now).expect("stats");
    assert_eq!(
        stats.corrections_by_category,
        vec![("不文明养犬".to_string(), 2), ("非投诉".to_string(), 1)]
    );
    let p = env.say("g1", "admin", "#统计");
    assert!(
        only_text(&p).contains("人工纠正分类：不文明养犬 2，非投诉 1"),
        "{}",
        only_text(&p)
    );
}
