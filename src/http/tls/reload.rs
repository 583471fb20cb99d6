//! The certificate the hub serves, replaced without a restart: a rustls cert resolver that
//! hands every handshake the current pair, and a watcher that loads a new pair on SIGHUP or
//! when either file changes. A pair that fails to load is logged and counted, and the previous
//! one keeps serving, so a half-written rotation never takes the hub off the air.

use std::fs::Metadata;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::RwLock;
use prometheus_client::metrics::counter::Counter;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::signal::unix::Signal;
use tokio_util::sync::CancellationToken;

use super::{keys, TlsSettings};

/// How often the files' metadata is compared: a rotated Kubernetes Secret (a symlink swap) or a
/// renewed certificate is served within this, without an inotify dependency.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Hands each handshake the pair loaded last. Handshakes already done keep their keys.
#[derive(Debug)]
pub(crate) struct CertResolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertResolver {
    pub(crate) fn new(pair: CertifiedKey) -> CertResolver {
        CertResolver {
            current: RwLock::new(Arc::new(pair)),
        }
    }

    fn replace(&self, pair: CertifiedKey) {
        *self.current.write() = Arc::new(pair);
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().clone())
    }
}

/// What identifies a file's version: a replaced or rewritten file differs in one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl Stamp {
    fn of(metadata: &Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            modified: metadata.modified().ok(),
            len: metadata.len(),
            inode: metadata.ino(),
        }
    }
}

/// Both files' stamps (`None` for a file that cannot be read: it counts as a change).
fn stamps(settings: &TlsSettings) -> [Option<Stamp>; 2] {
    [&settings.cert, &settings.key].map(|path| std::fs::metadata(path).ok().map(|m| Stamp::of(&m)))
}

/// Reloads on SIGHUP (`hangup`, registered before serving so an early signal does not kill the
/// process) and when the files change, until `stop`.
pub(crate) async fn watch(
    settings: TlsSettings,
    resolver: Arc<CertResolver>,
    provider: Arc<CryptoProvider>,
    reloads: Counter,
    failures: Counter,
    mut hangup: Option<Signal>,
    stop: CancellationToken,
) {
    let mut seen = stamps(&settings);
    let mut poll = tokio::time::interval(POLL_INTERVAL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let cause = tokio::select! {
            () = stop.cancelled() => return,
            Some(()) = async { hangup.as_mut()?.recv().await } => "SIGHUP",
            _ = poll.tick() => {
                if stamps(&settings) == seen {
                    continue;
                }
                "the files changed"
            }
        };
        // Remember this version even if it fails to load, so a bad file is reported once, not
        // every poll; the next change (the rest of a rotation) tries again.
        seen = stamps(&settings);
        match keys::load(&settings, &provider) {
            Ok(pair) => {
                resolver.replace(pair);
                reloads.inc();
                tracing::info!(cert = %settings.cert.display(), cause, "TLS certificate reloaded");
            }
            Err(error) => {
                failures.inc();
                tracing::warn!(%error, cause, "TLS certificate not reloaded; the previous one stays");
            }
        }
    }
}
