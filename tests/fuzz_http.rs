//! Property tests over the whole HTTP surface. A hub (memory store, publish and subscribe keys)
//! is driven with generated query strings, headers and bodies on every endpoint. Whatever comes
//! in, it answers below 500, every refusal has the JSON error shape, the key rules hold, and the
//! outbox grows by exactly one per accepted publish and never otherwise.
//!
//! Requests are built from bytes rather than `&str`, so header values carry obs-text and bodies
//! invalid UTF-8. CR, LF and NUL cannot reach a header (the `http` crate refuses them), so they
//! travel percent-encoded in query strings and escaped in JSON instead, and raw over a socket
//! in the request heads of `GET /api/sse/connect`, whose head the hub parses itself (the lean
//! stream path). One hub per test; set `PROPTEST_CASES` to run more cases.

mod support;

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestCaseResult, TestRunner};
use serde_json::{json, Value};
use support::{TestHub, PUBLISH_KEY, SUBSCRIBE_KEY};

/// Small, so bodies around the limit are cheap; the field caps (4096, 128, 64) stay below it.
const BODY_LIMIT: usize = 8192;
/// Per test; four tests of this size finish in well under 30 s on a debug build.
const DEFAULT_CASES: u32 = 256;
/// How long one reply may take before the hub counts as hung.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

// ------------------------------------------------------------------------------------------
// Probes: one generated request and what its credentials should earn.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Connect,
    Stats,
    DemoStatus,
    Ack,
    Token,
    Publish,
    DemoStart,
    DemoStop,
}

impl Endpoint {
    fn needs_publish_scope(self) -> bool {
        matches!(
            self,
            Endpoint::Token | Endpoint::Publish | Endpoint::DemoStart | Endpoint::DemoStop
        )
    }

    /// Connect and ack take a client token (`token=`) instead of a key.
    fn takes_token(self) -> bool {
        matches!(self, Endpoint::Connect | Endpoint::Ack)
    }
}

/// What the credentials of a probe earn, when they are unambiguous (one clean key in one place,
/// or none); `Unknown` for the messy combinations, where only the weaker rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Publish,
    Subscribe,
    Invalid,
    Missing,
    Unknown,
}

#[derive(Debug, Clone)]
struct Credentials {
    x_api_key: Option<Vec<u8>>,
    authorization: Option<Vec<u8>>,
    /// The `apikey=` value, already URI-safe.
    apikey: Option<String>,
    expect: Expect,
}

#[derive(Clone)]
struct Probe {
    endpoint: Endpoint,
    method: Method,
    path: String,
    /// `key=value` items, URI-safe, in order (the first of a repeated key wins).
    query: Vec<String>,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
    /// Send the body with `Transfer-Encoding: chunked` instead of a `Content-Length`.
    chunked: bool,
    expect: Expect,
}

