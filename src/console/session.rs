//! Console sessions: the cookie, CSRF tokens, and the login failure limit.
//!
//! Sessions live in memory: a restart logs everyone out, which is the safe
//! direction. The cookie holds a random id (`HttpOnly`, `SameSite=Strict`,
//! `Path=/console`, `Secure` behind HTTPS); the map is keyed by its SHA-256 so
//! a memory dump does not hold live cookies. Every form carries the session's
//! CSRF token; the login form, which has no session yet, uses a
//! double-submit cookie.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

use super::users::{random_token, token_hash, StaffRole};

pub const SESSION_COOKIE: &str = "gongdan_session";
pub const LOGIN_COOKIE: &str = "gongdan_login";
/// A session unused this long ends.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(8 * 3600);
/// Failed logins allowed per account (and per client address) in [`FAILURE_WINDOW`].
pub const MAX_FAILURES: u32 = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Who is logged in, as of login.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub role: StaffRole,
    pub csrf: String,
    last_seen: Instant,
}

#[derive(Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Sessions {
    /// Starts a session; returns the cookie value.
    pub fn create(&self, user: &str, role: StaffRole) -> String {
        let id = random_token(32);
        let session = Session {
            user: user.to_string(),
            role,
            csrf: random_token(24),
            last_seen: Instant::now(),
        };
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|_, s| s.last_seen.elapsed() < IDLE_TIMEOUT);
        live.insert(token_hash(&id), session);
        id
    }

    /// The session behind a cookie value, touched.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let key = token_hash(id);
        let s = live.get_mut(&key)?;
        if s.last_seen.elapsed() >= IDLE_TIMEOUT {
            live.remove(&key);
            return None;
        }
        s.last_seen = Instant::now();
        Some(s.clone())
    }

    pub fn end(&self, id: &str) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&token_hash(id));
    }

    /// Ends every session of a user (removed, or password changed).
    pub fn end_user(&self, user: &str) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, s| s.user != user);
    }

    /// Whether any of `keys` (account, client address) has used up its failures.
    pub fn locked_out(&self, keys: &[&str]) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .filter_map(|k| failures.get(*k))
            .filter(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW)
            .map(|(_, since)| FAILURE_WINDOW.saturating_sub(since.elapsed()))
            .max()
    }

    pub fn record_failure(&self, keys: &[&str]) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        for k in keys {
            let slot = failures.entry(k.to_string()).or_insert((0, Instant::now()));
            slot.0 += 1;
        }
    }

    pub fn clear_failures(&self, account: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(account);
    }
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the browser reached us over HTTPS (directly or through a proxy that says so).
pub fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value; `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<u64>) -> String {
    let mut c = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_start_end_and_lock_out() {
        let s = Sessions::default();
        let id = s.create("李明", StaffRole::Officer);
        assert_eq!(s.get(&id).unwrap().user, "李明");
        assert!(s.get("nope").is_none());
        s.end(&id);
        assert!(s.get(&id).is_none());
        for _ in 0..MAX_FAILURES {
            assert!(s.locked_out(&["user:a"]).is_none());
            s.record_failure(&["user:a"]);
        }
        assert!(s.locked_out(&["user:a", "ip:x"]).is_some());
        assert!(s.locked_out(&["user:b"]).is_none());
    }

    #[test]
    fn cookies_parse_and_carry_the_flags() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "a=1; gongdan_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        let c = set_cookie(SESSION_COOKIE, "abc", true, None);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
    }
}
