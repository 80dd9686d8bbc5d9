//! The dashboard (figures against the previous period, trend, breakdowns, hotspots) and the monthly xlsx.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use maud::html;
use serde::Deserialize;

use super::chart;
use super::handlers::{viewer, viewer_or_return, Viewer};
use super::layout::{delta, error_page, page, respond, svg, Nav};
use super::query::{all_in_scope, urlencode};
use crate::report::{self, MonthlyReport, Period};
use crate::server::AppState;
use crate::ticket::{InquiryRecord, Ticket};

#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    /// `2026-11`: a calendar month.
    #[serde(default)]
    month: String,
    /// `2026-11-01` .. `2026-11-30`, both included.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

impl PeriodQuery {
    fn period(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Period, String> {
        if !self.month.trim().is_empty() {
            return Period::month(&self.month);
        }
        let date = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| format!("日期 {s:?} 应为 2026-11-01 的形式"))
        };
        match (self.from.trim().is_empty(), self.to.trim().is_empty()) {
            (true, true) => Ok(Period::month_to_date(now)),
            (false, false) => Period::days(date(&self.from)?, date(&self.to)?),
            _ => Err("请同时填写开始和结束日期".into()),
        }
    }
}

/// The scope's tickets and 咨询 records, read off the async runtime.
async fn scope_data(
    state: &AppState,
    v: &Viewer,
) -> Result<(Vec<Ticket>, Vec<InquiryRecord>), Response> {
    let (service, scope) = (state.service.clone(), v.scope.clone());
    let read = tokio::task::spawn_blocking(move || {
        let store = service.store();
        let org = service.org();
        Ok::<_, crate::ticket::StoreError>((
            all_in_scope(&store, &org, &scope)?,
            store.inquiries()?,
        ))
    })
    .await;
    match read {
        Ok(Ok(x)) => Ok(x),
        _ => Err(error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "暂时读不到工单，请稍后再试。",
            Some(&v.shell()),
        )),
    }
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let v = viewer_or_return!(state, headers);
    let now = state.service.clock().now();
    let period = match q.period(now) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e, Some(&v.shell())),
    };
    let (tickets, inquiries) = match scope_data(&state, &v).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let org = state.service.org();
    let label = v.shell().scope.to_string();
    let r = MonthlyReport::build(
        &org,
        &tickets,
        &inquiries,
        v.scope.unit(),
        &label,
        period.clone(),
    );
    let (f, p) = (&r.summary, &r.previous);
    let daily = report::daily(&tickets, &period);
    let days: Vec<NaiveDate> = daily.iter().map(|d| d.0).collect();
    let trend = chart::trend(
        &days,
        &[
            ("受理", "#1f5fbf", daily.iter().map(|d| d.1).collect()),
            ("办结", "#207a3c", daily.iter().map(|d| d.2).collect()),
        ],
    );
    let categories = report::by_category(&tickets, &period);
    let hotspots = report::hotspots(&org, &tickets, &period, 2);
    let owners: Vec<(String, usize)> = {
        let mut v: Vec<(String, usize)> = f
            .open_by_owner
            .iter()
            .map(|(k, n)| (k.clone(), *n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    let month_param = period.first_day().format("%Y-%m").to_string();
    let rate = |x: Option<f64>| x.map_or("—".to_string(), |r| format!("{r:.1}%"));
    let score = |x: Option<f64>| x.map_or("—".to_string(), |r| format!("{r:.2}"));
    let body = html! {
        h1 { "统计分析 · " (label) }
        form.filters method="get" action="/console/dashboard" {
            label { "开始" input type="date" name="from" value=(period.first_day()); }
            label { "结束" input type="date" name="to" value=(period.dates().last().map(|d| d.to_string()).unwrap_or_default()); }
            button.primary type="submit" { "查看" }
            a href={ "/console/report.xlsx?month=" (urlencode(&month_param)) } { "下载 " (month_param) " 月报（xlsx）" }
        }
        p.mute { (period.label) "，对比" (period.previous().label) }
        div.cards {
            div.card { div { "收到反映" } div.v { (f.received) } (delta(f.received as f64, p.received as f64, 0)) }
            div.card { div { "办结" } div.v { (f.resolved) } (delta(f.resolved as f64, p.resolved as f64, 0)) }
            div.card { div { "按时办结率" } div.v { (rate(f.on_time_rate())) }
                @if let (Some(a), Some(b)) = (f.on_time_rate(), p.on_time_rate()) { (delta(a, b, 1)) } }
            div.card { div { "超时未办结" } div.v.late[f.overdue > 0] { (f.overdue) } (delta(f.overdue as f64, p.overdue as f64, 0)) }
            div.card { div { "满意度（1-5）" } div.v { (score(f.satisfaction)) }
                @if let (Some(a), Some(b)) = (f.satisfaction, p.satisfaction) { (delta(a, b, 2)) } }
            div.card { div { "解答问询" } div.v { (f.answered) } (delta(f.answered as f64, p.answered as f64, 0)) }
        }
        div.panel { h2 { "每日受理与办结" } (svg(trend)) }
        div.grid2 {
            div.panel {
                h2 { "按类别（受理件数）" }
                @if categories.is_empty() { p.mute { "本期无工单" } } @else { (svg(chart::bars(&categories, "#1f5fbf"))) }
            }
            div.panel {
                h2 { "按社区" }
                table {
                    thead { tr { th { "社区" } th.num { "收到" } th.num { "办结" } th.num { "按时率" } th.num { "超时" } } }
                    tbody { @for (name, c) in &r.communities {
                        tr { td { (name) } td.num { (c.received) } td.num { (c.resolved) } td.num { (rate(c.on_time_rate())) } td.num.late[c.overdue > 0] { (c.overdue) } }
                    } }
                }
                h2 { "在办工单按负责人" }
                table {
                    thead { tr { th { "负责人" } th.num { "在办" } } }
                    tbody { @for (who, n) in &owners { tr { td { (who) } td.num { (n) } } } }
                }
            }
        }
        div.panel {
            h2 { "热点问题（同一地点或社区反映 2 件以上）" }
            table {
                thead { tr { th { "社区" } th { "位置" } th { "主要问题" } th.num { "工单" } th.num { "反映人次" } th.num { "重复率" } } }
                tbody {
                    @for h in hotspots.iter().take(20) {
                        tr {
                            td { (h.community) }
                            td { (h.location.as_deref().unwrap_or("（全社区）")) }
                            td { (h.categories.iter().take(3).cloned().collect::<Vec<_>>().join("、")) }
                            td.num { (h.tickets) } td.num { (h.reports) } td.num { (format!("{:.0}%", h.repeat_rate)) }
                        }
                    }
                    @if hotspots.is_empty() { tr { td colspan="6" .mute { "暂无聚集" } } }
                }
            }
            p.mute { "重复率：追加反映与复发重开占反映人次的比例。" }
        }
    };
    respond(
        StatusCode::OK,
        page("统计分析", Nav::Dashboard, Some(&v.shell()), body),
    )
}

pub async fn report_xlsx(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let v = viewer_or_return!(state, headers);
    let now = state.service.clock().now();
    let period = match q.period(now) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e, Some(&v.shell())),
    };
    let (tickets, inquiries) = match scope_data(&state, &v).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let org = state.service.org();
    let label = v.shell().scope.to_string();
    let r = MonthlyReport::build(&org, &tickets, &inquiries, v.scope.unit(), &label, period);
    match report::xlsx::write(&r) {
        Ok(bytes) => {
            let name = format!("月报-{}.xlsx", r.period.label);
            (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_string(),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"report.xlsx\"; filename*=UTF-8''{}",
                            urlencode(&name)
                        ),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "monthly report failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "生成月报失败",
                Some(&v.shell()),
            )
        }
    }
}
