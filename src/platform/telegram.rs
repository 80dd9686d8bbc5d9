//! Telegram Bot API: webhook updates in, `sendMessage` out.
//!
//! Telegram posts one `Update` per request to `/webhook/telegram` and retries
//! until it gets a 2xx, so `update_id` is the dedupe key. Only messages in
//! groups and supergroups become [`InboundMessage`]s. The bot token is part of
//! every API URL: nothing here logs a URL or puts one in an error.
//!
//! Replies quote the resident's message and stay in its forum topic, as the
//! SDKs' `Message.reply` does (aiogram: `message_thread_id` only for topic
//! messages, `reply_parameters`). A group upgraded to a supergroup changes id;
//! both the service messages announcing it and the send error naming the new
//! id are reported upwards, so the move is recorded once for the whole service.
//! The Bot API has no idempotency key for `sendMessage`: a reply whose answer
//! was lost can be posted twice.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{
    fetch, signature, Answer, Outgoing, Parsed, PlatformError, RawRequest, SendError, Sent,
    WebhookResponse,
};
use crate::config::{Secret, TelegramConfig};
use crate::message::InboundMessage;

pub const NAME: &str = "telegram";
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

#[derive(Debug)]
pub struct Telegram {
    bot_token: Option<Secret>,
    secret_token: Option<Secret>,
    /// Lower-cased, without `@`.
    bot_username: Option<String>,
    api_base: String,
}

#[derive(Deserialize)]
struct Update {
    update_id: Option<i64>,
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    message_id: Option<i64>,
    /// The forum topic (or, outside forums, the reply chain) it belongs to.
    message_thread_id: Option<i64>,
    /// Set only for messages posted in a forum topic other than General.
    #[serde(default)]
    is_topic_message: bool,
    /// Service message in the old group: it became this supergroup.
    migrate_to_chat_id: Option<i64>,
    /// Service message in the new supergroup: it was this group.
    migrate_from_chat_id: Option<i64>,
    date: Option<i64>,
    chat: Option<Chat>,
    from: Option<User>,
    text: Option<String>,
    caption: Option<String>,
    #[serde(default)]
    entities: Vec<Entity>,
    #[serde(default)]
    caption_entities: Vec<Entity>,
    /// One photo in several sizes, smallest first.
    #[serde(default)]
    photo: Vec<PhotoSize>,
}

#[derive(Deserialize)]
struct Chat {
    id: Option<i64>,
    #[serde(rename = "type")]
    kind: Option<String>,
    title: Option<String>,
}

#[derive(Deserialize)]
struct User {
    id: Option<i64>,
    #[serde(default)]
    is_bot: bool,
    first_name: Option<String>,
    last_name: Option<String>,
    username: Option<String>,
}

#[derive(Deserialize)]
struct Entity {
    #[serde(rename = "type")]
    kind: String,
    /// In UTF-16 code units, as Telegram counts.
    offset: usize,
    length: usize,
}

#[derive(Deserialize)]
struct PhotoSize {
    file_id: String,
}

/// What a reply needs from the message it answers, kept in `reply_handle`.
/// Rows queued before handles existed carry none, and a handle that does not
/// read is sent as a plain message, so any stored row still goes out.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Handle {
    /// The chat the message was posted in. A reply that goes elsewhere (the
    /// group moved since) neither quotes it nor names its topic.
    chat: i64,
    /// The resident's message, quoted by the reply.
    message: i64,
    /// Its forum topic; absent in General and in groups without topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thread: Option<i64>,
}

impl Handle {
    /// The parts of `sendMessage` that answer this message in `chat_id`.
    fn reply_fields(&self, chat_id: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
        if chat_id.parse::<i64>().ok() != Some(self.chat) {
            return None;
        }
        let mut fields = serde_json::Map::new();
        if let Some(thread) = self.thread {
            fields.insert("message_thread_id".into(), json!(thread));
        }
        // Sent even when the original was deleted meanwhile, rather than failing.
        fields.insert(
            "reply_parameters".into(),
            json!({ "message_id": self.message, "allow_sending_without_reply": true }),
        );
        Some(fields)
    }
}

