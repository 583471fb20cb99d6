//! A small HTTP/1.1 client over hyper's client connection, for whole replies and SSE streams.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::sse::{SseEvent, SseParser};

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// Reads a whole response.
    pub async fn read(response: hyper::Response<AnyBody>) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = tokio::time::timeout(Duration::from_secs(10), response.into_body().collect())
            .await
            .expect("reply body in time")
            .expect("reply body")
            .to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The `error` code of a JSON error reply (asserting it has the documented shape).
    pub fn error_code(&self) -> String {
        let json = self.json();
        assert!(
            json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error without message: {json}"
        );
        json["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code: {json}"))
            .to_owned()
    }
}

/// A response body from any transport (hyper's HTTP/1.1, an HTTP/2 stream).
pub type AnyBody = UnsyncBoxBody<Bytes, BoxError>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn send(addr: SocketAddr, request: Request<Full<Bytes>>) -> hyper::Response<Incoming> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the hub");
    send_over(stream, request).await
}

/// Sends one HTTP/1.1 request over `io` (a TCP or TLS stream).
pub async fn send_over<T>(io: T, request: Request<Full<Bytes>>) -> hyper::Response<Incoming>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .expect("HTTP handshake");
    tokio::spawn(connection);
    sender.send_request(request).await.expect("send request")
}

pub fn build(
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap()
}

pub async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Reply {
    let response = send(addr, build(method, path, headers, body)).await;
    Reply::read(response.map(|b| b.map_err(Into::into).boxed_unsync())).await
}

pub async fn get(addr: SocketAddr, path: &str, key: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|k| ("x-api-key", k)).into_iter().collect();
    request(addr, Method::GET, path, &headers, None).await
}

pub async fn post_json(
    addr: SocketAddr,
    path: &str,
    key: Option<&str>,
    body: serde_json::Value,
) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(key) = key {
        headers.push(("x-api-key", key));
    }
    request(addr, Method::POST, path, &headers, Some(body.to_string())).await
}

/// `post_json` for a hub that may be gone: connection errors and a reply that does not come
/// within `limit` are an `Err` instead of a panic.
pub async fn try_post_json(
    addr: SocketAddr,
    path: &str,
    body: &serde_json::Value,
    limit: Duration,
) -> Result<Reply, String> {
    let attempt = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = build(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            Some(body.to_string()),
        );
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    };
    tokio::time::timeout(limit, attempt)
        .await
        .map_err(|_| format!("no reply within {limit:?}"))?
}

/// An open SSE stream.
pub struct SseStream {
    pub status: StatusCode,
    pub headers: HeaderMap,
    body: AnyBody,
    parser: SseParser,
    ready: VecDeque<SseEvent>,
    pub ended: bool,
    /// Why the body failed, if it did (a reset HTTP/2 stream, a broken connection).
    pub error: Option<String>,
}

impl SseStream {
    pub async fn open(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> SseStream {
        let response = send(addr, build(Method::GET, path, headers, None)).await;
        SseStream::new(response.map(|b| b.map_err(Into::into).boxed_unsync()))
    }

    /// A stream over any transport's response.
    pub fn new(response: hyper::Response<AnyBody>) -> SseStream {
        let status = response.status();
        let headers = response.headers().clone();
        SseStream {
            status,
            headers,
            body: response.into_body(),
            parser: SseParser::new(),
            ready: VecDeque::new(),
            ended: false,
            error: None,
        }
    }

    pub fn comments(&self) -> &[String] {
        &self.parser.comments
    }

    pub fn retry(&self) -> Option<u64> {
        self.parser.retry
    }

    /// The next event, or `None` if the stream ended or nothing came within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => return None,
                Ok(None) => self.ended = true,
                Ok(Some(Err(error))) => {
                    self.ended = true;
                    self.error = Some(error.to_string());
                }
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.ready.extend(self.parser.feed(&data));
                    }
                }
            }
        }
    }

    /// The next event, which must come within five seconds.
    pub async fn expect(&mut self) -> SseEvent {
        self.next(Duration::from_secs(5))
            .await
            .expect("an event within 5 s")
    }

    /// Skips the `connected` frame (and returns its data).
    pub async fn connected(&mut self) -> serde_json::Value {
        let event = self.expect().await;
        assert_eq!(
            event.event, "connected",
            "first event must be `connected`: {event:?}"
        );
        assert_eq!(event.id, None, "`connected` must not carry an id");
        event.json()
    }

    /// Events with an id until `count` arrived or nothing came for `idle`.
    pub async fn sequences(&mut self, count: usize, idle: Duration) -> Vec<u64> {
        let mut out = Vec::new();
        while out.len() < count {
            match self.next(idle).await {
                Some(event) => {
                    if let Some(sequence) = event.sequence() {
                        out.push(sequence);
                    }
                }
                None => break,
            }
        }
        out
    }

    /// Reads until the stream ends (or `wait` passes); returns whether it ended.
    pub async fn until_end(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        while !self.ended {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            let _ = self.next(left).await;
        }
        true
    }
}
