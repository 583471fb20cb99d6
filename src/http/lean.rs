//! The lean SSE path: a `GET /api/sse/connect` parsed by [`head`](super::head) from a small
//! buffer is opened with the node's verbs and written straight to the socket: chunked frames,
//! one `writev` per wake, no hyper in between.
//!
//! The socket is plain TCP or TLS (any `AsyncRead + AsyncWrite`): after the handshake an
//! HTTP/1.1 stream over TLS takes this path too, since hyper's buffers would cost more than the
//! stream and rustls together (docs/PERFORMANCE.md).
//!
//! It keeps HTTP/1.1 semantics: chunked framing (close-delimited for HTTP/1.0),
//! `Connection: close` so no client reuses the socket after the stream, and pipelined bytes
//! after the stream request are ignored because the stream response never yields the turn.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::request::Parts;
use http::{header, HeaderMap, HeaderValue, StatusCode, Version};
use http_body::Body;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::error::ApiError;
use super::handlers::stream::STREAM_HEADERS;
use super::request::{self, Query};
use super::router::allow_origin;
use super::Shared;
use crate::auth::Access;
use crate::metrics::CloseReason;
use crate::sse::body::{SseBody, Transport};

/// Frames gathered per write.
const FRAMES_PER_WRITE: usize = 64;
/// Bytes a stream's client may send after its request (it has nothing to send; a few stray
/// bytes are tolerated). Past it the stream is closed: reading input nobody wants costs CPU.
const INPUT_ALLOWANCE: usize = 4096;

/// Opens the stream `parts` asks for and writes it until it ends; or writes the refusal.
pub(crate) async fn serve_stream<S>(mut stream: S, parts: Parts, pipelined: usize, shared: &Shared)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let origin = parts.headers.get(header::ORIGIN).cloned();
    let version = parts.version;
    // Boxed: opening is large and short-lived; inline it would size every stream's task for
    // its whole life.
    let opened = Box::pin(open(&parts, shared)).await;
    drop(parts);
    let cors = |headers: &mut HeaderMap| {
        if let Some(origin) = &origin {
            allow_origin(headers, origin, &shared.settings.cors_origins);
        }
    };
    match opened {
        Ok(body) => {
            let transport = Arc::new(Transport::default());
            let body = body.with_connection(transport.clone());
            let chunked = version != Version::HTTP_10;
            // The head is rendered here so that no `HeaderMap` (a kilobyte once allocated)
            // lives as long as the stream.
            let head = {
                let mut headers = HeaderMap::with_capacity(8);
                for (name, value) in STREAM_HEADERS {
                    headers.insert(name, HeaderValue::from_static(value));
                }
                cors(&mut headers);
                let framing = if chunked {
                    "transfer-encoding: chunked\r\n"
                } else {
                    ""
                };
                head_bytes(StatusCode::OK, &headers, version, framing)
            };
            if stream.write_all(&head).await.is_err() {
                return;
            }
            drop(head);
            let writer = Writer {
                stream,
                body,
                chunked,
                stall: shared.settings.write_stall,
                received: pipelined,
                transport,
            };
            // A task of its own: this connection's task holds the opening's state (the
            // request, the error paths); the stream's whole life needs only the writer.
            shared.streams.spawn(writer.run());
        }
        Err(error) => {
            let mut extra = HeaderMap::new();
            cors(&mut extra);
            answer_error(&mut stream, &error, version, Some(extra)).await;
        }
    }
}

async fn open(parts: &Parts, shared: &Shared) -> Result<SseBody, ApiError> {
    let query = Query::parse(parts.uri.query());
    let credentials = request::credentials(&parts.headers, &query, &shared.settings.jwt_cookie);
    let caller = shared.node.identify(&credentials, Access::Client)?;
    let open = request::open_request(parts, &query)?;
    Ok(shared.node.open_stream(&caller, open).await?)
}

fn head_bytes(status: StatusCode, headers: &HeaderMap, version: Version, framing: &str) -> Vec<u8> {
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
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(framing.as_bytes());
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out
}

/// Writes a JSON error answer (with `extra` headers, e.g. CORS), then closes.
pub(crate) async fn answer_error<S: AsyncWrite + Unpin>(
    stream: &mut S,
    error: &ApiError,
    version: Version,
    extra: Option<HeaderMap>,
) {
    let (status, mut headers, body) = error.answer();
    headers.extend(extra.unwrap_or_default());
    let framing = format!("content-length: {}\r\n", body.len());
    let mut out = head_bytes(status, &headers, version, &framing);
    out.extend_from_slice(&body);
    if stream.write_all(&out).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

/// A stream after its head: writes its frames as they come, until the body ends, the peer goes
/// away, or a write stalls past the limit. The socket is plain TCP or TLS.
struct Writer<S> {
    stream: S,
    body: SseBody,
    chunked: bool,
    stall: Duration,
    /// Bytes the client sent after its request (see [`INPUT_ALLOWANCE`]).
    received: usize,
    transport: Arc<Transport>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Writer<S> {
    async fn run(mut self) {
        let mut frames: Vec<Bytes> = Vec::new();
        loop {
            let ended = tokio::select! {
                ended = next_frames(&mut self.body, &mut frames) => ended,
                closed = peer_closed(&mut self.stream, &mut self.received, &self.transport) => {
                    if closed {
                        return;
                    }
                    continue;
                }
            };
            let write = write_frames(&mut self.stream, &frames, self.chunked, ended);
            match tokio::time::timeout(self.stall, write).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => {
                    self.transport.close_because(CloseReason::WriteStall);
                    return;
                }
            }
            frames.clear();
            if frames.capacity() > FRAMES_PER_WRITE {
                frames.shrink_to(FRAMES_PER_WRITE);
            }
            if ended {
                let _ = self.stream.shutdown().await;
                return;
            }
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

/// Resolves when the socket has something to say: `true` if the peer closed it (or it failed),
/// or sent more than the allowance in all (the stream ends). Bytes within the allowance are
/// read and discarded; the scratch buffer lives only inside one poll, so an idle stream's task
/// carries none. A poll of the stream rather than `TcpStream::readable`, so that TLS works too.
async fn peer_closed<S: AsyncRead + Unpin>(
    stream: &mut S,
    received: &mut usize,
    transport: &Transport,
) -> bool {
    poll_fn(|cx| {
        let mut scratch = [0u8; 512];
        let mut buf = ReadBuf::new(&mut scratch);
        match Pin::new(&mut *stream).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(_)) => Poll::Ready(true),
            Poll::Ready(Ok(())) if buf.filled().is_empty() => Poll::Ready(true),
            Poll::Ready(Ok(())) => {
                *received += buf.filled().len();
                if *received > INPUT_ALLOWANCE {
                    transport.close_because(CloseReason::ClientInput);
                    return Poll::Ready(true);
                }
                Poll::Ready(false)
            }
        }
    })
    .await
}

/// One chunk holding every gathered frame (`<len>\r\n<frames>\r\n`), plus the last chunk if
/// the body ended, in as few `writev` calls as the socket allows (over TLS, as few records).
async fn write_frames<S: AsyncWrite + Unpin>(
    stream: &mut S,
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
    // TLS holds encrypted records until flushed; for TCP this is free.
    stream.flush().await
}
