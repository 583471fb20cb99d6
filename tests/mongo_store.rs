//! The MongoDB store against a real server: the whole store contract, concurrent appenders on
//! two connections, and failing fast when the server is gone.
//!
//! The server is the one `SSEHUB_TEST_MONGODB_URI` names, else a FerretDB that this test
//! starts with `scripts/ferretdb.sh` in a temporary directory and stops when it ends (FerretDB
//! must be installed: `scripts/ferretdb.sh install`). Everything that needs the server runs
//! inside one test, so exactly one FerretDB runs per test binary and it is stopped by a guard
//! that also runs when a check panics. Each check gets a database of its own.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ssehub::event::Sequence;
use ssehub::outbox::contract::{self, sample};
use ssehub::outbox::mongo::{MongoOptions, MongoStore, Numbering};
use ssehub::outbox::{Appended, EventLog, Page, StoreError};

const URI_VAR: &str = "SSEHUB_TEST_MONGODB_URI";

/// A MongoDB-speaking server for this test binary; a FerretDB we started is stopped on drop.
struct Server {
    uri: String,
    ferretdb: Option<tempfile::TempDir>,
}

impl Server {
    fn start() -> Server {
        if let Ok(uri) = std::env::var(URI_VAR) {
            return Server {
                uri,
                ferretdb: None,
            };
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let output = ferretdb_script("start", dir.path());
        if !output.status.success() {
            // It may have started and only been slow to answer.
            ferretdb_script("stop", dir.path());
            panic!(
                "scripts/ferretdb.sh start failed (set {URI_VAR} to use another server): {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let stdout = String::from_utf8(output.stdout).expect("the script prints a URI");
        let uri = stdout.lines().last().expect("the script prints a URI");
        Server {
            uri: uri.trim().to_owned(),
            ferretdb: Some(dir),
        }
    }

    /// A database name no earlier run used (an external server keeps what runs leave).
    fn database(&self, name: &str) -> String {
        let run = std::process::id();
        format!("ssehub_{name}_{run}")
    }

    async fn store(&self, database: &str) -> MongoStore {
        self.store_numbering(database, Numbering::Auto).await
    }

    async fn store_numbering(&self, database: &str, numbering: Numbering) -> MongoStore {
        let options = MongoOptions {
            numbering,
            ..fast_failing()
        };
        MongoStore::connect(&self.uri, database, options)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.uri))
    }

    fn stop(&mut self) {
        if let Some(dir) = self.ferretdb.take() {
            let output = ferretdb_script("stop", dir.path());
            assert!(output.status.success(), "scripts/ferretdb.sh stop failed");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(dir) = self.ferretdb.take() {
            ferretdb_script("stop", dir.path());
        }
    }
}

fn ferretdb_script(command: &str, dir: &Path) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ferretdb.sh");
    Command::new("bash")
        .arg(script)
        .arg(command)
        .arg(dir)
        .output()
        .expect("run scripts/ferretdb.sh")
}

/// Defaults, but a dead server is noticed within a second.
fn fast_failing() -> MongoOptions {
    MongoOptions {
        server_selection_timeout: Duration::from_secs(1),
        connect_timeout: Duration::from_secs(1),
        ..MongoOptions::default()
    }
}

/// Runs each contract check on a fresh database, in a task of its own so one failure does not
/// hide the others; evaluates to the names of the checks that failed.
macro_rules! failed_checks {
    ($server:expr, $numbering:expr; $($check:ident),* $(,)?) => {{
        let mut failed: Vec<String> = Vec::new();
        $(
            let database = format!("{}_{:?}", stringify!($check), $numbering);
            let store = $server.store_numbering(&$server.database(&database), $numbering).await;
            if tokio::spawn(contract::$check(store)).await.is_err() {
                failed.push(database);
            }
        )*
        failed
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FerretDB (scripts/ferretdb.sh install, which needs Go); scripts/test.sh runs it"]
async fn mongo_store_on_a_real_server() {
    let mut server = Server::start();

    for numbering in [Numbering::Counter, Numbering::Blocks] {
        let failed = ssehub::for_each_contract_check!([failed_checks] server, numbering;);
        assert!(failed.is_empty(), "contract checks failed: {failed:?}");
    }

    concurrent_appenders_get_disjoint_gap_free_sequences(&server).await;
    a_new_connection_continues_after_the_head(&server).await;
    edges_cost_nothing(&server).await;
    numbering_survives_pruning_wiping_and_rollback(&server).await;

    if server.ferretdb.is_some() {
        let store = server.store(&server.database("outage")).await;
        server.stop();
        calls_fail_fast_once_the_server_is_gone(store).await;
    }
}

/// Two connections (two "nodes"), eight tasks, fifty batches each, numbering as chosen for
/// the server: every number from 1 to the total is handed out exactly once, and the outbox
/// holds exactly those events.
async fn concurrent_appenders_get_disjoint_gap_free_sequences(server: &Server) {
    let database = server.database("concurrent");
    let nodes = [
        Arc::new(server.store(&database).await),
        Arc::new(server.store(&database).await),
    ];
    if server.ferretdb.is_some() {
        // FerretDB's findAndModify is not atomic, so Auto must choose blocks there.
        assert_eq!(nodes[0].numbering(), Numbering::Blocks);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..8u64 {
        let store = nodes[task as usize % 2].clone();
        tasks.spawn(async move {
            let mut appended = Vec::new();
            for batch in 0..50u64 {
                let events: Vec<_> = (0..1 + (task + batch) % 4)
                    .map(|n| sample(task * 1000 + batch * 10 + n, None))
                    .collect();
                let ids: Vec<_> = events.iter().map(|e| e.message_id).collect();
                let sequences: Vec<Sequence> = store
                    .append(&events)
                    .await
                    .expect("append")
                    .into_iter()
                    .map(Appended::sequence)
                    .collect();
                assert_eq!(sequences.len(), ids.len());
                assert!(sequences.windows(2).all(|w| w[1].0 == w[0].0 + 1));
                appended.extend(sequences.into_iter().zip(ids));
            }
            appended
        });
    }
    let mut appended = Vec::new();
    while let Some(task) = tasks.join_next().await {
        appended.extend(task.expect("an appender panicked"));
    }
    appended.sort_by_key(|(sequence, _)| *sequence);
    let total = appended.len() as u64;
    let numbers: Vec<u64> = appended.iter().map(|(s, _)| s.0).collect();
    assert_eq!(numbers, (1..=total).collect::<Vec<_>>(), "overlaps or gaps");
    assert_eq!(nodes[0].head().await.unwrap(), Sequence(total));

    let mut stored = Vec::new();
    let mut after = Sequence::ZERO;
    loop {
        let page = nodes[1].read_after(after, Page::events(128)).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.sequence;
        stored.extend(page.into_iter().map(|e| (e.sequence, e.message_id)));
    }
    assert_eq!(stored, appended);
}

/// A node that starts later numbers on from the cluster's head, even after a full trim.
async fn a_new_connection_continues_after_the_head(server: &Server) {
    let database = server.database("restart");
    let first = server.store(&database).await;
    first
        .append(&(1..=3).map(|n| sample(n, None)).collect::<Vec<_>>())
        .await
        .unwrap();
    first
        .trim(ssehub::outbox::Retention {
            max_events: Some(0),
            max_age: None,
        })
        .await
        .unwrap();
    drop(first);
    let second = server.store(&database).await;
    assert_eq!(second.head().await.unwrap(), Sequence(3));
    assert_eq!(
        second.append(&[sample(4, None)]).await.unwrap(),
        vec![Appended::New(Sequence(4))]
    );
}

/// `trim` prunes the sequence blocks (one per append) once they are old, keeping the newest;
/// without any block the head comes from the newest event; a counter behind the outbox heals.
/// Ages blocks and rolls the counter back through the driver.
async fn numbering_survives_pruning_wiping_and_rollback(server: &Server) {
    use mongodb::bson::{doc, DateTime};
    let database = server.database("prune");
    let store = server.store_numbering(&database, Numbering::Blocks).await;
    for n in 1..=3 {
        store
            .append(&[sample(n, None), sample(n, None)])
            .await
            .unwrap();
    }
    let client = mongodb::Client::with_uri_str(&server.uri).await.unwrap();
    let blocks = client
        .database(&database)
        .collection::<mongodb::bson::Document>("sequence_blocks");
    let an_hour_ago = DateTime::from_millis(DateTime::now().timestamp_millis() - 3_600_000);
    blocks
        .update_many(doc! {}, doc! { "$set": { "reservedAt": an_hour_ago } })
        .await
        .unwrap();
    assert_eq!(
        store
            .trim(ssehub::outbox::Retention::default())
            .await
            .unwrap(),
        0
    );
    assert_eq!(blocks.count_documents(doc! {}).await.unwrap(), 1);
    assert_eq!(store.head().await.unwrap(), Sequence(6));

    blocks.drop().await.unwrap();
    let later = server.store_numbering(&database, Numbering::Blocks).await;
    assert_eq!(later.head().await.unwrap(), Sequence(6));
    assert_eq!(
        later.append(&[sample(7, None)]).await.unwrap(),
        vec![Appended::New(Sequence(7))]
    );
    // Switching to the counter numbers on after everything stored.
    let counter = server.store_numbering(&database, Numbering::Counter).await;
    assert_eq!(counter.head().await.unwrap(), Sequence(7));
    assert_eq!(
        counter.append(&[sample(8, None)]).await.unwrap(),
        vec![Appended::New(Sequence(8))]
    );
    // A counter that went back (a failover rollback under w: 1) is moved past the outbox.
    client
        .database(&database)
        .collection::<mongodb::bson::Document>("counters")
        .update_one(doc! { "_id": "outbox" }, doc! { "$set": { "seq": 2_i64 } })
        .await
        .unwrap();
    assert_eq!(
        counter.append(&[sample(9, None)]).await.unwrap(),
        vec![Appended::New(Sequence(9))]
    );
}

/// Empty batches, empty pages and positions beyond any stored number.
async fn edges_cost_nothing(server: &Server) {
    let store = server.store(&server.database("edges")).await;
    assert_eq!(store.append(&[]).await.unwrap(), Vec::new());
    assert_eq!(store.head().await.unwrap(), Sequence::ZERO);
    store.append(&[sample(1, None)]).await.unwrap();
    assert!(store
        .read_after(Sequence::ZERO, Page::events(0))
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .read_after(Sequence(1), Page::events(10))
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .read_after(Sequence(u64::MAX), Page::events(10))
        .await
        .unwrap()
        .is_empty());
}

async fn calls_fail_fast_once_the_server_is_gone(store: MongoStore) {
    let started = Instant::now();
    let error = store.append(&[sample(1, None)]).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    let error = store.head().await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connecting_to_nothing_fails_fast_as_unavailable() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let uri = format!("mongodb://127.0.0.1:{port}/");
    let result = MongoStore::connect(&uri, "ssehub_nothing", fast_failing()).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{:?}",
        result.err()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_malformed_uri_is_rejected() {
    let result = MongoStore::connect("postgres://nope", "ssehub", MongoOptions::default()).await;
    assert!(
        matches!(result, Err(StoreError::Rejected(_))),
        "{:?}",
        result.err()
    );
}
