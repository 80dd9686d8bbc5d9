//! Chat-platform adapters: verify a webhook, parse it into [`InboundMessage`]s, answer, and send replies.
//!
//! Vendor JSON never leaves this module. Each platform lives in its own file;
//! [`Adapter`] is the closed set of them (an enum, so sending can be `async`
//! without boxing and every platform is visible in one `match`).

pub mod crypto;
pub mod dingtalk;
pub mod feishu;
pub mod generic;
pub mod onebot;
pub mod signature;
pub mod telegram;
mod token;
pub mod wechat;
pub mod wecom;

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, Method};
use bytes::Bytes;

use crate::config::Config;
use crate::message::InboundMessage;

/// A webhook request as it arrived, before anything trusted it.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub method: Method,
    pub headers: HeaderMap,
    pub query: HashMap<String, String>,
    pub body: Bytes,
}

impl RawRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a verified webhook asks of us.
#[derive(Debug)]
pub enum Parsed {
    /// Messages to process; all are stored before the platform gets its answer.
    Messages(Vec<InboundMessage>),
    /// A handshake (URL verification) answered without touching the store.
    Handshake(WebhookResponse),
    /// A genuine event we do not act on (a private chat, a join notice, a heartbeat).
    Ignored(&'static str),
    /// The group now lives under another id (a Telegram group upgraded to a
    /// supergroup): recorded before the answer, so both ids stay one group.
    GroupMoved { from: String, to: String },
}

/// The HTTP answer to a webhook, in the platform's own format.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl WebhookResponse {
    pub fn json(value: &serde_json::Value) -> Self {
        WebhookResponse {
            status: 200,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
        }
    }

    pub fn text(text: impl Into<String>) -> Self {
        WebhookResponse {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: text.into().into_bytes(),
        }
    }
}

/// Why a webhook request was refused. Maps to an HTTP status; the message is
/// safe to show the caller (it never contains secrets or internals).
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("signature missing or wrong")]
    BadSignature,
    #[error("timestamp outside the accepted window (replay protection)")]
    StaleTimestamp,
    #[error("cannot decrypt the payload")]
    BadCiphertext,
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("missing or invalid field: {0}")]
    MissingField(&'static str),
}

impl PlatformError {
    pub fn status(&self) -> u16 {
        match self {
            PlatformError::BadSignature
            | PlatformError::StaleTimestamp
            | PlatformError::BadCiphertext => 401,
            PlatformError::Malformed(_) => 400,
            PlatformError::MissingField(_) => 422,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            PlatformError::BadSignature => "bad_signature",
            PlatformError::StaleTimestamp => "stale_timestamp",
            PlatformError::BadCiphertext => "bad_ciphertext",
            PlatformError::Malformed(_) => "malformed",
            PlatformError::MissingField(_) => "missing_field",
        }
    }
}

/// A reply to deliver through a platform's send API.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub group_id: &'a str,
    pub text: &'a str,
    pub reply_handle: Option<&'a str>,
    pub ticket: Option<u64>,
    /// The same for every attempt at this reply (`gongdan-<outbox id>`), so a
    /// platform that dedupes posts a reply sent twice once.
    pub idempotency_key: &'a str,
}

/// What a send that reached the platform came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Posted,
    /// Nothing was posted: the platform says the group now lives under this
    /// id (Telegram's `migrate_to_chat_id`). Record it and send there.
    Moved(String),
}

/// Why a send failed, and whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("temporary failure: {reason}")]
    Retry {
        reason: String,
        /// The platform said when to come back (HTTP 429 `Retry-After`, Telegram `retry_after`).
        after: Option<Duration>,
    },
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl SendError {
    /// Classify an HTTP status from a send API.
    pub fn from_status(status: u16, after: Option<Duration>, body: &str) -> SendError {
        let reason = format!("HTTP {status}: {}", truncate(body, 200));
        if status == 429 || status >= 500 || status == 408 {
            SendError::Retry { reason, after }
        } else {
            SendError::Permanent(reason)
        }
    }

    pub fn network(e: &reqwest::Error) -> SendError {
        // reqwest errors can carry the URL; keep only the kind of failure
        // (URLs of some platforms embed tokens).
        let kind = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        SendError::Retry {
            reason: kind.to_string(),
            after: None,
        }
    }
}

/// A send API's `Retry-After` header (seconds), if it sent one.
pub(crate) fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    resp.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Send `req` and read the whole answer: status, `Retry-After`, body. Not
/// reaching the platform, or losing the connection while reading, is worth a
/// retry.
pub(crate) async fn fetch(
    req: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, Option<Duration>, String), SendError> {
    let resp = req.send().await.map_err(|e| SendError::network(&e))?;
    let status = resp.status();
    let after = retry_after(&resp);
    let body = resp.text().await.map_err(|e| SendError::network(&e))?;
    Ok((status, after, body))
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Outcome of one processed message, for platforms that answer in the webhook response.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub ticket: Option<u64>,
    /// (group_id, text) replies produced by the message.
    pub replies: Vec<(String, String)>,
}

/// The reply texts of `answers`, each once, in order: for platforms whose
/// quick reply can only answer the message's own group, where a command's
/// notice to another group would otherwise repeat the same text.
pub(crate) fn distinct_reply_texts(answers: &[Answer]) -> Vec<&str> {
    let mut texts: Vec<&str> = Vec::new();
    for (_, text) in answers.iter().flat_map(|a| &a.replies) {
        if !texts.contains(&text.as_str()) {
            texts.push(text);
        }
    }
    texts
}

