//! Login, logout, the board, one ticket, its actions and the board's export.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::html;
use serde::Deserialize;

use super::layout::{error_page, page, respond, span, time, Nav, Shell};
use super::query::{board_tickets, is_overdue, urlencode, BoardQuery, StatusFilter, PAGE_SIZE};
use super::scope::{community_name, Scope};
use super::session::{cookie, is_https, set_cookie, LOGIN_COOKIE, SESSION_COOKIE};
use super::users::{dummy_hash, random_token, verify_password, StaffRole, User};
use crate::server::AppState;
use crate::service::{StaffActionError, StaffActor};
use crate::ticket::{Status, Ticket, TicketId};

/// The logged-in user of one request, with their scope resolved against the current org.
pub struct Viewer {
    pub user: User,
    pub csrf: String,
    pub scope: Scope,
    scope_label: String,
}

impl Viewer {
    pub fn shell(&self) -> Shell<'_> {
        Shell {
            user: &self.user.name,
            role: self.user.role,
            scope: &self.scope_label,
            csrf: &self.csrf,
        }
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), Response> {
        if crate::platform::signature::equal(sent.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(error_page(
                StatusCode::FORBIDDEN,
                "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试。",
                Some(&self.shell()),
            ))
        }
    }
}

/// The viewer, or a redirect to the login page.
pub fn viewer(state: &AppState, headers: &HeaderMap) -> Result<Viewer, Response> {
    let to_login = || Redirect::to("/console/login").into_response();
    let id = cookie(headers, SESSION_COOKIE).ok_or_else(to_login)?;
    let s = state.console.sessions.get(id).ok_or_else(to_login)?;
    let users = state.console.users();
    let Some(user) = users.get(&s.user).cloned() else {
        state.console.sessions.end(id);
        return Err(to_login());
    };
    let org = state.service.org();
    let scope = Scope::of(&user, &org);
    let scope_label = scope.label(&org);
    Ok(Viewer {
        user,
        csrf: s.csrf,
        scope,
        scope_label,
    })
}

