//! WeCom (企业微信) 智能机器人 in API mode: encrypted JSON callbacks in, `response_url` or a group-robot webhook out.
//!
//! Both the URL check (GET, `echostr`) and message callbacks (POST,
//! `{"encrypt": …}`) carry `msg_signature`, `timestamp` and `nonce` in the
//! query. `msg_signature` = hex SHA-1 of the sorted concatenation of (token,
//! timestamp, nonce, ciphertext). The ciphertext is AES-256-CBC with key =
//! Base64(EncodingAESKey + "="), IV = the key's first 16 bytes, PKCS#7 to
//! 32-byte blocks, over 16 random bytes ‖ u32 BE length ‖ message ‖ ReceiveId
//! (an empty ReceiveId for a company's own AI bot).
//!
//! Replies: each message brings a `response_url`, valid for one hour and for
//! one call. It is kept in the reply handle; replies it cannot carry (a
//! second reply, an expired one, or a post to a group with no message behind
//! it) go through a group-robot webhook when one is configured for the chat.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use super::{
    crypto, fetch, signature, Answer, Outgoing, Parsed, PlatformError, RawRequest, SendError,
    WebhookResponse,
};
use crate::config::{Secret, WecomConfig};
use crate::message::InboundMessage;

pub const NAME: &str = "wecom";
pub const WEBHOOK_PATH: &str = "/cgi-bin/webhook/send";

/// How long a `response_url` lives, per WeCom's documentation (seconds).
const RESPONSE_URL_TTL: i64 = 3600;
/// A `response_url` this close to its expiry is not trusted any more (seconds).
const RESPONSE_URL_MARGIN: i64 = 30;
/// Group-robot webhook: "too many messages" (20 a minute per robot).
const RATE_ERRCODES: [i64; 1] = [45009];
/// Remembered used-up `response_url`s before the set is cleared.
const USED_CAP: usize = 4096;

pub struct Wecom {
    token: Secret,
    key: [u8; 32],
    receive_id: String,
    webhook_keys: BTreeMap<String, Secret>,
    webhook_base: String,
    max_skew: i128,
    /// `response_url`s already answered: each takes exactly one call.
    used: Mutex<HashSet<String>>,
}

