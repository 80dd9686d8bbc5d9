//! Chat commands: one definitions table drives parsing, authorisation and the help text.
//!
//! `#认领 1024`, `/claim #1024` and `＃认领　＃１０２４` all parse to the same
//! [`Command`]. Parsing never touches the store: `#认领 99999` parses fine and
//! is answered "没有找到工单" when applied.

use thiserror::Error;

use super::model::{to_halfwidth, Role, Status, TicketId};

/// Who may run a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Anyone,
    /// The resident who opened the ticket or a supporter who joined it.
    Reporter,
    /// The reporter, or an officer doing 核查结案 on their behalf.
    ReporterOrOfficer,
    Officer,
    Admin,
}

impl Access {
    /// Whether a role may run the command at all (the reporter relation is
    /// checked later, against the ticket).
    pub fn visible_to(self, role: Role) -> bool {
        match self {
            Access::Anyone | Access::Reporter | Access::ReporterOrOfficer => true,
            Access::Officer => role.is_officer(),
            Access::Admin => role == Role::Admin,
        }
    }
}

/// The shape of a command's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Args {
    /// Nothing, extra words are ignored.
    None,
    /// One optional word.
    OptWord,
    /// Free text, required.
    Text,
    Ticket,
    /// Ticket number then required text.
    TicketText,
    /// Ticket number then optional text.
    TicketOptText,
    TicketTicket,
    TicketRating,
}

/// Which command a definition describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    Help,
    Show,
    List,
    Report,
    Add,
    Confirm,
    NotFixed,
    Rate,
    Withdraw,
    Claim,
    Assign,
    Progress,
    Resolve,
    Reject,
    Transfer,
    Merge,
    Hold,
    Reopen,
    Recat,
    Note,
    NotComplaint,
    Stats,
    Reload,
    Away,
    Back,
    Recheck,
    RecheckPass,
    RecheckFound,
    Revisit,
}

/// One row of the command table.
#[derive(Debug)]
pub struct CommandDef {
    pub kind: CommandKind,
    /// Chinese names; the first is the canonical one shown in help.
    pub names: &'static [&'static str],
    /// English aliases, matched case-insensitively.
    pub aliases: &'static [&'static str],
    pub usage: &'static str,
    pub example: &'static str,
    pub description: &'static str,
    pub access: Access,
    args: Args,
}

impl CommandDef {
    /// `#认领`.
    pub fn display_name(&self) -> String {
        format!("#{}", self.names.first().copied().unwrap_or("?"))
    }
}

macro_rules! def {
    ($kind:ident, $names:expr, $aliases:expr, $args:ident, $access:ident, $usage:expr, $example:expr, $desc:expr) => {
        CommandDef {
            kind: CommandKind::$kind,
            names: $names,
            aliases: $aliases,
            usage: $usage,
            example: $example,
            description: $desc,
            access: Access::$access,
            args: Args::$args,
        }
    };
}

mod table;
pub use table::COMMANDS;

/// What `#列表` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    /// Default: tickets someone still has to act on.
    Active,
    All,
    Mine,
    Status(Status),
    /// A category id or name, resolved when applied.
    Category(String),
}

/// The period `#统计` covers, in China time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Today,
    Week,
    Month,
}

impl Period {
    pub fn label(self) -> &'static str {
        match self {
            Period::Today => "今日",
            Period::Week => "本周",
            Period::Month => "本月",
        }
    }

    pub fn parse(word: &str) -> Option<Period> {
        match word.trim().to_lowercase().as_str() {
            "今日" | "今天" | "today" | "day" => Some(Period::Today),
            "本周" | "这周" | "week" => Some(Period::Week),
            "本月" | "这个月" | "month" => Some(Period::Month),
            _ => None,
        }
    }
}

