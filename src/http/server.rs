//! The accept loop: one hyper-util auto connection (HTTP/1.1 or h2c) per socket, watched by a
//! graceful-shutdown handle. The loop never dies on one bad accept.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::stall::StallGuard;
use super::{router, AppState};
use crate::sse::body::Transport;

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

/// Accepts until `stop` fires; returns the handle that drains the open connections.
pub async fn accept_loop(
    listener: TcpListener,
    state: Arc<AppState>,
    stop: CancellationToken,
    tracker: &TaskTracker,
    limits: Limits,
) -> GracefulShutdown {
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
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
        let transport = Arc::new(Transport::default());
        let io = StallGuard::new(TokioIo::new(stream), limits.write_stall, transport.clone());
        let service = {
            let state = state.clone();
            service_fn(move |mut req| {
                let state = state.clone();
                req.extensions_mut().insert(transport.clone());
                async move { Ok::<_, Infallible>(router::route(req, &state).await) }
            })
        };
        let connection = builder.serve_connection(io, service).into_owned();
        let connection = graceful.watch(connection);
        let metrics = state.metrics.clone();
        tracker.spawn(async move {
            if let Err(error) = connection.await {
                let timed_out = error
                    .downcast_ref::<hyper::Error>()
                    .is_some_and(hyper::Error::is_timeout);
                if timed_out {
                    metrics.limit_hit("header_read_timeout");
                }
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    graceful
}
