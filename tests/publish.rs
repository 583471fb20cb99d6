//! Every publish endpoint: success, the event it produces, and its bad inputs; key scopes.

mod support;

use http::Method;
use serde_json::{json, Value};
use support::{post_json, request, TestHub, PUBLISH_KEY, SUBSCRIBE_KEY};

#[tokio::test]
async fn each_endpoint_publishes_its_event_shape() {
    let hub = TestHub::start().await;
    let (mut stream, _) = hub.subscribe("/api/sse/connect?clientId=c1", &[]).await;
    let cases: Vec<(&str, Value, &str, Value)> = vec![
        (
            "/api/sse/broadcast",
            json!({"data": {"a": 1}}),
            "message",
            json!({"data": {"a": 1}}),
        ),
        (
            "/api/sse/broadcast",
            json!({"eventType": "order.created", "data": [1, "x"], "extra": true}),
            "order.created",
            json!({"data": [1, "x"]}),
        ),
        (
            "/api/sse/send/c1",
            json!({"eventType": "private", "data": "hello"}),
            "private",
            json!({"data": "hello"}),
        ),
        (
            "/api/sse/notification",
            json!({"message": "hi"}),
            "notification",
            json!({"message": "hi", "severity": "info"}),
        ),
        (
            "/api/sse/notification/c1",
            json!({"message": "yo", "severity": "warning"}),
            "notification",
            json!({"message": "yo", "severity": "warning"}),
        ),
        (
            "/api/sse/alert",
            json!({"message": "disk"}),
            "alert",
            json!({"message": "disk", "severity": "high", "category": "system"}),
        ),
        (
            "/api/sse/alert/c1",
            json!({"message": "cpu", "severity": "low", "category": "infra"}),
            "alert",
            json!({"message": "cpu", "severity": "low", "category": "infra"}),
        ),
        (
            "/api/sse/data-update",
            json!({"entityId": "42", "entityType": "order"}),
            "dataUpdate",
            json!({"entityId": "42", "entityType": "order", "changes": {}}),
        ),
        (
            "/api/sse/data-update/c1",
            json!({"entityId": "7", "entityType": "user", "changes": {"name": "Ann"}}),
            "dataUpdate",
            json!({"entityId": "7", "entityType": "user", "changes": {"name": "Ann"}}),
        ),
    ];
    let mut last = 0;
    for (path, body, event_type, fields) in cases {
        let reply = post_json(hub.addr, path, None, body).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let sequence = reply.json()["sequence"].as_u64().unwrap();
        assert!(sequence > last, "sequences increase");
        last = sequence;
        assert!(uuid::Uuid::parse_str(reply.json()["messageId"].as_str().unwrap()).is_ok());
        let event = stream.expect().await;
        assert_eq!(event.sequence(), Some(sequence));
        assert_eq!(event.event, event_type);
        let data = event.json();
        assert_eq!(data["_sequence"], sequence);
        assert_eq!(data["type"], event_type);
        assert_eq!(data["version"], "1.0");
        assert_eq!(data["messageId"], reply.json()["messageId"]);
        assert!(data["timestamp"].as_str().unwrap().ends_with('Z'));
        for (name, value) in fields.as_object().unwrap() {
            assert_eq!(&data[name], value, "{path}: field {name}");
        }
        assert!(
            data.get("extra").is_none(),
            "unknown fields are ignored, not forwarded"
        );
    }
}

async fn expect_error(
    hub: &TestHub,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    status: u16,
    code: &str,
) {
    let reply = request(hub.addr, Method::POST, path, headers, Some(body.to_owned())).await;
    assert_eq!(reply.status, status, "{path} {body}: {}", reply.body);
    assert_eq!(reply.error_code(), code, "{path} {body}");
    assert_eq!(reply.headers["content-type"], "application/json");
}

