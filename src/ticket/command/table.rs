//! The command table: every command's names, arguments, access, usage and help line.

use super::{Access, Args, CommandDef, CommandKind};

/// Every command gongdan understands. Help text, parsing and the role check
/// all read this table, so they cannot drift apart.
pub const COMMANDS: &[CommandDef] = &[
    def!(
        Help,
        &["帮助", "命令"],
        &["help"],
        OptWord,
        Anyone,
        "#帮助 [命令]",
        "#帮助 认领",
        "查看命令说明"
    ),
    def!(
        Show,
        &["查询", "查看", "进度"],
        &["show"],
        Ticket,
        Anyone,
        "#查询 工单号",
        "#查询 1024",
        "查看工单状态和最近进展"
    ),
    def!(
        List,
        &["列表"],
        &["list"],
        OptWord,
        Anyone,
        "#列表 [状态|类别|我的|全部]",
        "#列表 我的",
        "列出工单，默认列出未结案的"
    ),
    def!(
        Report,
        &["投诉", "反映"],
        &["report"],
        Text,
        Anyone,
        "#投诉 问题描述",
        "#投诉 5号楼消防通道被车堵了",
        "直接提交投诉，即使没有被自动识别"
    ),
    def!(
        Add,
        &["补充"],
        &["add"],
        TicketText,
        Reporter,
        "#补充 工单号 内容",
        "#补充 1024 晚上八点以后最严重",
        "为自己反映的工单补充信息或照片"
    ),
    def!(
        Confirm,
        &["确认", "已解决"],
        &["confirm"],
        Ticket,
        ReporterOrOfficer,
        "#确认 工单号",
        "#确认 1024",
        "确认问题已解决，结案"
    ),
    def!(
        NotFixed,
        &["未解决", "没解决"],
        &["notfixed"],
        TicketOptText,
        Reporter,
        "#未解决 工单号 原因",
        "#未解决 1024 车又停回来了",
        "反馈问题没有解决，重新处理"
    ),
    def!(
        Rate,
        &["评价", "打分"],
        &["rate"],
        TicketRating,
        Reporter,
        "#评价 工单号 1-5",
        "#评价 1024 5",
        "为处理结果打分（1-5 星）"
    ),
    def!(
        Withdraw,
        &["撤回", "撤销"],
        &["withdraw"],
        Ticket,
        Reporter,
        "#撤回 工单号",
        "#撤回 1024",
        "撤回自己的反映"
    ),
    def!(
        Claim,
        &["认领"],
        &["claim"],
        Ticket,
        Officer,
        "#认领 工单号",
        "#认领 1024",
        "认领工单，由自己处理"
    ),
    def!(
        Assign,
        &["派遣", "指派"],
        &["assign"],
        TicketText,
        Officer,
        "#派遣 工单号 @处理人",
        "#派遣 1024 @张队",
        "把工单派给指定人员"
    ),
    def!(
        Progress,
        &["处理", "进展"],
        &["progress"],
        TicketText,
        Officer,
        "#处理 工单号 备注",
        "#处理 1024 已联系车主挪车",
        "记录处置进展，群内可见"
    ),
    def!(
        Resolve,
        &["办结"],
        &["resolve"],
        TicketText,
        Officer,
        "#办结 工单号 处理结果",
        "#办结 1024 车辆已挪走",
        "办结工单，等待反映人确认"
    ),
    def!(
        Reject,
        &["驳回", "不予受理"],
        &["reject"],
        TicketText,
        Officer,
        "#驳回 工单号 原因",
        "#驳回 1024 不属于城管职责，请联系物业",
        "不予受理并说明原因"
    ),
    def!(
        Transfer,
        &["转办"],
        &["transfer"],
        TicketText,
        Officer,
        "#转办 工单号 部门",
        "#转办 1024 市场监管所",
        "转交其他部门办理"
    ),
    def!(
        Merge,
        &["合并"],
        &["merge"],
        TicketTicket,
        Officer,
        "#合并 工单号 目标工单号",
        "#合并 1025 1024",
        "把前一个工单合并到后一个（同一问题）"
    ),
    def!(
        Hold,
        &["挂账"],
        &["hold"],
        TicketText,
        Officer,
        "#挂账 工单号 原因",
        "#挂账 1024 需等待道路改造",
        "暂缓处理并说明原因"
    ),
    def!(
        Reopen,
        &["重开", "重新打开"],
        &["reopen"],
        TicketOptText,
        Officer,
        "#重开 工单号 [原因]",
        "#重开 1024 复查发现仍有问题",
        "重新打开已办结、已结案、已驳回或挂账的工单"
    ),
    def!(
        Recat,
        &["改类"],
        &["recat"],
        TicketText,
        Officer,
        "#改类 工单号 类别",
        "#改类 1024 不文明养犬",
        "更改工单类别（类别编号或中文名）"
    ),
    def!(
        NotComplaint,
        &["非投诉"],
        &["notcomplaint"],
        Ticket,
        Officer,
        "#非投诉 工单号",
        "#非投诉 1024",
        "误识别为投诉的消息：以「非城管诉求」不予受理，并记入分类纠错"
    ),
    def!(
        Note,
        &["备注"],
        &["note"],
        TicketText,
        Officer,
        "#备注 工单号 内容",
        "#备注 1024 车主电话已记录",
        "添加内部备注，不在居民群公布"
    ),
    def!(
        Stats,
        &["统计"],
        &["stats"],
        OptWord,
        Officer,
        "#统计 [今日|本周|本月]",
        "#统计 本周",
        "查看工单统计（北京时间；org.toml 中的人员只看本辖区）"
    ),
    def!(
        Reload,
        &["重载规则", "重载"],
        &["reload"],
        OptWord,
        Admin,
        "#重载规则 [强制]",
        "#重载规则",
        "重新加载分类规则；删除了仍有未结案工单的类别时需加「强制」"
    ),
    def!(
        Away,
        &["请假"],
        &["away"],
        None,
        Officer,
        "#请假",
        "#请假",
        "请假期间新工单不派给你（首接负责轮到下一位）"
    ),
    def!(
        Back,
        &["销假"],
        &["back"],
        None,
        Officer,
        "#销假",
        "#销假",
        "销假，恢复接收新工单"
    ),
    def!(
        Recheck,
        &["复查"],
        &["recheck"],
        TicketText,
        Officer,
        "#复查 工单号 天数",
        "#复查 1024 3天",
        "安排复查（回马枪）：到期提醒回访现场"
    ),
    def!(
        RecheckPass,
        &["复查通过"],
        &["recheck-ok"],
        Ticket,
        Officer,
        "#复查通过 工单号",
        "#复查通过 1024",
        "复查未见反弹，结束复查"
    ),
    def!(
        RecheckFound,
        &["复查发现"],
        &["recheck-found"],
        TicketText,
        Officer,
        "#复查发现 工单号 说明",
        "#复查发现 1024 又堆满了",
        "复查发现问题反弹，工单重开并记为反复发生"
    ),
    def!(
        Revisit,
        &["回访"],
        &["revisit"],
        TicketText,
        Officer,
        "#回访 工单号 满意|不满意 [说明]",
        "#回访 1024 不满意 夜里又堆上了",
        "登记二次回访结果（负责回访的领导）：满意则回访结束，不满意则工单重开"
    ),
];