/// A parsed chat command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help(Option<String>),
    Show(TicketId),
    List(ListScope),
    Report(String),
    Add(TicketId, String),
    Confirm(TicketId),
    NotFixed(TicketId, Option<String>),
    Rate(TicketId, u8, Option<String>),
    Withdraw(TicketId),
    Claim(TicketId),
    /// The assignee as typed, without the leading `@`.
    Assign(TicketId, String),
    Progress(TicketId, String),
    Resolve(TicketId, String),
    Reject(TicketId, String),
    Transfer(TicketId, String),
    /// `Merge(n, m)`: n becomes a duplicate of m.
    Merge(TicketId, TicketId),
    Hold(TicketId, String),
    Reopen(TicketId, Option<String>),
    Recat(TicketId, String),
    Note(TicketId, String),
    /// `#非投诉`: the classifier took chatter for a complaint.
    NotComplaint(TicketId),
    Stats(Period),
    /// Run by the pipeline; the store only checks the role. `allow_removed`
    /// (`#重载规则 强制`) accepts rules that drop a category with open tickets.
    Reload {
        allow_removed: bool,
    },
    /// `#请假` (true) or `#销假` (false): the sender's own leave.
    Away(bool),
    /// `#复查 N 3天`: a re-inspection reminder after this many hours.
    Recheck(TicketId, u32),
    RecheckPass(TicketId),
    RecheckFound(TicketId, String),
    /// `#回访 N 满意|不满意 说明`: the 回访 task's result (true: satisfied).
    Revisit(TicketId, bool, Option<String>),
}

/// Why a command could not be parsed. The `Display` text is the Chinese reply.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    #[error("未知命令「#{word}」。发送 #帮助 查看可用命令。")]
    Unknown { word: String },
    #[error("用法：{usage}，例如 {example}")]
    Usage {
        usage: &'static str,
        example: &'static str,
    },
    #[error("工单号应为数字，例如 {example}（收到的是「{arg}」）")]
    BadTicket { arg: String, example: &'static str },
    #[error("评分应为 1 到 5 的整数，例如 {example}")]
    BadRating { example: &'static str },
    #[error("统计周期应为 今日、本周 或 本月，例如 #统计 本周")]
    BadPeriod,
}

impl Command {
    /// `None` when the text is not a command at all; otherwise the command or
    /// a helpful error.
    pub fn parse(text: &str) -> Option<Result<Command, CommandError>> {
        // Only the prefix, the command word and numbers are width-normalised;
        // free text (notes, reasons) is kept exactly as the user typed it.
        let t = text.trim();
        let rest = t.strip_prefix(['#', '/', '＃', '／'])?;
        // `# 标题` (a heading, or a lone `#`) is not a command: the name must follow the prefix.
        if rest.starts_with(char::is_whitespace) {
            return None;
        }
        let (raw_word, args) = split_first(rest);
        let word = to_halfwidth(raw_word);
        // `#1024 还没人管`, `/::)` (an emoji code) and `# 标题` are not commands;
        // only a word that starts with a letter or a Chinese character is.
        if !word.chars().next().is_some_and(char::is_alphabetic) {
            return None;
        }
        // `#话题#` is a topic tag, not a command.
        if word.contains('#') {
            return None;
        }
        let (def, args) = match lookup(&word) {
            Some(d) => (d, args.to_string()),
            None => match lookup_glued(&word) {
                Some((d, tail)) => (d, format!("{tail} {args}")),
                None => {
                    return Some(Err(CommandError::Unknown {
                        word: word.chars().take(20).collect(),
                    }))
                }
            },
        };
        Some(build(def, args.trim()))
    }

    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Help(_) => CommandKind::Help,
            Command::Show(_) => CommandKind::Show,
            Command::List(_) => CommandKind::List,
            Command::Report(_) => CommandKind::Report,
            Command::Add(..) => CommandKind::Add,
            Command::Confirm(_) => CommandKind::Confirm,
            Command::NotFixed(..) => CommandKind::NotFixed,
            Command::Rate(..) => CommandKind::Rate,
            Command::Withdraw(_) => CommandKind::Withdraw,
            Command::Claim(_) => CommandKind::Claim,
            Command::Assign(..) => CommandKind::Assign,
            Command::Progress(..) => CommandKind::Progress,
            Command::Resolve(..) => CommandKind::Resolve,
            Command::Reject(..) => CommandKind::Reject,
            Command::Transfer(..) => CommandKind::Transfer,
            Command::Merge(..) => CommandKind::Merge,
            Command::Hold(..) => CommandKind::Hold,
            Command::Reopen(..) => CommandKind::Reopen,
            Command::Recat(..) => CommandKind::Recat,
            Command::Note(..) => CommandKind::Note,
            Command::NotComplaint(_) => CommandKind::NotComplaint,
            Command::Stats(_) => CommandKind::Stats,
            Command::Reload { .. } => CommandKind::Reload,
            Command::Away(true) => CommandKind::Away,
            Command::Away(false) => CommandKind::Back,
            Command::Recheck(..) => CommandKind::Recheck,
            Command::RecheckPass(_) => CommandKind::RecheckPass,
            Command::RecheckFound(..) => CommandKind::RecheckFound,
            Command::Revisit(..) => CommandKind::Revisit,
        }
    }

    /// This command's row in [`COMMANDS`].
    pub fn def(&self) -> &'static CommandDef {
        def_of(self.kind())
    }

    /// The ticket the command is about, if any (for `合并`, the one that changes).
    pub fn ticket(&self) -> Option<TicketId> {
        match self {
            Command::Show(t)
            | Command::Add(t, _)
            | Command::Confirm(t)
            | Command::NotFixed(t, _)
            | Command::Rate(t, _, _)
            | Command::Withdraw(t)
            | Command::Claim(t)
            | Command::Assign(t, _)
            | Command::Progress(t, _)
            | Command::Resolve(t, _)
            | Command::Reject(t, _)
            | Command::Transfer(t, _)
            | Command::Merge(t, _)
            | Command::Hold(t, _)
            | Command::Reopen(t, _)
            | Command::Recat(t, _)
            | Command::Note(t, _)
            | Command::Recheck(t, _)
            | Command::RecheckPass(t)
            | Command::RecheckFound(t, _)
            | Command::Revisit(t, _, _)
            | Command::NotComplaint(t) => Some(*t),
            Command::Help(_)
            | Command::List(_)
            | Command::Report(_)
            | Command::Stats(_)
            | Command::Away(_)
            | Command::Reload { .. } => None,
        }
    }
}

