//! The MongoDB store: the outbox every node of a cluster shares. The order of the sequence
//! numbers it reserves is the cluster's order.
//!
//! Collections (all keyed by `_id`, so no secondary index is needed):
//!
//! | collection | documents |
//! |---|---|
//! | `outbox` | `{_id: <sequence i64>, type, target?, messageId: UUID, createdAt: Date, fields: <JSON text>}` |
//! | `counters` | `{_id: "outbox", seq: <highest sequence assigned>}` (counter numbering) |
//! | `sequence_blocks` | `{_id: <first sequence>, last, reservedAt: Date}` (block numbering) |
//! | `checkpoints` | `{_id: <client id>, seq}`, raised with `$max` so it never goes back |
//! | `nodes` | `{_id: <node id>, connections, clients, dispatched, seenAt}` |
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
//! `update` (upserts with `$max`/`$set`, `replace`) and `delete`. No transactions, no change streams, no TTL index (`trim` does age retention, and
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

use super::{DemoState, NodeReport, Retention, Store, StoreError, StoreFuture};
use crate::event::{ClientId, Event, EventType, MessageId, NewEvent, Sequence, UnixMillis};

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
        Ok(store)
    }

    /// How this store reserves numbers: `Counter` or `Blocks` (`Auto` is resolved at connect).
    pub fn numbering(&self) -> Numbering {
        self.numbering
    }

    /// The highest number reserved: the counter, or the newest block's last number.
    async fn head_number(&self) -> Result<i64, StoreError> {
        match self.numbering {
            Numbering::Blocks => match self.newest_block().await? {
                Some((_, last)) => Ok(last),
                None => self.floor_head().await,
            },
            _ => Ok(self.counter().await?.unwrap_or(0)),
        }
    }

    /// The highest number anything stored has seen: the newest event, the counter, the newest
    /// block. Numbering starts above it, so a lost counter or a wiped `sequence_blocks` (or a
    /// switch between the two) never hands out a retained number again.
    async fn floor_head(&self) -> Result<i64, StoreError> {
        let newest_event = self
            .run(
                "read the newest event",
                self.outbox
                    .find_one(doc! {})
                    .sort(doc! { "_id": -1 })
                    .projection(doc! { "_id": 1 }),
            )
            .await?;
        let newest_event = newest_event.map_or(Ok(0), |event| sequence_of(&event))?;
        let counter = self.counter().await?.unwrap_or(0);
        let block = self.newest_block().await?.map_or(0, |(_, last)| last);
        Ok(newest_event.max(counter).max(block))
    }

    async fn counter(&self) -> Result<Option<i64>, StoreError> {
        let counter = self
            .run(
                "read the outbox counter",
                self.counters.find_one(doc! { "_id": OUTBOX_COUNTER }),
            )
            .await?;
        counter
            .map(|doc| {
                integer(&doc, "seq").ok_or_else(|| {
                    StoreError::Corrupt(format!("the outbox counter is malformed: {doc}"))
                })
            })
            .transpose()
    }

    /// `$max`es the counter with [`floor_head`](Self::floor_head). Idempotent; of two nodes
    /// starting at once, the loser of the upsert race retries as a plain update.
    async fn raise_counter_to_stored_head(&self) -> Result<(), StoreError> {
        const WHAT: &str = "initialise the outbox counter";
        let floor = self.floor_head().await?;
        let raise = || {
            self.counters
                .update_one(
                    doc! { "_id": OUTBOX_COUNTER },
                    doc! { "$max": { "seq": floor } },
                )
                .upsert(true)
        };
        match timed(self.operation_timeout, WHAT, raise()).await? {
            Err(error) if is_duplicate_key(&error) => self.run(WHAT, raise()).await?,
            result => result.map_err(|e| classify(WHAT, e))?,
        };
        Ok(())
    }

    /// The first and last number of the newest sequence block.
    async fn newest_block(&self) -> Result<Option<(i64, i64)>, StoreError> {
        let newest = self
            .run(
                "read the newest sequence block",
                self.blocks.find_one(doc! {}).sort(doc! { "_id": -1 }),
            )
            .await?;
        newest
            .map(
                |block| match (integer(&block, "_id"), integer(&block, "last")) {
                    (Some(first), Some(last)) if 0 < first && first <= last => Ok((first, last)),
                    _ => Err(StoreError::Corrupt(format!(
                        "a malformed sequence block: {block}"
                    ))),
                },
            )
            .transpose()
    }

    /// Deletes the blocks reserved more than [`BLOCK_KEEP`] ago, except the newest (it holds
    /// the head). Blocks are in time order, so the first young one bounds an `_id` range.
    async fn prune_blocks(&self) -> Result<(), StoreError> {
        const WHAT: &str = "prune sequence blocks";
        let Some((newest, _)) = self.newest_block().await? else {
            return Ok(());
        };
        let keep_after = DateTime::from_millis(UnixMillis::now().0 - millis(BLOCK_KEEP));
        let first_young = self
            .run(
                WHAT,
                self.blocks
                    .find_one(doc! { "reservedAt": { "$gte": keep_after } })
                    .sort(doc! { "_id": 1 })
                    .projection(doc! { "_id": 1 }),
            )
            .await?;
        let bound = first_young
            .and_then(|block| integer(&block, "_id"))
            .map_or(newest, |first| first.min(newest));
        self.run(
            WHAT,
            self.blocks.delete_many(doc! { "_id": { "$lt": bound } }),
        )
        .await?;
        Ok(())
    }

    /// Reserves `count` consecutive numbers; returns the first.
    async fn reserve(&self, count: i64) -> Result<i64, StoreError> {
        match self.numbering {
            Numbering::Blocks => self.reserve_block(count).await,
            _ => self.reserve_from_counter(count).await,
        }
    }

    async fn reserve_from_counter(&self, count: i64) -> Result<i64, StoreError> {
        const WHAT: &str = "reserve sequence numbers";
        // Upserts only if the counter vanished since connect; a lost upsert race is a
        // duplicate key, and once the document exists a retry is a plain `$inc`.
        let increment = || {
            self.counters
                .find_one_and_update(
                    doc! { "_id": OUTBOX_COUNTER },
                    doc! { "$inc": { "seq": count } },
                )
                .upsert(true)
                .return_document(ReturnDocument::After)
        };
        let counter = match timed(self.operation_timeout, WHAT, increment()).await? {
            Err(error) if is_duplicate_key(&error) => self.run(WHAT, increment()).await?,
            result => result.map_err(|e| classify(WHAT, e))?,
        };
        let last = counter
            .and_then(|doc| integer(&doc, "seq"))
            .ok_or_else(|| StoreError::Corrupt("the outbox counter is malformed".into()))?;
        Ok(last - count + 1)
    }

    /// Inserts the block after the head. A lost race (the `_id` exists) means another block
    /// went in: read the newest and try after it, until the operation timeout.
    async fn reserve_block(&self, count: i64) -> Result<i64, StoreError> {
        const WHAT: &str = "reserve sequence numbers";
        let deadline = Instant::now() + self.operation_timeout;
        let hint = *self.head_hint.lock();
        let mut head = match hint {
            Some((head, learnt)) if learnt.elapsed() < HEAD_FRESH => head,
            _ => self.head_number().await?,
        };
        let mut lost = 0;
        loop {
            let block = doc! {
                "_id": head + 1,
                "last": head + count,
                "reservedAt": DateTime::now(),
            };
            match timed(self.operation_timeout, WHAT, self.blocks.insert_one(block)).await? {
                Ok(_) => {
                    *self.head_hint.lock() = Some((head + count, Instant::now()));
                    return Ok(head + 1);
                }
                Err(error) if is_duplicate_key(&error) => {}
                Err(error) => return Err(classify(WHAT, error)),
            }
            lost += 1;
            if Instant::now() >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "{WHAT}: other nodes won {lost} races in a row"
                )));
            }
            let ceiling = lost.min(MAX_RACE_BACKOFF_MS);
            let pause = uuid::Uuid::new_v4().as_u64_pair().0 % ceiling;
            tokio::time::sleep(Duration::from_millis(pause)).await;
            head = self.head_number().await?;
        }
    }

    async fn append_batch(&self, batch: Vec<NewEvent>) -> Result<Vec<Sequence>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        const WHAT: &str = "append to the outbox";
        let count = batch.len() as i64;
        let mut healed = false;
        loop {
            let first = self.reserve(count).await?;
            let documents: Vec<Document> = batch
                .iter()
                .zip(first..)
                .map(|(event, sequence)| event_document(sequence, event))
                .collect();
            // Ordered: if the insert fails part-way, what is missing is a suffix of the
            // block, which the gap tracker then waits out like any other unwritten number.
            let insert = self.outbox.insert_many(documents).ordered(true);
            match timed(self.operation_timeout, WHAT, insert).await? {
                Ok(_) => return Ok((first..first + count).map(|s| Sequence(s as u64)).collect()),
                // The first number is taken, so nothing went in: the numbering is behind the
                // outbox (a counter rolled back by a failover under `w: 1`, a deleted counter
                // or blocks). Move it past everything stored and reserve again, once.
                Err(error) if !healed && first_insert_was_duplicate(&error) => {
                    healed = true;
                    *self.head_hint.lock() = None;
                    if self.numbering == Numbering::Counter {
                        self.raise_counter_to_stored_head().await?;
                    }
                }
                Err(error) => return Err(classify(WHAT, error)),
            }
        }
    }

    async fn read_events(&self, after: Sequence, limit: usize) -> Result<Vec<Event>, StoreError> {
        // `limit(0)` would mean "no limit" to the server.
        let (Ok(after), true) = (i64::try_from(after.0), limit > 0) else {
            return Ok(Vec::new());
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let documents = self
            .run("read the outbox", async {
                let mut cursor = self
                    .outbox
                    .find(doc! { "_id": { "$gt": after } })
                    .sort(doc! { "_id": 1 })
                    .limit(limit)
                    // One round trip for a page (the server also caps a batch at 16 MiB).
                    .batch_size(limit.min(MAX_READ_BATCH) as u32)
                    .await?;
                let mut documents = Vec::new();
                while cursor.advance().await? {
                    documents.push(cursor.deserialize_current()?);
                }
                Ok(documents)
            })
            .await?;
        documents.iter().map(event_from_document).collect()
    }

    async fn oldest_sequence(&self) -> Result<Option<Sequence>, StoreError> {
        let oldest = self
            .run(
                "read the oldest event",
                self.outbox
                    .find_one(doc! {})
                    .sort(doc! { "_id": 1 })
                    .projection(doc! { "_id": 1 }),
            )
            .await?;
        oldest
            .map(|doc| Ok(Sequence(sequence_of(&doc)? as u64)))
            .transpose()
    }

    async fn trim_events(&self, retention: Retention) -> Result<u64, StoreError> {
        const WHAT: &str = "trim the outbox";
        if self.numbering == Numbering::Blocks {
            self.prune_blocks().await?;
        }
        let head = self.head_number().await?;
        let mut removed = 0;
        if let Some(max_events) = retention.max_events {
            // By number, not by document: everything more than `max_events` below the head
            // goes. One indexed range delete instead of counting; a gap (a number never
            // written) counts against the limit, so at most `max_events` events stay.
            let cut = head.saturating_sub(saturating_i64(max_events));
            if cut > 0 {
                let result = self
                    .run(
                        WHAT,
                        self.outbox.delete_many(doc! { "_id": { "$lte": cut } }),
                    )
                    .await?;
                removed += result.deleted_count;
            }
        }
        if let Some(max_age) = retention.max_age {
            let cutoff = DateTime::from_millis(UnixMillis::now().0 - millis(max_age));
            // Only a prefix goes: events below the first one young enough to keep. Deleting
            // every old event could punch a hole behind a young one (clocks of different
            // nodes disagree), which a reader would take for a gap.
            let first_kept = self
                .run(
                    WHAT,
                    self.outbox
                        .find_one(doc! { "createdAt": { "$gte": cutoff } })
                        .sort(doc! { "_id": 1 })
                        .projection(doc! { "_id": 1 }),
                )
                .await?;
            let filter = match first_kept {
                Some(doc) => doc! {
                    "_id": { "$lt": sequence_of(&doc)? },
                    "createdAt": { "$lt": cutoff },
                },
                None => doc! { "createdAt": { "$lt": cutoff } },
            };
            removed += self
                .run(WHAT, self.outbox.delete_many(filter))
                .await?
                .deleted_count;
        }
        Ok(removed)
    }

    async fn checkpoint_of(&self, client: &ClientId) -> Result<Option<Sequence>, StoreError> {
        let stored = self
            .run(
                "read a checkpoint",
                self.checkpoints.find_one(doc! { "_id": client.as_str() }),
            )
            .await?;
        stored
            .map(|doc| {
                integer(&doc, "seq")
                    .and_then(|seq| u64::try_from(seq).ok())
                    .map(Sequence)
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("the checkpoint of {client} is not a number"))
                    })
            })
            .transpose()
    }

    /// One `update` command per chunk, one upserting `$max` statement per client: a round
    /// trip per thousand checkpoints, and a stored checkpoint never moves back.
    async fn save_checkpoint_batch(
        &self,
        batch: Vec<(ClientId, Sequence)>,
    ) -> Result<(), StoreError> {
        const WHAT: &str = "save checkpoints";
        for chunk in batch.chunks(UPDATE_CHUNK) {
            let updates: Vec<Document> = chunk
                .iter()
                .map(|(client, sequence)| {
                    doc! {
                        "q": { "_id": client.as_str() },
                        "u": { "$max": { "seq": i64::try_from(sequence.0).unwrap_or(i64::MAX) } },
                        "upsert": true,
                    }
                })
                .collect();
            let command = doc! {
                "update": self.checkpoints.name(),
                "updates": updates,
                "ordered": false,
                "writeConcern": self.write_concern.clone(),
            };
            // Two nodes creating the same client's checkpoint at once: the loser's statement
            // fails with a duplicate key, and running the (idempotent) chunk again applies it.
            let mut attempts = 0;
            loop {
                attempts += 1;
                let reply = self.run(WHAT, self.db.run_command(command.clone())).await?;
                match update_reply_error(&reply) {
                    None => break,
                    Some((DUPLICATE_KEY, _)) if attempts < 3 => continue,
                    Some((_, error)) => return Err(error),
                }
            }
        }
        Ok(())
    }

    async fn upsert_node(&self, report: NodeReport) -> Result<(), StoreError> {
        let document = doc! {
            "_id": &report.node_id,
            "connections": saturating_i64(report.connections),
            "clients": saturating_i64(report.clients),
            "dispatched": saturating_i64(report.dispatched.0),
            "seenAt": DateTime::from_millis(report.seen_at.0),
        };
        self.run(
            "report this node",
            self.nodes
                .replace_one(doc! { "_id": &report.node_id }, document)
                .upsert(true),
        )
        .await?;
        Ok(())
    }

    async fn recent_nodes(&self, within: Duration) -> Result<Vec<NodeReport>, StoreError> {
        let cutoff = DateTime::from_millis(UnixMillis::now().0 - millis(within));
        let documents = self
            .run("list nodes", async {
                let mut cursor = self
                    .nodes
                    .find(doc! { "seenAt": { "$gte": cutoff } })
                    .sort(doc! { "_id": 1 })
                    .await?;
                let mut documents = Vec::new();
                while cursor.advance().await? {
                    documents.push(cursor.deserialize_current()?);
                }
                Ok(documents)
            })
            .await?;
        documents.iter().map(node_from_document).collect()
    }

    async fn demo_switch(&self) -> Result<DemoState, StoreError> {
        let stored = self
            .run(
                "read the demo switch",
                self.demo.find_one(doc! { "_id": DEMO_SWITCH }),
            )
            .await?;
        let Some(doc) = stored else {
            return Ok(DemoState::default());
        };
        Ok(DemoState {
            running: doc.get_bool("running").unwrap_or(false),
            interval_secs: integer(&doc, "intervalSecs")
                .and_then(|secs| u32::try_from(secs).ok())
                .unwrap_or(0),
        })
    }

    /// A conditional update. Expecting "stopped" also matches a missing document, through an
    /// upsert; if the switch exists and is running, that upsert collides on `_id` and loses.
    async fn swap_demo_switch(
        &self,
        expect_running: bool,
        next: DemoState,
    ) -> Result<bool, StoreError> {
        const WHAT: &str = "flip the demo switch";
        let filter = if expect_running {
            doc! { "_id": DEMO_SWITCH, "running": true }
        } else {
            doc! { "_id": DEMO_SWITCH, "running": { "$ne": true } }
        };
        let update = doc! { "$set": {
            "running": next.running,
            "intervalSecs": i64::from(next.interval_secs),
        } };
        let attempt = timed(
            self.operation_timeout,
            WHAT,
            self.demo.update_one(filter, update).upsert(!expect_running),
        )
        .await?;
        match attempt {
            Ok(result) => Ok(result.matched_count > 0 || result.upserted_id.is_some()),
            Err(error) if is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(classify(WHAT, error)),
        }
    }

    /// Free, expired or already ours: the filter matches and the update renews it. Held by
    /// another: no match, the upsert collides on `_id`, and we do not hold it.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        const WHAT: &str = "acquire a lease";
        let now = UnixMillis::now().0;
        let filter = doc! {
            "_id": name,
            "$or": [
                { "holder": holder },
                { "expiresAt": { "$lte": DateTime::from_millis(now) } },
            ],
        };
        let update = doc! { "$set": {
            "holder": holder,
            "expiresAt": DateTime::from_millis(now + millis(ttl)),
        } };
        let attempt = timed(
            self.operation_timeout,
            WHAT,
            self.leases.update_one(filter, update).upsert(true),
        )
        .await?;
        match attempt {
            Ok(_) => Ok(true),
            Err(error) if is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(classify(WHAT, error)),
        }
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

