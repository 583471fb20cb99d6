//! Streams: filters, targets, the four resume sources, reset, acks, catch-up from the store,
//! heartbeats, and many subscribers receiving everything in order.

mod support;

use std::time::Duration;

use serde_json::json;
use ssehub::outbox::Retention;
use support::{assert_eventually, post_json, TestHub};

const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn the_stream_starts_with_headers_retry_and_connected() {
    let hub = TestHub::builder()
        .config(|c| c.retry = std::time::Duration::from_millis(1500))
        .start()
        .await;
    hub.broadcast("warmup", json!(1), None).await;
    hub.dispatched(1).await;
    let (stream, connected) = hub.subscribe("/api/sse/connect?clientId=alpha", &[]).await;
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    assert_eq!(stream.headers["cache-control"], "no-cache");
    assert_eq!(stream.headers["x-accel-buffering"], "no");
    assert_eq!(stream.retry(), Some(1500));
    assert_eq!(
        connected,
        json!({"clientId": "alpha", "node": "test-node", "resumeFrom": 1, "headSequence": 1, "topics": []})
    );
    let (_, anonymous) = hub.subscribe("/api/sse/connect", &[]).await;
    assert!(
        uuid::Uuid::parse_str(anonymous["clientId"].as_str().unwrap()).is_ok(),
        "a fresh UUID when none is given"
    );
}

#[tokio::test]
async fn filters_with_several_types_receive_only_those() {
    let hub = TestHub::start().await;
    let (mut filtered, _) = hub
        .subscribe("/api/sse/connect?filter=Alert,notification", &[])
        .await;
    let (mut everything, _) = hub.subscribe("/api/sse/connect", &[]).await;
    let mut wanted = Vec::new();
    for (n, event_type) in ["alert", "message", "NOTIFICATION", "dataUpdate", "alert"]
        .iter()
        .enumerate()
    {
        let sequence = hub.broadcast(event_type, json!(n), None).await;
        if event_type.eq_ignore_ascii_case("alert")
            || event_type.eq_ignore_ascii_case("notification")
        {
            wanted.push(sequence);
        }
    }
    assert_eq!(
        filtered
            .sequences(wanted.len(), Duration::from_secs(5))
            .await,
        wanted
    );
    assert_eq!(filtered.next(QUIET).await, None, "nothing else arrives");
    assert_eq!(
        everything.sequences(5, Duration::from_secs(5)).await,
        vec![1, 2, 3, 4, 5]
    );
}

#[tokio::test]
async fn targeted_events_never_reach_other_clients_live_or_replayed() {
    let hub = TestHub::start().await;
    let (mut alice, _) = hub.subscribe("/api/sse/connect?clientId=alice", &[]).await;
    let (mut alice_tab, _) = hub.subscribe("/api/sse/connect?clientId=alice", &[]).await;
    let (mut bob, _) = hub.subscribe("/api/sse/connect?clientId=bob", &[]).await;
    let to_alice = post_json(
        hub.addr,
        "/api/sse/send/alice",
        None,
        json!({"data": "secret"}),
    )
    .await
    .json()["sequence"]
        .as_u64()
        .unwrap();
    let to_bob = post_json(
        hub.addr,
        "/api/sse/notification/bob",
        None,
        json!({"message": "b"}),
    )
    .await
    .json()["sequence"]
        .as_u64()
        .unwrap();
    let public = hub.broadcast("message", json!("all"), None).await;
    assert_eq!(
        alice.sequences(2, Duration::from_secs(5)).await,
        vec![to_alice, public]
    );
    assert_eq!(
        alice_tab.sequences(2, Duration::from_secs(5)).await,
        vec![to_alice, public],
        "every tab gets the full stream"
    );
    assert_eq!(
        bob.sequences(2, Duration::from_secs(5)).await,
        vec![to_bob, public]
    );
    // Replayed from the start: still only one's own.
    let (mut eve, _) = hub
        .subscribe("/api/sse/connect?clientId=eve&checkpoint=0", &[])
        .await;
    assert_eq!(eve.sequences(3, QUIET).await, vec![public]);
    let (mut bob_again, _) = hub
        .subscribe("/api/sse/connect?clientId=bob&checkpoint=0", &[])
        .await;
    assert_eq!(bob_again.sequences(3, QUIET).await, vec![to_bob, public]);
}

