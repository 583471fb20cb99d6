//! Wiring: `App::build(Config)` opens the store and assembles the node; `App::serve(listener,
//! shutdown)` runs it until the shutdown future resolves, then drains in order:
//!
//! readiness 503 → stop accepting → `registry.close_all()` (streams write a last comment and
//! end) → open connections finish → background tasks cancelled (publisher answers what is
//! queued, checkpoints flush) → task tracker awaited. All under one grace deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::token::TokenSigner;
use crate::auth::KeyRing;
use crate::config::{Config, StoreKind};
use crate::demo::Demo;
use crate::dispatch::{DispatchConfig, DispatchStatus, Dispatcher};
use crate::event::{Sequence, UnixMillis};
use crate::http::{server, AppState, Settings};
use crate::metrics::Metrics;
use crate::outbox::checkpoint::Checkpoints;
use crate::outbox::embedded::EmbeddedStore;
use crate::outbox::memory::MemoryStore;
use crate::outbox::mongo::{MongoOptions, MongoStore};
use crate::outbox::publisher::Publisher;
use crate::outbox::{NodeReport, Retention, Store, StoreError};
use crate::registry::Registry;
use crate::shutdown::Readiness;
use crate::sse::body::StreamContext;
use crate::tail::Tail;

/// Events per group-committed append (the publisher takes what is queued, up to this).
const MAX_PUBLISH_BATCH: usize = 512;
/// Events per dispatcher read.
const DISPATCH_BATCH: usize = 1024;
/// Registry lock shards: enough that two cores never queue on one lock.
const REGISTRY_SHARDS: usize = 64;
/// Acks are written to the store this often.
const CHECKPOINT_FLUSH: Duration = Duration::from_millis(200);
/// Retention runs this often.
const RETENTION_EVERY: Duration = Duration::from_secs(10);
/// Nodes report themselves this often (stats of the whole cluster).
const NODE_REPORT_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot open the event store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot serve: {0}")]
    Io(#[from] std::io::Error),
}

pub struct App {
    state: Arc<AppState>,
    config: Config,
    start: Sequence,
    wake: Arc<Notify>,
    tracker: TaskTracker,
    background: CancellationToken,
}

/// Opens the backend the configuration selects.
///
/// # Errors
/// When the store cannot be opened or reached.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match config.store_kind() {
        StoreKind::Embedded => Arc::new(EmbeddedStore::open(&config.data_dir)?),
        StoreKind::Memory => Arc::new(MemoryStore::new()),
        StoreKind::Mongodb => {
            let uri = config.mongodb_uri.as_deref().unwrap_or_default();
            let write_concern = config.write_concern.parse().map_err(
                |e: crate::outbox::mongo::BadWriteConcern| StoreError::Rejected(e.to_string()),
            )?;
            let options = MongoOptions {
                write_concern,
                ..MongoOptions::default()
            };
            Arc::new(MongoStore::connect(uri, &config.mongodb_database, options).await?)
        }
    })
}

impl App {
    /// Assembles a node. Nothing runs until [`App::serve`].
    ///
    /// # Errors
    /// When the store cannot be opened.
    pub async fn build(config: Config) -> Result<App, AppError> {
        let store = open_store(&config).await?;
        App::with_store(config, store).await
    }

    /// Assembles a node on a given store (tests share one store between nodes).
    ///
    /// # Errors
    /// When the store's head cannot be read.
    pub async fn with_store(config: Config, store: Arc<dyn Store>) -> Result<App, AppError> {
        let metrics = Arc::new(Metrics::new());
        // A fresh node starts at the head: history is replayed on request, never re-broadcast.
        let start = store.head().await?;
        let tail = Arc::new(Tail::new(config.tail_capacity, start));
        let registry = Registry::new(REGISTRY_SHARDS);
        let dispatch = Arc::new(DispatchStatus::default());
        dispatch.set_store_ok(true);
        dispatch.observe_head(start);
        let wake = Arc::new(Notify::new());
        let tracker = TaskTracker::new();
        let background = CancellationToken::new();
        let publisher = {
            let dispatch = dispatch.clone();
            Publisher::start(
                store.clone(),
                metrics.clone(),
                MAX_PUBLISH_BATCH,
                wake.clone(),
                move |head| dispatch.observe_head(head),
                background.clone(),
                &tracker,
            )
        };
        let node_id = config.node_id();
        let state = AppState {
            settings: Settings {
                node_id: node_id.clone(),
                retry_ms: config.retry_ms,
                max_body_bytes: config.max_body_bytes,
                max_filter_types: config.max_filter_types,
                cors_origins: config.cors_origins.clone(),
                static_dir: config.static_dir.clone(),
                max_connections: config.max_connections,
                max_connections_per_client: config.max_connections_per_client,
                max_stream_lifetime: (config.max_stream_lifetime_secs > 0)
                    .then(|| Duration::from_secs(config.max_stream_lifetime_secs)),
                require_client_tokens: config.require_client_tokens,
            },
            tokens: match &config.token_secret {
                Some(secret) => TokenSigner::new(secret.as_bytes()),
                None => TokenSigner::random(),
            },
            keys: KeyRing::new(&config.publish_keys, &config.subscribe_keys),
            checkpoints: Checkpoints::new(store.clone(), metrics.clone()),
            stream: Arc::new(StreamContext {
                tail,
                store: store.clone(),
                metrics: metrics.clone(),
            }),
            demo: Demo::new(store.clone(), publisher.clone(), node_id),
            store,
            publisher,
            registry,
            metrics,
            dispatch,
            readiness: Arc::new(Readiness::default()),
            started: Instant::now(),
        };
        Ok(App {
            state: Arc::new(state),
            config,
            start,
            wake,
            tracker,
            background,
        })
    }

