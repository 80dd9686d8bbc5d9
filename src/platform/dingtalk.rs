//! DingTalk enterprise-internal robot, HTTP mode: signed message callbacks in, session webhook or group-send API out.
//!
//! Inbound: DingTalk POSTs each message that @-mentions the robot, with headers
//! `timestamp` (ms) and `sign` = Base64(HMAC-SHA256(appSecret, timestamp + "\n" + appSecret)).
//!
//! Outbound: every message carries a `sessionWebhook` that posts into the same
//! conversation without a token until `sessionWebhookExpiredTime`; it is kept
//! in the message's reply handle. Past that (or for a reply with no message
//! behind it) the robot group-send API is used with an access token fetched
//! from appKey/appSecret and cached here.
//!
//! Neither send API takes an idempotency key (the group-send request is
//! `robotCode`, `openConversationId`, `msgKey`, `msgParam`, `coolAppCode`,
//! `token` in DingTalk's SDKs; `msgKey` names the message template, e.g.
//! `sampleText`, and dedupes nothing), so a retried reply whose answer was
//! lost can be posted twice.

use std::fmt;
use std::time::Duration;

use axum::http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::token::CachedToken;
use super::{
    crypto, fetch, signature, Answer, Outgoing, Parsed, PlatformError, RawRequest, SendError,
    WebhookResponse,
};
use crate::config::{DingtalkConfig, Secret};
use crate::message::InboundMessage;

pub const NAME: &str = "dingtalk";
pub const TIMESTAMP_HEADER: &str = "timestamp";
pub const SIGN_HEADER: &str = "sign";
pub const TOKEN_PATH: &str = "/v1.0/oauth2/accessToken";
pub const GROUP_SEND_PATH: &str = "/v1.0/robot/groupMessages/send";
pub const TOKEN_HEADER: &str = "x-acs-dingtalk-access-token";

/// A session webhook this close to its expiry is not trusted any more (ms).
const SESSION_MARGIN_MS: i64 = 60_000;
/// "Sending too fast" on the session webhook.
const RATE_ERRCODES: [i64; 2] = [130101, 660026];

pub struct Dingtalk {
    app_key: String,
    app_secret: Secret,
    robot_code: String,
    api_base: String,
    max_skew_ms: i128,
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

impl fmt::Debug for Dingtalk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dingtalk")
            .field("app_key", &self.app_key)
            .field("robot_code", &self.robot_code)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    msgtype: Option<String>,
    text: Option<Text>,
    /// Payload of `picture`, `richText` and `audio` messages.
    content: Option<Value>,
    msg_id: Option<String>,
    create_at: Option<i64>,
    conversation_type: Option<String>,
    conversation_id: Option<String>,
    conversation_title: Option<String>,
    sender_id: Option<String>,
    sender_staff_id: Option<String>,
    sender_nick: Option<String>,
    session_webhook: Option<String>,
    session_webhook_expired_time: Option<i64>,
}

#[derive(Deserialize)]
struct Text {
    content: Option<String>,
}