async fn publish_n(hub: &TestHub, n: u64) {
    for i in 0..n {
        hub.broadcast("message", json!(i), None).await;
    }
    hub.dispatched(n).await;
}

#[tokio::test]
async fn replay_from_each_position_source() {
    let hub = TestHub::start().await;
    publish_n(&hub, 6).await;
    let checkpoint = |path: &'static str, headers: &'static [(&'static str, &'static str)]| {
        let hub = &hub;
        async move {
            let (mut stream, connected) = hub.subscribe(path, headers).await;
            (
                stream.sequences(10, QUIET).await,
                connected["resumeFrom"].as_u64().unwrap(),
            )
        }
    };
    assert_eq!(
        checkpoint("/api/sse/connect?checkpoint=4", &[]).await,
        (vec![5, 6], 4)
    );
    assert_eq!(
        checkpoint("/api/sse/connect?lastEventId=3", &[]).await,
        (vec![4, 5, 6], 3)
    );
    assert_eq!(
        checkpoint("/api/sse/connect", &[("last-event-id", "5")]).await,
        (vec![6], 5)
    );
    // Precedence: checkpoint over lastEventId over the header.
    assert_eq!(
        checkpoint(
            "/api/sse/connect?checkpoint=2&lastEventId=5",
            &[("last-event-id", "1")]
        )
        .await
        .0,
        vec![3, 4, 5, 6]
    );
    assert_eq!(
        checkpoint("/api/sse/connect?lastEventId=5", &[("last-event-id", "1")])
            .await
            .0,
        vec![6]
    );
    // Stored checkpoint of the client id.
    let ack = post_json(
        hub.addr,
        "/api/sse/ack",
        None,
        json!({"clientId": "carol", "sequence": 2}),
    )
    .await;
    assert_eq!(ack.status, 204);
    assert_eq!(
        checkpoint("/api/sse/connect?clientId=carol", &[]).await,
        (vec![3, 4, 5, 6], 2)
    );
    // An explicit position wins over the stored one.
    assert_eq!(
        checkpoint("/api/sse/connect?clientId=carol&checkpoint=5", &[])
            .await
            .0,
        vec![6]
    );
    // No position: live only.
    assert_eq!(
        checkpoint("/api/sse/connect?clientId=dave", &[]).await,
        (vec![], 6)
    );
}

#[tokio::test]
async fn replay_then_live_has_no_gap_and_no_duplicate() {
    let hub = TestHub::start().await;
    publish_n(&hub, 20).await;
    let (mut stream, _) = hub.subscribe("/api/sse/connect?checkpoint=10", &[]).await;
    let publisher = {
        let addr = hub.addr;
        tokio::spawn(async move {
            for i in 0..30 {
                post_json(addr, "/api/sse/broadcast", None, json!({"data": i})).await;
            }
        })
    };
    let got = stream.sequences(40, Duration::from_secs(5)).await;
    publisher.await.unwrap();
    assert_eq!(got, (11..=50).collect::<Vec<u64>>());
}

#[tokio::test]
async fn a_trimmed_position_gets_a_reset_frame_then_the_oldest_available() {
    let hub = TestHub::start().await;
    publish_n(&hub, 10).await;
    let trimmed = hub
        .store
        .trim(Retention {
            max_events: Some(3),
            max_age: None,
        })
        .await
        .unwrap();
    assert_eq!(trimmed, 7);
    let (mut stream, connected) = hub.subscribe("/api/sse/connect?checkpoint=2", &[]).await;
    assert_eq!(connected["resumeFrom"], 7);
    let reset = stream.expect().await;
    assert_eq!(reset.event, "reset");
    assert_eq!(reset.id, None, "reset must not move the client's position");
    assert_eq!(reset.json(), json!({"requested": 2, "oldestAvailable": 8}));
    assert_eq!(
        stream.sequences(3, Duration::from_secs(5)).await,
        vec![8, 9, 10]
    );
    // A position inside the retained history needs no reset.
    let (mut fine, _) = hub.subscribe("/api/sse/connect?checkpoint=7", &[]).await;
    assert_eq!(fine.expect().await.sequence(), Some(8));
}

