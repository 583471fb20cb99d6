//! The node's background work, spawned once by [`Node::spawn_tasks`] and stopped by the
//! tasks' cancellation token: the dispatcher, the shared heartbeat, the node report,
//! retention and the demo generator. (The publisher and the checkpoint writer start with
//! the node, in [`Node::new`].)

use std::sync::Arc;
use std::time::Duration;

use super::{Node, Tasks, MAX_PRESENCE_REPORT};
use crate::dispatch::Dispatcher;
use crate::event::UnixMillis;
use crate::outbox::{NodeReport, Retention};

/// Retention runs this often.
const RETENTION_EVERY: Duration = Duration::from_secs(10);
/// While the store's writes fail, it is probed this often.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// Nodes report themselves this often (stats of the whole cluster).
const NODE_REPORT_EVERY: Duration = Duration::from_secs(2);

impl Node {
    /// Starts every background task of the node on `tasks`.
    pub fn spawn_tasks(self: &Arc<Node>, tasks: &Tasks) {
        let dispatcher = Dispatcher {
            log: self.log.clone(),
            tail: self.streams.tail.clone(),
            registry: self.registry.clone(),
            metrics: self.metrics.clone(),
            status: self.dispatch.clone(),
            wake: self.appended.clone(),
            config: self.settings.dispatch,
        };
        let cancel = &tasks.cancel;
        tasks
            .tracker
            .spawn(dispatcher.run(self.start, cancel.clone()));
        tasks.tracker.spawn(self.demo.clone().run(cancel.clone()));
        tasks.tracker.spawn(self.clone().heartbeat(cancel.clone()));
        tasks.tracker.spawn(self.clone().report(cancel.clone()));
        tasks
            .tracker
            .spawn(self.clone().probe_while_failing(cancel.clone()));
        if self.settings.retention != Retention::default() {
            tasks.tracker.spawn(self.clone().retain(cancel.clone()));
        }
    }

    /// Switches the demo generator on, as `POST /api/demo/start` would (`--demo-on-start`).
    pub async fn switch_demo_on(&self) {
        match self.demo.start(crate::demo::DEFAULT_INTERVAL_SECS).await {
            Ok(_) => tracing::info!("demo generator on"),
            Err(error) => tracing::warn!(%error, "cannot switch the demo generator on"),
        }
    }

    /// The one shared heartbeat timer.
    async fn heartbeat(self: Arc<Node>, cancel: tokio_util::sync::CancellationToken) {
        let mut ticks = tokio::time::interval(self.settings.heartbeat);
        ticks.tick().await;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                _ = ticks.tick() => self.registry.heartbeat(),
            }
        }
    }

    async fn report(self: Arc<Node>, cancel: tokio_util::sync::CancellationToken) {
        loop {
            let report = NodeReport {
                node_id: self.settings.node_id.clone(),
                connections: self.registry.connections() as u64,
                clients: self.registry.clients() as u64,
                dispatched: self.streams.tail.dispatched(),
                seen_at: UnixMillis::now(),
                events_published: self.metrics.events_published_all.get(),
                frames_delivered: self.metrics.frames_delivered.get(),
                streams_opened: self.metrics.connections_total.get(),
                ready: self.readiness().is_ok(),
                store_available: self.health.failing().is_none(),
            };
            if let Err(error) = self.coordination.report_node(report).await {
                tracing::debug!(%error, "node report failed");
            }
            let presence = self.local_presence(UnixMillis::now(), MAX_PRESENCE_REPORT);
            let node_id = &self.settings.node_id;
            if let Err(error) = self.coordination.report_presence(node_id, presence).await {
                tracing::debug!(%error, "presence report failed");
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(NODE_REPORT_EVERY) => {}
            }
        }
    }

    /// While writes fail and nobody writes (no publishes, no acks), a small write now and then
    /// finds out when the store takes writes again (and, on the embedded store, reopens it),
    /// so readiness comes back by itself.
    async fn probe_while_failing(self: Arc<Node>, cancel: tokio_util::sync::CancellationToken) {
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(PROBE_EVERY) => {}
            }
            if self.health.writes_failing() {
                if let Err(error) = self.log.probe().await {
                    tracing::debug!(%error, "store probe failed");
                }
            }
        }
    }

    async fn retain(self: Arc<Node>, cancel: tokio_util::sync::CancellationToken) {
        loop {
            match self.log.trim(self.settings.retention).await {
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
}