/// What a reply needs from the message it answers, kept in `reply_handle`.
#[derive(Serialize, Deserialize)]
struct Handle {
    /// The session webhook (its query carries a session token: never log it).
    url: String,
    /// Expiry, unix milliseconds.
    exp: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenReply {
    access_token: Option<String>,
    expire_in: Option<i64>,
    code: Option<String>,
    message: Option<String>,
}

/// `sign` header value for a timestamp string.
pub fn sign(timestamp: &str, app_secret: &str) -> String {
    let mac = signature::hmac_sha256(
        app_secret.as_bytes(),
        format!("{timestamp}\n{app_secret}").as_bytes(),
    );
    crypto::b64_encode(&mac)
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// Text and image download codes of a `richText` or `picture` message.
fn content_parts(msgtype: &str, content: Option<&Value>) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut images = Vec::new();
    let Some(content) = content else {
        return (text, images);
    };
    let code_of = |v: &Value| {
        v.get("downloadCode")
            .or_else(|| v.get("pictureDownloadCode"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if msgtype == "picture" {
        images.extend(code_of(content));
    } else {
        for item in content
            .get("richText")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = item.get("text").and_then(Value::as_str) {
                text.push_str(t);
            } else if let Some(code) = code_of(item) {
                images.push(code);
            }
        }
    }
    (text, images)
}

impl Dingtalk {
    pub fn new(config: &DingtalkConfig) -> Self {
        let app_key = config.app_key.clone().unwrap_or_default();
        Dingtalk {
            robot_code: config
                .robot_code
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| app_key.clone()),
            app_key,
            app_secret: config.app_secret.clone().unwrap_or_else(|| Secret::new("")),
            api_base: config.api_base.trim_end_matches('/').to_string(),
            max_skew_ms: i128::from(config.max_clock_skew_secs) * 1000,
            token: tokio::sync::Mutex::new(None),
        }
    }

    pub fn parse(&self, req: &RawRequest, now: i64) -> Result<Parsed, PlatformError> {
        if req.method != Method::POST {
            return Err(PlatformError::Malformed(
                "DingTalk robot messages are POSTed".into(),
            ));
        }
        let ts = req
            .header(TIMESTAMP_HEADER)
            .ok_or(PlatformError::BadSignature)?;
        let sent = req
            .header(SIGN_HEADER)
            .and_then(crypto::b64_decode)
            .ok_or(PlatformError::BadSignature)?;
        let want = signature::hmac_sha256(
            self.app_secret.expose().as_bytes(),
            format!("{ts}\n{}", self.app_secret.expose()).as_bytes(),
        );
        if !signature::equal(&sent, &want) {
            return Err(PlatformError::BadSignature);
        }
        let ts_ms: i64 = ts
            .trim()
            .parse()
            .map_err(|_| PlatformError::StaleTimestamp)?;
        if (i128::from(now) * 1000 - i128::from(ts_ms)).abs() > self.max_skew_ms {
            return Err(PlatformError::StaleTimestamp);
        }

        let body: Body = serde_json::from_slice(&req.body)
            .map_err(|e| PlatformError::Malformed(format!("invalid JSON: {e}")))?;
        // "1" is a one-to-one chat, "2" a group.
        if body.conversation_type.as_deref() != Some("2") {
            return Ok(Parsed::Ignored("not a group chat"));
        }
        let msgtype = body.msgtype.as_deref().unwrap_or("");
        let (text, images) = match msgtype {
            "text" => {
                let t = body
                    .text
                    .and_then(|t| t.content)
                    .ok_or(PlatformError::MissingField("text.content"))?;
                (t, Vec::new())
            }
            "richText" | "picture" => content_parts(msgtype, body.content.as_ref()),
            // A voice message: DingTalk's own speech-to-text is the complaint.
            "audio" => {
                let recognised = body
                    .content
                    .as_ref()
                    .and_then(|c| c.get("recognition"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                if recognised.trim().is_empty() {
                    return Ok(Parsed::Ignored("voice message without recognised text"));
                }
                (recognised.to_string(), Vec::new())
            }
            _ => return Ok(Parsed::Ignored("message type not handled")),
        };
        let sender_id = non_empty(body.sender_staff_id)
            .or(non_empty(body.sender_id))
            .ok_or(PlatformError::MissingField("senderStaffId"))?;
        let reply_handle = non_empty(body.session_webhook).and_then(|url| {
            serde_json::to_string(&Handle {
                url,
                exp: body.session_webhook_expired_time.unwrap_or(0),
            })
            .ok()
        });
        Ok(Parsed::Messages(vec![InboundMessage {
            platform: NAME.to_string(),
            message_id: non_empty(body.msg_id).ok_or(PlatformError::MissingField("msgId"))?,
            group_id: non_empty(body.conversation_id)
                .ok_or(PlatformError::MissingField("conversationId"))?,
            group_name: non_empty(body.conversation_title),
            sender_id,
            sender_name: non_empty(body.sender_nick),
            // DingTalk removes the @robot mention but leaves its space behind.
            text: text.trim().to_string(),
            images,
            timestamp: body.create_at.map(|ms| ms / 1000),
            reply_handle,
        }]))
    }

    pub fn answer(&self, _answers: &[Answer]) -> WebhookResponse {
        // Replies go out through the outbox; an empty object posts nothing.
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
        let handle = out
            .reply_handle
            .and_then(|h| serde_json::from_str::<Handle>(h).ok());
        // DingTalk expires a session webhook by its own, real clock; the
        // service clock (which tests may jump) says nothing about it.
        let now_ms = chrono::Utc::now().timestamp_millis();
        match handle {
            Some(h) if now_ms.saturating_add(SESSION_MARGIN_MS) < h.exp => {
                self.send_session(client, &h.url, out.text).await
            }
            _ => self.send_group(client, out).await,
        }
    }

    async fn send_session(
        &self,
        client: &reqwest::Client,
        url: &str,
        text: &str,
    ) -> Result<(), SendError> {
        let (status, after, body) = fetch(
            client
                .post(url)
                .json(&json!({ "msgtype": "text", "text": { "content": text } })),
        )
        .await?;
        if !status.is_success() {
            return Err(SendError::from_status(status.as_u16(), after, &body));
        }
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        match v.get("errcode").and_then(Value::as_i64) {
            Some(0) | None => Ok(()),
            Some(c) if RATE_ERRCODES.contains(&c) => Err(SendError::Retry {
                reason: format!("DingTalk rate limit (errcode {c})"),
                after: Some(Duration::from_secs(60)),
            }),
            Some(c) => Err(SendError::Permanent(format!(
                "DingTalk errcode {c}: {}",
                v.get("errmsg").and_then(Value::as_str).unwrap_or("")
            ))),
        }
    }

    async fn send_group(
        &self,
        client: &reqwest::Client,
        out: &Outgoing<'_>,
    ) -> Result<(), SendError> {
        let body = json!({
            "robotCode": self.robot_code,
            "openConversationId": out.group_id,
            "msgKey": "sampleText",
            "msgParam": json!({ "content": out.text }).to_string(),
        });
        let mut refreshed = false;
        loop {
            let token = self.token(client).await?;
            let (status, after, text) = fetch(
                client
                    .post(format!("{}{GROUP_SEND_PATH}", self.api_base))
                    .header(TOKEN_HEADER, token.expose())
                    .json(&body),
            )
            .await?;
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let code = v.get("code").and_then(Value::as_str).unwrap_or("");
            if (status.as_u16() == 401 || code.contains("InvalidAuthentication")) && !refreshed {
                refreshed = true;
                *self.token.lock().await = None;
                continue;
            }
            if !status.is_success() {
                return Err(SendError::from_status(status.as_u16(), after, &text));
            }
            return match v.get("errcode").and_then(Value::as_i64) {
                Some(0) | None => Ok(()),
                Some(c) => Err(SendError::Permanent(format!(
                    "DingTalk errcode {c}: {}",
                    v.get("errmsg").and_then(Value::as_str).unwrap_or("")
                ))),
            };
        }
    }

    async fn token(&self, client: &reqwest::Client) -> Result<Secret, SendError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().and_then(CachedToken::fresh) {
            return Ok(t.clone());
        }
        let (status, after, text) = fetch(
            client
                .post(format!("{}{TOKEN_PATH}", self.api_base))
                .json(&json!({ "appKey": self.app_key, "appSecret": self.app_secret.expose() })),
        )
        .await?;
        let reply: Option<TokenReply> = serde_json::from_str(&text).ok();
        match reply {
            Some(TokenReply {
                access_token: Some(token),
                expire_in,
                ..
            }) if status.is_success() && !token.is_empty() => {
                let value = Secret::new(token);
                *cached = Some(CachedToken::new(value.clone(), expire_in.unwrap_or(0)));
                Ok(value)
            }
            _ if status.as_u16() == 429 || status.is_server_error() => {
                Err(SendError::from_status(status.as_u16(), after, ""))
            }
            r => {
                let (code, message) = r
                    .map(|r| (r.code.unwrap_or_default(), r.message.unwrap_or_default()))
                    .unwrap_or_default();
                Err(SendError::Permanent(format!(
                    "DingTalk refused the app credentials (HTTP {}, {code}: {message})",
                    status.as_u16()
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use axum::http::{HeaderMap, HeaderValue};
    use bytes::Bytes;

    const SECRET: &str = "this is a secret";

    fn adapter() -> Dingtalk {
        Dingtalk::new(&DingtalkConfig {
            enabled: true,
            app_key: Some("dingkey".into()),
            app_secret: Some(Secret::new(SECRET)),
            ..DingtalkConfig::default()
        })
    }

    fn request(body: &Value, ts: &str, sign: &str) -> RawRequest {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_str(ts).unwrap());
        h.insert(SIGN_HEADER, HeaderValue::from_str(sign).unwrap());
        RawRequest {
            method: Method::POST,
            headers: h,
            query: HashMap::new(),
            body: Bytes::from(body.to_string()),
        }
    }

    fn message(text: &str) -> Value {
        json!({
            "msgtype": "text", "text": {"content": text}, "msgId": "msgA",
            "createAt": 1_577_262_236_000i64, "conversationType": "2",
            "conversationId": "cidG", "conversationTitle": "阳光小区业主群",
            "senderId": "$:LWCP_v1:$x", "senderStaffId": "staff1", "senderNick": "张三",
            "isInAtList": true, "robotCode": "dingkey",
            "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=s",
            "sessionWebhookExpiredTime": 1_577_267_636_000i64
        })
    }

    #[test]
    fn sign_matches_an_independently_computed_vector() {
        // The timestamp and secret of DingTalk's documented example; the expected
        // value comes from Python's hmac/hashlib/base64.
        assert_eq!(
            sign("1577262236757", SECRET),
            "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA="
        );
    }

    #[test]
    fn hmac_sha256_rfc4231_case_1() {
        let key = [0x0bu8; 20];
        assert_eq!(
            hex::encode(signature::hmac_sha256(&key, b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn parses_a_signed_group_message() {
        let ts = "1577262236757";
        let now = 1_577_262_236;
        let req = request(
            &message(" 5号楼楼道里堆满了纸箱，没人管"),
            ts,
            &sign(ts, SECRET),
        );
        let Ok(Parsed::Messages(m)) = adapter().parse(&req, now) else {
            panic!()
        };
        let m = &m[0];
        assert_eq!(m.message_id, "msgA");
        assert_eq!(m.group_id, "cidG");
        assert_eq!(m.group_name.as_deref(), Some("阳光小区业主群"));
        assert_eq!(m.sender_id, "staff1");
        assert_eq!(m.sender_name.as_deref(), Some("张三"));
        assert_eq!(m.text, "5号楼楼道里堆满了纸箱，没人管");
        let h: Handle = serde_json::from_str(m.reply_handle.as_deref().unwrap()).unwrap();
        assert_eq!(h.exp, 1_577_267_636_000);
    }

    #[test]
    fn refuses_wrong_sign_and_old_timestamps() {
        let a = adapter();
        let ts = "1577262236757";
        let body = message("x");
        let now = 1_577_262_236;
        assert!(matches!(
            a.parse(&request(&body, ts, &sign(ts, "other")), now),
            Err(PlatformError::BadSignature)
        ));
        assert!(matches!(
            a.parse(&request(&body, ts, "%%%"), now),
            Err(PlatformError::BadSignature)
        ));
        // Exactly one hour off is accepted; one second more is not.
        assert!(a
            .parse(&request(&body, ts, &sign(ts, SECRET)), now + 3600)
            .is_ok());
        assert!(matches!(
            a.parse(&request(&body, ts, &sign(ts, SECRET)), now + 3601),
            Err(PlatformError::StaleTimestamp)
        ));
        let ts = "not-a-number";
        assert!(matches!(
            a.parse(&request(&body, ts, &sign(ts, SECRET)), now),
            Err(PlatformError::StaleTimestamp)
        ));
    }

    #[test]
    fn private_chats_and_rich_text() {
        let a = adapter();
        let ts = "1577262236757";
        let now = 1_577_262_236;
        let mut body = message("x");
        body["conversationType"] = json!("1");
        assert!(matches!(
            a.parse(&request(&body, ts, &sign(ts, SECRET)), now),
            Ok(Parsed::Ignored(_))
        ));
        let mut body = message("x");
        body["msgtype"] = json!("richText");
        body["content"] = json!({"richText": [{"text": "垃圾桶满了"}, {"pictureDownloadCode": "p1", "downloadCode": "d1", "type": "picture"}]});
        let Ok(Parsed::Messages(m)) = a.parse(&request(&body, ts, &sign(ts, SECRET)), now) else {
            panic!()
        };
        assert_eq!(m[0].text, "垃圾桶满了");
        assert_eq!(m[0].images, vec!["d1".to_string()]);
    }

    #[test]
    fn voice_messages_are_read_through_their_recognition() {
        let a = adapter();
        let ts = "1577262236757";
        let now = 1_577_262_236;
        let mut body = message("x");
        body["msgtype"] = json!("audio");
        body.as_object_mut().unwrap().remove("text");
        body["content"] =
            json!({"duration": 4000, "downloadCode": "dc1", "recognition": "东门路灯坏了"});
        let Ok(Parsed::Messages(m)) = a.parse(&request(&body, ts, &sign(ts, SECRET)), now) else {
            panic!()
        };
        assert_eq!(m[0].text, "东门路灯坏了");
        body["content"] = json!({"duration": 900, "downloadCode": "dc2"});
        assert!(matches!(
            a.parse(&request(&body, ts, &sign(ts, SECRET)), now),
            Ok(Parsed::Ignored(_))
        ));
    }
}
