//! Topics over HTTP: every subscriber gets exactly the events the delivery rule gives it, in
//! order, live and on replay (a property test against an independent oracle); grants of client
//! tokens; publish validation.

mod support;

use proptest::prelude::*;
use serde_json::{json, Value};
use support::{get, post_json, TestHub, PUBLISH_KEY, SUBSCRIBE_KEY};

/// One published event of a generated case.
#[derive(Debug, Clone)]
struct Published {
    event_type: &'static str,
    target: Option<&'static str>,
    topics: Vec<&'static str>,
}

/// One subscriber of a generated case.
#[derive(Debug, Clone)]
struct Subscriber {
    client: &'static str,
    selectors: Vec<&'static str>,
    /// Empty: every type.
    filter: Vec<&'static str>,
}

/// The rule as the API documents it, written without the hub's code: the oracle.
fn receives(sub: &Subscriber, event: &Published) -> bool {
    let topic_ok = event.topics.is_empty()
        || event.topics.iter().any(|t| {
            sub.selectors.iter().any(|s| match s.strip_suffix('*') {
                Some(prefix) => t.starts_with(prefix),
                None => s == t,
            })
        });
    let target_ok = event.target.is_none_or(|t| t == sub.client);
    let filter_ok = sub.filter.is_empty() || sub.filter.contains(&event.event_type);
    topic_ok && target_ok && filter_ok
}

const TOPICS: [&str; 6] = ["org/1/a", "org/1/b", "org/2/a", "org/12", "news", "org/1"];
const SELECTORS: [&str; 9] = [
    "org/1/a", "org/1/*", "org/1*", "org/*", "news", "*", "org/2/a", "org/12", "org/1",
];
const CLIENTS: [&str; 3] = ["ann", "bob", "cy"];
/// The last event of every case: topic-less, of a type every filter accepts, so each stream
/// knows it has seen everything.
const END: &str = "end";

fn published() -> impl Strategy<Value = Published> {
    (
        prop::sample::select(vec!["a", "b"]),
        prop::option::weighted(0.3, prop::sample::select(CLIENTS.to_vec())),
        prop::collection::vec(prop::sample::select(TOPICS.to_vec()), 0..3),
    )
        .prop_map(|(event_type, target, topics)| Published {
            event_type,
            target,
            topics,
        })
}

fn subscriber() -> impl Strategy<Value = Subscriber> {
    (
        prop::sample::select(CLIENTS.to_vec()),
        prop::collection::vec(prop::sample::select(SELECTORS.to_vec()), 0..3),
        prop::collection::vec(prop::sample::select(vec!["a", "b"]), 0..2),
    )
        .prop_map(|(client, selectors, filter)| Subscriber {
            client,
            selectors,
            filter,
        })
}

fn connect_path(sub: &Subscriber, position: Option<u64>) -> String {
    let mut path = format!("/api/sse/connect?clientId={}", sub.client);
    for selector in &sub.selectors {
        path.push_str(&format!("&topic={selector}"));
    }
    if !sub.filter.is_empty() {
        path.push_str(&format!("&filter={},{END}", sub.filter.join(",")));
    }
    if let Some(position) = position {
        path.push_str(&format!("&lastEventId={position}"));
    }
    path
}

