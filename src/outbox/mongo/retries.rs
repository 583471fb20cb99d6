//! Retries: a chosen message id already in the outbox answers with its original sequence. The
//! unique index on `messageId` makes the outbox the one record of chosen ids, so this works
//! across nodes, and looking ids up before numbers are reserved means a retry leaves no hole.

use std::collections::{HashMap, HashSet};

use super::*;

/// How long an append may look in flight (a chosen id stored, its append not whole yet)
/// before a retry of it gives up for now and answers 503: an insert takes milliseconds.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(2);
/// Pause between looks at an append in flight.
const IN_FLIGHT_POLL: Duration = Duration::from_millis(20);
/// More events than any append holds (the publisher caps them far below): bounds the `_id`
/// range searched when a partial append is taken back.
const APPEND_SPAN_LIMIT: i64 = 65_536;

/// For each event, the index of the first event of the batch with the same chosen id (its
/// own index when it is the first, or has no chosen id).
pub(super) fn first_occurrences(batch: &[NewEvent]) -> Vec<usize> {
    let mut seen: HashMap<MessageId, usize> = HashMap::new();
    batch
        .iter()
        .enumerate()
        .map(|(i, event)| match event.chosen_id {
            true => *seen.entry(event.message_id).or_insert(i),
            false => i,
        })
        .collect()
}

impl MongoStore {
    /// Fills `results` with `Retry` for every first occurrence of a chosen id that the outbox
    /// holds in a whole append. An id held by an append that is not whole yet is either in
    /// flight on another node (wait a little for it) or was left by a node that died
    /// mid-insert (older than [`MongoStore::abandoned_after`]: take that part back, and the id
    /// is free again).
    ///
    /// # Errors
    /// The store, or an append that stays in flight past [`IN_FLIGHT_WAIT`] (503: retry).
    pub(super) async fn answer_retries(
        &self,
        batch: &[NewEvent],
        firsts: &[usize],
        results: &mut [Option<Appended>],
        deadline: Instant,
    ) -> Result<(), StoreError> {
        let deadline = deadline.min(Instant::now() + IN_FLIGHT_WAIT);
        loop {
            let wanted: HashMap<uuid::Uuid, usize> = (0..batch.len())
                .filter(|&i| batch[i].chosen_id && firsts[i] == i && results[i].is_none())
                .map(|i| (batch[i].message_id.0, i))
                .collect();
            if wanted.is_empty() {
                return Ok(());
            }
            let stored = self.stored_ids(wanted.keys()).await?;
            let lasts: Vec<i64> = stored
                .iter()
                .filter_map(|s| s.last.filter(|&last| last > s.sequence))
                .collect();
            let present = self.present(&lasts).await?;
            let mut in_flight = None;
            for id in stored {
                let whole = id
                    .last
                    .is_none_or(|last| last <= id.sequence || present.contains(&last));
                if whole {
                    results[wanted[&id.message_id]] =
                        Some(Appended::Retry(Sequence(id.sequence as u64)));
                } else if id.created_at < UnixMillis::now().0 - millis(self.abandoned_after()) {
                    let last = id.last.unwrap_or(id.sequence);
                    tracing::warn!(
                        first_seen = id.sequence,
                        last,
                        "taking back a partial append left by a node that died mid-insert"
                    );
                    self.take_back(last).await?;
                } else {
                    in_flight = Some(id.message_id);
                }
            }
            let Some(message_id) = in_flight else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "a publish with messageId {message_id} is still being stored; retry"
                )));
            }
            tokio::time::sleep(IN_FLIGHT_POLL).await;
        }
    }

    /// A partial append older than this was abandoned: no insert runs that long.
    fn abandoned_after(&self) -> Duration {
        self.operation_timeout * 2
    }

    /// The stored events among `ids`: number, id, append's last number, creation time.
    async fn stored_ids(
        &self,
        ids: impl Iterator<Item = &uuid::Uuid>,
    ) -> Result<Vec<StoredId>, StoreError> {
        let ids: Vec<Bson> = ids.map(|id| Bson::Binary(uuid_binary(id))).collect();
        let documents = self
            .run("look up message ids", async {
                let cursor = self
                    .outbox
                    .find(doc! { "messageId": { "$in": ids } })
                    .projection(doc! { "_id": 1, "messageId": 1, "last": 1, "createdAt": 1 })
                    .await?;
                drain(cursor).await
            })
            .await?;
        documents.iter().map(StoredId::from_document).collect()
    }

    /// Which of `sequences` are stored.
    async fn present(&self, sequences: &[i64]) -> Result<HashSet<i64>, StoreError> {
        if sequences.is_empty() {
            return Ok(HashSet::new());
        }
        let documents = self
            .run("check appends are whole", async {
                let cursor = self
                    .outbox
                    .find(doc! { "_id": { "$in": sequences } })
                    .projection(doc! { "_id": 1 })
                    .await?;
                drain(cursor).await
            })
            .await?;
        documents.iter().map(sequence_of).collect()
    }

    /// Deletes what is stored of the append ending at `last` (it never will be whole).
    async fn take_back(&self, last: i64) -> Result<(), StoreError> {
        self.run(
            "take back a partial append",
            self.outbox.delete_many(doc! {
                "_id": { "$gt": last - APPEND_SPAN_LIMIT, "$lte": last },
                "last": last,
            }),
        )
        .await?;
        Ok(())
    }
}

/// One stored event found by its chosen id.
struct StoredId {
    sequence: i64,
    message_id: uuid::Uuid,
    last: Option<i64>,
    created_at: i64,
}

impl StoredId {
    fn from_document(document: &Document) -> Result<StoredId, StoreError> {
        let sequence = sequence_of(document)?;
        let corrupt = |field: &str| StoreError::Corrupt(format!("event {sequence}: bad {field}"));
        Ok(StoredId {
            sequence,
            message_id: message_id_of(document).ok_or_else(|| corrupt("messageId"))?,
            last: integer(document, "last"),
            created_at: document
                .get_datetime("createdAt")
                .map_err(|_| corrupt("createdAt"))?
                .timestamp_millis(),
        })
    }
}
