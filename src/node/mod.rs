//! The node: its verbs, free of HTTP. Every transport (the lean HTTP/1.1 path, hyper's h1
//! and h2) turns a request's [`Credentials`] into a [`Caller`] with [`Node::identify`] (before
//! reading anything else), parses the rest into a domain input, calls one verb, and maps a
//! [`NodeError`] to its answer. Every rule lives here:
//!
//! | verb | scope | file |
//! |---|---|---|
//! | [`Node::open_stream`] | subscribe or a client token | `open.rs`: identity, limits, resume precedence, prelude, deadline |
//! | [`Node::publish`] | publish | `publish.rs`: the event types' fields, topics, `messageId`, group commit |
//! | [`Node::publish_batch`] | publish | `batch.rs`: many events, all or nothing, errors by index |
//! | [`Node::history`] | subscribe or a client token | `history.rs`: stored events with a stream's visibility |
//! | [`Node::ack`] | subscribe or a client token | `clients.rs`: forward-only checkpoints |
//! | [`Node::issue_token`] | publish | `clients.rs` |
//! | [`Node::stats`], [`Node::list_connections`] | subscribe | `stats.rs` |
//! | [`Node::demo_start`], [`Node::demo_stop`], [`Node::demo_status`] | publish; status subscribe | `demo.rs` |
//! | [`Node::readiness`], [`Node::metrics_text`] | none | here |
//!
//! [`Node::new`] assembles the parts; [`Node::spawn_tasks`] starts the background work
//! (`tasks.rs`: dispatcher, heartbeat, node reports, retention, demo).

mod batch;
mod body;
mod clients;
mod compact;
mod demo;
mod error;
mod grants;
mod history;
mod json;
mod open;
mod presence;
mod publish;
mod stats;
mod tasks;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use self::body::{BatchBody, Body, BodyError, EventBody};
pub use self::clients::{IssuedToken, MAX_TOKEN_TTL_SECS};
pub use self::error::{ErrorCode, NodeError};
pub use self::grants::MAX_TOKEN_TOPICS;
pub use self::history::{HistoryPage, HistoryRequest, MAX_HISTORY_PAGE};
pub use self::json::{Compact, Field, Item, Strict};
pub use self::open::OpenRequest;
pub use self::presence::{
    PresenceClient, PresencePage, PresenceRequest, MAX_PRESENCE_PAGE, MAX_PRESENCE_REPORT,
};
pub use self::publish::{PublishKind, Published};
pub use self::stats::{
    Connection, Connections, NodeStats, RetentionStats, Stats, MAX_CONNECTIONS_PAGE,
};
use crate::auth::{Access, AuthError, Authenticator, Caller, Credentials, Scope};
use crate::demo::Demo;
use crate::dispatch::{DispatchConfig, DispatchStatus};
use crate::event::{ClientId, Sequence, UnixMillis};
use crate::metrics::Metrics;
use crate::outbox::checkpoint::Checkpoints;
use crate::outbox::fresh::Fresh;
use crate::outbox::monitored::{Health, Monitored};
use crate::outbox::publisher::Publisher;
use crate::outbox::{Coordination, EventLog, Retention, Store, StoreError};
pub use crate::registry::ConnInfo;
use crate::registry::Registry;
use crate::shutdown::Readiness;
use crate::sse::body::StreamContext;
use crate::tail::Tail;

/// Events per group-committed append (the publisher takes what is queued, up to this). Larger
/// appends spread a commit's fixed cost (an `fdatasync`, redb's page bookkeeping) over more
/// events: 2,048 carried ~10 % more batched events/s than 512 on the embedded store once events
/// are stored in chunks (docs/PERFORMANCE.md).
const MAX_PUBLISH_BATCH: usize = 2048;
/// Registry lock shards: enough that two cores never queue on one lock.
const REGISTRY_SHARDS: usize = 64;