async fn publish(hub: &TestHub, event: &Published) -> u64 {
    let mut body = json!({"eventType": event.event_type, "data": 1});
    if !event.topics.is_empty() {
        body["topics"] = json!(event.topics);
    }
    let path = match event.target {
        Some(client) => format!("/api/sse/send/{client}"),
        None => "/api/sse/broadcast".to_owned(),
    };
    let reply = post_json(hub.addr, &path, None, body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["sequence"].as_u64().unwrap()
}

/// The sequences a stream delivers before the `end` event, and that each carried its topics.
async fn delivered(stream: &mut support::SseStream) -> Vec<(u64, Value)> {
    let mut out = Vec::new();
    loop {
        let event = stream.expect().await;
        let data = event.json();
        if event.event == END {
            return out;
        }
        out.push((event.sequence().unwrap(), data["topics"].clone()));
    }
}

async fn check_case(subscribers: Vec<Subscriber>, events: Vec<Published>) {
    // The smallest ring: a replay from 0 (and a live stream that falls behind) reads the
    // store, so both paths of the rule are exercised.
    let hub = TestHub::builder()
        .config(|c| c.tail_capacity = 16)
        .start()
        .await;
    let mut live = Vec::new();
    for sub in &subscribers {
        live.push(hub.subscribe(&connect_path(sub, None), &[]).await.0);
    }
    let mut sequences = Vec::new();
    for event in &events {
        sequences.push(publish(&hub, event).await);
    }
    let end = Published {
        event_type: END,
        target: None,
        topics: Vec::new(),
    };
    publish(&hub, &end).await;
    for (sub, stream) in subscribers.iter().zip(&mut live) {
        let expected: Vec<(u64, Value)> = events
            .iter()
            .zip(&sequences)
            .filter(|(event, _)| receives(sub, event))
            .map(|(event, seq)| {
                let topics = match event.topics.is_empty() {
                    true => Value::Null,
                    false => {
                        // The hub drops repeated topics, keeping the first of each.
                        let mut unique: Vec<&str> = Vec::new();
                        for topic in &event.topics {
                            if !unique.contains(topic) {
                                unique.push(topic);
                            }
                        }
                        json!(unique)
                    }
                };
                (*seq, topics)
            })
            .collect();
        assert_eq!(delivered(stream).await, expected, "live: {sub:?}");
        // Replay from the start: the same rule, from the store or the tail.
        let (mut replay, _) = hub.subscribe(&connect_path(sub, Some(0)), &[]).await;
        assert_eq!(delivered(&mut replay).await, expected, "replay: {sub:?}");
    }
    hub.stop().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_subscriber_gets_exactly_its_events_live_and_on_replay(
        subscribers in prop::collection::vec(subscriber(), 1..5),
        events in prop::collection::vec(published(), 0..40),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(check_case(subscribers, events));
    }
}

async fn keyed_hub() -> TestHub {
    TestHub::builder()
        .keys()
        .config(|c| c.token_secret = Some("a-test-secret-of-some-length".into()))
        .start()
        .await
}

async fn token(hub: &TestHub, client: &str, topics: Value) -> String {
    let reply = post_json(
        hub.addr,
        "/api/sse/token",
        Some(PUBLISH_KEY),
        json!({"clientId": client, "topics": topics}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["topics"], topics);
    reply.json()["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn client_tokens_grant_selectors_and_refusals_name_the_selector() {
    let hub = keyed_hub().await;
    let granted = token(&hub, "ann", json!(["org/42/*"])).await;
    assert!(granted.starts_with("v2."), "{granted}");
    for asked in ["org/*", "*", "org/4*", "org/43/a"] {
        let reply = get(
            hub.addr,
            &format!("/api/sse/connect?token={granted}&topic=org/42/a&topic={asked}"),
            None,
        )
        .await;
        assert_eq!(reply.status, 403, "{asked}: {}", reply.body);
        assert_eq!(reply.error_code(), "topic_not_granted");
        assert!(reply.json()["message"]
            .as_str()
            .unwrap()
            .contains(&format!("`{asked}`")));
    }
    let (mut stream, connected) = hub
        .subscribe(
            &format!("/api/sse/connect?token={granted}&topic=org/42/*&topic=org/42/a"),
            &[],
        )
        .await;
    assert_eq!(connected["topics"], json!(["org/42/*", "org/42/a"]));
    for topic in ["org/43/a", "org/42/a"] {
        let reply = post_json(
            hub.addr,
            "/api/sse/broadcast",
            Some(PUBLISH_KEY),
            json!({"data": topic, "topics": [topic]}),
        )
        .await;
        assert_eq!(reply.status, 200);
    }
    let event = stream.expect().await;
    assert_eq!(event.json()["data"], "org/42/a");
    assert_eq!(event.json()["topics"], json!(["org/42/a"]));

    // A token without topics (v1) may open topic-less streams only.
    let plain = token(&hub, "bob", json!([])).await;
    assert!(plain.starts_with("v1."), "{plain}");
    let reply = get(
        hub.addr,
        &format!("/api/sse/connect?token={plain}&topic=org/42/a"),
        None,
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.error_code(), "topic_not_granted");
    // A subscribe key is a trusted backend: any selector.
    let (_all, connected) = hub
        .subscribe("/api/sse/connect?apikey=test-subscribe-key&topic=*", &[])
        .await;
    assert_eq!(connected["topics"], json!(["*"]));
    assert_eq!(SUBSCRIBE_KEY, "test-subscribe-key");
}

#[tokio::test]
async fn bad_topics_and_selectors_are_400_invalid_topic() {
    let hub = TestHub::builder()
        .config(|c| c.max_topic_selectors = 2)
        .start()
        .await;
    for body in [
        json!({"data": 1, "topics": []}),
        json!({"data": 1, "topics": "org"}),
        json!({"data": 1, "topics": ["a b"]}),
        json!({"data": 1, "topics": ["org/*"]}),
        json!({"data": 1, "topics": [7]}),
        json!({"data": 1, "topics": (0..17).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
    ] {
        let reply = post_json(hub.addr, "/api/sse/broadcast", None, body.clone()).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.error_code(), "invalid_topic", "{body}");
    }
    for query in [
        "topic=a*b",
        "topic=",
        "topic=a%20b",
        "topic=a&topic=b&topic=c",
    ] {
        let reply = get(hub.addr, &format!("/api/sse/connect?{query}"), None).await;
        assert_eq!(reply.status, 400, "{query}");
        assert_eq!(reply.error_code(), "invalid_topic", "{query}");
    }
    // Duplicates count once.
    let (_stream, connected) = hub
        .subscribe("/api/sse/connect?topic=a&topic=b&topic=a", &[])
        .await;
    assert_eq!(connected["topics"], json!(["a", "b"]));
    let metrics = get(hub.addr, "/metrics", None).await.body;
    assert!(
        metrics.contains("ssehub_limit_rejections_total{limit=\"topic_selectors\"} 1"),
        "{metrics}"
    );
}