#[tokio::test]
async fn bad_publishes_get_json_errors_and_store_nothing() {
    let hub = TestHub::builder()
        .config(|c| c.max_body_bytes = 1024)
        .start()
        .await;
    let json = [("content-type", "application/json")];
    let cases: &[(&str, &str, u16, &str)] = &[
        ("/api/sse/broadcast", "{not json", 400, "invalid_json"),
        ("/api/sse/broadcast", "[1,2]", 400, "invalid_body"),
        ("/api/sse/broadcast", "", 400, "missing_body"),
        (
            "/api/sse/broadcast",
            r#"{"eventType":"x"}"#,
            400,
            "missing_field",
        ),
        (
            "/api/sse/broadcast",
            r#"{"data":null}"#,
            400,
            "missing_field",
        ),
        ("/api/sse/broadcast", r#"{"data":""}"#, 400, "invalid_field"),
        (
            "/api/sse/broadcast",
            r#"{"eventType":"a\nb","data":1}"#,
            400,
            "invalid_event_type",
        ),
        (
            "/api/sse/broadcast",
            r#"{"eventType":"a\r\ndata: x","data":1}"#,
            400,
            "invalid_event_type",
        ),
        (
            "/api/sse/broadcast",
            r#"{"eventType":"","data":1}"#,
            400,
            "invalid_event_type",
        ),
        (
            "/api/sse/broadcast",
            r#"{"eventType":5,"data":1}"#,
            400,
            "invalid_event_type",
        ),
        (
            "/api/sse/broadcast",
            r#"{"eventType":"connected","data":1}"#,
            400,
            "invalid_event_type",
        ),
        (
            "/api/sse/send/bad%20id",
            r#"{"data":1}"#,
            400,
            "invalid_client_id",
        ),
        ("/api/sse/send", r#"{"data":1}"#, 400, "missing_client_id"),
        ("/api/sse/notification", r#"{}"#, 400, "missing_field"),
        (
            "/api/sse/notification",
            r#"{"message":3}"#,
            400,
            "invalid_field",
        ),
        (
            "/api/sse/notification",
            r#"{"message":"  "}"#,
            400,
            "invalid_field",
        ),
        (
            "/api/sse/alert",
            r#"{"message":"x","severity":true}"#,
            400,
            "invalid_field",
        ),
        (
            "/api/sse/data-update",
            r#"{"entityId":"1"}"#,
            400,
            "missing_field",
        ),
        (
            "/api/sse/data-update",
            r#"{"entityId":"1","entityType":"t","changes":"x"}"#,
            400,
            "invalid_field",
        ),
    ];
    for (path, body, status, code) in cases {
        expect_error(&hub, path, &json, body, *status, code).await;
    }
    let big = format!(r#"{{"data":"{}"}}"#, "x".repeat(2000));
    expect_error(
        &hub,
        "/api/sse/broadcast",
        &json,
        &big,
        413,
        "payload_too_large",
    )
    .await;
    expect_error(
        &hub,
        "/api/sse/broadcast",
        &[("content-type", "text/plain")],
        r#"{"data":1}"#,
        415,
        "unsupported_media_type",
    )
    .await;
    expect_error(
        &hub,
        "/api/sse/broadcast",
        &[],
        r#"{"data":1}"#,
        415,
        "unsupported_media_type",
    )
    .await;
    assert_eq!(hub.store.head().await.unwrap().0, 0, "nothing was stored");
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_json_errors() {
    let hub = TestHub::start().await;
    let reply = request(hub.addr, Method::GET, "/api/nope", &[], None).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (404, "not_found")
    );
    let reply = request(hub.addr, Method::GET, "/api/sse/broadcast", &[], None).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (405, "method_not_allowed")
    );
    assert_eq!(reply.headers["allow"], "POST, OPTIONS");
    let reply = request(hub.addr, Method::DELETE, "/api/sse/connect", &[], None).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.headers["allow"], "GET, HEAD, OPTIONS");
    let reply = request(hub.addr, Method::PUT, "/api/demo/start", &[], None).await;
    assert_eq!(reply.status, 405);
    let reply = request(hub.addr, Method::GET, "/no-spa-configured", &[], None).await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn keys_are_required_and_scoped() {
    let hub = TestHub::builder().keys().start().await;
    let body = json!({"data": 1});
    let reply = post_json(hub.addr, "/api/sse/broadcast", None, body.clone()).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (401, "missing_api_key")
    );
    let reply = post_json(hub.addr, "/api/sse/broadcast", Some("wrong"), body.clone()).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (401, "invalid_api_key")
    );
    let reply = post_json(
        hub.addr,
        "/api/sse/broadcast",
        Some(SUBSCRIBE_KEY),
        body.clone(),
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code().as_str()),
        (403, "insufficient_scope")
    );
    let reply = post_json(
        hub.addr,
        "/api/sse/broadcast",
        Some(PUBLISH_KEY),
        body.clone(),
    )
    .await;
    assert_eq!(reply.status, 200);

    // Bearer and query-parameter forms.
    let bearer = format!("Bearer {PUBLISH_KEY}");
    let headers = [
        ("content-type", "application/json"),
        ("authorization", bearer.as_str()),
    ];
    let reply = request(
        hub.addr,
        Method::POST,
        "/api/sse/broadcast",
        &headers,
        Some(body.to_string()),
    )
    .await;
    assert_eq!(reply.status, 200);
    let path = format!("/api/sse/broadcast?apikey={PUBLISH_KEY}");
    let reply = request(
        hub.addr,
        Method::POST,
        &path,
        &headers[..1],
        Some(body.to_string()),
    )
    .await;
    assert_eq!(reply.status, 200);

    // Subscribe scope: connect, ack, stats, demo status; not demo start.
    for path in ["/api/sse/stats", "/api/demo/status"] {
        assert_eq!(
            support::get(hub.addr, path, Some(SUBSCRIBE_KEY))
                .await
                .status,
            200,
            "{path}"
        );
        assert_eq!(
            support::get(hub.addr, path, None).await.status,
            401,
            "{path}"
        );
    }
    let ack = json!({"clientId": "c", "sequence": 1});
    assert_eq!(
        post_json(hub.addr, "/api/sse/ack", Some(SUBSCRIBE_KEY), ack)
            .await
            .status,
        204
    );
    let reply = post_json(hub.addr, "/api/demo/start", Some(SUBSCRIBE_KEY), json!({})).await;
    assert_eq!(reply.status, 403);
    let reply = support::get(hub.addr, "/api/sse/connect", None).await;
    assert_eq!(reply.status, 401);
    let path = format!("/api/sse/connect?apikey={SUBSCRIBE_KEY}");
    let (_stream, connected) = hub.subscribe(&path, &[]).await;
    assert!(connected["clientId"].as_str().is_some());
    // Health and metrics need no key.
    for path in ["/health/live", "/health/ready", "/metrics"] {
        assert_eq!(
            support::get(hub.addr, path, None).await.status,
            200,
            "{path}"
        );
    }
}

