//! The event log in redb: append under the stored head, read, trim.

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::record::{decode, encode};
use super::{EmbeddedStore, OpError, EVENTS, HEAD, META, PROBE};
use crate::event::{Event, NewEvent, Sequence, UnixMillis};
use crate::outbox::{EventLog, Page, Retention, StoreFuture};

impl EventLog for EmbeddedStore {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    fn append(&self, batch: Vec<NewEvent>) -> StoreFuture<'_, Vec<Sequence>> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let mut sequences = Vec::with_capacity(batch.len());
            {
                let mut meta = txn.open_table(META)?;
                let mut events = txn.open_table(EVENTS)?;
                let mut head = meta.get(HEAD)?.map_or(0, |v| v.value());
                for event in &batch {
                    head += 1;
                    events.insert(head, encode(event).as_slice())?;
                    sequences.push(Sequence(head));
                }
                meta.insert(HEAD, head)?;
            }
            // Durability::Immediate is redb's default: commit returns after fsync.
            txn.commit()?;
            Ok(sequences)
        })
    }

    fn read_after(&self, after: Sequence, page: Page) -> StoreFuture<'_, Vec<Event>> {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let events = txn.open_table(EVENTS)?;
            let Some(start) = after.0.checked_add(1) else {
                return Ok(Vec::new());
            };
            let mut out = Vec::with_capacity(page.events.min(1024));
            let mut bytes = 0;
            for entry in events.range(start..)? {
                if !page.has_room(out.len(), bytes) {
                    break;
                }
                let (key, value) = entry?;
                let event = decode(key.value(), value.value())?;
                bytes += event.fields.len();
                out.push(event);
            }
            Ok(out)
        })
    }

    fn head(&self) -> StoreFuture<'_, Sequence> {
        self.blocking(|db| {
            let txn = db.begin_read()?;
            let meta = txn.open_table(META)?;
            Ok(Sequence(meta.get(HEAD)?.map_or(0, |v| v.value())))
        })
    }

    fn oldest(&self) -> StoreFuture<'_, Option<Sequence>> {
        self.blocking(|db| {
            let txn = db.begin_read()?;
            let events = txn.open_table(EVENTS)?;
            let first = events.first()?;
            Ok(first.map(|(key, _)| Sequence(key.value())))
        })
    }

    fn probe(&self) -> StoreFuture<'_, ()> {
        self.blocking(|db| {
            let txn = db.begin_write()?;
            txn.open_table(META)?
                .insert(PROBE, UnixMillis::now().0.max(0) as u64)?;
            txn.commit()?;
            Ok(())
        })
    }

    fn trim(&self, retention: Retention) -> StoreFuture<'_, u64> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let removed;
            {
                let mut events = txn.open_table(EVENTS)?;
                let before = events.len()?;
                // Everything up to and including `cut` goes.
                let mut cut: Option<u64> = None;
                if let Some(max) = retention.max_events {
                    if before > max {
                        let first = events.first()?.map_or(0, |(k, _)| k.value());
                        // Sequences in the table are consecutive, so the count maps to a key.
                        cut = Some(first + (before - max) - 1);
                    }
                }
                if let Some(max_age) = retention.max_age {
                    let cutoff = UnixMillis::now().0 - max_age.as_millis() as i64;
                    for entry in events.iter()? {
                        let (key, value) = entry?;
                        let event = decode(key.value(), value.value())?;
                        if event.created_at.0 >= cutoff {
                            break;
                        }
                        cut = Some(cut.map_or(key.value(), |c| c.max(key.value())));
                    }
                }
                if let Some(cut) = cut {
                    events.retain_in(..=cut, |_, _| false)?;
                }
                removed = before - events.len()?;
            }
            txn.commit()?;
            Ok::<u64, OpError>(removed)
        })
    }
}
