//! SVG charts rendered on the server: a daily trend and horizontal bars, with axes and Chinese labels.

use std::fmt::Write;

use chrono::NaiveDate;

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round axis maximum at or above `max`, and its tick step.
fn axis(max: usize) -> (usize, usize) {
    let max = max.max(1);
    let raw = max.div_ceil(5).max(1);
    let magnitude = 10usize.pow(raw.to_string().len() as u32 - 1);
    let step = [1, 2, 5, 10]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    (step * max.div_ceil(step), step)
}

/// One line per series over the days; `series` is `(name, colour, values)`.
pub fn trend(days: &[NaiveDate], series: &[(&str, &str, Vec<usize>)]) -> String {
    let (w, h, left, right, top, bottom) = (760.0, 260.0, 44.0, 16.0, 28.0, 42.0);
    let max = series
        .iter()
        .flat_map(|(_, _, v)| v.iter().copied())
        .max()
        .unwrap_or(0);
    let (ymax, step) = axis(max);
    let n = days.len().max(1);
    let x = |i: usize| left + (w - left - right) * (i as f64 + 0.5) / n as f64;
    let y = |v: usize| top + (h - top - bottom) * (1.0 - v as f64 / ymax as f64);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="每日趋势" xmlns="http://www.w3.org/2000/svg">"#
    );
    let mut v = 0;
    while v <= ymax {
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e7ee"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#6b7280">{v}</text>"##,
            w - right,
            left - 6.0,
            y(v) + 4.0,
            y = y(v)
        );
        v += step;
    }
    let label_every = n.div_ceil(10).max(1);
    for (i, d) in days.iter().enumerate() {
        if i % label_every == 0 || i + 1 == n {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{}" font-size="11" text-anchor="middle" fill="#6b7280">{}</text>"##,
                x(i),
                h - bottom + 16.0,
                d.format("%m-%d")
            );
        }
    }
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{left}" y1="{top}" y2="{}" stroke="#9aa3b2"/><line x1="{left}" x2="{}" y1="{}" y2="{}" stroke="#9aa3b2"/>"##,
        h - bottom,
        w - right,
        h - bottom,
        h - bottom
    );
    let _ = write!(
        s,
        r##"<text x="4" y="14" font-size="11" fill="#6b7280">件数</text><text x="{}" y="{}" font-size="11" text-anchor="end" fill="#6b7280">日期</text>"##,
        w - right,
        h - 4.0
    );
    for (k, (name, colour, values)) in series.iter().enumerate() {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        for (i, v) in values.iter().enumerate() {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{colour}"><title>{} {}：{v} 件</title></circle>"#,
                x(i),
                y(*v),
                days.get(i).map(|d| d.to_string()).unwrap_or_default(),
                esc(name)
            );
        }
        let lx = left + 10.0 + k as f64 * 90.0;
        let _ = write!(
            s,
            r##"<rect x="{lx}" y="6" width="12" height="4" fill="{colour}"/><text x="{}" y="12" font-size="12" fill="#1d2330">{}</text>"##,
            lx + 16.0,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars, one per `(label, value)`, with the value at the bar's end.
pub fn bars(rows: &[(String, usize)], colour: &str) -> String {
    let row_h = 24.0;
    let (w, left, top) = (520.0, 130.0, 8.0);
    let h = top * 2.0 + row_h * rows.len().max(1) as f64 + 18.0;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0);
    let (xmax, step) = axis(max);
    let scale = |v: usize| (w - left - 40.0) * v as f64 / xmax as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="分类统计" xmlns="http://www.w3.org/2000/svg">"#
    );
    let mut v = 0;
    while v <= xmax {
        let gx = left + scale(v);
        let _ = write!(
            s,
            r##"<line x1="{gx:.1}" x2="{gx:.1}" y1="{top}" y2="{:.1}" stroke="#e3e7ee"/><text x="{gx:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#6b7280">{v}</text>"##,
            h - 18.0,
            h - 5.0
        );
        v += step;
    }
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let short: String = label.chars().take(9).collect();
        let _ = write!(
            s,
            r##"<text x="{}" y="{:.1}" font-size="12" text-anchor="end" fill="#1d2330">{}</text><rect x="{left}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{}：{value} 件</title></rect><text x="{:.1}" y="{:.1}" font-size="12" fill="#1d2330">{value}</text>"##,
            left - 6.0,
            y + row_h * 0.65,
            esc(&short),
            y + 4.0,
            scale(*value).max(1.0),
            row_h - 8.0,
            esc(label),
            left + scale(*value) + 4.0,
            y + row_h * 0.65
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up() {
        assert_eq!(axis(0), (1, 1));
        assert_eq!(axis(7), (8, 2));
        assert_eq!(axis(43), (50, 10));
        let (m, step) = axis(1234);
        assert!(m >= 1234 && m % step == 0);
    }

    #[test]
    fn charts_carry_labels_and_escape_them() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let svg = trend(
            &[d, d.succ_opt().unwrap()],
            &[("受理", "#1f5fbf", vec![1, 3])],
        );
        assert!(svg.starts_with("<svg") && svg.contains("受理") && svg.contains("11-01"));
        let svg = bars(&[("<占道>".into(), 4)], "#1f5fbf");
        assert!(svg.contains("&lt;占道&gt;") && !svg.contains("<占道>"));
    }
}
