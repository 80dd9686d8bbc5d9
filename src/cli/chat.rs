//! `gongdan chat`: one group chat in the terminal, through the same pipeline as the webhook.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use gongdan::clock::{parse_step, Clock};
use gongdan::config::Config;
use gongdan::message::InboundMessage;
use gongdan::platform::Answer;
use gongdan::service::Service;
use gongdan::ticket::store::china_tz;

#[derive(Args)]
pub struct ChatArgs {
    /// Config file (officers and admins come from `[roles]`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory to keep tickets in; by default a temporary one, removed on exit.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Rules directory (overrides the config).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Group id of the simulated chat.
    #[arg(long, default_value = "demo-group")]
    group: String,
    /// Who you are at the start (switch with `/as NAME`).
    #[arg(long = "as", default_value = "resident")]
    as_user: String,
}

const HELP: &str = "\
Type a message as the current user and press Enter; the bot's replies follow.
  /as NAME   become NAME (an officer or admin if [roles] lists generic:NAME)
  /who       show who you are
  /time      show the clock; /time +3d, +2h or +90m moves it forward (timers act at once:
             auto-close, SLA reminders and escalations, the morning digest)
  /quit      leave (Ctrl-D works too)
Bot commands work as in a real group: #帮助, #认领 1001, /list ...";

pub fn run(args: ChatArgs) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(r) = args.rules {
        config.rules.dir = r;
    }
    let _temp;
    config.storage.data_dir = match args.data {
        Some(d) => d,
        None => {
            let t = tempfile::tempdir().context("cannot create a temporary data directory")?;
            let p = t.path().to_path_buf();
            _temp = t;
            p
        }
    };
    // The simulator shows replies itself; nothing is posted anywhere.
    config.platforms.generic.reply_url = None;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let service = Arc::new(Service::open_with_clock(config, Clock::adjustable())?);
    if service.config().rules.watch {
        let interval = Duration::from_millis(service.config().rules.watch_interval_ms.max(100));
        runtime.spawn(gongdan::watch::run(service.clone(), interval));
    }

    let mut user = args.as_user;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "gongdan chat: group {} · rules {} ({} categories) · data {}\n{HELP}\n",
        args.group,
        service.rules_dir().display(),
        service.rules().categories().len(),
        service.config().storage.data_dir.display(),
    )?;
    let mut seq = 0u64;
    // The day whose overall digest was shown (no staff groups in org.toml).
    let mut digest_shown = None;
    let stdin = std::io::stdin();
    loop {
        write!(out, "[{user}] > ")?;
        out.flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            writeln!(out)?;
            break;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match line
            .split_once(' ')
            .map_or((line, ""), |(a, b)| (a, b.trim()))
        {
            ("/quit" | "/exit", _) => break,
            ("/who", _) => {
                writeln!(out, "  you are {user} ({})", role_label(&service, &user))?;
                continue;
            }
            ("/as", name) if !name.is_empty() => {
                user = name.to_string();
                writeln!(
                    out,
                    "  now speaking as {user} ({})",
                    role_label(&service, &user)
                )?;
                continue;
            }
            ("/as", _) => {
                writeln!(out, "  usage: /as NAME")?;
                continue;
            }
            ("/time", "") => {
                writeln!(out, "  {}", clock_label(service.clock()))?;
                continue;
            }
            ("/time", step) => {
                match parse_step(step).and_then(|s| service.clock().advance(s)) {
                    Ok(now) => {
                        writeln!(out, "  {}", clock_label(service.clock()))?;
                        // What the auto-close timer would do at the new time, now.
                        for answer in runtime.block_on(service.close_stale_tickets(now))? {
                            print_replies(&mut out, &args.group, answer)?;
                        }
                        // And what the SLA timer would: reminders, escalations.
                        for answer in runtime.block_on(service.check_sla(now))? {
                            print_replies(&mut out, &args.group, answer)?;
                        }
                        // And the digest timer: the morning figures to each
                        // staff group, once a day.
                        let sent = runtime.block_on(gongdan::digest::send_due(&service, now))?;
                        for answer in sent.unwrap_or_default() {
                            print_replies(&mut out, &args.group, answer)?;
                        }
                        // Without staff groups nobody would get one: show the
                        // figures for every ticket here instead.
                        if service.org().units.iter().all(|u| u.staff_group.is_none()) {
                            if let Some((day, text)) =
                                runtime.block_on(gongdan::digest::overall_due(&service, now))?
                            {
                                if digest_shown != Some(day) {
                                    digest_shown = Some(day);
                                    let answer = Answer {
                                        ticket: None,
                                        replies: vec![("工作群（示例）".to_string(), text)],
                                    };
                                    print_replies(&mut out, &args.group, answer)?;
                                }
                            }
                        }
                    }
                    Err(e) => writeln!(out, "  cannot move the clock: {e}")?,
                }
                continue;
            }
            _ => {}
        }
        seq += 1;
        let msg = InboundMessage {
            platform: "generic".into(),
            message_id: format!("chat-{}-{seq}", std::process::id()),
            group_id: args.group.clone(),
            group_name: Some("模拟群".into()),
            sender_id: user.clone(),
            sender_name: Some(user.clone()),
            text: line.to_string(),
            images: Vec::new(),
            timestamp: Some(service.clock().now().timestamp()),
            reply_handle: None,
        };
        let (platform, message_id) = (msg.platform.clone(), msg.message_id.clone());
        let answer = runtime.block_on(service.handle(msg))?;
        if answer.replies.is_empty() {
            let logged = service
                .store()
                .inquiry(&platform, &message_id)?
                .is_some_and(|q| q.outcome == gongdan::ticket::InquiryOutcome::Unanswered);
            if logged {
                writeln!(
                    out,
                    "  (no reply: a question no answer covers; logged for `gongdan rules unanswered`)"
                )?;
            } else {
                writeln!(out, "  (no reply: not a complaint or command)")?;
            }
        }
        print_replies(&mut out, &args.group, answer)?;
    }
    service.begin_shutdown();
    runtime.block_on(service.store().flush_async())?;
    Ok(ExitCode::SUCCESS)
}

