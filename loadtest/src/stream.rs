//! One SSE subscription: either a connection of its own (HTTP/1.1, plain or TLS: request,
//! response head, then de-framed body bytes) or a stream on a shared HTTP/2 connection (the
//! body is the DATA frames). Both feed the same SSE parser.
//!
//! Density is the point: the HTTP/1.1 read buffer lives on the stack only while a read is
//! being processed (never across an `.await`), so an idle connection costs its socket, its
//! task and the parser's empty buffers; no per-connection heap buffer is held while waiting.
//! An h2 stream holds h2's per-stream state; its data is released as soon as it is parsed.

use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use h2::RecvStream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};

use crate::chunked::Progress;
use crate::http::{self, BodyDecoder, HttpError};
use crate::mux::{self, Pool};
use crate::source::Sources;
use crate::sse::{Item, Parser};
use crate::target::Hub;
use crate::transport::{Conn, Transport};

/// Bytes read per wake-up. On the stack, so large enough for fan-out bursts at no idle cost.
const READ_CHUNK: usize = 16 * 1024;
/// How much of a refused answer's body goes into the error message.
const ERROR_BODY: usize = 200;

/// How a subscription reaches its hub.
#[derive(Clone)]
pub enum Dial {
    /// A connection of its own, from the next of these source endpoints (if any).
    Own {
        transport: Arc<Transport>,
        source: Option<Arc<Sources>>,
    },
    /// A stream on connection `slot` of a shared HTTP/2 pool.
    Shared { pool: Arc<Pool>, slot: usize },
}

/// Where and how to subscribe.
#[derive(Clone)]
pub struct Request {
    /// Path and query, e.g. `/api/sse/connect?clientId=lt-1`.
    pub path: String,
    pub api_key: Option<String>,
    pub last_event_id: Option<u64>,
    pub dial: Dial,
}

#[derive(Debug)]
pub enum Outcome {
    /// Data was read and parsed; keep reading.
    More,
    /// The hub closed the stream (EOF or end of a framed body).
    Ended,
}

pub struct SseStream {
    wire: Wire,
    parser: Parser,
}

enum Wire {
    H1 {
        conn: Conn,
        body: BodyDecoder,
        /// Body bytes that arrived with the head, parsed on the first `read`.
        early: Vec<u8>,
    },
    H2(RecvStream),
}

impl SseStream {
    /// Connects (or opens a stream), sends the request and reads the response head.
    ///
    /// # Errors
    /// Connect failures, a non-200 status (with the start of the body in the message), or a
    /// content type other than `text/event-stream`.
    pub async fn open(hub: &Hub, req: &Request) -> Result<Self, HttpError> {
        let id = req.last_event_id.map(|id| id.to_string());
        let mut headers = vec![("Accept", "text/event-stream")];
        if let Some(key) = &req.api_key {
            headers.push(("X-API-Key", key));
        }
        if let Some(id) = &id {
            headers.push(("Last-Event-ID", id));
        }
        let wire = match &req.dial {
            Dial::Own { transport, source } => {
                open_h1(hub, transport, source.as_deref(), &req.path, &headers).await?
            }
            Dial::Shared { pool, slot } => open_h2(pool, *slot, &req.path, &headers).await?,
        };
        Ok(Self {
            wire,
            parser: Parser::new(),
        })
    }

    /// Waits for bytes and passes every SSE item they complete to `sink`.
    ///
    /// # Errors
    /// Socket errors, framing violations and h2 stream errors (e.g. a reset).
    pub async fn read(&mut self, mut sink: impl FnMut(Item<'_>)) -> Result<Outcome, HttpError> {
        let parser = &mut self.parser;
        match &mut self.wire {
            Wire::H1 { conn, body, early } => {
                if !early.is_empty() {
                    let early = std::mem::take(early);
                    return decode(body, parser, &early, &mut sink);
                }
                // Read and parse inside one poll, so the buffer never lives in the future.
                std::future::poll_fn(|cx| {
                    let mut chunk = [0u8; READ_CHUNK];
                    let mut buf = ReadBuf::new(&mut chunk);
                    match Pin::new(&mut *conn).poll_read(cx, &mut buf) {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e.into())),
                        Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                            Poll::Ready(Ok(Outcome::Ended))
                        }
                        Poll::Ready(Ok(())) => {
                            Poll::Ready(decode(body, parser, buf.filled(), &mut sink))
                        }
                    }
                })
                .await
            }
            Wire::H2(body) => match body.data().await {
                None => Ok(Outcome::Ended),
                Some(Err(e)) => Err(HttpError::H2(e)),
                Some(Ok(data)) => {
                    // Consumed as soon as parsed: the hub may send the next window at once.
                    let _ = body.flow_control().release_capacity(data.len());
                    parser.feed(&data, &mut sink);
                    Ok(Outcome::More)
                }
            },
        }
    }

    /// Drops buffer capacity the parser kept from earlier frames (for long idle holds).
    pub fn shrink(&mut self) {
        self.parser.shrink();
    }
}

fn decode(
    body: &mut BodyDecoder,
    parser: &mut Parser,
    bytes: &[u8],
    sink: &mut impl FnMut(Item<'_>),
) -> Result<Outcome, HttpError> {
    match body.feed(bytes, &mut |b| parser.feed(b, sink))? {
        Progress::Done => Ok(Outcome::Ended),
        Progress::More => Ok(Outcome::More),
    }
}

async fn open_h1(
    hub: &Hub,
    transport: &Transport,
    source: Option<&Sources>,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Wire, HttpError> {
    let mut conn = transport.connect(hub, source).await?;
    conn.write_all(&http::request("GET", hub, path, headers, b""))
        .await?;
    conn.flush().await?;
    let mut buf = Vec::with_capacity(512);
    let (head, len) = loop {
        if let Some(parsed) = http::parse_head(&buf)? {
            break parsed;
        }
        buf.reserve(512);
        if conn.read_buf(&mut buf).await? == 0 {
            return Err(HttpError::Truncated);
        }
    };
    if head.status != 200 || !head.content_type.starts_with("text/event-stream") {
        let end = buf.len().min(len + ERROR_BODY);
        let start = String::from_utf8_lossy(&buf[len..end]).into_owned();
        return Err(HttpError::NotAStream(head.status, head.content_type, start));
    }
    buf.drain(..len);
    buf.shrink_to_fit();
    Ok(Wire::H1 {
        conn,
        body: BodyDecoder::new(head.framing),
        early: buf,
    })
}

async fn open_h2(
    pool: &Pool,
    slot: usize,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Wire, HttpError> {
    let response = pool.request(slot, "GET", path, headers, b"").await?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.into_body();
    if status != 200 || !content_type.starts_with("text/event-stream") {
        let start = mux::read_body(body, mux::MAX_BODY)
            .await
            .unwrap_or_default();
        let start = String::from_utf8_lossy(&start[..start.len().min(ERROR_BODY)]).into_owned();
        return Err(HttpError::NotAStream(status, content_type, start));
    }
    Ok(Wire::H2(body))
}