impl Probe {
    fn new(endpoint: Endpoint, path: String, credentials: Credentials) -> Probe {
        let method = match endpoint {
            Endpoint::Connect | Endpoint::Stats | Endpoint::DemoStatus => Method::GET,
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

    fn with_query(mut self, items: Vec<String>) -> Probe {
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

    fn with_header(mut self, name: &'static str, value: Option<Vec<u8>>) -> Probe {
        if let Some(value) = value {
            self.headers.push((name, value));
        }
        self
    }

    /// Repeated or extra headers; a second key header makes the credentials ambiguous.
    fn with_extra_headers(mut self, extra: Vec<(&'static str, Vec<u8>)>) -> Probe {
        if extra
            .iter()
            .any(|(name, _)| matches!(*name, "x-api-key" | "authorization"))
        {
            self.expect = Expect::Unknown;
        }
        self.headers.extend(extra);
        self
    }

    fn with_body(mut self, body: Vec<u8>, chunked: bool) -> Probe {
        self.body = body;
        self.chunked = chunked;
        self
    }

    fn target(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query.join("&"))
        }
    }

    fn decoded_query(&self) -> Vec<(String, String)> {
        let query = self.query.join("&");
        form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// Whether `key` appears anywhere a key may be read from.
    fn mentions(&self, key: &str) -> bool {
        let in_header = self
            .headers
            .iter()
            .any(|(_, value)| value.windows(key.len()).any(|w| w == key.as_bytes()));
        in_header || self.decoded_query().iter().any(|(_, v)| v.contains(key))
    }

    /// The request, or `None` when the `http` crate refuses the generated URI or a header.
    fn request(&self) -> Option<Request<BoxBody<Bytes, Infallible>>> {
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

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn error_code(&self) -> Option<String> {
        Some(self.json()?.get("error")?.as_str()?.to_owned())
    }

    fn is_event_stream(&self) -> bool {
        self.headers
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
    }
}

async fn exchange(addr: SocketAddr, probe: &Probe) -> Result<Answer, TestCaseError> {
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

fn check_shape(probe: &Probe, answer: &Answer) -> TestCaseResult {
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
fn check_auth(probe: &Probe, answer: &Answer) -> TestCaseResult {
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

/// Bytes a header value may hold: visible ASCII, space, tab and obs-text.
fn header_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop_oneof![8 => 0x20u8..0x7f, 1 => Just(b'\t'), 1 => 0x80u8..=0xff],
        0..max,
    )
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Raw query text that is a valid URI but bad percent-encoding or odd separators.
fn raw_junk() -> impl Strategy<Value = String> {
    vec(
        select(vec![
            "%", "%%", "%zz", "%0", "%00", "%0D%0A", "%0a", "%FF%FE", "%C3%28", "%E2%80", "+", "=",
            "==", ";", "%3D", "%26", "%2C", ",", "..", "~", "a",
        ]),
        0..5,
    )
    .prop_map(|parts| parts.concat())
}

/// Mostly the publish key, so most requests get past authorization to the handler.
fn key_text() -> impl Strategy<Value = (String, Expect)> {
    prop_oneof![
        8 => Just((PUBLISH_KEY.to_owned(), Expect::Publish)),
        2 => Just((SUBSCRIBE_KEY.to_owned(), Expect::Subscribe)),
        1 => "[a-z]{1,12}".prop_map(|k| (format!("nope-{k}"), Expect::Invalid)),
    ]
}

fn messy_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        key_text().prop_map(|(k, _)| format!(" \t{k} ").into_bytes()),
        key_text().prop_map(|(k, _)| k.to_ascii_uppercase().into_bytes()),
        key_text().prop_map(|(k, _)| format!("{k}, {k}").into_bytes()),
        Just(Vec::new()),
        Just(b"   ".to_vec()),
        header_bytes(48),
    ]
}

fn messy_authorization() -> impl Strategy<Value = Vec<u8>> {
    let scheme = select(vec![
        "Bearer", "bearer", "BEARER", "Basic", "Token", "", "Bearer:",
    ]);
    prop_oneof![
        (scheme, key_text(), "[ \t]{0,3}")
            .prop_map(|(s, (k, _), pad)| format!("{s} {pad}{k}{pad}").into_bytes()),
        Just(b"Bearer".to_vec()),
        Just(b"Bearer ".to_vec()),
        header_bytes(48),
    ]
}

fn messy_apikey() -> impl Strategy<Value = String> {
    prop_oneof![
        key_text().prop_map(|(k, _)| encode(&format!(" {k} "))),
        Just(String::new()),
        Just("%74est-publish-key".to_owned()),
        raw_junk(),
        any::<String>().prop_map(|s| encode(&s)),
    ]
}

fn credentials() -> impl Strategy<Value = Credentials> {
    let none = Credentials {
        x_api_key: None,
        authorization: None,
        apikey: None,
        expect: Expect::Missing,
    };
    let clean = (prop_oneof![14 => 0..3u8, 1 => Just(3u8)], key_text()).prop_map(
        move |(place, (key, expect))| match place {
            0 => Credentials {
                x_api_key: Some(key.into_bytes()),
                expect,
                ..none.clone()
            },
            1 => Credentials {
                authorization: Some(format!("Bearer {key}").into_bytes()),
                expect,
                ..none.clone()
            },
            2 => Credentials {
                apikey: Some(key),
                expect,
                ..none.clone()
            },
            _ => none.clone(),
        },
    );
    let messy = (
        option::of(messy_key()),
        option::of(messy_authorization()),
        option::of(messy_apikey()),
    )
        .prop_map(|(x_api_key, authorization, apikey)| Credentials {
            x_api_key,
            authorization,
            apikey,
            expect: Expect::Unknown,
        });
    prop_oneof![4 => clean, 1 => messy]
}

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::from),
        select(vec!["", " ", "reset", "a\r\nid: 9\r\n", "\u{0}", "é"]).prop_map(Value::from),
    ]
    .boxed()
}

fn json_value() -> BoxedStrategy<Value> {
    json_leaf()
        .prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(Value::Array),
                vec(("[a-zA-Z_]{0,8}", inner), 0..6)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
        .boxed()
}

/// Strings at a length cap: `cap - 2 ..= cap + 2` characters, ASCII or two-byte.
fn at_cap(cap: usize) -> impl Strategy<Value = Value> {
    (cap - 2..=cap + 2, prop::bool::ANY)
        .prop_map(|(n, wide)| Value::from(if wide { "é" } else { "x" }.repeat(n)))
}

/// A JSON literal for a field, as text: often a good value, sometimes the wrong type, sometimes
/// a number serde cannot hold.
fn field_value(name: &'static str) -> BoxedStrategy<String> {
    let good: BoxedStrategy<Value> = match name {
        "eventType" => prop_oneof![
            4 => "[A-Za-z0-9._:-]{1,64}".prop_map(Value::from),
            1 => select(vec!["reset", "Connected", "a b", "a\nb", "", "x:y"]).prop_map(Value::from),
            1 => at_cap(64),
        ]
        .boxed(),
        "message" | "entityId" | "entityType" => prop_oneof![
            4 => "[ -~]{0,40}".prop_map(Value::from),
            1 => at_cap(4096),
        ]
        .boxed(),
        "severity" | "category" => prop_oneof![
            4 => "[a-z ]{0,10}".prop_map(Value::from),
            1 => at_cap(64),
        ]
        .boxed(),
        "clientId" => prop_oneof![
            4 => "[A-Za-z0-9._:@-]{1,20}".prop_map(Value::from),
            1 => at_cap(128),
            1 => "[ -~]{0,12}".prop_map(Value::from),
        ]
        .boxed(),
        "sequence" => prop_oneof![
            4 => (0..6u64).prop_map(Value::from),
            1 => select(vec![json!(u64::MAX), json!(-1), json!(1.5), json!("3"), json!(2.0)]),
        ]
        .boxed(),
        "ttlSeconds" => prop_oneof![
            4 => (0..10u64).prop_map(Value::from),
            1 => select(vec![
                json!(604_800),
                json!(604_801),
                json!(u64::MAX),
                json!(-1),
                json!(1.5),
                json!("60"),
            ]),
        ]
        .boxed(),
        "intervalSeconds" => prop_oneof![
            4 => (0..62u64).prop_map(Value::from),
            1 => select(vec![
                json!(4_294_967_297u64),
                json!(-1),
                json!(1.5),
                json!("5"),
                json!(null),
            ]),
        ]
        .boxed(),
        _ => json_value(),
    };
    prop_oneof![
        6 => good.prop_map(|v| v.to_string()),
        2 => json_value().prop_map(|v| v.to_string()),
        1 => select(vec![
            "1e400", "-1e400", "18446744073709551616", "-0", "1.0", "1e2", "-9223372036854775809",
            "\"\\ud800\"", "\"\\u0000\"",
        ])
        .prop_map(String::from),
    ]
    .boxed()
}

const FIELDS: [&str; 12] = [
    "eventType",
    "data",
    "message",
    "severity",
    "category",
    "entityId",
    "entityType",
    "changes",
    "clientId",
    "sequence",
    "ttlSeconds",
    "intervalSeconds",
];

fn field_entry() -> BoxedStrategy<(String, String)> {
    prop_oneof![
        9 => select(FIELDS.to_vec())
            .prop_flat_map(|name| field_value(name).prop_map(move |v| (name.to_owned(), v))),
        1 => (any::<String>(), json_value()).prop_map(|(k, v)| (k, v.to_string())),
    ]
    .boxed()
}

fn object_text(entries: &[(String, String)]) -> String {
    let fields: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(k.as_str())))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// A body valid for every endpoint: each one ignores the others' fields.