impl fmt::Debug for Wecom {
    // Hand-written: the derived form would print the AES key bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wecom")
            .field(
                "webhook_chats",
                &self.webhook_keys.keys().collect::<Vec<_>>(),
            )
            .field("webhook_base", &self.webhook_base)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Envelope {
    encrypt: Option<String>,
}

#[derive(Deserialize)]
struct Callback {
    msgid: Option<String>,
    chatid: Option<String>,
    chattype: Option<String>,
    from: Option<From>,
    response_url: Option<String>,
    msgtype: Option<String>,
    text: Option<Content>,
    /// `{"msg_item": [...]}`, which some deliveries send as a JSON string.
    mixed: Option<Value>,
    create_time: Option<i64>,
}

#[derive(Deserialize)]
struct From {
    userid: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    content: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Handle {
    /// The response_url (its `response_code` is a credential: never log it).
    url: String,
    /// Expiry, unix seconds.
    exp: i64,
}

/// `msg_signature`: hex SHA-1 over the sorted concatenation of the four values.
pub fn msg_signature(token: &str, timestamp: &str, nonce: &str, encrypted: &str) -> String {
    let mut parts = [token, timestamp, nonce, encrypted];
    parts.sort_unstable();
    hex::encode(Sha1::digest(parts.concat().as_bytes()))
}

/// Decrypt a payload and check its ReceiveId; `None` for anything malformed.
pub fn decrypt(key: &[u8; 32], receive_id: &str, encrypted: &str) -> Option<Vec<u8>> {
    let raw = crypto::b64_decode(encrypted)?;
    let iv: [u8; 16] = key[..16].try_into().ok()?;
    let plain = crypto::aes256_cbc_decrypt(key, &iv, &raw)?;
    let body = crypto::pkcs7_unpad(&plain, 32)?;
    let len_bytes: [u8; 4] = body.get(16..20)?.try_into().ok()?;
    let len = usize::try_from(u32::from_be_bytes(len_bytes)).ok()?;
    let end = 20usize.checked_add(len)?;
    let msg = body.get(20..end)?;
    let rid = body.get(end..)?;
    (rid == receive_id.as_bytes()).then(|| msg.to_vec())
}

/// The inverse of [`decrypt`], with caller-chosen random bytes (for tests and passive replies).
pub fn encrypt(key: &[u8; 32], receive_id: &str, random: &[u8; 16], msg: &[u8]) -> String {
    let mut plain = Vec::with_capacity(msg.len() + receive_id.len() + 52);
    plain.extend_from_slice(random);
    plain.extend_from_slice(&u32::try_from(msg.len()).unwrap_or(u32::MAX).to_be_bytes());
    plain.extend_from_slice(msg);
    plain.extend_from_slice(receive_id.as_bytes());
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&key[..16]);
    let ct =
        crypto::aes256_cbc_encrypt(key, &iv, &crypto::pkcs7_pad(&plain, 32)).unwrap_or_default();
    crypto::b64_encode(&ct)
}

/// Drop the leading @mention of the bot: `@RobotA hello` → `hello`. WeCom
/// separates a mention from the text with a space or U+2005.
fn strip_leading_mention(text: &str) -> String {
    let t = text.trim();
    match t.strip_prefix('@') {
        Some(rest) => match rest.find(char::is_whitespace) {
            Some(i) => rest[i..].trim().to_string(),
            // Only the mention: nothing was said.
            None => String::new(),
        },
        None => t.to_string(),
    }
}

fn mixed_parts(mixed: &Value) -> (String, Vec<String>) {
    let parsed;
    let mixed = match mixed {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
            &parsed
        }
        v => v,
    };
    let mut texts = Vec::new();
    let mut images = Vec::new();
    for item in mixed
        .get("msg_item")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match item.get("msgtype").and_then(Value::as_str) {
            Some("text") => {
                if let Some(t) = item.pointer("/text/content").and_then(Value::as_str) {
                    texts.push(t.to_string());
                }
            }
            Some("image") => {
                if let Some(u) = item.pointer("/image/url").and_then(Value::as_str) {
                    images.push(u.trim().to_string());
                }
            }
            _ => {}
        }
    }
    (texts.join("\n"), images)
}

impl Wecom {
    /// `None` when the EncodingAESKey is not a valid 43-character key
    /// (config validation refuses such a config before it gets here).
    pub fn new(config: &WecomConfig) -> Option<Self> {
        let key = crypto::wecom_aes_key(config.encoding_aes_key.as_ref()?.expose())?;
        Some(Wecom {
            token: config.token.clone()?,
            key,
            receive_id: config.receive_id.clone(),
            webhook_keys: config.webhook_keys.clone(),
            webhook_base: config.webhook_base.trim_end_matches('/').to_string(),
            max_skew: i128::from(config.max_clock_skew_secs),
            used: Mutex::new(HashSet::new()),
        })
    }

    pub fn parse(&self, req: &RawRequest, now: i64) -> Result<Parsed, PlatformError> {
        let q = |k: &str| req.query.get(k).map(String::as_str);
        let (Some(sig), Some(ts), Some(nonce)) = (q("msg_signature"), q("timestamp"), q("nonce"))
        else {
            return Err(PlatformError::BadSignature);
        };
        let encrypted = if req.method == Method::GET {
            // A '+' that reached us unescaped was decoded as a space; Base64 has no spaces.
            q("echostr")
                .ok_or(PlatformError::MissingField("echostr"))?
                .replace(' ', "+")
        } else if req.method == Method::POST {
            let env: Envelope = serde_json::from_slice(&req.body)
                .map_err(|e| PlatformError::Malformed(format!("invalid JSON: {e}")))?;
            env.encrypt.ok_or(PlatformError::MissingField("encrypt"))?
        } else {
            return Err(PlatformError::Malformed("expected GET or POST".into()));
        };
        let want = msg_signature(self.token.expose(), ts, nonce, &encrypted);
        if !signature::equal(sig.trim().to_ascii_lowercase().as_bytes(), want.as_bytes()) {
            return Err(PlatformError::BadSignature);
        }
        let ts: i64 = ts
            .trim()
            .parse()
            .map_err(|_| PlatformError::StaleTimestamp)?;
        if (i128::from(now) - i128::from(ts)).abs() > self.max_skew {
            return Err(PlatformError::StaleTimestamp);
        }
        let plain =
            decrypt(&self.key, &self.receive_id, &encrypted).ok_or(PlatformError::BadCiphertext)?;

        if req.method == Method::GET {
            // The URL check: answer the decrypted echostr as it is, no quotes or newline.
            let echo = String::from_utf8(plain).map_err(|_| PlatformError::BadCiphertext)?;
            return Ok(Parsed::Handshake(WebhookResponse::text(echo)));
        }
        let cb: Callback = serde_json::from_slice(&plain)
            .map_err(|e| PlatformError::Malformed(format!("invalid callback JSON: {e}")))?;
        self.message(cb, now)
    }

