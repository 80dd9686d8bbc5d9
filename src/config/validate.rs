//! The checks a loaded configuration must pass before the service starts:
//! ranges, `HH:MM` times, known priorities and levels, no empty secret.

use super::{Config, ConfigError, Secret};

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.server.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "server.max_body_bytes must be at least 1024".into(),
            ));
        }
        if self.outbox.per_group_per_minute == 0 {
            return Err(ConfigError::Invalid(
                "outbox.per_group_per_minute must be at least 1".into(),
            ));
        }
        if self.outbox.send_timeout_ms == 0 || self.outbox.max_in_flight == 0 {
            return Err(ConfigError::Invalid(
                "outbox.send_timeout_ms and outbox.max_in_flight must be at least 1".into(),
            ));
        }
        let telegram = &self.platforms.telegram;
        if telegram.enabled
            && telegram
                .bot_token
                .as_ref()
                .is_none_or(|t| t.expose().is_empty())
        {
            return Err(ConfigError::Invalid(
                "platforms.telegram.bot_token is required when telegram is enabled".into(),
            ));
        }
        for id in self.roles.officers.iter().chain(&self.roles.admins) {
            if !id.contains(':') {
                return Err(ConfigError::Invalid(format!(
                    "roles: {id:?} must be \"platform:user_id\", e.g. \"onebot:10001\""
                )));
            }
        }
        if !(1..=100).contains(&self.sla.remind_percent) {
            return Err(ConfigError::Invalid(
                "sla.remind_percent must be between 1 and 100".into(),
            ));
        }
        for (key, value) in [
            ("sla.work_start", &self.sla.work_start),
            ("sla.work_end", &self.sla.work_end),
            ("digest.morning_at", &self.digest.morning_at),
        ] {
            if crate::sla::parse_hhmm(value).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "{key} must be HH:MM, e.g. \"09:00\" (got {value:?})"
                )));
            }
        }
        for key in self.sla.priority_hours.keys() {
            if crate::priority::Priority::parse(key).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "sla.priority_hours: {key:?} is not a priority (low, normal, high, urgent)"
                )));
            }
        }
        for (key, hours) in &self.sla.level_hours {
            match crate::org::Level::parse(key) {
                Some(crate::org::Level::Community) => {
                    return Err(ConfigError::Invalid(
                        "sla.level_hours: the community's time is the category's sla_hours \
                         (set [sla.priority_hours] to change it); set street, district or city"
                            .into(),
                    ))
                }
                Some(_) => {}
                None => {
                    return Err(ConfigError::Invalid(format!(
                        "sla.level_hours: {key:?} is not a level above the community (street, district, city)"
                    )))
                }
            }
            if !(1..=8760).contains(hours) {
                return Err(ConfigError::Invalid(format!(
                    "sla.level_hours.{key} must be between 1 and 8760 hours"
                )));
            }
        }
        for (key, secret) in self.secrets() {
            // `api_token = ""` or `KEY=${UNSET}` in a compose file: an empty
            // secret would turn authentication off (or sign with an empty key).
            if secret.is_some_and(|s| s.expose().trim().is_empty()) {
                return Err(ConfigError::Invalid(format!(
                    "{key} is empty: set a value, or remove the key to leave it unset"
                )));
            }
        }
        if self.storage.cache_mb == 0 {
            return Err(ConfigError::Invalid(
                "storage.cache_mb must be at least 1".into(),
            ));
        }
        if self.server.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "server.max_connections must be at least 1".into(),
            ));
        }
        self.platforms.feishu.validate()?;
        self.platforms.dingtalk.validate()?;
        self.platforms.wecom.validate()?;
        Ok(())
    }
}

impl Config {
    /// Every [`Secret`] in the config with its key, so one check covers them all.
    pub(super) fn secrets(&self) -> Vec<(String, Option<&Secret>)> {
        let p = &self.platforms;
        let mut out = vec![
            (
                "server.api_token".to_string(),
                self.server.api_token.as_ref(),
            ),
            ("platforms.generic.secret".into(), p.generic.secret.as_ref()),
            ("platforms.onebot.secret".into(), p.onebot.secret.as_ref()),
            (
                "platforms.onebot.access_token".into(),
                p.onebot.access_token.as_ref(),
            ),
            ("platforms.wechat.token".into(), p.wechat.token.as_ref()),
            (
                "platforms.wechat.api_token".into(),
                p.wechat.api_token.as_ref(),
            ),
            (
                "platforms.telegram.bot_token".into(),
                p.telegram.bot_token.as_ref(),
            ),
            (
                "platforms.telegram.secret_token".into(),
                p.telegram.secret_token.as_ref(),
            ),
            (
                "platforms.feishu.app_secret".into(),
                p.feishu.app_secret.as_ref(),
            ),
            (
                "platforms.feishu.verification_token".into(),
                p.feishu.verification_token.as_ref(),
            ),
            (
                "platforms.feishu.encrypt_key".into(),
                p.feishu.encrypt_key.as_ref(),
            ),
            (
                "platforms.dingtalk.app_secret".into(),
                p.dingtalk.app_secret.as_ref(),
            ),
            ("platforms.wecom.token".into(), p.wecom.token.as_ref()),
            (
                "platforms.wecom.encoding_aes_key".into(),
                p.wecom.encoding_aes_key.as_ref(),
            ),
        ];
        for (chat, key) in &p.wecom.webhook_keys {
            out.push((format!("platforms.wecom.webhook_keys.{chat}"), Some(key)));
        }
        out
    }
}