fn valid_fields() -> Vec<(String, String)> {
    let valid = json!({
        "eventType": "fuzz.event", "data": {"n": 1}, "message": "hello", "severity": "info",
        "category": "system", "entityId": "e-1", "entityType": "thing", "changes": {"a": 1},
        "clientId": "fuzz-client", "sequence": 0, "ttlSeconds": 60, "intervalSeconds": 30,
    });
    let Value::Object(map) = valid else {
        unreachable!()
    };
    map.into_iter().map(|(k, v)| (k, v.to_string())).collect()
}

/// The valid body with fields dropped and a few overridden (duplicate keys: the last wins).
fn mutated_valid() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(prop::bool::weighted(0.85), FIELDS.len()),
        vec(field_entry(), 0..3),
    )
        .prop_map(|(keep, extra)| {
            let mut entries: Vec<(String, String)> = valid_fields()
                .into_iter()
                .zip(keep)
                .filter_map(|(entry, keep)| keep.then_some(entry))
                .collect();
            entries.extend(extra);
            object_text(&entries).into_bytes()
        })
}

/// Deep arrays or objects, within serde's recursion limit or far beyond it.
fn deep_nesting() -> impl Strategy<Value = Vec<u8>> {
    let depth = prop_oneof![1..140usize, 140..5000usize];
    (depth, prop::bool::ANY, prop::bool::ANY).prop_map(|(depth, arrays, wrapped)| {
        let (open, close) = if arrays { ("[", "]") } else { ("{\"a\":", "}") };
        let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        let text = if wrapped {
            let fields = r#""message":"m","entityId":"e","entityType":"t""#;
            format!(r#"{{{fields},"data":{nested},"changes":{{"x":{nested}}}}}"#)
        } else {
            nested
        };
        text.into_bytes()
    })
}

/// A valid body padded to a total size around the body limit.
fn near_limit() -> impl Strategy<Value = Vec<u8>> {
    (BODY_LIMIT - 24..=BODY_LIMIT + 24).prop_map(|total| {
        let head = concat!(
            r#"{"message":"m","entityId":"e","entityType":"t","#,
            r#""clientId":"c","sequence":0,"data":""#
        );
        let tail = "\"}";
        let pad = total.saturating_sub(head.len() + tail.len()).max(1);
        format!("{head}{}{tail}", "x".repeat(pad)).into_bytes()
    })
}

/// Bodies that are almost JSON objects, or JSON that serde refuses.
const JUNK_BODIES: [&str; 17] = [
    "",
    " ",
    "\n\t ",
    "{",
    "}",
    "null",
    "[]",
    "\"\"",
    "0",
    "{\"data\":1}x",
    "\u{feff}{\"data\":1}",
    "{\"data\":1,\"data\":null}",
    "{'data':1}",
    "{\"data\":NaN}",
    "{\"data\":Infinity}",
    "{\"data\":1e400}",
    "{\"clientId\":\"a\",\"sequence\":18446744073709551616}",
];

fn body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        6 => mutated_valid(),
        3 => vec(field_entry(), 0..7).prop_map(|e| object_text(&e).into_bytes()),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => vec(any::<u8>(), 0..300),
        1 => deep_nesting(),
        1 => near_limit(),
        1 => select(JUNK_BODIES.to_vec()).prop_map(|s| s.as_bytes().to_vec()),
    ]
    .boxed()
}