/// Compare a token sent by Telegram with the configured one in constant time.
/// Hashing first makes the comparison independent of both lengths too.
fn token_matches(sent: &str, want: &Secret) -> bool {
    signature::equal(
        &Sha256::digest(sent.as_bytes()),
        &Sha256::digest(want.expose().as_bytes()),
    )
}

/// The byte range of a UTF-16 `(offset, length)` span in `text`, if it lies on
/// character boundaries inside the text.
fn utf16_span(text: &str, offset: usize, length: usize) -> Option<(usize, usize)> {
    let end16 = offset.checked_add(length)?;
    let (mut start, mut end) = (None, None);
    let mut units = 0usize;
    for (i, ch) in text.char_indices() {
        if units == offset {
            start = Some(i);
        }
        if units == end16 {
            end = Some(i);
        }
        units += ch.len_utf16();
    }
    if units == offset {
        start = Some(text.len());
    }
    if units == end16 {
        end = Some(text.len());
    }
    match (start, end) {
        (Some(s), Some(e)) if s <= e => Some((s, e)),
        _ => None,
    }
}

impl Telegram {
    pub fn new(config: &TelegramConfig) -> Self {
        let secret_token = config
            .secret_token
            .clone()
            .filter(|s| !s.expose().is_empty());
        if secret_token.is_none() {
            tracing::warn!(
                "platforms.telegram.secret_token is not set: /webhook/telegram accepts unauthenticated updates"
            );
        }
        Telegram {
            bot_token: config.bot_token.clone().filter(|s| !s.expose().is_empty()),
            secret_token,
            bot_username: config
                .bot_username
                .as_deref()
                .map(|u| u.trim().trim_start_matches('@').to_lowercase())
                .filter(|u| !u.is_empty()),
            api_base: config.api_base.trim().trim_end_matches('/').to_string(),
        }
    }

    /// Whether `@name` (without the `@`) is this bot.
    fn is_this_bot(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        match &self.bot_username {
            Some(me) => name == *me,
            // Telegram requires every bot username to end in "bot".
            None => name.ends_with("bot"),
        }
    }

    /// Remove the bot's @mentions, and the `@bot` suffix of `/command@bot`, from `text`.
    fn strip_mentions(&self, text: &str, entities: &[Entity]) -> String {
        let mut cuts: Vec<(usize, usize)> = Vec::new();
        for e in entities {
            let Some((s, end)) = utf16_span(text, e.offset, e.length) else {
                continue;
            };
            let span = &text[s..end];
            match e.kind.as_str() {
                "mention" => {
                    if let Some(name) = span.strip_prefix('@') {
                        if self.is_this_bot(name) {
                            cuts.push((s, end));
                        }
                    }
                }
                "bot_command" => {
                    if let Some(at) = span.find('@') {
                        if self.is_this_bot(&span[at + 1..]) {
                            cuts.push((s + at, end));
                        }
                    }
                }
                _ => {}
            }
        }
        cuts.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        for (s, e) in cuts {
            // Entities never overlap, but a hostile payload could claim they do.
            if s < pos {
                continue;
            }
            out.push_str(&text[pos..s]);
            pos = e;
        }
        out.push_str(&text[pos..]);
        out.trim().to_string()
    }

