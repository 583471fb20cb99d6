//! Stats, health, metrics, the demo generator, CORS, the SPA, and in-process shutdown.

mod support;

use std::time::Duration;

use http::Method;
use serde_json::json;
use support::{get, post_json, request, TestHub};

#[tokio::test]
async fn stats_describe_the_node_and_the_outbox() {
    let hub = TestHub::start().await;
    let (_a, _) = hub.subscribe("/api/sse/connect?clientId=a", &[]).await;
    let (_a2, _) = hub.subscribe("/api/sse/connect?clientId=a", &[]).await;
    let (_b, _) = hub.subscribe("/api/sse/connect?clientId=b", &[]).await;
    hub.broadcast("message", json!(1), None).await;
    hub.broadcast("message", json!(2), None).await;
    hub.dispatched(2).await;
    let stats = get(hub.addr, "/api/sse/stats", None).await.json();
    assert_eq!(stats["node"], "test-node");
    assert_eq!(stats["connections"], 3);
    assert_eq!(stats["clients"], 2);
    assert_eq!(stats["headSequence"], 2);
    assert_eq!(stats["dispatchedSequence"], 2);
    assert_eq!(stats["oldestSequence"], 1);
    assert_eq!(stats["store"], "memory");
    assert_eq!(stats["storeAvailable"], true);
    assert_eq!(stats["ready"], true);
    assert_eq!(stats["eventsPublished"], 2);
    assert_eq!(stats["streamsOpened"], 3);
    assert!(stats["framesDelivered"].as_u64().is_some());
    assert_eq!(
        stats["retention"],
        json!({"maxEvents": null, "maxAgeSeconds": null})
    );
    assert!(stats["nodes"].is_array());
}

#[tokio::test]
async fn connections_list_this_nodes_streams_in_pages() {
    let hub = TestHub::builder().keys().start().await;
    let key = Some(support::SUBSCRIBE_KEY);
    let mut streams = Vec::new();
    for (client, filter) in [("a", ""), ("b", "&filter=Alert,notification"), ("c", "")] {
        let path = format!(
            "/api/sse/connect?clientId={client}{filter}&apikey={}",
            support::SUBSCRIBE_KEY
        );
        streams.push(hub.subscribe(&path, &[]).await.0);
    }
    let sequence = hub
        .broadcast("message", json!(1), Some(support::PUBLISH_KEY))
        .await;
    for stream in &mut streams[..1] {
        assert_eq!(stream.expect().await.sequence(), Some(sequence));
    }
    let first = get(hub.addr, "/api/sse/connections?limit=2", key).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    assert_eq!(first["node"], "test-node");
    assert_eq!(first["total"], 3);
    let page = first["connections"].as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["clientId"], "a");
    assert_eq!(page[0]["filter"], json!(null));
    assert_eq!(page[0]["protocol"], "http/1.1");
    assert_eq!(page[0]["tls"], false);
    assert_eq!(page[1]["filter"], json!(["alert", "notification"]));
    assert!(page[0]["connectedAt"].as_str().unwrap().ends_with('Z'));
    // Stream a received the event, so its position is at least there.
    assert!(
        page[0]["position"].as_u64().unwrap() >= sequence,
        "{page:?}"
    );
    let next = first["next"].as_u64().expect("a next page");
    let rest = get(hub.addr, &format!("/api/sse/connections?after={next}"), key)
        .await
        .json();
    let rest = rest["connections"].as_array().unwrap().clone();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["clientId"], "c");
    assert_eq!(
        get(hub.addr, "/api/sse/connections", None).await.status,
        401
    );
    let bad = get(hub.addr, "/api/sse/connections?limit=0", key).await;
    assert_eq!(
        (bad.status.as_u16(), bad.error_code()),
        (400, "invalid_field".to_owned())
    );
}

