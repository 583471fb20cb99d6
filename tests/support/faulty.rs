//! The memory store with faults a test asks for: the reads a connect makes (checkpoint, head,
//! oldest) answered after a delay, so a burst of connects is in flight at once (what races
//! are made of); or a panic when one client's checkpoint is read (a stand-in for a backend
//! bug).

use std::sync::Arc;
use std::time::Duration;

use ssehub::event::{ClientId, Event, NewEvent, Sequence};
use ssehub::outbox::memory::MemoryStore;
use ssehub::outbox::{
    CheckpointStore, Coordination, DemoState, EventLog, NodeReport, Page, PresenceEntry, Retention,
    StoreFuture,
};

pub struct Wrapped {
    inner: Arc<MemoryStore>,
    delay: Duration,
    panic_on_checkpoint_of: Option<&'static str>,
}

impl Wrapped {
    pub fn slow_reads(delay: Duration) -> Wrapped {
        Wrapped {
            inner: Arc::new(MemoryStore::new()),
            delay,
            panic_on_checkpoint_of: None,
        }
    }

    pub fn panicking_on_checkpoint_of(client: &'static str) -> Wrapped {
        Wrapped {
            inner: Arc::new(MemoryStore::new()),
            delay: Duration::ZERO,
            panic_on_checkpoint_of: Some(client),
        }
    }

    fn later<'a, T: Send + 'a>(&'a self, future: StoreFuture<'a, T>) -> StoreFuture<'a, T> {
        let delay = self.delay;
        if delay.is_zero() {
            return future;
        }
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            future.await
        })
    }
}

impl EventLog for Wrapped {
    fn kind(&self) -> &'static str {
        "wrapped"
    }
    fn append(&self, batch: Vec<NewEvent>) -> StoreFuture<'_, Vec<Sequence>> {
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
}

impl CheckpointStore for Wrapped {
    fn load_checkpoint<'a>(&'a self, client: &'a ClientId) -> StoreFuture<'a, Option<Sequence>> {
        assert_ne!(
            Some(client.as_str()),
            self.panic_on_checkpoint_of,
            "injected backend bug"
        );
        self.later(self.inner.load_checkpoint(client))
    }
    fn save_checkpoints(&self, batch: Vec<(ClientId, Sequence)>) -> StoreFuture<'_, ()> {
        self.inner.save_checkpoints(batch)
    }
}

impl Coordination for Wrapped {
    fn report_node(&self, report: NodeReport) -> StoreFuture<'_, ()> {
        self.inner.report_node(report)
    }
    fn nodes(&self, within: Duration) -> StoreFuture<'_, Vec<NodeReport>> {
        self.inner.nodes(within)
    }
    fn report_presence<'a>(
        &'a self,
        node_id: &'a str,
        entries: Vec<PresenceEntry>,
    ) -> StoreFuture<'a, ()> {
        self.inner.report_presence(node_id, entries)
    }
    fn presence(&self, within: Duration) -> StoreFuture<'_, Vec<PresenceEntry>> {
        self.inner.presence(within)
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
