//! The event log in redb: append under the stored head, read, trim.

use std::mem;
use std::ops::Range;

use redb::{ReadableDatabase, ReadableTable, Table};

use super::record::{chunk_full, created_at, decode, records, Rows};
use super::{EmbeddedStore, OpError, CHOSEN_IDS, EVENTS, HEAD, MESSAGE_IDS, META, PROBE};
use crate::event::{Event, NewEvent, Sequence, UnixMillis};
use crate::outbox::{Appended, EventLog, Page, Retention, StoreFuture};

impl EventLog for EmbeddedStore {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    fn append<'a>(&'a self, batch: &'a [NewEvent]) -> StoreFuture<'a, Vec<Appended>> {
        // Encoded here, so the blocking task gets one buffer instead of a copy of the events.
        let rows = Rows::encode(batch);
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            let mut results = Vec::with_capacity(rows.len());
            {
                let mut meta = txn.open_table(META)?;
                let mut events = txn.open_table(EVENTS)?;
                // Only a batch with chosen ids touches the idempotency index.
                let mut index = if rows.any_chosen() {
                    Some((txn.open_table(MESSAGE_IDS)?, txn.open_table(CHOSEN_IDS)?))
                } else {
                    None
                };
                let mut head = meta.get(HEAD)?.map_or(0, |v| v.value());
                // The run of rows being gathered into one chunk; the last of them is `head`.
                let mut run = 0..0;
                for (n, row) in rows.iter().enumerate() {
                    if let (true, Some((ids, _))) = (row.chosen, &index) {
                        if let Some(original) = ids.get(row.id)? {
                            results.push(Appended::Retry(Sequence(original.value())));
                            // A retry takes no sequence: the chunk ends before it.
                            store_chunk(
                                &mut events,
                                &rows,
                                mem::replace(&mut run, n + 1..n + 1),
                                head,
                            )?;
                            continue;
                        }
                    }
                    head += 1;
                    run.end = n + 1;
                    if chunk_full(run.len(), rows.chunk(run.clone()).len()) {
                        store_chunk(
                            &mut events,
                            &rows,
                            mem::replace(&mut run, n + 1..n + 1),
                            head,
                        )?;
                    }
                    if let (true, Some((ids, chosen))) = (row.chosen, &mut index) {
                        ids.insert(row.id, head)?;
                        chosen.insert(head, (row.id, row.created))?;
                    }
                    results.push(Appended::New(Sequence(head)));
                }
                store_chunk(&mut events, &rows, run, head)?;
                meta.insert(HEAD, head)?;
            }
            // Durability::Immediate is redb's default: commit returns after fsync.
            txn.commit()?;
            Ok(results)
        })
    }

    fn read_after(&self, after: Sequence, page: Page) -> StoreFuture<'_, Vec<Event>> {
        self.blocking(move |db| {
            let txn = db.begin_read()?;
            let events = txn.open_table(EVENTS)?;
            let Some(start) = after.0.checked_add(1) else {
                return Ok(Vec::new());
            };
            // The chunk holding `start` begins at or before it.
            let from = match events.range(..=start)?.next_back() {
                Some(entry) => entry?.0.value(),
                None => start,
            };
            let mut out = Vec::with_capacity(page.events.min(1024));
            let mut bytes = 0;
            for entry in events.range(from..)? {
                let (key, chunk) = entry?;
                for record in records(key.value(), chunk.value()) {
                    let (sequence, _, record) = record?;
                    if sequence < start {
                        continue;
                    }
                    if !page.has_room(out.len(), bytes) {
                        return Ok(out);
                    }
                    let event = decode(sequence, record)?;
                    bytes += event.fields.len();
                    out.push(event);
                }
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
                let Some(first) = events.first()?.map(|(key, _)| key.value()) else {
                    return Ok(0);
                };
                let head = txn.open_table(META)?.get(HEAD)?.map_or(0, |v| v.value());
                // Sequences in the table are consecutive up to the head.
                let before = head + 1 - first;
                // Everything up to and including `cut` goes.
                let mut cut: Option<u64> = None;
                if let Some(max) = retention.max_events {
                    if before > max {
                        cut = Some(first + (before - max) - 1);
                    }
                }
                if let Some(max_age) = retention.max_age {
                    let cutoff = UnixMillis::now().0 - max_age.as_millis() as i64;
                    'chunks: for entry in events.iter()? {
                        let (key, chunk) = entry?;
                        for record in records(key.value(), chunk.value()) {
                            let (sequence, _, record) = record?;
                            if created_at(sequence, record)? >= cutoff {
                                break 'chunks;
                            }
                            cut = Some(cut.map_or(sequence, |c| c.max(sequence)));
                        }
                    }
                }
                let Some(cut) = cut else {
                    return Ok(0);
                };
                // The chunk holding `cut` keeps the events after it, stored again under the
                // first of them.
                let mut kept = None;
                if let Some(entry) = events.range(..=cut)?.next_back() {
                    let (key, chunk) = entry?;
                    for record in records(key.value(), chunk.value()) {
                        let (sequence, offset, _) = record?;
                        if sequence > cut {
                            kept = Some((sequence, chunk.value()[offset..].to_vec()));
                            break;
                        }
                    }
                }
                events.retain_in(..=cut, |_, _| false)?;
                if let Some((key, rest)) = kept {
                    events.insert(key, rest.as_slice())?;
                }
                removed = cut.min(head) + 1 - first;
            }
            txn.commit()?;
            Ok::<u64, OpError>(removed)
        })
    }

    fn forget_message_ids(&self, before: UnixMillis) -> StoreFuture<'_, u64> {
        self.blocking(move |db| {
            let mut forgotten = 0;
            // In chunks, so one call never holds the write lock (and publishes) for long.
            loop {
                // Nothing to forget (the usual case, every `RETENTION_EVERY`): no write
                // transaction, so no commit and no fsync competing with publishes.
                let oldest = db
                    .begin_read()?
                    .open_table(CHOSEN_IDS)?
                    .first()?
                    .map(|(_, value)| value.value().1);
                if oldest.is_none_or(|created| created >= before.0) {
                    return Ok::<u64, OpError>(forgotten);
                }
                let txn = db.begin_write()?;
                let chunk;
                {
                    let mut ids = txn.open_table(MESSAGE_IDS)?;
                    let mut chosen = txn.open_table(CHOSEN_IDS)?;
                    let mut old = Vec::new();
                    for entry in chosen.iter()?.take(FORGET_CHUNK) {
                        let (sequence, value) = entry?;
                        let (id, created) = value.value();
                        if created >= before.0 {
                            break;
                        }
                        old.push((sequence.value(), id));
                    }
                    chunk = old.len();
                    for (sequence, id) in old {
                        chosen.remove(sequence)?;
                        ids.remove(id)?;
                    }
                }
                txn.commit()?;
                forgotten += chunk as u64;
                if chunk < FORGET_CHUNK {
                    return Ok::<u64, OpError>(forgotten);
                }
            }
        })
    }
}

/// Stores rows `run` of an append as one chunk (nothing when empty); `last` is the sequence the
/// last of them took.
fn store_chunk(
    events: &mut Table<'_, u64, &'static [u8]>,
    rows: &Rows,
    run: Range<usize>,
    last: u64,
) -> Result<(), OpError> {
    if !run.is_empty() {
        events.insert(last + 1 - run.len() as u64, rows.chunk(run))?;
    }
    Ok(())
}

/// Chosen ids forgotten per write transaction.
const FORGET_CHUNK: usize = 10_000;
