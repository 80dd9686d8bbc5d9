//! Service configuration: embedded defaults, an optional TOML file, then `GONGDAN__...` environment overrides.
//!
//! Secrets are wrapped in [`Secret`], whose `Debug` and `Display` print `***`,
//! so logging a config (or an error containing one) never leaks them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod secret;
mod validate;
pub use secret::Secret;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub rules: RulesConfig,
    pub tickets: TicketsConfig,
    pub roles: RolesConfig,
    /// Reply template overrides by event name (`created`, `claimed`, `resolved`, ...).
    pub replies: BTreeMap<String, String>,
    pub outbox: OutboxConfig,
    pub platforms: PlatformsConfig,
    pub org: OrgConfig,
    pub sla: SlaConfig,
    pub digest: DigestConfig,
}

/// Figures each staff group gets: yesterday's every morning, last month's on the 1st.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DigestConfig {
    pub enabled: bool,
    /// China time, `HH:MM`.
    pub morning_at: String,
    /// Also last month's figures on the 1st.
    pub monthly: bool,
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            enabled: true,
            morning_at: "08:00".into(),
            monthly: true,
        }
    }
}

/// `org.toml`: the 市→区→街道→社区 tree, its officers, leaders and staff groups.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrgConfig {
    /// Unset: `org.toml` beside the config file (none without a config file).
    /// A missing file means no organisation: `[roles]` alone, as before.
    pub path: Option<PathBuf>,
}

