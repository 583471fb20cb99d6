//! One accepted socket, from its first byte. Over TLS the handshake comes first, and ALPN `h2`
//! goes straight to the HTTP/2 transport ([`http2`]). Otherwise the first request head is read
//! into a small buffer and classified: a `GET /api/sse/connect` is served on the lean path
//! ([`lean`]), the HTTP/2 preface (h2c with prior knowledge) goes to [`http2`], and every other
//! request to hyper's HTTP/1.1 server, with the bytes already read put back.
//!
//! Why: hyper keeps an 8 KiB read buffer and an 8 KiB write buffer for the life of every
//! connection, which dominates the memory of an idle SSE stream, with or without TLS (see
//! docs/PERFORMANCE.md).

use std::io;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::Version;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::body::RequestBody;
use super::error::ApiError;
use super::head::{self, Head};
use super::rewind::Rewind;
use super::stall::StallGuard;
use super::tls::{self, OverTls, Tls};
use super::{http2, lean, router, Shared};
use crate::metrics::Limit;
use crate::sse::body::Transport;

/// First read size: a typical EventSource request head is 300–600 bytes.
const HEAD_BUFFER: usize = 1024;
/// How an HTTP/2 connection without TLS starts (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// What every connection task shares.
pub(crate) struct ConnContext {
    pub(crate) shared: Arc<Shared>,
    pub(crate) http1: http1::Builder,
    pub(crate) http2: h2::server::Builder,
    pub(crate) tls: Option<Tls>,
    /// Cancelled when the node drains: connections finish their requests and close.
    pub(crate) drain: CancellationToken,
    /// Where HTTP/2 request tasks run, so shutdown waits for them too.
    pub(crate) tasks: TaskTracker,
}

/// A plain TCP connection: HTTP/1.1, or h2c with prior knowledge.
pub(crate) async fn serve_plain(stream: TcpStream, context: Arc<ConnContext>) {
    serve_http(stream, context).await;
}

/// A TLS connection: the handshake, then HTTP/2 if ALPN chose it, else HTTP/1.1. A task of its
/// own type, so plain connections are not sized for rustls' state.
///
/// The handshake future and the TLS stream are boxed: rustls' connection state is 1.2 KiB, and
/// held inline it would be copied into every nested future the stream passes through (the
/// task measured 10 KiB that way, 1.9 KiB boxed).
pub(crate) async fn serve_tls(stream: TcpStream, context: Arc<ConnContext>) {
    let Some(tls) = &context.tls else { return };
    let metrics = context.shared.node.metrics();
    let handshake = Box::pin(tls.accept(stream, metrics, &context.drain));
    let Some(stream) = handshake.await.map(Box::new) else {
        return;
    };
    if tls::is_h2(&stream) {
        // Boxed: h2's connection state is kilobytes and lives only as long as the connection.
        Box::pin(http2::serve(stream, context)).await;
    } else {
        serve_http(stream, context).await;
    }
}

/// Reads the first head and hands the connection to the path that serves it.
async fn serve_http<S>(mut stream: S, context: Arc<ConnContext>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
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
        Ok(Ok(Some(Head::Stream { mut parts, len }))) => {
            // Pipelined bytes after the head count against the stream's input allowance.
            let pipelined = buf.len() - len;
            drop(buf);
            if context.tls.is_some() {
                parts.extensions.insert(OverTls);
            }
            lean::serve_stream(stream, *parts, pipelined, &context.shared).await;
        }
        // The preface's first line ends in a blank line, so it reads as a complete head.
        Ok(Ok(Some(Head::Other))) if buf.starts_with(H2_PREFACE) => {
            let stream = Rewind::new(buf.freeze(), stream);
            Box::pin(http2::serve(stream, context)).await;
        }
        // Boxed: hyper's connection state is kilobytes; inline it would size every stream's
        // task for its whole life.
        Ok(Ok(Some(Head::Other | Head::Incomplete))) => {
            Box::pin(hand_to_hyper(stream, buf.freeze(), &context)).await
        }
    }
}

/// Serves the connection with hyper's HTTP/1.1 server, replaying the bytes already read.
async fn hand_to_hyper<S>(stream: S, read: Bytes, context: &ConnContext)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let transport = Arc::new(Transport::default());
    let io = TokioIo::new(StallGuard::new(
        Rewind::new(read, stream),
        context.shared.settings.write_stall,
        transport.clone(),
    ));
    let shared = context.shared.clone();
    let over_tls = context.tls.is_some();
    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let shared = shared.clone();
        let mut req = req.map(RequestBody::Http1);
        req.extensions_mut().insert(transport.clone());
        if over_tls {
            req.extensions_mut().insert(OverTls);
        }
        async move { Ok::<_, std::convert::Infallible>(router::route(req, &shared).await) }
    });
    let mut connection = std::pin::pin!(context.http1.serve_connection(io, service));
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = context.drain.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        if error.is_timeout() {
            context
                .shared
                .node
                .metrics()
                .limit_hit(Limit::HeaderReadTimeout);
        }
        tracing::debug!(%error, "connection ended with an error");
    }
}
