//! Presence (`GET /api/sse/presence`): on one node exact, from the registry; in a cluster on
//! FerretDB, every node's clients as they last reported through the store. Grants bound what
//! a caller may ask for and what it is shown.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::cluster::{database, Ferret, Node};
use support::{get, post_json, TestHub, PUBLISH_KEY, SUBSCRIBE_KEY};

async fn keyed_hub() -> TestHub {
    TestHub::builder()
        .keys()
        .config(|c| {
            c.token_secret = Some("a-test-secret-of-some-length".into());
            c.node_id = Some("solo".into());
        })
        .start()
        .await
}

async fn token(addr: std::net::SocketAddr, client: &str, topics: Value) -> String {
    let body = json!({"clientId": client, "topics": topics});
    let reply = post_json(addr, "/api/sse/token", Some(PUBLISH_KEY), body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["token"].as_str().unwrap().to_owned()
}

/// (client, node, topics, streams) of every row of `path`.
async fn rows(
    addr: std::net::SocketAddr,
    path: &str,
    key: Option<&str>,
) -> Vec<(String, String, Value, u64)> {
    let reply = get(addr, path, key).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.json()["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert!(c["connectedAt"].as_str().unwrap().ends_with('Z'), "{c}");
            (
                c["clientId"].as_str().unwrap().to_owned(),
                c["node"].as_str().unwrap().to_owned(),
                c["topics"].clone(),
                c["streams"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn row(client: &str, node: &str, topics: Value, streams: u64) -> (String, String, Value, u64) {
    (client.into(), node.into(), topics, streams)
}

#[tokio::test]
async fn one_node_lists_exactly_the_clients_on_matching_topics() {
    let hub = keyed_hub().await;
    let key = Some(SUBSCRIBE_KEY);
    let open = |client: &str, topics: &[&str]| {
        let mut path = format!("/api/sse/connect?clientId={client}&apikey={SUBSCRIBE_KEY}");
        for t in topics {
            path.push_str(&format!("&topic={t}"));
        }
        path
    };
    let (_ann1, _) = hub.subscribe(&open("ann", &["org/42/room1"]), &[]).await;
    let (_ann2, _) = hub
        .subscribe(&open("ann", &["org/42/room2", "news"]), &[])
        .await;
    let (_bob, _) = hub.subscribe(&open("bob", &["org/*"]), &[]).await;
    let (_cat, _) = hub.subscribe(&open("cat", &["org/43/room1"]), &[]).await;
    // No topics: never in presence.
    let (_dan, _) = hub.subscribe(&open("dan", &[]), &[]).await;

    let everyone = rows(hub.addr, "/api/sse/presence?topic=*", key).await;
    assert_eq!(
        everyone,
        [
            row(
                "ann",
                "solo",
                json!(["news", "org/42/room1", "org/42/room2"]),
                2
            ),
            row("bob", "solo", json!(["org/*"]), 1),
            row("cat", "solo", json!(["org/43/room1"]), 1),
        ]
    );
    // A selector meets prefixes and exact topics both ways.
    let org42 = rows(hub.addr, "/api/sse/presence?topic=org/42/*", key).await;
    assert_eq!(
        org42,
        [
            row("ann", "solo", json!(["org/42/room1", "org/42/room2"]), 2),
            row("bob", "solo", json!(["org/*"]), 1),
        ]
    );
    let exact = rows(
        hub.addr,
        "/api/sse/presence?topic=org/43/room1&topic=news",
        key,
    )
    .await;
    assert_eq!(
        exact,
        [
            row("ann", "solo", json!(["news"]), 2),
            row("bob", "solo", json!(["org/*"]), 1),
            row("cat", "solo", json!(["org/43/room1"]), 1),
        ]
    );
    assert!(rows(hub.addr, "/api/sse/presence?topic=nobody", key)
        .await
        .is_empty());

    // Paged by an opaque cursor.
    let first = get(hub.addr, "/api/sse/presence?topic=*&limit=2", key)
        .await
        .json();
    assert_eq!(first["clients"].as_array().unwrap().len(), 2);
    let next = first["next"].as_str().unwrap().to_owned();
    let second = get(
        hub.addr,
        &format!("/api/sse/presence?topic=*&limit=2&after={next}"),
        key,
    )
    .await
    .json();
    assert_eq!(second["clients"][0]["clientId"], "cat");
    assert_eq!(second["next"], Value::Null);

    // A stream that ends leaves presence at once on its own node.
    drop(_cat);
    let want = [row("bob", "solo", json!(["org/*"]), 1)];
    eventually_rows(hub.addr, "/api/sse/presence?topic=org/43/*", key, &want).await;
}

#[tokio::test]
async fn presence_answers_within_the_callers_grant() {
    let hub = keyed_hub().await;
    let (_bob, _) = hub
        .subscribe(
            &format!("/api/sse/connect?clientId=bob&apikey={SUBSCRIBE_KEY}&topic=org/*"),
            &[],
        )
        .await;
    let (_ann, _) = hub
        .subscribe(
            &format!("/api/sse/connect?clientId=ann&apikey={SUBSCRIBE_KEY}&topic=org/42/room1&topic=secret/x"),
            &[],
        )
        .await;
    let narrow = token(hub.addr, "viewer", json!(["org/42/*"])).await;
    let reply = get(
        hub.addr,
        &format!("/api/sse/presence?token={narrow}&topic=*"),
        None,
    )
    .await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (403, "topic_not_granted".into())
    );
    assert!(reply.json()["message"].as_str().unwrap().contains("`*`"));
    // Within the grant: bob asks for `org/*`, which the grant does not cover, so he is shown
    // with the asked selector; ann's `secret/x` never shows.
    let seen = rows(
        hub.addr,
        &format!("/api/sse/presence?token={narrow}&topic=org/42/*"),
        None,
    )
    .await;
    assert_eq!(
        seen,
        [
            row("ann", "solo", json!(["org/42/room1"]), 1),
            row("bob", "solo", json!(["org/42/*"]), 1)
        ]
    );
    let none = token(hub.addr, "nobody", json!(null)).await;
    let reply = get(
        hub.addr,
        &format!("/api/sse/presence?token={none}&topic=org/42/a"),
        None,
    )
    .await;
    assert_eq!(reply.error_code(), "topic_not_granted");
}

#[tokio::test]
async fn bad_presence_requests_are_clear_400s_and_401s() {
    let hub = keyed_hub().await;
    let key = Some(SUBSCRIBE_KEY);
    for (path, code) in [
        ("/api/sse/presence", "invalid_topic"),
        ("/api/sse/presence?topic=a*b", "invalid_topic"),
        ("/api/sse/presence?topic=*&limit=0", "invalid_field"),
        ("/api/sse/presence?topic=*&limit=1001", "invalid_field"),
        ("/api/sse/presence?topic=*&after=%%%", "invalid_field"),
        (
            "/api/sse/presence?topic=*&after=bm8tbmV3bGluZQ",
            "invalid_field",
        ),
    ] {
        let reply = get(hub.addr, path, key).await;
        assert_eq!(
            (reply.status.as_u16(), reply.error_code()),
            (400, code.into()),
            "{path}"
        );
    }
    let reply = get(hub.addr, "/api/sse/presence?topic=*", None).await;
    assert_eq!(
        (reply.status.as_u16(), reply.error_code()),
        (401, "missing_api_key".into())
    );
    let reply =
        support::request(hub.addr, http::Method::POST, "/api/sse/presence", &[], None).await;
    assert_eq!(reply.status, 405);
}

/// Polls `path` on `addr` until its rows are `want` (presence across nodes is eventual).
async fn eventually_rows(
    addr: std::net::SocketAddr,
    path: &str,
    key: Option<&str>,
    want: &[(String, String, Value, u64)],
) {
    let started = Instant::now();
    loop {
        let got = rows(addr, path, key).await;
        if got == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{path} on {addr}: {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn a_cluster_lists_every_nodes_clients_through_the_store() {
    let ferret = Ferret::start();
    let db = database("presence");
    let n1 = Node::start("n1", &ferret.uri, &db, &[]).await;
    let n2 = Node::start("n2", &ferret.uri, &db, &[]).await;
    let a = support::SseStream::open(
        n1.addr,
        "/api/sse/connect?clientId=ann&topic=org/42/room1",
        &[],
    )
    .await;
    let b = support::SseStream::open(n2.addr, "/api/sse/connect?clientId=bob&topic=org/42/*", &[])
        .await;
    let b2 = support::SseStream::open(
        n2.addr,
        "/api/sse/connect?clientId=ann&topic=org/42/room2",
        &[],
    )
    .await;
    let _c =
        support::SseStream::open(n2.addr, "/api/sse/connect?clientId=cat&topic=other", &[]).await;
    assert!([&a, &b, &b2].iter().all(|s| s.status == 200));
    let want = [
        row("ann", "n1", json!(["org/42/room1"]), 1),
        row("ann", "n2", json!(["org/42/room2"]), 1),
        row("bob", "n2", json!(["org/42/*"]), 1),
    ];
    // Both nodes give the same answer: their own clients exactly, the other's as reported.
    for node in [&n1, &n2] {
        eventually_rows(node.addr, "/api/sse/presence?topic=org/42/*", None, &want).await;
    }
    // A client that leaves another node leaves its presence within a few seconds.
    drop(b);
    let want = [
        row("ann", "n1", json!(["org/42/room1"]), 1),
        row("ann", "n2", json!(["org/42/room2"]), 1),
    ];
    eventually_rows(n1.addr, "/api/sse/presence?topic=org/42/*", None, &want).await;
    // A node that dies leaves presence once its reports are stale.
    let mut n2 = n2;
    n2.kill();
    drop(b2);
    let want = [row("ann", "n1", json!(["org/42/room1"]), 1)];
    eventually_rows(n1.addr, "/api/sse/presence?topic=org/42/*", None, &want).await;
    drop(a);
}
