//! The plain-JSON platform: a simple bridge posts messages and reads replies from the response.

use serde::Deserialize;
use serde_json::json;

use super::{
    retry_after, signature, Answer, Outgoing, Parsed, PlatformError, RawRequest, SendError,
    WebhookResponse,
};
use crate::config::{GenericConfig, Secret};
use crate::message::InboundMessage;

pub const NAME: &str = "generic";
pub const SIGNATURE_HEADER: &str = "x-gongdan-signature";

#[derive(Debug)]
pub struct Generic {
    secret: Option<Secret>,
    reply_url: Option<String>,
}

/// Ids may arrive as JSON numbers or strings; both mean the same id.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(i64),
}

impl Id {
    fn into_string(self) -> String {
        match self {
            Id::Text(s) => s,
            Id::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct Body {
    message_id: Option<Id>,
    group_id: Option<Id>,
    group_name: Option<String>,
    sender_id: Option<Id>,
    sender_name: Option<String>,
    text: Option<String>,
    #[serde(default)]
    images: Vec<String>,
    timestamp: Option<i64>,
}

fn required(v: Option<Id>, field: &'static str) -> Result<String, PlatformError> {
    match v.map(Id::into_string) {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(PlatformError::MissingField(field)),
    }
}

impl Generic {
    pub fn new(config: &GenericConfig) -> Self {
        Generic {
            secret: config.secret.clone(),
            reply_url: config.reply_url.clone().filter(|u| !u.is_empty()),
        }
    }

    pub fn parse(&self, req: &RawRequest, _now: i64) -> Result<Parsed, PlatformError> {
        if let Some(secret) = &self.secret {
            let sent = req
                .header(SIGNATURE_HEADER)
                .and_then(|h| h.strip_prefix("sha256="))
                .ok_or(PlatformError::BadSignature)?;
            let want = signature::hmac_sha256(secret.expose().as_bytes(), &req.body);
            if !signature::hex_matches(sent, &want) {
                return Err(PlatformError::BadSignature);
            }
        }
        let text = std::str::from_utf8(&req.body)
            .map_err(|_| PlatformError::Malformed("body is not UTF-8".into()))?;
        let body: Body = serde_json::from_str(text)
            .map_err(|e| PlatformError::Malformed(format!("invalid JSON: {e}")))?;
        let msg = InboundMessage {
            platform: NAME.to_string(),
            message_id: required(body.message_id, "message_id")?,
            group_id: required(body.group_id, "group_id")?,
            group_name: body.group_name,
            sender_id: required(body.sender_id, "sender_id")?,
            sender_name: body.sender_name,
            text: body.text.ok_or(PlatformError::MissingField("text"))?,
            images: body.images,
            timestamp: body.timestamp,
            reply_handle: None,
        };
        Ok(Parsed::Messages(vec![msg]))
    }

    pub fn answer(&self, answers: &[Answer]) -> WebhookResponse {
        let replies: Vec<_> = answers
            .iter()
            .flat_map(|a| &a.replies)
            .map(|(group_id, text)| json!({ "group_id": group_id, "text": text }))
            .collect();
        let ticket = answers.iter().find_map(|a| a.ticket);
        WebhookResponse::json(&json!({ "replies": replies, "ticket": ticket }))
    }

    pub fn sends(&self) -> bool {
        self.reply_url.is_some()
    }

    pub async fn send(
        &self,
        client: &reqwest::Client,
        out: &Outgoing<'_>,
    ) -> Result<(), SendError> {
        let Some(url) = &self.reply_url else {
            return Err(SendError::Permanent("no reply_url configured".into()));
        };
        let resp = client
            .post(url)
            .header("Idempotency-Key", out.idempotency_key)
            .json(&json!({ "group_id": out.group_id, "text": out.text, "ticket": out.ticket }))
            .send()
            .await
            .map_err(|e| SendError::network(&e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let after = retry_after(&resp);
        let body = resp.text().await.unwrap_or_default();
        Err(SendError::from_status(status.as_u16(), after, &body))
    }
}