    pub fn parse(&self, req: &RawRequest, _now: i64) -> Result<Parsed, PlatformError> {
        if let Some(secret) = &self.secret_token {
            let sent = req
                .header(SECRET_HEADER)
                .ok_or(PlatformError::BadSignature)?;
            if !token_matches(sent, secret) {
                return Err(PlatformError::BadSignature);
            }
        }
        let update: Update = serde_json::from_slice(&req.body)
            .map_err(|e| PlatformError::Malformed(format!("invalid JSON: {e}")))?;
        let update_id = update
            .update_id
            .ok_or(PlatformError::MissingField("update_id"))?;
        // Edited messages, channel posts, member updates, callbacks...
        let Some(message) = update.message else {
            return Ok(Parsed::Ignored("not a new message"));
        };
        let chat = message.chat.ok_or(PlatformError::MissingField("chat"))?;
        if !matches!(chat.kind.as_deref(), Some("group" | "supergroup")) {
            return Ok(Parsed::Ignored("not a group chat"));
        }
        let chat_id = chat.id.ok_or(PlatformError::MissingField("chat.id"))?;
        // Both sides of an upgrade announce it; recording it twice is harmless.
        let moved = match (message.migrate_to_chat_id, message.migrate_from_chat_id) {
            (Some(to), _) => Some((chat_id, to)),
            (None, Some(from)) => Some((from, chat_id)),
            (None, None) => None,
        };
        if let Some((from, to)) = moved.filter(|(from, to)| from != to) {
            return Ok(Parsed::GroupMoved {
                from: from.to_string(),
                to: to.to_string(),
            });
        }
        // Service messages (joins, pins) have no sender worth a ticket; other
        // bots are ignored so two bots cannot talk each other into a loop.
        let Some(from) = message.from else {
            return Ok(Parsed::Ignored("no sender"));
        };
        if from.is_bot {
            return Ok(Parsed::Ignored("message from a bot"));
        }
        let sender_id = from.id.ok_or(PlatformError::MissingField("from.id"))?;
        let (raw, entities) = match (message.text, message.caption) {
            (Some(t), _) => (t, message.entities),
            (None, Some(c)) => (c, message.caption_entities),
            (None, None) => (String::new(), Vec::new()),
        };
        // The largest size is last; one file id per photo is enough to fetch it.
        let images: Vec<String> = message
            .photo
            .last()
            .map(|p| p.file_id.clone())
            .into_iter()
            .collect();
        if raw.is_empty() && images.is_empty() {
            return Ok(Parsed::Ignored("no text or photo"));
        }
        let text = self.strip_mentions(&raw, &entities);
        let full_name = [from.first_name, from.last_name]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let sender_name = Some(full_name)
            .filter(|n| !n.is_empty())
            .or(from.username.filter(|u| !u.is_empty()));
        let reply_handle = message.message_id.and_then(|id| {
            let handle = Handle {
                chat: chat_id,
                message: id,
                // Outside forums a thread id marks a reply chain, not a topic.
                thread: message
                    .message_thread_id
                    .filter(|_| message.is_topic_message),
            };
            serde_json::to_string(&handle).ok()
        });
        let msg = InboundMessage {
            platform: NAME.to_string(),
            // Telegram retries an update until it is acknowledged; update_id
            // is what stays the same across those retries.
            message_id: update_id.to_string(),
            group_id: chat_id.to_string(),
            group_name: chat.title,
            sender_id: sender_id.to_string(),
            sender_name,
            text,
            images,
            timestamp: message.date,
            reply_handle,
        };
        Ok(Parsed::Messages(vec![msg]))
    }

    /// Replies always go through `sendMessage`; the update just needs a 2xx.
    pub fn answer(&self, _answers: &[Answer]) -> WebhookResponse {
        WebhookResponse::json(&json!({}))
    }

    pub fn sends(&self) -> bool {
        self.bot_token.is_some()
    }

