//! Group commit: one background thread flushes sled for every writer waiting on it.
//!
//! Two reasons. sled 0.34's `flush_async` deadlocks when called concurrently
//! (spacejam/sled#1308, fixed only on its unreleased main branch). And an
//! fsync per request caps ingest at the disk's fsync rate; with one flusher,
//! every writer that asked before a flush started is covered by that flush,
//! so many webhooks are acknowledged after a single fsync, never before their
//! data is on disk.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::error::StoreError;

/// What the flusher has made durable.
#[derive(Debug, Clone, Default)]
struct Durable {
    /// Every request numbered up to this one is on disk.
    flushed: u64,
    /// The last flush failed with this.
    error: Option<String>,
}

struct Shared {
    requested: AtomicU64,
    durable: watch::Sender<Durable>,
}

pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
    wake: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
    pub fn start(db: sled::Db) -> GroupCommit {
        let shared = Arc::new(Shared {
            requested: AtomicU64::new(0),
            durable: watch::channel(Durable::default()).0,
        });
        let (wake, rx) = mpsc::channel::<()>();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("gongdan-flush".into())
            .spawn(move || {
                // Ends when the last Store clone drops its sender.
                while rx.recv().is_ok() {
                    while rx.try_recv().is_ok() {}
                    // Read the target before flushing: each writer asked
                    // after its write, so this flush covers all of them.
                    let target = s.requested.load(Ordering::SeqCst);
                    let result = db.flush();
                    s.durable.send_modify(|d| {
                        d.flushed = d.flushed.max(target);
                        d.error = result.err().map(|e| e.to_string());
                    });
                }
            })
            .ok();
        GroupCommit {
            shared,
            wake: Some(wake),
            thread,
        }
    }

    /// Wait until everything this caller wrote before calling is on disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let ticket = self.shared.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rx = self.shared.durable.subscribe();
        match &self.wake {
            Some(w) if self.thread.is_some() && w.send(()).is_ok() => {}
            _ => {
                return Err(StoreError::FlushFailed(
                    "the flush thread is not running".into(),
                ))
            }
        }
        let durable = rx
            .wait_for(|d| d.flushed >= ticket)
            .await
            .map_err(|_| StoreError::FlushFailed("the flush thread stopped".into()))?
            .clone();
        match durable.error {
            Some(e) => Err(StoreError::FlushFailed(e)),
            None => Ok(()),
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        // Closing the channel ends the thread; joining it releases its
        // handle on the database, so the directory can be opened again.
        self.wake.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
