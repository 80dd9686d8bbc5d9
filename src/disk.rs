//! Storage health: free space on the data directory's filesystem, and whether writes to the store fail.
//!
//! Two ways storage goes bad, one answer for both: new work is refused with a
//! 503 naming the reason, and `/healthz` says so. Low disk is checked before
//! the disk is actually full (`[storage] min_free_mb`), so sled always keeps
//! room to write its log, also when it reopens after a crash. Failing writes
//! are what the writer saw; it clears them once it has reopened the database.
//!
//! The free-space reading is cached: one `statvfs` per `free_space_check_ms`,
//! however many requests ask.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::StorageConfig;

const MIB: u64 = 1024 * 1024;
/// With the free-space check switched off, reopening still waits for this much room.
const REOPEN_FLOOR_BYTES: u64 = MIB;

/// Why storage cannot take new work right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unhealthy {
    #[error("the data directory's disk has {free_mb} MB free, below the {min_free_mb} MB kept in reserve ([storage] min_free_mb); new messages are refused until space is freed")]
    LowDisk { free_mb: u64, min_free_mb: u64 },
    #[error(
        "writes to the database fail ({0}); new messages are refused until it can write again"
    )]
    WritesFailing(String),
}

impl Unhealthy {
    /// The machine-readable code in JSON answers.
    pub fn code(&self) -> &'static str {
        match self {
            Unhealthy::LowDisk { .. } => "low_disk",
            Unhealthy::WritesFailing(_) => "storage_failing",
        }
    }
}

/// How the free space of a directory's filesystem is read (swapped in unit tests).
pub type FreeSpaceProbe = fn(&Path) -> io::Result<u64>;

/// Shared by the writer (which reports failures and recoveries), the service and `/healthz`.
pub struct StorageHealth {
    data_dir: PathBuf,
    min_free_bytes: u64,
    check_every: Duration,
    probe: FreeSpaceProbe,
    space: Mutex<SpaceReading>,
    failing: Mutex<Option<String>>,
}

#[derive(Debug, Clone, Copy)]
struct SpaceReading {
    at: Option<Instant>,
    /// `None`: the last reading failed; not treated as low (the writes will tell).
    free: Option<u64>,
}

impl StorageHealth {
    pub fn new(config: &StorageConfig) -> StorageHealth {
        StorageHealth::with_probe(config, free_bytes)
    }

    pub fn with_probe(config: &StorageConfig, probe: FreeSpaceProbe) -> StorageHealth {
        StorageHealth {
            data_dir: config.data_dir.clone(),
            min_free_bytes: config.min_free_mb.saturating_mul(MIB),
            check_every: Duration::from_millis(config.free_space_check_ms.max(1)),
            probe,
            space: Mutex::new(SpaceReading {
                at: None,
                free: None,
            }),
            failing: Mutex::new(None),
        }
    }

    /// How often free space is re-read; also the writer's retry pace while writes fail.
    pub fn check_every(&self) -> Duration {
        self.check_every
    }

    /// `Ok` when new work may be stored.
    pub fn status(&self) -> Result<(), Unhealthy> {
        self.status_at(Instant::now())
    }

    pub fn status_at(&self, now: Instant) -> Result<(), Unhealthy> {
        if let Some(reason) = self.writes_failing() {
            return Err(Unhealthy::WritesFailing(reason));
        }
        match self.free_at(now) {
            Some(free) if self.min_free_bytes > 0 && free < self.min_free_bytes => {
                Err(Unhealthy::LowDisk {
                    free_mb: free / MIB,
                    min_free_mb: self.min_free_bytes / MIB,
                })
            }
            _ => Ok(()),
        }
    }

    /// Whether there is room enough to reopen the database after a failure.
    pub fn has_room_to_reopen_at(&self, now: Instant) -> bool {
        self.free_at(now)
            .is_none_or(|free| free >= self.min_free_bytes.max(REOPEN_FLOOR_BYTES))
    }

