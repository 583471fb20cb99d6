//! The accept loop: one task per socket (`conn::serve_plain`, or `conn::serve_tls` when the hub
//! has a certificate), each connection watched by the drain token. The loop never dies on one
//! bad accept.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::conn::{self, ConnContext};
use super::tls::Tls;
use super::{http2, HttpSettings, Shared};
use crate::node::Node;

/// Pause after `EMFILE`/`ENFILE` so the loop does not spin while descriptors are exhausted.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Accepts until `stop` fires. Each connection (and each HTTP/2 request) runs in a task of
/// `connections`; cancelling `drain` asks them to finish their requests and close (SSE streams
/// end when the node closes them). With `tls`, every connection is TLS, and the certificate
/// is reloaded on SIGHUP and file changes until `stop`.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    node: Arc<Node>,
    settings: HttpSettings,
    tls: Option<Tls>,
    stop: CancellationToken,
    drain: CancellationToken,
    connections: &TaskTracker,
) {
    let mut http1 = http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout)
        .max_buf_size(settings.max_header_bytes)
        .keep_alive(true);
    let http2 = http2::builder(&settings);
    if let Some(tls) = &tls {
        connections.spawn(tls.watch(node.metrics(), stop.clone()));
    }
    let serve_tls = tls.is_some();
    let context = Arc::new(ConnContext {
        shared: Arc::new(Shared {
            inflight: Arc::new(tokio::sync::Semaphore::new(settings.max_inflight_requests)),
            node,
            settings,
            streams: connections.clone(),
        }),
        http1,
        http2,
        tls,
        drain,
        tasks: connections.clone(),
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
        if serve_tls {
            connections.spawn(conn::serve_tls(stream, context.clone()));
        } else {
            connections.spawn(conn::serve_plain(stream, context.clone()));
        }
    }
}
