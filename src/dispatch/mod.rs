//! The dispatcher: one task per node that reads the outbox after its high-water mark, encodes
//! each event once into its frame, appends the frames to the tail ring and wakes the
//! subscribers the batch concerns.
//!
//! Local publishes wake it at once; otherwise it polls at `poll_interval` (other nodes'
//! publishes), and re-polls immediately while pages come back full. A missing sequence number
//! holds the mark ([`gap`]) so no subscriber ever sees 12 before 11.

pub mod gap;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use self::gap::GapTracker;
use crate::event::Sequence;
use crate::metrics::Metrics;
use crate::outbox::{EventLog, Page};
use crate::registry::{Interest, Registry};
use crate::sse::frame;
use crate::tail::{Frame, Tail};

/// Dispatcher settings.
#[derive(Debug, Clone, Copy)]
pub struct DispatchConfig {
    /// Events per store read.
    pub batch: usize,
    /// How often to look for events this node did not publish itself.
    pub poll_interval: Duration,
    /// How long a missing sequence number may hold the mark.
    pub gap_timeout: Duration,
}

/// What `/health/ready` and `/api/sse/stats` need from the dispatcher (the store's own
/// health is `outbox::monitored::Health`).
#[derive(Debug, Default)]
pub struct DispatchStatus {
    caught_up: AtomicBool,
    head: AtomicU64,
}

impl DispatchStatus {
    /// Whether dispatch has caught up with the store's head.
    pub fn caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Acquire)
    }

    /// The newest head the dispatcher has seen.
    pub fn head(&self) -> Sequence {
        Sequence(self.head.load(Ordering::Acquire))
    }

    /// Raises the known head (the publisher reports its appends here too).
    pub fn observe_head(&self, head: Sequence) {
        self.head.fetch_max(head.0, Ordering::AcqRel);
    }
}

pub struct Dispatcher {
    pub log: Arc<dyn EventLog>,
    pub tail: Arc<Tail>,
    pub registry: Arc<Registry>,
    pub metrics: Arc<Metrics>,
    pub status: Arc<DispatchStatus>,
    /// Notified by the local publisher after each durable append.
    pub wake: Arc<Notify>,
    pub config: DispatchConfig,
}

/// Bytes of event payload per read, so one read of large events stays bounded.
const BATCH_BYTES: usize = 16 << 20;

/// Longest pause between retries while the store is failing.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl Dispatcher {
    /// Runs until `cancel` fires. Starts after `start` (the head when the node started).
    pub async fn run(self, start: Sequence, cancel: CancellationToken) {
        let mut gaps = GapTracker::new(start, self.config.gap_timeout);
        let mut backoff = self.config.poll_interval;
        let mut last_head_check = Instant::now() - Duration::from_secs(60);
        loop {
            let pause = match self.drain(&mut gaps).await {
                Ok(Drained::Idle) => {
                    backoff = self.config.poll_interval;
                    if last_head_check.elapsed() >= Duration::from_secs(1) {
                        last_head_check = Instant::now();
                        self.check_head(gaps.high_water()).await;
                    }
                    self.config.poll_interval
                }
                // Look again soon: the missing number is usually an insert in flight.
                Ok(Drained::WaitingForGap) => {
                    self.config.poll_interval.min(Duration::from_millis(5))
                }
                Err(()) => {
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    backoff
                }
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Reads and dispatches until a page comes back short.
    async fn drain(&self, gaps: &mut GapTracker) -> Result<Drained, ()> {
        loop {
            let limit = Page {
                events: self.config.batch,
                bytes: BATCH_BYTES,
            };
            let page = self.log.read_after(gaps.high_water(), limit).await;
            let page = page.map_err(|error| {
                tracing::warn!(%error, "dispatcher cannot read the outbox; retrying");
            })?;
            let full = limit.filled_by(&page);
            let sequences: Vec<Sequence> = page.iter().map(|e| e.sequence).collect();
            let decision = gaps.release(&sequences, Instant::now());
            if decision.skipped > 0 {
                self.metrics.gaps_skipped.inc_by(decision.skipped);
                tracing::warn!(
                    skipped = decision.skipped,
                    at = gaps.high_water().0,
                    "gave up on missing sequence numbers"
                );
            }
            let released = &page[..decision.accept];
            let mut interest = Interest::default();
            let frames: Vec<Frame> = released
                .iter()
                .map(|event| {
                    let frame = Frame::new(event, frame::encode_event(event));
                    interest.add(&frame.folded_type, frame.target.as_ref(), &frame.topics);
                    frame
                })
                .collect();
            let dispatched = gaps.high_water();
            self.tail.push(frames, dispatched);
            self.status.observe_head(dispatched);
            self.metrics.dispatched_sequence.set(dispatched.0 as i64);
            self.registry.wake(&interest);
            if decision.waiting {
                self.status.caught_up.store(false, Ordering::Release);
                return Ok(Drained::WaitingForGap);
            }
            if !full {
                self.status.caught_up.store(true, Ordering::Release);
                return Ok(Drained::Idle);
            }
        }
    }

    /// Refreshes the head (other nodes' publishes, lag metric, readiness).
    async fn check_head(&self, dispatched: Sequence) {
        if let Ok(head) = self.log.head().await {
            self.status.observe_head(head);
            let lag = head.0.saturating_sub(dispatched.0);
            self.metrics.dispatch_lag.set(lag as i64);
            // A short page means nothing visible was left; a large lag means this node fell behind.
            let behind = lag > 4 * self.config.batch as u64;
            self.status.caught_up.store(!behind, Ordering::Release);
            if lag > 0 {
                self.wake.notify_one();
            }
        }
    }
}

enum Drained {
    Idle,
    WaitingForGap,
}
