//! `/metrics` explains what happened: each family is exposed and moves with what it counts.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use ssehub::outbox::Retention;
use support::{assert_eventually, get, post_json, TestHub};

/// `name{labels}` → value, from the exposition text.
fn scrape(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn every_family_moves_with_what_it_counts() {
    let hub = TestHub::builder()
        .config(|c| c.max_connections_per_client = 1)
        .start()
        .await;
    let before = scrape(&get(hub.addr, "/metrics", None).await.body);

    let (mut live, _) = hub.subscribe("/api/sse/connect?clientId=m1", &[]).await;
    for i in 0..5 {
        hub.broadcast("message", json!(i), None).await;
    }
    post_json(hub.addr, "/api/sse/alert", None, json!({"message": "x"})).await;
    post_json(
        hub.addr,
        "/api/sse/broadcast",
        None,
        json!({"eventType": "custom.thing", "data": 1}),
    )
    .await;
    assert_eq!(live.sequences(7, Duration::from_secs(5)).await.len(), 7);
    let (_replayed, _) = hub.subscribe("/api/sse/connect?checkpoint=3", &[]).await;
    hub.store
        .trim(Retention {
            max_events: Some(2),
            max_age: None,
        })
        .await
        .unwrap();
    let (_reset, _) = hub.subscribe("/api/sse/connect?checkpoint=1", &[]).await;
    let refused = support::get(hub.addr, "/api/sse/connect?clientId=m1", None).await;
    assert_eq!(refused.status, 429);
    drop(live);
    assert_eventually(|| hub.node.connections() == 2, "a stream closed").await;

    let after = scrape(&get(hub.addr, "/metrics", None).await.body);
    let moved = |name: &str| {
        after.get(name).copied().unwrap_or(0.0) - before.get(name).copied().unwrap_or(0.0)
    };
    assert_eq!(moved("ssehub_sse_connections_total"), 3.0);
    assert_eq!(after["ssehub_sse_connections_open"], 2.0);
    assert_eq!(
        moved("ssehub_sse_disconnects_total{reason=\"client\"}"),
        1.0
    );
    assert_eq!(
        moved("ssehub_events_published_total{event_type=\"message\"}"),
        5.0
    );
    assert_eq!(
        moved("ssehub_events_published_total{event_type=\"alert\"}"),
        1.0
    );
    assert_eq!(
        moved("ssehub_events_published_total{event_type=\"custom\"}"),
        1.0
    );
    assert!(moved("ssehub_frames_delivered_total") >= 7.0);
    assert!(moved("ssehub_sse_bytes_written_total") > 500.0);
    assert_eq!(moved("ssehub_replays_total{outcome=\"live\"}"), 1.0);
    assert_eq!(moved("ssehub_replays_total{outcome=\"replayed\"}"), 1.0);
    assert_eq!(moved("ssehub_replays_total{outcome=\"reset\"}"), 1.0);
    assert_eq!(after["ssehub_dispatched_sequence"], 7.0);
    assert!(after.contains_key("ssehub_dispatch_lag"));
    assert!(after.contains_key("ssehub_gaps_skipped_total"));
    assert_eq!(moved("ssehub_publish_seconds_count"), 7.0);
    assert!(moved("ssehub_publish_batch_size_count") >= 1.0);
    assert!(moved("ssehub_store_operation_seconds_count{operation=\"append\"}") >= 1.0);
    // Local appends are handed to the dispatcher, not read back; its poll timer reads.
    let mut reads = 0.0;
    for _ in 0..100 {
        let now = scrape(&get(hub.addr, "/metrics", None).await.body);
        let name = "ssehub_store_operation_seconds_count{operation=\"read_after\"}";
        reads = now.get(name).copied().unwrap_or(0.0) - before.get(name).copied().unwrap_or(0.0);
        if reads >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(reads >= 1.0, "the dispatcher's poll reads the store");
    assert_eq!(
        moved("ssehub_limit_rejections_total{limit=\"connections_per_client\"}"),
        1.0
    );
}