/// `operation` under `limit`; the outer error is the timeout, the inner one the driver's.
async fn timed<T>(
    limit: Duration,
    what: &'static str,
    operation: impl IntoFuture<Output = mongodb::error::Result<T>>,
) -> Result<mongodb::error::Result<T>, StoreError> {
    tokio::time::timeout(limit, operation)
        .await
        .map_err(|_| StoreError::Unavailable(format!("{what}: no answer within {limit:?}")))
}

/// Server codes that mean "try again later": the node is stepping down, recovering or shutting
/// down, the network failed, a time limit or the write concern was not met.
const TRANSIENT_CODES: [i32; 16] = [
    6, 7, 50, 64, 89, 91, 134, 189, 262, 9001, 10058, 10107, 11600, 11602, 13435, 13436,
];

/// Network, timeout, server selection and "node not usable now" errors are `Unavailable`
/// (the same call may work later); everything else is `Rejected`.
fn classify(what: &'static str, error: mongodb::error::Error) -> StoreError {
    let transient = error.contains_label(mongodb::error::RETRYABLE_WRITE_ERROR)
        || match &*error.kind {
            ErrorKind::Io(_)
            | ErrorKind::ServerSelection { .. }
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. }
            | ErrorKind::Authentication { .. } => true,
            ErrorKind::Command(command) => TRANSIENT_CODES.contains(&command.code),
            ErrorKind::Write(WriteFailure::WriteConcernError(_)) => true,
            ErrorKind::Write(WriteFailure::WriteError(write)) => {
                TRANSIENT_CODES.contains(&write.code)
            }
            ErrorKind::InsertMany(insert) => insert.write_concern_error.is_some(),
            _ => false,
        };
    let message = format!("{what}: {error}");
    if transient {
        StoreError::Unavailable(message)
    } else {
        StoreError::Rejected(message)
    }
}

fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    match &*error.kind {
        ErrorKind::Command(command) => command.code == DUPLICATE_KEY,
        ErrorKind::Write(WriteFailure::WriteError(write)) => write.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(insert) => insert
            .write_errors
            .iter()
            .flatten()
            .any(|e| e.code == DUPLICATE_KEY),
        _ => false,
    }
}

/// Whether an ordered insert stopped at its first document on a duplicate `_id`.
fn first_insert_was_duplicate(error: &mongodb::error::Error) -> bool {
    match &*error.kind {
        ErrorKind::InsertMany(insert) => insert
            .write_errors
            .iter()
            .flatten()
            .any(|e| e.index == 0 && e.code == DUPLICATE_KEY),
        _ => false,
    }
}

/// The first statement error or the write concern error of an `update` command's reply, with
/// its code. (`run_command` only turns `ok: 0` into an error.)
fn update_reply_error(reply: &Document) -> Option<(i32, StoreError)> {
    let code_of = |error: &Document| integer(error, "code").unwrap_or(0) as i32;
    let message_of = |error: &Document| error.get_str("errmsg").unwrap_or("").to_owned();
    if let Ok(errors) = reply.get_array("writeErrors") {
        if let Some(Bson::Document(error)) = errors.first() {
            let code = code_of(error);
            let message = format!("save checkpoints: {} (code {code})", message_of(error));
            return Some((code, StoreError::Rejected(message)));
        }
    }
    if let Ok(error) = reply.get_document("writeConcernError") {
        let code = code_of(error);
        let message = format!("save checkpoints: {} (code {code})", message_of(error));
        return Some((code, StoreError::Unavailable(message)));
    }
    None
}

