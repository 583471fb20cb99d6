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

#[path = "../support/mod.rs"]
mod support;

mod probe;
mod raw;
mod strategies;

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

use self::probe::*;
use self::raw::*;
use self::strategies::*;

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
            support::assert_eventually(|| hub.node.connections() == 0, "streams to close").await;
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
        (Endpoint::Events, "/api/sse/events"),
        (Endpoint::Presence, "/api/sse/presence"),
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
        if answer.status.is_success() && probe.endpoint == Endpoint::Presence {
            let page = answer.json().unwrap_or_default();
            prop_assert!(page["clients"].is_array(), "presence: {}", page);
            prop_assert!(
                page["next"].is_null() || page["next"].is_string(),
                "presence: {}",
                page
            );
        }
        if answer.status.is_success() && probe.endpoint == Endpoint::Events {
            let page = answer.json().unwrap_or_default();
            prop_assert!(page["events"].is_array(), "history: {}", page);
            prop_assert_eq!(
                page["headSequence"].as_u64(),
                Some(before),
                "history: {}",
                page
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
                // As a number, so `-0` and `3.0` count as the whole numbers they are.
                let sequence = request["sequence"].as_f64();
                prop_assert!(
                    sequence.is_some_and(|s| s <= head as f64),
                    "acked {:?} past {}",
                    sequence,
                    head
                );
            }
            (Endpoint::Ack, 400) if answer.error_code().as_deref() == Some("sequence_ahead") => {
                prop_assert!(request["sequence"]
                    .as_f64()
                    .is_some_and(|s| s > head as f64));
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
    let harness = Harness::start_with(|c| c.heartbeat = std::time::Duration::from_secs(1));
    harness.run(raw_head(), |harness, head| {
        let before = harness.head();
        let registry = &harness.hub.node;
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

/// The secret of the JWT hub; generated tokens are signed with it only to be spoilt.
const JWT_SECRET: &str = "fuzz-jwt-secret-of-at-least-32-bytes!";

/// A JWT that must be refused: a good one spoilt one way or another.
fn bad_jwt() -> impl Strategy<Value = String> {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    let sign = |alg: Algorithm, claims: &Value, secret: &[u8]| {
        encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
    };
    let b64 = |bytes: &[u8]| {
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
    };
    let good = move |sub: &str| json!({"sub": sub, "exp": now() + 600, "ssehub": {"publish": ["*"], "subscribe": ["*"]}});
    prop_oneof![
        // Another secret.
        "[a-z]{1,8}".prop_map(move |sub| sign(
            Algorithm::HS256,
            &good(&sub),
            b"another-secret-of-at-least-32-bytes"
        )),
        // Expired beyond the leeway, or not valid yet.
        (31..100_000i64, prop::bool::ANY).prop_map(move |(by, late)| {
            let mut claims = good("a");
            if late {
                claims["exp"] = json!(now() - by);
            } else {
                claims["nbf"] = json!(now() + by);
            }
            sign(Algorithm::HS256, &claims, JWT_SECRET.as_bytes())
        }),
        // Another algorithm with the right secret, or none at all.
        select(vec![Algorithm::HS384, Algorithm::HS512]).prop_map(move |alg| sign(
            alg,
            &good("a"),
            JWT_SECRET.as_bytes()
        )),
        Just(format!(
            "{}.{}.",
            b64(br#"{"alg":"none"}"#),
            b64(good("a").to_string().as_bytes())
        )),
        // Right secret, claims of any shape but a usable `exp`.
        json_value().prop_map(move |mut claims| {
            if let Some(object) = claims.as_object_mut() {
                object.remove("exp");
            }
            sign(Algorithm::HS256, &claims, JWT_SECRET.as_bytes())
        }),
        // A good token with one character changed.
        (
            any::<prop::sample::Index>(),
            select(vec!['A', 'x', '-', '_', '.', '='])
        )
            .prop_map(move |(at, to)| {
                let mut token: Vec<char> =
                    sign(Algorithm::HS256, &good("a"), JWT_SECRET.as_bytes())
                        .chars()
                        .collect();
                let at = at.index(token.len());
                token[at] = if token[at] == to { '0' } else { to };
                token.into_iter().collect()
            }),
        // A JSON header over junk.
        (
            json_value(),
            vec(any::<u8>(), 0..64),
            vec(any::<u8>(), 0..48)
        )
            .prop_map(move |(header, body, signature)| {
                let mut header = header;
                if !header.is_object() {
                    header = json!({"alg": header});
                }
                format!(
                    "{}.{}.{}",
                    b64(header.to_string().as_bytes()),
                    b64(&body),
                    b64(&signature)
                )
            }),
    ]
}

#[test]
fn bad_jwts_are_refused_with_their_reason_and_change_nothing() {
    let harness = Harness::start_with(|c| c.jwt_secret = Some(JWT_SECRET.into()));
    let endpoint = select(vec![
        (Endpoint::Connect, "/api/sse/connect"),
        (Endpoint::Events, "/api/sse/events"),
        (Endpoint::Presence, "/api/sse/presence?topic=*"),
        (Endpoint::Publish, "/api/sse/broadcast"),
        (Endpoint::Stats, "/api/sse/stats"),
    ]);
    let none = Credentials {
        x_api_key: None,
        authorization: None,
        apikey: None,
        expect: Expect::Unknown,
    };
    let strategy =
        (endpoint, bad_jwt(), 0..3u8).prop_map(move |((endpoint, path), token, place)| {
            let mut probe = Probe::new(endpoint, path.to_owned(), none.clone());
            match place {
                0 => probe
                    .headers
                    .push(("authorization", format!("Bearer {token}").into_bytes())),
                1 => probe.query.push(format!("token={}", encode(&token))),
                _ => probe
                    .headers
                    .push(("cookie", format!("ssehub_jwt={token}").into_bytes())),
            }
            if endpoint == Endpoint::Publish {
                probe
                    .headers
                    .push(("content-type", b"application/json".to_vec()));
                probe.body = br#"{"data": 1, "topics": ["org/1"]}"#.to_vec();
            }
            probe
        });
    harness.run(strategy, |harness, probe| {
        let before = harness.head();
        let answer = harness.send(&probe)?;
        check_shape(&probe, &answer)?;
        prop_assert_eq!(harness.head(), before, "a refused JWT changed the outbox");
        let code = answer.error_code().unwrap_or_default();
        prop_assert_eq!(answer.status.as_u16(), 401, "{} {:?}", code, probe);
        // A Bearer or `token=` value that is not JWT-shaped is read as a key or client token.
        prop_assert!(
            code.starts_with("jwt_")
                || ["invalid_api_key", "invalid_token", "missing_api_key"].contains(&code.as_str()),
            "{} for {:?}",
            code,
            probe
        );
        Ok(())
    });
    harness.finish();
}
