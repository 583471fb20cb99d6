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

use super::{router, AppState};

/// A client that has not sent a whole request head by then is dropped (slowloris).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after `EMFILE`/`ENFILE` so the loop does not spin while descriptors are exhausted.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts until `stop` fires; returns the handle that drains the open connections.
pub async fn accept_loop(
    listener: TcpListener,
    state: Arc<AppState>,
    stop: CancellationToken,
    tracker: &TaskTracker,
) -> GracefulShutdown {
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
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
        let state = state.clone();
        let service = service_fn(move |req| {
            let state = state.clone();
            async move { Ok::<_, Infallible>(router::route(req, &state).await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tracker.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    graceful
}
