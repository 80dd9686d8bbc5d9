//! Errors of the ticket store. User mistakes are not errors: they become replies.

use thiserror::Error;

/// Something went wrong with storage, not with what the user typed.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt record in tree `{tree}`: {detail}")]
    Corrupt { tree: &'static str, detail: String },
    #[error("record in tree `{tree}` has format version {version}, which this build cannot read")]
    UnsupportedVersion { tree: &'static str, version: u64 },
    #[error("could not encode record: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("could not write export: {0}")]
    Io(#[from] std::io::Error),
    #[error("flushing to disk failed: {0}")]
    FlushFailed(String),
    #[error("ticket counter exhausted")]
    CounterExhausted,
    /// Storage refuses new work for now (low disk, failing writes); retry later.
    #[error(transparent)]
    Unavailable(#[from] crate::disk::Unhealthy),
}

impl StoreError {
    pub(crate) fn corrupt(tree: &'static str, detail: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt {
            tree,
            detail: detail.to_string(),
        }
    }
}
