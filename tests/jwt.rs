//! Standard JWTs: every algorithm (HS256, RS256, ES256, EdDSA) from a secret, a PEM key, a
//! JWKS file and a JWKS URL served on loopback (refresh, rotation, an unknown `kid`, a failing
//! server); every bad-token case with its code; the three places a token may arrive (Bearer,
//! `token=`, cookie); grants; expiry ending a stream; CORS credentials. Keys are generated
//! here.

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::Method;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use ssehub::config::Config;
use support::{get, post_json, request, SseStream, TestHub, PUBLISH_KEY};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "a-jwt-secret-of-at-least-32-bytes!!";

/// A private key to sign with and its public half (PEM), per algorithm.
struct Pair {
    algorithm: Algorithm,
    private_pem: String,
    public_pem: String,
}

impl Pair {
    fn rsa() -> Pair {
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        Pair {
            algorithm: Algorithm::RS256,
            private_pem: private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            public_pem: private
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
        }
    }

    fn ec() -> Pair {
        use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let private = p256::SecretKey::random(&mut rand::rngs::OsRng);
        Pair {
            algorithm: Algorithm::ES256,
            private_pem: private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            public_pem: private
                .public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
        }
    }

    fn ed() -> Pair {
        use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey, EncodePublicKey};
        let private = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        Pair {
            algorithm: Algorithm::EdDSA,
            private_pem: private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            public_pem: private
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
        }
    }

    fn encoding_key(&self) -> EncodingKey {
        match self.algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(self.private_pem.as_bytes()).unwrap(),
            Algorithm::ES256 => EncodingKey::from_ec_pem(self.private_pem.as_bytes()).unwrap(),
            _ => EncodingKey::from_ed_pem(self.private_pem.as_bytes()).unwrap(),
        }
    }

    fn sign(&self, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = kid.map(str::to_owned);
        encode(&header, claims, &self.encoding_key()).unwrap()
    }

    /// The public key as a JWK with `kid`.
    fn jwk(&self, kid: &str) -> Value {
        let mut jwk = match self.algorithm {
            Algorithm::EdDSA => {
                // jsonwebtoken cannot export Ed25519 JWKs; the last 32 bytes of the SPKI DER
                // are the key.
                let pem = self.public_pem.lines().filter(|l| !l.starts_with("-----"));
                let der = base64::engine::general_purpose::STANDARD
                    .decode(pem.collect::<String>())
                    .unwrap();
                json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA",
                       "x": URL_SAFE_NO_PAD.encode(&der[der.len() - 32..])})
            }
            algorithm => serde_json::to_value(
                Jwk::from_encoding_key(&self.encoding_key(), algorithm).unwrap(),
            )
            .unwrap(),
        };
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        jwk
    }
}

struct Keys {
    rsa: Pair,
    ec: Pair,
    ed: Pair,
    /// A second EC key, for rotations.
    ec2: Pair,
}

/// Generated once per test binary (an RSA key takes a moment).
fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        rsa: Pair::rsa(),
        ec: Pair::ec(),
        ed: Pair::ed(),
        ec2: Pair::ec(),
    })
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims for `sub`, valid for an hour, with optional grants.
fn claims(sub: &str, subscribe: Option<&[&str]>, publish: Option<&[&str]>) -> Value {
    let mut grants = serde_json::Map::new();
    if let Some(list) = subscribe {
        grants.insert("subscribe".into(), json!(list));
    }
    if let Some(list) = publish {
        grants.insert("publish".into(), json!(list));
    }
    json!({"sub": sub, "exp": now() + 3600, "ssehub": grants})
}

