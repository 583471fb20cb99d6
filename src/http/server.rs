//! The accept loop: one task per socket (`conn::serve`: SSE streams on the lean path,
//! everything else through a hyper-util auto connection, HTTP/1.1 or h2c, watched by a
//! graceful-shutdown handle). The loop never dies on one bad accept.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::conn::{self, ConnContext};
use super::{HttpSettings, Shared};
use crate::node::Node;

/// Pause after `EMFILE`/`ENFILE` so the loop does not spin while descriptors are exhausted.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts until `stop` fires. Each connection runs in a task of `connections`; cancelling
/// `drain` asks the hyper ones to finish their request and close (SSE streams end when the
/// node closes them).
pub async fn accept_loop(
    listener: TcpListener,
    node: Arc<Node>,
    settings: HttpSettings,
    stop: CancellationToken,
    drain: CancellationToken,
    connections: &TaskTracker,
) {
    let mut hyper = Builder::new(TokioExecutor::new());
    hyper
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(settings.max_header_bytes)
        .keep_alive(true);
    hyper.http2().timer(TokioTimer::new());
    let context = Arc::new(ConnContext {
        shared: Arc::new(Shared {
            inflight: Arc::new(tokio::sync::Semaphore::new(settings.max_inflight_requests)),
            node,
            settings,
            streams: connections.clone(),
        }),
        hyper,
        drain,
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
        connections.spawn(conn::serve(stream, context.clone()));
    }
}
