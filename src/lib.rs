//! gongdan: turns resident complaints in community group chats into tracked tickets.
//!
//! See `ARCHITECTURE.md` for the bird's-eye view and the code map.

pub mod answer;
pub mod auto_close;
pub mod classify;
pub mod clock;
pub mod config;
pub mod console;
pub mod digest;
pub mod disk;
pub mod eval;
pub mod message;
pub mod metrics;
pub mod org;
pub mod outbox;
pub mod platform;
pub mod priority;
pub mod reply_limit;
pub mod report;
pub mod rules;
pub mod server;
pub mod service;
pub mod sla;
pub mod store_slot;
pub mod ticket;
pub mod watch;
pub mod writer;

/// Test support: how many cases a property test runs. `GONGDAN_FUZZ_CASES`
/// scales every fuzz-style test up for a long run (see README, "Fuzzing").
#[doc(hidden)]
pub fn fuzz_cases(default: u32) -> u32 {
    std::env::var("GONGDAN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