/// The table row for a kind. Every kind has exactly one row (a unit test checks it).
pub fn def_of(kind: CommandKind) -> &'static CommandDef {
    COMMANDS
        .iter()
        .find(|d| d.kind == kind)
        .unwrap_or(&COMMANDS[0])
}

fn lookup(word: &str) -> Option<&'static CommandDef> {
    let lower = word.to_lowercase();
    COMMANDS
        .iter()
        .find(|d| d.names.contains(&word) || d.aliases.contains(&lower.as_str()))
}

/// `#认领1024`: a Chinese name glued to its argument. Longest name wins, so
/// `重载规则` is not read as `重载` + `规则`.
fn lookup_glued(word: &str) -> Option<(&'static CommandDef, &str)> {
    COMMANDS
        .iter()
        .flat_map(|d| d.names.iter().map(move |n| (d, *n)))
        .filter(|(_, n)| word.starts_with(n))
        .max_by_key(|(_, n)| n.len())
        .map(|(d, n)| (d, &word[n.len()..]))
}

/// Splits off the first whitespace-separated word; the rest keeps its inner spacing.
fn split_first(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

/// Takes a ticket number off the front of the arguments; `# 1024` is accepted too.
fn take_ticket<'a>(
    def: &'static CommandDef,
    args: &'a str,
) -> Result<(TicketId, &'a str), CommandError> {
    let args = args.trim_start();
    let args = match args.strip_prefix(['#', '＃']) {
        Some(r) => r.trim_start(),
        None => args,
    };
    let (raw_first, rest) = split_first(args);
    let first = to_halfwidth(raw_first);
    let first = first.as_str();
    if first.is_empty() {
        return Err(usage(def));
    }
    // `#认领 1024号` or `1024，` are common: stop at the first non-digit after digits.
    let digits_end = first
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit())
        .map_or(first.len(), |(i, _)| i);
    let (num, tail) = if digits_end > 0 && first[digits_end..].chars().all(is_number_suffix) {
        (&first[..digits_end], rest)
    } else {
        (first, rest)
    };
    let id = TicketId::parse(num).map_err(|_| CommandError::BadTicket {
        arg: first.chars().take(20).collect(),
        example: def.example,
    })?;
    Ok((id, tail))
}