    pub async fn send(
        &self,
        client: &reqwest::Client,
        out: &Outgoing<'_>,
    ) -> Result<Sent, SendError> {
        let Some(token) = &self.bot_token else {
            return Err(SendError::Permanent("no bot_token configured".into()));
        };
        let chat_id = match out.group_id.parse::<i64>() {
            Ok(id) => json!(id),
            Err(_) => json!(out.group_id),
        };
        let plain = json!({ "chat_id": chat_id, "text": out.text });
        let reply = out
            .reply_handle
            .and_then(|h| serde_json::from_str::<Handle>(h).ok())
            .and_then(|h| h.reply_fields(out.group_id));
        let Some(fields) = reply else {
            return self.send_message(client, token, &plain).await;
        };
        let mut body = plain.clone();
        if let Some(obj) = body.as_object_mut() {
            obj.extend(fields);
        }
        match self.send_message(client, token, &body).await {
            // The topic was deleted or closed since: say it in General instead.
            Err(SendError::Permanent(reason)) if topic_gone(&reason) => {
                self.send_message(client, token, &plain).await
            }
            other => other,
        }
    }

    async fn send_message(
        &self,
        client: &reqwest::Client,
        token: &Secret,
        body: &serde_json::Value,
    ) -> Result<Sent, SendError> {
        // Built here and dropped here: the URL holds the token.
        let url = format!("{}/bot{}/sendMessage", self.api_base, token.expose());
        let (status, header_after, text) = fetch(client.post(url).json(body)).await?;
        classify_response(status.as_u16(), header_after, &text)
    }
}

/// Whether a refusal means the reply's forum topic is no longer there to post in
/// ("Bad Request: message thread not found", "TOPIC_CLOSED", "TOPIC_DELETED", …).
fn topic_gone(reason: &str) -> bool {
    [
        "thread not found",
        "TOPIC_CLOSED",
        "TOPIC_DELETED",
        "TOPIC_ID_INVALID",
    ]
    .iter()
    .any(|m| reason.contains(m))
}

