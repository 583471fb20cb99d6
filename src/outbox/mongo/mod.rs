//! The MongoDB store: the outbox every node of a cluster shares. The order of the sequence
//! numbers it reserves is the cluster's order.
//!
//! Collections (keyed by `_id`; one secondary index, `outbox {topics: 1, _id: 1}`, keeps
//! history reads by topic an index scan: see `visible.rs`):
//!
//! | collection | documents |
//! |---|---|
//! | `outbox` | `{_id: <sequence i64>, type, target?, topics?: [string], messageId: UUID, createdAt: Date, fields: <JSON text>}` |
//! | `counters` | `{_id: "outbox", seq: <highest sequence assigned>}` (counter numbering) |
//! | `sequence_blocks` | `{_id: <first sequence>, last, reservedAt: Date}` (block numbering) |
//! | `checkpoints` | `{_id: <client id>, seq}`, raised with `$max` so it never goes back |
//! | `nodes` | `{_id: <node id>, connections, clients, dispatched, seenAt}` |
//! | `presence` | `{_id: "<node id>/<client id>", node, client, topics, streams, connectedAt, seenAt}`; a report upserts its node's entries, then deletes that node's older ones |
//! | `demo` | `{_id: "demo", running, intervalSecs}` |
//! | `leases` | `{_id: <name>, holder, expiresAt}` |
//!
//! An append reserves K consecutive numbers, then inserts the K events with one ordered
//! `insertMany`. A reserved number can be invisible for a while (its insert is in flight) or
//! forever (its node died between the two steps): the dispatcher's gap tracker owns that case.
//! Every write carries the configured write concern, journaled, so an answered publish is
//! durable. Numbers are reserved one of two ways ([`Numbering`]), chosen by the server:
//!
//! - **MongoDB: a counter.** One `findAndModify` `$inc: K` on `counters {_id: "outbox"}`: one
//!   round trip, atomic, served in arrival order.
//! - **FerretDB 1.x: sequence blocks.** FerretDB runs `findAndModify` and `update` as an
//!   unisolated read-modify-write, so concurrent `$inc`s lose updates and hand out numbers
//!   twice (the concurrent-appender test caught it). An insert's unique `_id` is atomic there
//!   too, so a node inserts `{_id: head + 1, last: head + K}` into `sequence_blocks`. Blocks
//!   tile the numbers: each starts right after an existing block, so nodes that read the same
//!   head race for one `_id` and exactly one wins; the losers read the head again. Optimistic,
//!   so under heavy contention a node with a slower link can lose many races in a row; fine
//!   for tests, which is what FerretDB is here for.
//!
//! Only commands MongoDB and FerretDB 1.x both serve are used: `buildInfo`, `find` with
//! filter, sort, projection and limit, `insert`, `findAndModify` (`$inc`, counter numbering),
//! `update` (upserts with `$max`/`$set`, `replace`), `delete` and `createIndexes`. No transactions, no change streams, no TTL index (`trim` does age retention, and
//! FerretDB 1.24 refuses one: `Index option "expireAfterSeconds" is not implemented yet`).
//! On FerretDB (tests only) racing checkpoint, lease and demo-switch updates can therefore
//! lose one; on MongoDB each is atomic on its one document.

use std::fmt;
use std::future::IntoFuture;
use std::str::FromStr;
use std::time::{Duration, Instant};