    /// The node's state (tests read metrics and the registry through it).
    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Serves on `listener` until `shutdown` resolves, then drains within the grace period.
    ///
    /// # Errors
    /// Never after a successful start; the result is for symmetry with `build`.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), AppError> {
        let App {
            state,
            config,
            start,
            wake,
            tracker,
            background,
        } = self;
        self::spawn_background(&state, &config, start, wake, &tracker, &background);
        if config.demo_on_start {
            match state.demo.start(crate::demo::DEFAULT_INTERVAL_SECS).await {
                Ok(_) => tracing::info!("demo generator on"),
                Err(error) => tracing::warn!(%error, "cannot switch the demo generator on"),
            }
        }
        let stop_accepting = CancellationToken::new();
        let drain = CancellationToken::new();
        let connections = TaskTracker::new();
        tracing::info!(
            addr = %listener.local_addr()?,
            node = %state.settings.node_id,
            store = state.store.kind(),
            open = state.keys.is_open(),
            "ssehub listening"
        );
        let accept = {
            let (state, stop, drain, connections) = (
                state.clone(),
                stop_accepting.clone(),
                drain.clone(),
                connections.clone(),
            );
            let limits = server::Limits {
                header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
                max_header_bytes: config.max_header_bytes,
                write_stall: Duration::from_secs(config.write_stall_secs),
            };
            tokio::spawn(async move {
                server::accept_loop(listener, state, stop, drain, &connections, limits).await;
            })
        };
        shutdown.await;

        let deadline = tokio::time::Instant::now() + config.shutdown_grace();
        tracing::info!(
            connections = state.registry.connections(),
            "shutting down: draining"
        );
        state.readiness.start_draining();
        stop_accepting.cancel();
        accept
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        state.registry.close_all();
        drain.cancel();
        connections.close();
        if tokio::time::timeout_at(deadline, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                open = connections.len(),
                "connections still open at the grace deadline; closing them"
            );
        }
        background.cancel();
        tracker.close();
        if tokio::time::timeout_at(deadline, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("background tasks did not finish within the grace period");
        }
        tracing::info!("shutdown complete");
        Ok(())
    }
}

fn spawn_background(
    state: &Arc<AppState>,
    config: &Config,
    start: Sequence,
    wake: Arc<Notify>,
    tracker: &TaskTracker,
    cancel: &CancellationToken,
) {
    let dispatcher = Dispatcher {
        store: state.store.clone(),
        tail: state.stream.tail.clone(),
        registry: state.registry.clone(),
        metrics: state.metrics.clone(),
        status: state.dispatch.clone(),
        wake,
        config: DispatchConfig {
            batch: DISPATCH_BATCH,
            poll_interval: Duration::from_millis(config.poll_interval_ms),
            gap_timeout: Duration::from_millis(config.gap_timeout_ms),
        },
    };
    tracker.spawn(dispatcher.run(start, cancel.clone()));
    tracker.spawn(
        state
            .checkpoints
            .clone()
            .run(CHECKPOINT_FLUSH, cancel.clone()),
    );
    tracker.spawn(state.demo.clone().run(cancel.clone()));
    tracker.spawn(heartbeat(state.clone(), config.heartbeat(), cancel.clone()));
    tracker.spawn(report_node(state.clone(), cancel.clone()));
    let retention = Retention {
        max_events: config.retention_max_events,
        max_age: config.retention_max_age_secs.map(Duration::from_secs),
    };
    if retention != Retention::default() {
        tracker.spawn(retain(state.clone(), retention, cancel.clone()));
    }
}

/// The one shared heartbeat timer.
async fn heartbeat(state: Arc<AppState>, every: Duration, cancel: CancellationToken) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticks.tick() => state.registry.heartbeat(),
        }
    }
}

async fn report_node(state: Arc<AppState>, cancel: CancellationToken) {
    loop {
        let report = NodeReport {
            node_id: state.settings.node_id.clone(),
            connections: state.registry.connections() as u64,
            clients: state.registry.clients() as u64,
            dispatched: state.stream.tail.dispatched(),
            seen_at: UnixMillis::now(),
        };
        if let Err(error) = state.store.report_node(report).await {
            tracing::debug!(%error, "node report failed");
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(NODE_REPORT_EVERY) => {}
        }
    }
}

async fn retain(state: Arc<AppState>, retention: Retention, cancel: CancellationToken) {
    loop {
        let started = Instant::now();
        let trimmed = state.store.trim(retention).await;
        state
            .metrics
            .store_op("trim", started.elapsed().as_secs_f64(), trimmed.is_ok());
        match trimmed {
            Ok(0) => {}
            Ok(n) => tracing::debug!(trimmed = n, "retention trimmed the outbox"),
            Err(error) => tracing::warn!(%error, "retention failed"),
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(RETENTION_EVERY) => {}
        }
    }
}
