//! A cluster on a real MongoDB-wire server (FerretDB): several `ssehub` processes share one
//! outbox. Every subscriber's received sequences must equal the global list restricted to
//! what it may see: strictly increasing, no gaps, no duplicates. Through node loss, through a
//! database outage, and with sequence numbers that appear late or never.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mongodb::bson::{doc, spec::BinarySubtype, Binary, DateTime, Document};
use parking_lot::Mutex;
use serde_json::json;
use ssehub::outbox::mongo::{MongoOptions, MongoStore};
use support::cluster::{database, Ferret, Node};
use support::{post_json, SseStream, TestHub};

/// One answered publish.
#[derive(Debug, Clone)]
struct Published {
    sequence: u64,
    event_type: &'static str,
    target: Option<String>,
}

/// What a subscriber asked for.
#[derive(Debug, Clone)]
struct Interest {
    client: String,
    filter: Option<&'static str>,
}

impl Interest {
    fn path(&self) -> String {
        let mut path = format!("/api/sse/connect?clientId={}", self.client);
        if let Some(filter) = self.filter {
            path.push_str(&format!("&filter={filter}"));
        }
        path
    }

    fn sees(&self, event: &Published) -> bool {
        event.target.as_ref().is_none_or(|t| *t == self.client)
            && self.filter.is_none_or(|f| f == event.event_type)
    }
}

fn expected(published: &[Published], interest: &Interest, after: u64) -> Vec<u64> {
    let mut sequences: Vec<u64> = published
        .iter()
        .filter(|p| p.sequence > after && interest.sees(p))
        .map(|p| p.sequence)
        .collect();
    sequences.sort_unstable();
    sequences
}

