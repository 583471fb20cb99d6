//! Wiring: `App::build(Config)` opens the store and assembles the node; `App::serve(listener,
//! shutdown)` runs it until the shutdown future resolves, then drains in order:
//!
//! readiness 503 → stop accepting → every stream writes a last comment and ends → open
//! connections finish → background tasks cancelled (publisher answers what is queued,
//! the checkpoint writer writes what is queued) → task tracker awaited. All under one grace
//! deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::jwt::{Jwks, JwtVerifier, KeySet};
use crate::auth::token::TokenSigner;
use crate::auth::{Authenticator, KeyRing};
use crate::config::{Config, JwtConfig, StoreChoice};
use crate::http::jwks::{self, JwksSource};
use crate::http::tls::{Tls, TlsError};
use crate::http::{server, HttpSettings};
use crate::node::{Node, Tasks};
use crate::outbox::embedded::EmbeddedStore;
use crate::outbox::memory::MemoryStore;
use crate::outbox::mongo::MongoStore;
use crate::outbox::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot open the event store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot serve: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot serve TLS: {0}")]
    Tls(#[from] TlsError),
    /// A JWT key that cannot be loaded: a configuration error (exit 64).
    #[error("{0}")]
    JwtKey(String),
}

pub struct App {
    node: Arc<Node>,
    http: HttpSettings,
    tls: Option<Tls>,
    tasks: Tasks,
    demo_on_start: bool,
    grace: Duration,
    /// Subscribe keys and no publish keys: a hub nobody can publish to.
    subscribe_only: bool,
}

/// Opens the backend the configuration selects.
///
/// # Errors
/// When the store cannot be opened or reached.
pub async fn open_store(choice: StoreChoice) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match choice {
        StoreChoice::Embedded(dir) => Arc::new(EmbeddedStore::open(&dir)?),
        StoreChoice::Memory => Arc::new(MemoryStore::new()),
        StoreChoice::Mongodb {
            uri,
            database,
            options,
        } => Arc::new(MongoStore::connect(&uri, &database, options).await?),
    })
}

/// The JWT verifier the configuration asks for, and the JWKS its keeper must keep fresh.
/// A secret, a PEM key or a JWKS file that cannot be loaded is a configuration error; a JWKS
/// URL that does not answer yet is not (the keeper retries; until then those tokens are
/// `jwt_unknown_key`).
async fn jwt_verifier(
    config: &JwtConfig,
) -> Result<(Option<JwtVerifier>, Option<(JwksSource, Arc<Jwks>)>), AppError> {
    if !config.enabled() {
        return Ok((None, None));
    }
    let mut fixed = KeySet::default();
    if let Some(secret) = &config.secret {
        fixed.keys.extend(KeySet::hs256(secret.as_bytes()).keys);
    }
    if let Some(path) = &config.public_key {
        let pem = std::fs::read(path)
            .map_err(|e| AppError::JwtKey(format!("--jwt-public-key {}: {e}", path.display())))?;
        let set = KeySet::from_pem(&pem)
            .map_err(|e| AppError::JwtKey(format!("--jwt-public-key {}: {e}", path.display())))?;
        fixed.keys.extend(set.keys);
    }
    let keeper = match &config.jwks {
        None => None,
        Some(source) => {
            let first = match jwks::load(source).await {
                Ok(set) => set,
                Err(error) if matches!(source, JwksSource::Url(_)) => {
                    tracing::warn!(%source, %error, "JWKS not loaded yet; retrying in the background");
                    KeySet::default()
                }
                Err(error) => {
                    return Err(AppError::JwtKey(format!("--jwks-file {source}: {error}")))
                }
            };
            Some((source.clone(), Arc::new(Jwks::new(first))))
        }
    };
    let shared = keeper.as_ref().map(|(_, jwks)| jwks.clone());
    Ok((
        Some(JwtVerifier::new(fixed, shared, config.settings.clone())),
        keeper,
    ))
}

