//! The stream contract over every transport: plain HTTP/1.1 (the lean path), HTTP/1.1 over
//! TLS, HTTP/2 over TLS and h2c. Prelude, replay, reset, heartbeats, limits, shutdown, and the
//! ordinary endpoints answer alike on each.

mod support;

use std::time::Duration;

use http::Method;
use serde_json::json;
use ssehub::outbox::Retention;
use support::{Via, PUBLISH_KEY, SUBSCRIBE_KEY};

#[tokio::test]
async fn the_prelude_and_headers_are_the_same_on_every_transport() {
    for via in Via::ALL {
        let hub = via
            .hub()
            .config(|c| c.retry = Duration::from_millis(1500))
            .start()
            .await;
        hub.broadcast("warmup", json!(1), None).await;
        hub.dispatched(1).await;
        let (stream, connected) = hub
            .subscribe_via(via, "/api/sse/connect?clientId=alpha", &[])
            .await;
        assert_eq!(
            stream.headers["content-type"], "text/event-stream",
            "{via:?}"
        );
        assert_eq!(stream.headers["cache-control"], "no-cache", "{via:?}");
        assert_eq!(stream.retry(), Some(1500), "{via:?}");
        assert_eq!(
            connected,
            json!({"clientId": "alpha", "node": "test-node", "resumeFrom": 1, "headSequence": 1, "topics": []}),
            "{via:?}"
        );
        hub.stop().await;
    }
}

#[tokio::test]
async fn last_event_id_replays_then_continues_live_on_every_transport() {
    for via in Via::ALL {
        let hub = via.hub().start().await;
        for i in 0..5 {
            hub.broadcast("message", json!(i), None).await;
        }
        hub.dispatched(5).await;
        let (mut stream, connected) = hub
            .subscribe_via(via, "/api/sse/connect", &[("last-event-id", "2")])
            .await;
        assert_eq!(connected["resumeFrom"], 2, "{via:?}");
        let live = hub.broadcast("message", json!("live"), None).await;
        assert_eq!(
            stream.sequences(4, Duration::from_secs(5)).await,
            vec![3, 4, 5, live],
            "{via:?}"
        );
        hub.stop().await;
    }
}

#[tokio::test]
async fn a_trimmed_position_gets_a_reset_frame_on_every_transport() {
    for via in Via::ALL {
        let hub = via.hub().start().await;
        for i in 0..10 {
            hub.broadcast("message", json!(i), None).await;
        }
        hub.dispatched(10).await;
        let retention = Retention {
            max_events: Some(3),
            max_age: None,
        };
        assert_eq!(hub.store.trim(retention).await.unwrap(), 7);
        let (mut stream, _) = hub
            .subscribe_via(via, "/api/sse/connect?checkpoint=2", &[])
            .await;
        let reset = stream.expect().await;
        assert_eq!(reset.event, "reset", "{via:?}");
        assert_eq!(reset.json(), json!({"requested": 2, "oldestAvailable": 8}));
        assert_eq!(
            stream.sequences(3, Duration::from_secs(5)).await,
            vec![8, 9, 10],
            "{via:?}"
        );
        hub.stop().await;
    }
}

#[tokio::test]
async fn idle_streams_get_heartbeats_on_every_transport() {
    for via in Via::ALL {
        let hub = via
            .hub()
            .config(|c| c.heartbeat = Duration::from_secs(1))
            .start()
            .await;
        let (mut stream, _) = hub.subscribe_via(via, "/api/sse/connect", &[]).await;
        assert_eq!(stream.next(Duration::from_millis(2600)).await, None);
        assert!(
            stream.comments().iter().any(|c| c == "ping"),
            "{via:?}: comments {:?}",
            stream.comments()
        );
        hub.stop().await;
    }
}

#[tokio::test]
async fn the_per_client_limit_answers_429_on_every_transport() {
    for via in Via::ALL {
        let hub = via
            .hub()
            .config(|c| c.max_connections_per_client = 1)
            .start()
            .await;
        let (_first, _) = hub
            .subscribe_via(via, "/api/sse/connect?clientId=tab", &[])
            .await;
        let reply = hub
            .request_via(via, Method::GET, "/api/sse/connect?clientId=tab", &[], None)
            .await;
        assert_eq!(reply.status, 429, "{via:?}");
        assert_eq!(reply.error_code(), "too_many_connections", "{via:?}");
        hub.stop().await;
    }
}

