//! The database handle, and its reopening after an I/O error.
//!
//! redb poisons a `Database` after an I/O error (`PreviousIo` from then on). The handle marks
//! itself broken when an operation meets one, and the next operation after a backoff takes
//! the old `Database` out, waits for the operations still using it to finish (redb's file lock
//! allows one open per file), drops it and opens the file again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use redb::Database;

use super::{open_database, OpError};
use crate::outbox::StoreError;

/// First pause before a reopen, doubled after each failed attempt up to the maximum.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long a reopen waits for in-flight operations on the old database.
const DRAIN_WAIT: Duration = Duration::from_secs(2);

pub(super) struct Handle {
    path: Arc<PathBuf>,
    state: Arc<Mutex<State>>,
}

struct State {
    /// `None` while a reopen holds it or after a reopen failed.
    db: Option<Arc<Database>>,
    broken: bool,
    reopening: bool,
    next_attempt: Instant,
    backoff: Duration,
}

impl Handle {
    pub(super) fn open(path: PathBuf) -> Result<Handle, StoreError> {
        let db = open_database(&path)?;
        Ok(Handle {
            path: Arc::new(path),
            state: Arc::new(Mutex::new(State {
                db: Some(Arc::new(db)),
                broken: false,
                reopening: false,
                next_attempt: Instant::now(),
                backoff: FIRST_BACKOFF,
            })),
        })
    }

    /// Runs `op` on the blocking pool with a healthy database.
    pub(super) async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, OpError> + Send + 'static,
    {
        let db = self.healthy().await?;
        let (state, path) = (self.state.clone(), self.path.clone());
        let joined = tokio::task::spawn_blocking(move || {
            let result = op(&db);
            if let Err(OpError::Redb(redb::Error::Io(_) | redb::Error::PreviousIo)) = &result {
                mark_broken(&state, &db, &path);
            }
            result.map_err(|e| to_store_error(e, &path))
        })
        .await;
        joined.map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }

    /// Runs `op` on the calling thread with a healthy database: for small reads whose pages
    /// redb keeps cached (a checkpoint), where the hop to the blocking pool and back would cost
    /// more than the read.
    pub(super) async fn run_here<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Database) -> Result<T, OpError>,
    {
        let db = self.healthy().await?;
        let result = op(&db);
        if let Err(OpError::Redb(redb::Error::Io(_) | redb::Error::PreviousIo)) = &result {
            mark_broken(&self.state, &db, &self.path);
        }
        result.map_err(|e| to_store_error(e, &self.path))
    }

    /// The database, reopening it first when it is broken and the backoff has passed.
    async fn healthy(&self) -> Result<Arc<Database>, StoreError> {
        let old = {
            let mut state = self.state.lock();
            if !state.broken {
                if let Some(db) = &state.db {
                    return Ok(db.clone());
                }
            }
            if state.reopening || Instant::now() < state.next_attempt {
                return Err(self.waiting());
            }
            state.reopening = true;
            state.db.take()
        };
        let path = self.path.clone();
        let reopened = tokio::task::spawn_blocking(move || reopen(old, &path))
            .await
            .unwrap_or_else(|e| {
                Err((
                    None,
                    StoreError::Unavailable(format!("reopen task failed: {e}")),
                ))
            });
        let mut state = self.state.lock();
        state.reopening = false;
        match reopened {
            Ok(db) => {
                let db = Arc::new(db);
                tracing::info!(path = %self.path.display(), "embedded store reopened; serving again");
                state.db = Some(db.clone());
                state.broken = false;
                state.backoff = FIRST_BACKOFF;
                Ok(db)
            }
            Err((kept, error)) => {
                tracing::warn!(%error, retry_in = ?state.backoff, "cannot reopen the embedded store yet");
                state.db = kept;
                state.next_attempt = Instant::now() + state.backoff;
                state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
                Err(error)
            }
        }
    }

    fn waiting(&self) -> StoreError {
        StoreError::Unavailable(format!(
            "{} failed with an I/O error and is being reopened",
            self.path.display()
        ))
    }
}

fn mark_broken(state: &Mutex<State>, db: &Arc<Database>, path: &Path) {
    let mut state = state.lock();
    let current = state.db.as_ref().is_some_and(|d| Arc::ptr_eq(d, db));
    if current && !state.broken {
        tracing::error!(path = %path.display(), "embedded store I/O error (disk full?); it refuses work until reopened, retrying with backoff");
        state.broken = true;
        state.next_attempt = Instant::now() + FIRST_BACKOFF;
    }
}

/// Drops the poisoned database once nobody else holds it, then opens the file again. On
/// failure hands back the old one if it could not be released yet.
fn reopen(
    old: Option<Arc<Database>>,
    path: &Path,
) -> Result<Database, (Option<Arc<Database>>, StoreError)> {
    if let Some(old) = old {
        let deadline = Instant::now() + DRAIN_WAIT;
        while Arc::strong_count(&old) > 1 {
            if Instant::now() >= deadline {
                return Err((
                    Some(old),
                    StoreError::Unavailable("operations still hold the old database".into()),
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(old);
    }
    open_database(path).map_err(|e| (None, e))
}

pub(super) fn to_store_error(error: OpError, path: &Path) -> StoreError {
    match error {
        OpError::Corrupt(message) => StoreError::Corrupt(message),
        OpError::Redb(redb::Error::Io(e)) => StoreError::Unavailable(format!(
            "I/O error on {}: {e}; the store reopens itself once it can",
            path.display()
        )),
        OpError::Redb(redb::Error::PreviousIo) => StoreError::Unavailable(format!(
            "{} failed with an I/O error and is being reopened",
            path.display()
        )),
        OpError::Redb(other) => StoreError::Unavailable(other.to_string()),
    }
}
