//! gongdan: turns resident complaints in community group chats into tracked tickets.
//!
//! See `ARCHITECTURE.md` for the bird's-eye view and the code map.

pub mod classify;
pub mod config;
pub mod eval;
pub mod message;
pub mod metrics;
pub mod outbox;
pub mod platform;
pub mod priority;
pub mod rules;
pub mod server;
pub mod service;
pub mod ticket;
pub mod watch;
pub mod writer;
