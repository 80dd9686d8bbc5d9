//! Personal WeChat groups through the wechatbot-webhook bridge (danni-cool/wechatbot-webhook): multipart form posts in, `/webhook/msg/v2` out.
//!
//! The bridge logs into a WeChat account and posts every message it sees to its
//! `RECVD_MSG_API` (here `/webhook/wechat?token=...`) as `multipart/form-data`
//! with the fields `type`, `content`, `source` (a JSON string describing the
//! room and sender), `isMentioned`, `isMsgFromSelf` and `isSystemEvent`. Only
//! text messages in rooms become [`InboundMessage`]s. The bridge addresses
//! rooms by name (topic), and the web protocol's `@@` room ids change at
//! every re-login, so the topic is the group id: tickets stay with their
//! group across re-logins, and a notice about a ticket can be sent to its
//! group from anywhere.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{
    distinct_reply_texts, signature, Answer, Outgoing, Parsed, PlatformError, RawRequest,
    SendError, WebhookResponse,
};
use crate::config::{Secret, WechatConfig};
use crate::message::InboundMessage;

pub const NAME: &str = "wechat";
/// Query parameter carrying the shared secret (the bridge cannot sign or set headers).
pub const TOKEN_PARAM: &str = "token";
/// Width of the receipt-time window used in the dedupe key when the bridge
/// sends no timestamp (see [`dedupe_key`]).
pub const DEDUPE_WINDOW_SECS: i64 = 120;
/// WeChat ends an @mention with U+2005 (four-per-em space).
const MENTION_END: char = '\u{2005}';
/// Longest nickname an @mention can carry, in characters.
const MAX_MENTION_CHARS: usize = 32;

#[derive(Debug)]
pub struct Wechat {
    token: Option<Secret>,
    api_url: Option<String>,
    api_token: Option<Secret>,
}

/// Compare the token sent by the bridge with the configured one in constant
/// time. Hashing first makes the comparison independent of both lengths too.
fn token_matches(sent: &str, want: &Secret) -> bool {
    signature::equal(
        &Sha256::digest(sent.as_bytes()),
        &Sha256::digest(want.expose().as_bytes()),
    )
}

/// Poll a future once. Multipart parsing here reads a body that is already in
/// memory, so it never waits; if it ever did, the request is refused rather
/// than blocking a runtime thread.
fn ready<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// The first value of every form field, by name (file parts included, as bytes).
async fn read_form(body: Bytes, boundary: String) -> Result<HashMap<String, Bytes>, multer::Error> {
    let stream = axum::body::Body::from(body).into_data_stream();
    let mut form = multer::Multipart::new(stream, boundary);
    let mut fields = HashMap::new();
    while let Some(field) = form.next_field().await? {
        let name = field.name().unwrap_or_default().to_string();
        let data = field.bytes().await?;
        fields.entry(name).or_insert(data);
    }
    Ok(fields)
}

fn parse_form(req: &RawRequest) -> Result<HashMap<String, Bytes>, PlatformError> {
    let content_type = req
        .header("content-type")
        .ok_or_else(|| PlatformError::Malformed("expected multipart/form-data".into()))?;
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| PlatformError::Malformed("expected multipart/form-data".into()))?;
    match ready(read_form(req.body.clone(), boundary)) {
        Some(Ok(fields)) => Ok(fields),
        Some(Err(e)) => Err(PlatformError::Malformed(format!("invalid form data: {e}"))),
        None => Err(PlatformError::Malformed("incomplete form data".into())),
    }
}