#[tokio::test]
async fn client_ids_in_paths_are_percent_decoded_and_numbers_may_be_whole_floats() {
    let hub = TestHub::start().await;
    let (mut stream, _) = hub
        .subscribe("/api/sse/connect?clientId=alice%40example.com", &[])
        .await;
    let reply = post_json(
        hub.addr,
        "/api/sse/send/alice%40example.com",
        None,
        json!({"data": "hi"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(stream.expect().await.json()["data"], "hi");
    let reply = post_json(
        hub.addr,
        "/api/sse/send/bad%zz",
        None,
        json!({"data": "hi"}),
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (400, "invalid_client_id".to_owned())
    );
    let ack = post_json(
        hub.addr,
        "/api/sse/ack",
        None,
        json!({"clientId": "alice@example.com", "sequence": 1.0}),
    )
    .await;
    assert_eq!(ack.status, 204);
    let start = post_json(
        hub.addr,
        "/api/demo/start",
        None,
        json!({"intervalSeconds": 30.0}),
    )
    .await;
    assert_eq!(start.json()["intervalSeconds"], 30);
}

#[tokio::test]
async fn a_stream_request_with_a_body_is_refused() {
    let hub = TestHub::start().await;
    let reply = request(
        hub.addr,
        Method::GET,
        "/api/sse/connect",
        &[("content-type", "text/plain")],
        Some("x".into()),
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (400, "body_not_allowed".to_owned())
    );
    assert_eq!(hub.node.connections(), 0);
}
