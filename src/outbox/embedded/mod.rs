//! The embedded store: one redb file under the data dir. The default backend: durable,
//! single-node, zero set-up.
//!
//! Sequences are assigned inside the write transaction from the `head` kept in the `meta`
//! table, and every commit is `Durability::Immediate` (fsync) before the append returns, so a
//! publish that was answered survives SIGKILL and power loss. redb calls block, so each
//! operation runs on tokio's blocking pool.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::{DemoState, NodeReport, Retention, Store, StoreError, StoreFuture};
use crate::event::{ClientId, Event, EventType, MessageId, NewEvent, Sequence, UnixMillis};

const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CHECKPOINTS: TableDefinition<&str, u64> = TableDefinition::new("checkpoints");
const LEASES: TableDefinition<&str, (&str, i64)> = TableDefinition::new("leases");

const HEAD: &str = "head";
const DEMO_RUNNING: &str = "demo.running";
const DEMO_INTERVAL: &str = "demo.interval_secs";

/// The file name inside `--data-dir`.
pub const FILE_NAME: &str = "ssehub.redb";

pub struct EmbeddedStore {
    db: Arc<Database>,
    /// A single node's report needs no durability: it lives as long as the process.
    node: parking_lot::Mutex<Option<NodeReport>>,
}

impl EmbeddedStore {
    /// Opens (or creates) `<dir>/ssehub.redb`, creating `dir` if needed.
    ///
    /// # Errors
    /// When the directory or file cannot be created or the file is not a redb database.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
        })?;
        let path = dir.join(FILE_NAME);
        let db = Database::create(&path)
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        // Create every table once so readers never meet a missing one.
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(EVENTS).map_err(unavailable)?;
        txn.open_table(META).map_err(unavailable)?;
        txn.open_table(CHECKPOINTS).map_err(unavailable)?;
        txn.open_table(LEASES).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        Ok(EmbeddedStore {
            db: Arc::new(db),
            node: parking_lot::Mutex::new(None),
        })
    }

    /// Runs `op` on the blocking pool with the database.
    fn blocking<T, F>(&self, op: F) -> StoreFuture<'_, T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.db.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || op(&db))
                .await
                .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
        })
    }
}

fn unavailable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// Record layout: message id (16) · created_at (8, LE) · type len (1) · type · target len
/// (1, 0 = broadcast) · target · fields (rest). Names are validated, so lengths fit a byte.
fn encode(event: &NewEvent) -> Vec<u8> {
    let event_type = event.event_type.as_str().as_bytes();
    let target = event
        .target
        .as_ref()
        .map_or(&[][..], |c| c.as_str().as_bytes());
    let mut record = Vec::with_capacity(26 + event_type.len() + target.len() + event.fields.len());
    record.extend_from_slice(event.message_id.0.as_bytes());
    record.extend_from_slice(&event.created_at.0.to_le_bytes());
    record.push(event_type.len() as u8);
    record.extend_from_slice(event_type);
    record.push(target.len() as u8);
    record.extend_from_slice(target);
    record.extend_from_slice(event.fields.as_bytes());
    record
}

fn decode(sequence: u64, record: &[u8]) -> Result<Event, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("event {sequence} has a malformed record"));
    let (id, rest) = record.split_at_checked(16).ok_or_else(corrupt)?;
    let (created, rest) = rest.split_at_checked(8).ok_or_else(corrupt)?;
    let (&type_len, rest) = rest.split_first().ok_or_else(corrupt)?;
    let (event_type, rest) = rest
        .split_at_checked(type_len as usize)
        .ok_or_else(corrupt)?;
    let (&target_len, rest) = rest.split_first().ok_or_else(corrupt)?;
    let (target, fields) = rest
        .split_at_checked(target_len as usize)
        .ok_or_else(corrupt)?;
    fn text(bytes: &[u8]) -> Option<&str> {
        std::str::from_utf8(bytes).ok()
    }
    Ok(Event {
        sequence: Sequence(sequence),
        message_id: MessageId(uuid::Uuid::from_slice(id).map_err(|_| corrupt())?),
        created_at: UnixMillis(i64::from_le_bytes(
            created.try_into().map_err(|_| corrupt())?,
        )),
        event_type: EventType::new(text(event_type).ok_or_else(corrupt)?).map_err(|_| corrupt())?,
        target: match target_len {
            0 => None,
            _ => Some(ClientId::new(text(target).ok_or_else(corrupt)?).map_err(|_| corrupt())?),
        },
        fields: text(fields).ok_or_else(corrupt)?.to_owned(),
    })
}