fn content_type() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        9 => Just(Some(b"application/json".to_vec())),
        2 => select(vec![
            "application/json; charset=utf-8", "APPLICATION/JSON", "application/problem+json",
            "application/+json", "application/json;", " application/json ", "text/plain",
            "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
            "application/jsonx", "json", "", ";",
        ])
        .prop_map(|s| Some(s.as_bytes().to_vec())),
        1 => Just(None),
        1 => header_bytes(40).prop_map(Some),
    ]
}

fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0..10u64).prop_map(|n| n.to_string()),
        2 => any::<u64>().prop_map(|n| n.to_string()),
        2 => select(vec![
            "18446744073709551615", "18446744073709551616", "99999999999999999999999", "-1",
            "+1", " 1", "1 ", "0x10", "1e3", "1.0", "", "00000000000000000000001", "٣", "1,2",
        ])
        .prop_map(String::from),
    ]
}

fn client_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9._:@-]{1,16}",
        1 => "[A-Za-z0-9._:@-]{127,130}",
        1 => ".{0,12}",
    ]
}

fn filter_text() -> impl Strategy<Value = String> {
    vec(
        prop_oneof![
            6 => "[A-Za-z0-9._:-]{1,10}",
            1 => "[ -~]{0,5}",
            1 => "[A-Za-z]{64,66}",
        ],
        0..40,
    )
    .prop_map(|items| items.join(","))
}

/// Any value at all: a wrong type for every key.
fn junk_value() -> BoxedStrategy<String> {
    prop_oneof![
        number_text().prop_map(|v| encode(&v)),
        client_text().prop_map(|v| encode(&v)),
        any::<String>().prop_map(|v| encode(&v)),
        raw_junk(),
    ]
    .boxed()
}

/// A value that suits `key` (and is often valid), else junk.
fn value_for(key: &str) -> BoxedStrategy<String> {
    let suited = match key {
        "clientId" => client_text().prop_map(|v| encode(&v)).boxed(),
        "filter" => filter_text().prop_map(|v| encode(&v)).boxed(),
        "checkpoint" | "lastEventId" => number_text().prop_map(|v| encode(&v)).boxed(),
        "token" => "v1\\.[A-Za-z0-9_-]{0,8}\\.[0-9]{1,12}\\.[A-Za-z0-9_-]{0,43}".boxed(),
        _ => junk_value(),
    };
    prop_oneof![4 => suited, 1 => junk_value()].boxed()
}

fn query_item() -> BoxedStrategy<String> {
    let key = prop_oneof![
        12 => select(vec!["clientId", "filter", "checkpoint", "lastEventId"])
            .prop_map(String::from),
        1 => Just("token".to_owned()),
        1 => "[a-zA-Z]{1,8}",
        1 => raw_junk(),
    ]
    .boxed();
    prop_oneof![
        8 => key.clone().prop_flat_map(|k| value_for(&k).prop_map(move |v| format!("{k}={v}"))),
        1 => key,
        1 => Just(String::new()),
    ]
    .boxed()
}

