//! The embedded store: one redb file under the data dir. The default backend: durable,
//! single-node, zero set-up.
//!
//! Sequences are assigned inside the write transaction from the `head` kept in the `meta`
//! table, and every commit is `Durability::Immediate` (fsync) before the append returns, so a
//! publish that was answered survives SIGKILL and power loss. redb calls block, so each
//! operation runs on tokio's blocking pool.
//!
//! **Healing.** After an I/O error (a full disk, say) redb refuses every later operation until
//! the database is closed and opened again. The store does that itself: the failing operation
//! marks the handle broken, and the next operation after a backoff reopens the file (redb
//! repairs it from its last durable commit). Until then every operation fails fast with
//! `Unavailable`, so publishes answer 503 and readiness reports the store down; nothing
//! acknowledged is lost, because an answer was only ever sent after a durable commit.

mod handle;
mod log;
mod record;
mod state;
#[cfg(test)]
mod tests;

use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};

use self::handle::Handle;
use super::{NodeReport, StoreError, StoreFuture};

/// Events in chunks of consecutive sequences, keyed by the first (see `record`).
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("event_chunks");
/// Schema 2's events, one per row; converted into `EVENTS` when such a file is opened.
const EVENTS_SCHEMA_2: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CHECKPOINTS: TableDefinition<&str, u64> = TableDefinition::new("checkpoints");
const LEASES: TableDefinition<&str, (&str, i64)> = TableDefinition::new("leases");
/// The idempotency index: a chosen message id (as `u128`) → its event's sequence.
const MESSAGE_IDS: TableDefinition<u128, u64> = TableDefinition::new("message_ids");
/// The same ids in the order they were stored, with their time, so the dedupe window can
/// forget the oldest without scanning the index: sequence → (id, created at ms).
const CHOSEN_IDS: TableDefinition<u64, (u128, i64)> = TableDefinition::new("chosen_ids");

const HEAD: &str = "head";
const DEMO_RUNNING: &str = "demo.running";
const DEMO_INTERVAL: &str = "demo.interval_secs";
/// When the last health probe wrote (see `EventLog::probe`).
const PROBE: &str = "probe";
/// The layout of the tables above; a file with another layout is refused, never misread.
const SCHEMA: &str = "schema";
const SCHEMA_VERSION: u64 = 3;
/// Older layouts, named in the refusal so an operator knows what wrote the file.
const OLDER_SCHEMAS: [(u64, &str); 1] = [(1, "ssehub before event topics")];

/// The file name inside `--data-dir`.
pub const FILE_NAME: &str = "ssehub.redb";

pub struct EmbeddedStore {
    handle: Handle,
    /// A single node's report needs no durability: it lives as long as the process.
    node: parking_lot::Mutex<Option<NodeReport>>,
    /// This node's presence report (a single node coordinates with nobody: kept in memory).
    presence: parking_lot::Mutex<Vec<crate::outbox::PresenceEntry>>,
}

/// A failed operation: redb's error (which may call for a reopen) or bad stored data.
#[derive(Debug)]
enum OpError {
    Redb(redb::Error),
    Corrupt(String),
}

