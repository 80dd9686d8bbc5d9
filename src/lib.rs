//! gongdan: turns resident complaints in community group chats into tracked tickets.
//!
//! See `ARCHITECTURE.md` for the bird's-eye view and the code map.

pub mod message;
pub mod ticket;
