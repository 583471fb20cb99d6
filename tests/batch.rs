//! Batch publishes (`POST /api/sse/batch`) and retries by `messageId` on every publish
//! endpoint: order, consecutive sequences, all or nothing, errors by index, the original answer
//! for a retry (also after a restart on the embedded store).

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use ssehub::outbox::embedded::EmbeddedStore;
use support::{get, post_json, SseStream, TestHub, PUBLISH_KEY, SUBSCRIBE_KEY};

const ID_A: &str = "0b5c8f1e-3f6a-4c2e-9d7b-1a2b3c4d5e6f";
const ID_B: &str = "7d3e2a10-5b4c-4f8e-a1d2-c3b4a5968778";

async fn batch(hub: &TestHub, events: Value) -> support::Reply {
    post_json(
        hub.addr,
        "/api/sse/batch",
        None,
        json!({ "events": events }),
    )
    .await
}

/// The `(sequence, messageId)` of each result of a 200 batch answer.
fn results(reply: &support::Reply) -> Vec<(u64, String)> {
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["sequence"].as_u64().unwrap(),
                r["messageId"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The sequences `stream` delivers until it is quiet for a moment.
async fn delivered(stream: &mut SseStream) -> Vec<(u64, Value)> {
    let mut out = Vec::new();
    while let Some(event) = stream.next(Duration::from_millis(300)).await {
        if let Some(sequence) = event.sequence() {
            out.push((sequence, event.json()));
        }
    }
    out
}

#[tokio::test]
async fn a_batch_is_stored_in_order_with_consecutive_sequences() {
    let hub = TestHub::start().await;
    let (mut c1, _) = hub.subscribe("/api/sse/connect?clientId=c1", &[]).await;
    assert_eq!(hub.broadcast("first", json!(0), None).await, 1);
    let reply = batch(
        &hub,
        json!([
            {"eventType": "price", "data": 1},
            {"data": {"text": "to c1"}, "target": "c1"},
            {"data": "to c2", "target": "c2"},
            {"eventType": "price", "data": 4, "messageId": ID_A.to_uppercase()},
        ]),
    )
    .await;
    let answered = results(&reply);
    let sequences: Vec<u64> = answered.iter().map(|(s, _)| *s).collect();
    assert_eq!(sequences, vec![2, 3, 4, 5]);
    // A chosen id comes back as chosen (in lower case); the others are fresh UUIDs.
    assert_eq!(answered[3].1, ID_A);
    assert!(answered[..3]
        .iter()
        .all(|(_, id)| uuid::Uuid::parse_str(id).is_ok()));

    let got = delivered(&mut c1).await;
    let seen: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(seen, vec![1, 2, 3, 5], "c2's event is not for c1");
    assert_eq!(got[1].1["type"], "price");
    assert_eq!(got[2].1["data"], json!({"text": "to c1"}));
    assert_eq!(got[2].1["type"], "message");
    assert_eq!(got[3].1["messageId"], ID_A);
    // Every delivered event carries the id its publish answered with.
    for (sequence, data) in &got[1..] {
        let (_, id) = answered.iter().find(|(s, _)| s == sequence).unwrap();
        assert_eq!(data["messageId"], id.as_str());
    }
}

#[tokio::test]
async fn one_invalid_event_refuses_the_whole_batch_naming_its_index() {
    let hub = TestHub::builder()
        .config(|c| c.max_batch_events = 3)
        .start()
        .await;
    let cases = [
        (
            json!([{"data": 1}, {"data": 2}, {"eventType": "x"}]),
            "missing_field",
            Some(2),
        ),
        (json!([{"data": 1}, {"data": ""}]), "invalid_field", Some(1)),
        (
            json!([{"eventType": "reset", "data": 1}]),
            "invalid_event_type",
            Some(0),
        ),
        (json!([{"data": 1}, 7]), "invalid_field", Some(1)),
        (
            json!([{"data": 1, "target": "a b"}]),
            "invalid_client_id",
            Some(0),
        ),
        (
            json!([{"data": 1, "messageId": "nope"}]),
            "invalid_field",
            Some(0),
        ),
        (
            json!([{"data": 1, "messageId": ID_A}, {"data": 2, "messageId": ID_A.to_uppercase()}]),
            "invalid_field",
            Some(1),
        ),
        (json!([]), "invalid_field", None),
        (
            json!([{"data": 1}, {"data": 2}, {"data": 3}, {"data": 4}]),
            "invalid_field",
            None,
        ),
        (json!({"data": 1}), "invalid_field", None),
    ];
    for (events, code, index) in cases {
        let reply = batch(&hub, events.clone()).await;
        assert_eq!(reply.status, 400, "{events}: {}", reply.body);
        assert_eq!(reply.error_code(), code, "{events}");
        let body = reply.json();
        assert_eq!(body["index"].as_u64(), index.map(|i| i as u64), "{events}");
        if let Some(index) = index {
            let message = body["message"].as_str().unwrap();
            assert!(
                message.starts_with(&format!("events[{index}]: ")),
                "{message}"
            );
        }
    }
    let reply = post_json(hub.addr, "/api/sse/batch", None, json!({})).await;
    assert_eq!(reply.error_code(), "missing_field");
    // Nothing of any refused batch was stored: the next event is the first.
    assert_eq!(hub.broadcast("after", json!(1), None).await, 1);
}

#[tokio::test]
async fn batch_events_take_topics_as_single_publishes_do() {
    let hub = TestHub::start().await;
    let (mut rooms, _) = hub
        .subscribe("/api/sse/connect?clientId=c1&topic=org/42/*", &[])
        .await;
    let (mut plain, _) = hub.subscribe("/api/sse/connect?clientId=c2", &[]).await;
    let events = json!([
        {"data": 1, "topics": ["org/42/a", "org/42/a"]},
        {"data": 2},
        {"data": 3, "topics": ["org/43"], "target": "c1"},
        {"data": 4, "topics": ["org/42/b"], "target": "c1", "messageId": ID_A},
    ]);
    let stored = results(&batch(&hub, events.clone()).await);
    let sequences: Vec<u64> = stored.iter().map(|(s, _)| *s).collect();
    assert_eq!(sequences, vec![1, 2, 3, 4]);

    let got = delivered(&mut rooms).await;
    let seen: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
    assert_eq!(seen, vec![1, 2, 4], "org/43 is not a topic c1 asked for");
    assert_eq!(
        got[0].1["topics"],
        json!(["org/42/a"]),
        "repeats count once"
    );
    assert_eq!(got[1].1.get("topics"), None);
    let seen: Vec<u64> = delivered(&mut plain)
        .await
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(
        seen,
        vec![2],
        "a stream without selectors gets topic-less events only"
    );

    // The same batch again: the new events are stored again, the chosen id answers its original.
    let again = results(&batch(&hub, events).await);
    assert_eq!(again[3], (4, ID_A.to_owned()));
    assert_eq!(again[0].0, 5);

    // History shows batch events with the visibility of a stream with the same parameters.
    hub.dispatched(7).await;
    let page = get(hub.addr, "/api/sse/events?clientId=c1&topic=org/42/*", None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let history: Vec<(u64, Value)> = page.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["_sequence"].as_u64().unwrap(), e["data"].clone()))
        .collect();
    assert_eq!(
        history,
        vec![
            (1, json!(1)),
            (2, json!(2)),
            (4, json!(4)),
            (5, json!(1)),
            (6, json!(2))
        ]
    );
}

#[tokio::test]
async fn a_batch_event_is_refused_with_the_single_endpoints_topic_errors() {
    let hub = TestHub::builder().keys().start().await;
    let many: Vec<String> = (0..17).map(|i| format!("t{i}")).collect();
    for topics in [
        json!([]),
        json!(["org/*"]),
        json!("org/42"),
        json!([42]),
        json!(many),
        json!(["a b"]),
    ] {
        let single = post_json(
            hub.addr,
            "/api/sse/broadcast",
            Some(PUBLISH_KEY),
            json!({"data": 1, "topics": topics}),
        )
        .await;
        assert_eq!(single.status, 400, "{topics}");
        assert_eq!(single.error_code(), "invalid_topic", "{topics}");
        let reply = post_json(
            hub.addr,
            "/api/sse/batch",
            Some(PUBLISH_KEY),
            json!({"events": [{"data": 0, "topics": ["ok"]}, {"data": 1, "topics": topics}]}),
        )
        .await;
        assert_eq!(reply.status, 400, "{topics}: {}", reply.body);
        assert_eq!(reply.error_code(), "invalid_topic", "{topics}");
        assert_eq!(reply.json()["index"], 1);
        assert_eq!(
            reply.json()["message"].as_str().unwrap(),
            format!("events[1]: {}", single.json()["message"].as_str().unwrap())
        );
    }
    // A subscribe key may not publish, in a batch as on the single endpoints.
    let reply = post_json(
        hub.addr,
        "/api/sse/batch",
        Some(SUBSCRIBE_KEY),
        json!({"events": [{"data": 1, "topics": ["ok"]}]}),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.error_code(), "insufficient_scope");
    // Nothing of any refused batch was stored.
    assert_eq!(hub.broadcast("after", json!(1), Some(PUBLISH_KEY)).await, 1);
}

#[tokio::test]
async fn a_batch_over_the_body_limit_is_413() {
    let hub = TestHub::builder()
        .config(|c| c.max_body_bytes = 1024)
        .start()
        .await;
    let events: Vec<Value> = (0..100)
        .map(|n| json!({"data": format!("event {n}")}))
        .collect();
    let reply = batch(&hub, Value::Array(events)).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.error_code(), "payload_too_large");
}