macro_rules! from_redb {
    ($($error:ty),*) => {$(
        impl From<$error> for OpError {
            fn from(error: $error) -> OpError {
                OpError::Redb(error.into())
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl EmbeddedStore {
    /// Opens (or creates) `<dir>/ssehub.redb`, creating `dir` if needed.
    ///
    /// # Errors
    /// When the directory or file cannot be created, or the file is not an ssehub database
    /// this version can read (an older file format is named in the message).
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
        })?;
        Ok(EmbeddedStore {
            handle: Handle::open(dir.join(FILE_NAME))?,
            node: parking_lot::Mutex::new(None),
            presence: parking_lot::Mutex::new(Vec::new()),
        })
    }

    /// Runs `op` on the blocking pool with the database; a redb I/O failure marks the handle
    /// for a reopen.
    fn blocking<T, F>(&self, op: F) -> StoreFuture<'_, T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, OpError> + Send + 'static,
    {
        Box::pin(self.handle.run(op))
    }

    /// Runs a small read on the calling thread (see [`handle::Handle::run_here`]).
    fn here<T, F>(&self, op: F) -> StoreFuture<'_, T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, OpError> + Send + 'static,
    {
        Box::pin(self.handle.run_here(op))
    }
}

/// Opens the file and checks (or, when new, writes) the schema version.
fn open_database(path: &Path) -> Result<Database, StoreError> {
    let db = Database::create(path).map_err(|e| match e {
        redb::DatabaseError::UpgradeRequired(version) => StoreError::Rejected(format!(
            "{} uses redb file format {version}, written by ssehub 0.1 (redb 2); this ssehub \
             reads format 3 only. Move the data directory away (or delete it) to start with an \
             empty outbox",
            path.display()
        )),
        other => StoreError::Unavailable(format!("cannot open {}: {other}", path.display())),
    })?;
    let fail = |e: OpError| handle::to_store_error(e, path);
    let txn = db.begin_write().map_err(|e| fail(e.into()))?;
    {
        let mut meta = txn.open_table(META).map_err(|e| fail(e.into()))?;
        let stored = meta
            .get(SCHEMA)
            .map_err(|e| fail(e.into()))?
            .map(|v| v.value());
        match stored {
            Some(SCHEMA_VERSION) => {}
            Some(2) => {
                convert_schema_2(&txn).map_err(fail)?;
                meta.insert(SCHEMA, SCHEMA_VERSION)
                    .map_err(|e| fail(e.into()))?;
            }
            Some(other) => {
                let writer = OLDER_SCHEMAS
                    .iter()
                    .find(|(version, _)| *version == other)
                    .map_or(String::new(), |(_, name)| format!(" (written by {name})"));
                return Err(StoreError::Rejected(format!(
                    "{} holds ssehub schema {other}{writer}; this ssehub reads schema \
                     {SCHEMA_VERSION} only. Move the data directory away (or delete it) to \
                     start with an empty outbox",
                    path.display()
                )));
            }
            None => {
                let empty = meta.get(HEAD).map_err(|e| fail(e.into()))?.is_none();
                if !empty {
                    return Err(StoreError::Rejected(format!(
                        "{} has events but no schema version; it was not written by this ssehub",
                        path.display()
                    )));
                }
                meta.insert(SCHEMA, SCHEMA_VERSION)
                    .map_err(|e| fail(e.into()))?;
            }
        }
        // Create every table once so readers never meet a missing one.
        txn.open_table(EVENTS).map_err(|e| fail(e.into()))?;
        txn.open_table(CHECKPOINTS).map_err(|e| fail(e.into()))?;
        txn.open_table(LEASES).map_err(|e| fail(e.into()))?;
        txn.open_table(MESSAGE_IDS).map_err(|e| fail(e.into()))?;
        txn.open_table(CHOSEN_IDS).map_err(|e| fail(e.into()))?;
    }
    txn.commit().map_err(|e| fail(e.into()))?;
    Ok(db)
}

/// Stores schema 2's one-event rows as chunks, in the transaction that records schema 3, so a
/// crash leaves the file either as it was or converted.
fn convert_schema_2(txn: &redb::WriteTransaction) -> Result<(), OpError> {
    {
        let old = txn.open_table(EVENTS_SCHEMA_2)?;
        let mut new = txn.open_table(EVENTS)?;
        // The chunk being filled: its first sequence, its events and bytes.
        let (mut first, mut count, mut chunk) = (0, 0, Vec::new());
        for entry in old.iter()? {
            let (key, value) = entry?;
            if count == 0 {
                first = key.value();
            } else if key.value() != first + count as u64 {
                return Err(OpError::Corrupt(format!(
                    "schema 2 events skip from {} to {}",
                    first + count as u64 - 1,
                    key.value()
                )));
            }
            record::push_record(&mut chunk, value.value());
            count += 1;
            if record::chunk_full(count, chunk.len()) {
                new.insert(first, chunk.as_slice())?;
                (count, chunk) = (0, Vec::new());
            }
        }
        if count > 0 {
            new.insert(first, chunk.as_slice())?;
        }
    }
    txn.delete_table(EVENTS_SCHEMA_2)?;
    Ok(())
}
