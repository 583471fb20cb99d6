//! Just enough HTTP/1.1 client for the harness: request heads, response heads (httparse),
//! body framing, and a keep-alive connection for small JSON requests (publishes, stats),
//! which speaks HTTP/2 instead (on a connection of its own) under `--http h2`.
//! Streaming SSE responses use the same pieces from `stream.rs`.

use std::fmt;
use std::io;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::chunked::{ChunkError, Dechunker, Progress};
use crate::cli::HttpVersion;
use crate::mux;
use crate::target::Hub;
use crate::transport::{Conn, Transport};

/// Largest response head accepted; the hub's are a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;
/// Largest small-request response body accepted (stats, errors, publish acks).
const MAX_BODY: usize = 1024 * 1024;

#[derive(Debug)]
pub enum HttpError {
    /// The TCP connect itself failed: nothing was sent.
    Connect(io::Error),
    /// The TLS (or HTTP/2) handshake failed: nothing was sent.
    Handshake(String),
    /// The hub did not agree via ALPN to the protocol `--http` asked for (what it chose).
    Alpn(String),
    /// HTTP/2 refused the request before it left (connection gone, GOAWAY): nothing was sent.
    H2Unsent(h2::Error),
    /// HTTP/2 failed after the request was sent (stream reset, connection lost).
    H2(h2::Error),
    Io(io::Error),
    /// The response head could not be parsed or was too large.
    BadHead(String),
    Chunked(ChunkError),
    /// The peer closed before the response was complete.
    Truncated,
    /// The hub answered, but not with an event stream (status, content type, body start).
    NotAStream(u16, String, String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connect: {e}"),
            Self::Handshake(e) => write!(f, "TLS handshake: {e}"),
            Self::Alpn(got) => write!(
                f,
                "the hub did not negotiate the asked protocol via ALPN (it chose {got})"
            ),
            Self::H2Unsent(e) => write!(f, "h2 (request not sent): {e}"),
            Self::H2(e) => write!(f, "h2: {e}"),
            Self::Io(e) => write!(f, "io: {e}"),
            Self::BadHead(why) => write!(f, "bad response head: {why}"),
            Self::Chunked(e) => write!(f, "{e}"),
            Self::Truncated => write!(f, "connection closed mid-response"),
            Self::NotAStream(status, content_type, body) => {
                write!(
                    f,
                    "status {status} ({content_type}) instead of an event stream: {body}"
                )
            }
        }
    }
}

impl std::error::Error for HttpError {}

impl HttpError {
    /// Whether the request certainly never reached the hub (so a publish did not happen).
    pub fn nothing_sent(&self) -> bool {
        matches!(
            self,
            Self::Connect(_) | Self::Handshake(_) | Self::Alpn(_) | Self::H2Unsent(_)
        )
    }
}

impl From<io::Error> for HttpError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<ChunkError> for HttpError {
    fn from(e: ChunkError) -> Self {
        Self::Chunked(e)
    }
}

/// Serialises a request head (and body) into one buffer so it goes out in one write.
pub fn request(
    method: &str,
    hub: &Hub,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(
        format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", hub.authority()).as_bytes(),
    );
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if method != "GET" || !body.is_empty() {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// How the response body is delimited (RFC 9112 §6.3, the cases a server can produce).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Chunked,
    Length(u64),
    /// No length: the body runs until the server closes.
    Close,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub framing: Framing,
    pub content_type: String,
    /// `Connection: close` (or HTTP/1.0): the connection cannot be reused.
    pub closes: bool,
}

/// Parses a response head from the start of `buf`.
///
/// Returns `Ok(None)` while incomplete, else the head and its length in bytes.
///
/// # Errors
/// A malformed or oversized head.
pub fn parse_head(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(HttpError::BadHead("head too large".into()))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(HttpError::BadHead(e.to_string())),
    };
    let status = response.code.unwrap_or(0);
    let mut framing = Framing::Close;
    let mut content_type = String::new();
    let mut closes = response.version == Some(0);
    for h in response.headers.iter() {
        let value = String::from_utf8_lossy(h.value);
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if value.to_ascii_lowercase().contains("chunked") {
                framing = Framing::Chunked;
            }
        } else if h.name.eq_ignore_ascii_case("content-length") && framing != Framing::Chunked {
            let n = value
                .trim()
                .parse()
                .map_err(|_| HttpError::BadHead(format!("content-length {value:?}")))?;
            framing = Framing::Length(n);
        } else if h.name.eq_ignore_ascii_case("content-type") {
            content_type = value.into_owned();
        } else if h.name.eq_ignore_ascii_case("connection") {
            closes |= value.to_ascii_lowercase().contains("close");
        }
    }
    // 1xx, 204 and 304 never have a body.
    if status == 204 || status == 304 || (100..200).contains(&status) {
        framing = Framing::Length(0);
    }
    Ok(Some((
        ResponseHead {
            status,
            framing,
            content_type,
            closes,
        },
        len,
    )))
}