/// Read a Bot API answer: `{"ok": true, ...}` or
/// `{"ok": false, "error_code": 429, "description": ..., "parameters": {"retry_after": 5}}`.
fn classify_response(
    status: u16,
    header_after: Option<Duration>,
    body: &str,
) -> Result<Sent, SendError> {
    #[derive(Deserialize)]
    struct ApiResponse {
        ok: Option<bool>,
        error_code: Option<u16>,
        description: Option<String>,
        parameters: Option<Parameters>,
    }
    #[derive(Deserialize)]
    struct Parameters {
        retry_after: Option<u64>,
        migrate_to_chat_id: Option<i64>,
    }
    let parsed = serde_json::from_str::<ApiResponse>(body).ok();
    if (200..300).contains(&status) && parsed.as_ref().is_none_or(|r| r.ok != Some(false)) {
        return Ok(Sent::Posted);
    }
    let Some(r) = parsed else {
        return Err(SendError::from_status(status, header_after, body));
    };
    let params = r.parameters;
    // "group chat was upgraded to a supergroup chat": nothing was posted.
    if let Some(id) = params.as_ref().and_then(|p| p.migrate_to_chat_id) {
        return Ok(Sent::Moved(id.to_string()));
    }
    let after = params
        .and_then(|p| p.retry_after)
        .map(Duration::from_secs)
        .or(header_after);
    let code = r.error_code.unwrap_or(status);
    // Descriptions name the problem ("Forbidden: bot was kicked from the group
    // chat") and never echo the token.
    let description = r.description.unwrap_or_default();
    Err(SendError::from_status(
        if code == 0 { 500 } else { code },
        after,
        &description,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, Method};
    use proptest::prelude::*;
    use serde_json::Value;

    /// A supergroup text message mentioning the bot, modeled on the Bot API `Update` examples.
    const GROUP_TEXT: &str = r#"{
        "update_id": 734159021,
        "message": {
            "message_id": 1365,
            "from": {"id": 5123456789, "is_bot": false, "first_name": "三", "last_name": "张", "username": "zhangsan", "language_code": "zh-hans"},
            "chat": {"id": -1001987654321, "title": "阳光小区业主群", "type": "supergroup"},
            "date": 1718000000,
            "text": "@GongdanBot 5号楼楼道里堆满了纸箱，没人管 @lisi",
            "entities": [
                {"offset": 0, "length": 11, "type": "mention"},
                {"offset": 28, "length": 5, "type": "mention"}
            ]
        }
    }"#;

    const GROUP_PHOTO: &str = r#"{
        "update_id": 734159022,
        "message": {
            "message_id": 1366,
            "from": {"id": 5123456789, "is_bot": false, "first_name": "三"},
            "chat": {"id": -4012345678, "title": "阳光小区业主群", "type": "group", "all_members_are_administrators": true},
            "date": 1718000100,
            "photo": [
                {"file_id": "AgACAgUAAxkBAAIBsmall", "file_unique_id": "AQADs", "file_size": 1200, "width": 90, "height": 67},
                {"file_id": "AgACAgUAAxkBAAIBlarge", "file_unique_id": "AQADl", "file_size": 81234, "width": 1280, "height": 960}
            ],
            "caption": "😡东门路灯坏了 /resolve@gongdanbot",
            "caption_entities": [{"offset": 9, "length": 19, "type": "bot_command"}]
        }
    }"#;

    const PRIVATE: &str = r#"{"update_id": 1, "message": {"message_id": 1, "from": {"id": 5, "is_bot": false, "first_name": "A"}, "chat": {"id": 5, "first_name": "A", "type": "private"}, "date": 1, "text": "/start", "entities": [{"offset": 0, "length": 6, "type": "bot_command"}]}}"#;
    const EDITED: &str = r#"{"update_id": 2, "edited_message": {"message_id": 1, "from": {"id": 5, "is_bot": false, "first_name": "A"}, "chat": {"id": -5, "title": "g", "type": "group"}, "date": 1, "edit_date": 2, "text": "x"}}"#;
    const MEMBER: &str = r#"{"update_id": 3, "my_chat_member": {"chat": {"id": -5, "title": "g", "type": "group"}, "from": {"id": 5, "is_bot": false, "first_name": "A"}, "date": 1, "old_chat_member": {"status": "left"}, "new_chat_member": {"status": "member"}}}"#;

    fn adapter(secret: Option<&str>, username: Option<&str>) -> Telegram {
        Telegram::new(&TelegramConfig {
            enabled: true,
            bot_token: Some(Secret::new("123456:ABC-DEF")),
            secret_token: secret.map(Secret::new),
            bot_username: username.map(str::to_string),
            api_base: "https://api.telegram.org/".into(),
        })
    }

    fn request(body: &str, secret: Option<&str>) -> RawRequest {
        let mut headers = HeaderMap::new();
        if let Some(s) = secret {
            headers.insert(SECRET_HEADER, HeaderValue::from_str(s).unwrap());
        }
        RawRequest {
            method: Method::POST,
            headers,
            query: Default::default(),
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    fn one(parsed: Parsed) -> InboundMessage {
        match parsed {
            Parsed::Messages(mut v) if v.len() == 1 => v.remove(0),
            other => panic!("expected one message, got {other:?}"),
        }
    }

    #[test]
    fn group_text_message() {
        let msg = one(adapter(None, Some("@GongdanBot"))
            .parse(&request(GROUP_TEXT, None), 0)
            .unwrap());
        assert_eq!(msg.platform, "telegram");
        assert_eq!(msg.message_id, "734159021");
        assert_eq!(msg.group_id, "-1001987654321");
        assert_eq!(msg.group_name.as_deref(), Some("阳光小区业主群"));
        assert_eq!(msg.sender_id, "5123456789");
        assert_eq!(msg.sender_name.as_deref(), Some("三 张"));
        // The bot's mention goes; a neighbour's stays.
        assert_eq!(msg.text, "5号楼楼道里堆满了纸箱，没人管 @lisi");
        assert_eq!(msg.timestamp, Some(1718000000));
        assert!(msg.images.is_empty());
        let handle: Handle = serde_json::from_str(msg.reply_handle.as_deref().unwrap()).unwrap();
        assert_eq!(
            handle,
            Handle {
                chat: -1001987654321,
                message: 1365,
                thread: None
            }
        );
    }

    #[test]
    fn only_forum_topics_become_reply_threads() {
        let a = adapter(None, None);
        let handle = |extra: &str| -> Handle {
            let body = GROUP_TEXT.replace(
                r#""message_id": 1365,"#,
                &format!(r#""message_id": 1365, {extra}"#),
            );
            let msg = one(a.parse(&request(&body, None), 0).unwrap());
            serde_json::from_str(msg.reply_handle.as_deref().unwrap()).unwrap()
        };
        let topic = handle(r#""message_thread_id": 42, "is_topic_message": true,"#);
        assert_eq!(topic.thread, Some(42));
        // A reply chain in a group without topics has a thread id too.
        assert_eq!(handle(r#""message_thread_id": 1300,"#).thread, None);

        let fields = topic.reply_fields("-1001987654321").unwrap();
        assert_eq!(fields["message_thread_id"], json!(42));
        assert_eq!(
            fields["reply_parameters"],
            json!({"message_id": 1365, "allow_sending_without_reply": true})
        );
        assert!(
            topic.reply_fields("-1009999").is_none(),
            "another chat: no quote"
        );
    }

    #[test]
    fn upgrade_service_messages_report_the_move() {
        let a = adapter(None, None);
        let old = r#"{"update_id": 9, "message": {"message_id": 70, "from": {"id": 5, "is_bot": false, "first_name": "A"}, "chat": {"id": -4012345678, "title": "g", "type": "group"}, "date": 1, "migrate_to_chat_id": -1004012345678}}"#;
        let new = r#"{"update_id": 10, "message": {"message_id": 1, "from": {"id": 1087968824, "is_bot": true, "first_name": "Group", "username": "GroupAnonymousBot"}, "sender_chat": {"id": -1004012345678, "title": "g", "type": "supergroup"}, "chat": {"id": -1004012345678, "title": "g", "type": "supergroup"}, "date": 1, "migrate_from_chat_id": -4012345678}}"#;
        for body in [old, new] {
            match a.parse(&request(body, None), 0).unwrap() {
                Parsed::GroupMoved { from, to } => {
                    assert_eq!(
                        (from.as_str(), to.as_str()),
                        ("-4012345678", "-1004012345678")
                    )
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn photo_with_caption_and_emoji_offsets() {
        // 😡 is two UTF-16 units: offsets must be counted the way Telegram does.
        let msg = one(adapter(None, None)
            .parse(&request(GROUP_PHOTO, None), 0)
            .unwrap());
        assert_eq!(msg.text, "😡东门路灯坏了 /resolve");
        assert_eq!(msg.images, vec!["AgACAgUAAxkBAAIBlarge"]);
        assert_eq!(msg.sender_name.as_deref(), Some("三"));
        assert_eq!(msg.group_id, "-4012345678");
    }

    #[test]
    fn username_falls_back_when_no_name() {
        let body = GROUP_TEXT.replace(
            r#""first_name": "三", "last_name": "张", "#,
            r#""first_name": " ", "#,
        );
        let msg = one(adapter(None, None).parse(&request(&body, None), 0).unwrap());
        assert_eq!(msg.sender_name.as_deref(), Some("zhangsan"));
    }

    #[test]
    fn other_updates_are_ignored() {
        let a = adapter(None, None);
        for body in [PRIVATE, EDITED, MEMBER] {
            assert!(
                matches!(a.parse(&request(body, None), 0), Ok(Parsed::Ignored(_))),
                "{body}"
            );
        }
        let from_bot = GROUP_TEXT.replace(r#""is_bot": false"#, r#""is_bot": true"#);
        assert!(matches!(
            a.parse(&request(&from_bot, None), 0),
            Ok(Parsed::Ignored(_))
        ));
        assert_eq!(a.parse(&request("{}", None), 0).unwrap_err().status(), 422);
        assert_eq!(a.parse(&request("[", None), 0).unwrap_err().status(), 400);
    }

    #[test]
    fn secret_token_is_checked_when_set() {
        let a = adapter(Some("s3cret-Token_1"), None);
        assert!(a
            .parse(&request(GROUP_TEXT, Some("s3cret-Token_1")), 0)
            .is_ok());
        for bad in [
            None,
            Some("s3cret-Token_2"),
            Some("s3cret-Token_1x"),
            Some(""),
            Some("s3cret"),
        ] {
            let err = a.parse(&request(GROUP_TEXT, bad), 0).unwrap_err();
            assert_eq!(err.status(), 401, "{bad:?}");
        }
        // No secret configured: the header is not needed.
        assert!(adapter(None, None)
            .parse(&request(GROUP_TEXT, None), 0)
            .is_ok());
    }

    #[test]
    fn utf16_spans() {
        assert_eq!(utf16_span("a😡b", 1, 2), Some((1, 5)));
        assert_eq!(utf16_span("a😡b", 2, 1), None, "inside a surrogate pair");
        assert_eq!(utf16_span("ab", 1, 5), None);
        assert_eq!(utf16_span("ab", 2, 0), Some((2, 2)));
        assert_eq!(utf16_span("ab", usize::MAX, 2), None);
    }

    #[test]
    fn send_api_responses() {
        assert!(classify_response(200, None, r#"{"ok":true,"result":{"message_id":5}}"#).is_ok());
        match classify_response(
            429,
            None,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#,
        ) {
            Err(SendError::Retry { after, .. }) => {
                assert_eq!(after, Some(Duration::from_secs(7)))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_response(
                403,
                None,
                r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was kicked from the group chat"}"#
            ),
            Err(SendError::Permanent(_))
        ));
        assert!(matches!(
            classify_response(
                400,
                None,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234}}"#
            ),
            Ok(Sent::Moved(id)) if id == "-1001234"
        ));
        assert!(matches!(
            classify_response(502, None, "<html>Bad Gateway</html>"),
            Err(SendError::Retry { .. })
        ));
    }

    #[test]
    fn debug_output_hides_the_token() {
        let a = adapter(Some("s3cret-Token_1"), None);
        let shown = format!("{a:?}");
        assert!(
            !shown.contains("ABC-DEF") && !shown.contains("s3cret"),
            "{shown}"
        );
        let v: Value = serde_json::from_slice(&a.answer(&[]).body).unwrap();
        assert_eq!(v, json!({}));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::fuzz_cases(256)))]

        #[test]
        fn parse_never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = adapter(None, None).parse(&RawRequest { body: body.into(), ..request("", None) }, 0);
        }

        #[test]
        fn parse_never_panics_on_mutated_payloads(
            which in 0usize..2,
            cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut body = [GROUP_TEXT, GROUP_PHOTO][which].as_bytes().to_vec();
            for (i, b) in cuts {
                let at = i.index(body.len());
                body[at] = b;
            }
            let _ = adapter(None, None).parse(&RawRequest { body: body.into(), ..request("", None) }, 0);
        }

        #[test]
        fn mention_stripping_never_panics(
            text in "\\PC{0,40}",
            spans in proptest::collection::vec((0usize..60, 0usize..60, 0usize..3), 0..5),
        ) {
            let entities: Vec<Entity> = spans
                .into_iter()
                .map(|(offset, length, k)| Entity {
                    kind: ["mention", "bot_command", "bold"][k].to_string(),
                    offset,
                    length,
                })
                .collect();
            let _ = adapter(None, None).strip_mentions(&text, &entities);
        }
    }
}
