//! Everything else the hub keeps in the store: checkpoints, node reports, the demo
//! switch and leases.

use super::*;

impl CheckpointStore for MongoStore {
    fn load_checkpoint<'a>(&'a self, client: &'a ClientId) -> StoreFuture<'a, Option<Sequence>> {
        Box::pin(self.checkpoint_of(client))
    }

    fn save_checkpoints(&self, batch: Vec<(ClientId, Sequence)>) -> StoreFuture<'_, ()> {
        Box::pin(self.raise_checkpoints(batch))
    }
}

impl Coordination for MongoStore {
    fn report_node(&self, report: NodeReport) -> StoreFuture<'_, ()> {
        Box::pin(self.replace_node_report(report))
    }

    fn nodes(&self, within: Duration) -> StoreFuture<'_, Vec<NodeReport>> {
        Box::pin(self.recent_nodes(within))
    }

    fn report_presence<'a>(
        &'a self,
        node_id: &'a str,
        entries: Vec<PresenceEntry>,
    ) -> StoreFuture<'a, ()> {
        Box::pin(self.replace_presence(node_id, entries))
    }

    fn presence(&self, within: Duration) -> StoreFuture<'_, Vec<PresenceEntry>> {
        Box::pin(self.recent_presence(within))
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

impl MongoStore {
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
    async fn raise_checkpoints(&self, batch: Vec<(ClientId, Sequence)>) -> Result<(), StoreError> {
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

    async fn replace_node_report(&self, report: NodeReport) -> Result<(), StoreError> {
        let document = doc! {
            "_id": &report.node_id,
            "connections": saturating_i64(report.connections),
            "clients": saturating_i64(report.clients),
            "dispatched": saturating_i64(report.dispatched.0),
            "eventsPublished": saturating_i64(report.events_published),
            "framesDelivered": saturating_i64(report.frames_delivered),
            "streamsOpened": saturating_i64(report.streams_opened),
            "ready": report.ready,
            "storeAvailable": report.store_available,
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

    /// Upserts the node's entries (one `update` per thousand), then deletes its entries the
    /// report did not touch (clients that left): every entry of a report carries the report's
    /// `seenAt`, so any other `seenAt` of the node is from an older report. A reader between the two steps may see a
    /// departed client for one more report: presence is eventual anyway.
    async fn replace_presence(
        &self,
        node_id: &str,
        entries: Vec<PresenceEntry>,
    ) -> Result<(), StoreError> {
        const WHAT: &str = "report presence";
        let seen_at = entries.first().map_or_else(UnixMillis::now, |e| e.seen_at);
        for chunk in entries.chunks(UPDATE_CHUNK) {
            let updates: Vec<Document> = chunk
                .iter()
                .map(|e| {
                    doc! {
                        "q": { "_id": format!("{}/{}", e.node_id, e.client) },
                        "u": { "$set": {
                            "node": &e.node_id,
                            "client": &e.client,
                            "topics": &e.topics,
                            "streams": saturating_i64(e.streams),
                            "connectedAt": DateTime::from_millis(e.connected_at.0),
                            "seenAt": DateTime::from_millis(e.seen_at.0),
                        } },
                        "upsert": true,
                    }
                })
                .collect();
            let command = doc! {
                "update": self.presence.name(),
                "updates": updates,
                "ordered": false,
                "writeConcern": self.write_concern.clone(),
            };
            let reply = self.run(WHAT, self.db.run_command(command)).await?;
            if let Some((_, error)) = update_reply_error(&reply) {
                return Err(error);
            }
        }
        self.run(
            WHAT,
            self.presence.delete_many(doc! {
                "node": node_id,
                "seenAt": { "$ne": DateTime::from_millis(seen_at.0) },
            }),
        )
        .await?;
        Ok(())
    }

    async fn recent_presence(&self, within: Duration) -> Result<Vec<PresenceEntry>, StoreError> {
        let cutoff = DateTime::from_millis(UnixMillis::now().0 - millis(within));
        let documents = self
            .run("list presence", async {
                let cursor = self
                    .presence
                    .find(doc! { "seenAt": { "$gte": cutoff } })
                    .sort(doc! { "client": 1, "node": 1 })
                    .await?;
                drain(cursor).await
            })
            .await?;
        documents.iter().map(presence_from_document).collect()
    }

    async fn recent_nodes(&self, within: Duration) -> Result<Vec<NodeReport>, StoreError> {
        let cutoff = DateTime::from_millis(UnixMillis::now().0 - millis(within));
        let documents = self
            .run("list nodes", async {
                let cursor = self
                    .nodes
                    .find(doc! { "seenAt": { "$gte": cutoff } })
                    .sort(doc! { "_id": 1 })
                    .await?;
                drain(cursor).await
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
}
