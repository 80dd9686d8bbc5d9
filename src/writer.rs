//! The single writer: applies messages to the store in arrival order, one flush per batch.
//!
//! Every webhook's store work funnels through one thread. It takes whatever
//! has queued up (up to [`MAX_BATCH`]), runs each through
//! [`Store::process`] (each its own transaction), flushes once, and only then
//! answers every caller in the batch. That is group commit without locks or
//! thread hand-offs per request: under load one fsync acknowledges many
//! messages; idle, a lone message is flushed at once. No caller is answered
//! before its data is on disk.

use std::sync::mpsc;
use std::thread::JoinHandle;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::message::InboundMessage;
use crate::ticket::{Action, Context, Processed, Store, StoreError};

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
    pub fn start(store: Store, clock: Clock) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("gongdan-writer".into())
            .spawn(move || run(store, clock, rx))
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

fn run(store: Store, clock: Clock, jobs: mpsc::Receiver<Job>) {
    let mut batch: Vec<(Reply, Result<Processed, StoreError>)> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = jobs.recv() {
        let mut next = Some(first);
        while let Some(job) = next.take() {
            let now = job.at.unwrap_or_else(|| clock.now());
            let result = store.process(&job.msg, job.action, &job.context, now);
            batch.push((job.reply, result));
            if batch.len() < MAX_BATCH {
                next = jobs.try_recv().ok();
            }
        }
        // One fsync for the whole batch; nobody hears back before it.
        let flushed = store.flush();
        for (reply, result) in batch.drain(..) {
            let result = match (&flushed, result) {
                (Err(e), Ok(_)) => Err(StoreError::FlushFailed(e.to_string())),
                (_, r) => r,
            };
            let _ = reply.send(result);
        }
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
