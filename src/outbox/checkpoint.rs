//! Acknowledged positions, group-committed: `POST /api/sse/ack` answers 204 only once its
//! checkpoint is durable, exactly as a publish answers 200 only once its event is. One task
//! takes every ack queued while the previous write ran, keeps the highest position per client
//! and writes them in one store call; a failed write answers every waiting ack with the
//! store's error (503), so an ack the client saw succeed is never lost, even to SIGKILL.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{CheckpointStore, StoreError};
use crate::event::{ClientId, Sequence};

/// Acks per store write, at most.
const MAX_BATCH: usize = 1024;
/// Bounds the queue so a stalled store pushes back on clients instead of growing memory.
const QUEUE_DEPTH: usize = 8192;

/// Why an ack was not recorded. Either way nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the hub is shutting down")]
    ShuttingDown,
}

struct Ack {
    client: ClientId,
    sequence: Sequence,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

pub struct Checkpoints {
    store: Arc<dyn CheckpointStore>,
    queue: mpsc::Sender<Ack>,
}

impl Checkpoints {
    /// Starts the writer task; it stops after `cancel`, writing what is queued.
    pub fn start(
        store: Arc<dyn CheckpointStore>,
        cancel: CancellationToken,
        tracker: &TaskTracker,
    ) -> Arc<Checkpoints> {
        let (queue, acks) = mpsc::channel(QUEUE_DEPTH);
        let writer = Writer {
            store: store.clone(),
        };
        tracker.spawn(writer.run(acks, cancel));
        Arc::new(Checkpoints { store, queue })
    }

    /// Records that `client` processed everything through `sequence`; resolves once the
    /// checkpoint is durable. A lower value than the stored one leaves it.
    ///
    /// # Errors
    /// `Store` when the write failed (nothing changed), `ShuttingDown` after shutdown began.
    pub async fn record(&self, client: ClientId, sequence: Sequence) -> Result<(), AckError> {
        let (reply, answer) = oneshot::channel();
        let ack = Ack {
            client,
            sequence,
            reply,
        };
        self.queue
            .send(ack)
            .await
            .map_err(|_| AckError::ShuttingDown)?;
        answer.await.map_err(|_| AckError::ShuttingDown)??;
        Ok(())
    }

    /// The client's stored checkpoint.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn load(&self, client: &ClientId) -> Result<Option<Sequence>, StoreError> {
        self.store.load_checkpoint(client).await
    }
}

struct Writer {
    store: Arc<dyn CheckpointStore>,
}

impl Writer {
    async fn run(self, mut acks: mpsc::Receiver<Ack>, cancel: CancellationToken) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            let received = tokio::select! {
                biased;
                n = acks.recv_many(&mut batch, MAX_BATCH) => n,
                () = cancel.cancelled() => {
                    // Stop taking new acks; write what is already queued.
                    acks.close();
                    acks.recv_many(&mut batch, MAX_BATCH).await
                }
            };
            if received == 0 {
                return;
            }
            self.write(&mut batch).await;
        }
    }

    async fn write(&self, batch: &mut Vec<Ack>) {
        let mut highest: HashMap<ClientId, Sequence> = HashMap::with_capacity(batch.len());
        for ack in batch.iter() {
            let slot = highest.entry(ack.client.clone()).or_default();
            *slot = (*slot).max(ack.sequence);
        }
        let result = self
            .store
            .save_checkpoints(highest.into_iter().collect())
            .await;
        if let Err(error) = &result {
            tracing::warn!(%error, acks = batch.len(), "checkpoint write failed; acks answered 503");
        }
        for ack in batch.drain(..) {
            let answer = match &result {
                Ok(()) => Ok(()),
                Err(error) => Err(StoreError::Unavailable(error.to_string())),
            };
            let _ = ack.reply.send(answer);
        }
    }
}
