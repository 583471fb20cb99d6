//! Command line. Every run is bounded: counts and durations have hard upper limits here, and
//! each scenario stops by itself.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::target::Hub;

#[derive(Debug, Parser)]
#[command(
    name = "ssehub-loadtest",
    about = "Load and exactly-once checks against ssehub over loopback HTTP/SSE"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub scenario: Scenario,
}

#[derive(Debug, Args)]
pub struct Common {
    /// Hub base URL (loopback only); repeat for a cluster.
    #[arg(long = "hub", global = true, default_value = "http://127.0.0.1:8080")]
    pub hubs: Vec<Hub>,
    /// Key with publish scope, sent as X-API-Key.
    #[arg(long, global = true, env = "SSEHUB_LOADTEST_PUBLISH_KEY")]
    pub publish_key: Option<String>,
    /// Key with subscribe scope, sent as X-API-Key (defaults to the publish key).
    #[arg(long, global = true, env = "SSEHUB_LOADTEST_SUBSCRIBE_KEY")]
    pub subscribe_key: Option<String>,
    /// Hub process id, for RSS and CPU readings from /proc.
    #[arg(long, global = true)]
    pub hub_pid: Option<u32>,
    /// Write the JSON report here.
    #[arg(long, global = true)]
    pub json: Option<PathBuf>,
    /// Event type used for harness events.
    #[arg(long, global = true, default_value = "load")]
    pub event_type: String,
    /// PEM file of the certificate(s) to trust for https:// hubs: the hub's self-signed
    /// certificate or the CA that issued it.
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the certificate of https:// hubs (loopback only; the report says so).
    #[arg(long, global = true, conflicts_with = "ca_cert")]
    pub insecure: bool,
    /// HTTP version spoken to every hub. Over TLS, ALPN offers only this one; `h2` over
    /// http:// is HTTP/2 with prior knowledge (h2c).
    #[arg(long = "http", global = true, value_enum, default_value_t = HttpVersion::Http1)]
    pub http: HttpVersion,
    /// With `--http h2`: TCP connections per hub that density connections and fan-out
    /// subscribers are multiplexed over as streams (default: one per 100 streams).
    #[arg(long, global = true, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub h2_connections: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HttpVersion {
    /// HTTP/1.1: one connection per subscriber (ALPN `http/1.1` over TLS).
    #[value(name = "http1")]
    Http1,
    /// HTTP/2: subscribers are streams on shared connections (ALPN `h2`, or h2c).
    #[value(name = "h2")]
    H2,
}

#[derive(Debug, Subcommand)]
pub enum Scenario {
    /// Hold N idle SSE connections; report hub RSS and kernel TCP memory per connection.
    Density(DensityArgs),
    /// S subscribers, P publishers: exactly-once, order, throughput and latency.
    Fanout(FanoutArgs),
    /// Fan-out with X% of subscribers dropped and resumed with Last-Event-ID.
    Replay(ReplayArgs),
    /// Fan-out spread over several hubs (repeat --hub); all nodes must agree on one order.
    Cluster(ReplayArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DensityArgs {
    /// Idle connections to open.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub connections: u32,
    /// Connections per source address (127.0.0.2, .3, ...); at most the ports below the
    /// kernel's ephemeral range.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub per_source: u32,
    /// Connection attempts in flight at once. Kept below the hub's listen backlog (128 with
    /// a default `listen()`): overflowing it drops SYNs, which cost a 1 s retransmit each.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connect_concurrency: u32,
    /// Seconds to hold all connections before measuring and publishing the final event.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub hold_secs: u64,
    /// Upper bound on the connect phase.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub connect_timeout_secs: u64,
    /// Seconds to wait for the final event to reach every connection.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub deliver_timeout_secs: u64,
}

#[derive(Debug, Clone, Args)]
pub struct FanoutArgs {
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=500_000))]
    pub subscribers: u32,
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub publishers: u32,
    /// Total publish rate in events/s over all publishers; 0 = as fast as acks return.
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    /// Seconds of publishing.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration_secs: u64,
    /// Seconds to wait after the last publish for deliveries to complete.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub drain_secs: u64,
    /// Subscriber connection attempts in flight at once (see `density --connect-concurrency`).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connect_concurrency: u32,
    /// Subscribers per source address (127.0.0.2, ...).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub per_source: u32,
    /// Publish through `POST /api/sse/batch`, N events per request (`--rate` still counts
    /// events); the sequences of one batch must be consecutive and in order.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub batch: Option<u32>,
    /// Give every event a client-chosen UUID `messageId`; the answer and the delivered event
    /// must carry it.
    #[arg(long)]
    pub message_id: bool,
    /// With `--message-id`: send every K-th publish request again with the same messageIds;
    /// the answer must be the original one and the events are delivered once.
    #[arg(long, requires = "message_id", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub retry_every: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub fanout: FanoutArgs,
    /// Percentage of subscribers to drop and resume (0 disables).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub drop_percent: u8,
    /// When to drop them, as a fraction of the publish duration.
    #[arg(long, default_value_t = 0.4)]
    pub drop_at: f64,
    /// How long a dropped subscriber stays away before resuming.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub pause_ms: u64,
    /// Stall instead: those subscribers stop reading for --pause-ms but keep the socket (a
    /// slow consumer); the hub may close them, and they then resume with Last-Event-ID.
    #[arg(long)]
    pub stall: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("ssehub-loadtest").chain(args.iter().copied()))
    }

    #[test]
    fn transport_flags_are_global() {
        let cli = parse(&[
            "fanout",
            "--hub",
            "https://127.0.0.1:8443",
            "--ca-cert",
            "ca.pem",
            "--http",
            "h2",
            "--h2-connections",
            "10",
        ])
        .unwrap();
        assert_eq!(cli.common.http, HttpVersion::H2);
        assert_eq!(cli.common.h2_connections, Some(10));
        assert_eq!(cli.common.ca_cert, Some(PathBuf::from("ca.pem")));
        assert!(parse(&["--ca-cert", "a.pem", "--insecure", "density"]).is_err());
        assert!(parse(&["--http", "h3", "density"]).is_err());
    }

    #[test]
    fn publish_modes() {
        let cli = parse(&[
            "replay",
            "--batch",
            "10",
            "--message-id",
            "--retry-every",
            "3",
        ])
        .unwrap();
        let Scenario::Replay(args) = cli.scenario else {
            panic!("replay expected")
        };
        assert_eq!(args.fanout.batch, Some(10));
        assert!(args.fanout.message_id);
        assert_eq!(args.fanout.retry_every, Some(3));
        assert!(parse(&["fanout", "--retry-every", "3"]).is_err());
        assert!(parse(&["fanout", "--batch", "0"]).is_err());
    }
}