/// Removes the framing from body bytes, whichever framing the head announced.
#[derive(Debug, Clone)]
pub enum BodyDecoder {
    Chunked(Dechunker),
    Length(u64),
    Close,
}

impl BodyDecoder {
    pub fn new(framing: Framing) -> Self {
        match framing {
            Framing::Chunked => Self::Chunked(Dechunker::new()),
            Framing::Length(n) => Self::Length(n),
            Framing::Close => Self::Close,
        }
    }

    /// # Errors
    /// A chunked framing violation.
    pub fn feed(
        &mut self,
        input: &[u8],
        sink: &mut impl FnMut(&[u8]),
    ) -> Result<Progress, HttpError> {
        match self {
            Self::Chunked(d) => Ok(d.feed(input, sink)?),
            Self::Length(left) => {
                let take = input
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                sink(&input[..take]);
                *left -= take as u64;
                Ok(if *left == 0 {
                    Progress::Done
                } else {
                    Progress::More
                })
            }
            Self::Close => {
                sink(input);
                Ok(Progress::More)
            }
        }
    }
}

/// A keep-alive connection for request/response exchanges with small bodies.
pub struct Client {
    hub: Hub,
    transport: Arc<Transport>,
    conn: Option<Conn>,
    /// Under `--http h2`: one HTTP/2 connection of this client's own, redialled when lost.
    h2: Option<mux::Pool>,
    buf: Vec<u8>,
}

impl Client {
    pub fn new(hub: Hub, transport: Arc<Transport>) -> Self {
        let h2 = (transport.http == HttpVersion::H2)
            .then(|| mux::Pool::new(hub.clone(), transport.clone(), 1, 1, None));
        Self {
            hub,
            transport,
            conn: None,
            h2,
            buf: Vec::with_capacity(1024),
        }
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Sends one request and reads the whole response; reconnects when needed.
    ///
    /// # Errors
    /// Connection or protocol failures; the connection is dropped so the next call starts clean.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), HttpError> {
        if let Some(pool) = &self.h2 {
            return pool.exchange(0, method, path, headers, body).await;
        }
        let wire = request(method, &self.hub, path, headers, body);
        let result = self.exchange(&wire).await;
        if !matches!(result, Ok((_, _, false))) {
            self.conn = None;
        }
        result.map(|(status, body, _)| (status, body))
    }

    async fn exchange(&mut self, wire: &[u8]) -> Result<(u16, Vec<u8>, bool), HttpError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => {
                let conn = self.transport.connect(&self.hub, None).await?;
                self.conn.insert(conn)
            }
        };
        conn.write_all(wire).await?;
        conn.flush().await?;
        self.buf.clear();
        let (head, head_len) = loop {
            if let Some(parsed) = parse_head(&self.buf)? {
                break parsed;
            }
            if conn.read_buf(&mut self.buf).await? == 0 {
                return Err(HttpError::Truncated);
            }
        };
        let mut body = Vec::new();
        let mut decoder = BodyDecoder::new(head.framing);
        let mut pending = self.buf.split_off(head_len);
        loop {
            let progress = decoder.feed(&pending, &mut |b| body.extend_from_slice(b))?;
            if progress == Progress::Done {
                break;
            }
            if body.len() > MAX_BODY {
                return Err(HttpError::BadHead("response body too large".into()));
            }
            pending.clear();
            if conn.read_buf(&mut pending).await? == 0 {
                if head.framing == Framing::Close {
                    return Ok((head.status, body, true));
                }
                return Err(HttpError::Truncated);
            }
        }
        Ok((head.status, body, head.closes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sse_head() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n";
        let (head, len) = parse_head(wire).unwrap().unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.framing, Framing::Chunked);
        assert_eq!(head.content_type, "text/event-stream");
        assert!(!head.closes);
        assert_eq!(&wire[len..], b"8\r\n");
        assert!(parse_head(&wire[..20]).unwrap().is_none());
    }

    #[test]
    fn no_body_statuses_and_lengths() {
        let (head, _) = parse_head(b"HTTP/1.1 204 No Content\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(head.framing, Framing::Length(0));
        let (head, _) =
            parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\nconnection: close\r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(head.framing, Framing::Length(12));
        assert!(head.closes);
    }

    #[test]
    fn length_decoder_stops_at_length() {
        let mut d = BodyDecoder::new(Framing::Length(3));
        let mut out = Vec::new();
        assert_eq!(
            d.feed(b"ab", &mut |b| out.extend_from_slice(b)).unwrap(),
            Progress::More
        );
        assert_eq!(
            d.feed(b"cd", &mut |b| out.extend_from_slice(b)).unwrap(),
            Progress::Done
        );
        assert_eq!(out, b"abc");
    }

    #[test]
    fn request_has_length_for_bodies() {
        let hub: Hub = "http://127.0.0.1:9".parse().unwrap();
        let wire = request("POST", &hub, "/x", &[("X-API-Key", "k")], b"{}");
        assert_eq!(
            wire,
            b"POST /x HTTP/1.1\r\nHost: 127.0.0.1:9\r\nX-API-Key: k\r\nContent-Length: 2\r\n\r\n{}"
        );
    }
}