/// What the node's verbs and tasks need from the configuration.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    pub node_id: String,
    /// Sent once per stream as `retry:`.
    pub retry: Duration,
    pub heartbeat: Duration,
    /// Frames kept in the tail ring, and the most bytes they may hold.
    pub tail_capacity: usize,
    pub tail_max_bytes: usize,
    pub max_filter_types: usize,
    /// Most `topic=` selectors one stream (or history read) may ask for.
    pub max_topic_selectors: usize,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    /// Most events in one `POST /api/sse/batch`.
    pub max_batch_events: usize,
    /// How long a chosen `messageId` is remembered at least (retries within it answer the
    /// original).
    pub dedupe_window: Duration,
    /// Streams end after this (minus jitter); `None` keeps them open.
    pub max_stream_lifetime: Option<Duration>,
    /// A subscribe key alone may not name a client id or ack: only a client token binds one.
    pub require_client_tokens: bool,
    pub retention: Retention,
    pub dispatch: DispatchConfig,
}

/// The node's background work: where it is spawned and what stops it.
#[derive(Clone, Default)]
pub struct Tasks {
    pub tracker: TaskTracker,
    pub cancel: CancellationToken,
}

/// One hub node: the store, the tail, the registry and every rule in between.
pub struct Node {
    settings: NodeSettings,
    auth: Authenticator,
    log: Arc<dyn EventLog>,
    coordination: Arc<dyn Coordination>,
    publisher: Publisher,
    checkpoints: Arc<Checkpoints>,
    registry: Arc<Registry>,
    streams: Arc<StreamContext>,
    metrics: Arc<Metrics>,
    dispatch: Arc<DispatchStatus>,
    /// Whether the store's last write and last read succeeded.
    health: Arc<Health>,
    readiness: Readiness,
    demo: Arc<Demo>,
    /// The publisher's durable appends, handed to the dispatcher (it wakes on them).
    fresh: Arc<Fresh>,
    /// The head when the node started: dispatch starts after it.
    start: Sequence,
    started: Instant,
}

/// Why the node is not ready to take traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    #[error("the hub is shutting down")]
    Draining,
    /// The store's last write or read failed (a full disk, an outage).
    #[error("{0}")]
    StoreFailing(&'static str),
    #[error("the dispatcher is catching up")]
    CatchingUp,
}

impl Node {
    /// Assembles a node on `store`; the publisher starts on `tasks` at once, everything else
    /// in [`Node::spawn_tasks`].
    ///
    /// # Errors
    /// When the store's head cannot be read.
    pub async fn new(
        settings: NodeSettings,
        auth: Authenticator,
        store: Arc<dyn Store>,
        tasks: &Tasks,
    ) -> Result<Node, StoreError> {
        let metrics = Arc::new(Metrics::new());
        // Every store call is measured and decides readiness.
        let monitored = Monitored::new(store, metrics.clone());
        let health = monitored.health();
        let store: Arc<dyn Store> = Arc::new(monitored);
        // A fresh node starts at the head: history is replayed on request, never re-broadcast.
        let start = store.head().await?;
        let tail = Arc::new(Tail::new(
            settings.tail_capacity,
            settings.tail_max_bytes,
            start,
        ));
        let dispatch = Arc::new(DispatchStatus::default());
        dispatch.observe_head(start);
        let fresh = Arc::new(Fresh::default());
        let log: Arc<dyn EventLog> = store.clone();
        let publisher = {
            let dispatch = dispatch.clone();
            Publisher::start(
                log.clone(),
                metrics.clone(),
                MAX_PUBLISH_BATCH,
                fresh.clone(),
                move |head| dispatch.observe_head(head),
                tasks.cancel.clone(),
                &tasks.tracker,
            )
        };
        let coordination: Arc<dyn Coordination> = store.clone();
        Ok(Node {
            checkpoints: Checkpoints::start(store.clone(), tasks.cancel.clone(), &tasks.tracker),
            streams: Arc::new(StreamContext {
                tail,
                log: log.clone(),
                metrics: metrics.clone(),
            }),
            demo: Demo::new(
                coordination.clone(),
                publisher.clone(),
                settings.node_id.clone(),
            ),
            registry: Registry::new(REGISTRY_SHARDS),
            settings,
            auth,
            log,
            coordination,
            publisher,
            metrics,
            dispatch,
            health,
            readiness: Readiness::default(),
            fresh,
            start,
            started: Instant::now(),
        })
    }

