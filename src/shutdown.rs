//! Shutdown plumbing: the signal future, and the readiness latch `/health/ready` reads.

use std::sync::atomic::{AtomicBool, Ordering};

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(error) => {
                    tracing::error!(%error, "cannot listen for SIGTERM; only Ctrl-C stops the hub");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Turns false once draining starts; never back.
#[derive(Debug)]
pub struct Readiness(AtomicBool);

impl Default for Readiness {
    fn default() -> Self {
        Readiness(AtomicBool::new(true))
    }
}

impl Readiness {
    pub fn is_draining(&self) -> bool {
        !self.0.load(Ordering::Acquire)
    }

    pub fn start_draining(&self) {
        self.0.store(false, Ordering::Release);
    }
}
