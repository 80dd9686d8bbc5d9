//! The command table, parser and help, against every command's forms and mistakes.

use super::*;

fn t(n: u64) -> TicketId {
    TicketId::new(n).expect("nonzero")
}

#[test]
fn every_kind_has_one_row_and_names_are_unique() {
    let mut seen = std::collections::HashSet::new();
    for d in COMMANDS {
        assert_eq!(def_of(d.kind).kind, d.kind);
        for n in d.names.iter().chain(d.aliases.iter()) {
            assert!(seen.insert(n.to_lowercase()), "duplicate name {n}");
        }
        // The usage and example must themselves parse (the example to this command).
        let parsed = Command::parse(d.example);
        assert!(
            matches!(&parsed, Some(Ok(c)) if c.kind() == d.kind),
            "{} -> {parsed:?}",
            d.example
        );
    }
    assert_eq!(COMMANDS.len(), 29);
}

/// Every command in Chinese and English form.
#[test]
fn chinese_and_english_forms() {
    let cases: Vec<(&str, &str, Command)> = vec![
        ("#帮助", "/help", Command::Help(None)),
        ("#查询 1024", "/show #1024", Command::Show(t(1024))),
        ("#列表", "/list", Command::List(ListScope::Active)),
        ("#列表 我的", "/list mine", Command::List(ListScope::Mine)),
        ("#列表 全部", "/list all", Command::List(ListScope::All)),
        (
            "#列表 已办结",
            "/list resolved",
            Command::List(ListScope::Status(Status::Resolved)),
        ),
        (
            "#列表 dog",
            "/list dog",
            Command::List(ListScope::Category("dog".into())),
        ),
        (
            "#投诉 楼道堆物",
            "/report 楼道堆物",
            Command::Report("楼道堆物".into()),
        ),
        (
            "#补充 1024 晚上更吵",
            "/add 1024 晚上更吵",
            Command::Add(t(1024), "晚上更吵".into()),
        ),
        ("#确认 1024", "/confirm 1024", Command::Confirm(t(1024))),
        (
            "#未解决 1024 又来了",
            "/notfixed 1024 又来了",
            Command::NotFixed(t(1024), Some("又来了".into())),
        ),
        (
            "#未解决 1024",
            "/notfixed 1024",
            Command::NotFixed(t(1024), None),
        ),
        (
            "#评价 1024 5",
            "/rate 1024 5",
            Command::Rate(t(1024), 5, None),
        ),
        (
            "#评价 1024 四星 挺快",
            "/rate 1024 4 挺快",
            Command::Rate(t(1024), 4, Some("挺快".into())),
        ),
        ("#撤回 1024", "/withdraw 1024", Command::Withdraw(t(1024))),
        ("#认领 1024", "/claim 1024", Command::Claim(t(1024))),
        (
            "#派遣 1024 @张队",
            "/assign 1024 张队",
            Command::Assign(t(1024), "张队".into()),
        ),
        (
            "#处理 1024 已联系车主",
            "/progress 1024 已联系车主",
            Command::Progress(t(1024), "已联系车主".into()),
        ),
        (
            "#办结 1024 已挪车",
            "/resolve 1024 已挪车",
            Command::Resolve(t(1024), "已挪车".into()),
        ),
        (
            "#驳回 1024 不属于职责",
            "/reject 1024 不属于职责",
            Command::Reject(t(1024), "不属于职责".into()),
        ),
        (
            "#转办 1024 市场监管所",
            "/transfer 1024 市场监管所",
            Command::Transfer(t(1024), "市场监管所".into()),
        ),
        (
            "#合并 1025 1024",
            "/merge #1025 #1024",
            Command::Merge(t(1025), t(1024)),
        ),
        (
            "#挂账 1024 等待改造",
            "/hold 1024 等待改造",
            Command::Hold(t(1024), "等待改造".into()),
        ),
        ("#重开 1024", "/reopen 1024", Command::Reopen(t(1024), None)),
        (
            "#改类 1024 不文明养犬",
            "/recat 1024 dog",
            Command::Recat(t(1024), "不文明养犬".into()),
        ),
        (
            "#非投诉 1024",
            "/notcomplaint 1024",
            Command::NotComplaint(t(1024)),
        ),
        (
            "#备注 1024 内部",
            "/note 1024 内部",
            Command::Note(t(1024), "内部".into()),
        ),
        ("#统计", "/stats", Command::Stats(Period::Today)),
        ("#统计 本周", "/stats week", Command::Stats(Period::Week)),
        ("#统计 本月", "/stats month", Command::Stats(Period::Month)),
        (
            "#重载规则",
            "/reload",
            Command::Reload {
                allow_removed: false,
            },
        ),
        (
            "#重载规则 强制",
            "/reload force",
            Command::Reload {
                allow_removed: true,
            },
        ),
    ];
    for (zh, en, want) in cases {
        let want_en = match (&want, en) {
            (Command::Recat(id, _), _) => Command::Recat(*id, "dog".into()),
            _ => want.clone(),
        };
        assert_eq!(Command::parse(zh), Some(Ok(want.clone())), "{zh}");
        assert_eq!(Command::parse(en), Some(Ok(want_en.clone())), "{en}");
        // Either prefix works for either language.
        let swapped = format!("/{}", &zh[1..]);
        assert_eq!(Command::parse(&swapped), Some(Ok(want)), "{swapped}");
        let upper = format!("#{}", en[1..].to_uppercase());
        if !matches!(
            want_en,
            Command::Assign(..) | Command::List(_) | Command::Recat(..)
        ) {
            assert!(matches!(Command::parse(&upper), Some(Ok(_))), "{upper}");
        }
    }
}