    pub fn settings(&self) -> &NodeSettings {
        &self.settings
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether the node has keys at all (open mode answers every request).
    pub fn is_open(&self) -> bool {
        self.auth.keys.is_open()
    }

    /// The store's backend name.
    pub fn store_kind(&self) -> &'static str {
        self.log.kind()
    }

    /// Open streams on this node.
    pub fn connections(&self) -> usize {
        self.registry.connections()
    }

    /// The newest sequence this node has dispatched.
    pub fn dispatched(&self) -> Sequence {
        self.streams.tail.dispatched()
    }

    /// The position before which only the store has history (older cursors catch up there).
    pub fn tail_floor(&self) -> Sequence {
        self.streams.tail.floor()
    }

    /// A client's checkpoint: acknowledged, pending or stored.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn checkpoint_of(&self, client: &ClientId) -> Result<Option<Sequence>, StoreError> {
        self.checkpoints.load(client).await
    }

    /// `GET /health/ready`: ready unless draining, the store's last write or read failed, or
    /// dispatch lags.
    ///
    /// # Errors
    /// Why it is not ready.
    pub fn readiness(&self) -> Result<(), NotReady> {
        if self.readiness.is_draining() {
            return Err(NotReady::Draining);
        }
        if let Some(failing) = self.health.failing() {
            return Err(NotReady::StoreFailing(failing));
        }
        if !self.dispatch.caught_up() {
            return Err(NotReady::CatchingUp);
        }
        Ok(())
    }

    /// Prometheus text exposition of the node's metrics.
    pub fn metrics_text(&self) -> String {
        self.metrics.encode()
    }

    /// Shutdown, first step: readiness turns 503 and new streams are refused.
    pub fn start_draining(&self) {
        self.readiness.start_draining();
    }

    /// Shutdown, second step: every stream writes its last comment and ends.
    pub fn close_all_streams(&self) {
        self.registry.close_all();
    }

    /// Who a request is, for a verb with `access`. Transports call this first, before they
    /// read a body, and hand the caller to the verb.
    ///
    /// # Errors
    /// 401/403 as [`Authenticator::identify`] says.
    pub fn identify(
        &self,
        credentials: &Credentials<'_>,
        access: Access,
    ) -> Result<Caller, NodeError> {
        Ok(self.auth.identify(credentials, access, UnixMillis::now())?)
    }
}

/// A verb's own check that the caller it was handed may use it.
fn require(caller: &Caller, access: Access) -> Result<(), NodeError> {
    match (caller, access) {
        (Caller::Key(Scope::Publish), _)
        | (Caller::Key(Scope::Subscribe), Access::Subscribe | Access::Client) => Ok(()),
        (Caller::Client(_), Access::Client) => Ok(()),
        (Caller::Jwt(_), Access::Client) => Ok(()),
        (Caller::Jwt(claims), Access::Event) if claims.publish.is_some() => Ok(()),
        (Caller::Jwt(_), Access::Event) => Err(AuthError::JwtForbidden(
            "this JWT grants no publishing (its `ssehub` claim has no `publish` list)",
        )
        .into()),
        (Caller::Jwt(_), _) => Err(AuthError::JwtForbidden(
            "a JWT may not use this endpoint: it needs an API key",
        )
        .into()),
        (Caller::Key(_), _) => Err(AuthError::Forbidden.into()),
        (Caller::Client(_), _) => Err(AuthError::Missing.into()),
    }
}
