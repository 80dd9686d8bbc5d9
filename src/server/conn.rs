//! Our own accept loop over hyper: a connection cap, header and idle timeouts, a bounded shutdown grace.
//!
//! `axum::serve` has none of these, so a crowd of silent or byte-by-byte
//! clients could hold every file descriptor and one slow client could hold
//! shutdown for ever. Body timeouts live with the body reader (`body.rs`).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower_service::Service;

use crate::config::ServerConfig;

/// Largest request head (request line and headers); bounds what a client
/// that never finishes its head can make us hold.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The connection knobs of `[server]`, as durations.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub shutdown_grace: Duration,
}

impl Limits {
    pub fn from_config(c: &ServerConfig) -> Limits {
        Limits {
            max_connections: c.max_connections.max(1),
            header_read_timeout: Duration::from_millis(c.header_read_timeout_ms.max(1)),
            idle_timeout: Duration::from_millis(c.idle_timeout_ms.max(1)),
            shutdown_grace: Duration::from_secs(c.shutdown_grace_secs),
        }
    }
}

/// Serve `app` until `stop` turns true; then stop accepting, let open
/// connections finish for up to `shutdown_grace`, and drop the rest.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (drain_tx, drain_rx) = watch::channel(false);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_HEAD_BYTES);
    let mut connections = JoinSet::new();
    loop {
        // At the cap, stop accepting: new clients wait in the kernel's
        // backlog (costing us no descriptor) until a connection closes.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = raised(&mut stop) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a connection reset before we got
                    // it: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = raised(&mut stop) => break,
        };
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        connections.spawn(connection(
            stream,
            peer,
            builder.clone(),
            app.clone(),
            limits.idle_timeout,
            drain_rx.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = drain_tx.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            grace_secs = limits.shutdown_grace.as_secs(),
            "shutdown grace is over: dropping the connections still open"
        );
        connections.shutdown().await;
    }
}

/// Resolves when `flag` turns true (or its sender is gone).
async fn raised(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|f| *f).await;
}

async fn connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    builder: http1::Builder,
    app: Router,
    idle_timeout: Duration,
    mut drain: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Guarded::new(stream, activity.clone()));
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        // The client address, for the console's login limit.
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        let in_flight = requests.begin_request();
        let answer = app.clone().call(req);
        async move {
            let answer = answer.await;
            drop(in_flight);
            answer
        }
    });
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = raised(&mut drain), if !draining => {
                // Finish the request in progress, then close.
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = activity.idle_for(idle_timeout) => {
                tracing::debug!("closing a connection idle for too long");
                return;
            }
        }
    }
}

/// When bytes last moved on a connection, and whether a request of it is
/// being handled (a handler waiting for the writer is not idle).
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn begin_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Resolves once nothing moved for `limit` while no request was in flight.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.last_ms.load(Ordering::Relaxed);
            tokio::time::sleep_until(self.start + Duration::from_millis(last) + limit).await;
            if self.in_flight.load(Ordering::Relaxed) > 0 {
                self.touch();
            } else if self.last_ms.load(Ordering::Relaxed) == last {
                return;
            }
        }
    }
}

/// The socket as hyper sees it: records activity, and turns hyper's own
/// bodiless answers to unparsable requests into the service's JSON errors.
struct Guarded {
    stream: TcpStream,
    activity: Arc<Activity>,
    /// Our replacement for an answer hyper wrote, still to be sent.
    pending: Vec<u8>,
    sent: usize,
    /// The last write was partial: the next one continues it, not a new answer.
    mid_answer: bool,
}

impl Guarded {
    fn new(stream: TcpStream, activity: Arc<Activity>) -> Guarded {
        Guarded {
            stream,
            activity,
            pending: Vec::new(),
            sent: 0,
            mid_answer: false,
        }
    }

    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
            self.activity.touch();
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.activity.touch();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if !this.mid_answer {
            if let Some(json) = super::error::json_for_bodiless_answer(buf) {
                this.pending = json;
                if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                    return Poll::Ready(Err(e));
                }
                return Poll::Ready(Ok(buf.len()));
            }
        }
        let n = ready!(Pin::new(&mut this.stream).poll_write(cx, buf))?;
        this.mid_answer = n < buf.len();
        if n > 0 {
            this.activity.touch();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }

    // Not vectored: hyper then hands each answer over in one buffer, so an
    // answer's head is always at the start of a write.
    fn is_write_vectored(&self) -> bool {
        false
    }
}
