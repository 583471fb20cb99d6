//! Acknowledged positions, batched: `POST /api/sse/ack` records in memory (merging forward
//! only), a task writes the batch to the store every flush interval and once more at
//! shutdown. Reads see pending acks too, so "ack, then reconnect" never resumes behind.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use super::{CheckpointStore, StoreError};
use crate::event::{ClientId, Sequence};
use crate::metrics::{Metrics, StoreOp};

pub struct Checkpoints {
    store: Arc<dyn CheckpointStore>,
    metrics: Arc<Metrics>,
    pending: Mutex<HashMap<ClientId, Sequence>>,
}

impl Checkpoints {
    pub fn new(store: Arc<dyn CheckpointStore>, metrics: Arc<Metrics>) -> Arc<Checkpoints> {
        Arc::new(Checkpoints {
            store,
            metrics,
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// Records an acknowledgement; a lower value than one pending is ignored.
    pub fn record(&self, client: ClientId, sequence: Sequence) {
        let mut pending = self.pending.lock();
        let slot = pending.entry(client).or_default();
        *slot = (*slot).max(sequence);
    }

    /// The client's checkpoint: the larger of the pending and the stored one.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn load(&self, client: &ClientId) -> Result<Option<Sequence>, StoreError> {
        let pending = self.pending.lock().get(client).copied();
        let stored = self.store.load_checkpoint(client).await?;
        Ok(pending.max(stored))
    }

    /// Writes everything pending. On failure the batch is merged back for the next try.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let batch: Vec<(ClientId, Sequence)> = self.pending.lock().drain().collect();
        if batch.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let result = self.store.save_checkpoints(batch.clone()).await;
        self.metrics.store_op(
            StoreOp::SaveCheckpoints,
            started.elapsed().as_secs_f64(),
            result.is_ok(),
        );
        if result.is_err() {
            for (client, sequence) in batch {
                self.record(client, sequence);
            }
        }
        result
    }

    /// Flushes every `interval` until `cancel`, then once more.
    pub async fn run(self: Arc<Self>, interval: Duration, cancel: CancellationToken) {
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(interval) => {}
            }
            if let Err(error) = self.flush().await {
                tracing::warn!(%error, "checkpoint flush failed; will retry");
            }
        }
        if let Err(error) = self.flush().await {
            tracing::error!(%error, "final checkpoint flush failed; recent acks are lost");
        }
    }
}
