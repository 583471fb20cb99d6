//! A store that answers the reads a connect makes (checkpoint, head, oldest) after a delay,
//! so a burst of connects is in flight at once: what races are made of.

use std::sync::Arc;
use std::time::Duration;

use ssehub::event::{ClientId, Event, NewEvent, Sequence, UnixMillis};
use ssehub::outbox::memory::MemoryStore;
use ssehub::outbox::{
    Appended, CheckpointStore, Coordination, DemoState, EventLog, NodeReport, Page, Retention,
    StoreFuture,
};

pub struct SlowReads {
    inner: Arc<MemoryStore>,
    delay: Duration,
}

impl SlowReads {
    pub fn new(delay: Duration) -> SlowReads {
        SlowReads {
            inner: Arc::new(MemoryStore::new()),
            delay,
        }
    }

    fn later<'a, T: Send + 'a>(&'a self, future: StoreFuture<'a, T>) -> StoreFuture<'a, T> {
        let delay = self.delay;
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            future.await
        })
    }
}

impl EventLog for SlowReads {
    fn kind(&self) -> &'static str {
        "slow"
    }
    fn append<'a>(&'a self, batch: &'a [NewEvent]) -> StoreFuture<'a, Vec<Appended>> {
        self.inner.append(batch)
    }
    fn read_after(&self, after: Sequence, page: Page) -> StoreFuture<'_, Vec<Event>> {
        self.inner.read_after(after, page)
    }
    fn head(&self) -> StoreFuture<'_, Sequence> {
        self.later(self.inner.head())
    }
    fn oldest(&self) -> StoreFuture<'_, Option<Sequence>> {
        self.later(self.inner.oldest())
    }
    fn trim(&self, retention: Retention) -> StoreFuture<'_, u64> {
        self.inner.trim(retention)
    }
    fn forget_message_ids(&self, before: UnixMillis) -> StoreFuture<'_, u64> {
        self.inner.forget_message_ids(before)
    }
}

impl CheckpointStore for SlowReads {
    fn load_checkpoint<'a>(&'a self, client: &'a ClientId) -> StoreFuture<'a, Option<Sequence>> {
        self.later(self.inner.load_checkpoint(client))
    }
    fn save_checkpoints(&self, batch: Vec<(ClientId, Sequence)>) -> StoreFuture<'_, ()> {
        self.inner.save_checkpoints(batch)
    }
}

impl Coordination for SlowReads {
    fn report_node(&self, report: NodeReport) -> StoreFuture<'_, ()> {
        self.inner.report_node(report)
    }
    fn nodes(&self, within: Duration) -> StoreFuture<'_, Vec<NodeReport>> {
        self.inner.nodes(within)
    }
    fn demo_state(&self) -> StoreFuture<'_, DemoState> {
        self.inner.demo_state()
    }
    fn swap_demo_state(&self, expect: bool, next: DemoState) -> StoreFuture<'_, bool> {
        self.inner.swap_demo_state(expect, next)
    }
    fn acquire_lease<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        self.inner.acquire_lease(name, holder, ttl)
    }
}