fn extra_headers() -> impl Strategy<Value = Vec<(&'static str, Vec<u8>)>> {
    let name = select(vec![
        "x-api-key",
        "authorization",
        "content-type",
        "last-event-id",
        "x-junk",
    ]);
    let value = prop_oneof![
        key_text().prop_map(|(k, _)| k.into_bytes()),
        Just(b"application/json".to_vec()),
        number_text().prop_map(String::into_bytes),
        header_bytes(32),
    ];
    vec((name, value), 0..3)
}

fn last_event_id() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => number_text().prop_map(String::into_bytes),
        1 => header_bytes(24),
    ]
}

fn client_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9._:@-]{1,24}",
        1 => "[A-Za-z0-9._:@-]{127,130}",
        1 => "[A-Za-z0-9._~!$&'()*+,;=:@%-]{0,20}",
        1 => Just(String::new()),
    ]
}

fn publish_path() -> impl Strategy<Value = String> {
    let kind = select(vec![
        "broadcast",
        "send",
        "notification",
        "alert",
        "data-update",
    ]);
    (kind, client_segment(), prop::bool::ANY).prop_map(|(kind, client, targeted)| match kind {
        "broadcast" => "/api/sse/broadcast".to_owned(),
        "send" => format!("/api/sse/send/{client}"),
        _ if targeted => format!("/api/sse/{kind}/{client}"),
        _ => format!("/api/sse/{kind}"),
    })
}

/// A POST probe: credentials, a few junk query items, a content type and a body.
fn post_probe(endpoint: impl Strategy<Value = (Endpoint, String)>) -> impl Strategy<Value = Probe> {
    (
        endpoint,
        credentials(),
        vec(query_item(), 0..3),
        content_type(),
        body(),
        prop::bool::weighted(0.2),
        prop_oneof![4 => Just(Vec::new()), 1 => extra_headers()],
    )
        .prop_map(
            |((endpoint, path), credentials, query, content_type, body, chunked, extra)| {
                Probe::new(endpoint, path, credentials)
                    .with_query(query)
                    .with_header("content-type", content_type)
                    .with_extra_headers(extra)
                    .with_body(body, chunked)
            },
        )
}

// ------------------------------------------------------------------------------------------
// Raw request heads for the lean stream path: bytes no HTTP client would send.

#[derive(Clone)]
struct RawHead {
    bytes: Vec<u8>,
    /// Where the bytes are cut into separate writes.
    cuts: Vec<usize>,
}

impl fmt::Debug for RawHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawHead")
            .field(
                "bytes",
                &String::from_utf8_lossy(&self.bytes)
                    .escape_debug()
                    .to_string(),
            )
            .field("cuts", &self.cuts)
            .finish()
    }
}

fn raw_header() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        6 => select(vec![
            "Host", "X-API-Key", "Authorization", "Last-Event-ID", "Content-Length",
            "Transfer-Encoding", "Connection", "Expect", "Upgrade", "Origin", "x-api-key",
        ])
        .prop_map(String::from),
        1 => "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}",
        1 => "[ -~]{0,6}",
    ];
    let value = prop_oneof![
        4 => key_text().prop_map(|(k, _)| k.into_bytes()),
        2 => number_text().prop_map(String::into_bytes),
        2 => header_bytes(40),
        1 => vec(any::<u8>(), 0..40),
        // Around the default `--max-header-bytes` (16 KiB) on its own.
        1 => (16_000..17_000usize).prop_map(|n| vec![b'a'; n]),
    ];
    (name, " ?", value).prop_map(|(name, space, value)| {
        let mut line = format!("{name}:{space}").into_bytes();
        line.extend(value);
        line
    })
}

/// A `GET /api/sse/connect` head: odd versions and line ends, up to 60 headers with any bytes,
/// always ended by a blank line, then maybe pipelined bytes; sent in up to four writes.
fn raw_head() -> impl Strategy<Value = RawHead> {
    let version = select(vec![
        " HTTP/1.1",
        " HTTP/1.1",
        " HTTP/1.0",
        " HTTP/1.2",
        " HTTP/2.0",
        " http/1.1",
        "",
        " HTTP/1.1 x",
    ]);
    let eol = prop_oneof![4 => Just("\r\n"), 1 => Just("\n")];
    let query = option::of(vec(query_item(), 0..4).prop_map(|q| q.join("&")));
    let key = prop_oneof![3 => Just(Some(PUBLISH_KEY)), 1 => Just(None)];
    let headers = prop_oneof![4 => vec(raw_header(), 0..6), 1 => vec(raw_header(), 40..60)];
    let trailer = prop_oneof![
        3 => Just(Vec::new()),
        1 => Just(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        1 => vec(any::<u8>(), 0..64),
    ];
    let cuts = vec(any::<prop::sample::Index>(), 0..4);
    (version, eol, query, key, headers, trailer, cuts).prop_map(
        |(version, eol, query, key, headers, trailer, cuts)| {
            let mut bytes = b"GET /api/sse/connect".to_vec();
            if let Some(query) = query {
                bytes.extend(format!("?{query}").into_bytes());
            }
            bytes.extend(format!("{version}{eol}Host: 127.0.0.1{eol}").into_bytes());
            if let Some(key) = key {
                bytes.extend(format!("X-API-Key: {key}{eol}").into_bytes());
            }
            for header in headers {
                bytes.extend(header);
                bytes.extend(eol.as_bytes());
            }
            bytes.extend(eol.as_bytes());
            bytes.extend(trailer);
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len())).collect();
            cuts.sort_unstable();
            cuts.dedup();
            RawHead { bytes, cuts }
        },
    )
}