use mongodb::bson::{doc, spec::BinarySubtype, Binary, Bson, DateTime, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{Acknowledgment, ClientOptions, ReadConcern, ReturnDocument, WriteConcern};
use mongodb::{Client, Collection, Database};

use super::{
    CheckpointStore, Coordination, DemoState, EventLog, NodeReport, Page, PresenceEntry, Retention,
    StoreError, StoreFuture,
};
use crate::event::{ClientId, Event, EventType, MessageId, NewEvent, Sequence, Topic, UnixMillis};

mod documents;
mod errors;
mod events;
mod numbering;
mod state;
mod visible;

use self::documents::*;
use self::errors::*;

/// `w` is majority unless configured: on a replica set anything less can lose an answered
/// publish, and worse, roll reserved numbers back so they are handed out twice.
pub const DEFAULT_WRITE_CONCERN: WriteAcknowledgment = WriteAcknowledgment::Majority;
/// How long the primary may wait for the write concern before the write counts as failed.
/// Short enough that a publish answers 503 while a majority is unreachable.
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to look for a usable server before an operation fails: an outage answers 503
/// within this instead of the driver's 30 s default.
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(3);
/// TCP connect (and TLS handshake) limit per attempt.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A limit on each request to the server. The driver has no socket timeout, so a server that
/// accepts a request and never answers would otherwise hang the caller. A reserved block's
/// events are written by one request, so the dispatcher's gap timeout must exceed this.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest first batch a read asks for; a longer page takes more round trips.
const MAX_READ_BATCH: i64 = 10_000;
/// Largest number of statements in one `update` command (checkpoint batches are chunked).
const UPDATE_CHUNK: usize = 1000;
/// MongoDB's duplicate key error: an upsert lost a race, or an `_id` exists already.
const DUPLICATE_KEY: i32 = 11000;
/// A sequence block older than this may be pruned (the newest never is). Blocks are what a
/// stale head collides with, so this must exceed [`HEAD_FRESH`] plus the longest append.
const BLOCK_KEEP: Duration = Duration::from_secs(600);
/// A head this node reserved or read this recently is built on without reading it again (one
/// round trip per append for a node publishing alone): every block after it is younger than
/// [`BLOCK_KEEP`], so still there to collide with.
const HEAD_FRESH: Duration = Duration::from_secs(60);
/// Longest pause after a lost block race (random below it, growing with each loss), so racing
/// nodes spread out instead of colliding in lockstep.
const MAX_RACE_BACKOFF_MS: u64 = 8;
const OUTBOX_COUNTER: &str = "outbox";
const DEMO_SWITCH: &str = "demo";

/// How many nodes must acknowledge a write (MongoDB's `w`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteAcknowledgment {
    /// A majority of the replica set's voting members.
    Majority,
    /// This many members (≥ 1); `1` is the primary alone.
    Nodes(u32),
}

/// A `--write-concern` value that is neither `majority` nor a node count ≥ 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("write concern must be \"majority\" or a number of nodes of at least 1, not {0:?}")]
pub struct BadWriteConcern(String);

impl FromStr for WriteAcknowledgment {
    type Err = BadWriteConcern;

    /// Parses `majority` or a positive integer. `0` (unacknowledged) is refused: the hub
    /// answers a publish only once it is stored.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("majority") {
            return Ok(WriteAcknowledgment::Majority);
        }
        match text.parse::<u32>() {
            Ok(nodes) if nodes >= 1 => Ok(WriteAcknowledgment::Nodes(nodes)),
            _ => Err(BadWriteConcern(text.to_owned())),
        }
    }
}

impl fmt::Display for WriteAcknowledgment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteAcknowledgment::Majority => f.write_str("majority"),
            WriteAcknowledgment::Nodes(nodes) => nodes.fmt(f),
        }
    }
}

/// How appends reserve sequence numbers (see the module docs). Every node of a cluster must
/// use the same; `Auto` guarantees it, as they share one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Numbering {
    /// `Counter` on MongoDB, `Blocks` on FerretDB (its `buildInfo` has `ferretdbVersion`).
    #[default]
    Auto,
    /// A `findAndModify` `$inc` on one counter document; needs an atomic `findAndModify`.
    Counter,
    /// Sequence blocks claimed by unique `_id`; correct on any server.
    Blocks,
}

/// Connection settings beyond the URI. Timeouts given in the URI (`serverSelectionTimeoutMS`,
/// `connectTimeoutMS`) win over these; the write concern here wins over the URI's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MongoOptions {
    /// `w` of every write (`--write-concern`); always journaled (`j: true`).
    pub write_concern: WriteAcknowledgment,
    /// `wtimeout`: see [`DEFAULT_WRITE_TIMEOUT`].
    pub write_timeout: Duration,
    /// See [`DEFAULT_SERVER_SELECTION_TIMEOUT`].
    pub server_selection_timeout: Duration,
    /// See [`DEFAULT_CONNECT_TIMEOUT`].
    pub connect_timeout: Duration,
    /// See [`DEFAULT_OPERATION_TIMEOUT`].
    pub operation_timeout: Duration,
    /// Leave at `Auto` but in tests.
    pub numbering: Numbering,
}

impl Default for MongoOptions {
    fn default() -> Self {
        MongoOptions {
            write_concern: DEFAULT_WRITE_CONCERN,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            server_selection_timeout: DEFAULT_SERVER_SELECTION_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            numbering: Numbering::Auto,
        }
    }
}