macro_rules! viewer_or_return {
    ($state:expr, $headers:expr) => {
        match viewer(&$state, &$headers) {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}
pub(crate) use viewer_or_return;

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    error: String,
}

fn login_page(status: StatusCode, message: Option<&str>, https: bool) -> Response {
    let token = random_token(16);
    let markup = page(
        "登录",
        Nav::None,
        None,
        html! {
            form.login method="post" action="/console/login" {
                h1 { "工单 · 工作人员登录" }
                @if let Some(m) = message { div.flash.err { (m) } }
                input type="hidden" name="csrf" value=(token);
                label { "用户名" input name="name" autocomplete="username" required autofocus; }
                label { "密码" input name="password" type="password" autocomplete="current-password" required; }
                button.primary type="submit" { "登录" }
                p.mute { "账号由管理员用 " code { "gongdan users add" } " 开通。" }
            }
        },
    );
    let mut r = respond(status, markup);
    if let Ok(v) = set_cookie(LOGIN_COOKIE, &token, https, Some(600)).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub async fn login_form(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let message = (!q.error.is_empty()).then_some("请重新登录。");
    login_page(StatusCode::OK, message, is_https(&headers))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let https = is_https(&headers);
    let Ok(Form(form)) = form else {
        return login_page(StatusCode::BAD_REQUEST, Some("表单不完整。"), https);
    };
    // Double-submit: the form's token must equal the cookie set with the form.
    let sent_cookie = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if sent_cookie.is_empty()
        || !crate::platform::signature::equal(sent_cookie.as_bytes(), form.csrf.as_bytes())
    {
        return login_page(
            StatusCode::FORBIDDEN,
            Some("登录表单已过期（CSRF 校验失败），请重试。"),
            https,
        );
    }
    let account = format!("user:{}", form.name.trim());
    let client = format!(
        "ip:{}",
        peer.map_or("-".into(), |p| p.0 .0.ip().to_string())
    );
    let keys = [account.as_str(), client.as_str()];
    if let Some(wait) = state.console.sessions.locked_out(&keys) {
        return login_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!(
                "失败次数过多，请 {} 后再试。",
                span(wait.as_secs() as i64 + 60)
            )),
            https,
        );
    }
    let users = state.console.users();
    let user = users.get(form.name.trim());
    // Verify against a dummy hash for unknown names: same time, no hint.
    let hash = user.map_or(dummy_hash(), |u| u.password_hash.as_str());
    let password = form.password.clone();
    let hash = hash.to_string();
    let good = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| good) else {
        state.console.sessions.record_failure(&keys);
        tracing::info!(account = %form.name.trim(), "console login refused: wrong name or password");
        return login_page(StatusCode::UNAUTHORIZED, Some("用户名或密码错误。"), https);
    };
    // A chat identity that is not (or no longer) staff cannot log in.
    if let Some(key) = &user.platform_id {
        if !state.service.is_staff(key) {
            state.console.sessions.record_failure(&keys);
            tracing::warn!(account = %user.name, "console login refused: chat identity is not staff");
            return login_page(
                StatusCode::FORBIDDEN,
                Some("该账号绑定的聊天身份不是工作人员，不能登录。"),
                https,
            );
        }
    }
    state.console.sessions.clear_failures(&account);
    let id = state.console.sessions.create(&user.name, user.role);
    tracing::info!(account = %user.name, "console login");
    let mut r = Redirect::to("/console").into_response();
    for c in [
        set_cookie(SESSION_COOKIE, &id, https, None),
        set_cookie(LOGIN_COOKIE, "", https, Some(0)),
    ] {
        if let Ok(v) = c.parse() {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let v = viewer_or_return!(state, headers);
    if let Err(r) = v.check_csrf(&form.csrf) {
        return r;
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        state.console.sessions.end(id);
    }
    let mut r = Redirect::to("/console/login").into_response();
    if let Ok(c) = set_cookie(SESSION_COOKIE, "", is_https(&headers), Some(0)).parse() {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// One board page of the viewer's scope and the total, or an error page.
async fn board_page(
    state: &AppState,
    v: &Viewer,
    q: &BoardQuery,
) -> Result<(usize, Vec<Ticket>), Response> {
    if let Err(e) = q.status_filter() {
        return Err(error_page(StatusCode::BAD_REQUEST, &e, Some(&v.shell())));
    }
    let (service, scope, q) = (state.service.clone(), v.scope.clone(), q.clone());
    let now = service.clock().now();
    let found = tokio::task::spawn_blocking(move || {
        super::query::board_page(&service.store(), &service.org(), &scope, &q, now)
    })
    .await;
    match found {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "console board read failed");
            Err(error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "暂时读不到工单，请稍后再试。",
                Some(&v.shell()),
            ))
        }
        Err(_) => Err(error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "内部错误",
            Some(&v.shell()),
        )),
    }
}

/// The filtered tickets of the viewer's scope, or an error page.
async fn filtered(state: &AppState, v: &Viewer, q: &BoardQuery) -> Result<Vec<Ticket>, Response> {
    if let Err(e) = q.status_filter() {
        return Err(error_page(StatusCode::BAD_REQUEST, &e, Some(&v.shell())));
    }
    let (service, scope, q) = (state.service.clone(), v.scope.clone(), q.clone());
    let now = service.clock().now();
    let found = tokio::task::spawn_blocking(move || {
        board_tickets(&service.store(), &service.org(), &scope, &q, now)
    })
    .await;
    match found {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "console board read failed");
            Err(error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "暂时读不到工单，请稍后再试。",
                Some(&v.shell()),
            ))
        }
        Err(_) => Err(error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "内部错误",
            Some(&v.shell()),
        )),
    }
}

