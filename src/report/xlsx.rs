//! The monthly report as an Excel workbook: 汇总, one sheet per community, 工单清单.
//!
//! The summary sheet follows the city reports' wording (收到反映、办结、按时办结、
//! 满意度) with the previous month beside each figure. Numbers are written as
//! numbers, so the sheet can be summed and charted in Excel.

use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};

use super::MonthlyReport;
use crate::digest::Figures;
use crate::ticket::export::fmt_time;
use crate::ticket::Ticket;

/// The workbook as bytes.
pub fn write(report: &MonthlyReport) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let title = Format::new().set_bold().set_font_size(14);
    let head = Format::new()
        .set_bold()
        .set_background_color("#EEF1F6")
        .set_align(FormatAlign::Center);
    let pct = Format::new().set_num_format("0.0");

    let sheet = book.add_worksheet().set_name("汇总")?;
    sheet.write_string_with_format(
        0,
        0,
        format!(
            "{}城管进社区工作月报（{}）",
            report.scope, report.period.label
        ),
        &title,
    )?;
    sheet.write_string_with_format(2, 0, "指标", &head)?;
    sheet.write_string_with_format(2, 1, "本月", &head)?;
    sheet.write_string_with_format(2, 2, report.period.previous().label, &head)?;
    let rows = summary_rows(&report.summary, &report.previous, report.satisfied_rate);
    for (i, (label, now, before)) in rows.iter().enumerate() {
        let r = 3 + i as u32;
        sheet.write_string_with_format(r, 0, *label, &bold)?;
        write_opt(sheet, r, 1, *now, &pct)?;
        write_opt(sheet, r, 2, *before, &pct)?;
    }
    let top = 5 + rows.len() as u32;
    sheet.write_string_with_format(top - 1, 0, "分社区情况", &bold)?;
    let cols = [
        "社区",
        "收到反映",
        "办结",
        "按时办结",
        "按时办结率%",
        "超时未办结",
        "满意度",
    ];
    for (c, h) in cols.iter().enumerate() {
        sheet.write_string_with_format(top, c as u16, *h, &head)?;
    }
    for (i, (name, f)) in report.communities.iter().enumerate() {
        let r = top + 1 + i as u32;
        sheet.write_string(r, 0, name)?;
        sheet.write_number(r, 1, f.received as f64)?;
        sheet.write_number(r, 2, f.resolved as f64)?;
        sheet.write_number(r, 3, f.on_time as f64)?;
        write_opt(sheet, r, 4, f.on_time_rate(), &pct)?;
        sheet.write_number(r, 5, f.overdue as f64)?;
        write_opt(sheet, r, 6, f.satisfaction, &pct)?;
    }
    sheet.set_column_width(0, 22)?;
    for c in 1..7 {
        sheet.set_column_width(c, 13)?;
    }

    let mut used = vec!["汇总".to_string(), "工单清单".to_string()];
    for (name, f) in &report.communities {
        let sheet_name = sheet_name(name, &used);
        used.push(sheet_name.clone());
        let sheet = book.add_worksheet().set_name(&sheet_name)?;
        sheet.write_string_with_format(
            0,
            0,
            format!("{name}（{}）", report.period.label),
            &title,
        )?;
        let figures = [
            ("收到反映", f.received as f64),
            ("办结", f.resolved as f64),
            ("按时办结", f.on_time as f64),
            ("超时未办结", f.overdue as f64),
        ];
        for (i, (label, n)) in figures.iter().enumerate() {
            sheet.write_string_with_format(2 + i as u32, 0, *label, &bold)?;
            sheet.write_number(2 + i as u32, 1, *n)?;
        }
        sheet.write_string_with_format(6, 0, "满意度", &bold)?;
        write_opt(sheet, 6, 1, f.satisfaction, &pct)?;
        let mine: Vec<&(String, Ticket)> =
            report.tickets.iter().filter(|(c, _)| c == name).collect();
        ticket_table(sheet, 8, &mine, &head)?;
    }

    let sheet = book.add_worksheet().set_name("工单清单")?;
    let all: Vec<&(String, Ticket)> = report.tickets.iter().collect();
    ticket_table(sheet, 0, &all, &head)?;
    book.save_to_buffer()
}