fn event_document(sequence: i64, event: &NewEvent) -> Document {
    let mut document = doc! {
        "_id": sequence,
        "type": event.event_type.as_str(),
        "messageId": Binary {
            subtype: BinarySubtype::Uuid,
            bytes: event.message_id.0.as_bytes().to_vec(),
        },
        "createdAt": DateTime::from_millis(event.created_at.0),
        "fields": &event.fields,
    };
    if let Some(target) = &event.target {
        document.insert("target", target.as_str());
    }
    document
}

fn event_from_document(document: &Document) -> Result<Event, StoreError> {
    let sequence = sequence_of(document)?;
    let corrupt = |field: &str| StoreError::Corrupt(format!("event {sequence}: bad {field}"));
    let event_type = document
        .get_str("type")
        .ok()
        .and_then(|t| EventType::new(t).ok())
        .ok_or_else(|| corrupt("type"))?;
    let target = match document.get("target") {
        None | Some(Bson::Null) => None,
        Some(Bson::String(client)) => Some(ClientId::new(client).map_err(|_| corrupt("target"))?),
        Some(_) => return Err(corrupt("target")),
    };
    let message_id = match document.get("messageId") {
        Some(Bson::Binary(binary)) if binary.subtype == BinarySubtype::Uuid => {
            uuid::Uuid::from_slice(&binary.bytes).map_err(|_| corrupt("messageId"))?
        }
        _ => return Err(corrupt("messageId")),
    };
    Ok(Event {
        sequence: Sequence(sequence as u64),
        message_id: MessageId(message_id),
        event_type,
        target,
        created_at: UnixMillis(
            document
                .get_datetime("createdAt")
                .map_err(|_| corrupt("createdAt"))?
                .timestamp_millis(),
        ),
        fields: document
            .get_str("fields")
            .map_err(|_| corrupt("fields"))?
            .to_owned(),
    })
}

