//! The `gongdan` binary as a user runs it: classify, rules check, eval, tickets.

use std::io::Write;
use std::process::{Command, Stdio};

fn gongdan() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gongdan"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

#[test]
fn classify_json_reads_stdin_one_object_per_line() {
    let mut child = gongdan()
        .args(["classify", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("消防通道被车堵死了，5号楼这边\n早上好呀各位\n".as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["category"], "fire_lane");
    assert_eq!(lines[0]["location"], "5号楼");
    assert_eq!(lines[0]["priority"], "high");
    assert!(lines[0]["confidence"].as_f64().unwrap() > 0.5);
    assert!(!lines[0]["matches"].as_array().unwrap().is_empty());
    assert_eq!(lines[1]["text"], "早上好呀各位");
    assert!(lines[1]["category"].is_null());
    assert!(lines[1]["location"].is_null());
}

#[test]
fn classify_text_explains_contributions() {
    let out = gongdan()
        .args(["classify", "楼道里堆满了杂物没人管"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("category:   clutter"), "{text}");
    assert!(text.contains("complaint_cue"), "{text}");
}

#[test]
fn rules_check_passes_on_shipped_rules_and_fails_with_file_line() {
    let ok = gongdan().args(["rules", "check"]).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("categories")).unwrap();
    std::fs::write(
        dir.path().join("categories/x.toml"),
        "id = \"x\"\nname = \"x\"\nthreshold = 1\n[[patterns]]\nregex = '(('\nweight = 1\n",
    )
    .unwrap();
    let bad = gongdan()
        .args(["rules", "check"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let stdout = String::from_utf8(bad.stdout).unwrap();
    assert!(
        stdout.contains("categories/x.toml:5: invalid regex"),
        "{stdout}"
    );
}

#[test]
fn eval_prints_precision_recall_accuracy_and_misses() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("set.tsv");
    std::fs::write(
        &tsv,
        "# labels\ttext\nfire_lane\t消防通道被堵了\nnone\t早上好\ndog|noise\t楼道里有人烧垃圾\n",
    )
    .unwrap();
    let out = gongdan().arg("eval").arg(&tsv).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("precision"), "{text}");
    assert!(text.contains("recall"), "{text}");
    assert!(
        text.contains("category accuracy on complaints: 0.500 (1/2)"),
        "{text}"
    );
    assert!(text.contains("dog|noise -> open_burning"), "{text}");

    std::fs::write(&tsv, "nosuchcat\t你好\n").unwrap();
    let bad = gongdan().arg("eval").arg(&tsv).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("set.tsv:1: unknown category"));
}

/// A data directory with two tickets in two groups, written the way the
/// server writes them, then closed so the CLI can open it.
fn store_with_two_tickets() -> tempfile::TempDir {
    use gongdan::message::InboundMessage;
    use gongdan::ticket::{Action, ComplaintInput, Context, Store};
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path().join("data")).unwrap();
    for (n, group, text) in [
        (1, "g1", "5号楼楼道堆满纸箱，电话13812345678"),
        (2, "g2", "东门路灯坏了一个星期"),
    ] {
        let msg = InboundMessage {
            platform: "generic".into(),
            message_id: format!("m{n}"),
            group_id: group.into(),
            group_name: None,
            sender_id: format!("u{n}"),
            sender_name: None,
            text: text.into(),
            images: Vec::new(),
            timestamp: None,
            reply_handle: None,
        };
        let action = Action::Complaint(ComplaintInput::unclassified(text));
        store
            .process(&msg, action, &Context::default(), chrono::Utc::now())
            .unwrap();
    }
    store.flush().unwrap();
    root
}

