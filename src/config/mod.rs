//! Every setting in one place: a CLI flag, an env var (`SSEHUB_` + the flag in upper snake
//! case) and a named default, with its range on the flag itself, parsed once into its typed
//! value ([`parse`]). [`Config::validate`] checks only rules across settings. Each component
//! gets its own settings from here ([`Config::node`], [`Config::http`], ...), so adding a flag
//! touches this file, README's table (a test compares it with `--help`) and the code that
//! uses it.

pub mod parse;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::auth::jwt::JwtSettings;
use crate::dispatch::DispatchConfig;
use crate::http::jwks::JwksSource;
use crate::http::tls::TlsSettings;
use crate::http::HttpSettings;
use crate::node::NodeSettings;
use crate::outbox::mongo::{MongoOptions, WriteAcknowledgment};
use crate::outbox::Retention;

/// `--listen`: loopback by default, so a bare `ssehub` is never an open hub on a network.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// `--max-body-bytes`: publish bodies are small JSON documents.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// `--tail-capacity`: frames kept in memory; older positions replay from the store.
pub const DEFAULT_TAIL_CAPACITY: usize = 65_536;
/// `--tail-max-bytes`: a few huge events must not hold the ring's worth of memory; 256 MiB
/// keeps 65,536 typical (~1 KiB) frames and bounds 16 MiB events to a handful.
pub const DEFAULT_TAIL_MAX_BYTES: usize = 256 << 20;
/// `--max-filter-types`: bounds the registry's per-connection index entries.
pub const DEFAULT_MAX_FILTER_TYPES: usize = 32;
/// `--max-topic-selectors`: bounds the registry's topic index entries per stream and the work
/// of each delivery decision.
pub const DEFAULT_MAX_TOPIC_SELECTORS: usize = 32;
/// `--max-connections`: SSE streams per node; past it clients are told to retry elsewhere.
pub const DEFAULT_MAX_CONNECTIONS: usize = 250_000;
/// `--max-connections-per-client`: tabs of one client id; more is a loop or an abuse.
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: usize = 32;
/// `--max-inflight-requests`: see the flag.
pub const DEFAULT_MAX_INFLIGHT_REQUESTS: usize = 1024;
/// `--max-header-bytes`: request line plus headers; hyper's floor is 8 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
/// `--max-batch-events`: a batch is one group commit, so this bounds one store transaction.
pub const DEFAULT_MAX_BATCH_EVENTS: usize = 1000;
/// `--dedupe-window-secs`: longer than any sane client's retry horizon (timeouts plus backoff).
pub const DEFAULT_DEDUPE_WINDOW_SECS: &str = "300";
/// `--h2-max-concurrent-streams`: a browser multiplexes every tab's streams and requests over
/// one HTTP/2 connection per origin, so the cap must leave room for many tabs; each open stream
/// costs the hub a few KiB (docs/PERFORMANCE.md).
pub const DEFAULT_H2_MAX_CONCURRENT_STREAMS: usize = 256;
/// Events per dispatcher read.
const DISPATCH_BATCH: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    Embedded,
    Memory,
    Mongodb,
}

