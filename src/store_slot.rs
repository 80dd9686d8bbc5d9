//! The database in use, and reopening it when sled has given up writing.
//!
//! sled 0.34 keeps the first failed log write as a global error: every later
//! write and flush fails with it, also after the disk has room again. Only a
//! fresh open clears it, and sled's file lock allows one open per directory,
//! so the old handle must be gone before the new one opens. Everyone but the
//! writer therefore asks the slot for the current [`Store`] per use and never
//! keeps a clone. What was flushed is read back from disk by the reopen; what
//! was only in memory was never acknowledged, but its ticket and outbox numbers
//! are not handed out again.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::ticket::{Store, StoreError};

/// How long a reopen waits for the old database's last users to let go of its lock.
const LOCK_WAIT: Duration = Duration::from_secs(2);

pub struct StoreSlot {
    path: PathBuf,
    /// `[storage] cache_mb`, kept for reopens.
    cache_mb: u64,
    current: RwLock<Store>,
}

impl StoreSlot {
    pub fn open(path: impl AsRef<Path>, cache_mb: u64) -> Result<StoreSlot, StoreError> {
        let path = path.as_ref().to_path_buf();
        Ok(StoreSlot {
            current: RwLock::new(Store::open_with_cache(&path, cache_mb)?),
            path,
            cache_mb,
        })
    }

    /// The database in use. Use it and let it go: a kept clone blocks [`StoreSlot::reopen`].
    pub fn current(&self) -> Store {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Close the database and open it again from disk. Callers of
    /// [`StoreSlot::current`] wait meanwhile. If it cannot be opened, an empty
    /// in-memory store stands in (reads find nothing, the writer refuses work)
    /// until a later reopen succeeds.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        // Read from memory, which still answers; the disk may be behind it.
        let counters = current.counters().ok();
        let stand_in = Store::from_db(sled::Config::new().temporary(true).open()?)?;
        drop(std::mem::replace(&mut *current, stand_in));
        let started = Instant::now();
        loop {
            match Store::open_with_cache(&self.path, self.cache_mb) {
                Ok(store) => {
                    if let Some(counters) = counters {
                        store.raise_counters(counters)?;
                    }
                    *current = store;
                    return Ok(());
                }
                Err(e) if is_locked(&e) && started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// sled's "could not acquire lock" (another handle on the same directory is still open).
fn is_locked(e: &StoreError) -> bool {
    matches!(e, StoreError::Sled(sled::Error::Io(io)) if io.kind() == std::io::ErrorKind::Other
        && io.to_string().contains("could not acquire lock"))
}