#[test]
fn tickets_list_show_export_and_reindex_on_a_data_directory() {
    let root = store_with_two_tickets();
    let data = root.path().join("data");
    let run = |args: &[&str]| {
        let out = gongdan()
            .args(["tickets", "--data"])
            .arg(&data)
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.success(), text, out.stderr)
    };

    let (ok, list, _) = run(&["list"]);
    assert!(
        ok && list.contains("#1001") && list.contains("#1002"),
        "{list}"
    );
    let (ok, list, _) = run(&["list", "--group", "g2"]);
    assert!(
        ok && list.contains("#1002") && !list.contains("#1001"),
        "{list}"
    );

    let (ok, show, _) = run(&["show", "#1001"]);
    assert!(
        ok && show.contains("5号楼") && show.contains("受理"),
        "{show}"
    );
    let (ok, _, err) = run(&["show", "999"]);
    assert!(!ok && String::from_utf8_lossy(&err).contains("no ticket"));

    let out = gongdan()
        .args(["tickets", "--data"])
        .arg(&data)
        .args(["export", "--format", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout.starts_with(b"\xEF\xBB\xBF"),
        "UTF-8 BOM for Excel"
    );
    let csv = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(csv.lines().count(), 3, "header and two rows: {csv}");
    // Staff call residents back: only what groups see is masked.
    assert!(csv.contains("13812345678"), "{csv}");
    let (ok, json, _) = run(&["export", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(ok && v.as_array().map(Vec::len) == Some(2), "{json}");

    let (ok, said, _) = run(&["reindex"]);
    assert!(ok && said.contains("reindexed 2 tickets"), "{said}");
    let (ok, list, _) = run(&["list", "--status", "open"]);
    assert!(
        ok && list.contains("#1001") && list.contains("#1002"),
        "{list}"
    );
}

#[test]
fn tickets_without_a_data_directory_says_how_to_get_one() {
    let root = tempfile::tempdir().unwrap();
    let out = gongdan()
        .args(["tickets", "--data"])
        .arg(root.path().join("nope"))
        .arg("list")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no data directory") && err.contains("--data"),
        "{err}"
    );
}

#[test]
fn chat_time_jump_auto_closes_a_resolved_ticket_nobody_confirmed() {
    let lines = [
        "5号楼楼道里堆满了纸箱，没人管",
        "/as wang",
        "#认领 1001",
        "#办结 1001 已清理",
        "/time +6d",
        "/time -1d",
        "/time soon",
        "/time +1d",
        "/time",
    ];
    let mut child = gongdan()
        .arg("chat")
        .env("GONGDAN__ROLES__OFFICERS", r#"["generic:wang"]"#)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = lines.join("\n");
    input.push('\n');
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // What follows each prompt answers the line typed at it.
    let answers: Vec<&str> = text.split("] > ").skip(1).collect();
    assert_eq!(answers.len(), lines.len() + 1, "{text}");
    let answer_to = |line: &str| answers[lines.iter().position(|l| *l == line).unwrap()];

    assert!(answer_to("#办结 1001 已清理").contains("已办结"), "{text}");
    let six = answer_to("/time +6d");
    assert!(six.contains("6d 0h 0m ahead"), "{six}");
    assert!(!six.contains("自动结案"), "not due after 6 days: {six}");
    assert!(
        answer_to("/time -1d").contains("cannot move the clock: the clock only moves forward"),
        "{text}"
    );
    assert!(
        answer_to("/time soon").contains("\"soon\" is not a time step; write +3d, +2h or +90m"),
        "{text}"
    );
    let seven = answer_to("/time +1d");
    assert!(
        seven.contains("工单助手: 工单 #1001 办结后 7 天未收到反馈，已自动结案"),
        "{seven}"
    );
    assert!(answer_to("/time").contains("7d 0h 0m ahead"), "{text}");
}

/// Runs `gongdan chat` on `lines` with extra environment; its output.
fn chat(lines: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = gongdan();
    cmd.arg("chat")
        .env("GONGDAN__ROLES__OFFICERS", r#"["generic:wang"]"#)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut input = lines.join("\n");
    input.push('\n');
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn chat_time_jump_shows_the_morning_digest_once() {
    // The report is made today (China time); a day and then half a day
    // later, one of the two jumps lands past 08:00 of the next day, whatever
    // the hour the test starts at, and the digest for today appears.
    let today = chrono::Utc::now()
        .with_timezone(&gongdan::ticket::china_tz())
        .date_naive();
    let lines = ["5号楼楼道里堆满了纸箱，没人管", "/time +1d", "/time +12h"];

    // Without org.toml there is no staff group: the figures for every
    // ticket are shown in the terminal.
    let text = chat(&lines, &[]);
    let label = format!("【昨日工单】全部 {}", today.format("%m月%d日"));
    assert_eq!(text.matches(&label).count(), 1, "{text}");
    let digest = &text[text.find(&label).unwrap()..];
    assert!(digest.contains("收到 1 件，办结 0 件"), "{text}");

    // With one, it goes to the community's staff group, as the server sends it.
    let dir = tempfile::tempdir().unwrap();
    let org = dir.path().join("org.toml");
    std::fs::write(
        &org,
        r#"
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
groups = ["generic:demo-group"]
officers = [{ id = "generic:li", name = "李明" }]
staff_group = "generic:staff"
"#,
    )
    .unwrap();
    let text = chat(&lines, &[("GONGDAN__ORG__PATH", org.to_str().unwrap())]);
    let label = format!(
        "工单助手 → staff: 【昨日工单】阳光社区 {}",
        today.format("%m月%d日")
    );
    assert_eq!(text.matches(&label).count(), 1, "{text}");
    assert!(!text.contains("【昨日工单】全部"), "{text}");
}

#[test]
fn rules_corrections_exports_tsv_that_eval_reads() {
    use gongdan::message::InboundMessage;
    use gongdan::ticket::{
        Action, CategoryInfo, Command, ComplaintInput, Context, Priority, Store,
    };
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(root.path().join("data")).unwrap();
    let mut ctx = Context::default();
    ctx.roles.officers.insert("generic:w".into());
    ctx.categories.insert(
        "clutter".into(),
        CategoryInfo {
            id: "clutter".into(),
            name: "楼道堆物".into(),
            department: "物业".into(),
            priority: Priority::Normal,
            sla_hours: 72,
            reply_template: None,
        },
    );
    let msg = |n: u32, sender: &str, text: &str| InboundMessage {
        platform: "generic".into(),
        message_id: format!("m{n}"),
        group_id: format!("g{n}"),
        group_name: None,
        sender_id: sender.into(),
        sender_name: None,
        text: text.into(),
        images: Vec::new(),
        timestamp: None,
        reply_handle: None,
    };
    let now = chrono::Utc::now();
    for (n, text) in [
        (1, "5号楼楼道里堆满了旧家具"),
        (2, "有人知道快递点几点关门吗"),
    ] {
        let action = Action::Complaint(ComplaintInput::unclassified(text));
        store
            .process(&msg(n, "u", text), action, &ctx, now)
            .unwrap();
    }
    for (n, text) in [(3, "#改类 1001 clutter"), (4, "#非投诉 1002")] {
        let action = Action::from_parse(Command::parse(text)).unwrap();
        store
            .process(&msg(n, "w", text), action, &ctx, now)
            .unwrap();
    }
    store.flush().unwrap();
    drop(store);

    let data = root.path().join("data");
    let out = gongdan()
        .args(["rules", "corrections", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tsv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        tsv,
        "clutter\t5号楼楼道里堆满了旧家具\nnone\t有人知道快递点几点关门吗\n"
    );
    let tomorrow = (now + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let out = gongdan()
        .args(["rules", "corrections", "--since", &tomorrow, "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.is_empty());

    let file = root.path().join("corrections.tsv");
    std::fs::write(&file, tsv).unwrap();
    let out = gongdan().arg("eval").arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