/// A subscriber that reads in its own task, reconnecting to `fallback` with `Last-Event-ID`
/// when its stream ends (node loss), until `done` is set and it has been idle for a while.
fn subscribe(
    interest: Interest,
    mut stream: SseStream,
    fallback: std::net::SocketAddr,
    done: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<u64>> {
    tokio::spawn(async move {
        let mut got: Vec<u64> = Vec::new();
        let mut idle = 0;
        loop {
            match stream.next(Duration::from_millis(500)).await {
                Some(event) => {
                    got.extend(event.sequence());
                    idle = 0;
                }
                None if stream.ended => {
                    let last = got.last().copied().unwrap_or(0).to_string();
                    let headers = [("last-event-id", last.as_str())];
                    let mut next = SseStream::open(fallback, &interest.path(), &headers).await;
                    assert_eq!(next.status, 200);
                    next.connected().await;
                    stream = next;
                }
                None => {
                    idle += 1;
                    // Quiet for 5 s after the last publish: longer than any gap timeout used here.
                    if done.load(Ordering::Acquire) && idle >= 10 {
                        return got;
                    }
                }
            }
        }
    })
}

/// `publishers` tasks, each publishing `per_publisher` events round-robin over `nodes`
/// (one in ten targeted at `c0..c2`), pausing `pace` between publishes. Returns the answered
/// publishes and how many were refused with 503.
async fn publish(
    nodes: Vec<std::net::SocketAddr>,
    publishers: usize,
    per_publisher: usize,
    pace: Duration,
) -> (Vec<Published>, usize) {
    let answered = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(Mutex::new(0usize));
    let mut tasks = Vec::new();
    for p in 0..publishers {
        let (nodes, answered, refused) = (nodes.clone(), answered.clone(), refused.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..per_publisher {
                let node = nodes[(p + i) % nodes.len()];
                let event_type = if i.is_multiple_of(2) { "even" } else { "odd" };
                let target = (i % 10 == 3).then(|| format!("c{}", (p + i) % 3));
                let path = match &target {
                    Some(client) => format!("/api/sse/send/{client}"),
                    None => "/api/sse/broadcast".to_owned(),
                };
                let body = json!({"eventType": event_type, "data": {"p": p, "i": i}});
                let reply = match tokio::time::timeout(
                    Duration::from_secs(30),
                    post_json(node, &path, None, body),
                )
                .await
                {
                    Ok(reply) => reply,
                    Err(_) => panic!("a publish hung for 30 s"),
                };
                match reply.status.as_u16() {
                    200 => answered.lock().push(Published {
                        sequence: reply.json()["sequence"].as_u64().unwrap(),
                        event_type,
                        target,
                    }),
                    503 => {
                        assert_eq!(reply.error_code(), "store_unavailable");
                        *refused.lock() += 1;
                    }
                    other => panic!("unexpected status {other}: {}", reply.body),
                }
                tokio::time::sleep(pace).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let answered = answered.lock().clone();
    let refused = *refused.lock();
    (answered, refused)
}

fn assert_exact(published: &[Published], interests: &[(Interest, u64)], received: &[Vec<u64>]) {
    let mut all: Vec<u64> = published.iter().map(|p| p.sequence).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        all.len(),
        published.len(),
        "no sequence was handed out twice"
    );
    for ((interest, after), got) in interests.iter().zip(received) {
        let want = expected(published, interest, *after);
        assert!(!want.is_empty(), "{interest:?} expected something");
        assert_eq!(got, &want, "{interest:?} (from {after})");
    }
}

async fn open(node: std::net::SocketAddr, interest: &Interest) -> (SseStream, u64) {
    let mut stream = SseStream::open(node, &interest.path(), &[]).await;
    assert_eq!(stream.status, 200);
    let connected = stream.connected().await;
    (stream, connected["headSequence"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn three_nodes_deliver_one_global_order_exactly_once() {
    let ferret = Ferret::start();
    let db = database("cluster");
    let mut nodes = Vec::new();
    for name in ["a", "b", "c"] {
        nodes.push(Node::start(name, &ferret.uri, &db, &[]).await);
    }
    let addrs: Vec<_> = nodes.iter().map(|n| n.addr).collect();
    let done = Arc::new(AtomicBool::new(false));
    let mut interests = Vec::new();
    let mut readers = Vec::new();
    for (n, node) in addrs.iter().enumerate() {
        for interest in [
            Interest {
                client: format!("c{n}"),
                filter: None,
            },
            Interest {
                client: format!("f{n}"),
                filter: Some("even"),
            },
            Interest {
                client: format!("c{}", (n + 1) % 3),
                filter: Some("odd"),
            },
        ] {
            let (stream, after) = open(*node, &interest).await;
            readers.push(subscribe(interest.clone(), stream, *node, done.clone()));
            interests.push((interest, after));
        }
    }
    let (published, refused) = publish(addrs.clone(), 8, 250, Duration::ZERO).await;
    assert_eq!(refused, 0);
    assert_eq!(published.len(), 2000);
    done.store(true, Ordering::Release);
    let mut received = Vec::new();
    for reader in readers {
        received.push(reader.await.unwrap());
    }
    assert_exact(&published, &interests, &received);
    // Every node reports itself for cluster-wide stats.
    let stats = support::get(addrs[0], "/api/sse/stats", None).await.json();
    assert_eq!(stats["nodes"].as_array().unwrap().len(), 3, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn subscribers_of_a_killed_node_resume_on_another_exactly_once() {
    let ferret = Ferret::start();
    let db = database("nodeloss");
    let mut doomed = Node::start("doomed", &ferret.uri, &db, &[]).await;
    let b = Node::start("b", &ferret.uri, &db, &[]).await;
    let c = Node::start("c", &ferret.uri, &db, &[]).await;
    let done = Arc::new(AtomicBool::new(false));
    let mut interests = Vec::new();
    let mut readers = Vec::new();
    for interest in [
        Interest {
            client: "c0".into(),
            filter: None,
        },
        Interest {
            client: "c1".into(),
            filter: Some("even"),
        },
        Interest {
            client: "x".into(),
            filter: None,
        },
    ] {
        let (stream, after) = open(doomed.addr, &interest).await;
        readers.push(subscribe(interest.clone(), stream, b.addr, done.clone()));
        interests.push((interest, after));
    }
    let publishing = tokio::spawn(publish(
        vec![b.addr, c.addr],
        4,
        150,
        Duration::from_millis(5),
    ));
    tokio::time::sleep(Duration::from_millis(700)).await;
    doomed.kill();
    let (published, refused) = publishing.await.unwrap();
    assert_eq!(refused, 0);
    done.store(true, Ordering::Release);
    let mut received = Vec::new();
    for reader in readers {
        received.push(reader.await.unwrap());
    }
    assert!(received.iter().all(|r| r.len() > 10));
    assert_exact(&published, &interests, &received);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn a_database_outage_refuses_publishes_and_loses_no_answered_one() {
    let ferret = Ferret::start();
    let db = database("outage");
    // A publish that fails after reserving its numbers leaves a hole that never fills: every
    // node holds dispatch there for the gap timeout. Keep it short so the test need not wait
    // the default 10 s per hole.
    let gap = ["--gap-timeout-ms", "1500"];
    let a = Node::start("a", &ferret.uri, &db, &gap).await;
    let b = Node::start("b", &ferret.uri, &db, &gap).await;
    let done = Arc::new(AtomicBool::new(false));
    let mut interests = Vec::new();
    let mut readers = Vec::new();
    for (node, interest) in [
        (
            a.addr,
            Interest {
                client: "c0".into(),
                filter: None,
            },
        ),
        (
            b.addr,
            Interest {
                client: "c1".into(),
                filter: None,
            },
        ),
        (
            b.addr,
            Interest {
                client: "c2".into(),
                filter: Some("odd"),
            },
        ),
    ] {
        let (stream, after) = open(node, &interest).await;
        readers.push(subscribe(interest.clone(), stream, node, done.clone()));
        interests.push((interest, after));
    }
    let publishing = tokio::spawn(publish(
        vec![a.addr, b.addr],
        4,
        120,
        Duration::from_millis(20),
    ));
    tokio::time::sleep(Duration::from_millis(600)).await;
    ferret.stop();
    let mut saw_unready = false;
    for _ in 0..100 {
        if support::get(a.addr, "/health/ready", None).await.status == 503 {
            saw_unready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        saw_unready,
        "readiness turns 503 while the database is away"
    );
    // Longer than the store's server-selection timeout (3 s): a shorter outage is ridden out
    // by the driver, publishes merely wait, and nothing needs refusing.
    tokio::time::sleep(Duration::from_secs(4)).await;
    ferret.restart();
    let (published, refused) = publishing.await.unwrap();
    assert!(
        refused > 0,
        "publishes during the outage were refused with 503"
    );
    assert!(!published.is_empty());
    done.store(true, Ordering::Release);
    let mut received = Vec::new();
    for reader in readers {
        received.push(reader.await.unwrap());
    }
    // A publish that timed out or failed halfway may still have been stored: it was never
    // answered 2xx, so it was not promised, but once stored it is part of the global order.
    // So the oracle is the outbox itself, and every answered publish must be in it.
    let stored = outbox(&ferret.uri, &db).await;
    let stored_sequences: std::collections::HashSet<u64> =
        stored.iter().map(|p| p.sequence).collect();
    for answered in &published {
        assert!(
            stored_sequences.contains(&answered.sequence),
            "answered publish {} was lost",
            answered.sequence
        );
    }
    assert_exact(&stored, &interests, &received);
    for _ in 0..100 {
        if support::get(a.addr, "/health/ready", None).await.status == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("readiness did not come back after the outage");
}

/// Every event in the cluster's outbox, as the oracle's `Published`.
async fn outbox(uri: &str, db: &str) -> Vec<Published> {
    let store = MongoStore::connect(uri, db, MongoOptions::default())
        .await
        .unwrap();
    let mut all = Vec::new();
    let mut after = ssehub::event::Sequence::ZERO;
    loop {
        let page =
            ssehub::outbox::EventLog::read_after(&store, after, ssehub::outbox::Page::events(500))
                .await
                .unwrap();
        let Some(last) = page.last() else { return all };
        after = last.sequence;
        all.extend(page.into_iter().map(|e| Published {
            sequence: e.sequence.0,
            event_type: if e.event_type.as_str() == "even" {
                "even"
            } else {
                "odd"
            },
            target: e.target.map(|t| t.to_string()),
        }));
    }
}

/// Reserves `sequence` the way a node does on FerretDB (a one-number block), without
/// inserting its event: another node that died, or one whose insert is still in flight.
async fn reserve(uri: &str, db: &str, sequence: i64) -> mongodb::Database {
    let client = mongodb::Client::with_uri_str(uri).await.unwrap();
    let db = client.database(db);
    db.collection::<Document>("sequence_blocks")
        .insert_one(doc! { "_id": sequence, "last": sequence, "reservedAt": DateTime::now() })
        .await
        .unwrap();
    db
}

async fn gap_hub(ferret: &Ferret, db: &str, gap_timeout_ms: u64) -> TestHub {
    let store = MongoStore::connect(&ferret.uri, db, MongoOptions::default())
        .await
        .unwrap();
    TestHub::builder()
        .store(Arc::new(store))
        .config(|c| c.gap_timeout = std::time::Duration::from_millis(gap_timeout_ms))
        .start()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn a_late_sequence_holds_dispatch_until_it_appears_then_all_go_in_order() {
    let ferret = Ferret::start();
    let name = database("late");
    let hub = gap_hub(&ferret, &name, 60_000).await;
    let (mut stream, _) = hub.subscribe("/api/sse/connect", &[]).await;
    assert_eq!(hub.broadcast("message", json!(1), None).await, 1);
    assert_eq!(stream.expect().await.sequence(), Some(1));
    let db = reserve(&ferret.uri, &name, 2).await;
    assert_eq!(hub.broadcast("message", json!(3), None).await, 3);
    assert_eq!(
        stream.next(Duration::from_millis(800)).await,
        None,
        "3 waits for the missing 2"
    );
    let late = doc! {
        "_id": 2i64,
        "type": "message",
        "messageId": Binary { subtype: BinarySubtype::Uuid, bytes: uuid::Uuid::new_v4().as_bytes().to_vec() },
        "createdAt": DateTime::now(),
        "fields": "{\"data\":\"late\"}",
    };
    db.collection::<Document>("outbox")
        .insert_one(late)
        .await
        .unwrap();
    let first = stream.expect().await;
    assert_eq!(first.sequence(), Some(2));
    assert_eq!(first.json()["data"], "late");
    assert_eq!(stream.expect().await.sequence(), Some(3));
    assert!(hub
        .node
        .metrics_text()
        .contains("ssehub_gaps_skipped_total 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn a_sequence_that_never_appears_is_skipped_after_the_timeout_and_counted() {
    let ferret = Ferret::start();
    let name = database("never");
    let hub = gap_hub(&ferret, &name, 1500).await;
    let (mut stream, _) = hub.subscribe("/api/sse/connect", &[]).await;
    assert_eq!(hub.broadcast("message", json!(1), None).await, 1);
    assert_eq!(stream.expect().await.sequence(), Some(1));
    reserve(&ferret.uri, &name, 2).await;
    assert_eq!(hub.broadcast("message", json!(3), None).await, 3);
    assert_eq!(
        stream.next(Duration::from_millis(700)).await,
        None,
        "held while within the timeout"
    );
    let event = stream
        .next(Duration::from_secs(5))
        .await
        .expect("released after the timeout");
    assert_eq!(event.sequence(), Some(3));
    assert!(hub
        .node
        .metrics_text()
        .contains("ssehub_gaps_skipped_total 1"));
}

/// The node holding the demo lease, read from the shared database.
async fn lease_holder(uri: &str, db: &str) -> Option<String> {
    let client = mongodb::Client::with_uri_str(uri).await.unwrap();
    let lease = client
        .database(db)
        .collection::<Document>("leases")
        .find_one(doc! { "_id": "demo" })
        .await
        .unwrap()?;
    lease.get_str("holder").ok().map(str::to_owned)
}

/// Demo events on `stream` within `window`.
async fn demo_events(stream: &mut SseStream, window: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + window;
    let mut count = 0;
    while let Some(event) = stream
        .next(deadline.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        if event.sequence().is_some() {
            count += 1;
        }
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn the_demo_generator_runs_on_one_node_and_moves_when_that_node_dies() {
    let ferret = Ferret::start();
    let db = database("demo");
    let mut nodes = [
        Node::start("a", &ferret.uri, &db, &[]).await,
        Node::start("b", &ferret.uri, &db, &[]).await,
    ];
    let start = post_json(
        nodes[0].addr,
        "/api/demo/start",
        None,
        json!({"intervalSeconds": 1}),
    )
    .await;
    assert_eq!(start.status, 200, "{}", start.body);
    // Every node answers alike.
    let status = support::get(nodes[1].addr, "/api/demo/status", None)
        .await
        .json();
    assert_eq!(status, json!({"isRunning": true, "intervalSeconds": 1}));
    let again = post_json(nodes[1].addr, "/api/demo/start", None, json!({})).await;
    assert_eq!(again.status, 409);

    // One generator at one event per second: about 4 in 4 s, not 8.
    let mut watcher = SseStream::open(nodes[1].addr, "/api/sse/connect", &[]).await;
    watcher.connected().await;
    let produced = demo_events(&mut watcher, Duration::from_secs(4)).await;
    assert!(
        (2..=5).contains(&produced),
        "one generator at 1/s produced {produced} in 4 s"
    );

    // Kill the holder; the lease expires and the other node takes over.
    let holder = lease_holder(&ferret.uri, &db)
        .await
        .expect("a node holds the demo lease");
    let dead = nodes.iter().position(|n| n.name == holder).unwrap();
    nodes[dead].kill();
    let survivor = &nodes[1 - dead];
    let mut watcher = SseStream::open(survivor.addr, "/api/sse/connect", &[]).await;
    watcher.connected().await;
    let resumed = demo_events(&mut watcher, Duration::from_secs(10)).await;
    assert!(
        resumed >= 2,
        "the survivor took the lease and generates ({resumed} events in 10 s)"
    );
    assert_eq!(
        lease_holder(&ferret.uri, &db).await.as_deref(),
        Some(survivor.name.as_str())
    );
    let stop = post_json(survivor.addr, "/api/demo/stop", None, json!({})).await;
    assert_eq!(stop.status, 200);
    assert_eq!(
        support::get(survivor.addr, "/api/demo/status", None)
            .await
            .json(),
        json!({"isRunning": false})
    );
}

/// A topic subscriber: its client id and `topic=` selectors (prefixes end in `*`).
struct TopicReader {
    client: &'static str,
    selectors: &'static [&'static str],
}

impl TopicReader {
    fn path(&self) -> String {
        let mut path = format!("/api/sse/connect?clientId={}", self.client);
        for selector in self.selectors {
            path.push_str(&format!("&topic={selector}"));
        }
        path
    }

    /// The one delivery rule, written out independently: the target (if any) is this
    /// client; a topic-scoped event needs a selector matching one of its topics.
    fn sees(&self, target: Option<&str>, topics: &[&str]) -> bool {
        let matches = |selector: &str, topic: &str| match selector.strip_suffix('*') {
            Some(prefix) => topic.starts_with(prefix),
            None => selector == topic,
        };
        target.is_none_or(|t| t == self.client)
            && (topics.is_empty()
                || topics
                    .iter()
                    .any(|topic| self.selectors.iter().any(|s| matches(s, topic))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn topic_events_reach_matching_subscribers_on_every_node_live_and_on_replay() {
    let ferret = Ferret::start();
    let db = database("cluster_topics");
    let mut nodes = Vec::new();
    for name in ["t1", "t2", "t3"] {
        nodes.push(Node::start(name, &ferret.uri, &db, &[]).await);
    }
    let readers = [
        TopicReader {
            client: "ann",
            selectors: &["org/42/*"],
        },
        TopicReader {
            client: "bob",
            selectors: &["org/42/room1"],
        },
        TopicReader {
            client: "cat",
            selectors: &["org/43/*", "news"],
        },
        TopicReader {
            client: "dan",
            selectors: &[],
        },
    ];
    // Everyone reads on t2 or t3; everything is published on t1 (and some on t3).
    let mut live = Vec::new();
    for (i, reader) in readers.iter().enumerate() {
        let node = nodes[1 + i % 2].addr;
        let mut stream = SseStream::open(node, &reader.path(), &[]).await;
        assert_eq!(stream.status, 200);
        stream.connected().await;
        live.push(stream);
    }
    let plan: [(Option<&str>, &[&str]); 10] = [
        (None, &["org/42/room1"]),
        (None, &["org/42/room2"]),
        (None, &["org/43/x"]),
        (None, &[]),
        (None, &["org/42/room1", "org/43/x"]),
        (Some("ann"), &["org/42/room2"]),
        (Some("bob"), &["org/43/x"]),
        (Some("dan"), &[]),
        (None, &["news"]),
        (None, &["elsewhere"]),
    ];
    let mut published = Vec::new();
    for (n, (target, topics)) in plan.iter().enumerate() {
        let node = nodes[if n % 3 == 2 { 2 } else { 0 }].addr;
        let path = match target {
            Some(client) => format!("/api/sse/send/{client}"),
            None => "/api/sse/broadcast".to_owned(),
        };
        let mut body = json!({"data": n});
        if !topics.is_empty() {
            body["topics"] = json!(topics);
        }
        let reply = post_json(node, &path, None, body).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        published.push((reply.json()["sequence"].as_u64().unwrap(), *target, *topics));
    }
    published.sort_by_key(|p| p.0);
    let want = |reader: &TopicReader| -> Vec<u64> {
        published
            .iter()
            .filter(|(_, target, topics)| reader.sees(*target, topics))
            .map(|p| p.0)
            .collect()
    };
    for (reader, stream) in readers.iter().zip(&mut live) {
        let expected = want(reader);
        // Read past the expected count: nothing else may arrive.
        let got = stream
            .sequences(expected.len() + 1, Duration::from_secs(3))
            .await;
        assert_eq!(got, expected, "{} live", reader.client);
    }
    // Replay from the start on another node than before gives exactly the same events.
    for (i, reader) in readers.iter().enumerate() {
        let node = nodes[2 - i % 2].addr;
        let headers = [("last-event-id", "0")];
        let mut stream = SseStream::open(node, &reader.path(), &headers).await;
        assert_eq!(stream.status, 200);
        stream.connected().await;
        let expected = want(reader);
        let got = stream
            .sequences(expected.len() + 1, Duration::from_secs(3))
            .await;
        assert_eq!(got, expected, "{} replayed", reader.client);
    }
}
