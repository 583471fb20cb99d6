//! One generated request (a probe), sending it, and the checks every answer must pass.

use super::*;

/// Small, so bodies around the limit are cheap; the field caps (4096, 128, 64) stay below it.
pub(super) const BODY_LIMIT: usize = 8192;
/// Per test; four tests of this size finish in well under 30 s on a debug build.
pub(super) const DEFAULT_CASES: u32 = 256;
/// How long one reply may take before the hub counts as hung.
pub(super) const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

// ------------------------------------------------------------------------------------------
// Probes: one generated request and what its credentials should earn.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Connect,
    Stats,
    DemoStatus,
    /// `GET /api/sse/events` (history).
    Events,
    /// `GET /api/sse/presence`.
    Presence,
    Ack,
    Token,
    Publish,
    DemoStart,
    DemoStop,
}

impl Endpoint {
    pub(super) fn needs_publish_scope(self) -> bool {
        matches!(
            self,
            Endpoint::Token | Endpoint::Publish | Endpoint::DemoStart | Endpoint::DemoStop
        )
    }

    /// Connect, ack, history and presence take a client token (`token=`) instead of a key.
    pub(super) fn takes_token(self) -> bool {
        matches!(
            self,
            Endpoint::Connect | Endpoint::Ack | Endpoint::Events | Endpoint::Presence
        )
    }
}

/// What the credentials of a probe earn, when they are unambiguous (one clean key in one place,
/// or none); `Unknown` for the messy combinations, where only the weaker rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    Publish,
    Subscribe,
    Invalid,
    Missing,
    Unknown,
}

#[derive(Debug, Clone)]
pub(super) struct Credentials {
    pub(super) x_api_key: Option<Vec<u8>>,
    pub(super) authorization: Option<Vec<u8>>,
    /// The `apikey=` value, already URI-safe.
    pub(super) apikey: Option<String>,
    pub(super) expect: Expect,
}

#[derive(Clone)]
pub(super) struct Probe {
    pub(super) endpoint: Endpoint,
    pub(super) method: Method,
    pub(super) path: String,
    /// `key=value` items, URI-safe, in order (the first of a repeated key wins).
    pub(super) query: Vec<String>,
    pub(super) headers: Vec<(&'static str, Vec<u8>)>,
    pub(super) body: Vec<u8>,
    /// Send the body with `Transfer-Encoding: chunked` instead of a `Content-Length`.
    pub(super) chunked: bool,
    pub(super) expect: Expect,
}

impl Probe {
    pub(super) fn new(endpoint: Endpoint, path: String, credentials: Credentials) -> Probe {
        let method = match endpoint {
            Endpoint::Connect
            | Endpoint::Stats
            | Endpoint::DemoStatus
            | Endpoint::Events
            | Endpoint::Presence => Method::GET,
            _ => Method::POST,
        };
        let mut probe = Probe {
            endpoint,
            method,
            path,
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
            chunked: false,
            expect: credentials.expect,
        };
        if let Some(key) = credentials.x_api_key {
            probe.headers.push(("x-api-key", key));
        }
        if let Some(auth) = credentials.authorization {
            probe.headers.push(("authorization", auth));
        }
        if let Some(key) = credentials.apikey {
            probe.query.push(format!("apikey={key}"));
        }
        probe
    }

    pub(super) fn with_query(mut self, items: Vec<String>) -> Probe {
        // `new` puts only the credentials' `apikey=` in the query.
        let own_apikeys = self.query.len();
        self.query.extend(items);
        // Another `apikey=`, or a `token=` where one is read, changes what the credentials earn.
        let decoded = self.decoded_query();
        let apikeys = decoded.iter().filter(|(k, _)| k == "apikey").count();
        let token = self.endpoint.takes_token() && decoded.iter().any(|(k, _)| k == "token");
        if token || apikeys > own_apikeys {
            self.expect = Expect::Unknown;
        }
        self
    }

    pub(super) fn with_header(mut self, name: &'static str, value: Option<Vec<u8>>) -> Probe {
        if let Some(value) = value {
            self.headers.push((name, value));
        }
        self
    }