#[tokio::test]
async fn health_and_metrics_answer_without_keys() {
    let hub = TestHub::builder().keys().start().await;
    let live = get(hub.addr, "/health/live", None).await;
    assert_eq!(
        (live.status.as_u16(), live.json()["status"].clone()),
        (200, json!("live"))
    );
    let ready = get(hub.addr, "/health/ready", None).await;
    assert_eq!(
        (ready.status.as_u16(), ready.json()["status"].clone()),
        (200, json!("ready"))
    );
    let (_stream, _) = hub
        .subscribe(
            &format!("/api/sse/connect?apikey={}", support::SUBSCRIBE_KEY),
            &[],
        )
        .await;
    hub.broadcast("alert", json!(1), Some(support::PUBLISH_KEY))
        .await;
    let bad = post_json(
        hub.addr,
        "/api/sse/broadcast",
        Some(support::PUBLISH_KEY),
        json!({"data": null}),
    )
    .await;
    assert_eq!(bad.status, 400);
    hub.dispatched(1).await;
    let metrics = get(hub.addr, "/metrics", None).await;
    assert_eq!(metrics.status, 200);
    for line in [
        "ssehub_sse_connections_open 1",
        "ssehub_sse_connections_total 1",
        "ssehub_events_published_total{event_type=\"alert\"} 1",
        "ssehub_dispatched_sequence 1",
        "ssehub_replays_total{outcome=\"live\"} 1",
    ] {
        assert!(
            metrics.body.lines().any(|l| l == line),
            "missing `{line}` in\n{}",
            metrics.body
        );
    }
    assert!(metrics.body.contains("ssehub_publish_seconds_count 1"));
    assert!(metrics
        .body
        .contains("ssehub_store_operation_seconds_count{operation=\"append\"} 1"));
}

#[tokio::test]
async fn the_demo_generator_starts_cycles_and_stops() {
    let hub = TestHub::start().await;
    let status = get(hub.addr, "/api/demo/status", None).await.json();
    assert_eq!(status, json!({"isRunning": false}));
    let bad = post_json(
        hub.addr,
        "/api/demo/start",
        None,
        json!({"intervalSeconds": 0}),
    )
    .await;
    assert_eq!(
        (bad.status.as_u16(), bad.error_code()),
        (400, "invalid_field".to_owned())
    );
    let bad = post_json(
        hub.addr,
        "/api/demo/start",
        None,
        json!({"intervalSeconds": "5"}),
    )
    .await;
    assert_eq!(bad.status, 400);
    let stop = post_json(hub.addr, "/api/demo/stop", None, json!({})).await;
    assert_eq!(
        (stop.status.as_u16(), stop.error_code()),
        (409, "demo_not_running".to_owned())
    );

    let (mut stream, _) = hub.subscribe("/api/sse/connect", &[]).await;
    let start = post_json(
        hub.addr,
        "/api/demo/start",
        None,
        json!({"intervalSeconds": 1}),
    )
    .await;
    assert_eq!(start.status, 200);
    assert_eq!(
        start.json(),
        json!({"isRunning": true, "intervalSeconds": 1})
    );
    let again = post_json(hub.addr, "/api/demo/start", None, json!({})).await;
    assert_eq!(
        (again.status.as_u16(), again.error_code()),
        (409, "demo_running".to_owned())
    );
    assert_eq!(
        get(hub.addr, "/api/demo/status", None).await.json(),
        json!({"isRunning": true, "intervalSeconds": 1})
    );
    let mut types = Vec::new();
    while types.len() < 2 {
        let event = stream
            .next(Duration::from_secs(4))
            .await
            .expect("demo events keep coming");
        types.push(event.event);
    }
    assert_eq!(types, ["alert", "dataUpdate"]);
    let stop = post_json(hub.addr, "/api/demo/stop", None, json!({})).await;
    assert_eq!(
        (stop.status.as_u16(), stop.json()),
        (200, json!({"isRunning": false}))
    );
    // A start with no body uses the default interval.
    let start = request(hub.addr, Method::POST, "/api/demo/start", &[], None).await;
    assert_eq!(start.json()["intervalSeconds"], 5);
}

