//! Every setting: a CLI flag, an env var (`SSEHUB_` + the flag in upper snake case) and a
//! named default, validated once at start. `Config` is plain data, so tests build it directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// `--listen`: loopback by default, so a bare `ssehub` is never an open hub on a network.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// `--heartbeat-secs`: below common proxy idle timeouts (60 s) with margin.
pub const DEFAULT_HEARTBEAT_SECS: u64 = 15;
/// `--retry-ms`: the EventSource reconnect delay sent once per stream.
pub const DEFAULT_RETRY_MS: u64 = 3000;
/// `--max-body-bytes`: publish bodies are small JSON documents.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// `--shutdown-grace-secs`: shorter than Kubernetes' default 30 s termination grace.
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 10;
/// `--tail-capacity`: frames kept in memory; older positions replay from the store.
pub const DEFAULT_TAIL_CAPACITY: usize = 65_536;
/// `--max-filter-types`: bounds the registry's per-connection index entries.
pub const DEFAULT_MAX_FILTER_TYPES: usize = 32;
/// `--poll-interval-ms`: how soon a node sees events published on other nodes.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 20;
/// `--gap-timeout-ms`: well above the worst publish latency of a healthy store.
pub const DEFAULT_GAP_TIMEOUT_MS: u64 = 10_000;
/// `--max-connections`: SSE streams per node; past it clients are told to retry elsewhere.
pub const DEFAULT_MAX_CONNECTIONS: usize = 250_000;
/// `--max-connections-per-client`: tabs of one client id; more is a loop or an abuse.
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: usize = 32;
/// `--header-read-timeout-secs`: a request head must arrive within this (slowloris).
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// `--max-header-bytes`: request line plus headers; hyper's floor is 8 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
/// `--write-stall-secs`: a socket that accepts no bytes for this long is closed.
pub const DEFAULT_WRITE_STALL_SECS: u64 = 30;
/// `--token-ttl-max-secs` is not a flag: one week bounds how long a leaked token is useful.
pub const MAX_TOKEN_TTL_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    Embedded,
    Memory,
    Mongodb,
}