/// What came back on the socket: a status and the bytes of the reply, or nothing at all.
async fn raw_exchange(addr: SocketAddr, head: &RawHead) -> Result<Vec<u8>, TestCaseError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fail =
        |what: &str, error: &dyn fmt::Display| TestCaseError::fail(format!("{what}: {error}"));
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| fail("connect", &e))?;
    let mut from = 0;
    for &cut in head.cuts.iter().chain([head.bytes.len()].iter()) {
        // The hub may answer (and close) before the last piece; later writes may then fail.
        if stream.write_all(&head.bytes[from..cut]).await.is_err() {
            break;
        }
        from = cut;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut reply = Vec::new();
    let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
    let mut chunk = [0u8; 4096];
    loop {
        if raw_reply_is_complete(&reply) {
            return Ok(reply);
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => {
                return Err(TestCaseError::fail(format!(
                    "no complete reply in time; got {:?}",
                    String::from_utf8_lossy(&reply)
                )))
            }
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(reply),
            Ok(Ok(n)) => reply.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A whole head and, for a stream, its `connected` frame; for a sized body, all of it.
fn raw_reply_is_complete(reply: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(len)) = response.parse(reply) else {
        return false;
    };
    let length = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok());
    match length {
        Some(length) => reply.len() >= len + length,
        None => reply.windows(16).any(|w| w == b"event: connected"),
    }
}

/// Whether the head announces a body (`Content-Length` other than 0, or `Transfer-Encoding`).
fn carries_body(head: &RawHead) -> bool {
    let text = String::from_utf8_lossy(&head.bytes).to_ascii_lowercase();
    let header_section = text.split("\r\n\r\n").next().unwrap_or_default();
    header_section.split('\n').any(|line| {
        let line = line.trim_end_matches('\r');
        line.starts_with("transfer-encoding:")
            || line
                .strip_prefix("content-length:")
                .is_some_and(|value| value.trim() != "0")
    })
}

fn check_raw_reply(head: &RawHead, reply: &[u8]) -> TestCaseResult {
    if reply.is_empty() {
        return Ok(()); // Closed without a word: allowed for garbage.
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let parsed = response.parse(reply);
    prop_assert!(
        matches!(parsed, Ok(httparse::Status::Complete(_))),
        "unparsable reply {:?} to {:?}",
        String::from_utf8_lossy(reply),
        head
    );
    let Ok(httparse::Status::Complete(len)) = parsed else {
        unreachable!()
    };
    let status = response.code.unwrap_or_default();
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    // Only this reply's body: pipelined bytes may have drawn a second reply after it.
    let length = header("content-length")
        .and_then(|v| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
        .unwrap_or(reply.len() - len);
    let body = String::from_utf8_lossy(&reply[len..reply.len().min(len + length)]);
    prop_assert!(status < 500, "{status} {body} for {head:?}");
    let head_len = head.bytes.windows(4).position(|w| w == b"\r\n\r\n");
    if head_len.is_some_and(|n| n > ssehub::config::DEFAULT_MAX_HEADER_BYTES) {
        prop_assert!(
            !(200..300).contains(&status),
            "{status} for a head over the limit"
        );
    }
    if (200..300).contains(&status) {
        prop_assert_eq!(header("content-type"), Some(&b"text/event-stream"[..]));
        prop_assert!(
            body.contains("event: connected"),
            "no connected frame: {body}"
        );
    } else if header("content-type") == Some(b"application/json") {
        let json: Value = serde_json::from_str(&body).unwrap_or_default();
        prop_assert!(json["error"].is_string(), "{status} {body}");
        prop_assert!(
            json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    } else {
        // Only the HTTP layer's own refusals of a malformed head come without JSON.
        prop_assert!(
            matches!(status, 400 | 431 | 505) && body.is_empty(),
            "{status} without a JSON body: {body:?} for {head:?}"
        );
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// The harness: one hub per test on its own runtime, driven case by case.

struct Harness {
    runtime: tokio::runtime::Runtime,
    hub: TestHub,
}

impl Harness {
    fn start() -> Harness {
        Harness::start_with(|_| {})
    }

    fn start_with(tweak: impl FnOnce(&mut ssehub::config::Config)) -> Harness {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let hub = runtime.block_on(
            TestHub::builder()
                .keys()
                .config(|c| {
                    c.max_body_bytes = BODY_LIMIT;
                    tweak(c);
                })
                .start(),
        );
        Harness { runtime, hub }
    }

    fn head(&self) -> u64 {
        self.runtime
            .block_on(self.hub.store.head())
            .expect("memory store head")
            .0
    }

    /// Runs `check` on generated inputs; panics with the minimal failing one.
    fn run<S: Strategy>(&self, strategy: S, check: impl Fn(&Harness, S::Value) -> TestCaseResult) {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_CASES);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        if let Err(error) = runner.run(&strategy, |input| check(self, input)) {
            panic!("{error}");
        }
    }

    fn send(&self, probe: &Probe) -> Result<Answer, TestCaseError> {
        self.runtime.block_on(exchange(self.hub.addr, probe))
    }

    /// Still alive, and with every stream the test opened closed again.
    fn finish(self) {
        let Harness { runtime, hub } = self;
        runtime.block_on(async {
            let live = support::get(hub.addr, "/health/live", None).await;
            assert_eq!(
                live.status, 200,
                "/health/live after the run: {}",
                live.body
            );
            support::assert_eventually(
                || hub.state.registry.connections() == 0,
                "streams to close",
            )
            .await;
            hub.stop().await;
        });
    }
}

// ------------------------------------------------------------------------------------------
// The tests.

#[test]
fn publish_endpoints_store_exactly_what_they_accept() {
    let harness = Harness::start();
    let strategy = post_probe(publish_path().prop_map(|p| (Endpoint::Publish, p)));
    harness.run(strategy, |harness, probe| {
        let before = harness.head();
        let answer = harness.send(&probe)?;
        let after = harness.head();
        check_shape(&probe, &answer)?;
        check_auth(&probe, &answer)?;
        if answer.status.is_success() {
            prop_assert_eq!(after, before + 1, "accepted publish did not add one event");
            let json = answer.json().unwrap_or_default();
            prop_assert_eq!(json["sequence"].as_u64(), Some(after), "reply: {}", json);
            let id = json["messageId"].as_str().unwrap_or_default();
            prop_assert!(uuid::Uuid::parse_str(id).is_ok(), "messageId {:?}", id);
        } else {
            prop_assert_eq!(
                after,
                before,
                "refused publish changed the outbox: {:?}",
                probe
            );
        }
        Ok(())
    });
    harness.finish();
}

#[test]
fn get_endpoints_survive_any_query_and_headers() {
    let harness = Harness::start();
    let endpoint = select(vec![
        (Endpoint::Connect, "/api/sse/connect"),
        (Endpoint::Connect, "/api/sse/connect"),
        (Endpoint::Stats, "/api/sse/stats"),
        (Endpoint::DemoStatus, "/api/demo/status"),
    ]);
    let strategy = (
        endpoint,
        credentials(),
        vec(query_item(), 0..6),
        option::weighted(0.4, last_event_id()),
        prop::bool::weighted(0.1),
        prop_oneof![4 => Just(Vec::new()), 1 => extra_headers()],
    )
        .prop_map(
            |((endpoint, path), credentials, query, last_event_id, question, extra)| {
                let mut probe = Probe::new(endpoint, path.to_owned(), credentials)
                    .with_query(query)
                    .with_header("last-event-id", last_event_id)
                    .with_extra_headers(extra);
                if question && probe.query.is_empty() {
                    probe.path.push('?');
                }
                probe
            },
        );
    harness.run(strategy, |harness, probe| {
        let before = harness.head();
        let answer = harness.send(&probe)?;
        check_shape(&probe, &answer)?;
        check_auth(&probe, &answer)?;
        prop_assert_eq!(harness.head(), before, "a GET changed the outbox");
        if answer.status.is_success() && probe.endpoint == Endpoint::Stats {
            let stats = answer.json().unwrap_or_default();
            prop_assert_eq!(
                stats["headSequence"].as_u64(),
                Some(before),
                "stats: {}",
                stats
            );
        }
        if answer.status.is_success() && probe.endpoint == Endpoint::DemoStatus {
            prop_assert_eq!(
                answer.json().unwrap_or_default()["isRunning"].as_bool(),
                Some(false)
            );
        }
        Ok(())
    });
    harness.finish();
}

#[test]
fn ack_and_token_never_touch_the_outbox() {
    let harness = Harness::start();
    // A few events, so acks up to 3 are valid.
    harness.runtime.block_on(async {
        for n in 0..3 {
            harness
                .hub
                .broadcast("seed", json!(n), Some(PUBLISH_KEY))
                .await;
        }
    });
    let head = harness.head();
    let endpoint = select(vec![
        (Endpoint::Ack, "/api/sse/ack".to_owned()),
        (Endpoint::Token, "/api/sse/token".to_owned()),
    ]);
    harness.run(post_probe(endpoint), |harness, probe| {
        let answer = harness.send(&probe)?;
        check_shape(&probe, &answer)?;
        check_auth(&probe, &answer)?;
        prop_assert_eq!(harness.head(), head, "ack or token changed the outbox");
        let request: Value = serde_json::from_slice(&probe.body).unwrap_or_default();
        match (probe.endpoint, answer.status.as_u16()) {
            (Endpoint::Ack, 204) => {
                let sequence = request["sequence"].as_u64();
                prop_assert!(
                    sequence.is_some_and(|s| s <= head),
                    "acked {:?} past {}",
                    sequence,
                    head
                );
            }
            (Endpoint::Ack, 400) if answer.error_code().as_deref() == Some("sequence_ahead") => {
                prop_assert!(request["sequence"].as_u64().is_some_and(|s| s > head));
            }
            (Endpoint::Token, 200) => {
                let token = answer.json().unwrap_or_default();
                prop_assert_eq!(&token["clientId"], &request["clientId"]);
                prop_assert!(token["token"].as_str().is_some_and(|t| !t.is_empty()));
                prop_assert!(token["expiresAt"]
                    .as_str()
                    .is_some_and(|t| t.ends_with('Z')));
            }
            _ => {}
        }
        Ok(())
    });
    harness.finish();
}

#[test]
fn demo_endpoints_keep_their_state_machine() {
    let harness = Harness::start();
    let endpoint = select(vec![
        (Endpoint::DemoStart, "/api/demo/start".to_owned()),
        (Endpoint::DemoStop, "/api/demo/stop".to_owned()),
    ]);
    let status_probe = credentials()
        .prop_map(|c| Probe::new(Endpoint::DemoStatus, "/api/demo/status".to_owned(), c));
    let strategy = prop_oneof![3 => post_probe(endpoint), 1 => status_probe];
    let running = std::sync::atomic::AtomicBool::new(false);
    harness.run(strategy, |harness, probe| {
        use std::sync::atomic::Ordering::SeqCst;
        let answer = harness.send(&probe)?;
        check_shape(&probe, &answer)?;
        check_auth(&probe, &answer)?;
        let was = running.load(SeqCst);
        let reply = answer.json().unwrap_or_default();
        match (probe.endpoint, answer.status.as_u16()) {
            (Endpoint::DemoStart, 200) => {
                prop_assert!(!was, "started while running");
                running.store(true, SeqCst);
                let request: Value = serde_json::from_slice(&probe.body).unwrap_or_default();
                let asked = request["intervalSeconds"].as_u64().unwrap_or(5);
                prop_assert_eq!(reply, json!({"isRunning": true, "intervalSeconds": asked}));
            }
            (Endpoint::DemoStart, 409) => prop_assert!(was, "409 on start while stopped"),
            (Endpoint::DemoStop, 200) => {
                prop_assert!(was, "stopped while not running");
                running.store(false, SeqCst);
                prop_assert_eq!(reply, json!({"isRunning": false}));
            }
            (Endpoint::DemoStop, 409) => prop_assert!(!was, "409 on stop while running"),
            (Endpoint::DemoStatus, 200) => {
                prop_assert_eq!(reply["isRunning"].as_bool(), Some(was), "status {}", reply);
            }
            _ => {}
        }
        Ok(())
    });
    harness.finish();
}

#[test]
fn connect_survives_raw_request_heads() {
    // A stream whose client hung up unnoticed goes at its next heartbeat write; make that soon.
    let harness = Harness::start_with(|c| c.heartbeat_secs = 1);
    harness.run(raw_head(), |harness, head| {
        let before = harness.head();
        let registry = &harness.hub.state.registry;
        let open_before = registry.connections();
        let reply = harness
            .runtime
            .block_on(raw_exchange(harness.hub.addr, &head))?;
        check_raw_reply(&head, &reply)?;
        prop_assert_eq!(harness.head(), before, "a connect changed the outbox");
        // The client has hung up: on the lean path its stream must be gone at once, not at a
        // heartbeat. A head with a body goes to hyper, which does not watch for the hang-up
        // while the body is unread; those streams go at their next heartbeats instead.
        if carries_body(&head) {
            return Ok(());
        }
        let closed = harness.runtime.block_on(async {
            for _ in 0..500 {
                if registry.connections() <= open_before {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            false
        });
        prop_assert!(
            closed,
            "stream still registered 5 s after the client closed ({} open before, {} now): {:?}",
            open_before,
            registry.connections(),
            head
        );
        Ok(())
    });
    harness.finish();
}