/// The `ssehub` command line.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "ssehub",
    version,
    about = "A Server-Sent Events hub",
    after_help = "Environment: every flag also reads the env var shown with it. SSEHUB_LOG sets \
                  the log filter (tracing EnvFilter syntax, e.g. `ssehub=debug`; default `info`)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Probe `/health/live` of the hub at `--listen`; exit 0 when it answers 200 (for images
    /// without curl).
    Healthcheck,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on (`host:port`; a host name resolves once at start).
    #[arg(value_name = "ADDR", long, env = "SSEHUB_LISTEN", default_value = DEFAULT_LISTEN, value_parser = parse::listen_addr, global = true)]
    pub listen: SocketAddr,
    /// Directory of the embedded store.
    #[arg(
        value_name = "DIR",
        long,
        env = "SSEHUB_DATA_DIR",
        default_value = "./data"
    )]
    pub data_dir: PathBuf,
    /// Outbox backend [default: embedded, or mongodb when a MongoDB URI is set].
    #[arg(long, env = "SSEHUB_STORE", value_enum)]
    pub store: Option<StoreKind>,
    /// MongoDB connection string (several nodes share one outbox).
    #[arg(value_name = "URI", long, env = "MONGODB_URI", hide_env_values = true)]
    pub mongodb_uri: Option<String>,
    /// MongoDB database name.
    #[arg(
        value_name = "NAME",
        long,
        env = "SSEHUB_MONGODB_DATABASE",
        default_value = "ssehub"
    )]
    pub mongodb_database: String,
    /// MongoDB write concern for publishes: `majority` or a number of members (≥ 1).
    #[arg(value_name = "W", long, env = "SSEHUB_WRITE_CONCERN", default_value = "majority", value_parser = parse::write_concern)]
    pub write_concern: WriteAcknowledgment,
    /// Keys with publish scope (every endpoint), comma separated.
    #[arg(value_name = "KEYS", long, env = "SSEHUB_PUBLISH_KEYS", value_delimiter = ',', value_parser = parse::key, hide_env_values = true)]
    pub publish_keys: Vec<String>,
    /// Keys with subscribe scope (connect, ack, stats, demo status), comma separated.
    #[arg(value_name = "KEYS", long, env = "SSEHUB_SUBSCRIBE_KEYS", value_delimiter = ',', value_parser = parse::key, hide_env_values = true)]
    pub subscribe_keys: Vec<String>,
    // Below common proxy idle timeouts (60 s) with margin.
    /// Seconds between `: ping` comments on idle streams [1–3600].
    #[arg(value_name = "SECS", long = "heartbeat-secs", env = "SSEHUB_HEARTBEAT_SECS", default_value = "15", value_parser = parse::seconds(1..=3600))]
    pub heartbeat: Duration,
    // The EventSource reconnect delay, sent once per stream.
    /// Reconnect delay (`retry:`) sent to clients, in milliseconds [100–3600000].
    #[arg(value_name = "MS", long = "retry-ms", env = "SSEHUB_RETRY_MS", default_value = "3000", value_parser = parse::millis(100..=3_600_000))]
    pub retry: Duration,
    /// Keep at most this many events [unset: no count limit].
    #[arg(value_name = "N", long, env = "SSEHUB_RETENTION_MAX_EVENTS")]
    pub retention_max_events: Option<u64>,
    /// Keep events at most this many seconds [≥ 1; unset: no age limit].
    #[arg(value_name = "SECS", long = "retention-max-age-secs", env = "SSEHUB_RETENTION_MAX_AGE_SECS", value_parser = parse::seconds_from(1))]
    pub retention_max_age: Option<Duration>,
    /// Largest accepted request body, in bytes [64–16777216].
    #[arg(value_name = "BYTES", long, env = "SSEHUB_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES, value_parser = parse::usize_in(64..=16 << 20))]
    pub max_body_bytes: usize,
    /// Origins allowed by CORS, comma separated (`*` for any).
    #[arg(
        value_name = "ORIGINS",
        long,
        env = "SSEHUB_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// Directory of the SPA, served at `/` with fallback to `index.html`.
    #[arg(value_name = "DIR", long, env = "SSEHUB_STATIC_DIR", value_parser = parse::directory)]
    pub static_dir: Option<PathBuf>,
    /// This node's name [default: the host name].
    #[arg(value_name = "NAME", long, env = "SSEHUB_NODE_ID")]
    pub node_id: Option<String>,
    // Shorter than Kubernetes' default 30 s termination grace.
    /// Seconds to drain on SIGTERM/SIGINT before exiting anyway [0–3600].
    #[arg(value_name = "SECS", long = "shutdown-grace-secs", env = "SSEHUB_SHUTDOWN_GRACE_SECS", default_value = "10", value_parser = parse::seconds(0..=3600))]
    pub shutdown_grace: Duration,
    /// Frames kept in the in-memory tail ring [16–16777216].
    #[arg(value_name = "FRAMES", long, env = "SSEHUB_TAIL_CAPACITY", default_value_t = DEFAULT_TAIL_CAPACITY, value_parser = parse::usize_in(16..=16 << 20))]
    pub tail_capacity: usize,
    /// Most bytes of encoded frames kept in the tail ring [1048576–68719476736]; older
    /// positions replay from the store.
    #[arg(value_name = "BYTES", long, env = "SSEHUB_TAIL_MAX_BYTES", default_value_t = DEFAULT_TAIL_MAX_BYTES, value_parser = parse::usize_in(1 << 20..=1 << 36))]
    pub tail_max_bytes: usize,
    /// Most event types one `filter=` may name [1–1024].
    #[arg(value_name = "N", long, env = "SSEHUB_MAX_FILTER_TYPES", default_value_t = DEFAULT_MAX_FILTER_TYPES, value_parser = parse::usize_in(1..=1024))]
    pub max_filter_types: usize,
    /// Most `topic=` selectors one stream or history read may ask for [1–1024].
    #[arg(value_name = "N", long, env = "SSEHUB_MAX_TOPIC_SELECTORS", default_value_t = DEFAULT_MAX_TOPIC_SELECTORS, value_parser = parse::usize_in(1..=1024))]
    pub max_topic_selectors: usize,
    // How soon a node sees events published on other nodes.
    /// Milliseconds between outbox polls for other nodes' events [1–60000].
    #[arg(value_name = "MS", long = "poll-interval-ms", env = "SSEHUB_POLL_INTERVAL_MS", default_value = "20", value_parser = parse::millis(1..=60_000))]
    pub poll_interval: Duration,
    // Well above the worst publish latency of a healthy store (MongoDB operations time out at 10 s).
    /// Milliseconds a missing sequence number may hold dispatch before it is skipped [10–3600000].
    #[arg(value_name = "MS", long = "gap-timeout-ms", env = "SSEHUB_GAP_TIMEOUT_MS", default_value = "10000", value_parser = parse::millis(10..=3_600_000))]
    pub gap_timeout: Duration,
    /// Most concurrent SSE streams on this node (over it: 503 with Retry-After) [≥ 1].
    #[arg(value_name = "N", long, env = "SSEHUB_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = parse::at_least(1))]
    pub max_connections: usize,
    /// Most events in one `POST /api/sse/batch` [1–10000].
    #[arg(value_name = "N", long, env = "SSEHUB_MAX_BATCH_EVENTS", default_value_t = DEFAULT_MAX_BATCH_EVENTS, value_parser = parse::usize_in(1..=10_000))]
    pub max_batch_events: usize,
    /// Seconds a publisher-chosen `messageId` is remembered: a retry within it answers the
    /// original instead of publishing again [1–604800].
    #[arg(value_name = "SECS", long = "dedupe-window-secs", env = "SSEHUB_DEDUPE_WINDOW_SECS", default_value = DEFAULT_DEDUPE_WINDOW_SECS, value_parser = parse::seconds(1..=604_800))]
    pub dedupe_window: Duration,
    /// Most concurrent streams of one client id (over it: 429) [≥ 1].
    #[arg(value_name = "N", long, env = "SSEHUB_MAX_CONNECTIONS_PER_CLIENT", default_value_t = DEFAULT_MAX_CONNECTIONS_PER_CLIENT, value_parser = parse::at_least(1))]
    pub max_connections_per_client: usize,
    /// End streams after this many seconds (minus up to 20 % jitter) so clients resume
    /// elsewhere [0 = off].
    #[arg(value_name = "SECS", long = "max-stream-lifetime-secs", env = "SSEHUB_MAX_STREAM_LIFETIME_SECS", default_value = "0", value_parser = parse::seconds_from(0))]
    pub max_stream_lifetime: Duration,
    // Slowloris: a head must arrive within this.
    /// Seconds a client may take to send a request head [1–600].
    #[arg(value_name = "SECS", long = "header-read-timeout-secs", env = "SSEHUB_HEADER_READ_TIMEOUT_SECS", default_value = "10", value_parser = parse::seconds(1..=600))]
    pub header_read_timeout: Duration,
    /// Largest request line plus headers, in bytes [8192–1048576].
    #[arg(value_name = "BYTES", long, env = "SSEHUB_MAX_HEADER_BYTES", default_value_t = DEFAULT_MAX_HEADER_BYTES, value_parser = parse::usize_in(8192..=1 << 20))]
    pub max_header_bytes: usize,
    // A reader that stopped reading holds memory; it resumes losslessly after the close.
    /// Seconds a request body may take to arrive in full [1–600]; slower is 408.
    // A half-sent body holds memory and a request slot; a real client sends it at once.
    #[arg(value_name = "SECS", long = "body-read-timeout-secs", env = "SSEHUB_BODY_READ_TIMEOUT_SECS", default_value = "10", value_parser = parse::seconds(1..=600))]
    pub body_read_timeout: Duration,
    /// Most `POST` requests handled at once (bodies still arriving included); over it 503
    /// `overloaded` [≥ 1].
    // Bounds what slow or half-sent requests can hold: 1024 × the 64 KiB body limit is 64 MiB.
    #[arg(value_name = "N", long, env = "SSEHUB_MAX_INFLIGHT_REQUESTS", default_value_t = DEFAULT_MAX_INFLIGHT_REQUESTS, value_parser = parse::at_least(1))]
    pub max_inflight_requests: usize,
    /// Close a connection whose socket accepted no bytes for this many seconds [1–3600].
    #[arg(value_name = "SECS", long = "write-stall-secs", env = "SSEHUB_WRITE_STALL_SECS", default_value = "30", value_parser = parse::seconds(1..=3600))]
    pub write_stall: Duration,
    /// PEM certificate chain: serve HTTPS (ALPN h2 and http/1.1) on --listen; needs
    /// --tls-key. Re-read on SIGHUP and when the file changes.
    #[arg(value_name = "FILE", long, env = "SSEHUB_TLS_CERT", global = true)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(value_name = "FILE", long, env = "SSEHUB_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    // A handshake holds a socket and rustls state; a peer that never finishes it is a slowloris.
    /// Seconds a client may take to complete the TLS handshake [1–600].
    #[arg(value_name = "SECS", long = "tls-handshake-timeout-secs", env = "SSEHUB_TLS_HANDSHAKE_TIMEOUT_SECS", default_value = "10", value_parser = parse::seconds(1..=600))]
    pub tls_handshake_timeout: Duration,
    /// Most concurrent streams (requests) on one HTTP/2 connection [1–65536].
    #[arg(value_name = "N", long, env = "SSEHUB_H2_MAX_CONCURRENT_STREAMS", default_value_t = DEFAULT_H2_MAX_CONCURRENT_STREAMS, value_parser = parse::usize_in(1..=65_536))]
    pub h2_max_concurrent_streams: usize,
    /// Secret that signs client tokens (share it across nodes) [≥ 16 bytes; default: random
    /// per process].
    #[arg(value_name = "SECRET", long, env = "SSEHUB_TOKEN_SECRET", hide_env_values = true, value_parser = parse::token_secret)]
    pub token_secret: Option<String>,
    /// Secret that verifies HS256 JWTs [≥ 32 bytes].
    #[arg(value_name = "SECRET", long, env = "SSEHUB_JWT_SECRET", hide_env_values = true, value_parser = parse::jwt_secret)]
    pub jwt_secret: Option<String>,
    /// PEM public key that verifies JWTs: RSA (RS256), EC P-256 (ES256) or Ed25519 (EdDSA).
    #[arg(value_name = "FILE", long, env = "SSEHUB_JWT_PUBLIC_KEY", value_parser = parse::file)]
    pub jwt_public_key: Option<PathBuf>,
    /// JWKS file whose keys verify JWTs (re-read every --jwks-refresh-secs and on an unknown kid).
    #[arg(value_name = "FILE", long, env = "SSEHUB_JWKS_FILE", value_parser = parse::file)]
    pub jwks_file: Option<PathBuf>,
    /// JWKS URL (http://) whose keys verify JWTs, fetched every --jwks-refresh-secs and on an
    /// unknown kid.
    #[arg(value_name = "URL", long, env = "SSEHUB_JWKS_URL", value_parser = parse::jwks_url)]
    pub jwks_url: Option<http::Uri>,
    /// Seconds between JWKS refreshes [1–86400].
    #[arg(value_name = "SECS", long = "jwks-refresh-secs", env = "SSEHUB_JWKS_REFRESH_SECS", default_value = "300", value_parser = parse::seconds(1..=86_400))]
    pub jwks_refresh: Duration,
    /// Required `iss` of JWTs [unset: not checked].
    #[arg(value_name = "ISSUER", long, env = "SSEHUB_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` of JWTs [unset: not checked].
    #[arg(value_name = "AUDIENCE", long, env = "SSEHUB_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Clock skew allowed on a JWT's `exp` and `nbf`, in seconds [0–300].
    #[arg(value_name = "SECS", long = "jwt-leeway-secs", env = "SSEHUB_JWT_LEEWAY_SECS", default_value = "30", value_parser = parse::seconds(0..=300))]
    pub jwt_leeway: Duration,
    /// Cookie a JWT may arrive in (EventSource sends cookies, not headers).
    #[arg(value_name = "NAME", long, env = "SSEHUB_JWT_COOKIE", default_value = "ssehub_jwt", value_parser = parse::cookie_name)]
    pub jwt_cookie: String,
    /// A subscribe key alone may not name a clientId: only a client token binds one.
    #[arg(long, env = "SSEHUB_REQUIRE_CLIENT_TOKENS")]
    pub require_client_tokens: bool,
    /// Switch the demo generator on at start (as `POST /api/demo/start` would).
    #[arg(long, env = "SSEHUB_DEMO_ON_START")]
    pub demo_on_start: bool,
}