impl Store for EmbeddedStore {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    fn append(&self, batch: Vec<NewEvent>) -> StoreFuture<'_, Vec<Sequence>> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let mut sequences = Vec::with_capacity(batch.len());
            {
                let mut meta = txn.open_table(META).map_err(unavailable)?;
                let mut events = txn.open_table(EVENTS).map_err(unavailable)?;
                let mut head = meta
                    .get(HEAD)
                    .map_err(unavailable)?
                    .map_or(0, |v| v.value());
                for event in &batch {
                    head += 1;
                    events
                        .insert(head, encode(event).as_slice())
                        .map_err(unavailable)?;
                    sequences.push(Sequence(head));
                }
                meta.insert(HEAD, head).map_err(unavailable)?;
            }
            // Durability::Immediate is redb's default: commit returns after fsync.
            txn.commit().map_err(unavailable)?;
            Ok(sequences)
        })
    }

    fn read_after(&self, after: Sequence, limit: usize) -> StoreFuture<'_, Vec<Event>> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let events = txn.open_table(EVENTS).map_err(unavailable)?;
            let Some(start) = after.0.checked_add(1) else {
                return Ok(Vec::new());
            };
            let mut out = Vec::with_capacity(limit.min(1024));
            for entry in events.range(start..).map_err(unavailable)?.take(limit) {
                let (key, value) = entry.map_err(unavailable)?;
                out.push(decode(key.value(), value.value())?);
            }
            Ok(out)
        })
    }

    fn head(&self) -> StoreFuture<'_, Sequence> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let meta = txn.open_table(META).map_err(unavailable)?;
            Ok(Sequence(
                meta.get(HEAD)
                    .map_err(unavailable)?
                    .map_or(0, |v| v.value()),
            ))
        })
    }

    fn oldest(&self) -> StoreFuture<'_, Option<Sequence>> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let events = txn.open_table(EVENTS).map_err(unavailable)?;
            let first = events.first().map_err(unavailable)?;
            Ok(first.map(|(key, _)| Sequence(key.value())))
        })
    }

    fn trim(&self, retention: Retention) -> StoreFuture<'_, u64> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let removed;
            {
                let mut events = txn.open_table(EVENTS).map_err(unavailable)?;
                let before = events.len().map_err(unavailable)?;
                // Everything up to and including `cut` goes.
                let mut cut: Option<u64> = None;
                if let Some(max) = retention.max_events {
                    if before > max {
                        let first = events.first().map_err(unavailable)?;
                        let first = first.map_or(0, |(k, _)| k.value());
                        // Sequences in the table are consecutive, so the count maps to a key.
                        cut = Some(first + (before - max) - 1);
                    }
                }
                if let Some(max_age) = retention.max_age {
                    let cutoff = UnixMillis::now().0 - max_age.as_millis() as i64;
                    for entry in events.iter().map_err(unavailable)? {
                        let (key, value) = entry.map_err(unavailable)?;
                        let event = decode(key.value(), value.value())?;
                        if event.created_at.0 >= cutoff {
                            break;
                        }
                        cut = Some(cut.map_or(key.value(), |c| c.max(key.value())));
                    }
                }
                if let Some(cut) = cut {
                    events
                        .retain_in(..=cut, |_, _| false)
                        .map_err(unavailable)?;
                }
                removed = before - events.len().map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)?;
            Ok(removed)
        })
    }

    fn load_checkpoint<'a>(&'a self, client: &'a ClientId) -> StoreFuture<'a, Option<Sequence>> {
        let client = client.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(CHECKPOINTS).map_err(unavailable)?;
            let stored = table.get(client.as_str()).map_err(unavailable)?;
            Ok(stored.map(|v| Sequence(v.value())))
        })
    }

    fn save_checkpoints(&self, batch: Vec<(ClientId, Sequence)>) -> StoreFuture<'_, ()> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(CHECKPOINTS).map_err(unavailable)?;
                for (client, sequence) in batch {
                    let stored = table
                        .get(client.as_str())
                        .map_err(unavailable)?
                        .map_or(0, |v| v.value());
                    if sequence.0 > stored {
                        table
                            .insert(client.as_str(), sequence.0)
                            .map_err(unavailable)?;
                    }
                }
            }
            txn.commit().map_err(unavailable)
        })
    }

    fn report_node(&self, report: NodeReport) -> StoreFuture<'_, ()> {
        *self.node.lock() = Some(report);
        Box::pin(std::future::ready(Ok(())))
    }

    fn nodes(&self, within: Duration) -> StoreFuture<'_, Vec<NodeReport>> {
        let cutoff = UnixMillis::now().0 - within.as_millis() as i64;
        let node = self.node.lock().clone().filter(|n| n.seen_at.0 >= cutoff);
        Box::pin(std::future::ready(Ok(node.into_iter().collect())))
    }

    fn demo_state(&self) -> StoreFuture<'_, DemoState> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let meta = txn.open_table(META).map_err(unavailable)?;
            let get = |key| -> Result<u64, StoreError> {
                Ok(meta.get(key).map_err(unavailable)?.map_or(0, |v| v.value()))
            };
            Ok(DemoState {
                running: get(DEMO_RUNNING)? == 1,
                interval_secs: get(DEMO_INTERVAL)? as u32,
            })
        })
    }

    fn swap_demo_state(&self, expect_running: bool, next: DemoState) -> StoreFuture<'_, bool> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut meta = txn.open_table(META).map_err(unavailable)?;
                let running = meta
                    .get(DEMO_RUNNING)
                    .map_err(unavailable)?
                    .map_or(0, |v| v.value())
                    == 1;
                if running != expect_running {
                    return Ok(false);
                }
                meta.insert(DEMO_RUNNING, u64::from(next.running))
                    .map_err(unavailable)?;
                meta.insert(DEMO_INTERVAL, u64::from(next.interval_secs))
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)?;
            Ok(true)
        })
    }

    fn acquire_lease<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.blocking(move |db| {
            let now = UnixMillis::now().0;
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut leases = txn.open_table(LEASES).map_err(unavailable)?;
                let current = leases.get(name.as_str()).map_err(unavailable)?;
                let free = current.as_ref().is_none_or(|v| {
                    let (owner, expires) = v.value();
                    owner == holder || expires <= now
                });
                drop(current);
                if !free {
                    return Ok(false);
                }
                let expires = now + ttl.as_millis() as i64;
                leases
                    .insert(name.as_str(), (holder.as_str(), expires))
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::contract::sample;

    crate::store_contract_tests!(EmbeddedStore::open(
        tempfile::tempdir().unwrap().keep().as_path()
    )
    .unwrap());

    #[tokio::test]
    async fn reopening_keeps_events_checkpoints_and_head() {
        let dir = tempfile::tempdir().unwrap();
        let alice = ClientId::new("alice").unwrap();
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            store
                .append((1..=5).map(|n| sample(n, Some("alice"))).collect())
                .await
                .unwrap();
            store
                .save_checkpoints(vec![(alice.clone(), Sequence(3))])
                .await
                .unwrap();
            store
                .trim(Retention {
                    max_events: Some(2),
                    max_age: None,
                })
                .await
                .unwrap();
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(store.head().await.unwrap(), Sequence(5));
        assert_eq!(store.oldest().await.unwrap(), Some(Sequence(4)));
        assert_eq!(
            store.load_checkpoint(&alice).await.unwrap(),
            Some(Sequence(3))
        );
        let events = store.read_after(Sequence::ZERO, 10).await.unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].target, Some(alice));
        assert_eq!(
            store.append(vec![sample(6, None)]).await.unwrap(),
            vec![Sequence(6)]
        );
    }

    #[test]
    fn records_round_trip_and_truncation_is_corrupt() {
        let event = sample(7, Some("bob"));
        let record = encode(&event);
        assert_eq!(
            decode(9, &record).unwrap(),
            event.clone().with_sequence(Sequence(9))
        );
        assert!(matches!(
            decode(9, &record[..20]),
            Err(StoreError::Corrupt(_))
        ));
    }
}