#[tokio::test]
async fn cors_allows_configured_origins_and_answers_preflights() {
    let hub = TestHub::builder()
        .config(|c| c.cors_origins = vec!["https://app.example".into()])
        .start()
        .await;
    let preflight = request(
        hub.addr,
        Method::OPTIONS,
        "/api/sse/broadcast",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
        ],
        None,
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(preflight.headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("x-api-key"));
    let allowed = request(
        hub.addr,
        Method::GET,
        "/api/sse/stats",
        &[("origin", "https://app.example")],
        None,
    )
    .await;
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://app.example"
    );
    let other = request(
        hub.addr,
        Method::GET,
        "/api/sse/stats",
        &[("origin", "https://evil.example")],
        None,
    )
    .await;
    assert!(other.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_spa_is_served_with_client_side_route_fallback() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>ssehub</title>",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/app.js"), "console.log(1)").unwrap();
    let root = dir.path().to_path_buf();
    let hub = TestHub::builder()
        .config(|c| c.static_dir = Some(root))
        .start()
        .await;
    let index = get(hub.addr, "/", None).await;
    assert_eq!(index.status, 200);
    assert!(index.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(index.body.contains("<title>ssehub</title>"));
    let script = get(hub.addr, "/assets/app.js", None).await;
    assert_eq!(
        script.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(script.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let route = get(hub.addr, "/examples/checkpoint", None).await;
    assert!(
        route.body.contains("<title>ssehub</title>"),
        "client-side routes get index.html"
    );
    assert_eq!(get(hub.addr, "/assets/missing.js", None).await.status, 404);
    assert_eq!(
        get(hub.addr, "/%2e%2e/%2e%2e/etc/passwd", None)
            .await
            .status,
        404
    );
    assert_eq!(
        get(hub.addr, "/api/unknown", None).await.status,
        404,
        "API paths never fall back to the SPA"
    );
}

#[tokio::test]
async fn symlinks_cannot_escape_the_static_dir() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<title>spa</title>").unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        dir.path().join("leak.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("assets/out")).unwrap();
    let root = dir.path().to_path_buf();
    let hub = TestHub::builder()
        .config(|c| c.static_dir = Some(root))
        .start()
        .await;
    for path in ["/leak.txt", "/assets/out/secret.txt"] {
        let reply = get(hub.addr, path, None).await;
        assert_eq!(reply.status, 404, "{path}: {}", reply.body);
        assert!(!reply.body.contains("top secret"), "{path}");
    }
}

#[tokio::test]
async fn only_real_hashed_assets_are_cached_forever() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<title>spa</title>").unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/app-1a2b.js"), "1").unwrap();
    let root = dir.path().to_path_buf();
    let hub = TestHub::builder()
        .config(|c| c.static_dir = Some(root))
        .start()
        .await;
    let asset = get(hub.addr, "/assets/app-1a2b.js", None).await;
    assert!(asset.headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    // No extension: a client-side route, answered with index.html, which must stay fresh.
    let fallback = get(hub.addr, "/assets/route", None).await;
    assert!(fallback.body.contains("<title>spa</title>"));
    assert_eq!(fallback.headers["cache-control"], "no-cache");
}

#[tokio::test]
async fn shutdown_ends_streams_with_a_comment_and_flushes_acks() {
    let hub = TestHub::start().await;
    let (mut stream, _) = hub.subscribe("/api/sse/connect?clientId=z", &[]).await;
    hub.broadcast("message", json!(1), None).await;
    assert_eq!(stream.expect().await.sequence(), Some(1));
    let ack = post_json(
        hub.addr,
        "/api/sse/ack",
        None,
        json!({"clientId": "z", "sequence": 1}),
    )
    .await;
    assert_eq!(ack.status, 204);
    let store = hub.store.clone();
    let stopping = tokio::spawn(hub.stop());
    assert!(
        stream.until_end(Duration::from_secs(5)).await,
        "the stream ends"
    );
    assert!(
        stream.comments().iter().any(|c| c == "shutdown"),
        "{:?}",
        stream.comments()
    );
    stopping.await.unwrap();
    let z = ssehub::event::ClientId::new("z").unwrap();
    assert_eq!(
        store.load_checkpoint(&z).await.unwrap().map(|s| s.0),
        Some(1),
        "acks flushed at shutdown"
    );
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_does_not_hold_shutdown() {
    let hub = TestHub::builder()
        .config(|c| {
            c.header_read_timeout = std::time::Duration::from_secs(60);
            c.shutdown_grace = std::time::Duration::from_secs(30);
        })
        .start()
        .await;
    let _idle = tokio::net::TcpStream::connect(hub.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    hub.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
}