/// Why the configuration was refused; printed before exit code 64.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no --publish-keys, --subscribe-keys or JWT keys are set, so the hub would be open to anyone; it only runs open on a loopback address, not on {0}. Set keys, or listen on 127.0.0.1")]
    OpenOnNetwork(SocketAddr),
    #[error("--store mongodb needs --mongodb-uri (or MONGODB_URI)")]
    MongoWithoutUri,
    #[error("--store {0} conflicts with --mongodb-uri (or MONGODB_URI): choose one store")]
    StoreConflict(&'static str),
    #[error("{0} is set without {1}: TLS needs both a certificate and its key")]
    TlsHalfConfigured(&'static str, &'static str),
    #[error("--jwks-file and --jwks-url are both set: choose one key set to keep fresh")]
    TwoJwks,
}

/// Where JWT verification keys come from (any combination of a secret, a PEM key and one
/// JWKS).
#[derive(Debug, Clone, Default)]
pub struct JwtConfig {
    pub secret: Option<String>,
    pub public_key: Option<PathBuf>,
    pub jwks: Option<JwksSource>,
    pub refresh: Duration,
    pub settings: JwtSettings,
}

impl JwtConfig {
    /// Whether any JWT key is configured.
    pub fn enabled(&self) -> bool {
        self.secret.is_some() || self.public_key.is_some() || self.jwks.is_some()
    }
}

