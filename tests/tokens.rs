//! Client tokens: issue, connect, expiry, tampering, the wrong client, and
//! `--require-client-tokens`.

mod support;

use std::time::Duration;

use serde_json::json;
use ssehub::auth::token::TokenSigner;
use ssehub::event::{ClientId, UnixMillis};
use support::{get, post_json, TestHub, PUBLISH_KEY, SUBSCRIBE_KEY};

const SECRET: &str = "a-test-secret-of-some-length";

async fn hub(require: bool) -> TestHub {
    TestHub::builder()
        .keys()
        .config(|c| {
            c.token_secret = Some(SECRET.into());
            c.require_client_tokens = require;
        })
        .start()
        .await
}

async fn issue(hub: &TestHub, client: &str, ttl: u64) -> String {
    let reply = post_json(
        hub.addr,
        "/api/sse/token",
        Some(PUBLISH_KEY),
        json!({"clientId": client, "ttlSeconds": ttl}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["clientId"], client);
    assert!(body["expiresAt"].as_str().unwrap().ends_with('Z'));
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_valid_token_binds_the_stream_to_its_client_without_a_key() {
    let hub = hub(false).await;
    let token = issue(&hub, "alice", 600).await;
    let (mut stream, connected) = hub
        .subscribe(&format!("/api/sse/connect?token={token}"), &[])
        .await;
    assert_eq!(connected["clientId"], "alice");
    let same = format!("/api/sse/connect?token={token}&clientId=alice");
    let _ok = hub.subscribe(&same, &[]).await;
    post_json(
        hub.addr,
        "/api/sse/send/alice",
        Some(PUBLISH_KEY),
        json!({"data": "for alice"}),
    )
    .await;
    assert_eq!(stream.expect().await.json()["data"], "for alice");
    let ack = post_json(
        hub.addr,
        &format!("/api/sse/ack?token={token}"),
        None,
        json!({"clientId": "alice", "sequence": 1}),
    )
    .await;
    assert_eq!(ack.status, 204);
}

#[tokio::test]
async fn expired_tampered_and_mismatched_tokens_are_refused() {
    let hub = hub(false).await;
    let signer = TokenSigner::new(SECRET.as_bytes());
    let alice = ClientId::new("alice").unwrap();
    let expired = signer.issue(&alice, UnixMillis::now().0 / 1000 - 1, &[]);
    let reply = get(hub.addr, &format!("/api/sse/connect?token={expired}"), None).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (401, "token_expired".to_owned())
    );
    let valid = issue(&hub, "alice", 600).await;
    // Flip one signature character away from the end: the last one carries padding bits,
    // so some replacements there decode to the same signature.
    let mut tampered = valid.clone().into_bytes();
    let at = tampered.len() - 5;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let reply = get(
        hub.addr,
        &format!("/api/sse/connect?token={tampered}"),
        None,
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (401, "invalid_token".to_owned())
    );
    let foreign = TokenSigner::new(b"another-secret-entirely").issue(
        &alice,
        UnixMillis::now().0 / 1000 + 600,
        &[],
    );
    let reply = get(hub.addr, &format!("/api/sse/connect?token={foreign}"), None).await;
    assert_eq!(reply.status, 401);
    let reply = get(
        hub.addr,
        &format!("/api/sse/connect?token={valid}&clientId=bob"),
        None,
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (400, "token_client_mismatch".to_owned())
    );
    let reply = post_json(
        hub.addr,
        &format!("/api/sse/ack?token={valid}"),
        None,
        json!({"clientId": "bob", "sequence": 0}),
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (400, "token_client_mismatch".to_owned())
    );
}

#[tokio::test]
async fn the_token_endpoint_needs_publish_scope_and_valid_input() {
    let hub = hub(false).await;
    let reply = post_json(
        hub.addr,
        "/api/sse/token",
        Some(SUBSCRIBE_KEY),
        json!({"clientId": "a"}),
    )
    .await;
    assert_eq!(reply.status, 403);
    let cases = [
        (json!({}), "missing_field"),
        (json!({"clientId": "a b"}), "invalid_client_id"),
        (json!({"clientId": "a", "ttlSeconds": 0}), "invalid_field"),
        (
            json!({"clientId": "a", "ttlSeconds": 99_999_999}),
            "invalid_field",
        ),
        (
            json!({"clientId": "a", "ttlSeconds": "60"}),
            "invalid_field",
        ),
    ];
    for (body, code) in cases {
        let reply = post_json(hub.addr, "/api/sse/token", Some(PUBLISH_KEY), body.clone()).await;
        assert_eq!(
            (reply.status.as_u16(), reply.error_code()),
            (400, code.to_owned()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_stream_closes_when_its_token_expires() {
    let hub = hub(false).await;
    let signer = TokenSigner::new(SECRET.as_bytes());
    let soon = signer.issue(
        &ClientId::new("brief").unwrap(),
        UnixMillis::now().0 / 1000 + 2,
        &[],
    );
    let (mut stream, _) = hub
        .subscribe(&format!("/api/sse/connect?token={soon}"), &[])
        .await;
    assert!(
        stream.until_end(Duration::from_secs(4)).await,
        "the stream ends at expiry"
    );
    let text = hub.node.metrics_text();
    assert!(
        text.contains("ssehub_sse_disconnects_total{reason=\"token_expired\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn required_tokens_stop_a_subscribe_key_from_claiming_a_client() {
    let hub = hub(true).await;
    let with_key = format!("/api/sse/connect?clientId=alice&apikey={SUBSCRIBE_KEY}");
    let (mut intruder, connected) = hub.subscribe(&with_key, &[]).await;
    assert_ne!(
        connected["clientId"], "alice",
        "a subscribe key alone gets a fresh client id"
    );
    let token = issue(&hub, "alice", 600).await;
    let (mut alice, connected) = hub
        .subscribe(&format!("/api/sse/connect?token={token}"), &[])
        .await;
    assert_eq!(connected["clientId"], "alice");
    post_json(
        hub.addr,
        "/api/sse/send/alice",
        Some(PUBLISH_KEY),
        json!({"data": "private"}),
    )
    .await;
    assert_eq!(alice.expect().await.json()["data"], "private");
    assert_eq!(
        intruder.next(Duration::from_millis(300)).await,
        None,
        "the intruder sees nothing of alice's"
    );
    let reply = post_json(
        hub.addr,
        "/api/sse/ack",
        Some(SUBSCRIBE_KEY),
        json!({"clientId": "alice", "sequence": 1}),
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (403, "client_token_required".to_owned())
    );
    let reply = post_json(
        hub.addr,
        &format!("/api/sse/ack?token={token}"),
        None,
        json!({"clientId": "alice", "sequence": 1}),
    )
    .await;
    assert_eq!(reply.status, 204);
    // A publish key (a trusted backend) may still name clients.
    let (_, connected) = hub
        .subscribe(
            &format!("/api/sse/connect?clientId=alice&apikey={PUBLISH_KEY}"),
            &[],
        )
        .await;
    assert_eq!(connected["clientId"], "alice");
}
