//! `gongdan bench scale`: many tickets in one store; open time, list latency, disk size.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use gongdan::message::InboundMessage;
use gongdan::priority::Priority;
use gongdan::ticket::{Action, ComplaintInput, Context as TicketContext, ListFilter, Store};

use super::{dir_size, peak_rss_mib, percentiles};

#[derive(Args)]
pub struct ScaleArgs {
    /// Tickets to create.
    #[arg(long, default_value_t = 1_000_000)]
    tickets: u64,
    /// Groups they are spread over.
    #[arg(long, default_value_t = 1000)]
    groups: u64,
    /// Keep the store here instead of a temporary directory (reuse it with --reuse).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Skip filling: measure an existing --data store.
    #[arg(long)]
    reuse: bool,
}

const CATEGORIES: &[(&str, &str)] = &[
    ("clutter", "乱堆乱放"),
    ("fire_lane", "占用消防通道"),
    ("dog", "不文明养犬"),
    ("parking", "车辆乱停放"),
    ("garbage", "环境卫生"),
    ("noise", "噪音扰民"),
];

fn fill(store: &Store, tickets: u64, groups: u64) -> anyhow::Result<()> {
    let ctx = TicketContext::default();
    // Spread creation times so consecutive tickets of a group fall outside
    // the duplicate window: every message opens a new ticket.
    let step = chrono::Duration::minutes(5);
    let start = Utc::now() - step * (tickets as i32);
    let started = Instant::now();
    for i in 0..tickets {
        let (cat, name) = CATEGORIES[(i % CATEGORIES.len() as u64) as usize];
        let group = i % groups;
        let msg = InboundMessage {
            platform: "generic".into(),
            message_id: format!("scale-{i}"),
            group_id: format!("group-{group}"),
            group_name: None,
            sender_id: format!("resident-{}", i % 50_000),
            sender_name: None,
            text: format!("{}号楼{}问题，第{i}次反映", i % 40 + 1, name),
            images: Vec::new(),
            timestamp: None,
            reply_handle: None,
        };
        let input = ComplaintInput {
            category: cat.into(),
            category_name: name.into(),
            department: "城管执法中队".into(),
            priority: Priority::Normal,
            sla_hours: 72,
            location: Some(format!("{}号楼", i % 40 + 1)),
            tokens: vec![name.into(), format!("{}号楼", i % 40 + 1)],
            reply_template: None,
            missed: false,
        };
        store.process(
            &msg,
            Action::Complaint(input),
            &ctx,
            start + step * (i as i32),
        )?;
        if (i + 1) % 100_000 == 0 {
            eprintln!(
                "  {} tickets, {:.0}/s",
                i + 1,
                (i + 1) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    // The delivery worker would have drained the replies by now.
    loop {
        let batch = store.outbox_pending(10_000)?;
        if batch.is_empty() {
            break;
        }
        for e in batch {
            store.outbox_remove(e.id)?;
        }
    }
    store.flush()?;
    println!(
        "filled {tickets} tickets in {:.1} s ({:.0} tickets/s)",
        started.elapsed().as_secs_f64(),
        tickets as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn run(args: ScaleArgs) -> anyhow::Result<ExitCode> {
    let _temp;
    let dir = match &args.data {
        Some(d) => d.clone(),
        None => {
            let t = tempfile::tempdir().context("cannot create a temporary directory")?;
            let p = t.path().join("data");
            _temp = t;
            p
        }
    };
    if !args.reuse {
        let store = Store::open(&dir)?;
        fill(&store, args.tickets, args.groups)?;
    }

    let started = Instant::now();
    let store = Store::open(&dir)?;
    let open = started.elapsed();

    // The whole list is the worst case; the chat's `#列表` asks for its 10
    // newest (plus one, to say whether there are more) and the API for 100.
    let mut found = 0;
    let mut pages = Vec::new();
    for limit in [None, Some(100), Some(11)] {
        let mut samples = Vec::new();
        for g in 0..200u64 {
            let filter = ListFilter {
                group: Some((
                    "generic".into(),
                    format!("group-{}", (g * 7919) % args.groups),
                )),
                active_only: true,
                limit,
                ..ListFilter::default()
            };
            let t = Instant::now();
            let n = store.list(&filter)?.len();
            samples.push(t.elapsed().as_micros() as u64);
            if limit.is_none() {
                found += n;
            }
        }
        pages.push((limit, percentiles(&mut samples)));
    }
    let size = dir_size(&dir);
    println!("store: {} ({} groups)", dir.display(), args.groups);
    println!("open: {:.0} ms", open.as_secs_f64() * 1000.0);
    for (limit, [p50, p99, _]) in pages {
        match limit {
            None => println!(
                "list open tickets of one group: p50 {p50:.2} ms, p99 {p99:.2} ms ({} tickets per group on average)",
                found / 200
            ),
            Some(n) => println!(
                "  first page of {n} (newest first): p50 {p50:.2} ms, p99 {p99:.2} ms"
            ),
        }
    }
    println!("disk: {:.0} MiB", size as f64 / (1024.0 * 1024.0));
    if let Some(rss) = peak_rss_mib() {
        println!("peak RSS: {rss:.0} MiB");
    }
    Ok(ExitCode::SUCCESS)
}