pub async fn board(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<BoardQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let v = viewer_or_return!(state, headers);
    let Ok(Query(q)) = q else {
        return error_page(StatusCode::BAD_REQUEST, "筛选条件有误。", Some(&v.shell()));
    };
    let (total, shown) = match board_page(&state, &v, &q).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let org = state.service.org();
    let rules = state.service.rules();
    let now = state.service.clock().now();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page_no = q.page().min(pages);
    let communities: Vec<String> = org
        .units
        .iter()
        .enumerate()
        .filter(|(i, u)| !u.groups.is_empty() && v.scope.unit().is_none_or(|s| org.within(*i, s)))
        .map(|(_, u)| u.name.clone())
        .collect();
    let status_sel = q.status_filter().unwrap_or(StatusFilter::Active);
    let qs = q.to_query_string();
    let body = html! {
        h1 { "工单看板" }
        form.filters method="get" action="/console" {
            label { "状态" select name="status" {
                option value="active" selected[status_sel == StatusFilter::Active] { "在办（全部未结）" }
                option value="all" selected[status_sel == StatusFilter::All] { "全部" }
                @for s in Status::ALL {
                    option value=(s.as_str()) selected[status_sel == StatusFilter::One(s)] { (s.label()) }
                }
            } }
            label { "类别" select name="category" {
                option value="" { "全部" }
                @for c in rules.categories() {
                    option value=(c.id) selected[q.category == c.id] { (c.name) }
                }
            } }
            @if !communities.is_empty() {
                label { "社区" select name="community" {
                    option value="" { "全部" }
                    @for c in &communities { option value=(c) selected[&q.community == c] { (c) } }
                } }
            }
            label { "负责人" input name="owner" value=(q.owner) placeholder="姓名，none=待认领" size="10"; }
            label { "超时" select name="overdue" {
                option value="" { "不限" }
                option value="1" selected[!q.overdue.is_empty()] { "只看超时" }
            } }
            label { "搜索" input name="q" value=(q.q) placeholder="内容、位置或工单号" size="16"; }
            label { "排序" select name="sort" {
                option value="new" selected[q.sort.is_empty() || q.sort == "new"] { "最新受理" }
                option value="old" selected[q.sort == "old"] { "最早受理" }
                option value="due" selected[q.sort == "due"] { "最先到期" }
                option value="updated" selected[q.sort == "updated"] { "最近更新" }
            } }
            button.primary type="submit" { "筛选" }
            a href={ "/console/export.csv?" (qs) } { "导出筛选结果（CSV）" }
        }
        p.mute { "共 " (total) " 件，第 " (page_no) "/" (pages) " 页" }
        table {
            thead { tr {
                th { "编号" } th { "状态" } th { "类别" } th { "社区" } th { "位置" }
                th { "内容" } th { "负责人" } th { "受理时间" } th { "时限" }
            } }
            tbody {
                @for t in &shown {
                    tr {
                        td { a href={ "/console/tickets/" (t.id.get()) } { (t.id) } }
                        td { (t.status.label()) }
                        td { (t.category_name) }
                        td { (community_name(&org, t)) }
                        td { (t.location.as_deref().unwrap_or("")) }
                        td { (preview(&t.text, 40)) }
                        td { (t.officer.as_ref().map_or("待认领", |p| p.display())) }
                        td.num { (time(t.created_at)) }
                        td { (deadline(t, now)) }
                    }
                }
                @if shown.is_empty() { tr { td colspan="9" .mute { "没有符合条件的工单" } } }
            }
        }
        div.pager {
            @if page_no > 1 { a href={ "/console?" (qs) "&page=" (page_no - 1) } { "‹ 上一页" } }
            @if page_no < pages { a href={ "/console?" (qs) "&page=" (page_no + 1) } { "下一页 ›" } }
        }
    };
    respond(
        StatusCode::OK,
        page("工单看板", Nav::Board, Some(&v.shell()), body),
    )
}

fn preview(text: &str, chars: usize) -> String {
    let mut s: String = text.chars().take(chars).collect();
    if text.chars().count() > chars {
        s.push('…');
    }
    s
}

/// `剩 3天2小时` or `超时 5小时`, or the end state.
fn deadline(t: &Ticket, now: chrono::DateTime<Utc>) -> maud::Markup {
    if !t.status.is_active() {
        return html! { span.mute { "—" } };
    }
    let left = (t.due_at - now).num_seconds();
    if is_overdue(t, now) {
        html! { span.late { "超时 " (span(left)) } }
    } else {
        html! { span { "剩 " (span(left)) } }
    }
}