    /// The reason writes fail, if they do.
    pub fn writes_failing(&self) -> Option<String> {
        self.failing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn mark_failing(&self, reason: impl std::fmt::Display) {
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        if failing.is_none() {
            tracing::error!(%reason, "database writes fail; refusing new messages until it reopens");
            *failing = Some(reason.to_string());
        }
    }

    pub fn mark_recovered(&self) {
        let mut failing = self.failing.lock().unwrap_or_else(|p| p.into_inner());
        if failing.take().is_some() {
            tracing::info!("database reopened; accepting messages again");
        }
    }

    /// Free bytes, re-read at most once per `check_every`.
    fn free_at(&self, now: Instant) -> Option<u64> {
        let mut space = self.space.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = space
            .at
            .is_some_and(|at| now.saturating_duration_since(at) < self.check_every);
        if !fresh {
            let free = (self.probe)(&self.data_dir);
            if let Err(e) = &free {
                tracing::warn!(error = %e, dir = %self.data_dir.display(), "cannot read free disk space");
            }
            *space = SpaceReading {
                at: Some(now),
                free: free.ok(),
            };
        }
        space.free
    }
}

/// Bytes an unprivileged process may still write on `dir`'s filesystem. A data
/// directory not created yet is measured at its nearest existing ancestor.
pub fn free_bytes(dir: &Path) -> io::Result<u64> {
    let existing = dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or_else(|| Path::new("."));
    let existing = if existing.as_os_str().is_empty() {
        Path::new(".")
    } else {
        existing
    };
    let st = rustix::fs::statvfs(existing)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    static FREE: AtomicU64 = AtomicU64::new(0);
    static READS: AtomicUsize = AtomicUsize::new(0);

    fn fake_probe(_: &Path) -> io::Result<u64> {
        READS.fetch_add(1, Ordering::SeqCst);
        Ok(FREE.load(Ordering::SeqCst))
    }

    fn config(min_free_mb: u64) -> StorageConfig {
        StorageConfig {
            min_free_mb,
            free_space_check_ms: 1000,
            ..StorageConfig::default()
        }
    }

    // One test, because the fake probe's statics are shared.
    #[test]
    fn low_disk_is_read_once_per_interval_and_failing_writes_win() {
        let health = StorageHealth::with_probe(&config(10), fake_probe);
        let t0 = Instant::now();
        FREE.store(50 * MIB, Ordering::SeqCst);
        assert_eq!(health.status_at(t0), Ok(()));
        let reads = READS.load(Ordering::SeqCst);

        // Within the interval the cached reading stands, however the disk changed.
        FREE.store(3 * MIB, Ordering::SeqCst);
        for ms in [1, 200, 999] {
            assert_eq!(health.status_at(t0 + Duration::from_millis(ms)), Ok(()));
        }
        assert_eq!(READS.load(Ordering::SeqCst), reads);

        let later = t0 + Duration::from_millis(1000);
        assert_eq!(
            health.status_at(later),
            Err(Unhealthy::LowDisk {
                free_mb: 3,
                min_free_mb: 10
            })
        );
        assert_eq!(READS.load(Ordering::SeqCst), reads + 1);
        assert!(!health.has_room_to_reopen_at(later));

        health.mark_failing("No space left on device");
        assert_eq!(
            health.status_at(later).unwrap_err().code(),
            "storage_failing"
        );
        health.mark_recovered();
        assert_eq!(health.status_at(later).unwrap_err().code(), "low_disk");

        FREE.store(20 * MIB, Ordering::SeqCst);
        let much_later = later + Duration::from_secs(1);
        assert_eq!(health.status_at(much_later), Ok(()));
        assert!(health.has_room_to_reopen_at(much_later));

        // 0 switches the reserve off, but reopening still wants some room.
        let unchecked = StorageHealth::with_probe(&config(0), fake_probe);
        FREE.store(MIB / 2, Ordering::SeqCst);
        assert_eq!(unchecked.status_at(much_later), Ok(()));
        assert!(!unchecked.has_room_to_reopen_at(much_later));
    }

    #[test]
    fn free_bytes_of_a_missing_dir_is_its_parents() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("not/yet/created");
        assert!(free_bytes(&missing).unwrap() > 0);
    }
}
