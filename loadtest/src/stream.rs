//! One SSE subscription on a raw `TcpStream`: request, response head, then de-framed body
//! bytes fed to the SSE parser.
//!
//! Density is the point: the read buffer lives on the stack only while a read is being
//! processed (never across an `.await`), so an idle connection costs its socket, its task and
//! the parser's empty buffers; no per-connection heap buffer is held while waiting.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

use crate::chunked::Progress;
use crate::http::{self, BodyDecoder, HttpError};
use crate::source::Sources;
use crate::sse::{Item, Parser};
use crate::target::Hub;

/// Bytes read per wake-up. On the stack, so large enough for fan-out bursts at no idle cost.
const READ_CHUNK: usize = 16 * 1024;

/// Where and how to subscribe.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Path and query, e.g. `/api/sse/connect?clientId=lt-1`.
    pub path: String,
    pub api_key: Option<String>,
    pub last_event_id: Option<u64>,
    /// Local endpoints to bind before connecting (spreads connections over 127.0.0.0/8).
    pub source: Option<Arc<Sources>>,
}

#[derive(Debug)]
pub enum Outcome {
    /// Data was read and parsed; keep reading.
    More,
    /// The hub closed the stream (EOF or end of a framed body).
    Ended,
}

pub struct SseStream {
    tcp: TcpStream,
    body: BodyDecoder,
    parser: Parser,
    /// Body bytes that arrived with the head, parsed on the first `read`.
    early: Vec<u8>,
}

impl SseStream {
    /// Connects, sends the request and reads the response head.
    ///
    /// # Errors
    /// Connect failures, a non-200 status (with the start of the body in the message), or a
    /// content type other than `text/event-stream`.
    pub async fn open(hub: &Hub, req: &Request) -> Result<Self, HttpError> {
        let mut tcp = connect(hub.addr, req.source.as_deref()).await?;
        let id = req.last_event_id.map(|id| id.to_string());
        let mut headers = vec![("Accept", "text/event-stream")];
        if let Some(key) = &req.api_key {
            headers.push(("X-API-Key", key));
        }
        if let Some(id) = &id {
            headers.push(("Last-Event-ID", id));
        }
        tcp.write_all(&http::request("GET", hub, &req.path, &headers, b""))
            .await?;
        let mut buf = Vec::with_capacity(512);
        let (head, len) = loop {
            if let Some(parsed) = http::parse_head(&buf)? {
                break parsed;
            }
            tcp.readable().await?;
            let mut chunk = [0u8; 1024];
            match tcp.try_read(&mut chunk) {
                Ok(0) => return Err(HttpError::Truncated),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.into()),
            }
        };
        if head.status != 200 || !head.content_type.starts_with("text/event-stream") {
            let start = String::from_utf8_lossy(&buf[len..buf.len().min(len + 200)]).into_owned();
            return Err(HttpError::NotAStream(head.status, head.content_type, start));
        }
        buf.drain(..len);
        buf.shrink_to_fit();
        Ok(Self {
            tcp,
            body: BodyDecoder::new(head.framing),
            parser: Parser::new(),
            early: buf,
        })
    }

    /// Waits for bytes and passes every SSE item they complete to `sink`.
    ///
    /// # Errors
    /// Socket errors and framing violations.
    pub async fn read(&mut self, mut sink: impl FnMut(Item<'_>)) -> Result<Outcome, HttpError> {
        if !self.early.is_empty() {
            let early = std::mem::take(&mut self.early);
            return self.decode(&early, &mut sink);
        }
        loop {
            self.tcp.readable().await?;
            let mut chunk = [0u8; READ_CHUNK];
            match self.tcp.try_read(&mut chunk) {
                Ok(0) => return Ok(Outcome::Ended),
                Ok(n) => return self.decode(&chunk[..n], &mut sink),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Drops buffer capacity the parser kept from earlier frames (for long idle holds).
    pub fn shrink(&mut self) {
        self.parser.shrink();
    }

    fn decode(
        &mut self,
        bytes: &[u8],
        sink: &mut impl FnMut(Item<'_>),
    ) -> Result<Outcome, HttpError> {
        let parser = &mut self.parser;
        match self.body.feed(bytes, &mut |b| parser.feed(b, sink))? {
            Progress::Done => Ok(Outcome::Ended),
            Progress::More => Ok(Outcome::More),
        }
    }
}

/// Endpoints tried before giving up: one may be taken by another program's wildcard listener.
const BIND_ATTEMPTS: usize = 16;

async fn connect(addr: SocketAddr, sources: Option<&Sources>) -> io::Result<TcpStream> {
    let Some(sources) = sources else {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        return Ok(stream);
    };
    let mut last_error = None;
    for _ in 0..BIND_ATTEMPTS {
        let socket = TcpSocket::new_v4()?;
        // Steps over a previous run's TIME_WAIT on this endpoint; `Sources` never hands out
        // an endpoint twice, so no live connection shares it.
        socket.set_reuseaddr(true)?;
        match socket.bind(sources.next()) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                last_error = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        }
        match socket.connect(addr).await {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            // The 4-tuple is still in TIME_WAIT from an earlier run against the same port.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::AddrInUse | io::ErrorKind::AddrNotAvailable
                ) =>
            {
                last_error = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no source endpoint")))
}
