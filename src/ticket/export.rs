//! Human and machine renderings of tickets: chat summaries, CLI listings, CSV and JSON exports.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::StoreError;
use super::model::{Event, Ticket, TicketId};
use super::store::{china_tz, ListFilter, Stats, Store};

/// `2026-11-22 09:30` in China time.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&china_tz())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn fmt_short(t: DateTime<Utc>) -> String {
    t.with_timezone(&china_tz())
        .format("%m-%d %H:%M")
        .to_string()
}

/// One line per ticket, for `#列表` and the CLI.
pub fn ticket_line(t: &Ticket, now: DateTime<Utc>) -> String {
    let overdue = if t.is_overdue(now) {
        " 【已超时】"
    } else {
        ""
    };
    let people = if t.report_count() > 1 {
        format!(" {}人反映", t.report_count())
    } else {
        String::new()
    };
    format!(
        "{} {} {}{} {}{}{}",
        t.id,
        t.status.label(),
        t.category_name,
        t.location_suffix(),
        fmt_short(t.created_at),
        people,
        overdue
    )
}

fn event_line(e: &Event) -> String {
    let who = e.actor_name.as_deref().unwrap_or(&e.actor);
    let mut line = format!("{} {} {}", fmt_time(e.at), who, e.kind.label());
    if let (Some(from), Some(to)) = (e.from, e.to) {
        line.push_str(&format!("（{} → {}）", from.label(), to.label()));
    }
    if let Some(n) = &e.note {
        line.push_str(&format!("：{n}"));
    }
    line
}

/// A short summary for `#查询` in a chat: status, owner and the last few events.
pub fn ticket_brief(t: &Ticket, history: &[Event], now: DateTime<Utc>) -> String {
    let mut s = format!(
        "工单 {}：{}{}\n状态：{}{}\n承办：{}{}\n反映人数：{}；受理时间：{}；处理时限：{}",
        t.id,
        t.category_name,
        t.location_suffix(),
        t.status.label(),
        t.status_reason
            .as_ref()
            .map(|r| format!("（{r}）"))
            .unwrap_or_default(),
        t.department,
        t.officer
            .as_ref()
            .map(|o| format!(" / {}", o.display()))
            .unwrap_or_default(),
        t.report_count(),
        fmt_time(t.created_at),
        fmt_time(t.due_at),
    );
    if t.is_overdue(now) {
        s.push_str("（已超时）");
    }
    if let Some(into) = t.merged_into {
        s.push_str(&format!("\n已合并到 {into}"));
    }
    let skip = history.len().saturating_sub(3);
    if !history.is_empty() {
        s.push_str("\n最近进展：");
        for e in &history[skip..] {
            s.push_str("\n· ");
            s.push_str(&event_line(e));
        }
    }
    s
}

/// Everything about one ticket, for the CLI's `show`: all fields and the full history.
pub fn ticket_detail(t: &Ticket, history: &[Event]) -> String {
    let mut s = format!(
        "工单 {}  [{}]\n类别：{}（{}）\n部门：{}\n优先级：{}\n地点：{}\n内容：{}\n来源：{} / {}{}\n反映人：{}",
        t.id,
        t.status.label(),
        t.category_name,
        t.category,
        t.department,
        t.priority.label(),
        t.location.as_deref().unwrap_or("—"),
        t.text,
        t.platform,
        t.group_id,
        t.group_name.as_ref().map(|n| format!("（{n}）")).unwrap_or_default(),
        t.reporters().map(|p| p.display()).collect::<Vec<_>>().join("、"),
    );
    s.push_str(&format!(
        "\n处理人：{}\n受理：{}  时限：{} 小时（{}）",
        t.officer.as_ref().map_or("—", |o| o.display()),
        fmt_time(t.created_at),
        t.sla_hours,
        fmt_time(t.due_at)
    ));
    if let Some(r) = &t.resolution {
        s.push_str(&format!("\n处理结果：{r}"));
    }
    if let Some(r) = &t.status_reason {
        s.push_str(&format!("\n原因：{r}"));
    }
    if let Some(into) = t.merged_into {
        s.push_str(&format!("\n已合并到：{into}"));
    }
    if let Some(r) = t.rating {
        s.push_str(&format!("\n评价：{r} 星"));
    }
    if !t.attachments.is_empty() {
        s.push_str(&format!("\n附件：{}", t.attachments.join(" ")));
    }
    s.push_str("\n历史：");
    for e in history {
        s.push_str("\n  ");
        s.push_str(&event_line(e));
    }
    s
}

/// The `#统计` reply.
pub fn stats_text(s: &Stats) -> String {
    let mut out = format!(
        "{}统计（自 {} 起，北京时间）\n新增 {} 件，办结 {} 件，结案 {} 件\n当前未结案 {} 件，其中超时 {} 件",
        s.period.label(),
        fmt_time(s.start),
        s.created,
        s.resolved,
        s.closed,
        s.active_now,
        s.overdue_now
    );
    if let Some(h) = s.avg_resolve_hours {
        out.push_str(&format!("\n平均办结用时 {h:.1} 小时"));
    }
    if let Some(r) = s.avg_rating {
        out.push_str(&format!("\n平均评价 {r:.1} 星"));
    }
    if !s.by_category.is_empty() {
        out.push_str(&format!("\n按类别：{}", counts(&s.by_category)));
    }
    if !s.by_status.is_empty() {
        let sts: Vec<String> = s
            .by_status
            .iter()
            .map(|(st, n)| format!("{} {n}", st.label()))
            .collect();
        out.push_str(&format!("\n新增工单现状：{}", sts.join("，")));
    }
    if !s.corrections_by_category.is_empty() {
        let fixes = counts(&s.corrections_by_category);
        out.push_str(&format!("\n人工纠正分类：{fixes}"));
    }
    if s.inquiries_answered > 0 {
        out.push_str(&format!("\n解答问询 {} 件", s.inquiries_answered));
    }
    out
}

