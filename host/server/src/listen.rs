//! Accepting connections: weft's HTTP/1 server loop, under limits that keep
//! slow, idle or too many clients from holding weft's sockets.
//!
//! Every connection is in one of four phases, and each phase has a deadline:
//! - **head** (from accept, or from the first byte of the next request on a
//!   kept-alive connection, to the end of the request head): `header_timeout`;
//! - **body** (the request body arriving): `body_timeout`, enforced where the
//!   body is read (`read_body` in the crate root), which answers 408;
//! - **busy** (weft handling the request): no deadline here — handlers have
//!   their own (plugin calls, the sync-webhook wait);
//! - **idle** (a kept-alive connection between a response and the next
//!   request, or a slow reader taking the response): `idle_timeout` without
//!   progress.
//!
//! A connection past its deadline is closed. At most `max_connections` are
//! open: when one more arrives, the connection that has waited longest in
//! head, body or idle is closed to make room (a slowloris attack holds its
//! connections in the head phase, so its connections go first), and a warning
//! says so at most every 10 s. When every connection is busy with a request,
//! new connections wait in the kernel's queue until one closes.

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

/// How long clients may take, and how many may be connected.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// From accept (or the first byte of a next request) to the end of the request head.
    pub header_timeout: Duration,
    /// From the end of the head to the end of the request body.
    pub body_timeout: Duration,
    /// A kept-alive connection without a request (or a response not read) for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
        }
    }
}

const HEAD: u8 = 0;
const BODY: u8 = 1;
const BUSY: u8 = 2;
const IDLE: u8 = 3;

/// One connection's phase and when it began (ms since the server started).
pub(crate) struct Connection {
    phase: AtomicU8,
    since_ms: AtomicU64,
    epoch: Instant,
    evict: Notify,
}

impl Connection {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn set(&self, phase: u8) {
        self.since_ms.store(self.now_ms(), Ordering::Relaxed);
        self.phase.store(phase, Ordering::Relaxed);
    }

    /// The request's body is being read (its deadline is kept by the reader).
    pub(crate) fn reading_body(&self) {
        self.set(BODY);
    }

    /// The request's body has been read: weft is handling it.
    pub(crate) fn handling(&self) {
        self.set(BUSY);
    }

    /// When this connection is due to close, if nothing changes; `None` while busy.
    fn deadline_ms(&self, limits: &ConnectionLimits) -> Option<u64> {
        let since = self.since_ms.load(Ordering::Relaxed);
        let allowed = match self.phase.load(Ordering::Relaxed) {
            HEAD => limits.header_timeout,
            IDLE => limits.idle_timeout,
            // The body reader answers 408 at its deadline; this is the backstop.
            BODY => limits.body_timeout + Duration::from_secs(1),
            _ => return None,
        };
        Some(since + allowed.as_millis() as u64)
    }

    /// Since when it has waited on its client, unless weft is handling a request on it.
    fn waiting_since(&self) -> Option<u64> {
        (self.phase.load(Ordering::Relaxed) != BUSY).then(|| self.since_ms.load(Ordering::Relaxed))
    }
}