#[tokio::test]
async fn a_retry_with_the_same_message_id_answers_the_original() {
    let hub = TestHub::start().await;
    let (mut stream, _) = hub.subscribe("/api/sse/connect", &[]).await;
    let body = json!({"eventType": "order", "data": {"n": 1}, "messageId": ID_A});
    let first = post_json(hub.addr, "/api/sse/broadcast", None, body.clone()).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.json(), json!({"sequence": 1, "messageId": ID_A}));
    // Again, on another endpoint, with another body: only the id counts.
    let again = post_json(hub.addr, "/api/sse/broadcast", None, body).await;
    assert_eq!(again.json(), first.json());
    let other = post_json(
        hub.addr,
        "/api/sse/alert",
        None,
        json!({"message": "m", "messageId": ID_A}),
    )
    .await;
    assert_eq!(other.json(), first.json());

    // A batch, then the same batch again: the same answer, stored once.
    let events = json!([{"data": 2, "messageId": ID_B}, {"data": 3}]);
    let stored = results(&batch(&hub, events.clone()).await);
    assert_eq!(stored[0], (2, ID_B.to_owned()));
    let retried = results(&batch(&hub, json!([{"data": 2, "messageId": ID_B}])).await);
    assert_eq!(retried, vec![(2, ID_B.to_owned())]);
    // A batch with a retry and new events: the new ones follow on, consecutively.
    let mixed = results(
        &batch(
            &hub,
            json!([{"data": 4}, {"data": 1, "messageId": ID_A}, {"data": 5}]),
        )
        .await,
    );
    let sequences: Vec<u64> = mixed.iter().map(|(s, _)| *s).collect();
    assert_eq!(sequences, vec![4, 1, 5]);

    let seen: Vec<u64> = delivered(&mut stream)
        .await
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(seen, vec![1, 2, 3, 4, 5], "every event once");
    let metrics = hub.node.metrics_text();
    assert!(
        metrics.contains("ssehub_events_published_total{event_type=\"message\"} 4"),
        "retries are not counted as published"
    );
}