impl App {
    /// Assembles a node. Nothing runs but the publisher until [`App::serve`].
    ///
    /// # Errors
    /// When the store cannot be opened, or the TLS certificate or key cannot be used.
    pub async fn build(config: Config) -> Result<App, AppError> {
        let store = open_store(config.store_choice()).await?;
        App::with_store(config, store).await
    }

    /// Assembles a node on a given store (tests share one store between nodes).
    ///
    /// # Errors
    /// When the store's head cannot be read, or the TLS certificate or key cannot be used.
    pub async fn with_store(config: Config, store: Arc<dyn Store>) -> Result<App, AppError> {
        let http = config.http();
        let tls = http.tls.clone().map(Tls::new).transpose()?;
        let jwt = config.jwt();
        let (verifier, keeper) = jwt_verifier(&jwt).await?;
        let mut keys = KeyRing::new(&config.publish_keys, &config.subscribe_keys);
        if verifier.is_some() {
            keys = keys.closed();
        }
        let auth = Authenticator {
            keys,
            tokens: match &config.token_secret {
                Some(secret) => TokenSigner::new(secret.as_bytes()),
                None => TokenSigner::random(),
            },
            jwt: verifier,
        };
        let tasks = Tasks::default();
        if let Some((source, jwks)) = keeper {
            let cancel = tasks.cancel.clone();
            tasks
                .tracker
                .spawn(jwks::keep_fresh(source, jwks, jwt.refresh, cancel));
        }
        let node = Node::new(config.node(), auth, store, &tasks).await?;
        Ok(App {
            node: Arc::new(node),
            http,
            tls,
            tasks,
            demo_on_start: config.demo_on_start,
            grace: config.shutdown_grace,
            subscribe_only: config.publish_keys.is_empty() && !config.subscribe_keys.is_empty(),
        })
    }

    /// The node (tests read its metrics, connections and positions).
    pub fn node(&self) -> Arc<Node> {
        self.node.clone()
    }

    /// Serves on `listener` until `shutdown` resolves, then drains within the grace period.
    ///
    /// # Errors
    /// Never after a successful start; the result is for symmetry with `build`.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), AppError> {
        let App {
            node,
            http,
            tls,
            tasks,
            demo_on_start,
            grace,
            subscribe_only,
        } = self;
        node.spawn_tasks(&tasks);
        if demo_on_start {
            node.switch_demo_on().await;
        }
        let stop_accepting = CancellationToken::new();
        let drain = CancellationToken::new();
        let connections = TaskTracker::new();
        tracing::info!(
            addr = %listener.local_addr()?,
            node = %node.settings().node_id,
            store = node.store_kind(),
            open = node.is_open(),
            tls = tls.is_some(),
            "ssehub listening"
        );
        if subscribe_only {
            tracing::warn!("subscribe keys but no publish keys: nobody can publish, issue client tokens or start the demo; add --publish-keys for your backends");
        }
        let accept = {
            let (node, stop, drain, connections) = (
                node.clone(),
                stop_accepting.clone(),
                drain.clone(),
                connections.clone(),
            );
            tokio::spawn(async move {
                server::accept_loop(listener, node, http, tls, stop, drain, &connections).await;
            })
        };
        shutdown.await;

        let deadline = tokio::time::Instant::now() + grace;
        tracing::info!(connections = node.connections(), "shutting down: draining");
        node.start_draining();
        stop_accepting.cancel();
        accept
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        node.close_all_streams();
        drain.cancel();
        connections.close();
        if tokio::time::timeout_at(deadline, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                open = connections.len(),
                "connections still open at the grace deadline; closing them"
            );
        }
        tasks.cancel.cancel();
        tasks.tracker.close();
        if tokio::time::timeout_at(deadline, tasks.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("background tasks did not finish within the grace period");
        }
        tracing::info!("shutdown complete");
        Ok(())
    }
}