/// SLA clocks: how a category's `sla_hours` counts and when the timer acts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    /// `calendar` (every hour counts) or `working` (only working hours on working days).
    pub mode: SlaMode,
    /// Working hours, China time, `HH:MM`.
    pub work_start: String,
    pub work_end: String,
    /// Holidays and 调休 working days (see `holidays/cn.toml`); relative
    /// paths are read from the working directory. Unset: weekends only.
    pub holidays: Option<PathBuf>,
    /// Per-priority `sla_hours` that replace the category's (`urgent = 4`).
    pub priority_hours: BTreeMap<String, u32>,
    /// Per-level time once a ticket has risen there (`street = 24`): the
    /// hours that level has before the ticket rises again. Unset levels get
    /// the ticket's own `sla_hours`.
    pub level_hours: BTreeMap<String, u32>,
    /// The owner is reminded at this share of the time (percent).
    pub remind_percent: u32,
    /// How often the timer looks, besides when the clock jumps.
    pub check_every_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlaMode {
    #[default]
    Calendar,
    Working,
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            mode: SlaMode::Calendar,
            work_start: "09:00".into(),
            work_end: "18:00".into(),
            holidays: None,
            priority_hours: BTreeMap::new(),
            level_hours: BTreeMap::new(),
            remind_percent: 75,
            check_every_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Largest request body accepted; larger gets 413.
    pub max_body_bytes: usize,
    /// Bearer token for `/api/...`; the API refuses every call while unset.
    pub api_token: Option<Secret>,
    /// `text` (human) or `json`.
    pub log_format: LogFormat,
    /// Open connections at most; past it new ones wait in the kernel's
    /// backlog. Keep it well under the process's file limit (often 1,024).
    pub max_connections: usize,
    /// A request's head must arrive whole within this of the connection
    /// opening or of the previous answer on it (slow-loris and silent clients).
    pub header_read_timeout_ms: u64,
    /// A request's body must arrive whole within this of its head.
    pub body_read_timeout_ms: u64,
    /// A connection on which no byte moves for this long, while no request
    /// of it is being handled, is closed (a client that stopped reading).
    pub idle_timeout_ms: u64,
    /// On shutdown, requests still in flight after this are dropped (every
    /// one acknowledged before then is on disk).
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    /// Refuse new messages (503) while the data directory's disk has less
    /// free space than this, so sled always has room for its log; 0: no check.
    pub min_free_mb: u64,
    /// How long a free-space reading is trusted before it is taken again.
    pub free_space_check_ms: u64,
    /// sled's page cache, in MiB: the part of memory that grows with the
    /// store (it fills as a large store is read), so it is bounded here;
    /// each MiB measured ~4-5 MiB of RSS.
    pub cache_mb: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    pub dir: PathBuf,
    /// Reload the rules when their files change.
    pub watch: bool,
    /// How often the watcher looks at the files.
    pub watch_interval_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TicketsConfig {
    /// A repeat report within this window joins the open ticket.
    pub duplicate_window_hours: u32,
    /// A resolved ticket closes on its own when its reporter has neither
    /// confirmed nor disputed it for this long; 0 turns that off.
    pub auto_close_hours: u32,
}

/// Who may run officer and admin commands, as `"platform:user_id"`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RolesConfig {
    pub officers: Vec<String>,
    pub admins: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Replies per group per minute (most chat platforms allow about 20).
    pub per_group_per_minute: u32,
    /// A reply still undelivered after this long goes to the dead-letter tree.
    pub give_up_after_hours: u32,
    /// First retry delay; doubles each attempt, with jitter.
    pub initial_backoff_ms: u64,
    /// Longest retry delay; also the wait after a send that timed out, whose
    /// outcome is unknown (the platform may still post it).
    pub max_backoff_ms: u64,
    /// How long one send may take before it is abandoned.
    pub send_timeout_ms: u64,
    /// Most sends in flight at once, across all groups (one per group at most).
    pub max_in_flight: usize,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformsConfig {
    pub generic: GenericConfig,
    pub onebot: OnebotConfig,
    pub wechat: WechatConfig,
    pub telegram: TelegramConfig,
    // Feishu, DingTalk and WeCom are off unless their table sets `enabled = true`;
    // an enabled platform must also carry the credentials it needs (see `validate`).
    pub feishu: FeishuConfig,
    pub dingtalk: DingtalkConfig,
    pub wecom: WecomConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenericConfig {
    pub enabled: bool,
    /// When set, requests must carry `X-Gongdan-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.
    pub secret: Option<Secret>,
    /// When set, the outbox POSTs each reply `{group_id, text, ticket}` here.
    pub reply_url: Option<String>,
}

/// OneBot v11 (QQ through NapCat, LLOneBot, Lagrange, go-cqhttp): HTTP POST events.
/// Off unless `enabled = true`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OnebotConfig {
    pub enabled: bool,
    /// The implementation's HTTP-post `secret`: requests must then carry
    /// `X-Signature: sha1=<hex HMAC-SHA1(secret, body)>`.
    pub secret: Option<Secret>,
    /// The implementation's HTTP API (`http://127.0.0.1:3000`). When set, replies go
    /// out through `POST {api_url}/send_group_msg`; when unset, they ride on the
    /// webhook response as a quick operation.
    pub api_url: Option<String>,
    /// The HTTP API's `access_token`, sent as `Authorization: Bearer ...`.
    pub access_token: Option<Secret>,
}

/// Personal WeChat groups through the wechatbot-webhook bridge. Off unless `enabled = true`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WechatConfig {
    pub enabled: bool,
    /// Shared secret for the inbound webhook: the bridge cannot sign, so its
    /// `RECVD_MSG_API` must end in `?token=<this>`.
    pub token: Option<Secret>,
    /// The bridge (`http://127.0.0.1:3001`). When set, replies go out through
    /// `POST {api_url}/webhook/msg/v2?token=...`; when unset, they ride on the
    /// webhook response (the bridge's quick reply).
    pub api_url: Option<String>,
    /// The bridge's own API token (its `LOGIN_API_TOKEN`).
    pub api_token: Option<Secret>,
}

/// Telegram Bot API webhook. Off unless `enabled = true`; then `bot_token` is required.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    pub enabled: bool,
    /// The token from @BotFather; it is part of every API URL, so it is never logged.
    pub bot_token: Option<Secret>,
    /// The `secret_token` given to `setWebhook`; requests must then carry it in
    /// `X-Telegram-Bot-Api-Secret-Token`.
    pub secret_token: Option<Secret>,
    /// The bot's @username (without `@`): its mentions are removed from message text.
    /// Unset: mentions of any bot (usernames ending in `bot`) are removed.
    pub bot_username: Option<String>,
    /// Bot API base URL (override for a local Bot API server or tests).
    pub api_base: String,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            enabled: false,
            bot_token: None,
            secret_token: None,
            bot_username: None,
            api_base: "https://api.telegram.org".to_string(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 64 * 1024,
            api_token: None,
            log_format: LogFormat::Text,
            max_connections: 512,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            shutdown_grace_secs: 10,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("data"),
            min_free_mb: 64,
            free_space_check_ms: 1000,
            cache_mb: crate::ticket::DEFAULT_CACHE_MB,
        }
    }
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            dir: PathBuf::from("rules"),
            watch: true,
            watch_interval_ms: 2000,
        }
    }
}

