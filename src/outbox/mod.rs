//! The outbox: the durable, globally ordered log of events, and the checkpoints clients
//! acknowledge. One [`Store`] trait, three backends (embedded redb file, MongoDB, memory),
//! one contract test suite ([`contract`]) every backend passes.
//!
//! The store assigns sequence numbers; nobody else does. The [`publisher`] groups concurrent
//! publishes into one append; the [`checkpoint`] batcher groups acknowledgements.

pub mod checkpoint;
pub mod embedded;
pub mod memory;
pub mod mongo;
pub mod publisher;

#[doc(hidden)]
pub mod contract;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::event::{ClientId, Event, NewEvent, Sequence};

/// What a store operation returns: boxed so backends can be chosen at run time
/// (`Arc<dyn Store>`); every call moves a batch, so the allocation is noise.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why a store operation failed. Every variant means "not done": callers answer 503.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("the store rejected the operation: {0}")]
    Rejected(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// How much history to keep. `None` keeps everything along that axis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    pub max_events: Option<u64>,
    pub max_age: Option<Duration>,
}

/// The demo generator's cluster-wide switch, kept in the store so every node answers alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoState {
    pub running: bool,
    pub interval_secs: u32,
}

/// One node's self-report, refreshed periodically so `/api/sse/stats` can show the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    pub node_id: String,
    pub connections: u64,
    pub clients: u64,
    pub dispatched: Sequence,
    pub seen_at: crate::event::UnixMillis,
}

/// The outbox and checkpoint store. Implementations must be safe to call concurrently, but
/// the hub sends appends from one publisher task per node.
pub trait Store: Send + Sync + 'static {
    /// Short backend name for `/api/sse/stats` and metrics labels.
    fn kind(&self) -> &'static str;

    /// Appends the batch atomically and durably, assigning each event the next sequence
    /// number in order. Returns the sequences, one per event, in the batch's order.
    fn append(&self, batch: Vec<NewEvent>) -> StoreFuture<'_, Vec<Sequence>>;

    /// Up to `limit` events with a sequence greater than `after`, in increasing order.
    /// Targeted events are included; readers filter.
    fn read_after(&self, after: Sequence, limit: usize) -> StoreFuture<'_, Vec<Event>>;

    /// The highest sequence ever assigned (`Sequence::ZERO` when none), even if trimmed.
    fn head(&self) -> StoreFuture<'_, Sequence>;

    /// The oldest retained sequence, or `None` when no event is retained.
    fn oldest(&self) -> StoreFuture<'_, Option<Sequence>>;

    /// Deletes what `retention` no longer keeps; returns how many events went.
    fn trim(&self, retention: Retention) -> StoreFuture<'_, u64>;

    /// The client's stored checkpoint, if any.
    fn load_checkpoint<'a>(&'a self, client: &'a ClientId) -> StoreFuture<'a, Option<Sequence>>;

    /// Stores checkpoints; each only moves forward (a lower value leaves the stored one).
    fn save_checkpoints(&self, batch: Vec<(ClientId, Sequence)>) -> StoreFuture<'_, ()>;

    /// Records this node's report (upsert by node id).
    fn report_node(&self, report: NodeReport) -> StoreFuture<'_, ()>;

    /// Reports of every node seen within `within` of now, ordered by node id.
    fn nodes(&self, within: Duration) -> StoreFuture<'_, Vec<NodeReport>>;

    /// The demo generator's switch.
    fn demo_state(&self) -> StoreFuture<'_, DemoState>;

    /// Sets the switch to `next` only if it is currently `running == expect_running`;
    /// returns whether it did (so two nodes racing to start give one winner).
    fn swap_demo_state(&self, expect_running: bool, next: DemoState) -> StoreFuture<'_, bool>;

    /// Takes or renews the named lease for `holder` until `ttl` from now if it is free,
    /// expired or already `holder`'s. Returns whether `holder` holds it now.
    fn acquire_lease<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool>;
}
