//! Memory bounds that grow with the store: the sled page cache is the configured size.

use gongdan::config::Config;
use gongdan::ticket::store::sled_config;
use gongdan::ticket::{Store, DEFAULT_CACHE_MB};

#[test]
fn sled_gets_the_configured_cache_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = vec![("GONGDAN__STORAGE__CACHE_MB".to_string(), "3".to_string())];
    let config = Config::load_with_env(None, env).expect("config");
    let sled = sled_config(dir.path(), config.storage.cache_mb);
    assert_eq!(sled.cache_capacity, 3 * 1024 * 1024);
    // sled's own default is 1 GiB: the store never leaves it unset.
    let default = sled_config(dir.path(), DEFAULT_CACHE_MB);
    assert_eq!(default.cache_capacity, DEFAULT_CACHE_MB * 1024 * 1024);
    assert!(default.cache_capacity < sled::Config::new().cache_capacity / 64);
    let store = Store::open_with_cache(dir.path().join("db"), config.storage.cache_mb)
        .expect("a store opens with a small cache");
    assert_eq!(store.outbox_len(), 0);
}
