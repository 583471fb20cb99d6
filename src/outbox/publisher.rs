//! Group commit: concurrent publishes are appended as one batch, and each caller is answered
//! with its own sequences only after the whole batch is durable.
//!
//! One task owns the appends. It takes whatever is queued (up to `max_batch` events) the
//! moment the previous append finishes, so batches grow with load and a lone publish waits for
//! nothing. A caller's events (one, or a batch request's many) are never split between
//! appends: the store appends one batch atomically, so they get consecutive sequences and are
//! stored all together or not at all.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::fresh::Fresh;
use super::{Appended, EventLog, StoreError};
use crate::event::{NewEvent, Sequence};
use crate::metrics::Metrics;

/// Why a publish was not accepted. Either way nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the hub is shutting down")]
    ShuttingDown,
}

/// One caller's events, answered together.
struct Request {
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<Vec<Sequence>, PublishError>>,
    queued: Instant,
}

#[derive(Clone)]
pub struct Publisher {
    queue: mpsc::Sender<Request>,
}

/// Bounds the queue so a stalled store pushes back on publishers instead of growing memory.
const QUEUE_DEPTH: usize = 8192;

impl Publisher {
    /// Starts the append task; after each durable batch it calls `head(last_sequence)` and
    /// hands the new events to `fresh` (the dispatcher); it stops after `cancel`, answering
    /// what is queued.
    pub fn start(
        log: Arc<dyn EventLog>,
        metrics: Arc<Metrics>,
        max_batch: usize,
        fresh: Arc<Fresh>,
        head: impl Fn(Sequence) + Send + Sync + 'static,
        cancel: CancellationToken,
        tracker: &tokio_util::task::TaskTracker,
    ) -> Publisher {
        let (queue, requests) = mpsc::channel(QUEUE_DEPTH);
        let task = AppendTask {
            log,
            metrics,
            max_batch,
            fresh,
            head,
        };
        tracker.spawn(task.run(requests, cancel));
        Publisher { queue }
    }

    /// Appends one event; resolves once it is durable.
    ///
    /// # Errors
    /// `Store` when the store failed (nothing was stored), `ShuttingDown` after shutdown began.
    pub async fn publish(&self, event: NewEvent) -> Result<Sequence, PublishError> {
        let sequences = self.publish_all(vec![event]).await?;
        Ok(sequences[0])
    }

    /// Appends `events` together (consecutive sequences, all or nothing); resolves once they
    /// are durable with one sequence per event: a retried chosen id answers its original.
    ///
    /// # Errors
    /// As [`publish`](Publisher::publish); either way none of the events was stored.
    pub async fn publish_all(&self, events: Vec<NewEvent>) -> Result<Vec<Sequence>, PublishError> {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            events,
            reply,
            queued: Instant::now(),
        };
        self.queue
            .send(request)
            .await
            .map_err(|_| PublishError::ShuttingDown)?;
        answer.await.map_err(|_| PublishError::ShuttingDown)?
    }
}

struct AppendTask<H> {
    log: Arc<dyn EventLog>,
    metrics: Arc<Metrics>,
    max_batch: usize,
    fresh: Arc<Fresh>,
    head: H,
}

impl<H: Fn(Sequence)> AppendTask<H> {
    async fn run(self, mut requests: mpsc::Receiver<Request>, cancel: CancellationToken) {
        let mut batch = Vec::new();
        // A request that did not fit the last batch: it opens the next one.
        let mut carried: Option<Request> = None;
        loop {
            let first = match carried.take() {
                Some(request) => Some(request),
                None => tokio::select! {
                    biased;
                    request = requests.recv() => request,
                    () = cancel.cancelled() => {
                        // Stop taking new work; finish what is already queued.
                        requests.close();
                        requests.recv().await
                    }
                },
            };
            let Some(first) = first else { return };
            let mut events = first.events.len();
            batch.push(first);
            while events < self.max_batch {
                match requests.try_recv() {
                    Ok(request) if events + request.events.len() <= self.max_batch => {
                        events += request.events.len();
                        batch.push(request);
                    }
                    Ok(request) => {
                        carried = Some(request);
                        break;
                    }
                    Err(_) => break,
                }
            }
            self.append(&mut batch, events).await;
        }
    }

    async fn append(&self, batch: &mut Vec<Request>, count: usize) {
        let mut events = Vec::with_capacity(count);
        let mut waiting = Vec::with_capacity(batch.len());
        for request in batch.drain(..) {
            waiting.push((request.reply, request.queued, request.events.len()));
            events.extend(request.events);
        }
        let result = self.log.append(&events).await;
        self.metrics.publish_batch_size.observe(count as f64);
        match result {
            Ok(appended) => {
                if let Some(last) = appended.iter().rev().find(|a| a.is_new()) {
                    (self.head)(last.sequence());
                }
                let mut results = appended.iter();
                for (reply, queued, len) in waiting {
                    let sequences = results.by_ref().take(len).map(|a| a.sequence());
                    self.metrics
                        .publish_seconds
                        .observe(queued.elapsed().as_secs_f64());
                    let _ = reply.send(Ok(sequences.collect()));
                }
                // Answer first, then wake the dispatcher: the answers' tasks are scheduled
                // before the thousands of stream tasks the batch will wake, so a publisher's
                // round trip does not grow with the number of subscribers.
                let mut stored = Vec::with_capacity(count);
                for (event, result) in events.into_iter().zip(appended) {
                    if let Appended::New(sequence) = result {
                        self.metrics.published(event.event_type.as_str());
                        stored.push(event.with_sequence(sequence));
                    }
                }
                self.fresh.push(stored);
            }
            Err(error) => {
                tracing::warn!(%error, events = count, "append failed; publishes answered 503");
                let message = error.to_string();
                for (reply, _, _) in waiting {
                    let _ = reply.send(Err(StoreError::Unavailable(message.clone()).into()));
                }
            }
        }
    }
}
