//! Group commit: concurrent publishes are appended as one batch, and each caller is answered
//! with its own sequence only after the whole batch is durable.
//!
//! One task owns the appends. It takes whatever is queued (up to `max_batch`) the moment the
//! previous append finishes, so batches grow with load and a lone publish waits for nothing.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, Notify};
use tokio_util::sync::CancellationToken;

use super::{EventLog, StoreError};
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

struct Request {
    event: NewEvent,
    reply: oneshot::Sender<Result<Sequence, PublishError>>,
    queued: Instant,
}

#[derive(Clone)]
pub struct Publisher {
    queue: mpsc::Sender<Request>,
}

/// Bounds the queue so a stalled store pushes back on publishers instead of growing memory.
const QUEUE_DEPTH: usize = 8192;

impl Publisher {
    /// Starts the append task; it calls `on_append(last_sequence)` after each durable batch
    /// and stops after `cancel`, answering what is queued.
    pub fn start(
        log: Arc<dyn EventLog>,
        metrics: Arc<Metrics>,
        max_batch: usize,
        on_append: Arc<Notify>,
        head: impl Fn(Sequence) + Send + Sync + 'static,
        cancel: CancellationToken,
        tracker: &tokio_util::task::TaskTracker,
    ) -> Publisher {
        let (queue, requests) = mpsc::channel(QUEUE_DEPTH);
        let task = AppendTask {
            log,
            metrics,
            max_batch,
            on_append,
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
        let (reply, answer) = oneshot::channel();
        let request = Request {
            event,
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
    on_append: Arc<Notify>,
    head: H,
}

impl<H: Fn(Sequence)> AppendTask<H> {
    async fn run(self, mut requests: mpsc::Receiver<Request>, cancel: CancellationToken) {
        let mut batch = Vec::with_capacity(self.max_batch);
        loop {
            let received = tokio::select! {
                biased;
                n = requests.recv_many(&mut batch, self.max_batch) => n,
                () = cancel.cancelled() => {
                    // Stop taking new work; finish what is already queued.
                    requests.close();
                    requests.recv_many(&mut batch, self.max_batch).await
                }
            };
            if received == 0 {
                return;
            }
            self.append(&mut batch).await;
        }
    }

    async fn append(&self, batch: &mut Vec<Request>) {
        let (events, waiting): (Vec<NewEvent>, Vec<_>) = batch
            .drain(..)
            .map(|r| {
                let event_type = r.event.event_type.clone();
                (r.event, (r.reply, r.queued, event_type))
            })
            .unzip();
        let result = self.log.append(events).await;
        self.metrics
            .publish_batch_size
            .observe(waiting.len() as f64);
        match result {
            Ok(sequences) => {
                if let Some(&last) = sequences.last() {
                    (self.head)(last);
                }
                for ((reply, queued, event_type), sequence) in waiting.into_iter().zip(sequences) {
                    self.metrics.published(event_type.as_str());
                    self.metrics
                        .publish_seconds
                        .observe(queued.elapsed().as_secs_f64());
                    let _ = reply.send(Ok(sequence));
                }
                // Answer first, then wake the dispatcher: the answers' tasks are scheduled
                // before the thousands of stream tasks the batch will wake, so a publisher's
                // round trip does not grow with the number of subscribers.
                self.on_append.notify_one();
            }
            Err(error) => {
                tracing::warn!(%error, events = waiting.len(), "append failed; publishes answered 503");
                let message = error.to_string();
                for (reply, _, _) in waiting {
                    let _ = reply.send(Err(StoreError::Unavailable(message.clone()).into()));
                }
            }
        }
    }
}