/// Which backend to open, with what it needs.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    Embedded(PathBuf),
    Memory,
    Mongodb {
        uri: String,
        database: String,
        options: MongoOptions,
    },
}

impl Config {
    /// Defaults for every setting (what `ssehub` with no flags and no env uses).
    pub fn defaults() -> Config {
        Cli::parse_from(["ssehub"]).config
    }

    /// The backend the settings select.
    pub fn store_kind(&self) -> StoreKind {
        match (self.store, &self.mongodb_uri) {
            (Some(kind), _) => kind,
            (None, Some(_)) => StoreKind::Mongodb,
            (None, None) => StoreKind::Embedded,
        }
    }

    pub fn store_choice(&self) -> StoreChoice {
        match self.store_kind() {
            StoreKind::Embedded => StoreChoice::Embedded(self.data_dir.clone()),
            StoreKind::Memory => StoreChoice::Memory,
            StoreKind::Mongodb => StoreChoice::Mongodb {
                uri: self.mongodb_uri.clone().unwrap_or_default(),
                database: self.mongodb_database.clone(),
                options: MongoOptions {
                    write_concern: self.write_concern,
                    ..MongoOptions::default()
                },
            },
        }
    }

    /// No keys and no JWT keys: every request has every scope.
    pub fn is_open(&self) -> bool {
        self.publish_keys.is_empty() && self.subscribe_keys.is_empty() && !self.jwt().enabled()
    }

