//! One accepted socket, from its first byte. A `GET /api/sse/connect` is answered here on a
//! lean path: the head is parsed from a small buffer that is freed before streaming, and the
//! stream writes chunked frames straight to the socket with one `writev` per wake. Every other
//! request (and HTTP/2) goes to hyper with the bytes already read put back.
//!
//! Why: hyper keeps an 8 KiB read buffer and an 8 KiB write buffer for the life of every
//! connection, which dominates the memory of an idle SSE stream (see docs/PERFORMANCE.md).
//! The lean path keeps HTTP/1.1 semantics: chunked framing (close-delimited for HTTP/1.0),
//! `Connection: close` so no client reuses the socket after the stream, and pipelined bytes
//! after the stream request are ignored because the stream response never yields the turn.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{header, Response, Version};
use http_body::Body;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::error::ApiError;
use super::handlers::subscribe;
use super::head::{self, Head};
use super::rewind::Rewind;
use super::server::Limits;
use super::stall::StallGuard;
use super::{router, AppState, HubBody};
use crate::sse::body::{SseBody, Transport};

/// First read size: a typical EventSource request head is 300–600 bytes.
const HEAD_BUFFER: usize = 1024;
/// Frames gathered per write.
const FRAMES_PER_WRITE: usize = 64;

/// What every connection task shares.
pub struct Shared {
    pub state: Arc<AppState>,
    pub hyper: Builder<TokioExecutor>,
    /// Cancelled when the node drains: hyper connections finish their request and close.
    pub drain: CancellationToken,
    pub limits: Limits,
}