/// The socket, noting when a kept-alive connection's next request begins and
/// when a response makes progress.
struct Tracked {
    stream: TcpStream,
    conn: Arc<Connection>,
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before && self.conn.phase.load(Ordering::Relaxed) == IDLE {
            self.conn.set(HEAD);
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) && self.conn.phase.load(Ordering::Relaxed) == IDLE {
            self.conn.set(IDLE);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) && self.conn.phase.load(Ordering::Relaxed) == IDLE {
            self.conn.set(IDLE);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The open connections.
struct Open {
    epoch: Instant,
    next_id: AtomicU64,
    all: Mutex<HashMap<u64, Arc<Connection>>>,
    /// Told whenever a connection closes.
    closed: Notify,
    /// When the last limit warning was logged (ms since the epoch), and what happened since.
    warned: Mutex<(Option<u64>, u64)>,
}

impl Open {
    fn len(&self) -> usize {
        self.all.lock().expect("open connections").len()
    }

    fn add(self: &Arc<Self>) -> (Arc<Connection>, Registration) {
        let conn = Arc::new(Connection {
            phase: AtomicU8::new(HEAD),
            since_ms: AtomicU64::new(self.epoch.elapsed().as_millis() as u64),
            epoch: self.epoch,
            evict: Notify::new(),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.all.lock().expect("open connections").insert(id, conn.clone());
        (conn, Registration { open: self.clone(), id })
    }

    /// Close the connection that has waited on its client the longest. Whether there was one.
    fn evict_longest_waiting(&self) -> bool {
        let victim = self
            .all
            .lock()
            .expect("open connections")
            .values()
            .filter_map(|c| Some((c.waiting_since()?, c.clone())))
            .min_by_key(|(since, _)| *since);
        match victim {
            Some((_, conn)) => {
                conn.evict.notify_one();
                true
            }
            None => false,
        }
    }

    /// Log `message` at most every 10 s, with how often it happened meanwhile.
    fn warn(&self, message: impl FnOnce(u64) -> String) {
        let now = self.epoch.elapsed().as_millis() as u64;
        let mut warned = self.warned.lock().expect("limit warnings");
        warned.1 += 1;
        if warned.0.is_none_or(|at| now >= at + 10_000) {
            tracing::warn!("{}", message(warned.1));
            *warned = (Some(now), 0);
        }
    }
}

/// Removes a connection from [`Open`] when its task ends.
struct Registration {
    open: Arc<Open>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.open.all.lock().expect("open connections").remove(&self.id);
        self.open.closed.notify_one();
    }
}

/// Serve `router` on `listener` under `limits` until `shutdown` resolves; then
/// stop accepting, let requests in flight finish, and return.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let open = Arc::new(Open {
        epoch: Instant::now(),
        next_id: AtomicU64::new(0),
        all: Mutex::default(),
        closed: Notify::new(),
        warned: Mutex::new((None, 0)),
    });
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let max = limits.max_connections.max(1);
    'accept: loop {
        // Past the cap only by the one just accepted, and only until its room is made.
        loop {
            let closed = open.closed.notified();
            if open.len() <= max {
                break;
            }
            tokio::select! {
                _ = closed => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = &mut shutdown => break 'accept,
            }
        }
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    if matches!(e.raw_os_error(), Some(EMFILE | ENFILE)) {
                        let evicted = open.evict_longest_waiting();
                        open.warn(|n| format!(
                            "cannot accept connections: the process is out of file descriptors ({n} times); \
                             {} (lower --max-connections or raise the open-file limit)",
                            if evicted { "closed the connection that waited longest" } else { "waiting for one to close" }
                        ));
                    } else {
                        tracing::debug!(error = %e, "accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (conn, registration) = open.add();
        if open.len() > max {
            if open.evict_longest_waiting() {
                open.warn(|n| {
                    format!(
                        "connection limit reached ({max} open): closed the connection that waited longest on its \
                         client ({n} closed this way since the last warning); raise --max-connections if this is \
                         ordinary load"
                    )
                });
            } else {
                open.warn(|n| {
                    format!(
                        "connection limit reached ({max} open), and every connection is busy with a request: new \
                         connections wait until one closes ({n} times since the last warning)"
                    )
                });
            }
        }
        tokio::spawn(connection(stream, conn, registration, router.clone(), limits, stopping.clone()));
    }
    // Stop: idle connections close now, busy ones after their response.
    let _ = stop.send(true);
    loop {
        let closed = open.closed.notified();
        if open.len() == 0 {
            return Ok(());
        }
        closed.await;
    }
}

const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// Serve one connection until it ends, passes a deadline or is evicted.
async fn connection(
    stream: TcpStream,
    conn: Arc<Connection>,
    _registration: Registration,
    router: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Tracked { stream, conn: conn.clone() });
    let tracker = conn.clone();
    let router = hyper_util::service::TowerToHyperService::new(router);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let conn = tracker.clone();
        conn.handling();
        request.extensions_mut().insert(conn.clone());
        let response = hyper::service::Service::call(&router, request);
        async move {
            let response = response.await;
            conn.set(IDLE);
            response
        }
    });
    let served = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    let mut served = std::pin::pin!(served);
    let mut draining = false;
    loop {
        // While busy, look again now and then: a response may end any time.
        let recheck = limits.header_timeout.min(limits.idle_timeout).max(Duration::from_millis(100));
        let wait = match conn.deadline_ms(&limits) {
            Some(due) => Duration::from_millis(due.saturating_sub(conn.now_ms())),
            None => recheck,
        };
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = tokio::time::sleep(wait) => {
                if conn.deadline_ms(&limits).is_some_and(|due| conn.now_ms() >= due) {
                    tracing::debug!(phase = conn.phase.load(Ordering::Relaxed), "closing a connection past its deadline");
                    return;
                }
            }
            _ = conn.evict.notified() => return,
            changed = stopping.changed(), if !draining => {
                if changed.is_err() || *stopping.borrow() {
                    draining = true;
                    served.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
