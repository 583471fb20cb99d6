//! The outbox: the durable, globally ordered log of events, the checkpoints clients
//! acknowledge, and what nodes of a cluster coordinate through. Three traits, one per concern
//! ([`EventLog`], [`CheckpointStore`], [`Coordination`]); three backends implement all of them
//! (embedded redb file, MongoDB, memory) and pass one contract suite ([`contract`]).
//!
//! The event log assigns sequence numbers; nobody else does. The [`publisher`] groups
//! concurrent publishes into one append; the [`checkpoint`] batcher groups acknowledgements.

pub mod checkpoint;
pub mod embedded;
pub mod memory;
pub mod mongo;
pub mod monitored;
pub mod publisher;

#[doc(hidden)]
pub mod contract;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::event::{ClientId, Event, NewEvent, Sequence, UnixMillis};

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

/// How much one read may return: at most `events` events, and no further event once the
/// ones taken hold `bytes` bytes of payload (the sum of their `fields` lengths); a read that
/// finds an event returns at least it, however large. Bounds the memory a reader holds by
/// bytes, not only by count. Every backend stops exactly where [`Page::has_room`] says, so a
/// reader can tell "the page was full" from "the log has nothing more" ([`Page::filled_by`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub events: usize,
    pub bytes: usize,
}

impl Page {
    /// A page bounded by count alone.
    pub const fn events(events: usize) -> Page {
        Page {
            events,
            bytes: usize::MAX,
        }
    }

    /// Whether a page holding `taken` events of `bytes` bytes may take one more.
    pub fn has_room(self, taken: usize, bytes: usize) -> bool {
        taken < self.events && (taken == 0 || bytes < self.bytes)
    }

    /// Whether a read that returned `events` stopped because the page was full (so the log
    /// may hold more after them), rather than because the log had nothing more.
    pub fn filled_by(self, events: &[Event]) -> bool {
        let bytes = events.iter().map(|e| e.fields.len()).sum();
        !self.has_room(events.len(), bytes)
    }
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
    pub seen_at: UnixMillis,
    /// Counters since the node started, for rates: events it appended, frames it delivered,
    /// streams it opened.
    pub events_published: u64,
    pub frames_delivered: u64,
    pub streams_opened: u64,
    pub ready: bool,
    pub store_available: bool,
}

/// The outbox proper. Implementations must be safe to call concurrently, but the hub sends
/// appends from one publisher task per node.
pub trait EventLog: Send + Sync + 'static {
    /// Short backend name for `/api/sse/stats` and metrics labels.
    fn kind(&self) -> &'static str;

    /// Appends the batch atomically and durably, assigning each event the next sequence
    /// number in order. Returns the sequences, one per event, in the batch's order.
    fn append(&self, batch: Vec<NewEvent>) -> StoreFuture<'_, Vec<Sequence>>;

    /// Events with a sequence greater than `after`, in increasing order, as many as `page`
    /// allows. Targeted events are included; readers filter.
    fn read_after(&self, after: Sequence, page: Page) -> StoreFuture<'_, Vec<Event>>;

    /// The highest sequence ever assigned (`Sequence::ZERO` when none), even if trimmed.
    fn head(&self) -> StoreFuture<'_, Sequence>;

    /// The oldest retained sequence, or `None` when no event is retained.
    fn oldest(&self) -> StoreFuture<'_, Option<Sequence>>;

    /// Deletes what `retention` no longer keeps; returns how many events went.
    fn trim(&self, retention: Retention) -> StoreFuture<'_, u64>;

    /// A small durable write that proves the store takes writes again (after a full disk,
    /// say); the node calls it while writes fail. Backends without such a failure mode keep
    /// the default.
    fn probe(&self) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// The positions clients acknowledged.
pub trait CheckpointStore: Send + Sync + 'static {
    /// The client's stored checkpoint, if any.
    fn load_checkpoint<'a>(&'a self, client: &'a ClientId) -> StoreFuture<'a, Option<Sequence>>;

    /// Stores checkpoints durably; each only moves forward (a lower value leaves the stored one).
    fn save_checkpoints(&self, batch: Vec<(ClientId, Sequence)>) -> StoreFuture<'_, ()>;
}

/// What the nodes of a cluster share besides the log: who is alive, the demo switch, leases.
pub trait Coordination: Send + Sync + 'static {
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

/// A backend: all three concerns. Components take only the part they use
/// (`Arc<dyn Store>` coerces to `Arc<dyn EventLog>` and the others).
pub trait Store: EventLog + CheckpointStore + Coordination {}

impl<T: EventLog + CheckpointStore + Coordination> Store for T {}