    /// Repeated or extra headers; a second key header makes the credentials ambiguous.
    pub(super) fn with_extra_headers(mut self, extra: Vec<(&'static str, Vec<u8>)>) -> Probe {
        if extra
            .iter()
            .any(|(name, _)| matches!(*name, "x-api-key" | "authorization"))
        {
            self.expect = Expect::Unknown;
        }
        self.headers.extend(extra);
        self
    }

    pub(super) fn with_body(mut self, body: Vec<u8>, chunked: bool) -> Probe {
        self.body = body;
        self.chunked = chunked;
        self
    }

    pub(super) fn target(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query.join("&"))
        }
    }

    pub(super) fn decoded_query(&self) -> Vec<(String, String)> {
        let query = self.query.join("&");
        form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// Whether `key` appears anywhere a key may be read from.
    pub(super) fn mentions(&self, key: &str) -> bool {
        let in_header = self
            .headers
            .iter()
            .any(|(_, value)| value.windows(key.len()).any(|w| w == key.as_bytes()));
        in_header || self.decoded_query().iter().any(|(_, v)| v.contains(key))
    }

    /// The request, or `None` when the `http` crate refuses the generated URI or a header.
    pub(super) fn request(&self) -> Option<Request<BoxBody<Bytes, Infallible>>> {
        let mut builder = Request::builder()
            .method(self.method.clone())
            .uri(self.target())
            .header("host", "127.0.0.1");
        for (name, value) in &self.headers {
            builder = builder.header(*name, HeaderValue::from_bytes(value).ok()?);
        }
        let body = Bytes::from(self.body.clone());
        let body = if self.chunked {
            // No size hint: hyper sends it chunked, in three pieces.
            let third = body.len().div_ceil(3).max(1);
            let frames: Vec<Result<Frame<Bytes>, Infallible>> = body
                .chunks(third)
                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                .collect();
            StreamBody::new(futures_util::stream::iter(frames)).boxed()
        } else {
            Full::new(body).boxed()
        };
        builder.body(body).ok()
    }
}

/// Short enough to read in a failure report; the body is cut after 400 bytes.
impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(v).escape_debug()))
            .collect();
        let shown = &self.body[..self.body.len().min(400)];
        f.debug_struct("Probe")
            .field("request", &format!("{} {}", self.method, self.target()))
            .field("headers", &headers)
            .field("chunked", &self.chunked)
            .field("body_len", &self.body.len())
            .field("body", &String::from_utf8_lossy(shown))
            .field("expect", &self.expect)
            .finish()
    }
}

// ------------------------------------------------------------------------------------------
// A byte-level client: the support client takes `&str` headers and `String` bodies.

pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

impl Answer {
    pub(super) fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub(super) fn error_code(&self) -> Option<String> {
        Some(self.json()?.get("error")?.as_str()?.to_owned())
    }

    pub(super) fn is_event_stream(&self) -> bool {
        self.headers
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
    }
}

pub(super) async fn exchange(addr: SocketAddr, probe: &Probe) -> Result<Answer, TestCaseError> {
    let Some(request) = probe.request() else {
        return Err(TestCaseError::reject(
            "the http crate refuses this URI or header",
        ));
    };
    let fail =
        |what: &str, error: &dyn fmt::Display| TestCaseError::fail(format!("{what}: {error}"));
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| fail("connect", &e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| fail("handshake", &e))?;
    tokio::spawn(connection);
    let response = tokio::time::timeout(REPLY_TIMEOUT, sender.send_request(request))
        .await
        .map_err(|e| fail("no reply head in time", &e))?
        .map_err(|e| fail("transport error before a reply", &e))?;
    let (parts, mut body) = response.into_parts();
    let mut answer = Answer {
        status: parts.status,
        headers: parts.headers,
        body: Bytes::new(),
    };
    if answer.status.is_success() && answer.is_event_stream() {
        // The stream never ends; its opening write must carry `retry:` and `connected`.
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
        while !seen.windows(16).any(|w| w == b"event: connected") {
            match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        seen.extend_from_slice(data);
                    }
                }
                _ => break,
            }
        }
        answer.body = Bytes::from(seen);
        return Ok(answer); // Dropping the body closes the connection and the subscription.
    }
    answer.body = tokio::time::timeout(REPLY_TIMEOUT, body.collect())
        .await
        .map_err(|e| fail("no reply body in time", &e))?
        .map_err(|e| fail("reply body", &e))?
        .to_bytes();
    Ok(answer)
}

