//! An access token fetched from a platform's auth API, cached until shortly before it expires.

use std::time::{Duration, Instant};

use crate::config::Secret;

pub(crate) struct CachedToken {
    value: Secret,
    refresh_at: Instant,
}

impl CachedToken {
    /// A token the platform says lives `ttl_secs`. It is refreshed five
    /// minutes early, or halfway through for short-lived tokens, so a reply
    /// never goes out with one that expires in flight.
    pub fn new(value: Secret, ttl_secs: i64) -> CachedToken {
        let ttl = ttl_secs.clamp(0, 86_400) as u64;
        let lifetime = if ttl > 600 { ttl - 300 } else { ttl / 2 };
        CachedToken {
            value,
            refresh_at: Instant::now() + Duration::from_secs(lifetime),
        }
    }

    /// The token, while it is still good to use.
    pub fn fresh(&self) -> Option<&Secret> {
        (Instant::now() < self.refresh_at).then_some(&self.value)
    }
}
