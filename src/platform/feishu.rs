//! Feishu / Lark: event subscription v2 over HTTP (URL check, Encrypt Key, `im.message.receive_v1`) and replies through the IM API.
//!
//! Inbound: a POST carries either plain JSON or `{"encrypt": "…"}` (AES-256-CBC,
//! key = SHA-256(Encrypt Key), IV = first 16 bytes of the Base64-decoded data).
//! With an Encrypt Key, every event is also signed: `X-Lark-Signature` = hex
//! SHA-256(timestamp + nonce + encrypt_key + raw body). The URL check is sent
//! without a signature, so an unsigned request is only ever answered as a URL
//! check, and every way it can fail looks the same to the sender.
//!
//! Outbound: replies quote the resident's message (`…/messages/:id/reply`);
//! a reply with no message to quote goes to the chat. Both need a
//! `tenant_access_token`, fetched with the app's credentials and cached here
//! until shortly before it expires. Every attempt at one reply carries the
//! same `uuid`, which Feishu honours for an hour: a retry after a lost answer
//! is not posted twice.

use std::fmt;
use std::time::Duration;

use axum::http::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::token::CachedToken;
use super::{
    crypto, fetch, signature, Answer, Outgoing, Parsed, PlatformError, RawRequest, SendError,
    WebhookResponse,
};
use crate::config::{FeishuConfig, Secret};
use crate::message::InboundMessage;

pub const NAME: &str = "feishu";
pub const SIGNATURE_HEADER: &str = "x-lark-signature";
pub const TIMESTAMP_HEADER: &str = "x-lark-request-timestamp";
pub const NONCE_HEADER: &str = "x-lark-request-nonce";

pub const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";
const EVENT_MESSAGE: &str = "im.message.receive_v1";

/// Codes meaning "the access token is missing, invalid or expired": refresh once and retry.
const TOKEN_CODES: [i64; 5] = [99991661, 99991663, 99991664, 99991668, 99991677];
/// Codes meaning "too many requests": try again later.
const RATE_CODES: [i64; 2] = [99991400, 230020];

