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

use crate::event::{topic, ClientId, Event, NewEvent, Selector, Sequence, UnixMillis};

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

/// The part of the delivery rule a store can apply while it reads (the type filter is the
/// reader's): which topic-scoped events and which targeted events a reader may see.
#[derive(Debug, Clone, Copy)]
pub struct Visibility<'a> {
    /// Topic-less events, and topic-scoped ones some selector matches (none: topic-less only).
    pub selectors: &'a [Selector],
    /// Broadcasts and events targeted at this client (`None`: broadcasts only).
    pub client: Option<&'a ClientId>,
}

impl Visibility<'_> {
    /// Whether `event` passes (what a backend's own query must agree with).
    pub fn admits(&self, event: &Event) -> bool {
        (event.topics.is_empty() || topic::any_match(self.selectors, &event.topics))
            && event
                .target
                .as_ref()
                .is_none_or(|t| self.client.is_some_and(|c| c == t))
    }
}

/// What [`EventLog::read_visible`] found: the visible events, and how far it looked.
#[derive(Debug, Clone, PartialEq)]
pub struct VisiblePage {
    pub events: Vec<Event>,
    /// Every event after the read's `after` and through this was looked at; the next read
    /// starts after it.
    pub through: Sequence,
}

/// Events a backend without an index looks at per [`EventLog::read_visible`] call at most,
/// so one history request costs a bounded read however rare its events are.
pub const VISIBLE_SCAN_BUDGET: usize = 8192;

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

/// One client on one node, as that node last reported it for presence
/// (`GET /api/sse/presence`): the union of the selectors its streams ask for, and how many of
/// its streams ask for topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceEntry {
    pub node_id: String,
    pub client: String,
    /// Sorted, deduplicated.
    pub topics: Vec<String>,
    pub streams: u64,
    /// When its oldest stream (of those asking for topics) opened.
    pub connected_at: UnixMillis,
    /// When the node reported it.
    pub seen_at: UnixMillis,
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

    /// The events after `after` and through `until` that `visibility` admits, in increasing
    /// order, at most `limit` of them. A backend may stop early (see
    /// [`VisiblePage::through`]). The default scans [`EventLog::read_after`] pages and looks
    /// at [`VISIBLE_SCAN_BUDGET`] events at most; MongoDB answers from an index.
    fn read_visible<'a>(
        &'a self,
        after: Sequence,
        until: Sequence,
        visibility: Visibility<'a>,
        limit: usize,
    ) -> StoreFuture<'a, VisiblePage> {
        Box::pin(async move {
            let mut events = Vec::new();
            let mut through = after;
            let mut scanned = 0;
            while through < until && events.len() < limit && scanned < VISIBLE_SCAN_BUDGET {
                let page = self.read_after(through, Page::events(1024)).await?;
                let Some(last) = page.last().map(|e| e.sequence) else {
                    break;
                };
                for event in page {
                    if event.sequence > until || events.len() == limit {
                        return Ok(VisiblePage { events, through });
                    }
                    scanned += 1;
                    through = event.sequence;
                    if visibility.admits(&event) {
                        events.push(event);
                    }
                }
                through = through.max(last.min(until));
            }
            if events.len() < limit && scanned < VISIBLE_SCAN_BUDGET {
                // Nothing more is stored through `until`.
                through = through.max(until);
            }
            Ok(VisiblePage { events, through })
        })
    }

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

    /// Replaces everything `node_id` reported for presence with `entries` (each carries
    /// `node_id` and the report's one `seen_at`, which may be earlier than the last report's).
    fn report_presence<'a>(
        &'a self,
        node_id: &'a str,
        entries: Vec<PresenceEntry>,
    ) -> StoreFuture<'a, ()>;

    /// The presence entries of every node, reported within `within` of now, ordered by
    /// client then node.
    fn presence(&self, within: Duration) -> StoreFuture<'_, Vec<PresenceEntry>>;

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