fn hs256(claims: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn temp_file(content: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(content.as_bytes()).unwrap();
    file
}

/// A hub with the publish/subscribe keys and `tweak`'s JWT settings.
async fn start_hub(tweak: impl FnOnce(&mut Config)) -> TestHub {
    TestHub::builder().keys().config(tweak).start().await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn status_and_code(reply: support::Reply) -> (u16, String) {
    let status = reply.status.as_u16();
    let code = if status >= 400 {
        reply.error_code()
    } else {
        String::new()
    };
    (status, code)
}

/// `GET path` with a Bearer JWT: (status, error code or "").
async fn get_bearer(hub: &TestHub, path: &str, token: &str) -> (u16, String) {
    let auth = bearer(token);
    status_and_code(
        request(
            hub.addr,
            Method::GET,
            path,
            &[("authorization", &auth)],
            None,
        )
        .await,
    )
    .await
}

/// Publishes `body` to `/api/sse/broadcast` with a Bearer JWT.
async fn publish_bearer(hub: &TestHub, token: &str, body: Value) -> (u16, String) {
    let auth = bearer(token);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    status_and_code(
        request(
            hub.addr,
            Method::POST,
            "/api/sse/broadcast",
            &headers,
            Some(body.to_string()),
        )
        .await,
    )
    .await
}

#[tokio::test]
async fn a_jwt_in_the_query_a_bearer_header_or_a_cookie_acts_as_its_subject() {
    let hub = start_hub(|c| c.jwt_secret = Some(SECRET.into())).await;
    let token = hs256(&claims("alice", None, None));
    let (mut by_query, connected) = hub
        .subscribe(&format!("/api/sse/connect?token={token}"), &[])
        .await;
    assert_eq!(connected["clientId"], "alice");
    let cookie = format!("theme=dark; ssehub_jwt={token}");
    let (mut by_cookie, connected) = hub
        .subscribe("/api/sse/connect", &[("cookie", &cookie)])
        .await;
    assert_eq!(connected["clientId"], "alice");
    // A different clientId than the subject is refused, as with client tokens.
    let reply = get(
        hub.addr,
        &format!("/api/sse/connect?token={token}&clientId=bob"),
        None,
    )
    .await;
    assert_eq!(reply.error_code(), "token_client_mismatch");
    let sent = post_json(
        hub.addr,
        "/api/sse/send/alice",
        Some(PUBLISH_KEY),
        json!({"data": 1}),
    )
    .await;
    assert_eq!(sent.status, 200);
    assert_eq!(by_query.expect().await.json()["data"], 1);
    assert_eq!(by_cookie.expect().await.json()["data"], 1);
    // History and ack with the Bearer header: its own client only.
    assert_eq!(
        get_bearer(&hub, "/api/sse/events?clientId=alice", &token)
            .await
            .0,
        200
    );
    let auth = bearer(&token);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let ack = |client: &str| json!({"clientId": client, "sequence": 1}).to_string();
    let mine = request(
        hub.addr,
        Method::POST,
        "/api/sse/ack",
        &headers,
        Some(ack("alice")),
    )
    .await;
    assert_eq!(mine.status, 204);
    let theirs = request(
        hub.addr,
        Method::POST,
        "/api/sse/ack",
        &headers,
        Some(ack("bob")),
    )
    .await;
    assert_eq!(theirs.error_code(), "token_client_mismatch");
    // A JWT is not a key: the operator endpoints refuse it.
    assert_eq!(
        get_bearer(&hub, "/api/sse/stats", &token).await,
        (403, "insufficient_scope".into())
    );
}

#[tokio::test]
async fn every_algorithm_verifies_with_its_pem_key() {
    for pair in [&keys().rsa, &keys().ec, &keys().ed] {
        let pem = temp_file(&pair.public_pem);
        let path = pem.path().to_owned();
        let hub = start_hub(|c| c.jwt_public_key = Some(path)).await;
        let reader = pair.sign(None, &claims("reader", Some(&["org/42/*"]), None));
        let (mut stream, connected) = hub
            .subscribe(
                &format!("/api/sse/connect?token={reader}&topic=org/42/*"),
                &[],
            )
            .await;
        assert_eq!(
            connected["topics"],
            json!(["org/42/*"]),
            "{:?}",
            pair.algorithm
        );
        let writer = pair.sign(None, &claims("writer", None, Some(&["org/42/*"])));
        let body = json!({"data": "hi", "topics": ["org/42/room1"]});
        assert_eq!(
            publish_bearer(&hub, &writer, body).await.0,
            200,
            "{:?}",
            pair.algorithm
        );
        assert_eq!(stream.expect().await.json()["data"], "hi");
        // Another key of the same algorithm is a bad signature.
        let other = match pair.algorithm {
            Algorithm::ES256 => &keys().ec2,
            _ => continue,
        };
        let forged = other.sign(None, &claims("reader", None, None));
        assert_eq!(
            get_bearer(&hub, "/api/sse/events", &forged).await,
            (401, "jwt_bad_signature".into())
        );
    }
}

#[tokio::test]
async fn the_algorithm_comes_from_the_key_never_from_the_token() {
    let pem = temp_file(&keys().rsa.public_pem);
    let path = pem.path().to_owned();
    let hub = start_hub(|c| c.jwt_public_key = Some(path)).await;
    let body = claims("mallory", Some(&["*"]), Some(&["*"]));
    // HS/RS confusion: HMAC keyed with the RSA public key's own PEM bytes.
    let confused = encode(
        &Header::new(Algorithm::HS256),
        &body,
        &EncodingKey::from_secret(keys().rsa.public_pem.as_bytes()),
    )
    .unwrap();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{header}.{}.", URL_SAFE_NO_PAD.encode(body.to_string()));
    let es256 = keys().ec.sign(None, &body);
    for token in [&confused, &unsigned, &es256] {
        assert_eq!(
            get_bearer(&hub, "/api/sse/events", token).await,
            (401, "jwt_wrong_algorithm".into())
        );
        let reply = get(hub.addr, &format!("/api/sse/connect?token={token}"), None).await;
        assert_eq!(
            (reply.status.as_u16(), reply.error_code()),
            (401, "jwt_wrong_algorithm".into())
        );
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
    }
}

#[tokio::test]
async fn every_bad_token_is_a_401_with_its_reason() {
    let hub = start_hub(|c| {
        c.jwt_secret = Some(SECRET.into());
        c.jwt_issuer = Some("https://idp.example".into());
        c.jwt_audience = Some("ssehub".into());
        c.jwt_leeway = Duration::from_secs(30);
    })
    .await;
    let good = json!({"sub": "a", "exp": now() + 600, "iss": "https://idp.example", "aud": "ssehub",
        "ssehub": {"publish": ["org/*"]}});
    let with = |change: Value| {
        let mut claims = good.clone();
        for (key, value) in change.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        hs256(&claims)
    };
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes"),
    )
    .unwrap();
    let cases = [
        (hs256(&good), ""),
        (with(json!({"exp": now() - 20})), ""), // within the leeway
        (forged, "jwt_bad_signature"),
        (with(json!({"exp": now() - 31})), "jwt_expired"),
        (with(json!({"exp": null})), "jwt_invalid"),
        (with(json!({"exp": "soon"})), "jwt_invalid"),
        (with(json!({"sub": null})), "jwt_invalid"),
        (with(json!({"sub": "not a client id"})), "jwt_invalid"),
        (with(json!({"nbf": now() + 60})), "jwt_not_yet_valid"),
        (with(json!({"aud": "someone-else"})), "jwt_wrong_audience"),
        (with(json!({"aud": null})), "jwt_wrong_audience"),
        (with(json!({"aud": ["x", "ssehub"]})), ""),
        (
            with(json!({"iss": "https://evil.example"})),
            "jwt_wrong_issuer",
        ),
        (with(json!({"iss": null})), "jwt_wrong_issuer"),
        (
            with(json!({"ssehub": {"subscribe": ["a*b"]}})),
            "jwt_invalid",
        ),
        (with(json!({"ssehub": {"publish": "org/*"}})), "jwt_invalid"),
    ];
    let mut published = 0;
    for (token, code) in &cases {
        let expected = if code.is_empty() {
            (200, String::new())
        } else {
            (401, code.to_string())
        };
        // A refused token changes nothing: its publish is not stored.
        let body = json!({"data": 1, "topics": ["org/1"]});
        assert_eq!(publish_bearer(&hub, token, body).await, expected, "{token}");
        if code.is_empty() {
            published += 1;
        }
        assert_eq!(
            get_bearer(&hub, "/api/sse/events", token).await,
            expected,
            "{token}"
        );
        let path = format!("/api/sse/connect?token={token}");
        if code.is_empty() {
            let (_, connected) = hub.subscribe(&path, &[]).await;
            assert_eq!(connected["clientId"], "a");
        } else {
            let reply = get(hub.addr, &path, None).await;
            assert_eq!(
                (reply.status.as_u16(), reply.error_code()),
                expected,
                "{token}"
            );
        }
    }
    let history = get(hub.addr, "/api/sse/events", Some(support::SUBSCRIBE_KEY)).await;
    assert_eq!(
        history.json()["headSequence"],
        published,
        "only good tokens published"
    );
    // A token= value that is not JWT-shaped is read as a client token.
    let reply = get(hub.addr, "/api/sse/connect?token=not-a-jwt", None).await;
    assert_eq!(reply.error_code(), "invalid_token");
    // With JWTs configured a request with no credential at all is refused, keys or not.
    let reply = get(hub.addr, "/api/sse/events", None).await;
    assert_eq!(reply.error_code(), "missing_api_key");
}

#[tokio::test]
async fn grants_limit_the_topics_a_jwt_reads_and_publishes() {
    let hub = start_hub(|c| c.jwt_secret = Some(SECRET.into())).await;
    let reader = hs256(&claims("reader", Some(&["org/42/*"]), None));
    let refused = get(
        hub.addr,
        &format!("/api/sse/connect?token={reader}&topic=org/*"),
        None,
    )
    .await;
    assert_eq!(
        (refused.status.as_u16(), refused.error_code()),
        (403, "topic_not_granted".into())
    );
    assert!(refused.json()["message"]
        .as_str()
        .unwrap()
        .contains("`org/*`"));
    let history = "/api/sse/events?topic=org/43/x";
    assert_eq!(
        get_bearer(&hub, history, &reader).await,
        (403, "topic_not_granted".into())
    );
    let (mut stream, _) = hub
        .subscribe(
            &format!("/api/sse/connect?token={reader}&topic=org/42/room1"),
            &[],
        )
        .await;
    let writer = hs256(&claims("writer", None, Some(&["org/42/*"])));
    let to = |topics: Value| json!({"data": topics.clone(), "topics": topics});
    assert_eq!(
        publish_bearer(&hub, &writer, to(json!(["org/42/room1"])))
            .await
            .0,
        200
    );
    assert_eq!(
        publish_bearer(&hub, &writer, to(json!(["org/43/room1"]))).await,
        (403, "topic_not_granted".into())
    );
    assert_eq!(
        publish_bearer(&hub, &writer, json!({"data": "everyone"})).await,
        (403, "topic_not_granted".into())
    );
    assert_eq!(
        publish_bearer(&hub, &reader, to(json!(["org/42/room1"]))).await,
        (403, "insufficient_scope".into())
    );
    assert_eq!(
        stream.expect().await.json()["data"],
        json!(["org/42/room1"])
    );
    assert!(stream.next(Duration::from_millis(300)).await.is_none());
    // Issuing client tokens stays with publish keys.
    let auth = bearer(&writer);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let body = json!({"clientId": "x"}).to_string();
    let reply = request(
        hub.addr,
        Method::POST,
        "/api/sse/token",
        &headers,
        Some(body),
    )
    .await;
    assert_eq!(reply.error_code(), "insufficient_scope");
}

#[tokio::test]
async fn expiry_ends_an_open_stream() {
    let hub = start_hub(|c| {
        c.jwt_secret = Some(SECRET.into());
        c.jwt_leeway = Duration::ZERO;
    })
    .await;
    let token = hs256(&json!({"sub": "brief", "exp": now() + 2}));
    let (mut stream, _) = hub
        .subscribe(&format!("/api/sse/connect?token={token}"), &[])
        .await;
    assert!(
        stream.until_end(Duration::from_secs(5)).await,
        "the stream ends at exp"
    );
    assert!(stream
        .comments()
        .iter()
        .any(|c| c.contains("stream deadline reached")));
    let text = hub.node.metrics_text();
    assert!(
        text.contains("ssehub_sse_disconnects_total{reason=\"token_expired\"} 1"),
        "{text}"
    );
    let reply = get(hub.addr, &format!("/api/sse/connect?token={token}"), None).await;
    assert_eq!(reply.error_code(), "jwt_expired");
}

#[tokio::test]
async fn cors_allows_credentials_only_for_origins_named_one_by_one() {
    let named = start_hub(|c| {
        c.jwt_secret = Some(SECRET.into());
        c.cors_origins = vec!["http://app.example".into()];
    })
    .await;
    let token = hs256(&claims("alice", None, None));
    let cookie = format!("ssehub_jwt={token}");
    let headers = [
        ("origin", "http://app.example"),
        ("cookie", cookie.as_str()),
    ];
    let reply = request(named.addr, Method::GET, "/api/sse/events", &headers, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers["access-control-allow-origin"],
        "http://app.example"
    );
    assert_eq!(reply.headers["access-control-allow-credentials"], "true");
    let preflight = request(
        named.addr,
        Method::OPTIONS,
        "/api/sse/connect",
        &[
            ("origin", "http://app.example"),
            ("access-control-request-method", "GET"),
        ],
        None,
    )
    .await;
    assert_eq!(
        preflight.headers["access-control-allow-credentials"],
        "true"
    );
    let stream = SseStream::open(named.addr, "/api/sse/connect", &headers).await;
    assert_eq!(stream.headers["access-control-allow-credentials"], "true");
    let other = [
        ("origin", "http://evil.example"),
        ("cookie", cookie.as_str()),
    ];
    let reply = request(named.addr, Method::GET, "/api/sse/events", &other, None).await;
    assert!(!reply.headers.contains_key("access-control-allow-origin"));
    assert!(!reply
        .headers
        .contains_key("access-control-allow-credentials"));

    let any = start_hub(|c| {
        c.jwt_secret = Some(SECRET.into());
        c.cors_origins = vec!["*".into()];
    })
    .await;
    let reply = request(any.addr, Method::GET, "/api/sse/events", &other, None).await;
    assert_eq!(
        reply.headers["access-control-allow-origin"],
        "http://evil.example"
    );
    assert!(!reply
        .headers
        .contains_key("access-control-allow-credentials"));
}

#[tokio::test]
async fn a_jwt_only_hub_may_listen_on_a_network_address() {
    let mut config = Config::defaults();
    config.listen = "0.0.0.0:8080".parse().unwrap();
    assert!(config.validate().is_err(), "open on a network address");
    config.jwt_secret = Some(SECRET.into());
    config.validate().expect("JWTs close the hub");
    let hub = TestHub::builder()
        .config(|c| c.jwt_secret = Some(SECRET.into()))
        .start()
        .await;
    assert_eq!(
        get(hub.addr, "/api/sse/events", None).await.error_code(),
        "missing_api_key"
    );
    let token = hs256(&claims("alice", None, None));
    assert_eq!(get_bearer(&hub, "/api/sse/events", &token).await.0, 200);
}

#[tokio::test]
async fn a_jwks_file_holds_keys_of_every_algorithm_and_is_reread_for_an_unknown_kid() {
    let k = keys();
    let jwks = |keys: Vec<Value>| json!({ "keys": keys }).to_string();
    let file = temp_file(&jwks(vec![k.rsa.jwk("r1"), k.ec.jwk("e1"), k.ed.jwk("d1")]));
    let path = file.path().to_owned();
    let hub = start_hub(|c| c.jwks_file = Some(path.clone())).await;
    for (pair, kid) in [(&k.rsa, "r1"), (&k.ec, "e1"), (&k.ed, "d1")] {
        let token = pair.sign(Some(kid), &claims("alice", None, None));
        assert_eq!(
            get_bearer(&hub, "/api/sse/events", &token).await.0,
            200,
            "{kid}"
        );
    }
    // The right key under another kid's name is not found by kid.
    let misnamed = k.ec.sign(Some("r1"), &claims("alice", None, None));
    assert_eq!(get_bearer(&hub, "/api/sse/events", &misnamed).await.0, 401);
    // Rotation: a new key appears in the file; the first token with its kid triggers a reload.
    std::fs::write(&path, jwks(vec![k.ec.jwk("e1"), k.ec2.jwk("e2")])).unwrap();
    let rotated = k.ec2.sign(Some("e2"), &claims("alice", None, None));
    assert_eq!(
        get_bearer(&hub, "/api/sse/events", &rotated).await,
        (401, "jwt_unknown_key".into())
    );
    eventually_status(&hub, &rotated, 200).await;
    let gone = k.rsa.sign(Some("r1"), &claims("alice", None, None));
    assert_eq!(
        get_bearer(&hub, "/api/sse/events", &gone).await,
        (401, "jwt_unknown_key".into())
    );
}

async fn eventually_status(hub: &TestHub, token: &str, status: u16) {
    for _ in 0..100 {
        if get_bearer(hub, "/api/sse/events", token).await.0 == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never answered {status}");
}

/// A JWKS endpoint on loopback: serves whatever `body` holds (status 500 when empty) and
/// counts requests.
struct JwksServer {
    addr: SocketAddr,
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(body: String) -> JwksServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let body = Arc::new(Mutex::new(body));
        let hits = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (body.clone(), hits.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (served, counted) = (served.clone(), counted.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    let body = served.lock().unwrap().clone();
                    let status = if body.is_empty() {
                        "500 Internal Server Error"
                    } else {
                        "200 OK"
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        JwksServer { addr, body, hits }
    }

    fn serve(&self, body: String) {
        *self.body.lock().unwrap() = body;
    }

    fn url(&self) -> http::Uri {
        format!("http://{}/.well-known/jwks.json", self.addr)
            .parse()
            .unwrap()
    }
}

#[tokio::test]
async fn a_jwks_url_is_fetched_refreshed_on_an_unknown_kid_and_on_its_interval() {
    let k = keys();
    let jwks = |keys: Vec<Value>| json!({ "keys": keys }).to_string();
    let server = JwksServer::start(jwks(vec![k.ec.jwk("e1"), k.rsa.jwk("r1")])).await;
    let url = server.url();
    // Refreshing hourly: only an unknown kid makes it look again.
    let hub = start_hub(|c| {
        c.jwks_url = Some(url.clone());
        c.jwks_refresh = Duration::from_secs(3600);
    })
    .await;
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "fetched once at start"
    );
    let first = k.ec.sign(Some("e1"), &claims("alice", None, None));
    assert_eq!(get_bearer(&hub, "/api/sse/events", &first).await.0, 200);
    let rsa = k.rsa.sign(Some("r1"), &claims("alice", None, None));
    assert_eq!(get_bearer(&hub, "/api/sse/events", &rsa).await.0, 200);
    server.serve(jwks(vec![k.ec.jwk("e1"), k.ec2.jwk("e2")]));
    let rotated = k.ec2.sign(Some("e2"), &claims("alice", None, None));
    assert_eq!(
        get_bearer(&hub, "/api/sse/events", &rotated).await,
        (401, "jwt_unknown_key".into())
    );
    eventually_status(&hub, &rotated, 200).await;
    // Made-up kids ask again at most once per 5 s: no flood reaches the identity provider.
    let before = server.hits.load(Ordering::SeqCst);
    for n in 0..20 {
        let junk =
            k.ec.sign(Some(&format!("junk{n}")), &claims("alice", None, None));
        assert_eq!(
            get_bearer(&hub, "/api/sse/events", &junk).await.1,
            "jwt_unknown_key"
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(server.hits.load(Ordering::SeqCst) <= before + 1);

    // Refreshing every second: a removed key stops working; a failing server keeps the last
    // good set.
    let server = JwksServer::start(jwks(vec![k.ec.jwk("e1"), k.ec2.jwk("e2")])).await;
    let url = server.url();
    let hub = start_hub(|c| {
        c.jwks_url = Some(url);
        c.jwks_refresh = Duration::from_secs(1);
    })
    .await;
    assert_eq!(get_bearer(&hub, "/api/sse/events", &first).await.0, 200);
    server.serve(jwks(vec![k.ec2.jwk("e2")]));
    eventually_status(&hub, &first, 401).await;
    server.serve(String::new());
    let hits = server.hits.load(Ordering::SeqCst);
    while server.hits.load(Ordering::SeqCst) < hits + 2 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        get_bearer(&hub, "/api/sse/events", &rotated).await.0,
        200,
        "last good set kept"
    );
}

#[tokio::test]
async fn a_jwks_url_that_is_down_at_start_is_retried() {
    let k = keys();
    let server = JwksServer::start(String::new()).await;
    let url = server.url();
    let hub = start_hub(|c| {
        c.jwks_url = Some(url);
        c.jwks_refresh = Duration::from_secs(3600);
    })
    .await;
    let token = k.ec.sign(Some("e1"), &claims("alice", None, None));
    assert_eq!(
        get_bearer(&hub, "/api/sse/events", &token).await,
        (401, "jwt_unknown_key".into())
    );
    server.serve(json!({"keys": [k.ec.jwk("e1")]}).to_string());
    // The first unknown kid asked already; the next ask is allowed 5 s later.
    for _ in 0..150 {
        if get_bearer(&hub, "/api/sse/events", &token).await.0 == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the JWKS was never fetched again");
}