fn text_field<'a>(
    fields: &'a HashMap<String, Bytes>,
    name: &'static str,
) -> Result<Option<&'a str>, PlatformError> {
    fields
        .get(name)
        .map(|b| {
            std::str::from_utf8(b)
                .map_err(|_| PlatformError::Malformed(format!("form field {name} is not UTF-8")))
        })
        .transpose()
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, key| v.get(key))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Remove `@nickname<U+2005>` mentions. A bare `@` (an e-mail address, "@所有人"
/// typed by hand) has no U+2005 after it and stays.
fn strip_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let after = &rest[at + 1..];
        let name_end = after.find(MENTION_END).filter(|&end| {
            let name = &after[..end];
            end > 0 && name.chars().count() <= MAX_MENTION_CHARS && !name.contains(['@', '\n'])
        });
        match name_end {
            Some(end) => {
                out.push_str(&rest[..at]);
                rest = &after[end + MENTION_END.len_utf8()..];
            }
            None => {
                out.push_str(&rest[..=at]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.trim().to_string()
}

/// The bridge posts no message id (wechaty's web puppet ids do not reach the
/// form), so the dedupe key is derived: SHA-256 over room, sender, type and
/// content, plus the bridge's `timestamp` field when a bridge version sends
/// one, otherwise the receipt time in [`DEDUPE_WINDOW_SECS`] windows. A repeat
/// of the same text by the same person inside one window counts as the same
/// message (the bridge does not retry, so that is a person resending); the
/// same complaint sent again later is a new message.
fn dedupe_key(room: &str, from: &str, kind: &str, content: &str, time: TimeKey) -> String {
    let mut h = Sha256::new();
    for part in [room, from, kind, content] {
        h.update(part.as_bytes());
        // Separators keep ("ab","c") and ("a","bc") apart.
        h.update([0u8]);
    }
    match time {
        TimeKey::Sent(t) => h.update(format!("sent:{t}")),
        TimeKey::Window(w) => h.update(format!("window:{w}")),
    }
    hex::encode(h.finalize())
}

enum TimeKey {
    Sent(i64),
    Window(i64),
}

impl Wechat {
    pub fn new(config: &WechatConfig) -> Self {
        let token = config.token.clone().filter(|s| !s.expose().is_empty());
        if token.is_none() {
            tracing::warn!(
                "platforms.wechat.token is not set: /webhook/wechat accepts unauthenticated posts"
            );
        }
        Wechat {
            token,
            api_url: config
                .api_url
                .as_deref()
                .map(|u| u.trim().trim_end_matches('/').to_string())
                .filter(|u| !u.is_empty()),
            api_token: config.api_token.clone().filter(|s| !s.expose().is_empty()),
        }
    }

    pub fn parse(&self, req: &RawRequest, now: i64) -> Result<Parsed, PlatformError> {
        if let Some(token) = &self.token {
            let sent = req
                .query
                .get(TOKEN_PARAM)
                .ok_or(PlatformError::BadSignature)?;
            if !token_matches(sent, token) {
                return Err(PlatformError::BadSignature);
            }
        }
        let fields = parse_form(req)?;
        let kind = text_field(&fields, "type")?.unwrap_or_default();
        // Login, logout, errors and the bridge's own notifications.
        if text_field(&fields, "isSystemEvent")? == Some("1") || kind.starts_with("system_event") {
            let event: String = kind.chars().take(40).collect();
            tracing::info!(platform = NAME, %event, "bridge system event");
            return Ok(Parsed::Ignored("bridge system event"));
        }
        if text_field(&fields, "isMsgFromSelf")? == Some("1") {
            return Ok(Parsed::Ignored("the bot's own message"));
        }
        let source: Value = serde_json::from_str(
            text_field(&fields, "source")?.ok_or(PlatformError::MissingField("source"))?,
        )
        .map_err(|e| PlatformError::Malformed(format!("source is not JSON: {e}")))?;
        // Not from a room: `room` is {} (or "" in older bridge versions).
        let Some(room_id) = source.get("room").and_then(|r| str_at(r, &["id"])) else {
            return Ok(Parsed::Ignored("not a room message"));
        };
        // Files, voice, pictures, links, friend requests: no text to classify,
        // and file bytes are nothing a ticket can keep.
        if kind != "text" {
            return Ok(Parsed::Ignored("not a text message"));
        }
        let room = &source["room"];
        // wechaty keeps the topic in payload; the bridge's docs show it one level up.
        let topic = str_at(room, &["payload", "topic"])
            .or_else(|| str_at(room, &["topic"]))
            .map(str::to_string);
        let from = &source["from"];
        let sender_id = str_at(from, &["id"])
            .or_else(|| str_at(from, &["payload", "id"]))
            .ok_or(PlatformError::MissingField("source.from.id"))?
            .to_string();
        let sender_name = str_at(from, &["payload", "name"])
            .or_else(|| str_at(from, &["payload", "alias"]))
            .map(str::to_string);
        let content =
            text_field(&fields, "content")?.ok_or(PlatformError::MissingField("content"))?;
        let sent_at = text_field(&fields, "timestamp")?
            .and_then(|t| t.trim().parse::<i64>().ok())
            // Some bridges send milliseconds.
            .map(|t| if t > 100_000_000_000 { t / 1000 } else { t });
        let time = match sent_at {
            Some(t) => TimeKey::Sent(t),
            None => TimeKey::Window(now.div_euclid(DEDUPE_WINDOW_SECS)),
        };
        // A room without a topic (an unnamed group) falls back to its
        // session id: usable until the next re-login, never addressable.
        let group_id = topic.clone().unwrap_or_else(|| room_id.to_string());
        let msg = InboundMessage {
            platform: NAME.to_string(),
            message_id: dedupe_key(&group_id, &sender_id, kind, content, time),
            group_id,
            group_name: topic.clone(),
            sender_id,
            sender_name,
            text: strip_mentions(content),
            images: Vec::new(),
            timestamp: sent_at,
            reply_handle: topic,
        };
        Ok(Parsed::Messages(vec![msg]))
    }

    /// Without a send API, replies ride on the response (the bridge's quick
    /// reply: `{"success": true, "data": {...}}`, said into the room). The bridge
    /// parses every response as JSON, so even "nothing to say" is `{}`.
    pub fn answer(&self, answers: &[Answer]) -> WebhookResponse {
        let nothing = WebhookResponse::json(&json!({}));
        if self.sends() {
            return nothing;
        }
        // A command may also notify another group with the same text: say it once here.
        let texts = distinct_reply_texts(answers);
        if texts.is_empty() {
            return nothing;
        }
        WebhookResponse::json(&json!({
            "success": true,
            "data": { "type": "text", "content": texts.join("\n") },
        }))
    }

    pub fn sends(&self) -> bool {
        self.api_url.is_some()
    }

    pub async fn send(
        &self,
        client: &reqwest::Client,
        out: &Outgoing<'_>,
    ) -> Result<(), SendError> {
        let Some(api) = &self.api_url else {
            return Err(SendError::Permanent("no api_url configured".into()));
        };
        // The group id is the topic, except for unnamed rooms (`@@` ids).
        let topic = out
            .reply_handle
            .filter(|t| !t.is_empty())
            .or(Some(out.group_id))
            .filter(|t| !t.is_empty() && !t.starts_with("@@"));
        let Some(topic) = topic else {
            return Err(SendError::Permanent(
                "the room has no name: the bridge addresses rooms by name".into(),
            ));
        };
        let mut req = client.post(format!("{api}/webhook/msg/v2")).json(&json!({
            "to": topic,
            "isRoom": true,
            "data": { "type": "text", "content": out.text },
        }));
        if let Some(token) = &self.api_token {
            // The token sits in the URL: errors are built without it (SendError::network).
            req = req.query(&[(TOKEN_PARAM, token.expose())]);
        }
        let resp = req.send().await.map_err(|e| SendError::network(&e))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        classify_response(status, &body)
    }
}

/// Read a `/webhook/msg/v2` answer: `{"success": bool, "message": ..., "task": {...}}`.
fn classify_response(status: u16, body: &str) -> Result<(), SendError> {
    #[derive(Deserialize)]
    struct ApiResponse {
        success: Option<bool>,
        message: Option<String>,
        task: Option<Task>,
    }
    #[derive(Deserialize)]
    struct Task {
        #[serde(default, rename = "notFound")]
        not_found: Vec<Value>,
        #[serde(default)]
        reject: Vec<Value>,
    }
    let parsed = serde_json::from_str::<ApiResponse>(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|r| r.message.clone())
        .unwrap_or_default();
    if status == 401 && message.contains("login") {
        // "you must login first": the bridge's WeChat session dropped; it comes
        // back once someone scans the login QR code again.
        return Err(SendError::Retry {
            reason: "the bridge is logged out of WeChat".into(),
            after: None,
        });
    }
    if !(200..300).contains(&status) {
        return Err(SendError::from_status(status, None, body));
    }
    let Some(r) = parsed else {
        // A 2xx that is not the bridge's JSON: the message probably went out;
        // retrying would post it twice.
        return Ok(());
    };
    if r.success != Some(false) {
        return Ok(());
    }
    let reason = format!(
        "bridge refused the message: {}",
        message.chars().take(200).collect::<String>()
    );
    match r.task {
        // Renamed or left room, or a request the bridge rejects: permanent.
        Some(t) if !t.not_found.is_empty() || !t.reject.is_empty() => {
            Err(SendError::Permanent(reason))
        }
        // WeChat itself failed to send (web session hiccup): try again.
        _ => Err(SendError::Retry {
            reason,
            after: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, Method};
    use proptest::prelude::*;

    const BOUNDARY: &str = "--------------------------870226373621524117483093";

    /// `source` for a room message, following the bridge's published
    /// docs/recvdApi.example.md (room topic at the top level).
    pub(crate) const SOURCE_DOC: &str = r#"{
        "room": {
            "id": "@@f6b1a5c2e7d84c3a9b0e1d2c3b4a5968",
            "topic": "阳光小区业主群",
            "payload": {
                "id": "@@f6b1a5c2e7d84c3a9b0e1d2c3b4a5968",
                "adminIdList": [],
                "avatar": "http://localhost:3001/resouces?media=%2Fcgi-bin%2Fmmwebwx-bin%2Fwebwxgetheadimg",
                "memberList": [{"id": "@8e1f0c", "name": "张阿姨", "alias": ""}]
            },
            "_events": {},
            "_eventsCount": 0
        },
        "to": {
            "id": "@b0a9c8", "payload": {"alias": "", "avatar": "", "friend": false, "gender": 1, "id": "@b0a9c8", "name": "工单助手", "phone": [], "signature": "", "star": false, "type": 1},
            "_events": {}, "_eventsCount": 0
        },
        "from": {
            "id": "@8e1f0c",
            "payload": {"alias": "", "avatar": "", "city": "北京", "friend": true, "gender": 2, "id": "@8e1f0c", "name": "张阿姨", "phone": [], "province": "北京", "star": false, "type": 1},
            "_events": {}, "_eventsCount": 0
        }
    }"#;

    /// The shape wechaty objects really serialize to: the topic inside payload.
    const SOURCE_WECHATY: &str = r#"{
        "room": {"_events": {}, "_eventsCount": 0, "id": "@@77aa", "payload": {"id": "@@77aa", "topic": "幸福里3期", "ownerId": "@1", "memberList": []}},
        "to": {},
        "from": {"_events": {}, "_eventsCount": 0, "id": "@99bb", "payload": {"id": "@99bb", "name": "李先生", "alias": "3栋李"}}
    }"#;

    /// A private chat: room is {} (the bridge clones `msg.room() || {}`).
    const SOURCE_PRIVATE: &str = r#"{"room": {}, "to": {"id": "@b0a9c8", "payload": {"name": "工单助手"}}, "from": {"id": "@8e1f0c", "payload": {"name": "张阿姨"}}}"#;

    pub(crate) fn form(fields: &[(&str, &str)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }

    fn text_form(source: &str, content: &str) -> Vec<u8> {
        // Field order as the bridge appends them.
        form(&[
            ("source", source),
            ("isSystemEvent", "0"),
            ("isMentioned", "0"),
            ("isMsgFromSelf", "0"),
            ("type", "text"),
            ("content", content),
        ])
    }

    fn adapter(token: Option<&str>, api_url: Option<&str>) -> Wechat {
        Wechat::new(&WechatConfig {
            enabled: true,
            token: token.map(Secret::new),
            api_url: api_url.map(str::to_string),
            api_token: None,
        })
    }

    fn request(body: Vec<u8>, token: Option<&str>) -> RawRequest {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_str(&format!("multipart/form-data; boundary={BOUNDARY}")).unwrap(),
        );
        let mut query = HashMap::new();
        if let Some(t) = token {
            query.insert(TOKEN_PARAM.to_string(), t.to_string());
        }
        RawRequest {
            method: Method::POST,
            headers,
            query,
            body: body.into(),
        }
    }

    fn one(parsed: Parsed) -> InboundMessage {
        match parsed {
            Parsed::Messages(mut v) if v.len() == 1 => v.remove(0),
            other => panic!("expected one message, got {other:?}"),
        }
    }

    #[test]
    fn room_text_message_from_the_docs() {
        let body = text_form(SOURCE_DOC, "@工单助手\u{2005}5号楼楼道里堆满了纸箱，没人管");
        let msg = one(adapter(None, None)
            .parse(&request(body, None), 1_718_000_000)
            .unwrap());
        assert_eq!(msg.platform, "wechat");
        assert_eq!(msg.group_id, "阳光小区业主群");
        assert_eq!(msg.group_name.as_deref(), Some("阳光小区业主群"));
        assert_eq!(msg.reply_handle.as_deref(), Some("阳光小区业主群"));
        assert_eq!(msg.sender_id, "@8e1f0c");
        assert_eq!(msg.sender_name.as_deref(), Some("张阿姨"));
        assert_eq!(msg.text, "5号楼楼道里堆满了纸箱，没人管");
        assert_eq!(msg.message_id.len(), 64);
        assert_eq!(msg.timestamp, None);
    }

    #[test]
    fn topic_inside_payload() {
        let body = text_form(SOURCE_WECHATY, "东门路灯坏了");
        let msg = one(adapter(None, None).parse(&request(body, None), 0).unwrap());
        assert_eq!(msg.group_id, "幸福里3期");
        assert_eq!(msg.reply_handle.as_deref(), Some("幸福里3期"));
        assert_eq!(msg.sender_name.as_deref(), Some("李先生"));
    }

    #[test]
    fn dedupe_key_is_stable_within_a_window_and_changes_with_content() {
        let a = adapter(None, None);
        let id = |content: &str, now: i64| {
            one(a
                .parse(&request(text_form(SOURCE_DOC, content), None), now)
                .unwrap())
            .message_id
        };
        let t = 1_718_000_040;
        assert_eq!(id("路灯坏了", t), id("路灯坏了", t + 10));
        assert_ne!(id("路灯坏了", t), id("路灯坏了了", t));
        assert_ne!(id("路灯坏了", t), id("路灯坏了", t + DEDUPE_WINDOW_SECS));
        // A bridge-provided timestamp wins over the receipt time.
        let with_time = |now: i64| {
            let mut f = vec![("timestamp", "1718000000123")];
            f.extend([
                ("source", SOURCE_DOC),
                ("type", "text"),
                ("content", "路灯坏了"),
            ]);
            one(a.parse(&request(form(&f), None), now).unwrap())
        };
        assert_eq!(with_time(1).message_id, with_time(10_000).message_id);
        assert_eq!(with_time(1).timestamp, Some(1_718_000_000));
    }

    #[test]
    fn non_room_self_system_and_file_messages_are_ignored() {
        let a = adapter(None, None);
        let cases = [
            text_form(SOURCE_PRIVATE, "你好"),
            text_form(
                &SOURCE_PRIVATE.replace("\"room\": {}", "\"room\": \"\""),
                "你好",
            ),
            form(&[
                ("source", SOURCE_DOC),
                ("isMsgFromSelf", "1"),
                ("type", "text"),
                ("content", "收到"),
            ]),
            form(&[
                ("type", "system_event_login"),
                ("isSystemEvent", "1"),
                ("content", r#"{"event":"login","user":{}}"#),
                ("source", "{}"),
            ]),
            form(&[("type", "system_event_logout"), ("content", "{}")]),
            form(&[
                ("source", SOURCE_DOC),
                ("type", "urlLink"),
                ("content", r#"{"title":"x","url":"http://example.url"}"#),
            ]),
        ];
        for body in cases {
            let shown = String::from_utf8_lossy(&body).into_owned();
            assert!(
                matches!(a.parse(&request(body, None), 0), Ok(Parsed::Ignored(_))),
                "{shown}"
            );
        }
        // A picture: the content part is a file.
        let mut body = Vec::new();
        for (n, v) in [
            ("source", SOURCE_DOC),
            ("isSystemEvent", "0"),
            ("isMentioned", "0"),
            ("isMsgFromSelf", "0"),
            ("type", "file"),
        ] {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{n}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"content\"; filename=\"240611-1.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").as_bytes());
        body.extend_from_slice(&[0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46]);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        assert!(matches!(
            a.parse(&request(body, None), 0),
            Ok(Parsed::Ignored(_))
        ));
    }

    #[test]
    fn malformed_requests_are_refused() {
        let a = adapter(None, None);
        let mut req = request(text_form(SOURCE_DOC, "x"), None);
        req.headers
            .insert("content-type", HeaderValue::from_static("application/json"));
        assert_eq!(a.parse(&req, 0).unwrap_err().status(), 400);
        // Truncated: no closing boundary.
        let mut body = text_form(SOURCE_DOC, "x");
        body.truncate(body.len() - 10);
        assert_eq!(a.parse(&request(body, None), 0).unwrap_err().status(), 400);
        let body = form(&[("type", "text"), ("content", "x"), ("source", "{not json")]);
        assert_eq!(a.parse(&request(body, None), 0).unwrap_err().status(), 400);
        let body = form(&[("type", "text"), ("content", "x")]);
        assert_eq!(a.parse(&request(body, None), 0).unwrap_err().status(), 422);
        let body = form(&[("type", "text"), ("source", SOURCE_DOC)]);
        assert_eq!(a.parse(&request(body, None), 0).unwrap_err().status(), 422);
    }

    #[test]
    fn token_is_checked_when_set() {
        let a = adapter(Some("wx-s3cret"), None);
        let body = || text_form(SOURCE_DOC, "路灯坏了");
        assert!(a.parse(&request(body(), Some("wx-s3cret")), 0).is_ok());
        for bad in [
            None,
            Some(""),
            Some("wx-s3cre"),
            Some("wx-s3cret2"),
            Some("WX-S3CRET"),
        ] {
            assert_eq!(
                a.parse(&request(body(), bad), 0).unwrap_err().status(),
                401,
                "{bad:?}"
            );
        }
        assert!(token_matches("abc", &Secret::new("abc")));
        assert!(!token_matches("abd", &Secret::new("abc")));
    }

    #[test]
    fn mentions() {
        assert_eq!(strip_mentions("@工单助手\u{2005}路灯坏了"), "路灯坏了");
        assert_eq!(
            strip_mentions("路灯坏了@王 主任\u{2005}@李四\u{2005}快修"),
            "路灯坏了快修"
        );
        assert_eq!(strip_mentions("邮件 a@b.com 路灯"), "邮件 a@b.com 路灯");
        assert_eq!(strip_mentions("@"), "@");
        assert_eq!(strip_mentions("@\u{2005}x"), "@\u{2005}x");
    }

    #[test]
    fn quick_reply_and_send_mode_answers() {
        let answers = [Answer {
            ticket: Some(3),
            replies: vec![
                ("@@r".into(), "已登记 #3".into()),
                ("@@other".into(), "已登记 #3".into()),
            ],
        }];
        let v: Value = serde_json::from_slice(&adapter(None, None).answer(&answers).body).unwrap();
        assert_eq!(
            v,
            json!({"success": true, "data": {"type": "text", "content": "已登记 #3"}})
        );
        let v: Value = serde_json::from_slice(&adapter(None, None).answer(&[]).body).unwrap();
        assert_eq!(v, json!({}));
        let sending = adapter(None, Some("http://127.0.0.1:3001/"));
        assert!(sending.sends());
        let v: Value = serde_json::from_slice(&sending.answer(&answers).body).unwrap();
        assert_eq!(v, json!({}));
    }

    /// An unnamed room's group id is its session id, which the bridge
    /// cannot send to: refused before any request, for good.
    #[tokio::test]
    async fn an_unnamed_room_cannot_be_sent_to() {
        // Nothing listens on the discard port: reaching it would be a retry.
        let a = adapter(None, Some("http://127.0.0.1:9"));
        let out = |group_id, reply_handle| Outgoing {
            group_id,
            text: "工单 #1001 已办结",
            reply_handle,
            ticket: Some(1001),
            idempotency_key: "gongdan-1",
        };
        let client = reqwest::Client::new();
        for (group, handle) in [("@@77aa", None), ("@@77aa", Some("")), ("", None)] {
            let err = a.send(&client, &out(group, handle)).await.unwrap_err();
            assert!(
                matches!(err, SendError::Permanent(_)),
                "{group} {handle:?}: {err}"
            );
        }
        let err = a.send(&client, &out("幸福里3期", None)).await.unwrap_err();
        assert!(
            matches!(err, SendError::Retry { .. }),
            "a named room is tried: {err}"
        );
    }

    #[test]
    fn send_api_responses() {
        assert!(classify_response(200, r#"{"success":true,"message":"Message sent successfully","task":{"successCount":1,"totalCount":1,"failedCount":0,"reject":[],"sentFailed":[],"notFound":[]}}"#).is_ok());
        assert!(matches!(
            classify_response(
                200,
                r#"{"success":false,"message":"All Messages (1) sent failed","task":{"successCount":0,"totalCount":0,"failedCount":1,"reject":[],"sentFailed":[],"notFound":[{"to":"x","isRoom":true,"error":"Room is not found"}]}}"#
            ),
            Err(SendError::Permanent(_))
        ));
        assert!(matches!(
            classify_response(
                200,
                r#"{"success":false,"message":"All Messages (1) sent failed","task":{"successCount":0,"totalCount":1,"failedCount":1,"reject":[],"sentFailed":[{"to":"x"}],"notFound":[]}}"#
            ),
            Err(SendError::Retry { .. })
        ));
        assert!(matches!(
            classify_response(401, r#"{"success":false,"message":"you must login first"}"#),
            Err(SendError::Retry { .. })
        ));
        assert!(matches!(
            classify_response(
                401,
                r#"{"success":false,"message":"Unauthorized: Access is denied due to invalid credentials."}"#
            ),
            Err(SendError::Permanent(_))
        ));
        assert!(classify_response(200, "OK").is_ok());
        assert!(matches!(
            classify_response(503, ""),
            Err(SendError::Retry { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::fuzz_cases(256)))]

        #[test]
        fn parse_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = adapter(None, None).parse(&request(body, None), 0);
        }

        #[test]
        fn parse_never_panics_on_mutated_payloads(
            which in 0usize..2,
            cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut body = text_form([SOURCE_DOC, SOURCE_WECHATY][which], "@工单助手\u{2005}5号楼楼道里堆满了纸箱");
            for (i, b) in cuts {
                let at = i.index(body.len());
                body[at] = b;
            }
            let _ = adapter(None, None).parse(&request(body, None), 0);
        }

        #[test]
        fn mention_stripping_never_panics(s in "(\\PC{0,6}|@|\u{2005}){0,12}") {
            let _ = strip_mentions(&s);
        }
    }
}
