//! Checkpoints and coordination in redb. A single node coordinates with nobody, but the
//! demo switch and leases keep the same contract as in a cluster.

use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable};

use super::{EmbeddedStore, CHECKPOINTS, DEMO_INTERVAL, DEMO_RUNNING, LEASES, META};
use crate::event::{ClientId, Sequence, UnixMillis};
use crate::outbox::{
    CheckpointStore, Coordination, DemoState, NodeReport, PresenceEntry, StoreFuture,
};

impl CheckpointStore for EmbeddedStore {
    fn load_checkpoint<'a>(&'a self, client: &'a ClientId) -> StoreFuture<'a, Option<Sequence>> {
        let client = client.clone();
        // Every stream open asks (a reconnect storm asks thousands of times a second): read
        // here rather than on the blocking pool.
        self.here(move |db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(CHECKPOINTS)?;
            let stored = table.get(client.as_str())?;
            Ok(stored.map(|v| Sequence(v.value())))
        })
    }

    fn save_checkpoints(&self, batch: Vec<(ClientId, Sequence)>) -> StoreFuture<'_, ()> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            {
                let mut table = txn.open_table(CHECKPOINTS)?;
                for (client, sequence) in batch {
                    let stored = table.get(client.as_str())?.map_or(0, |v| v.value());
                    if sequence.0 > stored {
                        table.insert(client.as_str(), sequence.0)?;
                    }
                }
            }
            txn.commit()?;
            Ok(())
        })
    }
}

impl Coordination for EmbeddedStore {
    fn report_node(&self, report: NodeReport) -> StoreFuture<'_, ()> {
        *self.node.lock() = Some(report);
        Box::pin(std::future::ready(Ok(())))
    }

    fn nodes(&self, within: Duration) -> StoreFuture<'_, Vec<NodeReport>> {
        let cutoff = UnixMillis::now().0 - within.as_millis() as i64;
        let node = self.node.lock().clone().filter(|n| n.seen_at.0 >= cutoff);
        Box::pin(std::future::ready(Ok(node.into_iter().collect())))
    }

    fn report_presence<'a>(
        &'a self,
        node_id: &'a str,
        entries: Vec<PresenceEntry>,
    ) -> StoreFuture<'a, ()> {
        let mut kept = self.presence.lock();
        kept.retain(|e| e.node_id != node_id);
        kept.extend(entries);
        kept.sort_by(|a, b| (&a.client, &a.node_id).cmp(&(&b.client, &b.node_id)));
        Box::pin(std::future::ready(Ok(())))
    }

    fn presence(&self, within: Duration) -> StoreFuture<'_, Vec<PresenceEntry>> {
        let cutoff = UnixMillis::now().0 - within.as_millis() as i64;
        let entries = self
            .presence
            .lock()
            .iter()
            .filter(|e| e.seen_at.0 >= cutoff)
            .cloned()
            .collect();
        Box::pin(std::future::ready(Ok(entries)))
    }

    fn demo_state(&self) -> StoreFuture<'_, DemoState> {
        self.blocking(|db| {
            let txn = db.begin_read()?;
            let meta = txn.open_table(META)?;
            let running = meta.get(DEMO_RUNNING)?.map_or(0, |v| v.value());
            let interval = meta.get(DEMO_INTERVAL)?.map_or(0, |v| v.value());
            Ok(DemoState {
                running: running == 1,
                interval_secs: u32::try_from(interval).unwrap_or(0),
            })
        })
    }

    fn swap_demo_state(&self, expect_running: bool, next: DemoState) -> StoreFuture<'_, bool> {
        self.blocking(move |db| {
            let txn = db.begin_write()?;
            {
                let mut meta = txn.open_table(META)?;
                let running = meta.get(DEMO_RUNNING)?.map_or(0, |v| v.value()) == 1;
                if running != expect_running {
                    return Ok(false);
                }
                meta.insert(DEMO_RUNNING, u64::from(next.running))?;
                meta.insert(DEMO_INTERVAL, u64::from(next.interval_secs))?;
            }
            txn.commit()?;
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
            let txn = db.begin_write()?;
            {
                let mut leases = txn.open_table(LEASES)?;
                let free = leases.get(name.as_str())?.is_none_or(|v| {
                    let (owner, expires) = v.value();
                    owner == holder || expires <= now
                });
                if !free {
                    return Ok(false);
                }
                let expires = now + ttl.as_millis() as i64;
                leases.insert(name.as_str(), (holder.as_str(), expires))?;
            }
            txn.commit()?;
            Ok(true)
        })
    }
}