/// Every platform gongdan speaks.
#[derive(Debug)]
pub enum Adapter {
    Generic(generic::Generic),
    Onebot(onebot::Onebot),
    Wechat(wechat::Wechat),
    Telegram(telegram::Telegram),
    Feishu(feishu::Feishu),
    Dingtalk(dingtalk::Dingtalk),
    Wecom(wecom::Wecom),
}

impl Adapter {
    /// The adapters enabled in `config`, by platform name.
    pub fn from_config(config: &Config) -> HashMap<&'static str, Adapter> {
        let mut out = HashMap::new();
        if config.platforms.generic.enabled {
            out.insert(
                generic::NAME,
                Adapter::Generic(generic::Generic::new(&config.platforms.generic)),
            );
        }
        if config.platforms.onebot.enabled {
            out.insert(
                onebot::NAME,
                Adapter::Onebot(onebot::Onebot::new(&config.platforms.onebot)),
            );
        }
        if config.platforms.wechat.enabled {
            out.insert(
                wechat::NAME,
                Adapter::Wechat(wechat::Wechat::new(&config.platforms.wechat)),
            );
        }
        if config.platforms.telegram.enabled {
            out.insert(
                telegram::NAME,
                Adapter::Telegram(telegram::Telegram::new(&config.platforms.telegram)),
            );
        }
        // Off unless `enabled = true`; config validation made sure the credentials are there.
        let p = &config.platforms;
        if p.feishu.enabled {
            out.insert(
                feishu::NAME,
                Adapter::Feishu(feishu::Feishu::new(&p.feishu)),
            );
        }
        if p.dingtalk.enabled {
            out.insert(
                dingtalk::NAME,
                Adapter::Dingtalk(dingtalk::Dingtalk::new(&p.dingtalk)),
            );
        }
        if p.wecom.enabled {
            match wecom::Wecom::new(&p.wecom) {
                Some(a) => {
                    out.insert(wecom::NAME, Adapter::Wecom(a));
                }
                None => tracing::error!(
                    "platforms.wecom is enabled but token/encoding_aes_key are missing or invalid; WeCom stays off"
                ),
            }
        }
        out
    }

    pub fn name(&self) -> &'static str {
        match self {
            Adapter::Generic(_) => generic::NAME,
            Adapter::Onebot(_) => onebot::NAME,
            Adapter::Wechat(_) => wechat::NAME,
            Adapter::Telegram(_) => telegram::NAME,
            Adapter::Feishu(_) => feishu::NAME,
            Adapter::Dingtalk(_) => dingtalk::NAME,
            Adapter::Wecom(_) => wecom::NAME,
        }
    }

    /// Verify and parse a webhook. `now` is unix seconds (for replay windows).
    pub fn parse(&self, req: &RawRequest, now: i64) -> Result<Parsed, PlatformError> {
        match self {
            Adapter::Generic(a) => a.parse(req, now),
            Adapter::Onebot(a) => a.parse(req, now),
            Adapter::Wechat(a) => a.parse(req, now),
            Adapter::Telegram(a) => a.parse(req, now),
            Adapter::Feishu(a) => a.parse(req, now),
            Adapter::Dingtalk(a) => a.parse(req, now),
            Adapter::Wecom(a) => a.parse(req, now),
        }
    }

    /// The webhook's HTTP answer once every message in it is durably stored.
    pub fn answer(&self, answers: &[Answer]) -> WebhookResponse {
        match self {
            Adapter::Generic(a) => a.answer(answers),
            Adapter::Onebot(a) => a.answer(answers),
            Adapter::Wechat(a) => a.answer(answers),
            Adapter::Telegram(a) => a.answer(answers),
            Adapter::Feishu(a) => a.answer(answers),
            Adapter::Dingtalk(a) => a.answer(answers),
            Adapter::Wecom(a) => a.answer(answers),
        }
    }

    /// Whether replies should go through the outbox (a send API is configured).
    /// Whether the platform checks the webhook URL with a GET (WeCom's echo);
    /// every other GET is refused before the adapter sees it.
    pub fn verifies_by_get(&self) -> bool {
        matches!(self, Adapter::Wecom(_))
    }

    pub fn sends(&self) -> bool {
        match self {
            Adapter::Generic(a) => a.sends(),
            Adapter::Onebot(a) => a.sends(),
            Adapter::Wechat(a) => a.sends(),
            Adapter::Telegram(a) => a.sends(),
            Adapter::Feishu(a) => a.sends(),
            Adapter::Dingtalk(a) => a.sends(),
            Adapter::Wecom(a) => a.sends(),
        }
    }

    /// Send one reply to `out.group_id` as given; following a group that
    /// moved is the caller's part (`Service::send_reply`).
    pub async fn send(
        &self,
        client: &reqwest::Client,
        out: &Outgoing<'_>,
    ) -> Result<Sent, SendError> {
        let posted = match self {
            Adapter::Generic(a) => a.send(client, out).await,
            Adapter::Onebot(a) => a.send(client, out).await,
            Adapter::Wechat(a) => a.send(client, out).await,
            // Only Telegram groups change id.
            Adapter::Telegram(a) => return a.send(client, out).await,
            Adapter::Feishu(a) => a.send(client, out).await,
            Adapter::Dingtalk(a) => a.send(client, out).await,
            Adapter::Wecom(a) => a.send(client, out).await,
        };
        posted.map(|()| Sent::Posted)
    }
}
