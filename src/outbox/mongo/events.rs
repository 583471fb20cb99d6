//! The outbox itself: appending a batch under its reserved numbers, reading, trimming.

use super::*;
use crate::outbox::{Visibility, VisiblePage};

impl EventLog for MongoStore {
    fn kind(&self) -> &'static str {
        "mongodb"
    }

    fn append<'a>(&'a self, batch: &'a [NewEvent]) -> StoreFuture<'a, Vec<Appended>> {
        Box::pin(async move {
            if batch.is_empty() {
                return Ok(Vec::new());
            }
            self.append_reserved(batch).await
        })
    }

    fn read_after(&self, after: Sequence, page: Page) -> StoreFuture<'_, Vec<Event>> {
        Box::pin(self.read_page(after, page))
    }

    fn read_visible<'a>(
        &'a self,
        after: Sequence,
        until: Sequence,
        visibility: Visibility<'a>,
        limit: usize,
    ) -> StoreFuture<'a, VisiblePage> {
        Box::pin(self.read_visible_page(after, until, visibility, limit))
    }

    fn head(&self) -> StoreFuture<'_, Sequence> {
        Box::pin(async { Ok(Sequence(self.head_number().await? as u64)) })
    }

    fn oldest(&self) -> StoreFuture<'_, Option<Sequence>> {
        Box::pin(async {
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
        })
    }

    fn trim(&self, retention: Retention) -> StoreFuture<'_, u64> {
        Box::pin(self.trim_prefix(retention))
    }

    /// The unique index on `messageId` lives with the events: a chosen id is known as long as
    /// its event is retained.
    fn forget_message_ids(&self, _before: UnixMillis) -> StoreFuture<'_, u64> {
        Box::pin(std::future::ready(Ok(0)))
    }

    fn probe(&self) -> StoreFuture<'_, ()> {
        Box::pin(async {
            let stamp = doc! { "$set": { "at": DateTime::now() } };
            self.run(
                "probe the store with a write",
                self.counters
                    .update_one(doc! { "_id": "probe" }, stamp)
                    .upsert(true),
            )
            .await?;
            Ok(())
        })
    }
}

impl MongoStore {
    /// Answers the retries among `batch` (chosen ids already stored), then reserves numbers for
    /// the rest and inserts them with one ordered `insertMany`, all of them or none for readers
    /// (see the module docs: an append with more than one event carries its `last` number).
    async fn append_reserved(&self, batch: &[NewEvent]) -> Result<Vec<Appended>, StoreError> {
        const WHAT: &str = "append to the outbox";
        let mut results: Vec<Option<Appended>> = vec![None; batch.len()];
        // A chosen id twice in one append: the later one is a retry of the earlier.
        let firsts = first_occurrences(batch);
        let deadline = Instant::now() + self.operation_timeout;
        let mut healed = false;
        loop {
            self.answer_retries(batch, &firsts, &mut results, deadline)
                .await?;
            let fresh: Vec<usize> = (0..batch.len())
                .filter(|&i| results[i].is_none() && firsts[i] == i)
                .collect();
            if fresh.is_empty() {
                break;
            }
            let count = fresh.len() as i64;
            let first = self.reserve(count).await?;
            // A single event is whole by itself; more carry the append's last number.
            let whole_if_many = (count > 1).then_some(first + count - 1);
            let documents: Vec<Document> = fresh
                .iter()
                .zip(first..)
                .map(|(&i, sequence)| event_document(sequence, &batch[i], whole_if_many))
                .collect();
            let insert = self.outbox.insert_many(documents).ordered(true);
            let error = match timed(self.operation_timeout, WHAT, insert).await? {
                Ok(_) => {
                    for (&i, sequence) in fresh.iter().zip(first..) {
                        results[i] = Some(Appended::New(Sequence(sequence as u64)));
                    }
                    break;
                }
                Err(error) => error,
            };
            // The server finished the insert part-way: take back what went in, so no part of
            // this append is ever read (readers skip it anyway: its `last` is missing) and its
            // chosen ids are free for a retry. With an unknown outcome (a timeout) nothing is
            // deleted: the insert may still complete whole, an unanswered but stored append.
            if let Some(inserted) = inserted_before_error(&error) {
                if inserted > 0 {
                    self.delete_range(first, first + inserted as i64 - 1)
                        .await?;
                }
            }
            if !is_duplicate_key(&error) {
                return Err(classify(WHAT, error));
            }
            // A duplicate: a chosen id another node stored meanwhile (the next round answers
            // it as a retry), or a taken `_id`: the numbering is behind the outbox (a counter
            // rolled back by a failover under `w: 1`, a deleted counter or blocks). Move it
            // past everything stored and reserve again, once.
            let retried_before = results.iter().flatten().count();
            self.answer_retries(batch, &firsts, &mut results, deadline)
                .await?;
            if results.iter().flatten().count() > retried_before {
                continue;
            }
            if healed {
                return Err(classify(WHAT, error));
            }
            healed = true;
            *self.head_hint.lock() = None;
            if self.numbering == Numbering::Counter {
                self.raise_counter_to_stored_head().await?;
            }
        }
        Ok((0..batch.len())
            .map(|i| match (results[i], results[firsts[i]]) {
                (Some(result), _) => result,
                (None, Some(original)) => Appended::Retry(original.sequence()),
                (None, None) => unreachable!("every event of the append has its result"),
            })
            .collect())
    }

    /// Deletes the events numbered `first..=last` (an append this node took back).
    pub(super) async fn delete_range(&self, first: i64, last: i64) -> Result<(), StoreError> {
        self.run(
            "take back a partial append",
            self.outbox
                .delete_many(doc! { "_id": { "$gte": first, "$lte": last } }),
        )
        .await?;
        Ok(())
    }

    /// One `find` by `_id`, read until the page is full by count or bytes; then only whole
    /// appends ([`visibility`](super::visibility)).
    async fn read_page(&self, after: Sequence, page: Page) -> Result<Vec<Event>, StoreError> {
        // `limit(0)` would mean "no limit" to the server.
        let (Ok(after), true) = (i64::try_from(after.0), page.events > 0) else {
            return Ok(Vec::new());
        };
        let limit = i64::try_from(page.events).unwrap_or(i64::MAX);
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
                let mut bytes = 0;
                while page.has_room(documents.len(), bytes) && cursor.advance().await? {
                    let document: Document = cursor.deserialize_current()?;
                    // The measure `Page` defines: the length of the event's fields.
                    bytes += document.get_str("fields").map_or(0, str::len);
                    documents.push(document);
                }
                Ok(documents)
            })
            .await?;
        // A page that ends inside an append keeps its part only if the append is whole.
        let stored_last = match open_append(&documents)? {
            Some(last) => {
                let stored = self
                    .run(
                        "check an append is whole",
                        self.outbox
                            .find_one(doc! { "_id": last })
                            .projection(doc! { "_id": 1 }),
                    )
                    .await?;
                stored.map(|_| last)
            }
            None => None,
        };
        whole_appends(documents, stored_last)?
            .iter()
            .map(event_from_document)
            .collect()
    }

    async fn trim_prefix(&self, retention: Retention) -> Result<u64, StoreError> {
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
}