/// `占用消防通道 3，不文明养犬 1`.
fn counts(by_name: &[(String, usize)]) -> String {
    let parts: Vec<String> = by_name.iter().map(|(c, n)| format!("{c} {n}")).collect();
    parts.join("，")
}

/// One CSV field, always quoted. A leading `= + - @` would make Excel run the
/// cell as a formula (a resident could type one), so such text gets a `'`.
fn csv_field(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

const CSV_HEADER: [&str; 20] = [
    "工单号",
    "状态",
    "类别",
    "类别编号",
    "部门",
    "优先级",
    "地点",
    "内容",
    "平台",
    "群",
    "反映人",
    "反映人数",
    "处理人",
    "受理时间",
    "更新时间",
    "时限(小时)",
    "到期时间",
    "结案时间",
    "处理结果",
    "评价",
];

#[derive(Serialize)]
struct JsonTicket<'a> {
    #[serde(flatten)]
    ticket: &'a Ticket,
    history: Vec<Event>,
}

impl Store {
    /// The CLI's `show`: full record and history, or `None` if there is no such ticket.
    pub fn show_text(&self, id: TicketId) -> Result<Option<String>, StoreError> {
        let Some(t) = self.get(id)? else {
            return Ok(None);
        };
        Ok(Some(ticket_detail(&t, &self.history(id)?)))
    }

    /// The CLI's `list`: one line per ticket.
    pub fn list_text(&self, filter: &ListFilter, now: DateTime<Utc>) -> Result<String, StoreError> {
        let tickets = self.list(filter)?;
        if tickets.is_empty() {
            return Ok("没有符合条件的工单".to_string());
        }
        Ok(tickets
            .iter()
            .map(|t| ticket_line(t, now))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// CSV for Excel: UTF-8 with BOM (or Excel guesses GBK and shows 乱码),
    /// CRLF line ends, every field quoted. Times in China time. Returns rows written.
    pub fn export_csv<W: Write>(
        &self,
        filter: &ListFilter,
        mut out: W,
    ) -> Result<usize, StoreError> {
        let tickets = self.list(filter)?;
        write_csv(&tickets, &mut out)?;
        out.flush()?;
        Ok(tickets.len())
    }

    /// JSON array of tickets (current record shape) each with its `history`.
    pub fn export_json<W: Write>(
        &self,
        filter: &ListFilter,
        mut out: W,
    ) -> Result<usize, StoreError> {
        let tickets = self.list(filter)?;
        let mut items = Vec::with_capacity(tickets.len());
        for t in &tickets {
            items.push(JsonTicket {
                ticket: t,
                history: self.history(t.id)?,
            });
        }
        serde_json::to_writer_pretty(&mut out, &items).map_err(StoreError::Encode)?;
        out.write_all(b"\n")?;
        out.flush()?;
        Ok(tickets.len())
    }
}

/// Tickets as CSV for Excel: UTF-8 with BOM (or Excel guesses GBK and shows
/// 乱码), CRLF line ends, every field quoted, times in China time.
pub fn write_csv<W: Write>(tickets: &[Ticket], mut out: W) -> std::io::Result<()> {
    out.write_all("\u{FEFF}".as_bytes())?;
    let header: Vec<String> = CSV_HEADER.iter().map(|h| csv_field(h)).collect();
    out.write_all(header.join(",").as_bytes())?;
    out.write_all(b"\r\n")?;
    for t in tickets {
        let row = [
            t.id.get().to_string(),
            t.status.label().to_string(),
            t.category_name.clone(),
            t.category.clone(),
            t.department.clone(),
            t.priority.label().to_string(),
            t.location.clone().unwrap_or_default(),
            t.text.clone(),
            t.platform.clone(),
            t.group_name.clone().unwrap_or_else(|| t.group_id.clone()),
            t.reporter.display().to_string(),
            t.report_count().to_string(),
            t.officer
                .as_ref()
                .map(|o| o.display().to_string())
                .unwrap_or_default(),
            fmt_time(t.created_at),
            fmt_time(t.updated_at),
            t.sla_hours.to_string(),
            fmt_time(t.due_at),
            t.closed_at.map(fmt_time).unwrap_or_default(),
            t.resolution.clone().unwrap_or_default(),
            t.rating.map(|r| r.to_string()).unwrap_or_default(),
        ];
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.write_all(fields.join(",").as_bytes())?;
        out.write_all(b"\r\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_field_quoting() {
        let cases: &[(&str, &str)] = &[
            ("普通", "\"普通\""),
            ("a,b", "\"a,b\""),
            ("他说\"快来\"", "\"他说\"\"快来\"\"\""),
            ("两行\n文字", "\"两行\n文字\""),
            ("=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""),
            ("", "\"\""),
        ];
        for (input, want) in cases {
            assert_eq!(csv_field(input), *want, "{input}");
        }
    }
}
