//! Handing out sequence numbers: the counter (MongoDB) or sequence blocks (FerretDB),
//! and finding the head.

use super::*;

impl MongoStore {
    /// The highest number reserved: the counter, or the newest block's last number.
    pub(super) async fn head_number(&self) -> Result<i64, StoreError> {
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
    pub(super) async fn floor_head(&self) -> Result<i64, StoreError> {
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

    pub(super) async fn counter(&self) -> Result<Option<i64>, StoreError> {
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
    pub(super) async fn raise_counter_to_stored_head(&self) -> Result<(), StoreError> {
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
    pub(super) async fn newest_block(&self) -> Result<Option<(i64, i64)>, StoreError> {
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
    pub(super) async fn prune_blocks(&self) -> Result<(), StoreError> {
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
    pub(super) async fn reserve(&self, count: i64) -> Result<i64, StoreError> {
        match self.numbering {
            Numbering::Blocks => self.reserve_block(count).await,
            _ => self.reserve_from_counter(count).await,
        }
    }

    pub(super) async fn reserve_from_counter(&self, count: i64) -> Result<i64, StoreError> {
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
    pub(super) async fn reserve_block(&self, count: i64) -> Result<i64, StoreError> {
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
}