#[tokio::test]
async fn ack_then_reconnect_by_client_id_resumes_after_the_ack() {
    let hub = TestHub::start().await;
    let (mut first, _) = hub.subscribe("/api/sse/connect?clientId=erin", &[]).await;
    publish_n(&hub, 5).await;
    assert_eq!(
        first.sequences(5, Duration::from_secs(5)).await,
        vec![1, 2, 3, 4, 5]
    );
    let ack = |sequence: u64| {
        post_json(
            hub.addr,
            "/api/sse/ack",
            None,
            json!({"clientId": "erin", "sequence": sequence}),
        )
    };
    assert_eq!(ack(3).await.status, 204);
    assert_eq!(
        ack(1).await.status,
        204,
        "a lower ack is accepted but does not move back"
    );
    drop(first);
    let (mut second, connected) = hub.subscribe("/api/sse/connect?clientId=erin", &[]).await;
    assert_eq!(connected["resumeFrom"], 3);
    assert_eq!(
        second.sequences(2, Duration::from_secs(5)).await,
        vec![4, 5]
    );
    // The batch reaches the store.
    let erin = ssehub::event::ClientId::new("erin").unwrap();
    let store = hub.store.clone();
    for _ in 0..100 {
        if store.load_checkpoint(&erin).await.unwrap().map(|s| s.0) == Some(3) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the ack never reached the store");
}

#[tokio::test]
async fn bad_connect_and_ack_inputs_are_refused() {
    let hub = TestHub::builder()
        .config(|c| c.max_filter_types = 2)
        .start()
        .await;
    hub.broadcast("message", json!(1), None).await;
    let cases = [
        ("/api/sse/connect?checkpoint=abc", "invalid_position"),
        ("/api/sse/connect?checkpoint=-1", "invalid_position"),
        ("/api/sse/connect?lastEventId=1.5", "invalid_position"),
        (
            "/api/sse/connect?checkpoint=99999999999999999999999",
            "invalid_position",
        ),
        ("/api/sse/connect?clientId=has%20space", "invalid_client_id"),
        ("/api/sse/connect?clientId=", "invalid_client_id"),
        ("/api/sse/connect?filter=a,b,c", "invalid_filter"),
        ("/api/sse/connect?filter=a%0Ab", "invalid_filter"),
    ];
    for (path, code) in cases {
        let reply = support::get(hub.addr, path, None).await;
        assert_eq!(
            (reply.status.as_u16(), reply.error_code()),
            (400, code.to_owned()),
            "{path}"
        );
    }
    let reply = support::request(
        hub.addr,
        http::Method::GET,
        "/api/sse/connect",
        &[("last-event-id", "x1")],
        None,
    )
    .await;
    assert_eq!(reply.status, 400);
    let acks = [
        (json!({"sequence": 1}), "missing_field"),
        (json!({"clientId": "a"}), "missing_field"),
        (
            json!({"clientId": "a b", "sequence": 1}),
            "invalid_client_id",
        ),
        (json!({"clientId": 5, "sequence": 1}), "invalid_client_id"),
        (json!({"clientId": "a", "sequence": -1}), "invalid_field"),
        (json!({"clientId": "a", "sequence": "1"}), "invalid_field"),
        (json!({"clientId": "a", "sequence": 1.5}), "invalid_field"),
        (json!({"clientId": "a", "sequence": 99}), "sequence_ahead"),
    ];
    for (body, code) in acks {
        let reply = post_json(hub.addr, "/api/sse/ack", None, body.clone()).await;
        assert_eq!(
            (reply.status.as_u16(), reply.error_code()),
            (400, code.to_owned()),
            "{body}"
        );
    }
    let a = ssehub::event::ClientId::new("a").unwrap();
    assert_eq!(
        hub.node.checkpoint_of(&a).await.unwrap(),
        None,
        "no refused ack was recorded"
    );
}

#[tokio::test]
async fn a_cursor_behind_the_ring_catches_up_from_the_store() {
    let hub = TestHub::builder()
        .config(|c| c.tail_capacity = 16)
        .start()
        .await;
    publish_n(&hub, 100).await;
    assert!(hub.node.tail_floor().0 >= 80, "the ring evicted the start");
    let (mut stream, _) = hub
        .subscribe(
            "/api/sse/connect?clientId=late&checkpoint=0&filter=message",
            &[],
        )
        .await;
    let live = hub.broadcast("message", json!("live"), None).await;
    let got = stream.sequences(101, Duration::from_secs(5)).await;
    assert_eq!(got, (1..=live).collect::<Vec<u64>>());
}

#[tokio::test]
async fn idle_streams_get_heartbeat_comments() {
    let hub = TestHub::builder()
        .config(|c| c.heartbeat = std::time::Duration::from_secs(1))
        .start()
        .await;
    let (mut stream, _) = hub.subscribe("/api/sse/connect", &[]).await;
    assert_eq!(stream.next(Duration::from_millis(2600)).await, None);
    assert!(
        stream.comments().iter().any(|c| c == "ping"),
        "comments: {:?}",
        stream.comments()
    );
}

#[tokio::test]
async fn a_thousand_events_reach_two_hundred_subscribers_complete_and_in_order() {
    let hub = TestHub::start().await;
    let mut streams = Vec::new();
    for n in 0..200u32 {
        let filter = if n.is_multiple_of(4) {
            "&filter=even"
        } else {
            ""
        };
        let (stream, _) = hub
            .subscribe(&format!("/api/sse/connect?clientId=s{n}{filter}"), &[])
            .await;
        streams.push((n, stream));
    }
    let mut publishers = Vec::new();
    for p in 0..8u64 {
        let addr = hub.addr;
        publishers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for i in 0..125u64 {
                let event_type = if (p + i).is_multiple_of(2) {
                    "even"
                } else {
                    "odd"
                };
                let reply = post_json(
                    addr,
                    "/api/sse/broadcast",
                    None,
                    json!({"eventType": event_type, "data": i}),
                )
                .await;
                mine.push((reply.json()["sequence"].as_u64().unwrap(), event_type));
            }
            mine
        }));
    }
    let mut published = Vec::new();
    for publisher in publishers {
        published.extend(publisher.await.unwrap());
    }
    published.sort();
    let all: Vec<u64> = published.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        all,
        (1..=1000).collect::<Vec<u64>>(),
        "sequences are gap-free"
    );
    let evens: Vec<u64> = published
        .iter()
        .filter(|(_, t)| *t == "even")
        .map(|(s, _)| *s)
        .collect();
    let readers = streams.into_iter().map(|(n, mut stream)| {
        let expected = if n.is_multiple_of(4) {
            evens.clone()
        } else {
            all.clone()
        };
        tokio::spawn(async move {
            let got = stream
                .sequences(expected.len(), Duration::from_secs(10))
                .await;
            assert_eq!(got, expected, "subscriber {n}");
        })
    });
    for reader in readers.collect::<Vec<_>>() {
        reader.await.unwrap();
    }
    assert_eventually(|| hub.node.connections() == 0, "all streams closed").await;
}