impl Default for TicketsConfig {
    fn default() -> Self {
        TicketsConfig {
            duplicate_window_hours: 72,
            auto_close_hours: crate::ticket::DEFAULT_AUTO_CLOSE_HOURS,
        }
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            per_group_per_minute: 20,
            give_up_after_hours: 24,
            initial_backoff_ms: 1000,
            max_backoff_ms: 10 * 60 * 1000,
            send_timeout_ms: 10_000,
            max_in_flight: 32,
        }
    }
}

impl Default for GenericConfig {
    fn default() -> Self {
        GenericConfig {
            enabled: true,
            secret: None,
            reply_url: None,
        }
    }
}

/// `[platforms.feishu]`: a Feishu / Lark self-built app with event subscription (v2, webhook mode).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeishuConfig {
    /// Off unless set; needs `app_id`, `app_secret` and `verification_token` or `encrypt_key`.
    pub enabled: bool,
    pub app_id: Option<String>,
    /// Exchanged for a `tenant_access_token` to send replies.
    pub app_secret: Option<Secret>,
    /// Compared with the `token` every event carries.
    pub verification_token: Option<Secret>,
    /// When set, events arrive encrypted and signed (`X-Lark-Signature`).
    pub encrypt_key: Option<Secret>,
    /// Open-platform base URL (`https://open.larksuite.com` for Lark).
    pub api_base: String,
    /// Largest accepted age of `X-Lark-Request-Timestamp`, in seconds.
    pub max_clock_skew_secs: u64,
}

/// `[platforms.dingtalk]`: a DingTalk enterprise-internal robot receiving messages over HTTP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DingtalkConfig {
    /// Off unless set; needs `app_key` and `app_secret`.
    pub enabled: bool,
    /// AppKey (Client ID) of the app the robot belongs to.
    pub app_key: Option<String>,
    /// AppSecret (Client Secret): verifies the `sign` header and fetches access tokens.
    pub app_secret: Option<Secret>,
    /// The robot's code for the group-send API; defaults to `app_key` (the usual case).
    pub robot_code: Option<String>,
    /// API base URL for the token and group-send APIs.
    pub api_base: String,
    /// Largest accepted distance of the `timestamp` header from our clock, in seconds.
    pub max_clock_skew_secs: u64,
}

/// `[platforms.wecom]`: a WeCom (企业微信) 智能机器人 in API mode (JSON callbacks).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WecomConfig {
    /// Off unless set; needs `token` and `encoding_aes_key`.
    pub enabled: bool,
    /// The callback Token from the robot's API settings.
    pub token: Option<Secret>,
    /// The 43-character EncodingAESKey from the robot's API settings.
    pub encoding_aes_key: Option<Secret>,
    /// ReceiveId expected at the end of every decrypted payload ("" for a company's own AI bot).
    pub receive_id: String,
    /// Group-robot (消息推送) webhook keys by chat id, for posts that answer no message
    /// (or whose one-shot `response_url` is used up or expired).
    pub webhook_keys: BTreeMap<String, Secret>,
    /// Base URL of the group-robot webhook API.
    pub webhook_base: String,
    /// Largest accepted distance of the `timestamp` query parameter from our clock, in seconds.
    pub max_clock_skew_secs: u64,
}

impl Default for FeishuConfig {
    fn default() -> Self {
        FeishuConfig {
            enabled: false,
            app_id: None,
            app_secret: None,
            verification_token: None,
            encrypt_key: None,
            api_base: "https://open.feishu.cn".into(),
            max_clock_skew_secs: 300,
        }
    }
}

impl Default for DingtalkConfig {
    fn default() -> Self {
        DingtalkConfig {
            enabled: false,
            app_key: None,
            app_secret: None,
            robot_code: None,
            api_base: "https://api.dingtalk.com".into(),
            max_clock_skew_secs: 3600,
        }
    }
}

impl Default for WecomConfig {
    fn default() -> Self {
        WecomConfig {
            enabled: false,
            token: None,
            encoding_aes_key: None,
            receive_id: String::new(),
            webhook_keys: BTreeMap::new(),
            webhook_base: "https://qyapi.weixin.qq.com".into(),
            max_clock_skew_secs: 300,
        }
    }
}