pub async fn export_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<Query<BoardQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let v = viewer_or_return!(state, headers);
    let Ok(Query(q)) = q else {
        return error_page(StatusCode::BAD_REQUEST, "筛选条件有误。", Some(&v.shell()));
    };
    let tickets = match filtered(&state, &v, &q).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let mut buf = Vec::new();
    if crate::ticket::export::write_csv(&tickets, &mut buf).is_err() {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "导出失败",
            Some(&v.shell()),
        );
    }
    let name = format!("工单导出-{}.csv", Utc::now().format("%Y%m%d"));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"export.csv\"; filename*=UTF-8''{}",
                    urlencode(&name)
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        buf,
    )
        .into_response()
}

/// The ticket if it exists and is in the viewer's scope; otherwise a 404 (not a 403, which would confirm it exists).
async fn scoped_ticket(
    state: &AppState,
    v: &Viewer,
    id: &str,
) -> Result<(Ticket, Vec<crate::ticket::Event>), Response> {
    let not_found = || {
        error_page(
            StatusCode::NOT_FOUND,
            "没有这件工单，或不在您的范围内。",
            Some(&v.shell()),
        )
    };
    let id = TicketId::parse(id).map_err(|_| not_found())?;
    let service = state.service.clone();
    let found = tokio::task::spawn_blocking(move || {
        let store = service.store();
        Ok::<_, crate::ticket::StoreError>((store.get(id)?, store.history(id)?))
    })
    .await;
    match found {
        Ok(Ok((Some(t), h))) if v.scope.admits(&state.service.org(), &t) => Ok((t, h)),
        Ok(Ok(_)) => Err(not_found()),
        _ => Err(error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "暂时读不到工单，请稍后再试。",
            Some(&v.shell()),
        )),
    }
}

/// The verbs the ticket page offers, as chat commands.
const VERBS: [(&str, &str); 12] = [
    ("认领", "认领（无需说明）"),
    ("处理", "处置进展"),
    ("办结", "办结（处理结果）"),
    ("派遣", "派遣（@处理人）"),
    ("转办", "转办（部门）"),
    ("挂账", "挂账（原因）"),
    ("驳回", "驳回（原因）"),
    ("重开", "重开（原因）"),
    ("改类", "改类（类别）"),
    ("备注", "备注"),
    ("复查", "复查（天数）"),
    ("回访", "回访（满意|不满意 说明）"),
];

#[derive(Deserialize, Default)]
pub struct TicketQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    error: String,
}