// ------------------------------------------------------------------------------------------
// The properties every answer must have.

pub(super) fn check_shape(probe: &Probe, answer: &Answer) -> TestCaseResult {
    let status = answer.status;
    let body = String::from_utf8_lossy(&answer.body);
    prop_assert!(status.as_u16() < 500, "{status} for {probe:?}: {body}");
    let content_type = answer.headers.get(CONTENT_TYPE).map(HeaderValue::as_bytes);
    if !status.is_success() {
        prop_assert_eq!(
            content_type,
            Some(&b"application/json"[..]),
            "error without JSON content type: {}",
            body
        );
        let json = answer.json();
        let code = json.as_ref().and_then(|j| j.get("error")?.as_str());
        let message = json.as_ref().and_then(|j| j.get("message")?.as_str());
        prop_assert!(
            code.is_some_and(
                |c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            ),
            "error code missing or malformed: {status} {body}"
        );
        prop_assert!(
            message.is_some_and(|m| !m.is_empty()),
            "error message missing or empty: {status} {body}"
        );
        if status == StatusCode::UNAUTHORIZED {
            prop_assert!(
                answer.headers.contains_key(WWW_AUTHENTICATE),
                "401 without WWW-Authenticate"
            );
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            prop_assert!(
                answer.headers.contains_key(RETRY_AFTER),
                "{status} without Retry-After"
            );
        }
    } else if status == StatusCode::NO_CONTENT {
        prop_assert!(answer.body.is_empty(), "204 with a body: {body}");
    } else if answer.is_event_stream() {
        prop_assert_eq!(probe.endpoint, Endpoint::Connect);
        prop_assert!(
            body.starts_with("retry: "),
            "stream does not start with retry: {body}"
        );
        prop_assert!(
            body.contains("event: connected\n"),
            "no connected frame: {body}"
        );
    } else {
        prop_assert_eq!(content_type, Some(&b"application/json"[..]));
        prop_assert!(
            answer.json().is_some_and(|j| j.is_object()),
            "2xx body is not a JSON object: {body}"
        );
    }
    Ok(())
}

/// The key rules: unambiguous credentials get exactly their documented answer, and no request
/// succeeds without a key of the needed scope somewhere in it.
pub(super) fn check_auth(probe: &Probe, answer: &Answer) -> TestCaseResult {
    let status = answer.status.as_u16();
    let code = answer.error_code();
    let code = code.as_deref();
    let publish = probe.endpoint.needs_publish_scope();
    // Connect validates `clientId` before it looks at credentials.
    let early = probe.endpoint == Endpoint::Connect && code == Some("invalid_client_id");
    match probe.expect {
        Expect::Missing if !early => {
            prop_assert_eq!(
                (status, code),
                (401, Some("missing_api_key")),
                "{:?}",
                probe
            );
        }
        Expect::Invalid if !early => {
            prop_assert_eq!(
                (status, code),
                (401, Some("invalid_api_key")),
                "{:?}",
                probe
            );
        }
        Expect::Subscribe if publish => {
            prop_assert_eq!(
                (status, code),
                (403, Some("insufficient_scope")),
                "{:?}",
                probe
            );
        }
        Expect::Publish | Expect::Subscribe => {
            prop_assert!(
                status != 401 && status != 403,
                "{status} {code:?} for {probe:?}"
            );
        }
        _ => {}
    }
    if answer.status.is_success() {
        let keyed = probe.mentions(PUBLISH_KEY) || (!publish && probe.mentions(SUBSCRIBE_KEY));
        prop_assert!(
            keyed,
            "{status} without a key of the needed scope: {probe:?}"
        );
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Generators.