#[tokio::test]
async fn shutdown_ends_streams_with_a_comment_on_every_transport() {
    for via in Via::ALL {
        let hub = via.hub().start().await;
        let (mut stream, _) = hub.subscribe_via(via, "/api/sse/connect", &[]).await;
        let stopping = tokio::spawn(hub.stop());
        assert!(
            stream.until_end(Duration::from_secs(5)).await,
            "{via:?}: the stream ends"
        );
        assert!(
            stream.comments().iter().any(|c| c == "shutdown"),
            "{via:?}: comments {:?}",
            stream.comments()
        );
        assert_eq!(stream.error, None, "{via:?}: a clean end, not a reset");
        stopping.await.unwrap();
    }
}

#[tokio::test]
async fn publishes_and_errors_answer_alike_on_every_transport() {
    for via in Via::ALL {
        let hub = via
            .hub()
            .keys()
            .config(|c| c.max_body_bytes = 256)
            .start()
            .await;
        let json = [
            ("content-type", "application/json"),
            ("x-api-key", PUBLISH_KEY),
        ];
        let published = hub
            .request_via(
                via,
                Method::POST,
                "/api/sse/notification",
                &json,
                Some(r#"{"message":"hi"}"#.into()),
            )
            .await;
        assert_eq!(published.status, 200, "{via:?}: {}", published.body);
        assert_eq!(published.json()["sequence"], 1);
        let large = format!(r#"{{"message":"{}"}}"#, "x".repeat(300));
        let refused = hub
            .request_via(
                via,
                Method::POST,
                "/api/sse/notification",
                &json,
                Some(large),
            )
            .await;
        assert_eq!(refused.status, 413, "{via:?}");
        let denied = hub
            .request_via(via, Method::GET, "/api/sse/connect", &[], None)
            .await;
        assert_eq!(denied.status, 401, "{via:?}");
        let stats = hub
            .request_via(
                via,
                Method::GET,
                "/api/sse/stats",
                &[("x-api-key", SUBSCRIBE_KEY)],
                None,
            )
            .await;
        assert_eq!(stats.status, 200, "{via:?}");
        let head = hub
            .request_via(via, Method::HEAD, "/health/live", &[], None)
            .await;
        assert_eq!(head.status, 200, "{via:?}");
        assert_eq!(head.body, "", "{via:?}: HEAD has no body");
        hub.stop().await;
    }
}

#[tokio::test]
async fn the_connections_endpoint_names_each_stream_s_protocol_and_tls() {
    for via in Via::ALL {
        let hub = via.hub().start().await;
        let (_stream, _) = hub
            .subscribe_via(via, "/api/sse/connect?clientId=probe", &[])
            .await;
        let listing = hub
            .request_via(via, Method::GET, "/api/sse/connections", &[], None)
            .await;
        assert_eq!(listing.status, 200, "{via:?}: {}", listing.body);
        let stream = &listing.json()["connections"][0];
        let protocol = match via {
            Via::H2Tls | Via::H2c => "h2",
            Via::Http1 | Via::Http1Tls => "http/1.1",
        };
        assert_eq!(stream["clientId"], "probe", "{via:?}");
        assert_eq!(stream["protocol"], protocol, "{via:?}");
        assert_eq!(stream["tls"], via.is_tls(), "{via:?}");
        hub.stop().await;
    }
}

#[tokio::test]
async fn topic_streams_and_history_answer_alike_on_every_transport() {
    for via in Via::ALL {
        let hub = via.hub().start().await;
        let (mut stream, connected) = hub
            .subscribe_via(via, "/api/sse/connect?clientId=ann&topic=org/42/*", &[])
            .await;
        assert_eq!(connected["topics"], json!(["org/42/*"]), "{via:?}");
        let json = [("content-type", "application/json")];
        let mut sequences = Vec::new();
        for topics in [Some("org/42/a"), Some("org/43/a"), None] {
            let mut body = json!({"data": 1});
            if let Some(topic) = topics {
                body["topics"] = json!([topic]);
            }
            let body = body.to_string();
            let reply = hub
                .request_via(via, Method::POST, "/api/sse/broadcast", &json, Some(body))
                .await;
            assert_eq!(reply.status, 200, "{via:?}: {}", reply.body);
            sequences.push(reply.json()["sequence"].as_u64().unwrap());
        }
        // org/43 is not asked for; the event without topics is for every stream.
        let visible = vec![sequences[0], sequences[2]];
        assert_eq!(
            stream.sequences(2, Duration::from_secs(5)).await,
            visible,
            "{via:?}"
        );
        let page = hub
            .request_via(
                via,
                Method::GET,
                "/api/sse/events?clientId=ann&topic=org/42/*",
                &[],
                None,
            )
            .await;
        assert_eq!(page.status, 200, "{via:?}: {}", page.body);
        let listed: Vec<u64> = page.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["_sequence"].as_u64().unwrap())
            .collect();
        assert_eq!(listed, visible, "{via:?}");
        hub.stop().await;
    }
}