pub async fn ticket_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<TicketQuery>,
) -> Response {
    let v = viewer_or_return!(state, headers);
    let (t, history) = match scoped_ticket(&state, &v, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let org = state.service.org();
    let now = state.service.clock().now();
    let body = html! {
        div.no-print {
            @if !q.done.is_empty() { div.flash.info { "已执行，群内已收到：" (q.done) } }
            @if !q.error.is_empty() { div.flash.err { (q.error) } }
        }
        h1 { "问题处办单 " (t.id) }
        div.panel {
            dl.facts {
                dt { "状态" } dd { (t.status.label()) @if let Some(r) = &t.status_reason { "（" (r) "）" } }
                dt { "类别" } dd { (t.category_name) "（" (t.department) "）" }
                dt { "优先级" } dd { (t.priority.label()) }
                dt { "社区 / 群" } dd { (community_name(&org, &t)) " · " (t.platform) ":" (t.group_name.as_deref().unwrap_or(&t.group_id)) }
                dt { "位置" } dd { (t.location.as_deref().unwrap_or("未注明")) }
                dt { "反映内容" } dd { (t.text) }
                dt { "反映人" } dd { (t.reporter.display()) " " span.mute { (t.reporter.id) } }
                dt { "附议" } dd {
                    @if t.supporters.is_empty() { "无" }
                    @for p in &t.supporters { (p.display()) " " span.mute { (p.id) } "；" }
                }
                dt { "负责人" } dd { (t.officer.as_ref().map_or("待认领", |p| p.display())) }
                dt { "受理时间" } dd { (time(t.created_at)) }
                dt { "办理时限" } dd { (t.sla_hours) " 小时，" (time(t.due_at)) " 前 " (deadline(&t, now))
                    @if t.sla.escalations > 0 { " · 已升级 " (t.sla.escalations) " 次" } }
                dt { "办结时间" } dd { (t.resolved_at.map(time).unwrap_or_default()) }
                dt { "处理结果" } dd { (t.resolution.as_deref().unwrap_or("")) }
                dt { "评价" } dd { (t.rating.map(|r| format!("{r} 分")).unwrap_or_default()) }
                dt { "照片" } dd {
                    @if t.attachments.is_empty() { "无" }
                    @for a in &t.attachments {
                        @if a.starts_with("http://") || a.starts_with("https://") {
                            a href=(a) rel="noreferrer" target="_blank" { "查看" } " "
                        } @else { code { (a) } " " }
                    }
                }
            }
        }
        h2 { "办理经过" }
        table {
            thead { tr { th { "时间" } th { "环节" } th { "经办" } th { "状态" } th { "说明" } } }
            tbody {
                @for e in &history {
                    tr {
                        td.num { (time(e.at)) }
                        td { (e.kind.label()) }
                        td { (e.actor_name.as_deref().unwrap_or(&e.actor)) }
                        td { @if let (Some(f), Some(to)) = (e.from, e.to) { (f.label()) " → " (to.label()) } }
                        td { (e.note.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        div.print-only { p { "经办人签字：__________　　日期：__________" } }
        div.panel.no-print {
            h2 { "办理（与群内命令相同，群里会收到通知）" }
            form method="post" action={ "/console/tickets/" (t.id.get()) "/action" } data-confirm="确定执行？此操作会通知群内居民。" {
                input type="hidden" name="csrf" value=(v.csrf);
                select name="verb" { @for (verb, label) in VERBS { option value=(verb) { (label) } } }
                " "
                input name="note" size="50" placeholder="说明（办结写处理结果，驳回写原因…）";
                " "
                button.primary type="submit" { "执行" }
            }
            p { button type="button" data-print="1" { "打印处办单" } " " a href="/console" { "返回看板" } }
        }
    };
    respond(
        StatusCode::OK,
        page(
            &format!("工单 {}", t.id),
            Nav::Board,
            Some(&v.shell()),
            body,
        ),
    )
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    verb: String,
    #[serde(default)]
    note: String,
}

pub async fn ticket_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<ActionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let v = viewer_or_return!(state, headers);
    let Ok(Form(form)) = form else {
        return error_page(StatusCode::BAD_REQUEST, "表单不完整。", Some(&v.shell()));
    };
    if let Err(r) = v.check_csrf(&form.csrf) {
        return r;
    }
    let (t, _) = match scoped_ticket(&state, &v, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let back = |key: &str, text: &str| {
        Redirect::to(&format!(
            "/console/tickets/{}?{key}={}",
            t.id.get(),
            urlencode(text)
        ))
        .into_response()
    };
    if !VERBS.iter().any(|(verb, _)| *verb == form.verb) {
        return back("error", &format!("未知操作 {:?}", form.verb));
    }
    let text = format!("#{} {} {}", form.verb, t.id.get(), form.note.trim());
    let actor = StaffActor {
        name: v.user.name.clone(),
        platform_id: v.user.platform_id.clone(),
        admin: v.user.role == StaffRole::Admin,
    };
    match state.service.act_as_staff(&t, &actor, text.trim()).await {
        Ok(done) => {
            tracing::info!(account = %v.user.name, ticket = %t.id, verb = %form.verb, "console action");
            let said: Vec<&str> = done.replies.iter().map(|r| r.text.as_str()).collect();
            back("done", &said.join(" / "))
        }
        Err(StaffActionError::Invalid(why)) => back("error", &why),
        Err(StaffActionError::Service(e)) => {
            tracing::error!(error = %e, "console action failed");
            back("error", "暂时无法保存，请稍后再试。")
        }
    }
}
