//! The staff console over HTTP, black-box: login, CSRF, scope, actions reaching the group, the xlsx.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::org::{org_app, wait_text, Org};
use gongdan::console::users::{hash_password, users_path, StaffRole, User, Users};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

const ORG: &str = r#"
[city]
name = "示例市"
leaders = [{ id = "generic:mayor", name = "陈市长" }]

[[district]]
name = "东城区"

[[street]]
name = "和平街道"
district = "东城区"
leaders = [{ id = "generic:zhou", name = "周队长" }]

[[community]]
name = "阳光社区"
street = "和平街道"
groups = ["generic:g1"]
officers = [{ id = "generic:li", name = "李明" }]

[[community]]
name = "明月社区"
street = "和平街道"
groups = ["generic:g2"]
officers = [{ id = "generic:sun", name = "孙强" }]
"#;

const PASSWORD: &str = "correct-horse-9";

fn add_user(
    org: &Org,
    name: &str,
    role: StaffRole,
    platform_id: Option<&str>,
    scope: Option<&str>,
) {
    let path = users_path(&org.config.storage.data_dir);
    let mut users = Users::load(&path).unwrap();
    users.upsert(User {
        name: name.into(),
        role,
        platform_id: platform_id.map(String::from),
        scope: scope.map(String::from),
        password_hash: hash_password(PASSWORD).unwrap(),
        token_hashes: Vec::new(),
    });
    users.save(&path).unwrap();
}