/// The `ssehub` command line.
#[derive(Debug, Clone, Parser)]
#[command(name = "ssehub", version, about = "A Server-Sent Events hub")]
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
    /// Address to listen on.
    #[arg(long, env = "SSEHUB_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Directory of the embedded store.
    #[arg(long, env = "SSEHUB_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Outbox backend; a MongoDB URI selects `mongodb`.
    #[arg(long, env = "SSEHUB_STORE", value_enum)]
    pub store: Option<StoreKind>,
    /// MongoDB connection string (several nodes share one outbox).
    #[arg(long, env = "MONGODB_URI")]
    pub mongodb_uri: Option<String>,
    /// MongoDB database name.
    #[arg(long, env = "SSEHUB_MONGODB_DATABASE", default_value = "ssehub")]
    pub mongodb_database: String,
    /// MongoDB write concern for publishes: `majority` or a number of members.
    #[arg(long, env = "SSEHUB_WRITE_CONCERN", default_value = "majority")]
    pub write_concern: String,
    /// Keys with publish scope (every endpoint), comma separated.
    #[arg(long, env = "SSEHUB_PUBLISH_KEYS", value_delimiter = ',')]
    pub publish_keys: Vec<String>,
    /// Keys with subscribe scope (connect, ack, stats, demo status), comma separated.
    #[arg(long, env = "SSEHUB_SUBSCRIBE_KEYS", value_delimiter = ',')]
    pub subscribe_keys: Vec<String>,
    /// Seconds between `: ping` comments on idle streams.
    #[arg(long, env = "SSEHUB_HEARTBEAT_SECS", default_value_t = DEFAULT_HEARTBEAT_SECS)]
    pub heartbeat_secs: u64,
    /// Reconnect delay (`retry:`) sent to clients.
    #[arg(long, env = "SSEHUB_RETRY_MS", default_value_t = DEFAULT_RETRY_MS)]
    pub retry_ms: u64,
    /// Keep at most this many events (unset: no count limit).
    #[arg(long, env = "SSEHUB_RETENTION_MAX_EVENTS")]
    pub retention_max_events: Option<u64>,
    /// Keep events at most this many seconds (unset: no age limit).
    #[arg(long, env = "SSEHUB_RETENTION_MAX_AGE_SECS")]
    pub retention_max_age_secs: Option<u64>,
    /// Largest accepted request body.
    #[arg(long, env = "SSEHUB_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Origins allowed by CORS, comma separated (`*` for any).
    #[arg(long, env = "SSEHUB_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Directory of the SPA, served at `/` with fallback to `index.html`.
    #[arg(long, env = "SSEHUB_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// This node's name (default: the host name).
    #[arg(long, env = "SSEHUB_NODE_ID")]
    pub node_id: Option<String>,
    /// Seconds to drain on SIGTERM/SIGINT before exiting anyway.
    #[arg(long, env = "SSEHUB_SHUTDOWN_GRACE_SECS", default_value_t = DEFAULT_SHUTDOWN_GRACE_SECS)]
    pub shutdown_grace_secs: u64,
    /// Frames kept in the in-memory tail ring.
    #[arg(long, env = "SSEHUB_TAIL_CAPACITY", default_value_t = DEFAULT_TAIL_CAPACITY)]
    pub tail_capacity: usize,
    /// Most event types one `filter=` may name.
    #[arg(long, env = "SSEHUB_MAX_FILTER_TYPES", default_value_t = DEFAULT_MAX_FILTER_TYPES)]
    pub max_filter_types: usize,
    /// Milliseconds between outbox polls for other nodes' events.
    #[arg(long, env = "SSEHUB_POLL_INTERVAL_MS", default_value_t = DEFAULT_POLL_INTERVAL_MS)]
    pub poll_interval_ms: u64,
    /// Most concurrent SSE streams on this node (over it: 503 with Retry-After).
    #[arg(long, env = "SSEHUB_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Most concurrent streams of one client id (over it: 429).
    #[arg(long, env = "SSEHUB_MAX_CONNECTIONS_PER_CLIENT", default_value_t = DEFAULT_MAX_CONNECTIONS_PER_CLIENT)]
    pub max_connections_per_client: usize,
    /// End streams after this many seconds (minus up to 20 % jitter) so clients resume
    /// elsewhere; 0 keeps them open.
    #[arg(long, env = "SSEHUB_MAX_STREAM_LIFETIME_SECS", default_value_t = 0)]
    pub max_stream_lifetime_secs: u64,
    /// Seconds a client may take to send a request head.
    #[arg(long, env = "SSEHUB_HEADER_READ_TIMEOUT_SECS", default_value_t = DEFAULT_HEADER_READ_TIMEOUT_SECS)]
    pub header_read_timeout_secs: u64,
    /// Largest request line plus headers, in bytes.
    #[arg(long, env = "SSEHUB_MAX_HEADER_BYTES", default_value_t = DEFAULT_MAX_HEADER_BYTES)]
    pub max_header_bytes: usize,
    /// Close a connection whose socket accepted no bytes for this many seconds.
    #[arg(long, env = "SSEHUB_WRITE_STALL_SECS", default_value_t = DEFAULT_WRITE_STALL_SECS)]
    pub write_stall_secs: u64,
    /// Secret that signs client tokens (share it across nodes); random per process if unset.
    #[arg(long, env = "SSEHUB_TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<String>,
    /// A subscribe key alone may not name a clientId: only a client token binds one.
    #[arg(long, env = "SSEHUB_REQUIRE_CLIENT_TOKENS")]
    pub require_client_tokens: bool,
    /// Switch the demo generator on at start (as `POST /api/demo/start` would).
    #[arg(long, env = "SSEHUB_DEMO_ON_START")]
    pub demo_on_start: bool,
    /// Milliseconds a missing sequence number may hold dispatch before it is skipped.
    #[arg(long, env = "SSEHUB_GAP_TIMEOUT_MS", default_value_t = DEFAULT_GAP_TIMEOUT_MS)]
    pub gap_timeout_ms: u64,
}

