//! `GET /api/sse/events`: the same visibility as a stream with the same parameters and
//! credential (topics, targets, filter, grants), in order, paged without gaps or repeats.

mod support;

use serde_json::{json, Value};
use support::{get, post_json, TestHub, PUBLISH_KEY, SUBSCRIBE_KEY};

async fn hub() -> TestHub {
    TestHub::builder()
        .keys()
        .config(|c| c.token_secret = Some("a-test-secret-of-some-length".into()))
        .start()
        .await
}

async fn publish(hub: &TestHub, path: &str, body: Value) -> u64 {
    let reply = post_json(hub.addr, path, Some(PUBLISH_KEY), body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["sequence"].as_u64().unwrap()
}

/// Publishes a mix; returns the head.
async fn mix(hub: &TestHub) -> u64 {
    publish(hub, "/api/sse/broadcast", json!({"data": 1})).await;
    publish(
        hub,
        "/api/sse/broadcast",
        json!({"data": 2, "topics": ["org/42/a"]}),
    )
    .await;
    publish(
        hub,
        "/api/sse/broadcast",
        json!({"data": 3, "topics": ["org/43/a"]}),
    )
    .await;
    publish(hub, "/api/sse/send/ann", json!({"data": 4})).await;
    publish(
        hub,
        "/api/sse/send/bob",
        json!({"data": 5, "topics": ["org/42/b"]}),
    )
    .await;
    publish(
        hub,
        "/api/sse/notification",
        json!({"message": "6", "topics": ["org/42/c"]}),
    )
    .await;
    let head = publish(
        hub,
        "/api/sse/send/ann",
        json!({"data": 7, "topics": ["org/42/d"]}),
    )
    .await;
    hub.dispatched(head).await;
    head
}

fn sequences(page: &Value) -> Vec<u64> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["_sequence"].as_u64().unwrap())
        .collect()
}

async fn history(hub: &TestHub, query: &str, key: Option<&str>) -> Value {
    let reply = get(hub.addr, &format!("/api/sse/events?{query}"), key).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.body);
    reply.json()
}

#[tokio::test]
async fn history_sees_what_a_stream_with_the_same_parameters_sees() {
    let hub = hub().await;
    let head = mix(&hub).await;
    let cases = [
        ("", vec![1]),
        ("clientId=ann", vec![1, 4]),
        ("clientId=ann&topic=org/42/*", vec![1, 2, 4, 6, 7]),
        ("clientId=bob&topic=org/42/*", vec![1, 2, 5, 6]),
        ("topic=org/42/*&filter=notification", vec![6]),
        ("topic=*", vec![1, 2, 3, 6]),
    ];
    for (query, expected) in cases {
        let page = history(&hub, query, Some(SUBSCRIBE_KEY)).await;
        assert_eq!(sequences(&page), expected, "{query}");
        assert_eq!(page["headSequence"], head);
        assert_eq!(page["next"], Value::Null, "{query}");
        assert_eq!(page["oldestSequence"], 1);
        // A stream replaying with the same parameters delivers the same events.
        let (mut stream, _) = hub
            .subscribe(
                &format!("/api/sse/connect?{query}&lastEventId=0&apikey={SUBSCRIBE_KEY}"),
                &[],
            )
            .await;
        let streamed = stream
            .sequences(expected.len(), std::time::Duration::from_millis(300))
            .await;
        assert_eq!(streamed, expected, "stream: {query}");
    }
    // The data objects are the stream's, byte for byte in meaning.
    let page = history(&hub, "topic=org/42/*&clientId=ann", Some(SUBSCRIBE_KEY)).await;
    assert_eq!(page["events"][1]["topics"], json!(["org/42/a"]));
    assert_eq!(page["events"][1]["data"], 2);
}

#[tokio::test]
async fn pages_follow_next_without_gaps_or_repeats() {
    let hub = hub().await;
    let mut last = 0;
    for n in 0..25 {
        let topics = if n % 2 == 0 {
            json!(["t/even"])
        } else {
            json!(["t/odd"])
        };
        last = publish(
            &hub,
            "/api/sse/broadcast",
            json!({"data": n, "topics": topics}),
        )
        .await;
    }
    hub.dispatched(last).await;
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let page = history(
            &hub,
            &format!("topic=t/even&limit=4&after={after}"),
            Some(SUBSCRIBE_KEY),
        )
        .await;
        seen.extend(sequences(&page));
        match page["next"].as_u64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(seen, (1..=25).step_by(2).collect::<Vec<_>>());
}

#[tokio::test]
async fn grants_and_tokens_apply_to_history() {
    let hub = hub().await;
    mix(&hub).await;
    let reply = post_json(
        hub.addr,
        "/api/sse/token",
        Some(PUBLISH_KEY),
        json!({"clientId": "ann", "topics": ["org/42/*"]}),
    )
    .await;
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    let page = history(&hub, &format!("token={token}&topic=org/42/*"), None).await;
    assert_eq!(
        sequences(&page),
        vec![1, 2, 4, 6, 7],
        "the token's own client id"
    );
    for (query, status, code) in [
        (
            format!("token={token}&topic=org/*"),
            403,
            "topic_not_granted",
        ),
        (
            format!("token={token}&clientId=bob"),
            400,
            "token_client_mismatch",
        ),
        ("limit=0".to_owned(), 400, "invalid_field"),
        ("limit=1001".to_owned(), 400, "invalid_field"),
        ("after=-1".to_owned(), 400, "invalid_position"),
        ("topic=a*b".to_owned(), 400, "invalid_topic"),
    ] {
        let reply = get(
            hub.addr,
            &format!("/api/sse/events?{query}"),
            Some(SUBSCRIBE_KEY),
        )
        .await;
        assert_eq!(reply.status, status, "{query}: {}", reply.body);
        assert_eq!(reply.error_code(), code, "{query}");
    }
    let reply = get(hub.addr, "/api/sse/events", None).await;
    assert_eq!(reply.status, 401);
}