fn set(v: &Option<Secret>) -> bool {
    v.as_ref().is_some_and(|s| !s.expose().trim().is_empty())
}

fn need(ok: bool, what: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid(format!(
            "{what} (or set enabled = false)"
        )))
    }
}

impl FeishuConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        let app_id = self.app_id.as_deref().is_some_and(|s| !s.trim().is_empty());
        need(
            app_id && set(&self.app_secret),
            "platforms.feishu needs app_id and app_secret",
        )?;
        // Without either, anyone who finds the URL could post events.
        need(
            set(&self.verification_token) || set(&self.encrypt_key),
            "platforms.feishu needs verification_token or encrypt_key",
        )
    }
}

impl DingtalkConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        let app_key = self
            .app_key
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty());
        need(
            app_key && set(&self.app_secret),
            "platforms.dingtalk needs app_key and app_secret",
        )
    }
}

impl WecomConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        need(
            set(&self.token) && set(&self.encoding_aes_key),
            "platforms.wecom needs token and encoding_aes_key",
        )?;
        let key = self.encoding_aes_key.as_ref().map_or("", |k| k.expose());
        need(
            crate::platform::crypto::wecom_aes_key(key).is_some(),
            "platforms.wecom.encoding_aes_key must be the 43-character key from the robot's settings",
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("config: {0}")]
    Invalid(String),
}

/// Environment variables that override config keys: `GONGDAN__SERVER__BIND=0.0.0.0:8080`.
pub const ENV_PREFIX: &str = "GONGDAN__";

impl Config {
    /// Defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Config::load_with_env(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment passed in (for tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (path, text) = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?;
                (p.to_path_buf(), text)
            }
            None => (PathBuf::from("<defaults>"), String::new()),
        };
        let parse_error = |e: toml::de::Error| ConfigError::Parse {
            path: path.clone(),
            line: e
                .span()
                .map_or(0, |s| crate::rules::line_of(&text, s.start)),
            message: e.message().trim().to_string(),
        };
        // Parse the file as a Config first, so its mistakes come with a line number.
        toml::from_str::<Config>(&text).map_err(parse_error)?;
        let mut table: toml::Table = toml::from_str(&text).map_err(parse_error)?;
        for (var, value) in env {
            let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let keys: Vec<String> = rest.split("__").map(|k| k.to_ascii_lowercase()).collect();
            let value = env_value(&keys, &value);
            set_path(&mut table, &keys, value).map_err(|message| ConfigError::Env {
                var: var.clone(),
                message,
            })?;
        }
        let mut config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: path.clone(),
                    line: 0,
                    message: e.message().trim().to_string(),
                })?;
        if config.org.path.is_none() {
            config.org.path = file.map(|f| f.with_file_name("org.toml"));
        }
        config.validate()?;
        Ok(config)
    }
}

/// An environment value is TOML when it parses as a TOML value (`8080`,
/// `true`, `["a", "b"]`) that the key accepts, otherwise a plain string: a
/// token `123456` or an app id `0042` stays the text that was set. The key
/// decides by itself, deserialised alone over the defaults, so no list of
/// string keys can fall behind the structs.
fn env_value(keys: &[String], raw: &str) -> toml::Value {
    let text = toml::Value::String(raw.to_string());
    let doc = format!("v = {raw}");
    let typed = match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t.remove("v"),
        Err(_) => None,
    };
    let Some(typed) = typed.filter(|v| !v.is_str()) else {
        return text;
    };
    let accepts = |value: &toml::Value| {
        let mut probe = toml::Table::new();
        set_path(&mut probe, keys, value.clone()).is_ok()
            && toml::Value::Table(probe).try_into::<Config>().is_ok()
    };
    if !accepts(&typed) && accepts(&text) {
        text
    } else {
        typed
    }
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = keys.split_last() else {
        return Err("empty key".into());
    };
    if keys.iter().any(|k| k.is_empty()) {
        return Err("empty key segment".into());
    }
    let mut cur = table;
    for k in parents {
        let entry = cur
            .entry(k.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry
            .as_table_mut()
            .ok_or_else(|| format!("{k} is not a table"))?;
    }
    cur.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests;