pub async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let metrics = shared.state.metrics.clone();
    let mut buf = BytesMut::with_capacity(HEAD_BUFFER);
    let read_head = tokio::time::timeout(shared.limits.header_read_timeout, async {
        loop {
            match head::classify(&buf) {
                // Any first head, stream or not, is read whole here so an oversized one gets
                // the JSON 431 (hyper would answer with an empty body).
                Head::Other if head::is_complete(&buf) => return Ok(Some(Head::Other)),
                Head::Incomplete | Head::Other if buf.len() >= shared.limits.max_header_bytes => {
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
        () = shared.drain.cancelled() => return,
    };
    let head = match head {
        Err(_elapsed) => {
            metrics.limit_hit("header_read_timeout");
            return;
        }
        Ok(Err(_closed)) => return,
        Ok(Ok(None)) => {
            metrics.limit_hit("header_bytes");
            let error = ApiError::HeaderTooLarge {
                limit: shared.limits.max_header_bytes,
            };
            let _ = write_whole(&mut stream, error.into_response(), Version::HTTP_11).await;
            return;
        }
        Ok(Ok(Some(head))) => head,
    };
    match head {
        Head::Stream { mut parts, .. } => {
            drop(buf);
            let transport = Arc::new(Transport::default());
            parts.extensions.insert(transport.clone());
            let origin = parts.headers.get(header::ORIGIN).cloned();
            let version = parts.version;
            // Boxed: the connect future is large and short-lived; inline it would size every
            // stream's task for its whole life.
            let result = Box::pin(subscribe::connect(&parts, &shared.state)).await;
            drop(parts);
            let mut response = result.unwrap_or_else(ApiError::into_response);
            if let Some(origin) = origin {
                router::allow_origin(&mut response, &origin, &shared.state.settings.cors_origins);
            }
            let (head, body) = response.into_parts();
            match body {
                HubBody::Sse(body) => {
                    let response = Response::from_parts(head, ());
                    stream_to(
                        stream,
                        response,
                        *body,
                        version,
                        shared.limits.write_stall,
                        &transport,
                    )
                    .await;
                }
                body => {
                    let _ =
                        write_whole(&mut stream, Response::from_parts(head, body), version).await;
                }
            }
        }
        // Boxed for the same reason: hyper's connection state is kilobytes.
        Head::Other | Head::Incomplete => {
            Box::pin(hand_to_hyper(stream, buf.freeze(), &shared)).await
        }
    }
}

/// Serves the connection with hyper, replaying the bytes already read.
async fn hand_to_hyper(stream: TcpStream, read: Bytes, shared: &Shared) {
    let transport = Arc::new(Transport::default());
    let io = StallGuard::new(
        TokioIo::new(Rewind::new(read, stream)),
        shared.limits.write_stall,
        transport.clone(),
    );
    let state = shared.state.clone();
    let service = service_fn(move |mut req| {
        let state = state.clone();
        req.extensions_mut().insert(transport.clone());
        async move { Ok::<_, std::convert::Infallible>(router::route(req, &state).await) }
    });
    let mut connection = std::pin::pin!(shared.hyper.serve_connection(io, service));
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shared.drain.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        if error
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout)
        {
            shared.state.metrics.limit_hit("header_read_timeout");
        }
        tracing::debug!(%error, "connection ended with an error");
    }
}

fn head_bytes<B>(response: &Response<B>, version: Version, framing: &str) -> Vec<u8> {
    let status = response.status();
    let mut out = Vec::with_capacity(256);
    let line = if version == Version::HTTP_10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    out.extend_from_slice(
        format!(
            "{line} {} {}\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
        .as_bytes(),
    );
    for (name, value) in response.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(framing.as_bytes());
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out
}

/// A whole (error) response, then close.
async fn write_whole(
    stream: &mut TcpStream,
    response: Response<HubBody>,
    version: Version,
) -> io::Result<()> {
    let (parts, body) = response.into_parts();
    let body = match body {
        HubBody::Full(bytes) => bytes.unwrap_or_default(),
        HubBody::Sse(_) => Bytes::new(),
    };
    let framing = format!("content-length: {}\r\n", body.len());
    let mut out = head_bytes(&Response::from_parts(parts, ()), version, &framing);
    out.extend_from_slice(&body);
    stream.write_all(&out).await?;
    stream.shutdown().await
}

/// Writes the stream's head, then its frames as they come, until the body ends, the peer
/// goes away, or a write stalls past the limit.
async fn stream_to(
    mut stream: TcpStream,
    response: Response<()>,
    mut body: SseBody,
    version: Version,
    stall: Duration,
    transport: &Transport,
) {
    let chunked = version != Version::HTTP_10;
    let framing = if chunked {
        "transfer-encoding: chunked\r\n"
    } else {
        ""
    };
    if stream
        .write_all(&head_bytes(&response, version, framing))
        .await
        .is_err()
    {
        return;
    }
    drop(response);
    let mut frames: Vec<Bytes> = Vec::new();
    loop {
        let ended = tokio::select! {
            ended = next_frames(&mut body, &mut frames) => ended,
            closed = peer_closed(&stream) => {
                if closed {
                    return;
                }
                continue;
            }
        };
        let write = write_frames(&mut stream, &frames, chunked, ended);
        match tokio::time::timeout(stall, write).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return,
            Err(_) => {
                transport.write_stalled.store(true, Ordering::Relaxed);
                return;
            }
        }
        frames.clear();
        if frames.capacity() > FRAMES_PER_WRITE {
            frames.shrink_to(FRAMES_PER_WRITE);
        }
        if ended {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

/// Gathers the frames ready now (at least one, unless the body ended); returns whether it did.
async fn next_frames(body: &mut SseBody, frames: &mut Vec<Bytes>) -> bool {
    poll_fn(|cx| loop {
        match Pin::new(&mut *body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    frames.push(data);
                }
                if frames.len() >= FRAMES_PER_WRITE {
                    return Poll::Ready(false);
                }
            }
            Poll::Ready(Some(Err(never))) => match never {},
            Poll::Ready(None) => return Poll::Ready(true),
            Poll::Pending if frames.is_empty() => return Poll::Pending,
            Poll::Pending => return Poll::Ready(false),
        }
    })
    .await
}

/// Resolves when the socket is readable: `true` if the peer closed it (bytes it sent after
/// the stream request are discarded).
async fn peer_closed(stream: &TcpStream) -> bool {
    if stream.readable().await.is_err() {
        return true;
    }
    let mut scratch = [0u8; 64];
    match stream.try_read(&mut scratch) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    }
}

/// One chunk holding every gathered frame (`<len>\r\n<frames>\r\n`), plus the last chunk if
/// the body ended, in as few `writev` calls as the socket allows.
async fn write_frames(
    stream: &mut TcpStream,
    frames: &[Bytes],
    chunked: bool,
    ended: bool,
) -> io::Result<()> {
    let total: usize = frames.iter().map(Bytes::len).sum();
    let size = format!("{total:x}\r\n");
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(frames.len() + 3);
    if chunked && total > 0 {
        slices.push(IoSlice::new(size.as_bytes()));
    }
    slices.extend(frames.iter().map(|f| IoSlice::new(f)));
    if chunked && total > 0 {
        slices.push(IoSlice::new(b"\r\n"));
    }
    if chunked && ended {
        slices.push(IoSlice::new(b"0\r\n\r\n"));
    }
    let mut remaining = &mut slices[..];
    while !remaining.is_empty() {
        let written = stream.write_vectored(remaining).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut remaining, written);
    }
    Ok(())
}