/// The bot's replies as the group sees them (another group's are marked).
fn print_replies(out: &mut impl Write, here: &str, answer: Answer) -> std::io::Result<()> {
    for (group, text) in answer.replies {
        let prefix = if group == here {
            "工单助手".to_string()
        } else {
            format!("工单助手 → {group}")
        };
        for (i, l) in text.lines().enumerate() {
            if i == 0 {
                writeln!(out, "  {prefix}: {l}")?;
            } else {
                writeln!(
                    out,
                    "  {:width$}  {l}",
                    "",
                    width = prefix.chars().count() * 2
                )?;
            }
        }
    }
    Ok(())
}

/// `clock: 2026-12-10 15:04 (China time), 7d 0h 0m ahead`.
fn clock_label(clock: &Clock) -> String {
    let now = clock.now().with_timezone(&china_tz());
    let ahead = clock.ahead();
    let mins = ahead.num_minutes();
    let lead = if mins == 0 {
        "the real time".to_string()
    } else {
        format!(
            "{}d {}h {}m ahead of the real time",
            mins / (24 * 60),
            mins / 60 % 24,
            mins % 60
        )
    };
    format!(
        "clock: {} (China time), {lead}",
        now.format("%Y-%m-%d %H:%M")
    )
}

fn role_label(service: &Service, user: &str) -> &'static str {
    let probe = InboundMessage {
        platform: "generic".into(),
        message_id: String::new(),
        group_id: String::new(),
        group_name: None,
        sender_id: user.to_string(),
        sender_name: None,
        text: String::new(),
        images: Vec::new(),
        timestamp: None,
        reply_handle: None,
    };
    service.role_of(&probe).label()
}