pub struct Feishu {
    app_id: String,
    app_secret: Secret,
    verification_token: Option<Secret>,
    /// The Encrypt Key as typed (it is part of the signed string) and its SHA-256 (the AES key).
    encrypt_key: Option<(Secret, [u8; 32])>,
    api_base: String,
    max_skew: i64,
    /// Held across the token request, so concurrent sends share one fetch.
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

impl fmt::Debug for Feishu {
    // Hand-written: the derived form would print the AES key bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feishu")
            .field("app_id", &self.app_id)
            .field("encrypted", &self.encrypt_key.is_some())
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

/// The outer shape shared by every callback: URL check, v2 event, or (old) v1 event.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Option<String>,
    challenge: Option<String>,
    /// v1 events and the URL check carry the verification token at the top level.
    token: Option<String>,
    schema: Option<String>,
    header: Option<Header>,
    event: Option<Value>,
}

#[derive(Deserialize)]
struct Header {
    event_id: Option<String>,
    event_type: Option<String>,
    token: Option<String>,
}

#[derive(Deserialize)]
struct ReceiveEvent {
    sender: Option<Sender>,
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Sender {
    sender_id: Option<UserIds>,
    sender_type: Option<String>,
}

#[derive(Deserialize)]
struct UserIds {
    open_id: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    message_id: Option<String>,
    chat_id: Option<String>,
    chat_type: Option<String>,
    message_type: Option<String>,
    /// A JSON document inside a string, shaped by `message_type`.
    content: Option<String>,
    /// Milliseconds, sent as a string.
    create_time: Option<Value>,
    #[serde(default)]
    mentions: Vec<Mention>,
}

#[derive(Deserialize)]
struct Mention {
    /// The placeholder in the text, e.g. `@_user_1`.
    key: Option<String>,
}

#[derive(Deserialize)]
struct TokenReply {
    code: Option<i64>,
    msg: Option<String>,
    tenant_access_token: Option<String>,
    expire: Option<i64>,
}

fn non_empty(v: Option<String>, field: &'static str) -> Result<String, PlatformError> {
    match v {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(PlatformError::MissingField(field)),
    }
}

/// Decrypt an `encrypt` field: Base64 → IV (16 bytes) ‖ AES-256-CBC ciphertext, PKCS#7.
pub fn decrypt(aes_key: &[u8; 32], encrypted: &str) -> Option<Vec<u8>> {
    let raw = crypto::b64_decode(encrypted)?;
    if raw.len() < 32 {
        return None;
    }
    let (iv, data) = raw.split_at(16);
    let iv: [u8; 16] = iv.try_into().ok()?;
    let plain = crypto::aes256_cbc_decrypt(aes_key, &iv, data)?;
    crypto::pkcs7_unpad(&plain, 16).map(<[u8]>::to_vec)
}

/// The inverse of [`decrypt`] with a caller-chosen IV (Feishu picks a random one).
pub fn encrypt(aes_key: &[u8; 32], iv: &[u8; 16], plain: &[u8]) -> String {
    let ct =
        crypto::aes256_cbc_encrypt(aes_key, iv, &crypto::pkcs7_pad(plain, 16)).unwrap_or_default();
    let mut framed = iv.to_vec();
    framed.extend_from_slice(&ct);
    crypto::b64_encode(&framed)
}

/// The AES key for an Encrypt Key.
pub fn aes_key(encrypt_key: &str) -> [u8; 32] {
    Sha256::digest(encrypt_key.as_bytes()).into()
}

/// `X-Lark-Signature`: SHA-256 over timestamp + nonce + encrypt_key + body.
pub fn sign(timestamp: &str, nonce: &str, encrypt_key: &str, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(timestamp.as_bytes());
    h.update(nonce.as_bytes());
    h.update(encrypt_key.as_bytes());
    h.update(body);
    h.finalize().into()
}

/// Remove mention placeholders (`@_user_1`) from text. Longer keys first, so
/// `@_user_1` does not eat the start of `@_user_10`.
fn strip_mentions(text: &str, mentions: &[Mention]) -> String {
    let mut keys: Vec<&str> = mentions
        .iter()
        .filter_map(|m| m.key.as_deref())
        .filter(|k| !k.is_empty())
        .collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let mut out = text.to_string();
    for k in keys {
        out = out.replace(k, " ");
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text and image keys of a rich-text (`post`) message. Received posts are
/// `{"title", "content": [[elements]]}`; some clients wrap that in a locale key.
fn post_parts(content: &Value) -> (String, Vec<String>) {
    let body = if content.get("content").is_some() {
        content
    } else {
        content
            .as_object()
            .and_then(|o| o.values().find(|v| v.get("content").is_some()))
            .unwrap_or(content)
    };
    let mut text = String::new();
    let mut images = Vec::new();
    if let Some(title) = body.get("title").and_then(Value::as_str) {
        text.push_str(title);
    }
    let paragraphs = body.get("content").and_then(Value::as_array);
    for para in paragraphs.into_iter().flatten() {
        if !text.is_empty() {
            text.push('\n');
        }
        for el in para.as_array().into_iter().flatten() {
            match el.get("tag").and_then(Value::as_str) {
                Some("text") | Some("a") | Some("md") => {
                    if let Some(t) = el.get("text").and_then(Value::as_str) {
                        text.push_str(t);
                    }
                }
                Some("img") => {
                    if let Some(k) = el.get("image_key").and_then(Value::as_str) {
                        images.push(k.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    (text, images)
}

fn millis_to_secs(v: Option<&Value>) -> Option<i64> {
    let ms = match v? {
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    Some(ms / 1000)
}

/// Feishu's `uuid` limit (send and reply APIs: "最大长度：50 字符").
const UUID_MAX: usize = 50;

/// The `uuid` for a reply: its outbox key, plus a digest of where it goes and
/// what it says. Outbox ids start again in a fresh or restored database, and
/// Feishu would silently drop a new reply that reused a uuid within the hour;
/// the digest keeps such a reply distinct.
fn request_uuid(out: &Outgoing<'_>) -> String {
    let mut h = Sha256::new();
    h.update(out.group_id.as_bytes());
    h.update([0]);
    h.update(out.text.as_bytes());
    let tag = hex::encode(&h.finalize()[..8]);
    let key: String = out
        .idempotency_key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(UUID_MAX - tag.len() - 1)
        .collect();
    format!("{key}-{tag}")
}

/// Message ids go into a URL path: accept only the characters Feishu uses.
fn path_safe(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Feishu {
    pub fn new(config: &FeishuConfig) -> Self {
        let secret_or_none = |s: &Option<Secret>| s.clone().filter(|s| !s.expose().is_empty());
        Feishu {
            app_id: config.app_id.clone().unwrap_or_default(),
            app_secret: config.app_secret.clone().unwrap_or_else(|| Secret::new("")),
            verification_token: secret_or_none(&config.verification_token),
            encrypt_key: secret_or_none(&config.encrypt_key).map(|k| {
                let key = aes_key(k.expose());
                (k, key)
            }),
            api_base: config.api_base.trim_end_matches('/').to_string(),
            max_skew: i64::try_from(config.max_clock_skew_secs).unwrap_or(i64::MAX),
            token: tokio::sync::Mutex::new(None),
        }
    }

    pub fn parse(&self, req: &RawRequest, now: i64) -> Result<Parsed, PlatformError> {
        if req.method != Method::POST {
            return Err(PlatformError::Malformed("Feishu events are POSTed".into()));
        }
        let outer: Value = serde_json::from_slice(&req.body)
            .map_err(|e| PlatformError::Malformed(format!("invalid JSON: {e}")))?;
        let encrypted = outer.get("encrypt");
        let (plain, signed) = match (&self.encrypt_key, encrypted) {
            (Some((raw_key, aes)), Some(enc)) => {
                let enc = enc.as_str().ok_or(PlatformError::BadCiphertext)?;
                let signed = self.check_signature(req, raw_key, now)?;
                match decrypt(aes, enc) {
                    Some(p) => (p, signed),
                    // Unsigned: a URL check or nothing. Same answer for every
                    // failure, so nobody can probe the padding.
                    None if !signed => return Err(PlatformError::BadSignature),
                    None => return Err(PlatformError::BadCiphertext),
                }
            }
            // We cannot read what we have no key for.
            (None, Some(_)) => return Err(PlatformError::BadCiphertext),
            // With an Encrypt Key set, Feishu encrypts everything: plain text is not from it.
            (Some(_), None) => return Err(PlatformError::BadSignature),
            (None, None) => (req.body.to_vec(), false),
        };
        let env: Envelope = match serde_json::from_slice(&plain) {
            Ok(env) => env,
            Err(_) if self.encrypt_key.is_some() && !signed => {
                return Err(PlatformError::BadSignature)
            }
            Err(e) => return Err(PlatformError::Malformed(format!("invalid event JSON: {e}"))),
        };

        if env.kind.as_deref() == Some("url_verification") {
            self.check_token(env.token.as_deref())?;
            let challenge = env
                .challenge
                .ok_or(PlatformError::MissingField("challenge"))?;
            return Ok(Parsed::Handshake(WebhookResponse::json(
                &json!({ "challenge": challenge }),
            )));
        }
        if self.encrypt_key.is_some() && !signed {
            // Only the URL check may arrive unsigned.
            return Err(PlatformError::BadSignature);
        }
        let header_token = env.header.as_ref().and_then(|h| h.token.as_deref());
        self.check_token(header_token.or(env.token.as_deref()))?;

        if env.schema.as_deref() != Some("2.0") {
            return Ok(Parsed::Ignored("Feishu v1 event schema"));
        }
        let header = env.header.ok_or(PlatformError::MissingField("header"))?;
        if header.event_type.as_deref() != Some(EVENT_MESSAGE) {
            return Ok(Parsed::Ignored("Feishu event type not handled"));
        }
        let event_id = non_empty(header.event_id, "header.event_id")?;
        let event: ReceiveEvent = serde_json::from_value(env.event.unwrap_or(Value::Null))
            .map_err(|e| PlatformError::Malformed(format!("invalid message event: {e}")))?;
        self.message(event_id, event)
    }

    fn message(&self, event_id: String, event: ReceiveEvent) -> Result<Parsed, PlatformError> {
        let msg = event
            .message
            .ok_or(PlatformError::MissingField("event.message"))?;
        if msg.chat_type.as_deref() != Some("group") {
            return Ok(Parsed::Ignored("not a group chat"));
        }
        let sender = event
            .sender
            .ok_or(PlatformError::MissingField("event.sender"))?;
        if sender.sender_type.as_deref().is_some_and(|t| t != "user") {
            return Ok(Parsed::Ignored("sent by an app, not a person"));
        }
        let open_id = non_empty(
            sender.sender_id.and_then(|s| s.open_id),
            "event.sender.sender_id.open_id",
        )?;
        let content: Value = match msg.content.as_deref() {
            Some(c) => serde_json::from_str(c)
                .map_err(|_| PlatformError::Malformed("message.content is not JSON".into()))?,
            None => return Err(PlatformError::MissingField("event.message.content")),
        };
        let (text, images) = match msg.message_type.as_deref() {
            Some("text") => {
                let t = content
                    .get("text")
                    .and_then(Value::as_str)
                    .ok_or(PlatformError::MissingField("content.text"))?;
                (t.to_string(), Vec::new())
            }
            Some("image") => {
                let k = content
                    .get("image_key")
                    .and_then(Value::as_str)
                    .ok_or(PlatformError::MissingField("content.image_key"))?;
                (String::new(), vec![k.to_string()])
            }
            Some("post") => post_parts(&content),
            _ => return Ok(Parsed::Ignored("message type not handled")),
        };
        let message_id = non_empty(msg.message_id, "event.message.message_id")?;
        Ok(Parsed::Messages(vec![InboundMessage {
            platform: NAME.to_string(),
            // Feishu redelivers with the same event_id: that is the dedupe key.
            message_id: event_id,
            group_id: non_empty(msg.chat_id, "event.message.chat_id")?,
            group_name: None,
            sender_id: open_id,
            sender_name: None,
            text: strip_mentions(&text, &msg.mentions),
            images,
            timestamp: millis_to_secs(msg.create_time.as_ref()),
            reply_handle: Some(message_id),
        }]))
    }

    /// `Ok(true)` when the request carries a valid, fresh signature; `Ok(false)`
    /// when it carries none (only the URL check may); an error otherwise.
    fn check_signature(
        &self,
        req: &RawRequest,
        encrypt_key: &Secret,
        now: i64,
    ) -> Result<bool, PlatformError> {
        let Some(sent) = req.header(SIGNATURE_HEADER) else {
            return Ok(false);
        };
        let ts = req
            .header(TIMESTAMP_HEADER)
            .ok_or(PlatformError::BadSignature)?;
        let nonce = req.header(NONCE_HEADER).unwrap_or("");
        let want = sign(ts, nonce, encrypt_key.expose(), &req.body);
        if !signature::hex_matches(sent, &want) {
            return Err(PlatformError::BadSignature);
        }
        let ts: i64 = ts
            .trim()
            .parse()
            .map_err(|_| PlatformError::StaleTimestamp)?;
        if (i128::from(now) - i128::from(ts)).abs() > i128::from(self.max_skew) {
            return Err(PlatformError::StaleTimestamp);
        }
        Ok(true)
    }

    fn check_token(&self, sent: Option<&str>) -> Result<(), PlatformError> {
        let Some(want) = &self.verification_token else {
            return Ok(());
        };
        match sent {
            Some(t) if signature::equal(t.as_bytes(), want.expose().as_bytes()) => Ok(()),
            _ => Err(PlatformError::BadSignature),
        }
    }

    pub fn answer(&self, _answers: &[Answer]) -> WebhookResponse {
        // Replies go through the send API; Feishu only needs a quick 200.
        WebhookResponse::json(&json!({}))
    }

    pub fn sends(&self) -> bool {
        true
    }

    pub async fn send(
        &self,
        client: &reqwest::Client,
        out: &Outgoing<'_>,
    ) -> Result<(), SendError> {
        let content = json!({ "text": out.text }).to_string();
        let uuid = request_uuid(out);
        let (url, body) = match out.reply_handle.filter(|id| path_safe(id)) {
            Some(message_id) => (
                format!(
                    "{}/open-apis/im/v1/messages/{message_id}/reply",
                    self.api_base
                ),
                json!({ "msg_type": "text", "content": content, "uuid": uuid }),
            ),
            None => (
                format!(
                    "{}/open-apis/im/v1/messages?receive_id_type=chat_id",
                    self.api_base
                ),
                json!({ "receive_id": out.group_id, "msg_type": "text", "content": content, "uuid": uuid }),
            ),
        };
        let mut refreshed = false;
        loop {
            let token = self.token(client).await?;
            let (status, after, text) =
                fetch(client.post(&url).bearer_auth(token.expose()).json(&body)).await?;
            let reply: Option<Value> = serde_json::from_str(&text).ok();
            let code = reply.as_ref().and_then(|v| v.get("code")?.as_i64());
            match code {
                Some(c) if TOKEN_CODES.contains(&c) && !refreshed => {
                    // The cached token died early (revoked, or the app secret
                    // changed): fetch a new one and try exactly once more.
                    refreshed = true;
                    *self.token.lock().await = None;
                    continue;
                }
                Some(0) if status.is_success() => return Ok(()),
                Some(c) if RATE_CODES.contains(&c) => {
                    return Err(SendError::Retry {
                        reason: format!("Feishu rate limit (code {c})"),
                        after: after.or(Some(Duration::from_secs(1))),
                    })
                }
                _ if !status.is_success() => {
                    return Err(SendError::from_status(status.as_u16(), after, &text))
                }
                Some(c) => {
                    let msg = reply
                        .as_ref()
                        .and_then(|v| v.get("msg")?.as_str())
                        .unwrap_or("");
                    return Err(SendError::Permanent(format!("Feishu code {c}: {msg}")));
                }
                None => {
                    return Err(SendError::Permanent(
                        "Feishu answered without a result code".into(),
                    ))
                }
            }
        }
    }

    /// A valid tenant_access_token: the cached one, or a new one.
    async fn token(&self, client: &reqwest::Client) -> Result<Secret, SendError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().and_then(CachedToken::fresh) {
            return Ok(t.clone());
        }
        let (status, after, text) = fetch(
            client
                .post(format!("{}{TOKEN_PATH}", self.api_base))
                .json(&json!({ "app_id": self.app_id, "app_secret": self.app_secret.expose() })),
        )
        .await?;
        let reply: Option<TokenReply> = serde_json::from_str(&text).ok();
        let Some(reply) = reply else {
            return Err(SendError::from_status(status.as_u16(), after, &text));
        };
        match (reply.code, reply.tenant_access_token) {
            (Some(0), Some(token)) if !token.is_empty() => {
                let value = Secret::new(token);
                *cached = Some(CachedToken::new(value.clone(), reply.expire.unwrap_or(0)));
                Ok(value)
            }
            _ if status.as_u16() == 429 || status.is_server_error() => {
                Err(SendError::from_status(status.as_u16(), after, ""))
            }
            (code, _) => Err(SendError::Permanent(format!(
                "Feishu refused the app credentials (code {}: {})",
                code.unwrap_or(-1),
                reply.msg.unwrap_or_default()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use axum::http::{HeaderMap, HeaderValue};
    use bytes::Bytes;

    const DOC_KEY: &str = "test key";
    /// Feishu's documented example: this decrypts to "hello world" under "test key".
    const DOC_CIPHERTEXT: &str = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=";

    fn adapter(encrypt_key: Option<&str>, token: Option<&str>) -> Feishu {
        Feishu::new(&FeishuConfig {
            enabled: true,
            app_id: Some("cli_test".into()),
            app_secret: Some(Secret::new("app-secret")),
            verification_token: token.map(Secret::new),
            encrypt_key: encrypt_key.map(Secret::new),
            ..FeishuConfig::default()
        })
    }

    fn post(body: &str, headers: &[(&'static str, String)]) -> RawRequest {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        RawRequest {
            method: Method::POST,
            headers: map,
            query: HashMap::new(),
            body: Bytes::from(body.to_string()),
        }
    }

    fn signed(body: &str, ts: i64) -> RawRequest {
        let sig = hex::encode(sign(&ts.to_string(), "n1", DOC_KEY, body.as_bytes()));
        post(
            body,
            &[
                (TIMESTAMP_HEADER, ts.to_string()),
                (NONCE_HEADER, "n1".into()),
                (SIGNATURE_HEADER, sig),
            ],
        )
    }

    fn event(text: &str) -> Value {
        json!({
            "schema": "2.0",
            "header": {"event_id": "ev1", "event_type": "im.message.receive_v1",
                       "create_time": "1700000000000", "token": "vt", "app_id": "cli_test"},
            "event": {
                "sender": {"sender_id": {"open_id": "ou_resident"}, "sender_type": "user"},
                "message": {
                    "message_id": "om_1", "chat_id": "oc_group", "chat_type": "group",
                    "message_type": "text", "create_time": "1700000000123",
                    "content": json!({"text": text}).to_string(),
                    "mentions": [{"key": "@_user_1", "name": "工单助手"}]
                }
            }
        })
    }

    #[test]
    fn decrypts_the_documented_example() {
        let key = aes_key(DOC_KEY);
        assert_eq!(decrypt(&key, DOC_CIPHERTEXT).unwrap(), b"hello world");
        assert!(decrypt(&aes_key("other key"), DOC_CIPHERTEXT).is_none());
        assert!(decrypt(&key, "AAAA").is_none());
        assert!(decrypt(&key, "not base64!").is_none());
    }

    #[test]
    fn encrypts_to_a_known_vector() {
        // Computed with `openssl enc -aes-256-cbc -K sha256("test key") -iv 000102…0f`.
        let iv: [u8; 16] = std::array::from_fn(|i| i as u8);
        let plain = br#"{"challenge":"ajls384kdjx98XX","token":"vt","type":"url_verification"}"#;
        let enc = encrypt(&aes_key(DOC_KEY), &iv, plain);
        assert_eq!(enc, "AAECAwQFBgcICQoLDA0ODw9mLTIAZS9jAmGTQ1wAhHpnBHVL2wRjH9rPunQdQC1vQiLqGCCXBSNtHRCSBYbL5+LTU7kS91mMpEBXQOCo8AehiQek9N+qfCfkbhXkM223");
        assert_eq!(decrypt(&aes_key(DOC_KEY), &enc).unwrap(), plain);
    }

    #[test]
    fn signature_known_vector() {
        // hashlib.sha256(b"1700000000" + b"nonce-1" + b"test key" + body).hexdigest()
        let body = br#"{"encrypt":"P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="}"#;
        assert_eq!(
            hex::encode(sign("1700000000", "nonce-1", DOC_KEY, body)),
            "002a272a435d056759149cce18e88064ff320d38d91a09432445c344c4296949"
        );
    }

    #[test]
    fn plain_url_verification_checks_the_token() {
        let a = adapter(None, Some("vt"));
        let ok = post(
            r#"{"challenge":"c1","token":"vt","type":"url_verification"}"#,
            &[],
        );
        match a.parse(&ok, 0).unwrap() {
            Parsed::Handshake(r) => assert_eq!(r.body, br#"{"challenge":"c1"}"#),
            other => panic!("{other:?}"),
        }
        let bad = post(
            r#"{"challenge":"c1","token":"nope","type":"url_verification"}"#,
            &[],
        );
        assert!(matches!(a.parse(&bad, 0), Err(PlatformError::BadSignature)));
    }

    #[test]
    fn encrypted_url_verification_needs_no_signature() {
        let a = adapter(Some(DOC_KEY), Some("vt"));
        let iv = [9u8; 16];
        let enc = encrypt(
            &aes_key(DOC_KEY),
            &iv,
            br#"{"challenge":"c2","token":"vt","type":"url_verification"}"#,
        );
        let req = post(&json!({ "encrypt": enc }).to_string(), &[]);
        match a.parse(&req, 1_700_000_000).unwrap() {
            Parsed::Handshake(r) => assert_eq!(r.body, br#"{"challenge":"c2"}"#),
            other => panic!("{other:?}"),
        }
        // An unsigned *event* is refused even though it decrypts.
        let enc = encrypt(&aes_key(DOC_KEY), &iv, event("hi").to_string().as_bytes());
        let req = post(&json!({ "encrypt": enc }).to_string(), &[]);
        assert!(matches!(
            a.parse(&req, 1_700_000_000),
            Err(PlatformError::BadSignature)
        ));
        // Unsigned garbage gets the same answer as a wrong key: no padding oracle.
        let req = post(&json!({ "encrypt": DOC_CIPHERTEXT }).to_string(), &[]);
        assert!(matches!(a.parse(&req, 0), Err(PlatformError::BadSignature)));
    }

    #[test]
    fn signed_encrypted_message_parses() {
        let a = adapter(Some(DOC_KEY), Some("vt"));
        let now = 1_700_000_000;
        let enc = encrypt(
            &aes_key(DOC_KEY),
            &[3u8; 16],
            event("@_user_1 5号楼楼道里堆满了纸箱，没人管")
                .to_string()
                .as_bytes(),
        );
        let body = json!({ "encrypt": enc }).to_string();
        let Parsed::Messages(msgs) = a.parse(&signed(&body, now), now).unwrap() else {
            panic!("expected a message")
        };
        let m = &msgs[0];
        assert_eq!(m.message_id, "ev1");
        assert_eq!(m.group_id, "oc_group");
        assert_eq!(m.sender_id, "ou_resident");
        assert_eq!(m.text, "5号楼楼道里堆满了纸箱，没人管");
        assert_eq!(m.timestamp, Some(1_700_000_000));
        assert_eq!(m.reply_handle.as_deref(), Some("om_1"));

        assert!(matches!(
            a.parse(&signed(&body, now - 301), now),
            Err(PlatformError::StaleTimestamp)
        ));
        let mut tampered = signed(&body, now);
        tampered.body = Bytes::from(body.replace('A', "B"));
        assert!(matches!(
            a.parse(&tampered, now),
            Err(PlatformError::BadSignature)
        ));
    }

    #[test]
    fn plain_events_check_the_header_token() {
        let a = adapter(None, Some("vt"));
        let ok = post(&event("hi").to_string(), &[]);
        assert!(matches!(a.parse(&ok, 0), Ok(Parsed::Messages(_))));
        let mut e = event("hi");
        e["header"]["token"] = json!("wrong");
        let bad = post(&e.to_string(), &[]);
        assert!(matches!(a.parse(&bad, 0), Err(PlatformError::BadSignature)));
    }

    #[test]
    fn mentions_images_posts_and_private_chats() {
        let mentions = vec![
            Mention {
                key: Some("@_user_1".into()),
            },
            Mention {
                key: Some("@_user_10".into()),
            },
        ];
        assert_eq!(
            strip_mentions("@_user_1  楼道 @_user_10 堆满了", &mentions),
            "楼道 堆满了"
        );

        let a = adapter(None, None);
        let mut e = event("");
        e["event"]["message"]["message_type"] = json!("image");
        e["event"]["message"]["content"] = json!(r#"{"image_key":"img_v2_abc"}"#);
        let Ok(Parsed::Messages(m)) = a.parse(&post(&e.to_string(), &[]), 0) else {
            panic!()
        };
        assert_eq!(m[0].images, vec!["img_v2_abc".to_string()]);

        e["event"]["message"]["message_type"] = json!("post");
        e["event"]["message"]["content"] = json!(json!({"title": "", "content": [[
            {"tag": "at", "user_id": "@_user_1"},
            {"tag": "text", "text": "垃圾桶满了"},
            {"tag": "img", "image_key": "img_1"}
        ]]})
        .to_string());
        let Ok(Parsed::Messages(m)) = a.parse(&post(&e.to_string(), &[]), 0) else {
            panic!()
        };
        assert_eq!(m[0].text, "垃圾桶满了");
        assert_eq!(m[0].images, vec!["img_1".to_string()]);

        e["event"]["message"]["chat_type"] = json!("p2p");
        assert!(matches!(
            a.parse(&post(&e.to_string(), &[]), 0),
            Ok(Parsed::Ignored(_))
        ));
    }

    #[test]
    fn refusals_are_errors_not_panics() {
        let a = adapter(Some(DOC_KEY), None);
        assert!(matches!(
            a.parse(&post("not json", &[]), 0),
            Err(PlatformError::Malformed(_))
        ));
        assert!(matches!(
            a.parse(&post(r#"{"encrypt": 5}"#, &[]), 0),
            Err(PlatformError::BadCiphertext)
        ));
        assert!(matches!(
            a.parse(&post(r#"{"schema":"2.0"}"#, &[]), 0),
            Err(PlatformError::BadSignature)
        ));
        let plain = adapter(None, None);
        assert!(matches!(
            plain.parse(&post(r#"{"encrypt":"abc"}"#, &[]), 0),
            Err(PlatformError::BadCiphertext)
        ));
        assert!(path_safe("om_dc13264520392913993dd051dba21dcf"));
    }

    #[test]
    fn request_uuid_is_stable_short_and_distinct() {
        let out = |key, text| Outgoing {
            group_id: "oc_group",
            text,
            reply_handle: None,
            ticket: None,
            idempotency_key: key,
        };
        let a = request_uuid(&out("gongdan-18446744073709551615", "已受理"));
        assert_eq!(
            a,
            request_uuid(&out("gongdan-18446744073709551615", "已受理"))
        );
        assert!(a.starts_with("gongdan-18446744073709551615-"), "{a}");
        assert!(a.len() <= UUID_MAX, "{a}");
        // The same outbox id in a fresh database, another reply: another uuid.
        assert_ne!(
            a,
            request_uuid(&out("gongdan-18446744073709551615", "已办结"))
        );
        let long = "k".repeat(80);
        assert!(request_uuid(&out(&long, "x")).len() <= UUID_MAX);
        assert!(!path_safe("../../x"));
        assert!(!path_safe(""));
    }
}
