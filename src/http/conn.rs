//! One accepted socket, from its first byte: the first request head is read into a small
//! buffer and classified. A `GET /api/sse/connect` is served on the lean path ([`lean`]);
//! every other request (and HTTP/2) goes to hyper with the bytes already read put back.
//!
//! Why: hyper keeps an 8 KiB read buffer and an 8 KiB write buffer for the life of every
//! connection, which dominates the memory of an idle SSE stream (see docs/PERFORMANCE.md).

use std::io;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::Version;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::error::ApiError;
use super::head::{self, Head};
use super::rewind::Rewind;
use super::stall::StallGuard;
use super::{lean, router, Shared};
use crate::metrics::Limit;
use crate::sse::body::Transport;

/// First read size: a typical EventSource request head is 300–600 bytes.
const HEAD_BUFFER: usize = 1024;

/// What every connection task shares.
pub(crate) struct ConnContext {
    pub(crate) shared: Arc<Shared>,
    pub(crate) hyper: Builder<TokioExecutor>,
    /// Cancelled when the node drains: hyper connections finish their request and close.
    pub(crate) drain: CancellationToken,
}

pub(crate) async fn serve(mut stream: TcpStream, context: Arc<ConnContext>) {
    let settings = &context.shared.settings;
    let metrics = context.shared.node.metrics();
    let mut buf = BytesMut::with_capacity(HEAD_BUFFER);
    let read_head = tokio::time::timeout(settings.header_read_timeout, async {
        loop {
            match head::classify(&buf) {
                // Any first head, stream or not, is read whole here so an oversized one gets
                // the JSON 431 (hyper would answer with an empty body).
                Head::Other if head::is_complete(&buf) => return Ok(Some(Head::Other)),
                Head::Incomplete | Head::Other if buf.len() >= settings.max_header_bytes => {
                    return Ok(None)
                }
                Head::Incomplete | Head::Other => {
                    if stream.read_buf(&mut buf).await? == 0 {
                        return Err(io::Error::from(io::ErrorKind::UnexpectedEof));
                    }
                }
                classified => return Ok(Some(classified)),
            }
        }
    });
    // A connection that has not sent its request when the node drains (a load balancer's
    // pre-opened socket, say) is closed at once rather than holding shutdown for the timeout.
    let head = tokio::select! {
        head = read_head => head,
        () = context.drain.cancelled() => return,
    };
    match head {
        Err(_elapsed) => metrics.limit_hit(Limit::HeaderReadTimeout),
        Ok(Err(_closed)) => {}
        Ok(Ok(None)) => {
            metrics.limit_hit(Limit::HeaderBytes);
            let error = ApiError::HeaderTooLarge {
                limit: settings.max_header_bytes,
            };
            lean::answer_error(&mut stream, &error, Version::HTTP_11, None).await;
        }
        Ok(Ok(Some(Head::Stream { parts, len }))) => {
            // Pipelined bytes after the head count against the stream's input allowance.
            let pipelined = buf.len() - len;
            drop(buf);
            lean::serve_stream(stream, *parts, pipelined, &context.shared).await;
        }
        // Boxed: hyper's connection state is kilobytes; inline it would size every stream's
        // task for its whole life.
        Ok(Ok(Some(Head::Other | Head::Incomplete))) => {
            Box::pin(hand_to_hyper(stream, buf.freeze(), &context)).await
        }
    }
}

/// Serves the connection with hyper, replaying the bytes already read.
async fn hand_to_hyper(stream: TcpStream, read: Bytes, context: &ConnContext) {
    let transport = Arc::new(Transport::default());
    let io = StallGuard::new(
        TokioIo::new(Rewind::new(read, stream)),
        context.shared.settings.write_stall,
        transport.clone(),
    );
    let shared = context.shared.clone();
    let service = service_fn(move |mut req| {
        let shared = shared.clone();
        req.extensions_mut().insert(transport.clone());
        async move { Ok::<_, std::convert::Infallible>(router::route(req, &shared).await) }
    });
    let mut connection = std::pin::pin!(context.hyper.serve_connection(io, service));
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = context.drain.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        if error
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout)
        {
            context
                .shared
                .node
                .metrics()
                .limit_hit(Limit::HeaderReadTimeout);
        }
        tracing::debug!(%error, "connection ended with an error");
    }
}
