//! Batches and retries on a real MongoDB-wire server (FerretDB), where an ordered insert is
//! not atomic: a part of an append is never delivered, a node takes back what its failed
//! insert left, a retry takes back what a dead node left, and publishers that retry with the
//! same message ids on another node after a node kill or through a database outage store
//! every batch exactly once, whole.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::bson::{doc, spec::BinarySubtype, Binary, DateTime, Document};
use serde_json::{json, Value};
use ssehub::event::{MessageId, NewEvent, Sequence};
use ssehub::outbox::contract::{chosen, sample};
use ssehub::outbox::mongo::{MongoOptions, MongoStore, Numbering};
use ssehub::outbox::{Appended, EventLog, Page, StoreError};
use support::cluster::{database, Ferret, Node};
use support::{try_post_json, SseStream, TestHub};

const IGNORE: &str =
    "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it";

async fn store(ferret: &Ferret, db: &str) -> MongoStore {
    let options = MongoOptions {
        numbering: Numbering::Blocks,
        ..MongoOptions::default()
    };
    MongoStore::connect(&ferret.uri, db, options).await.unwrap()
}

async fn collection(ferret: &Ferret, db: &str, name: &str) -> mongodb::Collection<Document> {
    let client = mongodb::Client::with_uri_str(&ferret.uri).await.unwrap();
    client.database(db).collection(name)
}

/// What a node that died mid-insert leaves: the block `first..=last` reserved, and only its
/// first `stored` events written (each naming `last`), created `age` ago.
async fn partial_append(
    ferret: &Ferret,
    db: &str,
    events: &[NewEvent],
    first: i64,
    stored: usize,
    age: Duration,
) {
    let last = first + events.len() as i64 - 1;
    collection(ferret, db, "sequence_blocks")
        .await
        .insert_one(doc! { "_id": first, "last": last, "reservedAt": DateTime::now() })
        .await
        .unwrap();
    let created =
        DateTime::from_millis(DateTime::now().timestamp_millis() - age.as_millis() as i64);
    let documents: Vec<Document> = events[..stored]
        .iter()
        .zip(first..)
        .map(|(event, sequence)| {
            doc! {
                "_id": sequence,
                "type": event.event_type.as_str(),
                "messageId": Binary { subtype: BinarySubtype::Uuid, bytes: event.message_id.0.as_bytes().to_vec() },
                "createdAt": created,
                "fields": &event.fields,
                "last": last,
            }
        })
        .collect();
    collection(ferret, db, "outbox")
        .await
        .insert_many(documents)
        .await
        .unwrap();
}

async fn stored_numbers(ferret: &Ferret, db: &str) -> Vec<i64> {
    let mut cursor = collection(ferret, db, "outbox")
        .await
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .unwrap();
    let mut numbers = Vec::new();
    while cursor.advance().await.unwrap() {
        numbers.push(
            cursor
                .deserialize_current()
                .unwrap()
                .get_i64("_id")
                .unwrap(),
        );
    }
    numbers
}

