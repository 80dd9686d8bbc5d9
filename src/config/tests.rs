//! Loading the configuration: defaults, the file, the environment, and the checks.

use super::*;

#[test]
fn defaults_need_no_file() {
    let c = Config::load_with_env(None, Vec::new()).unwrap();
    assert_eq!(c.server.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(c.storage.data_dir, PathBuf::from("data"));
    assert!(c.platforms.generic.enabled);
    assert_eq!(c.server.max_body_bytes, 65536);
}

#[test]
fn the_sled_cache_bound_is_a_setting() {
    let c = Config::load_with_env(None, Vec::new()).unwrap();
    assert_eq!(c.storage.cache_mb, crate::ticket::DEFAULT_CACHE_MB);
    let env = |v: &str| vec![("GONGDAN__STORAGE__CACHE_MB".to_string(), v.to_string())];
    let c = Config::load_with_env(None, env("4")).unwrap();
    assert_eq!(c.storage.cache_mb, 4);
    let err = Config::load_with_env(None, env("0")).unwrap_err();
    assert!(err.to_string().contains("storage.cache_mb"), "{err}");
}

#[test]
fn environment_overrides_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[server]\nbind = \"127.0.0.1:9000\"\n").unwrap();
    let env = vec![
        (
            "GONGDAN__SERVER__BIND".to_string(),
            "0.0.0.0:7000".to_string(),
        ),
        (
            "GONGDAN__ROLES__OFFICERS".to_string(),
            r#"["generic:w"]"#.to_string(),
        ),
        (
            "GONGDAN__PLATFORMS__GENERIC__SECRET".to_string(),
            "s3cret".to_string(),
        ),
        ("UNRELATED".to_string(), "x".to_string()),
    ];
    let c = Config::load_with_env(Some(&path), env).unwrap();
    assert_eq!(c.server.bind.to_string(), "0.0.0.0:7000");
    assert_eq!(c.roles.officers, vec!["generic:w".to_string()]);
    let secret = c.platforms.generic.secret.clone().unwrap();
    assert_eq!(secret.expose(), "s3cret");
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn im_platforms_are_off_unless_enabled() {
    let c = Config::load_with_env(None, Vec::new()).unwrap();
    assert!(!c.platforms.onebot.enabled);
    assert!(!c.platforms.wechat.enabled);
    assert!(!c.platforms.telegram.enabled);
    assert_eq!(c.platforms.telegram.api_base, "https://api.telegram.org");

    let env = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let err = Config::load_with_env(
        None,
        env(&[("GONGDAN__PLATFORMS__TELEGRAM__ENABLED", "true")]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("bot_token"), "{err}");
    let c = Config::load_with_env(
        None,
        env(&[
            ("GONGDAN__PLATFORMS__TELEGRAM__ENABLED", "true"),
            ("GONGDAN__PLATFORMS__TELEGRAM__BOT_TOKEN", "123:abc"),
            ("GONGDAN__PLATFORMS__ONEBOT__ENABLED", "true"),
            ("GONGDAN__PLATFORMS__ONEBOT__SECRET", "qq-s3cret"),
            ("GONGDAN__PLATFORMS__WECHAT__TOKEN", "wx-s3cret"),
        ]),
    )
    .unwrap();
    assert!(c.platforms.telegram.enabled && c.platforms.onebot.enabled);
    assert!(
        !c.platforms.wechat.enabled,
        "a token alone does not turn it on"
    );
    let shown = format!("{c:?}");
    for secret in ["123:abc", "qq-s3cret", "wx-s3cret"] {
        assert!(!shown.contains(secret), "{secret} leaked");
    }
}

#[test]
fn example_config_parses_with_every_chat_platform_off() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let c = Config::load_with_env(Some(&path), Vec::new()).unwrap();
    assert!(!c.platforms.onebot.enabled);
    assert!(!c.platforms.wechat.enabled);
    assert!(!c.platforms.telegram.enabled);
    let p = &c.platforms;
    assert!(!p.feishu.enabled && !p.dingtalk.enabled && !p.wecom.enabled);
    assert_eq!(p.feishu.api_base, "https://open.feishu.cn");
    assert_eq!(p.dingtalk.max_clock_skew_secs, 3600);
    assert!(p.wecom.webhook_keys.is_empty());
    assert_eq!(
        c.tickets.auto_close_hours,
        Config::default().tickets.auto_close_hours
    );
}