fn is_number_suffix(c: char) -> bool {
    matches!(c, '号' | ',' | '，' | '。' | ':' | '：' | '.')
}

fn usage(def: &'static CommandDef) -> CommandError {
    CommandError::Usage {
        usage: def.usage,
        example: def.example,
    }
}

fn required_text(def: &'static CommandDef, text: &str) -> Result<String, CommandError> {
    let t = text.trim();
    if t.is_empty() {
        Err(usage(def))
    } else {
        Ok(t.to_string())
    }
}

fn optional_text(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// `3天`, `3 天`, `3`, `12小时`, `12h` → hours (1 hour to a year).
fn parse_wait(text: &str) -> Option<u32> {
    let t = to_halfwidth(text);
    let t = t.trim();
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let n: u32 = digits.parse().ok()?;
    let unit = t[digits.len()..].trim();
    let hours = match unit {
        "" | "天" | "日" | "d" => n.checked_mul(24)?,
        "小时" | "h" => n,
        _ => return None,
    };
    (1..=366 * 24).contains(&hours).then_some(hours)
}

/// `满意 说明` → (true, "说明"), `不满意，说明` → (false, "说明"): the result
/// word first, then the note, after a space or a comma.
fn parse_satisfaction(text: &str) -> Option<(bool, String)> {
    const WORDS: &[(&str, bool)] = &[
        ("很不满意", false),
        ("不满意", false),
        ("unsatisfied", false),
        ("非常满意", true),
        ("基本满意", true),
        ("满意", true),
        ("satisfied", true),
    ];
    let t = text.trim_start();
    WORDS.iter().find_map(|(w, ok)| {
        let head = t.get(..w.len())?;
        let rest = &t[w.len()..];
        let ends = rest.is_empty()
            || rest.starts_with(|c: char| c.is_whitespace() || "，,。.：:；;".contains(c));
        (head.eq_ignore_ascii_case(w) && ends).then(|| {
            let note =
                rest.trim_start_matches(|c: char| c.is_whitespace() || "，,。.：:；;".contains(c));
            (*ok, note.trim_end().to_string())
        })
    })
}

fn parse_rating(word: &str) -> Option<u8> {
    let w = word.trim_end_matches(['星', '分']);
    let n = match w {
        "一" => 1,
        "二" | "两" => 2,
        "三" => 3,
        "四" => 4,
        "五" => 5,
        _ => w.parse::<u8>().ok()?,
    };
    (1..=5).contains(&n).then_some(n)
}

fn parse_list_scope(word: &str) -> ListScope {
    let w = word.trim();
    match w.to_lowercase().as_str() {
        "" => ListScope::Active,
        "全部" | "所有" | "all" => ListScope::All,
        "我的" | "mine" | "my" | "me" => ListScope::Mine,
        _ => match Status::parse(w) {
            Some(s) => ListScope::Status(s),
            None => ListScope::Category(w.to_string()),
        },
    }
}

fn build(def: &'static CommandDef, args: &str) -> Result<Command, CommandError> {
    use CommandKind as K;
    let cmd = match def.args {
        Args::None => match def.kind {
            K::Away => Command::Away(true),
            K::Back => Command::Away(false),
            _ => return Err(usage(def)),
        },
        Args::OptWord => {
            let word = to_halfwidth(split_first(args).0);
            let word = word.as_str();
            match def.kind {
                K::Help => Command::Help(optional_text(word)),
                K::List => Command::List(parse_list_scope(word)),
                K::Stats if word.is_empty() => Command::Stats(Period::Today),
                K::Stats => Command::Stats(Period::parse(word).ok_or(CommandError::BadPeriod)?),
                K::Reload => match word.to_lowercase().as_str() {
                    "" => Command::Reload {
                        allow_removed: false,
                    },
                    "强制" | "force" => Command::Reload {
                        allow_removed: true,
                    },
                    _ => return Err(usage(def)),
                },
                _ => return Err(usage(def)),
            }
        }
        Args::Text => match def.kind {
            K::Report => Command::Report(required_text(def, args)?),
            _ => return Err(usage(def)),
        },
        Args::Ticket => {
            let (id, _) = take_ticket(def, args)?;
            match def.kind {
                K::Show => Command::Show(id),
                K::Confirm => Command::Confirm(id),
                K::Withdraw => Command::Withdraw(id),
                K::Claim => Command::Claim(id),
                K::RecheckPass => Command::RecheckPass(id),
                K::NotComplaint => Command::NotComplaint(id),
                _ => return Err(usage(def)),
            }
        }
        Args::TicketText => {
            let (id, rest) = take_ticket(def, args)?;
            let text = required_text(def, rest)?;
            match def.kind {
                K::Add => Command::Add(id, text),
                K::Assign => {
                    let who = text.trim_start_matches(['@', '＠']).trim().to_string();
                    Command::Assign(id, required_text(def, &who)?)
                }
                K::Progress => Command::Progress(id, text),
                K::Resolve => Command::Resolve(id, text),
                K::Reject => Command::Reject(id, text),
                K::Transfer => Command::Transfer(id, text),
                K::Hold => Command::Hold(id, text),
                K::Recat => Command::Recat(id, text),
                K::Note => Command::Note(id, text),
                K::Recheck => Command::Recheck(id, parse_wait(&text).ok_or_else(|| usage(def))?),
                K::RecheckFound => Command::RecheckFound(id, text),
                K::Revisit => {
                    let (satisfied, note) = parse_satisfaction(&text).ok_or_else(|| usage(def))?;
                    Command::Revisit(id, satisfied, optional_text(&note))
                }
                _ => return Err(usage(def)),
            }
        }
        Args::TicketOptText => {
            let (id, rest) = take_ticket(def, args)?;
            match def.kind {
                K::NotFixed => Command::NotFixed(id, optional_text(rest)),
                K::Reopen => Command::Reopen(id, optional_text(rest)),
                _ => return Err(usage(def)),
            }
        }
        Args::TicketTicket => {
            let (a, rest) = take_ticket(def, args)?;
            let (b, _) = take_ticket(def, rest)?;
            match def.kind {
                K::Merge => Command::Merge(a, b),
                _ => return Err(usage(def)),
            }
        }
        Args::TicketRating => {
            let (id, rest) = take_ticket(def, args)?;
            let (word, comment) = split_first(rest);
            let word = to_halfwidth(word);
            if word.is_empty() {
                return Err(usage(def));
            }
            let stars = parse_rating(&word).ok_or(CommandError::BadRating {
                example: def.example,
            })?;
            Command::Rate(id, stars, optional_text(comment))
        }
    };
    Ok(cmd)
}

/// The help reply for a role: only the commands that role may use.
pub fn help_text(role: Role) -> String {
    let mut out = String::from("可用命令（以 # 或 / 开头，工单号可带或不带 #）：");
    for def in COMMANDS.iter().filter(|d| d.access.visible_to(role)) {
        let who = match def.access {
            Access::Reporter => "（反映人）",
            Access::ReporterOrOfficer => "（反映人/工作人员）",
            _ => "",
        };
        let alias = def.aliases.first().copied().unwrap_or("");
        out.push_str(&format!(
            "\n{}（/{alias}）— {}{who}",
            def.usage, def.description
        ));
    }
    out
}

/// Help for one command, for `#帮助 认领`; `None` if the word is not a command.
pub fn help_for(word: &str) -> Option<String> {
    let w = to_halfwidth(word);
    let w = w.trim().trim_start_matches(['#', '/']);
    let def = lookup(w)?;
    let mut names: Vec<String> = def.names.iter().map(|n| format!("#{n}")).collect();
    names.extend(def.aliases.iter().map(|a| format!("/{a}")));
    Some(format!(
        "{}：{}\n用法：{}\n例如：{}\n也可以写作：{}",
        def.display_name(),
        def.description,
        def.usage,
        def.example,
        names.join("、")
    ))
}

#[cfg(test)]
mod tests;
