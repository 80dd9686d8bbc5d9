//! The rules page: categories and examples, live eval figures, recent corrections, and a "try a message" box.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Duration;
use maud::html;
use serde::Deserialize;

use super::handlers::{viewer, viewer_or_return};
use super::layout::{error_page, page, respond, time, Nav};
use crate::classify::classify;
use crate::eval::{evaluate, parse_tsv, Report, Sample};
use crate::server::AppState;
use crate::ticket::correction::NOT_A_COMPLAINT;

#[derive(Deserialize, Default)]
pub struct RulesQuery {
    #[serde(default, rename = "try")]
    try_text: String,
}

/// How many days of corrections the page lists and measures.
const CORRECTION_DAYS: i64 = 90;

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<RulesQuery>,
) -> Response {
    let v = viewer_or_return!(state, headers);
    let rules = state.service.rules();
    let since = state.service.clock().now() - Duration::days(CORRECTION_DAYS);
    let service = state.service.clone();
    let try_text: String = q.try_text.chars().take(2000).collect();
    let computed = tokio::task::spawn_blocking(move || {
        let rules = service.rules();
        // The corpus files as `gongdan eval` reads them; the model was trained
        // on them, so their figures are an upper bound.
        let mut sets: Vec<(String, Report)> = Vec::new();
        let dir = rules.dir().join("corpus");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
            .collect();
        files.sort();
        for f in files {
            if let Ok(text) = std::fs::read_to_string(&f) {
                if let Ok(samples) = parse_tsv(&text, &rules) {
                    let name = f
                        .file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_default();
                    sets.push((
                        format!("语料 {name}（已参与训练）"),
                        evaluate(&rules, &samples),
                    ));
                }
            }
        }
        let corrections = service.store().corrections(Some(since)).unwrap_or_default();
        let samples: Vec<Sample> = corrections
            .iter()
            .filter(|c| c.label == NOT_A_COMPLAINT || rules.category(&c.label).is_some())
            .enumerate()
            .map(|(i, c)| Sample {
                line: i + 1,
                labels: if c.label == NOT_A_COMPLAINT {
                    Vec::new()
                } else {
                    vec![c.label.clone()]
                },
                text: c.text.clone(),
            })
            .collect();
        if !samples.is_empty() {
            sets.push((
                format!("近 {CORRECTION_DAYS} 天人工纠正的真实消息"),
                evaluate(&rules, &samples),
            ));
        }
        let tried = (!try_text.trim().is_empty()).then(|| classify(&rules, &try_text));
        (sets, corrections, tried)
    })
    .await;
    let Ok((sets, mut corrections, tried)) = computed else {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "内部错误",
            Some(&v.shell()),
        );
    };
    corrections.sort_by_key(|c| std::cmp::Reverse(c.at));
    let body = html! {
        h1 { "分类规则" }
        div.panel {
            h2 { "试一条消息" }
            form method="get" action="/console/rules" {
                textarea name="try" rows="2" cols="80" placeholder="例：小区北门天天有人摆摊卖菜，堵得车都过不去" { (q.try_text) }
                " " button.primary type="submit" { "分类" }
            }
            @if let Some(c) = &tried {
                @match &c.category {
                    Some(id) => p { "判定为投诉：" strong { (rules.category(id).map_or(id.as_str(), |c| c.name.as_str())) }
                        "，得分 " (format!("{:.1}", c.score)) "，置信度 " (format!("{:.2}", c.confidence))
                        @if let Some(l) = &c.location { "，位置：" (l) } }
                    None => p { "判定为" strong { "非投诉" } "（置信度 " (format!("{:.2}", c.confidence)) "）" }
                }
                table {
                    thead { tr { th.num { "分值" } th { "依据" } th { "内容" } th { "类别" } } }
                    tbody { @for m in &c.matches {
                        tr { td.num { (format!("{:+.1}", m.weight)) } td { (m.kind) } td { (m.term) } td { (m.category.as_deref().unwrap_or("")) } }
                    } }
                }
                p.mute { "分词：" (c.tokens.join(" / ")) }
            }
        }
        div.panel {
            h2 { "当前规则的评测" }
            table {
                thead { tr { th { "数据" } th.num { "条数" } th.num { "精确率" } th.num { "召回率" } th.num { "类别准确率" } } }
                tbody { @for (name, r) in &sets {
                    tr { td { (name) } td.num { (r.total) } td.num { (format!("{:.3}", r.precision())) }
                         td.num { (format!("{:.3}", r.recall())) } td.num { (format!("{:.3}", r.category_accuracy())) } }
                } }
            }
        }
        div.panel {
            h2 { "近期纠正（" (corrections.len()) "）" }
            table {
                thead { tr { th { "时间" } th { "工单" } th { "消息" } th { "原类别" } th { "纠正为" } th { "纠正人" } } }
                tbody { @for c in corrections.iter().take(50) {
                    tr { td.num { (time(c.at)) } td { (c.ticket.map(|t| format!("#{t}")).unwrap_or_default()) } td { (c.text) }
                         td { (c.from.as_deref().unwrap_or("")) } td { (c.label_name) } td { (c.actor) } }
                } }
            }
        }
        h2 { "类别（" (rules.categories().len()) "）" }
        @for c in rules.categories() {
            details.panel {
                summary { strong { (c.name) } " · " (c.id) " · " (c.department) " · 时限 " (c.sla_hours) " 小时 · 阈值 " (c.threshold)
                    @if let Some(code) = &c.standard_code { " · 标准 " (code) } }
                p { (c.description) }
                p.mute { "例句（" (c.examples.len()) "）" }
                ul { @for e in c.examples.iter().take(30) { li { (e.text) } } }
                @if !c.counter_examples.is_empty() {
                    p.mute { "反例（" (c.counter_examples.len()) "）" }
                    ul { @for e in c.counter_examples.iter().take(15) { li { (e.text) } } }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        page("分类规则", Nav::Rules, Some(&v.shell()), body),
    )
}