/// Why the configuration was refused; printed before exit code 64.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no --publish-keys or --subscribe-keys are set, so the hub would be open to anyone; it only runs open on a loopback address, not on {0}. Set keys, or listen on 127.0.0.1")]
    OpenOnNetwork(SocketAddr),
    #[error("--{flag} must be {rule}")]
    OutOfRange {
        flag: &'static str,
        rule: &'static str,
    },
    #[error("--store mongodb needs --mongodb-uri (or MONGODB_URI)")]
    MongoWithoutUri,
    #[error("--{flag}: key {index} is empty or has surrounding spaces")]
    BadKey { flag: &'static str, index: usize },
    #[error("--static-dir {0} is not a directory")]
    StaticDir(PathBuf),
    #[error("--write-concern must be `majority` or a number of members from 1, not {0:?}")]
    WriteConcern(String),
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

    pub fn is_open(&self) -> bool {
        self.publish_keys.is_empty() && self.subscribe_keys.is_empty()
    }

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

    pub fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// Checks everything that can be checked before binding.
    ///
    /// # Errors
    /// The first problem found, in words an operator can act on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.is_open() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::OpenOnNetwork(self.listen));
        }
        let ranges: [(&'static str, bool, &'static str); 12] = [
            ("max-connections", self.max_connections >= 1, "at least 1"),
            (
                "max-connections-per-client",
                self.max_connections_per_client >= 1,
                "at least 1",
            ),
            (
                "header-read-timeout-secs",
                (1..=600).contains(&self.header_read_timeout_secs),
                "between 1 and 600",
            ),
            (
                "max-header-bytes",
                (8192..=1 << 20).contains(&self.max_header_bytes),
                "between 8192 and 1048576",
            ),
            (
                "write-stall-secs",
                (1..=3600).contains(&self.write_stall_secs),
                "between 1 and 3600",
            ),
            (
                "heartbeat-secs",
                (1..=3600).contains(&self.heartbeat_secs),
                "between 1 and 3600",
            ),
            (
                "retry-ms",
                (100..=3_600_000).contains(&self.retry_ms),
                "between 100 and 3600000",
            ),
            (
                "max-body-bytes",
                (64..=16 << 20).contains(&self.max_body_bytes),
                "between 64 and 16777216",
            ),
            (
                "tail-capacity",
                (16..=16 << 20).contains(&self.tail_capacity),
                "between 16 and 16777216",
            ),
            (
                "max-filter-types",
                (1..=1024).contains(&self.max_filter_types),
                "between 1 and 1024",
            ),
            (
                "poll-interval-ms",
                (1..=60_000).contains(&self.poll_interval_ms),
                "between 1 and 60000",
            ),
            (
                "shutdown-grace-secs",
                self.shutdown_grace_secs <= 3600,
                "at most 3600",
            ),
        ];
        if let Some((flag, _, rule)) = ranges.into_iter().find(|(_, ok, _)| !ok) {
            return Err(ConfigError::OutOfRange { flag, rule });
        }
        if self.gap_timeout_ms < 10 {
            return Err(ConfigError::OutOfRange {
                flag: "gap-timeout-ms",
                rule: "at least 10",
            });
        }
        if self.retention_max_age_secs == Some(0) {
            return Err(ConfigError::OutOfRange {
                flag: "retention-max-age-secs",
                rule: "at least 1 when set",
            });
        }
        for (flag, keys) in [
            ("publish-keys", &self.publish_keys),
            ("subscribe-keys", &self.subscribe_keys),
        ] {
            if let Some(index) = keys.iter().position(|k| k.is_empty() || k.trim() != k) {
                return Err(ConfigError::BadKey { flag, index });
            }
        }
        if self.store_kind() == StoreKind::Mongodb && self.mongodb_uri.is_none() {
            return Err(ConfigError::MongoWithoutUri);
        }
        if let Some(dir) = &self.static_dir {
            if !dir.is_dir() {
                return Err(ConfigError::StaticDir(dir.clone()));
            }
        }
        if self.token_secret.as_deref().is_some_and(|s| s.len() < 16) {
            return Err(ConfigError::OutOfRange {
                flag: "token-secret",
                rule: "at least 16 bytes long",
            });
        }
        if self.write_concern != "majority"
            && !self.write_concern.parse::<u32>().is_ok_and(|n| n >= 1)
        {
            return Err(ConfigError::WriteConcern(self.write_concern.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Config {
        let mut all = vec!["ssehub"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap().config
    }

    #[test]
    fn defaults_are_an_open_loopback_embedded_hub() {
        let config = Config::defaults();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.store_kind(), StoreKind::Embedded);
        assert!(config.is_open());
        config.validate().unwrap();
    }

    #[test]
    fn open_mode_is_refused_off_loopback() {
        let config = parse(&["--listen", "0.0.0.0:8080"]);
        assert!(matches!(
            config.validate(),
            Err(ConfigError::OpenOnNetwork(_))
        ));
        let keyed = parse(&["--listen", "0.0.0.0:8080", "--publish-keys", "a,b"]);
        assert_eq!(keyed.publish_keys, vec!["a", "b"]);
        keyed.validate().unwrap();
    }

    #[test]
    fn a_mongodb_uri_selects_the_mongodb_store() {
        let config = parse(&["--mongodb-uri", "mongodb://127.0.0.1:1/"]);
        assert_eq!(config.store_kind(), StoreKind::Mongodb);
        let forced = parse(&["--store", "mongodb"]);
        assert!(matches!(
            forced.validate(),
            Err(ConfigError::MongoWithoutUri)
        ));
    }

    #[test]
    fn out_of_range_values_name_their_flag() {
        let error = parse(&["--heartbeat-secs", "0"]).validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "--heartbeat-secs must be between 1 and 3600"
        );
        assert!(parse(&["--publish-keys", "a,,b"]).validate().is_err());
        assert!(parse(&["--write-concern", "most"]).validate().is_err());
    }
}