/// A browser-like client that keeps cookies by hand (no redirects followed).
struct Browser {
    client: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(org: &Org) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: org.app.url(""),
            cookies: Vec::new(),
        }
    }

    fn keep(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !v.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), val.to_string()));
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(&resp);
        let status = resp.status();
        (status, resp.text().await.unwrap())
    }

    async fn get_bytes(&mut self, path: &str) -> (StatusCode, Vec<u8>) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.bytes().await.unwrap().to_vec())
    }

    async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, String, Option<String>) {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&resp);
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        (status, resp.text().await.unwrap(), location)
    }

    /// The value of the first `name="csrf"` hidden field on a page.
    fn csrf(page: &str) -> String {
        let at = page.find(r#"name="csrf" value=""#).expect("a csrf field");
        let rest = &page[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    async fn login(&mut self, name: &str, password: &str) -> (StatusCode, String, Option<String>) {
        let (_, form) = self.get("/console/login").await;
        let csrf = Browser::csrf(&form);
        self.post(
            "/console/login",
            &[("name", name), ("password", password), ("csrf", &csrf)],
        )
        .await
    }
}

async fn complaint(org: &Org, group: &str, id: &str, text: &str) -> u64 {
    let (status, body) = org.app.say_in(group, id, "resident1", text).await;
    assert_eq!(status, 200, "{body}");
    body["ticket"].as_u64().expect("a ticket")
}

#[tokio::test]
async fn login_logout_and_wrong_password() {
    let org = org_app(ORG, |_| {}).await;
    add_user(&org, "李明", StaffRole::Officer, Some("generic:li"), None);
    let mut b = Browser::new(&org);

    let (status, _) = b.get("/console").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "not logged in: sent to the login page"
    );

    let (status, body, _) = b.login("李明", "wrong-password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("用户名或密码错误"));
    let (status, body, _) = b.login("nobody", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "unknown names get the same answer"
    );
    assert!(body.contains("用户名或密码错误"));

    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let form = client
        .get(org.app.url("/console/login"))
        .send()
        .await
        .unwrap();
    let login_cookie = form.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Strict"));

    let (status, _, location) = b.login("李明", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console"));
    let session = b
        .cookies
        .iter()
        .find(|(k, _)| k == "gongdan_session")
        .cloned();
    assert!(session.is_some(), "a session cookie: {:?}", b.cookies);
    let (status, page) = b.get("/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("工单看板") && page.contains("李明"));

    let csrf = Browser::csrf(&page);
    let (status, _, location) = b.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/login"));
    // The old cookie no longer works, even if a browser kept it.
    b.cookies.push(session.unwrap());
    let (status, _) = b.get("/console").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn session_cookie_flags_and_failures_are_rate_limited() {
    let org = org_app(ORG, |_| {}).await;
    add_user(&org, "王站长", StaffRole::Leader, None, Some("阳光社区"));
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let mut b = Browser::new(&org);
    let (_, form) = b.get("/console/login").await;
    let csrf = Browser::csrf(&form);
    let resp = client
        .post(org.app.url("/console/login"))
        .header("cookie", b.cookie_header())
        .header("x-forwarded-proto", "https")
        .form(&[
            ("name", "王站长"),
            ("password", PASSWORD),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let set: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("gongdan_session="))
        .expect("session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/console"] {
        assert!(session.contains(flag), "{flag} in {session}");
    }

    let mut b = Browser::new(&org);
    for _ in 0..5 {
        let (status, _, _) = b.login("王站长", "guess-guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body, _) = b.login("王站长", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "locked out even with the right password"
    );
    assert!(body.contains("失败次数过多"));
}

#[tokio::test]
async fn csrf_is_refused() {
    let org = org_app(ORG, |_| {}).await;
    add_user(&org, "李明", StaffRole::Officer, Some("generic:li"), None);
    let id = complaint(
        &org,
        "g1",
        "m1",
        "5号楼楼道里堆满了旧家具和纸箱，消防通道都堵了",
    )
    .await;

    // A login form posted without the cookie set with it (a cross-site post).
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let resp = client
        .post(org.app.url("/console/login"))
        .form(&[("name", "李明"), ("password", PASSWORD), ("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(!resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("gongdan_session=")));

    let mut b = Browser::new(&org);
    let (status, _, _) = b.login("李明", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let tid = gongdan::ticket::TicketId::new(id).unwrap();
    let before = org.app.service.store().history(tid).unwrap().len();
    let path = format!("/console/tickets/{id}/action");
    let (status, body, _) = b
        .post(
            &path,
            &[("csrf", "forged"), ("verb", "办结"), ("note", "已清理")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("CSRF"));
    let (status, _, _) = b.post(&path, &[("verb", "办结")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no token at all");
    assert_eq!(
        org.app.service.store().history(tid).unwrap().len(),
        before,
        "nothing was applied"
    );
    let t = org.app.service.store().get(tid).unwrap().unwrap();
    assert_ne!(t.status, gongdan::ticket::Status::Resolved);
}

#[tokio::test]
async fn out_of_scope_ticket_is_404_and_not_on_the_board() {
    let org = org_app(ORG, |_| {}).await;
    add_user(&org, "李明", StaffRole::Officer, Some("generic:li"), None);
    add_user(
        &org,
        "周队长",
        StaffRole::Leader,
        Some("generic:zhou"),
        None,
    );
    let mine = complaint(&org, "g1", "m1", "小区北门天天有人摆摊卖菜，把路都占了").await;
    let theirs = complaint(&org, "g2", "m2", "3号楼下面有人私搭乱建了一个铁皮棚子").await;

    let mut b = Browser::new(&org);
    b.login("李明", PASSWORD).await;
    let (status, page) = b.get(&format!("/console/tickets/{mine}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("摆摊"));
    let (status, page) = b.get(&format!("/console/tickets/{theirs}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!page.contains("铁皮棚子"));
    let (status, page) = b.get(&format!("/console/tickets/{}", theirs + 1000)).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a missing ticket looks the same"
    );
    assert!(page.contains("不在您的范围内"));
    let (_, board) = b.get("/console?status=all").await;
    assert!(
        board.contains("摆摊") && !board.contains("铁皮棚子"),
        "{board}"
    );
    let (_, csv) = b.get("/console/export.csv?status=all").await;
    assert!(csv.contains("摆摊") && !csv.contains("铁皮棚子"));

    // The street's leader sees both communities.
    let mut b = Browser::new(&org);
    b.login("周队长", PASSWORD).await;
    let (status, _) = b.get(&format!("/console/tickets/{theirs}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, board) = b.get("/console?status=all&community=明月社区").await;
    assert!(board.contains("铁皮棚子") && !board.contains("摆摊"));
}

#[tokio::test]
async fn a_residents_platform_id_cannot_log_in() {
    let org = org_app(ORG, |_| {}).await;
    complaint(&org, "g1", "m1", "楼下烧烤摊油烟太大了，窗户都不敢开").await;
    add_user(
        &org,
        "居民",
        StaffRole::Officer,
        Some("generic:resident1"),
        None,
    );
    let mut b = Browser::new(&org);
    let (status, body, _) = b.login("居民", PASSWORD).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("不是工作人员"));
    assert!(!b.cookies.iter().any(|(k, _)| k == "gongdan_session"));
}

#[tokio::test]
async fn a_console_action_reaches_the_residents_group() {
    let org = org_app(ORG, |_| {}).await;
    add_user(&org, "李明", StaffRole::Officer, Some("generic:li"), None);
    let id = complaint(&org, "g1", "m1", "5号楼门口的消防通道又被私家车堵死了").await;
    wait_text(&org.platform, "g1", &format!("#{id}")).await;

    let mut b = Browser::new(&org);
    b.login("李明", PASSWORD).await;
    let (_, page) = b.get(&format!("/console/tickets/{id}")).await;
    let csrf = Browser::csrf(&page);
    let path = format!("/console/tickets/{id}/action");
    let (status, _, location) = b
        .post(&path, &[("csrf", &csrf), ("verb", "认领"), ("note", "")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.unwrap().contains("done="));
    let texts = wait_text(&org.platform, "g1", "李明 认领").await;
    assert!(
        texts
            .iter()
            .any(|t| t.contains(&format!("#{id}")) && t.contains("李明 认领")),
        "{texts:?}"
    );

    let (_, _, _) = b
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("verb", "办结"),
                ("note", "车辆已挪走，通道畅通"),
            ],
        )
        .await;
    let texts = wait_text(&org.platform, "g1", "车辆已挪走").await;
    assert!(texts.iter().any(|t| t.contains("车辆已挪走")), "{texts:?}");
    let t = org
        .app
        .service
        .store()
        .get(gongdan::ticket::TicketId::new(id).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(t.status, gongdan::ticket::Status::Resolved);
    assert_eq!(
        t.officer.as_ref().map(|p| p.id.as_str()),
        Some("li"),
        "the console user is their chat identity"
    );
    let history = org.app.service.store().history(t.id).unwrap();
    assert!(history
        .iter()
        .any(|e| e.actor_name.as_deref() == Some("李明")));

    // A bad command is explained on the page, not posted to the group.
    let before = org.platform.received().len();
    let (_, _, location) = b
        .post(&path, &[("csrf", &csrf), ("verb", "删除"), ("note", "")])
        .await;
    assert!(location.unwrap().contains("error="));
    common::org::settle().await;
    assert_eq!(org.platform.received().len(), before);
}

#[tokio::test]
async fn the_xlsx_opens_and_its_totals_equal_the_store() {
    use calamine::{Data, Reader, Xlsx};
    let org = org_app(ORG, |_| {}).await;
    add_user(&org, "陈市长", StaffRole::Admin, None, None);
    let a = complaint(&org, "g1", "m1", "小区北门天天有人摆摊卖菜，把路都占了").await;
    complaint(&org, "g1", "m2", "5号楼门口的消防通道又被私家车堵死了").await;
    complaint(&org, "g2", "m3", "3号楼下面有人私搭乱建了一个铁皮棚子").await;
    org.app
        .say_in("g1", "m4", "li", &format!("#办结 {a} 已劝离"))
        .await;

    let now = org.app.clock.now();
    let month = now
        .with_timezone(&gongdan::ticket::china_tz())
        .format("%Y-%m")
        .to_string();
    let mut b = Browser::new(&org);
    b.login("陈市长", PASSWORD).await;
    let (status, bytes) = b
        .get_bytes(&format!("/console/report.xlsx?month={month}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx");
    let names = book.sheet_names().to_vec();
    assert_eq!(names.first().map(String::as_str), Some("汇总"));
    assert!(names.iter().any(|n| n == "阳光社区") && names.iter().any(|n| n == "明月社区"));
    assert!(names.iter().any(|n| n == "工单清单"));
    let summary = book.worksheet_range("汇总").unwrap();
    let value = |label: &str| -> f64 {
        let row = summary
            .rows()
            .find(|r| matches!(&r[0], Data::String(s) if s.starts_with(label)))
            .unwrap();
        match &row[1] {
            Data::Float(f) => *f,
            Data::Int(i) => *i as f64,
            other => panic!("{label}: {other:?}"),
        }
    };
    let tickets = org.app.service.store().all_tickets().unwrap();
    let period = gongdan::report::Period::month(&month).unwrap();
    let received = tickets
        .iter()
        .filter(|t| period.contains(t.created_at))
        .count();
    let resolved = tickets
        .iter()
        .filter(|t| t.resolved_at.is_some_and(|at| period.contains(at)))
        .count();
    assert_eq!(value("收到反映") as usize, received);
    assert_eq!(received, 3);
    assert_eq!(value("办结") as usize, resolved);
    assert_eq!(resolved, 1);
    let list = book.worksheet_range("工单清单").unwrap();
    assert_eq!(list.rows().count(), 1 + received);

    // The CLI writes the same report from the data directory, once the server let go of it.
    let Org {
        app,
        config,
        org_path,
        _root: root,
        ..
    } = org;
    app.stop().await;
    let out = root.path().join("report.xlsx");
    let run = Command::new(env!("CARGO_BIN_EXE_gongdan"))
        .args(["report", "--month", &month, "-o"])
        .arg(&out)
        .arg("--data")
        .arg(&config.storage.data_dir)
        .arg("--org")
        .arg(&org_path)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("3 received, 1 resolved"));
    let mut book: Xlsx<_> = calamine::open_workbook(&out).expect("the CLI's xlsx opens");
    let list = book.worksheet_range("工单清单").unwrap();
    assert_eq!(list.rows().count(), 1 + received);
    let bad = Command::new(env!("CARGO_BIN_EXE_gongdan"))
        .args(["report", "--month", "2026-13", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("2026-13"));
}

#[tokio::test]
async fn api_tokens_per_user_see_their_scope() {
    let org = org_app(ORG, |_| {}).await;
    add_user(&org, "李明", StaffRole::Officer, Some("generic:li"), None);
    let mine = complaint(&org, "g1", "m1", "小区北门天天有人摆摊卖菜，把路都占了").await;
    let theirs = complaint(&org, "g2", "m2", "3号楼下面有人私搭乱建了一个铁皮棚子").await;
    let path = users_path(&org.config.storage.data_dir);
    let mut users = Users::load(&path).unwrap();
    users
        .get_mut("李明")
        .unwrap()
        .token_hashes
        .push(gongdan::console::users::token_hash("li-token"));
    users.save(&path).unwrap();

    let get = |p: String, token: &'static str| {
        let req = org.app.client.get(org.app.url(&p)).bearer_auth(token);
        async move { req.send().await.unwrap() }
    };
    let list: serde_json::Value = get("/api/tickets".into(), "li-token")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<u64> = list["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![mine]);
    assert_eq!(
        get(format!("/api/tickets/{theirs}"), "li-token")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(format!("/api/tickets/{mine}"), "li-token")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        get(format!("/api/tickets/{theirs}"), "test-token")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        get("/api/tickets".into(), "wrong").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let reload = org
        .app
        .client
        .post(org.app.url("/api/rules/reload"))
        .bearer_auth("li-token")
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn users_cli_adds_a_user_who_can_log_in() {
    let org = org_app(ORG, |_| {}).await;
    let config = org._root.path().join("gongdan.toml");
    std::fs::write(
        &config,
        format!("[org]\npath = {:?}\n", org.org_path.display().to_string()),
    )
    .unwrap();
    let users = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gongdan"));
        c.arg("users")
            .args(args)
            .arg("--data")
            .arg(&org.config.storage.data_dir)
            .arg("--config")
            .arg(&config);
        c
    };
    let mut child = users(&[
        "add",
        "孙强",
        "--role",
        "officer",
        "--platform-id",
        "generic:sun",
        "--scope",
        "明月社区",
        "--password-stdin",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(users_path(&org.config.storage.data_dir)).unwrap();
    assert!(text.contains("$argon2id$") && !text.contains(PASSWORD));

    let mut b = Browser::new(&org);
    let (status, _, _) = b.login("孙强", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = b.get("/console").await;
    assert!(page.contains("明月社区"));

    for (args, says) in [
        (
            &["add", "x", "--role", "chief", "--password-stdin"][..],
            "chief",
        ),
        (
            &[
                "add",
                "x",
                "--role",
                "officer",
                "--scope",
                "火星社区",
                "--password-stdin",
            ][..],
            "火星社区",
        ),
        (
            &[
                "add",
                "x",
                "--role",
                "officer",
                "--platform-id",
                "generic:resident1",
                "--password-stdin",
            ][..],
            "resident",
        ),
        (&["remove", "nobody"][..], "nobody"),
    ] {
        let bad = users(args).stdin(Stdio::null()).output().unwrap();
        assert!(!bad.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let listed = users(&["list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("孙强\tofficer\tgeneric:sun\t明月社区"),
        "{listed}"
    );
    assert!(!listed.contains("argon2"));
    let token = users(&["token", "孙强"]).output().unwrap();
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    assert!(token.starts_with("gd_"));
    let resp = org
        .app
        .client
        .get(org.app.url("/api/tickets"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let removed = users(&["remove", "孙强"]).output().unwrap();
    assert!(removed.status.success());
    let (status, _) = b.get("/console").await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "a removed user's session ends"
    );
}