#[tokio::test]
async fn a_malformed_message_id_is_400_on_every_endpoint() {
    let hub = TestHub::start().await;
    for (path, body) in [
        ("/api/sse/broadcast", json!({"data": 1, "messageId": "123"})),
        ("/api/sse/send/c1", json!({"data": 1, "messageId": 5})),
        (
            "/api/sse/notification",
            json!({"message": "m", "messageId": ""}),
        ),
        (
            "/api/sse/data-update",
            json!({"entityId": "1", "entityType": "t", "messageId": format!("{{{ID_A}}}")}),
        ),
    ] {
        let reply = post_json(hub.addr, path, None, body).await;
        assert_eq!(reply.status, 400, "{path}");
        assert_eq!(reply.error_code(), "invalid_field", "{path}");
        assert!(reply.body.contains("messageId"), "{}", reply.body);
    }
}

#[tokio::test]
async fn retries_are_recognised_after_a_restart_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let open = || async {
        let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        TestHub::builder().store(store).start().await
    };
    let hub = open().await;
    let events = json!([{"data": 1, "messageId": ID_A}, {"data": 2, "messageId": ID_B}]);
    let first = results(&batch(&hub, events.clone()).await);
    assert_eq!(
        first.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![1, 2]
    );
    hub.stop().await;

    let hub = open().await;
    assert_eq!(results(&batch(&hub, events).await), first);
    let single = post_json(
        hub.addr,
        "/api/sse/broadcast",
        None,
        json!({"data": 9, "messageId": ID_B}),
    )
    .await;
    assert_eq!(single.json()["sequence"], 2);
    assert_eq!(hub.broadcast("next", json!(3), None).await, 3);
}