/// A connection pool to one MongoDB (or FerretDB) database holding the cluster's outbox.
pub struct MongoStore {
    db: Database,
    outbox: Collection<Document>,
    /// `Counter` or `Blocks`, never `Auto`.
    numbering: Numbering,
    counters: Collection<Document>,
    blocks: Collection<Document>,
    /// The last number of a block that exists (ours or read), and when we learnt it.
    head_hint: parking_lot::Mutex<Option<(i64, Instant)>>,
    checkpoints: Collection<Document>,
    nodes: Collection<Document>,
    presence: Collection<Document>,
    demo: Collection<Document>,
    leases: Collection<Document>,
    /// Spelled out again for the one raw command (`update` with many statements).
    write_concern: Document,
    operation_timeout: Duration,
}

impl MongoStore {
    /// Connects to `uri` and uses `database`. Reads from the server once, so an unreachable
    /// server fails here.
    ///
    /// # Errors
    /// `Rejected` for a malformed URI; `Unavailable` when no server answers in time.
    pub async fn connect(
        uri: &str,
        database: &str,
        options: MongoOptions,
    ) -> Result<MongoStore, StoreError> {
        let limit = options.operation_timeout;
        let mut client_options = timed(limit, "parse the MongoDB URI", ClientOptions::parse(uri))
            .await?
            .map_err(|e| classify("parse the MongoDB URI", e))?;
        client_options
            .app_name
            .get_or_insert_with(|| "ssehub".into());
        client_options
            .server_selection_timeout
            .get_or_insert(options.server_selection_timeout);
        client_options
            .connect_timeout
            .get_or_insert(options.connect_timeout);
        let write_concern = WriteConcern::builder()
            .w(match options.write_concern {
                WriteAcknowledgment::Majority => Acknowledgment::Majority,
                WriteAcknowledgment::Nodes(nodes) => Acknowledgment::Nodes(nodes),
            })
            .journal(true)
            .w_timeout(options.write_timeout)
            .build();
        // Reading only what a majority holds keeps the dispatcher from sending an event that a
        // failover could still roll back; with a weaker write concern that promise is gone anyway.
        client_options.read_concern = Some(match options.write_concern {
            WriteAcknowledgment::Majority => ReadConcern::majority(),
            WriteAcknowledgment::Nodes(_) => ReadConcern::local(),
        });
        client_options.write_concern = Some(write_concern);
        let client = Client::with_options(client_options)
            .map_err(|e| classify("configure the MongoDB client", e))?;
        let db = client.database(database);
        let w = match options.write_concern {
            WriteAcknowledgment::Majority => Bson::from("majority"),
            WriteAcknowledgment::Nodes(nodes) => {
                Bson::from(i32::try_from(nodes).unwrap_or(i32::MAX))
            }
        };
        let mut store = MongoStore {
            outbox: db.collection("outbox"),
            numbering: options.numbering,
            counters: db.collection("counters"),
            blocks: db.collection("sequence_blocks"),
            head_hint: parking_lot::Mutex::new(None),
            checkpoints: db.collection("checkpoints"),
            nodes: db.collection("nodes"),
            presence: db.collection("presence"),
            demo: db.collection("demo"),
            leases: db.collection("leases"),
            write_concern: doc! {
                "w": w,
                "j": true,
                "wtimeout": millis(options.write_timeout),
            },
            db,
            operation_timeout: limit,
        };
        // The first request, so an unreachable server fails here, not at the first publish.
        let build = store
            .run(
                "ask the server its version",
                store.db.run_command(doc! { "buildInfo": 1 }),
            )
            .await?;
        if store.numbering == Numbering::Auto {
            store.numbering = if build.contains_key("ferretdbVersion") {
                Numbering::Blocks
            } else {
                Numbering::Counter
            };
        }
        if store.numbering == Numbering::Counter {
            store.raise_counter_to_stored_head().await?;
        }
        store.create_indexes().await?;
        Ok(store)
    }

    /// How this store reserves numbers: `Counter` or `Blocks` (`Auto` is resolved at connect).
    pub fn numbering(&self) -> Numbering {
        self.numbering
    }

    /// Runs one driver call under the operation timeout, mapping its error.
    async fn run<T>(
        &self,
        what: &'static str,
        operation: impl IntoFuture<Output = mongodb::error::Result<T>>,
    ) -> Result<T, StoreError> {
        timed(self.operation_timeout, what, operation)
            .await?
            .map_err(|e| classify(what, e))
    }
}

/// Every document a cursor yields, in order.
async fn drain(mut cursor: mongodb::Cursor<Document>) -> mongodb::error::Result<Vec<Document>> {
    let mut documents = Vec::new();
    while cursor.advance().await? {
        documents.push(cursor.deserialize_current()?);
    }
    Ok(documents)
}

#[cfg(test)]
mod tests;
