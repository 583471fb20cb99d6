//! HTTP/2 specifics: many streams share one connection, a stream whose reader grants no window
//! is reset on its own after the stall limit while its siblings go on, and the
//! concurrent-stream cap.

mod support;

use std::time::Duration;

use http::Method;
use serde_json::json;
use support::h2::{self as client, Options};
use support::{assert_eventually, Via};

#[tokio::test]
async fn a_hundred_streams_on_one_connection_each_receive_everything_in_order() {
    for via in [Via::H2Tls, Via::H2c] {
        let hub = via.hub().start().await;
        let mut connection = hub.h2(via, Options::default()).await;
        let mut streams = Vec::new();
        for i in 0..100 {
            let mut stream = client::stream(
                &mut connection,
                &format!("/api/sse/connect?clientId=s{i}"),
                &[],
            )
            .await;
            stream.connected().await;
            streams.push(stream);
        }
        assert_eq!(hub.node.connections(), 100, "{via:?}");
        for i in 0..20 {
            hub.broadcast("message", json!(i), None).await;
        }
        for stream in &mut streams {
            assert_eq!(
                stream.sequences(20, Duration::from_secs(5)).await,
                (1..=20).collect::<Vec<u64>>(),
                "{via:?}"
            );
        }
        hub.stop().await;
    }
}

#[tokio::test]
async fn a_stream_that_grants_no_window_is_reset_alone_after_the_stall_limit() {
    for via in [Via::H2Tls, Via::H2c] {
        let hub = via
            .hub()
            .config(|c| c.write_stall = Duration::from_secs(1))
            .start()
            .await;
        // A 2 KiB window per stream: the reader that never reads fills it with a few events.
        let mut connection = hub.h2(via, Options { window: Some(2048) }).await;
        let mut slow = client::stream(&mut connection, "/api/sse/connect?clientId=slow", &[]).await;
        slow.connected().await;
        let mut sibling =
            client::stream(&mut connection, "/api/sse/connect?clientId=sibling", &[]).await;
        sibling.connected().await;
        // `slow` is never polled from here on: its window fills and is never released.
        for i in 0..40 {
            hub.broadcast("message", json!({"i": i, "pad": "x".repeat(200)}), None)
                .await;
        }
        assert_eq!(
            sibling.sequences(40, Duration::from_secs(5)).await,
            (1..=40).collect::<Vec<u64>>(),
            "{via:?}: the sibling is not held back by the stalled stream"
        );
        assert_eventually(
            || hub.metric("ssehub_sse_disconnects_total{reason=\"write_stall\"}") == 1.0,
            "the stalled stream closed as a write stall",
        )
        .await;
        assert_eq!(
            hub.node.connections(),
            1,
            "{via:?}: only the stalled stream closed"
        );
        // The connection lives on: the sibling gets the next event, and a new stream opens.
        let next = hub.broadcast("message", json!("after"), None).await;
        assert_eq!(sibling.expect().await.sequence(), Some(next), "{via:?}");
        let reply = client::request(&mut connection, Method::GET, "/health/live", &[], None).await;
        assert_eq!(reply.status, 200, "{via:?}");
        // What the stalled stream did receive is a prefix; then the reset.
        let got = slow.sequences(usize::MAX, Duration::from_secs(2)).await;
        assert!(got.len() < 40, "{via:?}: {got:?}");
        assert_eq!(got, (1..=got.len() as u64).collect::<Vec<u64>>(), "{via:?}");
        assert!(slow.ended, "{via:?}");
        assert!(
            slow.error.as_deref() == Some("stream error received: stream no longer needed"),
            "{via:?}: reset with CANCEL: {:?}",
            slow.error
        );
        hub.stop().await;
    }
}

#[tokio::test]
async fn the_concurrent_stream_cap_is_advertised_and_holds_further_streams() {
    let via = Via::H2Tls;
    let hub = via
        .hub()
        .config(|c| c.h2_max_concurrent_streams = 2)
        .start()
        .await;
    let mut connection = hub.h2(via, Options::default()).await;
    let reply = client::request(&mut connection, Method::GET, "/health/live", &[], None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(connection.current_max_send_streams(), 2);
    let mut first = client::stream(&mut connection, "/api/sse/connect", &[]).await;
    first.connected().await;
    let mut second = client::stream(&mut connection, "/api/sse/connect", &[]).await;
    second.connected().await;
    // A third stream waits for a slot...
    let third = tokio::spawn({
        let mut connection = connection.clone();
        async move { client::request(&mut connection, Method::GET, "/health/live", &[], None).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!third.is_finished(), "a third stream must wait for a slot");
    // ... and gets one when a stream closes.
    drop(first);
    let reply = tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("the third stream runs once a slot frees")
        .unwrap();
    assert_eq!(reply.status, 200);
    hub.stop().await;
}
