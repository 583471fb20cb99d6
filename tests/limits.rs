//! Every limit, crossed: the JSON error (or the connection closed) and the metric it moves.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{assert_eventually, get, post_json, SseStream, TestHub};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn metric(hub: &TestHub, line_start: &str) -> f64 {
    let text = hub.node.metrics_text();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(line_start)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

#[tokio::test]
async fn too_many_streams_get_503_with_retry_after() {
    let hub = TestHub::builder()
        .config(|c| c.max_connections = 2)
        .start()
        .await;
    let _a = hub.subscribe("/api/sse/connect", &[]).await;
    let _b = hub.subscribe("/api/sse/connect", &[]).await;
    let reply = get(hub.addr, "/api/sse/connect", None).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (503, "overloaded".to_owned())
    );
    assert_eq!(reply.headers["retry-after"], "5");
    assert_eq!(
        metric(&hub, "ssehub_limit_rejections_total{limit=\"connections\"}"),
        1.0
    );
}

#[tokio::test]
async fn too_many_streams_of_one_client_get_429() {
    let hub = TestHub::builder()
        .config(|c| c.max_connections_per_client = 2)
        .start()
        .await;
    let _a = hub.subscribe("/api/sse/connect?clientId=tabby", &[]).await;
    let _b = hub.subscribe("/api/sse/connect?clientId=tabby", &[]).await;
    let reply = get(hub.addr, "/api/sse/connect?clientId=tabby", None).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (429, "too_many_connections".to_owned())
    );
    let _other = hub.subscribe("/api/sse/connect?clientId=other", &[]).await;
    assert_eq!(
        metric(
            &hub,
            "ssehub_limit_rejections_total{limit=\"connections_per_client\"}"
        ),
        1.0
    );
}

