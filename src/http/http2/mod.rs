//! HTTP/2 (ALPN `h2` over TLS, or h2c with prior knowledge on a plain port), served with the
//! h2 crate rather than hyper. Why: an SSE stream whose peer stops granting flow-control window
//! must be reset on its own after `--write-stall-secs` while its siblings go on, and hyper's
//! HTTP/2 server stops polling a body while it holds a frame the window does not admit, so the
//! hub could only close the whole connection. Here each stream's pump ([`sse`]) sees the window
//! and owns its stall timer.
//!
//! One task per connection drives the h2 connection (reads, writes, keep-alive pings); each
//! request runs in its own task ([`request`]): the router answers it, a whole body is sent
//! within the window, an SSE body is pumped until it ends.

mod request;
mod sse;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::server::Builder;
use h2::{Ping, PingPong};
use tokio::io::{AsyncRead, AsyncWrite};

use super::conn::ConnContext;
use super::stall::StallGuard;
use super::HttpSettings;
use crate::metrics::Limit;
use crate::sse::body::Transport;

/// Our receive window per stream. Requests carry small JSON bodies (≤ `--max-body-bytes`,
/// released as they are read) and stream requests none, so the RFC's 64 KiB default serves;
/// the window bounds what a peer can make the hub buffer for a request it has not read yet.
const STREAM_WINDOW: u32 = 65_535;
/// Our receive window per connection: a few concurrent publishes on one connection (a browser
/// tab's dashboard, the harness's publishers) proceed without waiting on each other.
const CONNECTION_WINDOW: u32 = 1024 * 1024;
/// The largest frame the peer may send us: the RFC's minimum, since request bodies are small
/// and the read buffer grows to the largest frame.
const MAX_FRAME_SIZE: u32 = 16 * 1024;
/// What h2 buffers per stream beyond the window. The SSE pump sends only with capacity in hand,
/// so at most one chunk waits here; whole bodies (static files) are sent window by window.
const MAX_SEND_BUFFER: usize = 64 * 1024;
/// Streams a peer may open and reset before the hub accepts them (rapid reset,
/// CVE-2023-44487): past it the connection is closed with `ENHANCE_YOUR_CALM`. h2's default.
const MAX_PENDING_ACCEPT_RESETS: usize = 20;
/// Streams the hub resets on its own (stalled streams, handler errors) before it closes the
/// connection as misbehaving. h2's default; a stall reset per 30 s never reaches it.
const MAX_LOCAL_ERROR_RESETS: usize = 1024;
/// A PING every this long on every connection: a peer that vanished without a FIN (a laptop
/// lid, a dropped NAT mapping) is found without waiting for TCP's retransmission timeout,
/// which can take 15 minutes, while its streams' subscriptions hold memory.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// How long a PING may go unanswered before the connection is closed.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The HTTP/2 settings every connection gets.
pub(crate) fn builder(settings: &HttpSettings) -> Builder {
    let mut builder = Builder::new();
    builder
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME_SIZE)
        // The same head limit as HTTP/1.1 (h2's default is 16 MiB of headers).
        .max_header_list_size(u32::try_from(settings.max_header_bytes).unwrap_or(u32::MAX))
        // A browser puts every tab's streams and requests on one connection per origin.
        .max_concurrent_streams(settings.h2_max_concurrent_streams)
        .max_send_buffer_size(MAX_SEND_BUFFER)
        .max_pending_accept_reset_streams(MAX_PENDING_ACCEPT_RESETS)
        .max_local_error_reset_streams(Some(MAX_LOCAL_ERROR_RESETS));
    builder
}

/// Serves one HTTP/2 connection until the peer closes it, it fails, or it drains.
pub(crate) async fn serve<T>(io: T, context: Arc<ConnContext>)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let settings = &context.shared.settings;
    let metrics = context.shared.node.metrics();
    // A socket that takes no bytes stalls every stream on it: close the connection.
    let connection_transport = Arc::new(Transport::default());
    let io = StallGuard::new(io, settings.write_stall, connection_transport.clone());
    // The client preface and its SETTINGS are the HTTP/2 request head: same deadline.
    let handshake = tokio::time::timeout(
        settings.header_read_timeout,
        context.http2.handshake::<_, Bytes>(io),
    );
    let mut connection = tokio::select! {
        handshake = handshake => match handshake {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => {
                tracing::debug!(%error, "HTTP/2 handshake failed");
                return;
            }
            Err(_elapsed) => {
                metrics.limit_hit(Limit::HeaderReadTimeout);
                return;
            }
        },
        () = context.drain.cancelled() => return,
    };
    let pings = connection.ping_pong();
    let mut peer_gone = std::pin::pin!(keep_alive(pings));
    let mut draining = false;
    loop {
        tokio::select! {
            accepted = connection.accept() => match accepted {
                Some(Ok((req, respond))) => {
                    context.tasks.spawn(request::serve(
                        Box::new(req),
                        respond,
                        context.shared.clone(),
                        connection_transport.clone(),
                        context.tls.is_some(),
                    ));
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, "HTTP/2 connection ended with an error");
                    break;
                }
                None => break,
            },
            // GOAWAY: no new streams; the open ones end themselves (the node closed them).
            () = context.drain.cancelled(), if !draining => {
                draining = true;
                connection.graceful_shutdown();
            }
            () = &mut peer_gone => {
                tracing::debug!("HTTP/2 peer did not answer a PING; closing the connection");
                break;
            }
        }
    }
}

/// Resolves when the peer stops answering PINGs (never if pings are unavailable).
async fn keep_alive(pings: Option<PingPong>) {
    let Some(mut pings) = pings else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(KEEP_ALIVE_INTERVAL).await;
        match tokio::time::timeout(KEEP_ALIVE_TIMEOUT, pings.ping(Ping::opaque())).await {
            Ok(Ok(_pong)) => {}
            // The connection already failed; `accept` reports it.
            Ok(Err(_)) => return std::future::pending().await,
            Err(_unanswered) => return,
        }
    }
}
