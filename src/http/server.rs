//! The accept loop: one task per socket ([`lean::serve`]: SSE streams on the lean path,
//! everything else through a hyper-util auto connection, HTTP/1.1 or h2c, watched by a
//! graceful-shutdown handle). The loop never dies on one bad accept.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{lean, AppState};

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A client that has not sent a whole request head by then is dropped (slowloris).
    pub header_read_timeout: Duration,
    /// Largest request head hyper buffers (it answers 431 past it).
    pub max_header_bytes: usize,
    /// A socket that accepts no bytes for this long is closed.
    pub write_stall: Duration,
}
/// Pause after `EMFILE`/`ENFILE` so the loop does not spin while descriptors are exhausted.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts until `stop` fires. Each connection runs in a task of `connections`; cancelling
/// `drain` asks the hyper ones to finish their request and close (SSE streams end when the
/// registry closes them).
pub async fn accept_loop(
    listener: TcpListener,
    state: Arc<AppState>,
    stop: CancellationToken,
    drain: CancellationToken,
    connections: &TaskTracker,
    limits: Limits,
) {
    let mut hyper = Builder::new(TokioExecutor::new());
    hyper
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes)
        .keep_alive(true);
    hyper.http2().timer(TokioTimer::new());
    let shared = Arc::new(lean::Shared {
        state,
        hyper,
        drain,
        limits,
    });
    loop {
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // Resets and aborts concern one client; descriptor exhaustion passes.
                if matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
                    tracing::warn!(%error, "out of file descriptors; pausing accepts");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
                continue;
            }
        };
        // SSE frames are small and latency matters more than packet count.
        let _ = stream.set_nodelay(true);
        connections.spawn(lean::serve(stream, shared.clone()));
    }
}
