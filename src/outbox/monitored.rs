//! Every store call the node makes goes through [`Monitored`]: it times the call for
//! `ssehub_store_operation_seconds`, counts failures, and keeps [`Health`], whether the last
//! write and the last read succeeded. Readiness is 503 while either failed; once space is back
//! on a full disk (say), the next write that succeeds — a publish, an ack, or the node's probe
//! — makes it ready again, with no restart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{
    CheckpointStore, Coordination, DemoState, EventLog, NodeReport, Page, PresenceEntry, Retention,
    Store, StoreFuture,
};
use crate::event::{ClientId, Event, NewEvent, Sequence};
use crate::metrics::{Metrics, StoreOp};

/// Which store calls have been failing: the last write, the last read.
#[derive(Debug, Default)]
pub struct Health {
    write_failing: AtomicBool,
    read_failing: AtomicBool,
}

impl Health {
    /// What is failing now, in words for `/health/ready`; `None` when nothing is.
    pub fn failing(&self) -> Option<&'static str> {
        match (
            self.write_failing.load(Ordering::Acquire),
            self.read_failing.load(Ordering::Acquire),
        ) {
            (true, true) => Some("the event store fails reads and writes"),
            (true, false) => Some("the event store fails writes"),
            (false, true) => Some("the event store fails reads"),
            (false, false) => None,
        }
    }

    pub fn writes_failing(&self) -> bool {
        self.write_failing.load(Ordering::Acquire)
    }
}

/// What a store call means for health.
#[derive(Clone, Copy)]
enum Class {
    Write,
    Read,
    /// Maintenance and coordination: timed and counted, but not what readiness is about.
    Other,
}

/// A store with every call measured.
pub struct Monitored {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

impl Monitored {
    pub fn new(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> Monitored {
        Monitored {
            inner,
            metrics,
            health: Arc::new(Health::default()),
        }
    }

    pub fn health(&self) -> Arc<Health> {
        self.health.clone()
    }

    fn watch<'a, T: Send + 'a>(
        &'a self,
        op: StoreOp,
        class: Class,
        call: StoreFuture<'a, T>,
    ) -> StoreFuture<'a, T> {
        Box::pin(async move {
            let started = Instant::now();
            let result = call.await;
            let ok = result.is_ok();
            self.metrics
                .store_op(op, started.elapsed().as_secs_f64(), ok);
            let flag = match class {
                Class::Write => &self.health.write_failing,
                Class::Read => &self.health.read_failing,
                Class::Other => return result,
            };
            let was_failing = flag.swap(!ok, Ordering::AcqRel);
            match (was_failing, &result) {
                (false, Err(error)) => {
                    tracing::warn!(operation = op.as_str(), %error, "store failing; not ready until it recovers");
                    self.metrics.store_available.set(0);
                }
                (true, Ok(_)) => {
                    tracing::info!(operation = op.as_str(), "store recovered");
                }
                _ => {}
            }
            if self.health.failing().is_none() {
                self.metrics.store_available.set(1);
            }
            result
        })
    }
}

impl EventLog for Monitored {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn append(&self, batch: Vec<NewEvent>) -> StoreFuture<'_, Vec<Sequence>> {
        self.watch(StoreOp::Append, Class::Write, self.inner.append(batch))
    }
    fn read_after(&self, after: Sequence, page: Page) -> StoreFuture<'_, Vec<Event>> {
        let call = self.inner.read_after(after, page);
        self.watch(StoreOp::ReadAfter, Class::Read, call)
    }
    fn head(&self) -> StoreFuture<'_, Sequence> {
        self.watch(StoreOp::Head, Class::Read, self.inner.head())
    }
    fn oldest(&self) -> StoreFuture<'_, Option<Sequence>> {
        self.watch(StoreOp::Oldest, Class::Read, self.inner.oldest())
    }
    fn trim(&self, retention: Retention) -> StoreFuture<'_, u64> {
        self.watch(StoreOp::Trim, Class::Other, self.inner.trim(retention))
    }
    fn probe(&self) -> StoreFuture<'_, ()> {
        self.watch(StoreOp::Probe, Class::Write, self.inner.probe())
    }
}

impl CheckpointStore for Monitored {
    fn load_checkpoint<'a>(&'a self, client: &'a ClientId) -> StoreFuture<'a, Option<Sequence>> {
        let call = self.inner.load_checkpoint(client);
        self.watch(StoreOp::LoadCheckpoint, Class::Read, call)
    }
    fn save_checkpoints(&self, batch: Vec<(ClientId, Sequence)>) -> StoreFuture<'_, ()> {
        let call = self.inner.save_checkpoints(batch);
        self.watch(StoreOp::SaveCheckpoints, Class::Write, call)
    }
}

impl Coordination for Monitored {
    fn report_node(&self, report: NodeReport) -> StoreFuture<'_, ()> {
        let call = self.inner.report_node(report);
        self.watch(StoreOp::ReportNode, Class::Other, call)
    }
    fn nodes(&self, within: Duration) -> StoreFuture<'_, Vec<NodeReport>> {
        self.watch(StoreOp::Nodes, Class::Other, self.inner.nodes(within))
    }
    fn report_presence<'a>(
        &'a self,
        node_id: &'a str,
        entries: Vec<PresenceEntry>,
    ) -> StoreFuture<'a, ()> {
        let call = self.inner.report_presence(node_id, entries);
        self.watch(StoreOp::ReportPresence, Class::Other, call)
    }
    fn presence(&self, within: Duration) -> StoreFuture<'_, Vec<PresenceEntry>> {
        self.watch(StoreOp::Presence, Class::Other, self.inner.presence(within))
    }
    fn demo_state(&self) -> StoreFuture<'_, DemoState> {
        self.watch(StoreOp::DemoState, Class::Other, self.inner.demo_state())
    }
    fn swap_demo_state(&self, expect_running: bool, next: DemoState) -> StoreFuture<'_, bool> {
        let call = self.inner.swap_demo_state(expect_running, next);
        self.watch(StoreOp::SwapDemoState, Class::Other, call)
    }
    fn acquire_lease<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let call = self.inner.acquire_lease(name, holder, ttl);
        self.watch(StoreOp::AcquireLease, Class::Other, call)
    }
}