    /// `--node-id`, else the host name (`$HOSTNAME`, else `/etc/hostname`), else `ssehub`.
    pub fn node_id(&self) -> String {
        self.node_id.clone().unwrap_or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .filter(|h| !h.is_empty())
                .or_else(|| {
                    std::fs::read_to_string("/etc/hostname")
                        .ok()
                        .map(|h| h.trim().to_owned())
                })
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "ssehub".to_owned())
        })
    }

    /// What the node's verbs and background tasks need.
    pub fn node(&self) -> NodeSettings {
        NodeSettings {
            node_id: self.node_id(),
            retry: self.retry,
            heartbeat: self.heartbeat,
            tail_capacity: self.tail_capacity,
            tail_max_bytes: self.tail_max_bytes,
            max_filter_types: self.max_filter_types,
            max_topic_selectors: self.max_topic_selectors,
            max_connections: self.max_connections,
            max_connections_per_client: self.max_connections_per_client,
            max_batch_events: self.max_batch_events,
            dedupe_window: self.dedupe_window,
            max_stream_lifetime: (!self.max_stream_lifetime.is_zero())
                .then_some(self.max_stream_lifetime),
            require_client_tokens: self.require_client_tokens,
            retention: Retention {
                max_events: self.retention_max_events,
                max_age: self.retention_max_age,
            },
            dispatch: DispatchConfig {
                batch: DISPATCH_BATCH,
                poll_interval: self.poll_interval,
                gap_timeout: self.gap_timeout,
            },
        }
    }

    /// What the HTTP adapters need.
    pub fn http(&self) -> HttpSettings {
        HttpSettings {
            max_body_bytes: self.max_body_bytes,
            cors_origins: self.cors_origins.clone(),
            jwt_cookie: self.jwt_cookie.clone(),
            static_dir: self.static_dir.clone(),
            header_read_timeout: self.header_read_timeout,
            max_header_bytes: self.max_header_bytes,
            write_stall: self.write_stall,
            body_read_timeout: self.body_read_timeout,
            max_inflight_requests: self.max_inflight_requests,
            tls: self.tls(),
            h2_max_concurrent_streams: u32::try_from(self.h2_max_concurrent_streams)
                .unwrap_or(u32::MAX),
        }
    }

    /// The TLS files and handshake deadline, when both files are set.
    pub fn tls(&self) -> Option<TlsSettings> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsSettings {
                cert: cert.clone(),
                key: key.clone(),
                handshake_timeout: self.tls_handshake_timeout,
            }),
            _ => None,
        }
    }

    /// Where JWT keys come from, and the claim checks.
    pub fn jwt(&self) -> JwtConfig {
        JwtConfig {
            secret: self.jwt_secret.clone(),
            public_key: self.jwt_public_key.clone(),
            jwks: match (&self.jwks_file, &self.jwks_url) {
                (Some(file), _) => Some(JwksSource::File(file.clone())),
                (None, Some(url)) => Some(JwksSource::Url(url.clone())),
                (None, None) => None,
            },
            refresh: self.jwks_refresh,
            settings: JwtSettings {
                issuer: self.jwt_issuer.clone(),
                audience: self.jwt_audience.clone(),
                leeway: self.jwt_leeway,
            },
        }
    }

    /// The rules across settings (each value was checked when it was parsed).
    ///
    /// # Errors
    /// The first problem found, in words an operator can act on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.is_open() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::OpenOnNetwork(self.listen));
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => {
                return Err(ConfigError::TlsHalfConfigured("--tls-cert", "--tls-key"))
            }
            (None, Some(_)) => {
                return Err(ConfigError::TlsHalfConfigured("--tls-key", "--tls-cert"))
            }
            _ => {}
        }
        if self.jwks_file.is_some() && self.jwks_url.is_some() {
            return Err(ConfigError::TwoJwks);
        }
        match (self.store, &self.mongodb_uri) {
            (Some(StoreKind::Mongodb), None) => Err(ConfigError::MongoWithoutUri),
            (Some(StoreKind::Embedded), Some(_)) => Err(ConfigError::StoreConflict("embedded")),
            (Some(StoreKind::Memory), Some(_)) => Err(ConfigError::StoreConflict("memory")),
            _ => Ok(()),
        }
    }
}
