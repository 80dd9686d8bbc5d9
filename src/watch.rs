//! Watches the rules directory and `org.toml`, and reloads whichever changed.
//!
//! It polls a cheap fingerprint (names, sizes and modification times) instead
//! of subscribing to file-system events: editors save by rename, rules may sit
//! on a network mount, and a two-second delay is fine for an admin's edit.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::service::Service;

/// What the watcher compares between polls.
#[derive(Debug, PartialEq, Eq)]
pub struct Fingerprint(Vec<(PathBuf, u64, Option<SystemTime>)>);

pub fn fingerprint(dir: &Path) -> Fingerprint {
    let mut files = vec![dir.join("global.toml"), dir.join("dict.txt")];
    // The knowledge base is checked against the categories, so it reloads with them.
    for sub in ["categories", "answers"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            files.extend(rd.filter_map(|e| e.ok().map(|e| e.path())));
        }
    }
    let mut out: Vec<_> = files
        .into_iter()
        .filter_map(|p| {
            let meta = std::fs::metadata(&p).ok()?;
            Some((p, meta.len(), meta.modified().ok()))
        })
        .collect();
    out.sort();
    Fingerprint(out)
}

/// Poll until the service shuts down; reload on every change.
pub async fn run(service: Arc<Service>, interval: Duration) {
    let dir = service.rules_dir().to_path_buf();
    let mut last = fingerprint(&dir);
    let org_path = service.org_path().map(Path::to_path_buf);
    let org_print = |p: &Option<PathBuf>| {
        p.as_ref().and_then(|p| {
            let meta = std::fs::metadata(p).ok()?;
            Some((meta.len(), meta.modified().ok()))
        })
    };
    let mut last_org = org_print(&org_path);
    let mut shutdown = service.shutdown_signal();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        let now = {
            let dir = dir.clone();
            match tokio::task::spawn_blocking(move || fingerprint(&dir)).await {
                Ok(f) => f,
                Err(_) => continue,
            }
        };
        if now != last {
            last = now;
            tracing::info!(dir = %dir.display(), "rule files changed, reloading");
            // Errors are logged (file:line) and counted inside; the old rules stay.
            // A removed category with open tickets is never accepted here:
            // only an admin's explicit `#重载规则 强制` or API call forces it.
            let _ = service.reload_rules(false).await;
        }
        let org_now = org_print(&org_path);
        if org_now != last_org {
            last_org = org_now;
            tracing::info!("org file changed, reloading");
            // Errors are logged with file:line inside; the old organisation stays.
            let _ = service.reload_org().await;
        }
    }
}