/// Reads a close-delimited (HTTP/1.0) stream's bytes until `done` holds for the events so far.
async fn read_raw(
    socket: &mut tokio::net::TcpStream,
    parser: &mut support::sse::SseParser,
    events: &mut Vec<support::sse::SseEvent>,
    done: impl Fn(&[support::sse::SseEvent]) -> bool,
) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 1 << 16];
    while !done(events) {
        let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buf))
            .await
            .expect("the stream goes on")
            .unwrap();
        assert!(n > 0, "the hub closed the stream");
        events.extend(parser.feed(&buf[..n]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_reading_while_history_is_trimmed_gets_reset_not_a_skip() {
    use tokio::io::AsyncWriteExt;
    let hub = TestHub::builder()
        .config(|c| c.tail_capacity = 16)
        .start()
        .await;
    // HTTP/1.0: a close-delimited body is the SSE stream itself, no chunk framing to undo.
    let mut socket = tokio::net::TcpStream::connect(hub.addr).await.unwrap();
    socket
        .write_all(b"GET /api/sse/connect HTTP/1.0\r\nHost: hub\r\n\r\n")
        .await
        .unwrap();
    let mut parser = support::sse::SseParser::new();
    let mut events = Vec::new();
    read_raw(&mut socket, &mut parser, &mut events, |e| !e.is_empty()).await;
    // Stop reading. 60 KiB events fill the socket buffers, so the stream's cursor stalls
    // while the ring (16 frames) moves far past it; then retention trims the store.
    let big = "x".repeat(60 * 1024);
    let total = 300;
    for _ in 0..total {
        hub.broadcast("big", json!(big), None).await;
    }
    hub.dispatched(total).await;
    hub.store
        .trim(Retention {
            max_events: Some(20),
            max_age: None,
        })
        .await
        .unwrap();
    read_raw(&mut socket, &mut parser, &mut events, |e| {
        e.last().and_then(|e| e.sequence()) == Some(total)
    })
    .await;
    // Every event follows the one before it, or a reset says where history starts now.
    let mut previous = 0;
    let mut resets = 0;
    for event in &events[1..] {
        if event.event == "reset" {
            let reset = event.json();
            assert_eq!(reset["requested"], previous, "{reset}");
            previous = reset["oldestAvailable"].as_u64().unwrap() - 1;
            resets += 1;
            continue;
        }
        let sequence = event.sequence().expect("an event with an id");
        assert_eq!(sequence, previous + 1, "a silent skip after {previous}");
        previous = sequence;
    }
    assert_eq!(resets, 1, "the trim was announced once");
    assert_eq!(previous, total);
}

#[tokio::test]
async fn named_false_sends_every_event_without_its_event_line() {
    let hub = TestHub::start().await;
    let (mut unnamed, connected) = hub
        .subscribe("/api/sse/connect?named=false&clientId=plain", &[])
        .await;
    assert_eq!(
        connected["clientId"], "plain",
        "control frames keep their name"
    );
    for (n, event_type) in ["price", "alert", "Order.Created"].iter().enumerate() {
        let sequence = hub.broadcast(event_type, json!(n), None).await;
        let event = unnamed.expect().await;
        assert_eq!(
            event.event, "message",
            "no event: line, so the default type"
        );
        assert_eq!(event.sequence(), Some(sequence));
        assert_eq!(event.json()["type"], *event_type);
        assert_eq!(event.json()["data"], n);
    }
    let reply = support::get(hub.addr, "/api/sse/connect?named=maybe", None).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (400, "invalid_field".to_owned())
    );
}

#[tokio::test]
async fn the_tail_ring_is_bounded_in_bytes_and_readers_behind_it_lose_nothing() {
    let hub = TestHub::builder()
        .config(|c| c.tail_max_bytes = 1 << 20)
        .start()
        .await;
    let big = "y".repeat(60 * 1024);
    for _ in 0..100 {
        hub.broadcast("big", json!(big), None).await;
    }
    hub.dispatched(100).await;
    // 1 MiB holds about 17 of these frames, however many the frame count allows.
    assert!(hub.node.tail_floor().0 >= 80, "{:?}", hub.node.tail_floor());
    let (mut stream, _) = hub.subscribe("/api/sse/connect?checkpoint=0", &[]).await;
    let sequences = stream.sequences(100, Duration::from_secs(5)).await;
    assert_eq!(sequences, (1..=100).collect::<Vec<u64>>());
}