#[test]
fn tolerant_forms() {
    let cases: &[(&str, Command)] = &[
        ("＃认领　＃１０２４", Command::Claim(t(1024))),
        ("#认领1024", Command::Claim(t(1024))),
        ("#认领 # 1024", Command::Claim(t(1024))),
        ("  #认领 1024号  ", Command::Claim(t(1024))),
        ("#认领 1024 马上到", Command::Claim(t(1024))),
        ("／ｃｌａｉｍ　１０２４", Command::Claim(t(1024))),
        (
            "#重载规则",
            Command::Reload {
                allow_removed: false,
            },
        ),
        (
            "＃重载规则　强制",
            Command::Reload {
                allow_removed: true,
            },
        ),
        (
            "#办结 1024 已处理，车主已挪车 谢谢配合",
            Command::Resolve(t(1024), "已处理，车主已挪车 谢谢配合".into()),
        ),
        ("＃评价　１０２４　５", Command::Rate(t(1024), 5, None)),
        ("#派遣 1024 ＠张队", Command::Assign(t(1024), "张队".into())),
        ("＃统计　本周", Command::Stats(Period::Week)),
    ];
    for (input, want) in cases {
        assert_eq!(Command::parse(input), Some(Ok(want.clone())), "{input}");
    }
}

#[test]
fn not_commands() {
    for input in [
        "",
        "楼下好吵",
        "#",
        "/",
        "#1024 还没人管",
        "/::)",
        "# 标题",
        "#今日话题#",
        "＃１０２４",
    ] {
        assert_eq!(Command::parse(input), None, "{input:?}");
    }
}

#[test]
fn revisit_results_parse() {
    assert_eq!(
        Command::parse("#回访 1024 满意"),
        Some(Ok(Command::Revisit(t(1024), true, None)))
    );
    assert_eq!(
        Command::parse("＃回访　＃１０２４ 不满意，夜里又堆上了"),
        Some(Ok(Command::Revisit(
            t(1024),
            false,
            Some("夜里又堆上了".into())
        )))
    );
    assert_eq!(
        Command::parse("/revisit 1024 unsatisfied still dirty"),
        Some(Ok(Command::Revisit(
            t(1024),
            false,
            Some("still dirty".into())
        )))
    );
}

#[test]
fn malformed_commands_explain_themselves() {
    let cases: &[(&str, &str)] = &[
        ("#认领", "用法：#认领 工单号，例如 #认领 1024"),
        (
            "#认领 abc",
            "工单号应为数字，例如 #认领 1024（收到的是「abc」）",
        ),
        ("#claim", "用法：#认领 工单号，例如 #认领 1024"),
        ("#foo", "未知命令「#foo」。发送 #帮助 查看可用命令。"),
        (
            "#办结 1024",
            "用法：#办结 工单号 处理结果，例如 #办结 1024 车辆已挪走",
        ),
        (
            "#合并 1024",
            "用法：#合并 工单号 目标工单号，例如 #合并 1025 1024",
        ),
        ("#评价 1024 9", "评分应为 1 到 5 的整数，例如 #评价 1024 5"),
        (
            "#回访 1024 还行",
            "用法：#回访 工单号 满意|不满意 [说明]，例如 #回访 1024 不满意 夜里又堆上了",
        ),
        ("#评价 1024", "用法：#评价 工单号 1-5，例如 #评价 1024 5"),
        (
            "#统计 明年",
            "统计周期应为 今日、本周 或 本月，例如 #统计 本周",
        ),
        (
            "#派遣 1024 @",
            "用法：#派遣 工单号 @处理人，例如 #派遣 1024 @张队",
        ),
        (
            "#投诉",
            "用法：#投诉 问题描述，例如 #投诉 5号楼消防通道被车堵了",
        ),
        (
            "#认领 0",
            "工单号应为数字，例如 #认领 1024（收到的是「0」）",
        ),
    ];
    for (input, want) in cases {
        match Command::parse(input) {
            Some(Err(e)) => assert_eq!(e.to_string(), *want, "{input}"),
            other => panic!("{input}: expected error, got {other:?}"),
        }
    }
}

#[test]
fn help_is_generated_per_role() {
    let resident = help_text(Role::Resident);
    let officer = help_text(Role::Officer);
    let admin = help_text(Role::Admin);
    assert!(resident.contains("#查询 工单号"));
    assert!(resident.contains("#确认 工单号"));
    assert!(!resident.contains("#认领"));
    assert!(officer.contains("#认领 工单号"));
    assert!(officer.contains("#统计") && !officer.contains("#重载规则"));
    assert!(!resident.contains("#统计"));
    assert!(officer.contains("#非投诉 工单号") && officer.contains("/notcomplaint"));
    assert!(!resident.contains("#非投诉"));
    assert!(admin.contains("#统计") && admin.contains("#认领") && admin.contains("#重载规则"));
    for d in COMMANDS {
        assert!(admin.contains(d.usage), "{}", d.usage);
    }
    let one = help_for("认领").expect("known");
    assert!(one.contains("#认领 1024") && one.contains("/claim"));
    assert_eq!(help_for("不存在"), None);
}
