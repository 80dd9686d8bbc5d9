//! The single writer: applies messages to the store in arrival order, one flush per batch.
//!
//! Every webhook's store work funnels through one thread. It takes whatever
//! has queued up (up to [`MAX_BATCH`]), runs each through
//! [`Store::process`] (each its own transaction), flushes once, and only then
//! answers every caller in the batch. That is group commit without locks or
//! thread hand-offs per request: under load one fsync acknowledges many
//! messages; idle, a lone message is flushed at once. No caller is answered
//! before its data is on disk.
//!
//! It is also where storage trouble shows and heals: while the disk is low or
//! writes fail ([`StorageHealth`]) every job is refused as
//! [`StoreError::Unavailable`]; after a failed write it reopens the database
//! (see [`crate::store_slot`]) as soon as there is room again.

use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::disk::{StorageHealth, Unhealthy};
use crate::message::InboundMessage;
use crate::store_slot::StoreSlot;
use crate::ticket::{Action, Context, Processed, StoreError};

/// Most messages acknowledged by one flush.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<Result<Processed, StoreError>>;

struct Job {
    msg: InboundMessage,
    action: Action,
    context: std::sync::Arc<Context>,
    /// The time to apply it at; `None`: the service clock's when it is applied.
    at: Option<DateTime<Utc>>,
    reply: Reply,
}

pub struct Writer {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
#[error("the store writer has stopped")]
pub struct WriterStopped;

impl Writer {
    pub fn start(store: Arc<StoreSlot>, health: Arc<StorageHealth>, clock: Clock) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("gongdan-writer".into())
            .spawn(move || run(&store, &health, &clock, rx))
            .ok();
        Writer {
            jobs: Some(tx),
            thread,
        }
    }

    /// Apply `action` for `msg`; resolves once the result is on disk.
    pub async fn process(
        &self,
        msg: InboundMessage,
        action: Action,
        context: std::sync::Arc<Context>,
    ) -> Result<Result<Processed, StoreError>, WriterStopped> {
        self.process_at(msg, action, context, None).await
    }

    /// [`Writer::process`] as of `at` (timers decide what is due by it).
    pub async fn process_at(
        &self,
        msg: InboundMessage,
        action: Action,
        context: std::sync::Arc<Context>,
        at: Option<DateTime<Utc>>,
    ) -> Result<Result<Processed, StoreError>, WriterStopped> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            msg,
            action,
            context,
            at,
            reply,
        };
        self.jobs
            .as_ref()
            .ok_or(WriterStopped)?
            .send(job)
            .map_err(|_| WriterStopped)?;
        answer.await.map_err(|_| WriterStopped)
    }
}

fn run(slot: &StoreSlot, health: &StorageHealth, clock: &Clock, jobs: mpsc::Receiver<Job>) {
    let mut batch: Vec<(Reply, Result<Processed, StoreError>)> = Vec::with_capacity(MAX_BATCH);
    loop {
        // Healthy, the writer sleeps until work comes; failing, it also wakes
        // to try the reopen, so `/healthz` recovers without traffic.
        let first = if health.writes_failing().is_some() {
            match jobs.recv_timeout(health.check_every()) {
                Ok(job) => Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match jobs.recv() {
                Ok(job) => Some(job),
                Err(_) => break,
            }
        };
        if health.writes_failing().is_some() {
            try_reopen(slot, health);
        }
        let Some(first) = first else { continue };
        let refusal = health.status().err();
        let store = slot.current();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            let result = match &refusal {
                Some(why) => Err(StoreError::Unavailable(why.clone())),
                None => {
                    let now = job.at.unwrap_or_else(|| clock.now());
                    store.process(&job.msg, job.action, &job.context, now)
                }
            };
            if let Err(StoreError::Sled(sled::Error::Io(e))) = &result {
                health.mark_failing(e);
            }
            batch.push((job.reply, result));
            if batch.len() < MAX_BATCH {
                next = jobs.try_recv().ok();
            }
        }
        // One fsync for the whole batch; nobody hears back before it.
        let flushed = match refusal {
            Some(_) => Ok(0),
            None => store.flush(),
        };
        drop(store);
        if let Err(e) = &flushed {
            health.mark_failing(e);
        }
        let failing = health.writes_failing().map(Unhealthy::WritesFailing);
        for (reply, result) in batch.drain(..) {
            let result = match (&failing, result) {
                // Nothing of this batch is known to be on disk.
                (Some(why), Ok(_) | Err(StoreError::Sled(_))) => {
                    Err(StoreError::Unavailable(why.clone()))
                }
                (_, r) => r,
            };
            let _ = reply.send(result);
        }
    }
}

/// Reopen the database if the disk has room for it; clears the failure on success.
fn try_reopen(slot: &StoreSlot, health: &StorageHealth) {
    if !health.has_room_to_reopen_at(Instant::now()) {
        return;
    }
    match slot.reopen().and_then(|()| slot.current().flush()) {
        Ok(_) => health.mark_recovered(),
        Err(e) => tracing::warn!(error = %e, "reopening the database failed; retrying"),
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread after the batch in hand; joining
        // releases its handle on the database.
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