fn node_from_document(document: &Document) -> Result<NodeReport, StoreError> {
    let node_id = document
        .get_str("_id")
        .map_err(|_| StoreError::Corrupt("a node report without a string _id".into()))?;
    let corrupt = |field: &str| StoreError::Corrupt(format!("node {node_id}: bad {field}"));
    let count = |field: &'static str| {
        integer(document, field)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| corrupt(field))
    };
    Ok(NodeReport {
        node_id: node_id.to_owned(),
        connections: count("connections")?,
        clients: count("clients")?,
        dispatched: Sequence(count("dispatched")?),
        seen_at: UnixMillis(
            document
                .get_datetime("seenAt")
                .map_err(|_| corrupt("seenAt"))?
                .timestamp_millis(),
        ),
    })
}

/// An outbox document's `_id`: a positive sequence number.
fn sequence_of(document: &Document) -> Result<i64, StoreError> {
    integer(document, "_id")
        .filter(|id| *id > 0)
        .ok_or_else(|| StoreError::Corrupt(format!("an outbox _id is not a sequence: {document}")))
}

/// An integer field whichever BSON width it was stored with (shells write doubles).
fn integer(document: &Document, field: &str) -> Option<i64> {
    match document.get(field)? {
        Bson::Int64(n) => Some(*n),
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Double(n) if n.fract() == 0.0 => Some(*n as i64),
        _ => None,
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Store for MongoStore {
    fn kind(&self) -> &'static str {
        "mongodb"
    }

    fn append(&self, batch: Vec<NewEvent>) -> StoreFuture<'_, Vec<Sequence>> {
        Box::pin(self.append_batch(batch))
    }

    fn read_after(&self, after: Sequence, limit: usize) -> StoreFuture<'_, Vec<Event>> {
        Box::pin(self.read_events(after, limit))
    }

    fn head(&self) -> StoreFuture<'_, Sequence> {
        Box::pin(async { Ok(Sequence(self.head_number().await? as u64)) })
    }

    fn oldest(&self) -> StoreFuture<'_, Option<Sequence>> {
        Box::pin(self.oldest_sequence())
    }

    fn trim(&self, retention: Retention) -> StoreFuture<'_, u64> {
        Box::pin(self.trim_events(retention))
    }

    fn load_checkpoint<'a>(&'a self, client: &'a ClientId) -> StoreFuture<'a, Option<Sequence>> {
        Box::pin(self.checkpoint_of(client))
    }

    fn save_checkpoints(&self, batch: Vec<(ClientId, Sequence)>) -> StoreFuture<'_, ()> {
        Box::pin(self.save_checkpoint_batch(batch))
    }

    fn report_node(&self, report: NodeReport) -> StoreFuture<'_, ()> {
        Box::pin(self.upsert_node(report))
    }

    fn nodes(&self, within: Duration) -> StoreFuture<'_, Vec<NodeReport>> {
        Box::pin(self.recent_nodes(within))
    }

    fn demo_state(&self) -> StoreFuture<'_, DemoState> {
        Box::pin(self.demo_switch())
    }

    fn swap_demo_state(&self, expect_running: bool, next: DemoState) -> StoreFuture<'_, bool> {
        Box::pin(self.swap_demo_switch(expect_running, next))
    }

    fn acquire_lease<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(self.take_lease(name, holder, ttl))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::contract::sample;

    #[test]
    fn write_concerns_parse_majority_or_a_node_count() {
        assert_eq!("majority".parse(), Ok(WriteAcknowledgment::Majority));
        assert_eq!(" Majority ".parse(), Ok(WriteAcknowledgment::Majority));
        assert_eq!("2".parse(), Ok(WriteAcknowledgment::Nodes(2)));
        assert!("0".parse::<WriteAcknowledgment>().is_err());
        assert!("all".parse::<WriteAcknowledgment>().is_err());
        assert_eq!(WriteAcknowledgment::Nodes(1).to_string(), "1");
    }

    #[test]
    fn events_round_trip_through_documents() {
        for event in [sample(1, None), sample(2, Some("alice"))] {
            let document = event_document(7, &event);
            assert_eq!(
                event_from_document(&document).unwrap(),
                event.with_sequence(Sequence(7))
            );
        }
        let mut broken = event_document(8, &sample(3, None));
        broken.insert("messageId", "not a uuid");
        assert!(matches!(
            event_from_document(&broken),
            Err(StoreError::Corrupt(_))
        ));
    }
}