/// Opens `n` streams at once; returns how many the hub accepted and the statuses of the rest.
async fn burst(hub: &TestHub, path: &str, n: usize) -> (Vec<SseStream>, Vec<u16>) {
    let opens = (0..n).map(|_| SseStream::open(hub.addr, path, &[]));
    let mut open = Vec::new();
    let mut refused = Vec::new();
    for stream in futures_util::future::join_all(opens).await {
        if stream.status == 200 {
            open.push(stream);
        } else {
            refused.push(stream.status.as_u16());
        }
    }
    (open, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_connects_never_passes_the_connection_limits() {
    // Each connect waits on the store before registering: the window a burst used to slip
    // through (seen: 223 streams of one client id with a limit of 4).
    let store = std::sync::Arc::new(support::faulty::Wrapped::slow_reads(Duration::from_millis(
        100,
    )));
    let hub = TestHub::builder()
        .store(store)
        .config(|c| {
            c.max_connections_per_client = 4;
            c.max_connections = 10;
        })
        .start()
        .await;
    let (open, refused) = burst(&hub, "/api/sse/connect?clientId=burst", 24).await;
    assert_eq!(open.len(), 4, "per-client limit");
    assert!(refused.iter().all(|s| *s == 429), "{refused:?}");
    let (more, refused) = burst(&hub, "/api/sse/connect?lastEventId=0", 24).await;
    assert_eq!(open.len() + more.len(), 10, "node limit");
    assert!(refused.iter().all(|s| *s == 503), "{refused:?}");
    assert_eq!(hub.node.connections(), 10);
}

#[tokio::test]
async fn too_many_filter_types_and_too_large_bodies_count_as_limits() {
    let hub = TestHub::builder()
        .config(|c| {
            c.max_filter_types = 3;
            c.max_body_bytes = 256;
        })
        .start()
        .await;
    let reply = get(hub.addr, "/api/sse/connect?filter=a,b,c,d", None).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (400, "invalid_filter".to_owned())
    );
    let reply = post_json(
        hub.addr,
        "/api/sse/broadcast",
        None,
        json!({"data": "x".repeat(300)}),
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (413, "payload_too_large".to_owned())
    );
    assert_eq!(
        metric(
            &hub,
            "ssehub_limit_rejections_total{limit=\"filter_types\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(&hub, "ssehub_limit_rejections_total{limit=\"body_bytes\"}"),
        1.0
    );
}

#[tokio::test]
async fn oversized_request_heads_are_refused() {
    let hub = TestHub::builder()
        .config(|c| c.max_header_bytes = 8192)
        .start()
        .await;
    let big = "x".repeat(10_000);
    let reply = support::request(
        hub.addr,
        http::Method::GET,
        "/api/sse/stats",
        &[("x-padding", big.as_str())],
        None,
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (431, "header_too_large".to_owned())
    );
    let stream_head = format!("/api/sse/connect?pad={big}");
    let reply = get(hub.addr, &stream_head, None).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (431, "header_too_large".to_owned())
    );
    assert_eq!(
        metric(
            &hub,
            "ssehub_limit_rejections_total{limit=\"header_bytes\"}"
        ),
        2.0
    );
    assert_eq!(get(hub.addr, "/health/live", None).await.status, 200);
}

#[tokio::test]
async fn slowloris_clients_are_shed_while_normal_clients_are_served() {
    let hub = TestHub::builder()
        .config(|c| c.header_read_timeout = std::time::Duration::from_secs(1))
        .start()
        .await;
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut socket = tokio::net::TcpStream::connect(hub.addr).await.unwrap();
        socket
            .write_all(b"GET /api/sse/stats HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(socket);
    }
    // Normal clients keep being served meanwhile.
    for _ in 0..10 {
        assert_eq!(get(hub.addr, "/api/sse/stats", None).await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut closed = 0;
    for socket in &mut slow {
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            Ok(Ok(_)) => closed += 1, // an error response followed by close also sheds it
            Err(_) => {}
        }
    }
    assert_eq!(
        closed,
        slow.len(),
        "every half-sent request was dropped after the timeout"
    );
    assert_eventually(
        || {
            metric(
                &hub,
                "ssehub_limit_rejections_total{limit=\"header_read_timeout\"}",
            ) >= 300.0
        },
        "header timeouts counted",
    )
    .await;
    assert_eq!(get(hub.addr, "/api/sse/stats", None).await.status, 200);
}

#[tokio::test]
async fn streams_end_at_their_maximum_lifetime_and_resume_without_loss() {
    let hub = TestHub::builder()
        .config(|c| c.max_stream_lifetime = std::time::Duration::from_secs(1))
        .start()
        .await;
    let (mut stream, _) = hub.subscribe("/api/sse/connect?clientId=roamer", &[]).await;
    let publisher = {
        let addr = hub.addr;
        tokio::spawn(async move {
            for i in 0..40 {
                post_json(addr, "/api/sse/broadcast", None, json!({"data": i})).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let mut got = Vec::new();
    let mut reconnects = 0;
    while got.len() < 40 {
        match stream.next(Duration::from_secs(3)).await {
            Some(event) => got.extend(event.sequence()),
            None => {
                assert!(stream.ended, "stalled instead of ending");
                assert!(
                    stream.comments().iter().any(|c| c.contains("deadline")),
                    "{:?}",
                    stream.comments()
                );
                reconnects += 1;
                let last = got.last().copied().unwrap_or(0).to_string();
                let (next, _) = hub
                    .subscribe(
                        "/api/sse/connect?clientId=roamer",
                        &[("last-event-id", last.as_str())],
                    )
                    .await;
                stream = next;
            }
        }
    }
    publisher.await.unwrap();
    assert!(reconnects >= 1, "the lifetime ended at least one stream");
    assert_eq!(
        got,
        (1..=40).collect::<Vec<u64>>(),
        "no loss, no duplicate across lifetime ends"
    );
    assert!(metric(&hub, "ssehub_sse_disconnects_total{reason=\"lifetime\"}") >= 1.0);
}

#[tokio::test]
async fn a_reader_that_stops_reading_is_disconnected_and_resumes_losslessly() {
    let hub = TestHub::builder()
        .config(|c| {
            c.write_stall = std::time::Duration::from_secs(1);
            c.max_body_bytes = 1 << 20;
        })
        .start()
        .await;
    let mut stalled = SseStream::open(hub.addr, "/api/sse/connect?clientId=sloth", &[]).await;
    stalled.connected().await;
    let (mut healthy, _) = hub.subscribe("/api/sse/connect?clientId=quick", &[]).await;
    let blob = "y".repeat(512 * 1024);
    let total = 48u64;
    let reader = tokio::spawn(async move {
        let got = healthy
            .sequences(total as usize, Duration::from_secs(10))
            .await;
        assert_eq!(
            got,
            (1..=total).collect::<Vec<u64>>(),
            "the healthy reader is not held back"
        );
    });
    for _ in 0..total {
        post_json(hub.addr, "/api/sse/broadcast", None, json!({"data": blob})).await;
    }
    reader.await.unwrap();
    assert_eventually(
        || metric(&hub, "ssehub_sse_disconnects_total{reason=\"write_stall\"}") >= 1.0,
        "the stalled reader is disconnected",
    )
    .await;
    // Whatever reached the client before the close, then a resume from its last id.
    let mut got = stalled
        .sequences(total as usize, Duration::from_secs(2))
        .await;
    assert!((got.len() as u64) < total, "the stall cut the stream short");
    let last = got.last().copied().unwrap_or(0).to_string();
    let (mut resumed, _) = hub
        .subscribe(
            "/api/sse/connect?clientId=sloth",
            &[("last-event-id", last.as_str())],
        )
        .await;
    got.extend(
        resumed
            .sequences(total as usize - got.len(), Duration::from_secs(10))
            .await,
    );
    assert_eq!(got, (1..=total).collect::<Vec<u64>>());
}

#[tokio::test]
async fn a_client_that_writes_into_its_stream_is_closed_after_a_small_allowance() {
    let hub = TestHub::start().await;
    let mut socket = tokio::net::TcpStream::connect(hub.addr).await.unwrap();
    socket
        .write_all(b"GET /api/sse/connect HTTP/1.1\r\nHost: hub\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = socket.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("200 OK"));
    // A client has nothing to send after its request; this one keeps writing.
    let junk = vec![b'x'; 16 * 1024];
    let mut sent = 0;
    let closed = loop {
        match socket.write_all(&junk).await {
            Ok(()) => sent += junk.len(),
            Err(_) => break true,
        }
        if sent >= 8 << 20 {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    // Either the writes failed or the hub's end reads as closed.
    let closed = closed || {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut rest))
            .await
            .is_ok_and(|r| r.is_ok() || r.is_err())
    };
    assert!(closed, "the hub kept reading {sent} bytes of input");
    assert_eventually(|| hub.node.connections() == 0, "the stream closed").await;
    assert_eq!(
        metric(
            &hub,
            "ssehub_sse_disconnects_total{reason=\"client_input\"}"
        ),
        1.0
    );
}

/// Sends a POST whose body announces `declared` bytes but carries only a few.
async fn half_sent_body(addr: std::net::SocketAddr, declared: usize) -> tokio::net::TcpStream {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/sse/broadcast HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n\
         Content-Length: {declared}\r\n\r\n{{\"data\":"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_408_and_counted() {
    let hub = TestHub::builder()
        .config(|c| c.body_read_timeout = Duration::from_secs(1))
        .start()
        .await;
    let mut socket = half_sent_body(hub.addr, 1000).await;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_string(&mut answer))
        .await
        .expect("answered and closed in time")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"error\":\"request_timeout\""), "{answer}");
    assert_eq!(
        metric(
            &hub,
            "ssehub_limit_rejections_total{limit=\"body_read_timeout\"}"
        ),
        1.0
    );
    assert_eq!(hub.node.dispatched().0, 0, "nothing was published");
}

#[tokio::test]
async fn requests_in_flight_are_bounded_and_half_sent_bodies_cannot_pile_up() {
    let hub = TestHub::builder()
        .config(|c| {
            c.max_inflight_requests = 3;
            c.body_read_timeout = Duration::from_secs(2);
        })
        .start()
        .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(half_sent_body(hub.addr, 5000).await);
    }
    let mut refused = None;
    for _ in 0..50 {
        let reply = post_json(hub.addr, "/api/sse/broadcast", None, json!({"data": 1})).await;
        if reply.status == 503 {
            refused = Some(reply);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = refused.expect("a fourth request in flight is refused");
    assert_eq!(refused.error_code(), "overloaded");
    assert_eq!(refused.headers["retry-after"], "1");
    assert!(
        metric(
            &hub,
            "ssehub_limit_rejections_total{limit=\"inflight_requests\"}"
        ) >= 1.0
    );
    // Streams do not count against it.
    let (_stream, _) = hub.subscribe("/api/sse/connect", &[]).await;
    // Once the held bodies time out, requests are served again.
    assert_eventually_async(|| async {
        post_json(hub.addr, "/api/sse/broadcast", None, json!({"data": 2}))
            .await
            .status
            == 200
    })
    .await;
    drop(held);
}

/// Retries an async check for up to 8 s.
async fn assert_eventually_async<F, Fut>(mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..80 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("did not happen in time");
}
