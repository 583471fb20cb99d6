//! The outbox itself: appending a batch under its reserved numbers, reading, trimming.

use super::*;
use crate::outbox::{Visibility, VisiblePage};

impl EventLog for MongoStore {
    fn kind(&self) -> &'static str {
        "mongodb"
    }

    fn append(&self, batch: Vec<NewEvent>) -> StoreFuture<'_, Vec<Sequence>> {
        Box::pin(self.append_reserved(batch))
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
    /// Reserves numbers for the batch, then inserts it with one ordered `insertMany`.
    async fn append_reserved(&self, batch: Vec<NewEvent>) -> Result<Vec<Sequence>, StoreError> {
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

    /// One `find` by `_id`, read until the page is full by count or bytes.
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
        documents.iter().map(event_from_document).collect()
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
