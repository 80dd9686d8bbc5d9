//! The page shell (nav, flash messages), the embedded static files, and small formatting helpers.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::users::StaffRole;

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

pub async fn css() -> Response {
    static_file("text/css; charset=utf-8", CSS)
}

pub async fn js() -> Response {
    static_file("text/javascript; charset=utf-8", JS)
}

fn static_file(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Which nav entry is the current page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Board,
    Dashboard,
    Rules,
    None,
}

/// Who the page is for, as the shell shows it.
pub struct Shell<'a> {
    pub user: &'a str,
    pub role: StaffRole,
    pub scope: &'a str,
    pub csrf: &'a str,
}

/// A full page.
pub fn page(title: &str, nav: Nav, shell: Option<&Shell>, body: Markup) -> Markup {
    let link = |href: &str, label: &str, here: bool| {
        html! { a href=(href) class=[here.then_some("here")] { (label) } }
    };
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 工单" }
                link rel="stylesheet" href="/console/static/console.css";
                script src="/console/static/console.js" defer {}
            }
            body {
                @if let Some(s) = shell {
                    header.top {
                        strong { "工单 · 城管进社区" }
                        (link("/console", "工单看板", nav == Nav::Board))
                        (link("/console/dashboard", "统计分析", nav == Nav::Dashboard))
                        (link("/console/rules", "分类规则", nav == Nav::Rules))
                        div.who {
                            span { (s.user) "（" (s.role.label()) "，范围：" (s.scope) "）" }
                            form method="post" action="/console/logout" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button type="submit" { "退出" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// An HTML response with a status.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        markup.into_string(),
    )
        .into_response()
}

/// A plain error page (404, 403, 400) inside the shell when logged in.
pub fn error_page(status: StatusCode, message: &str, shell: Option<&Shell>) -> Response {
    respond(
        status,
        page(
            "出错了",
            Nav::None,
            shell,
            html! { div.flash.err { (message) } p { a href="/console" { "返回看板" } } },
        ),
    )
}

/// China time, to the minute.
pub fn time(t: DateTime<Utc>) -> String {
    crate::ticket::export::fmt_time(t)
}

/// `3天5小时` / `40分钟`: a span for humans.
pub fn span(secs: i64) -> String {
    let s = secs.abs();
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if d > 0 {
        format!("{d}天{h}小时")
    } else if h > 0 {
        format!("{h}小时{m}分钟")
    } else {
        format!("{m}分钟")
    }
}

/// A number with a change against the previous period: `12（+3）`.
pub fn delta(now: f64, before: f64, digits: usize) -> Markup {
    let d = now - before;
    let sign = if d > 0.0 { "+" } else { "" };
    html! {
        span.d { "上期 " (format!("{before:.digits$}")) "，" (sign) (format!("{d:.digits$}")) }
    }
}

/// Inline raw SVG.
pub fn svg(s: String) -> Markup {
    PreEscaped(s)
}