/// `(label, this period, previous period)`.
fn summary_rows(
    now: &Figures,
    before: &Figures,
    satisfied_rate: Option<f64>,
) -> Vec<(&'static str, Option<f64>, Option<f64>)> {
    let n = |v: usize| Some(v as f64);
    vec![
        ("收到反映（件）", n(now.received), n(before.received)),
        ("办结（件）", n(now.resolved), n(before.resolved)),
        ("按时办结（件）", n(now.on_time), n(before.on_time)),
        ("按时办结率（%）", now.on_time_rate(), before.on_time_rate()),
        ("超时未办结（件）", n(now.overdue), n(before.overdue)),
        (
            "平均办理时长（小时）",
            now.avg_hours_to_resolve,
            before.avg_hours_to_resolve,
        ),
        ("满意度（1-5 分）", now.satisfaction, before.satisfaction),
        ("满意率（4-5 分占比，%）", satisfied_rate, None),
        ("解答问询（件）", n(now.answered), n(before.answered)),
    ]
}

fn write_opt(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    v: Option<f64>,
    format: &Format,
) -> Result<(), XlsxError> {
    match v {
        Some(v) => sheet.write_number_with_format(row, col, (v * 10.0).round() / 10.0, format)?,
        None => sheet.write_string(row, col, "—")?,
    };
    Ok(())
}

const TICKET_COLUMNS: [&str; 13] = [
    "工单号",
    "受理时间",
    "社区",
    "类别",
    "位置",
    "反映内容",
    "反映人",
    "附议人数",
    "状态",
    "负责人",
    "办结时间",
    "处理结果",
    "评价",
];

fn ticket_table(
    sheet: &mut Worksheet,
    top: u32,
    tickets: &[&(String, Ticket)],
    head: &Format,
) -> Result<(), XlsxError> {
    for (c, h) in TICKET_COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(top, c as u16, *h, head)?;
    }
    for (i, (community, t)) in tickets.iter().enumerate() {
        let r = top + 1 + i as u32;
        sheet.write_number(r, 0, t.id.get() as f64)?;
        sheet.write_string(r, 1, fmt_time(t.created_at))?;
        sheet.write_string(r, 2, community)?;
        sheet.write_string(r, 3, &t.category_name)?;
        sheet.write_string(r, 4, t.location.as_deref().unwrap_or(""))?;
        sheet.write_string(r, 5, &t.text)?;
        sheet.write_string(r, 6, t.reporter.display())?;
        sheet.write_number(r, 7, t.supporters.len() as f64)?;
        sheet.write_string(r, 8, t.status.label())?;
        sheet.write_string(r, 9, t.officer.as_ref().map_or("", |p| p.display()))?;
        sheet.write_string(r, 10, t.resolved_at.map(fmt_time).unwrap_or_default())?;
        sheet.write_string(r, 11, t.resolution.as_deref().unwrap_or(""))?;
        match t.rating {
            Some(v) => sheet.write_number(r, 12, f64::from(v))?,
            None => sheet.write_string(r, 12, "")?,
        };
    }
    let widths = [
        8.0, 17.0, 14.0, 12.0, 12.0, 50.0, 10.0, 8.0, 8.0, 10.0, 17.0, 30.0, 6.0,
    ];
    for (c, w) in widths.iter().enumerate() {
        sheet.set_column_width(c as u16, *w)?;
    }
    Ok(())
}

/// An Excel sheet name: at most 31 characters, none of `[]:*?/\`, unique in the book.
fn sheet_name(name: &str, used: &[String]) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(28)
        .collect();
    let clean = if clean.trim().is_empty() {
        "社区".to_string()
    } else {
        clean
    };
    let mut candidate = clean.clone();
    let mut n = 2;
    while used.iter().any(|u| u.eq_ignore_ascii_case(&candidate)) {
        candidate = format!("{clean}{n}");
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_legal_and_unique() {
        let used = vec!["汇总".to_string()];
        assert_eq!(sheet_name("a/b[c]", &used), "a_b_c_");
        assert_eq!(sheet_name("汇总", &used), "汇总2");
        assert!(sheet_name(&"长".repeat(40), &used).chars().count() <= 31);
    }
}
