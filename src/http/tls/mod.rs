//! TLS in the hub: rustls on the ring provider, ALPN `h2` and `http/1.1` on the `--listen`
//! port, a handshake deadline, and a certificate that is re-read without a restart (the
//! `reload` module). After the handshake the connection is served like a plain one: `h2` by
//! the HTTP/2 transport, anything else as HTTP/1.1 (the lean stream path or hyper).

pub mod keys;
pub mod probe;
pub(crate) mod reload;
mod stream;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::ServerConfig;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

pub use self::keys::TlsError;
use self::reload::CertResolver;
pub(crate) use self::stream::TlsStream;
use crate::metrics::{Limit, Metrics};

/// ALPN protocol ids, in the server's order of preference.
pub(crate) const ALPN_H2: &[u8] = b"h2";
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// A request extension: the request arrived over TLS (the connections endpoint reports it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OverTls;

/// `--tls-cert`, `--tls-key`, `--tls-handshake-timeout-secs`.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub handshake_timeout: Duration,
}

/// Checks that the configured pair can be served (the binary calls it before binding, so a bad
/// file exits with code 64 and names itself).
///
/// # Errors
/// What is wrong with which file.
pub fn check(settings: &TlsSettings) -> Result<(), TlsError> {
    keys::load(settings, &provider()).map(drop)
}

fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The acceptor every TLS connection goes through.
pub(crate) struct Tls {
    config: Arc<ServerConfig>,
    resolver: Arc<CertResolver>,
    provider: Arc<CryptoProvider>,
    settings: TlsSettings,
}

impl Tls {
    /// Loads the pair and builds the server configuration.
    ///
    /// # Errors
    /// What is wrong with which file.
    pub(crate) fn new(settings: TlsSettings) -> Result<Tls, TlsError> {
        let provider = Arc::new(provider());
        let resolver = Arc::new(CertResolver::new(keys::load(&settings, &provider)?));
        let mut config = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Setup(error.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        // h2 first: a browser that offers both gets HTTP/2 and multiplexes every tab's streams
        // over one connection instead of hitting its six-connections-per-origin limit.
        config.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()];
        Ok(Tls {
            config: Arc::new(config),
            resolver,
            provider,
            settings,
        })
    }

    /// Completes the handshake within the deadline; `None` (counted when it was the deadline)
    /// if it failed, timed out or the node started draining.
    pub(crate) async fn accept(
        &self,
        tcp: TcpStream,
        metrics: &Metrics,
        drain: &CancellationToken,
    ) -> Option<TlsStream> {
        let handshake = tokio::time::timeout(
            self.settings.handshake_timeout,
            TlsStream::accept(tcp, self.config.clone()),
        );
        let result = tokio::select! {
            result = handshake => result,
            () = drain.cancelled() => return None,
        };
        match result {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(error)) => {
                tracing::debug!(%error, "TLS handshake failed");
                None
            }
            Err(_elapsed) => {
                metrics.limit_hit(Limit::TlsHandshakeTimeout);
                None
            }
        }
    }

    /// Reloads the pair on SIGHUP and on file changes until `stop` (see [`reload`]).
    pub(crate) fn watch(
        &self,
        metrics: &Metrics,
        stop: CancellationToken,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        // Registered now, before the first connection, so SIGHUP never falls back to its
        // default action (terminating the process) once TLS is on.
        let hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(signal) => Some(signal),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGHUP; the certificate reloads on file changes only");
                None
            }
        };
        reload::watch(
            self.settings.clone(),
            self.resolver.clone(),
            self.provider.clone(),
            metrics.tls_reloads.clone(),
            metrics.tls_reload_failures.clone(),
            hangup,
            stop,
        )
    }
}

/// Whether the handshake chose HTTP/2.
pub(crate) fn is_h2(stream: &TlsStream) -> bool {
    stream.alpn_protocol() == Some(ALPN_H2)
}