#[test]
fn an_enabled_chat_platform_needs_its_keys() {
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    for (on, missing) in [
        ("GONGDAN__PLATFORMS__FEISHU__ENABLED", "app_id"),
        ("GONGDAN__PLATFORMS__DINGTALK__ENABLED", "app_key"),
        ("GONGDAN__PLATFORMS__WECOM__ENABLED", "token"),
    ] {
        let err = Config::load_with_env(None, env(&[(on, "true")])).unwrap_err();
        assert!(err.to_string().contains(missing), "{err}");
    }
    let err = Config::load_with_env(
        None,
        env(&[
            ("GONGDAN__PLATFORMS__FEISHU__ENABLED", "true"),
            ("GONGDAN__PLATFORMS__FEISHU__APP_ID", "cli_x"),
            ("GONGDAN__PLATFORMS__FEISHU__APP_SECRET", "s"),
        ]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("verification_token"), "{err}");
    let err = Config::load_with_env(
        None,
        env(&[
            ("GONGDAN__PLATFORMS__WECOM__ENABLED", "true"),
            ("GONGDAN__PLATFORMS__WECOM__TOKEN", "t"),
            ("GONGDAN__PLATFORMS__WECOM__ENCODING_AES_KEY", "short"),
        ]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("43-character"), "{err}");
    let c = Config::load_with_env(
        None,
        env(&[
            ("GONGDAN__PLATFORMS__WECOM__ENABLED", "true"),
            ("GONGDAN__PLATFORMS__WECOM__TOKEN", "t0ken-value"),
            (
                "GONGDAN__PLATFORMS__WECOM__ENCODING_AES_KEY",
                "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
            ),
            (
                "GONGDAN__PLATFORMS__WECOM__WEBHOOK_KEYS",
                r#"{ "wrAbC" = "hook-key" }"#,
            ),
        ]),
    )
    .unwrap();
    assert_eq!(c.platforms.wecom.webhook_keys["wrAbC"].expose(), "hook-key");
    let shown = format!("{c:?}");
    assert!(!shown.contains("t0ken-value") && !shown.contains("hook-key"));
}

/// Each key of [`Config::secrets`] as the variable that sets it.
fn secret_vars() -> Vec<(String, String)> {
    let mut c = Config::default();
    c.platforms
        .wecom
        .webhook_keys
        .insert("wrabc".into(), Secret::new("x"));
    c.secrets()
        .into_iter()
        .map(|(key, _)| {
            let var = format!("{ENV_PREFIX}{}", key.replace('.', "__").to_uppercase());
            (key, var)
        })
        .collect()
}

#[test]
fn an_empty_secret_is_refused_by_name() {
    let vars = secret_vars();
    assert!(vars.len() >= 15, "{vars:?}");
    for (key, var) in &vars {
        for empty in ["", "   "] {
            let err =
                Config::load_with_env(None, vec![(var.clone(), empty.to_string())]).expect_err(key);
            assert!(err.to_string().contains(key.as_str()), "{key}: {err}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[platforms.generic]\nsecret = \"\"\n").unwrap();
    let err = Config::load_with_env(Some(&path), Vec::new()).unwrap_err();
    assert!(
        err.to_string().contains("platforms.generic.secret"),
        "{err}"
    );
}

#[test]
fn an_all_digit_secret_stays_text_and_is_never_echoed() {
    for (key, var) in secret_vars() {
        if key.ends_with("encoding_aes_key") {
            continue; // only checked when wecom is on; any 43 characters
        }
        let c = Config::load_with_env(None, vec![(var, "00123456".to_string())])
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        let got = c.secrets().into_iter().find(|(k, _)| *k == key);
        let got = got.and_then(|(_, s)| s.map(|s| s.expose().to_string()));
        assert_eq!(got.as_deref(), Some("00123456"), "{key}");
    }
    let c = Config::load_with_env(
        None,
        vec![("GONGDAN__SERVER__API_TOKEN".into(), "123456".into())],
    )
    .unwrap();
    assert_eq!(c.server.api_token.unwrap().expose(), "123456");
    // Other keys still take TOML values from the environment.
    let c = Config::load_with_env(
        None,
        vec![("GONGDAN__SERVER__MAX_BODY_BYTES".into(), "4096".into())],
    )
    .unwrap();
    assert_eq!(c.server.max_body_bytes, 4096);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[server]\napi_token = 987654321\n").unwrap();
    let err = Config::load_with_env(Some(&path), Vec::new()).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        shown.contains("c.toml:2") && shown.contains("quoted string"),
        "{shown}"
    );
    assert!(!shown.contains("987654321"), "{shown}");
}

#[test]
fn bad_file_names_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, "[server]\n\nport = 1\n").unwrap();
    let err = Config::load_with_env(Some(&path), Vec::new()).unwrap_err();
    assert!(
        err.to_string().contains("c.toml:3: unknown field `port`"),
        "{err}"
    );
}