fn new(numbers: impl IntoIterator<Item = u64>) -> Vec<Appended> {
    numbers
        .into_iter()
        .map(|n| Appended::New(Sequence(n)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn a_partial_append_is_never_delivered_and_a_retry_takes_it_back() {
    let _ = IGNORE;
    let ferret = Ferret::start();
    let db = database("partial");
    let hub = TestHub::builder()
        .store(Arc::new(store(&ferret, &db).await))
        .config(|c| c.gap_timeout = Duration::from_millis(1500))
        .start()
        .await;
    let (mut stream, _) = hub.subscribe("/api/sse/connect", &[]).await;
    assert_eq!(hub.broadcast("message", json!(1), None).await, 1);
    // A node died after inserting 2 of the 4 events of its append 2..=5, long ago.
    let abandoned: Vec<NewEvent> = (2..=5).map(chosen).collect();
    partial_append(&ferret, &db, &abandoned, 2, 2, Duration::from_secs(3600)).await;
    assert_eq!(hub.broadcast("message", json!(6), None).await, 6);
    let mut seen = Vec::new();
    while let Some(event) = stream.next(Duration::from_secs(3)).await {
        seen.extend(event.sequence());
    }
    assert_eq!(
        seen,
        vec![1, 6],
        "2 and 3 are part of an append that is not whole"
    );

    // Its publisher retries through a live node: what the dead node left is taken back and
    // the events are stored anew, whole.
    let retried = hub.store.append(&abandoned).await.unwrap();
    assert_eq!(retried, new(7..=10));
    assert_eq!(stored_numbers(&ferret, &db).await, vec![1, 6, 7, 8, 9, 10]);
    let mut seen = Vec::new();
    while let Some(event) = stream.next(Duration::from_secs(1)).await {
        seen.extend(event.sequence());
    }
    assert_eq!(seen, vec![7, 8, 9, 10]);
    // Asked again, the same events answer with their (new) originals.
    let again = hub.store.append(&abandoned).await.unwrap();
    let sequences: Vec<u64> = again.iter().map(|a| a.sequence().0).collect();
    assert_eq!(sequences, vec![7, 8, 9, 10]);
    assert!(again.iter().all(|a| !a.is_new()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn a_retry_of_an_append_in_flight_waits_then_answers_503() {
    let ferret = Ferret::start();
    let db = database("inflight");
    let store = store(&ferret, &db).await;
    // Another node is inserting 1..=3 right now: only the first event is visible yet.
    let events: Vec<NewEvent> = (1..=3).map(chosen).collect();
    partial_append(&ferret, &db, &events, 1, 1, Duration::ZERO).await;
    let started = Instant::now();
    let error = store.append(&[chosen(1)]).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
    assert!(error.to_string().contains("still being stored"), "{error}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "it waited for the insert"
    );
    // Nothing of the retry was stored, and the other node's events are untouched.
    assert_eq!(stored_numbers(&ferret, &db).await, vec![1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn an_insert_stopped_part_way_is_taken_back_and_stored_whole_after_it() {
    let ferret = Ferret::start();
    let db = database("stopped");
    let store = store(&ferret, &db).await;
    assert_eq!(store.append(&[sample(1, None)]).await.unwrap(), new([1]));
    // A stray event occupies number 4, inside the block the next append reserves (2..=6):
    // the ordered insert stops there after writing 2 and 3.
    collection(&ferret, &db, "outbox")
        .await
        .insert_one(doc! {
            "_id": 4i64,
            "type": "stray",
            "messageId": Binary { subtype: BinarySubtype::Uuid, bytes: MessageId::random().0.as_bytes().to_vec() },
            "createdAt": DateTime::now(),
            "fields": "{}",
        })
        .await
        .unwrap();
    let batch: Vec<NewEvent> = (10..15).map(chosen).collect();
    let appended = store.append(&batch).await.unwrap();
    assert_eq!(
        appended,
        new(7..=11),
        "stored whole after the block it gave up"
    );
    assert_eq!(
        stored_numbers(&ferret, &db).await,
        vec![1, 4, 7, 8, 9, 10, 11],
        "2 and 3, written before the insert stopped, were taken back"
    );
    let read = store
        .read_after(Sequence::ZERO, Page::events(100))
        .await
        .unwrap();
    let ids: Vec<MessageId> = read.iter().skip(2).map(|e| e.message_id).collect();
    assert_eq!(ids, batch.iter().map(|e| e.message_id).collect::<Vec<_>>());
}

/// One batch a publisher got answered: its sequences and message ids.
#[derive(Debug, Clone)]
struct Answered {
    results: Vec<(u64, String)>,
}

/// The message id of event `i` of batch `b` of publisher `p`.
fn message_id(p: u64, b: u64, i: u64) -> String {
    format!("{p:08x}-{b:04x}-4{i:03x}-8000-00000000c1a5")
}

/// Publishes `batches` batches of `size` events, each until some node answers 200: a node
/// that is gone is left for the next one in `nodes`, a 503 is retried. Every retry sends the
/// same body, message ids and all.
async fn publish_batches(
    nodes: Vec<SocketAddr>,
    p: u64,
    batches: u64,
    size: u64,
    pace: Duration,
) -> Vec<Answered> {
    let mut answered = Vec::new();
    let mut node = 0;
    for b in 0..batches {
        let events: Vec<Value> = (0..size)
            .map(|i| json!({"eventType": "b", "data": {"p": p, "b": b, "i": i}, "messageId": message_id(p, b, i)}))
            .collect();
        let body = json!({ "events": events });
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            match try_post_json(
                nodes[node],
                "/api/sse/batch",
                &body,
                Duration::from_secs(15),
            )
            .await
            {
                Ok(reply) if reply.status == 200 => {
                    let results = reply.json()["results"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| {
                            (
                                r["sequence"].as_u64().unwrap(),
                                r["messageId"].as_str().unwrap().to_owned(),
                            )
                        })
                        .collect();
                    answered.push(Answered { results });
                    break;
                }
                Ok(reply) if reply.status == 503 => {}
                Ok(reply) => panic!("batch {p}/{b}: {} {}", reply.status, reply.body),
                Err(_) => node = (node + 1) % nodes.len(),
            }
            assert!(
                Instant::now() < deadline,
                "batch {p}/{b} was never answered"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(pace).await;
    }
    answered
}

/// Every event in the outbox, in order: (sequence, message id, (p, b, i)).
async fn outbox(ferret: &Ferret, db: &str) -> Vec<(u64, String, (u64, u64, u64))> {
    let store = store(ferret, db).await;
    let mut all = Vec::new();
    let mut after = Sequence::ZERO;
    loop {
        let page = store.read_after(after, Page::events(500)).await.unwrap();
        let Some(last) = page.last() else { return all };
        after = last.sequence;
        for event in page {
            let fields: Value = serde_json::from_str(&event.fields).unwrap();
            let data = &fields["data"];
            let origin = (
                data["p"].as_u64().unwrap(),
                data["b"].as_u64().unwrap(),
                data["i"].as_u64().unwrap(),
            );
            all.push((event.sequence.0, event.message_id.to_string(), origin));
        }
    }
}

/// The oracle: every batch is in the outbox exactly once, whole and consecutive; every
/// answer names what is stored.
fn assert_whole_and_once(
    stored: &[(u64, String, (u64, u64, u64))],
    answered: &[Answered],
    publishers: u64,
    batches: u64,
    size: u64,
) {
    let mut by_id: HashMap<&str, u64> = HashMap::new();
    for (sequence, id, _) in stored {
        assert!(
            by_id.insert(id, *sequence).is_none(),
            "{id} is stored twice"
        );
    }
    let mut by_batch: BTreeMap<(u64, u64), Vec<(u64, u64)>> = BTreeMap::new();
    for (sequence, _, (p, b, i)) in stored {
        by_batch.entry((*p, *b)).or_default().push((*sequence, *i));
    }
    assert_eq!(
        by_batch.len() as u64,
        publishers * batches,
        "every batch is stored"
    );
    for ((p, b), events) in &by_batch {
        assert_eq!(events.len() as u64, size, "batch {p}/{b} is whole");
        for (k, (sequence, i)) in events.iter().enumerate() {
            assert_eq!(*i, k as u64, "batch {p}/{b} in order");
            assert_eq!(
                *sequence,
                events[0].0 + k as u64,
                "batch {p}/{b} consecutive"
            );
        }
    }
    for answer in answered {
        for (sequence, id) in &answer.results {
            assert_eq!(
                by_id.get(id.as_str()),
                Some(sequence),
                "the answer for {id} is what is stored"
            );
        }
    }
}

/// Reads a stream until `done` is set and it has been quiet for 5 s (longer than the gap
/// timeout the nodes run with).
fn read(mut stream: SseStream, done: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<u64>> {
    tokio::spawn(async move {
        let mut got = Vec::new();
        let mut quiet = 0;
        loop {
            match stream.next(Duration::from_millis(500)).await {
                Some(event) => {
                    got.extend(event.sequence());
                    quiet = 0;
                }
                None => {
                    assert!(!stream.ended, "a surviving node's stream ended");
                    quiet += 1;
                    if done.load(Ordering::Acquire) && quiet >= 10 {
                        return got;
                    }
                }
            }
        }
    })
}

async fn subscribe(
    node: SocketAddr,
    done: &Arc<AtomicBool>,
) -> (u64, tokio::task::JoinHandle<Vec<u64>>) {
    let mut stream = SseStream::open(node, "/api/sse/connect", &[]).await;
    assert_eq!(stream.status, 200);
    let head = stream.connected().await["headSequence"].as_u64().unwrap();
    (head, read(stream, done.clone()))
}

const GAP: [&str; 2] = ["--gap-timeout-ms", "1500"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn batches_retried_on_another_node_after_a_kill_are_stored_once_and_whole() {
    let ferret = Ferret::start();
    let db = database("killbatch");
    let mut doomed = Node::start("doomed", &ferret.uri, &db, &GAP).await;
    let survivor = Node::start("survivor", &ferret.uri, &db, &GAP).await;
    let done = Arc::new(AtomicBool::new(false));
    let (head, reader) = subscribe(survivor.addr, &done).await;
    let (publishers, batches, size) = (4, 15, 20);
    let mut tasks = Vec::new();
    for p in 0..publishers {
        let nodes = vec![doomed.addr, survivor.addr];
        tasks.push(tokio::spawn(publish_batches(
            nodes,
            p,
            batches,
            size,
            Duration::from_millis(20),
        )));
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    doomed.kill();
    let mut answered = Vec::new();
    for task in tasks {
        answered.extend(task.await.unwrap());
    }
    done.store(true, Ordering::Release);
    let stored = outbox(&ferret, &db).await;
    assert_whole_and_once(&stored, &answered, publishers, batches, size);
    let want: Vec<u64> = stored.iter().map(|e| e.0).filter(|&s| s > head).collect();
    assert_eq!(
        reader.await.unwrap(),
        want,
        "the survivor's subscriber got every batch once, whole"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn batches_through_a_database_outage_are_stored_once_and_whole() {
    let ferret = Ferret::start();
    let db = database("outagebatch");
    let a = Node::start("a", &ferret.uri, &db, &GAP).await;
    let b = Node::start("b", &ferret.uri, &db, &GAP).await;
    let done = Arc::new(AtomicBool::new(false));
    let (head_a, reader_a) = subscribe(a.addr, &done).await;
    let (head_b, reader_b) = subscribe(b.addr, &done).await;
    let (publishers, batches, size) = (4, 12, 25);
    let mut tasks = Vec::new();
    for p in 0..publishers {
        let nodes = if p % 2 == 0 {
            vec![a.addr, b.addr]
        } else {
            vec![b.addr, a.addr]
        };
        tasks.push(tokio::spawn(publish_batches(
            nodes,
            p,
            batches,
            size,
            Duration::from_millis(50),
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    ferret.stop();
    tokio::time::sleep(Duration::from_secs(4)).await;
    ferret.restart();
    let mut answered = Vec::new();
    for task in tasks {
        answered.extend(task.await.unwrap());
    }
    done.store(true, Ordering::Release);
    let stored = outbox(&ferret, &db).await;
    assert_whole_and_once(&stored, &answered, publishers, batches, size);
    for (head, reader) in [(head_a, reader_a), (head_b, reader_b)] {
        let want: Vec<u64> = stored.iter().map(|e| e.0).filter(|&s| s > head).collect();
        assert_eq!(reader.await.unwrap(), want);
    }
}