    fn message(&self, cb: Callback, now: i64) -> Result<Parsed, PlatformError> {
        let (text, images) = match cb.msgtype.as_deref() {
            Some("text") => (
                cb.text
                    .and_then(|t| t.content)
                    .ok_or(PlatformError::MissingField("text.content"))?,
                Vec::new(),
            ),
            Some("mixed") => mixed_parts(cb.mixed.as_ref().unwrap_or(&Value::Null)),
            // `stream` asks for the next piece of a streamed answer and
            // `event` is a UI event: neither is something a resident said.
            Some("stream") | Some("event") => return Ok(Parsed::Ignored("not a message")),
            _ => return Ok(Parsed::Ignored("message type not handled")),
        };
        if cb.chattype.as_deref() != Some("group") {
            return Ok(Parsed::Ignored("not a group chat"));
        }
        let nonempty = |v: Option<String>, f: &'static str| match v {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(PlatformError::MissingField(f)),
        };
        let reply_handle = cb
            .response_url
            .filter(|u| !u.trim().is_empty())
            .and_then(|url| {
                serde_json::to_string(&Handle {
                    url,
                    exp: now.saturating_add(RESPONSE_URL_TTL),
                })
                .ok()
            });
        Ok(Parsed::Messages(vec![InboundMessage {
            platform: NAME.to_string(),
            message_id: nonempty(cb.msgid, "msgid")?,
            group_id: nonempty(cb.chatid, "chatid")?,
            group_name: None,
            sender_id: nonempty(cb.from.and_then(|f| f.userid), "from.userid")?,
            sender_name: None,
            text: strip_leading_mention(&text),
            images,
            timestamp: cb.create_time.or(Some(now)),
            reply_handle,
        }]))
    }

    pub fn answer(&self, _answers: &[Answer]) -> WebhookResponse {
        // An empty 200 means "received, no passive reply"; replies go through response_url.
        WebhookResponse::text("")
    }

    pub fn sends(&self) -> bool {
        true
    }

    pub async fn send(
        &self,
        client: &reqwest::Client,
        out: &Outgoing<'_>,
    ) -> Result<(), SendError> {
        let handle = out
            .reply_handle
            .and_then(|h| serde_json::from_str::<Handle>(h).ok());
        // The platform expires a response_url by its own, real clock; the
        // service clock (which tests may jump) says nothing about it.
        let now = chrono::Utc::now().timestamp();
        let webhook = self.webhook_keys.get(out.group_id);
        if let Some(h) = handle {
            let fresh = now.saturating_add(RESPONSE_URL_MARGIN) < h.exp;
            let unused = self.used.lock().map_or(true, |u| !u.contains(&h.url));
            if fresh && unused {
                // The documented response_url formats are markdown and template
                // cards; plain replies read the same as markdown.
                let body = json!({ "msgtype": "markdown", "markdown": { "content": out.text } });
                match post_checked(client, &h.url, None, &body).await {
                    Ok(()) => {
                        if let Ok(mut u) = self.used.lock() {
                            if u.len() >= USED_CAP {
                                u.clear();
                            }
                            u.insert(h.url);
                        }
                        return Ok(());
                    }
                    // Refused outright (used or expired early): the webhook may still work.
                    Err(SendError::Permanent(_)) if webhook.is_some() => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let Some(key) = webhook else {
            return Err(SendError::Permanent(
                "no usable response_url and no webhook key for this chat".into(),
            ));
        };
        let body = json!({ "msgtype": "text", "text": { "content": out.text } });
        let url = format!("{}{WEBHOOK_PATH}", self.webhook_base);
        post_checked(client, &url, Some(key), &body).await
    }
}

/// POST JSON and check WeCom's `errcode`. Errors never carry the URL (it holds credentials).
async fn post_checked(
    client: &reqwest::Client,
    url: &str,
    key: Option<&Secret>,
    body: &Value,
) -> Result<(), SendError> {
    let mut req = client.post(url).json(body);
    if let Some(k) = key {
        req = req.query(&[("key", k.expose())]);
    }
    let (status, after, text) = fetch(req).await?;
    if !status.is_success() {
        return Err(SendError::from_status(status.as_u16(), after, &text));
    }
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    match v.get("errcode").and_then(Value::as_i64) {
        Some(0) => Ok(()),
        Some(c) if RATE_ERRCODES.contains(&c) => Err(SendError::Retry {
            reason: format!("WeCom rate limit (errcode {c})"),
            after: Some(Duration::from_secs(60)),
        }),
        Some(c) => Err(SendError::Permanent(format!(
            "WeCom errcode {c}: {}",
            v.get("errmsg")
                .and_then(Value::as_str)
                .unwrap_or("")
                .chars()
                .take(200)
                .collect::<String>()
        ))),
        None => Err(SendError::Permanent(
            "WeCom answered without an errcode".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use axum::http::HeaderMap;
    use bytes::Bytes;

    // WeCom's published WXBizMsgCrypt sample (URL verification).
    const SAMPLE_TOKEN: &str = "QDG6eK";
    const SAMPLE_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    const SAMPLE_CORPID: &str = "wx5823bf96d3bd56c7";
    const SAMPLE_SIG: &str = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3";
    const SAMPLE_TS: &str = "1409659589";
    const SAMPLE_NONCE: &str = "263014780";
    const SAMPLE_ECHO: &str =
        "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";

    fn adapter(receive_id: &str) -> Wecom {
        Wecom::new(&WecomConfig {
            enabled: true,
            token: Some(Secret::new(SAMPLE_TOKEN)),
            encoding_aes_key: Some(Secret::new(SAMPLE_KEY)),
            receive_id: receive_id.into(),
            ..WecomConfig::default()
        })
        .unwrap()
    }

    fn request(method: Method, query: &[(&str, &str)], body: &str) -> RawRequest {
        RawRequest {
            method,
            headers: HeaderMap::new(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn published_sample_signature_and_echostr() {
        assert_eq!(
            msg_signature(SAMPLE_TOKEN, SAMPLE_TS, SAMPLE_NONCE, SAMPLE_ECHO),
            SAMPLE_SIG
        );
        let key = crypto::wecom_aes_key(SAMPLE_KEY).unwrap();
        assert_eq!(
            decrypt(&key, SAMPLE_CORPID, SAMPLE_ECHO).unwrap(),
            b"1616140317555161061"
        );
        // The ReceiveId is checked.
        assert!(decrypt(&key, "", SAMPLE_ECHO).is_none());
    }

    #[test]
    fn url_verification_answers_the_plain_echostr() {
        let a = adapter(SAMPLE_CORPID);
        let q = [
            ("msg_signature", SAMPLE_SIG),
            ("timestamp", SAMPLE_TS),
            ("nonce", SAMPLE_NONCE),
            ("echostr", SAMPLE_ECHO),
        ];
        let now = 1_409_659_600;
        match a.parse(&request(Method::GET, &q, ""), now).unwrap() {
            Parsed::Handshake(r) => {
                assert_eq!(r.body, b"1616140317555161061");
                assert!(r.content_type.starts_with("text/plain"));
            }
            other => panic!("{other:?}"),
        }
        // The same with '+' turned into spaces by a careless proxy.
        let spaced = SAMPLE_ECHO.replace('+', " ");
        let q2 = [
            ("msg_signature", SAMPLE_SIG),
            ("timestamp", SAMPLE_TS),
            ("nonce", SAMPLE_NONCE),
            ("echostr", spaced.as_str()),
        ];
        assert!(matches!(
            a.parse(&request(Method::GET, &q2, ""), now),
            Ok(Parsed::Handshake(_))
        ));
        assert!(matches!(
            a.parse(&request(Method::GET, &q, ""), now + 301),
            Err(PlatformError::StaleTimestamp)
        ));
        let mut bad = q;
        bad[0].1 = "0000000000000000000000000000000000000000";
        assert!(matches!(
            a.parse(&request(Method::GET, &bad, ""), now),
            Err(PlatformError::BadSignature)
        ));
    }

    #[test]
    fn encrypt_known_vector_and_round_trip() {
        // Computed with `openssl enc -aes-256-cbc -nopad` over
        // "0123456789abcdef" ‖ u32be(14) ‖ {"msgid":"m1"} ‖ PKCS#7(32).
        let key = crypto::wecom_aes_key(SAMPLE_KEY).unwrap();
        let enc = encrypt(&key, "", b"0123456789abcdef", br#"{"msgid":"m1"}"#);
        assert_eq!(
            enc,
            "sKqRbbiSUnDhFHOvPjtUMfVjahBaR/vjZ5OPZn2smTZw1GEbhzCwzbLV/KAxttk7TX88xLmz4JI1UVEd5Ekmwg=="
        );
        assert_eq!(decrypt(&key, "", &enc).unwrap(), br#"{"msgid":"m1"}"#);
        for len in [0usize, 1, 11, 12, 31, 32, 33, 100] {
            let msg = vec![b'x'; len];
            let enc = encrypt(&key, "rid", &[7; 16], &msg);
            assert_eq!(decrypt(&key, "rid", &enc).unwrap(), msg);
        }
    }

    #[test]
    fn message_callback_parses() {
        let a = adapter("");
        let key = crypto::wecom_aes_key(SAMPLE_KEY).unwrap();
        let cb = json!({
            "msgid": "CAIQ16HMjQYY", "aibotid": "AIBOTID", "chatid": "wrCHAT",
            "chattype": "group", "from": {"userid": "zhangsan"},
            "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC",
            "msgtype": "text", "text": {"content": "@工单助手\u{2005}5号楼楼道里堆满了纸箱，没人管"}
        });
        let enc = encrypt(&key, "", &[1; 16], cb.to_string().as_bytes());
        let sig = msg_signature(SAMPLE_TOKEN, "1700000000", "n", &enc);
        let q = [
            ("msg_signature", sig.as_str()),
            ("timestamp", "1700000000"),
            ("nonce", "n"),
        ];
        let body = json!({ "encrypt": enc }).to_string();
        let Ok(Parsed::Messages(m)) = a.parse(&request(Method::POST, &q, &body), 1_700_000_010)
        else {
            panic!()
        };
        assert_eq!(m[0].message_id, "CAIQ16HMjQYY");
        assert_eq!(m[0].group_id, "wrCHAT");
        assert_eq!(m[0].sender_id, "zhangsan");
        assert_eq!(m[0].text, "5号楼楼道里堆满了纸箱，没人管");
        let h: Handle = serde_json::from_str(m[0].reply_handle.as_deref().unwrap()).unwrap();
        assert_eq!(h.exp, 1_700_000_010 + 3600);
    }

    #[test]
    fn mentions_and_mixed() {
        assert_eq!(strip_leading_mention("@RobotA hello robot"), "hello robot");
        assert_eq!(strip_leading_mention("  @RobotA"), "");
        assert_eq!(strip_leading_mention("没有艾特"), "没有艾特");
        let (t, i) = mixed_parts(&json!({"msg_item": [
            {"msgtype": "text", "text": {"content": "@机器人 垃圾桶满了"}},
            {"msgtype": "image", "image": {"url": "https://x/img "}}
        ]}));
        assert_eq!(strip_leading_mention(&t), "垃圾桶满了");
        assert_eq!(i, vec!["https://x/img".to_string()]);
        let as_string = Value::String(
            json!({"msg_item": [{"msgtype": "text", "text": {"content": "a"}}]}).to_string(),
        );
        assert_eq!(mixed_parts(&as_string).0, "a");
    }
}
