//! Prometheus metrics (`ssehub_` prefix) and their text exposition, with the closed
//! vocabularies their labels use ([`CloseReason`], [`Limit`], [`Replay`], [`StoreOp`]): each an
//! enum with `as_str()`, so a label can only be one of the documented values.
//!
//! Hot paths touch plain atomics (counters and gauges without labels); labelled families are
//! for per-request and per-batch events only.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Lets a vocabulary be a Prometheus label value.
macro_rules! label_values {
    ($($name:ident),*) => {$(
        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                std::fmt::Write::write_str(encoder, self.as_str())
            }
        }
    )*};
}

label_values!(CloseReason, Limit, Replay, StoreOp);

vocabulary! {
    /// Why a stream ended (`ssehub_sse_disconnects_total{reason}`).
    CloseReason {
        /// The client went away (or its socket failed).
        Client => "client",
        /// The node is shutting down.
        Shutdown => "shutdown",
        /// The client token or JWT that opened it expired.
        TokenExpired => "token_expired",
        /// `--max-stream-lifetime-secs` passed.
        Lifetime => "lifetime",
        /// The socket accepted no bytes for `--write-stall-secs`.
        WriteStall => "write_stall",
        /// A catch-up read from the store failed; the client resumes from its position.
        StoreError => "store_error",
        /// The client kept writing into its stream past the allowance.
        ClientInput => "client_input",
    }
}

vocabulary! {
    /// Which limit refused a request (`ssehub_limit_rejections_total{limit}`).
    Limit {
        Connections => "connections",
        ConnectionsPerClient => "connections_per_client",
        FilterTypes => "filter_types",
        TopicSelectors => "topic_selectors",
        BodyBytes => "body_bytes",
        HeaderBytes => "header_bytes",
        HeaderReadTimeout => "header_read_timeout",
        BodyReadTimeout => "body_read_timeout",
        InflightRequests => "inflight_requests",
        /// A TLS handshake did not finish within `--tls-handshake-timeout-secs`.
        TlsHandshakeTimeout => "tls_handshake_timeout",
    }
}

vocabulary! {
    /// How a stream started (`ssehub_replays_total{outcome}`).
    Replay {
        Live => "live",
        Replayed => "replayed",
        Reset => "reset",
    }
}

vocabulary! {
    /// A store operation (`ssehub_store_operation_seconds{operation}`, `ssehub_store_errors_total`).
    StoreOp {
        Append => "append",
        ReadAfter => "read_after",
        Head => "head",
        Oldest => "oldest",
        Trim => "trim",
        ForgetMessageIds => "forget_message_ids",
        Probe => "probe",
        LoadCheckpoint => "load_checkpoint",
        SaveCheckpoints => "save_checkpoints",
        ReportNode => "report_node",
        Nodes => "nodes",
        ReportPresence => "report_presence",
        Presence => "presence",
        DemoState => "demo_state",
        SwapDemoState => "swap_demo_state",
        AcquireLease => "acquire_lease",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: CloseReason,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TypeLabel {
    pub event_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub outcome: Replay,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Operation {
    pub operation: StoreOp,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabel {
    pub limit: Limit,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 50 µs .. ~13 s
    Histogram::new(exponential_buckets(0.000_05, 2.0, 19))
}

pub struct Metrics {
    registry: Registry,
    pub connections_open: Gauge,
    pub connections_total: Counter,
    pub disconnects: Family<Reason, Counter>,
    pub events_published: Family<TypeLabel, Counter>,
    /// All of `events_published`, read for rates (`/api/sse/stats`).
    pub events_published_all: Counter,
    pub frames_delivered: Counter,
    pub bytes_written: Counter,
    pub replays: Family<Outcome, Counter>,
    pub dispatched_sequence: Gauge,
    pub dispatch_lag: Gauge,
    pub gaps_skipped: Counter,
    pub catch_up_resets: Counter,
    pub store_seconds: HistogramFamily<Operation>,
    pub store_errors: Family<Operation, Counter>,
    /// 1 while the store's last write and last read succeeded, else 0.
    pub store_available: Gauge,
    pub publish_seconds: Histogram,
    pub publish_batch_size: Histogram,
    pub limit_rejections: Family<LimitLabel, Counter>,
    /// A changed TLS certificate and key were loaded and now serve new handshakes.
    pub tls_reloads: Counter,
    /// A changed TLS certificate or key could not be used; the previous pair stays.
    pub tls_reload_failures: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ssehub");
        let metrics = Metrics {
            connections_open: Gauge::default(),
            connections_total: Counter::default(),
            disconnects: Family::default(),
            events_published: Family::default(),
            events_published_all: Counter::default(),
            frames_delivered: Counter::default(),
            bytes_written: Counter::default(),
            replays: Family::default(),
            dispatched_sequence: Gauge::default(),
            dispatch_lag: Gauge::default(),
            gaps_skipped: Counter::default(),
            catch_up_resets: Counter::default(),
            store_seconds: Family::new_with_constructor(latency_histogram),
            store_errors: Family::default(),
            store_available: Gauge::default(),
            publish_seconds: latency_histogram(),
            publish_batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            limit_rejections: Family::default(),
            tls_reloads: Counter::default(),
            tls_reload_failures: Counter::default(),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "sse_connections_open",
            "Open SSE streams",
            metrics.connections_open.clone(),
        );
        r.register(
            "sse_connections",
            "SSE streams opened",
            metrics.connections_total.clone(),
        );
        r.register(
            "sse_disconnects",
            "SSE streams closed, by reason",
            metrics.disconnects.clone(),
        );
        r.register(
            "events_published",
            "Events accepted into the outbox, by type",
            metrics.events_published.clone(),
        );
        r.register(
            "frames_delivered",
            "Event frames handed to connections",
            metrics.frames_delivered.clone(),
        );
        r.register(
            "sse_bytes_written",
            "Bytes of SSE frames handed to connections",
            metrics.bytes_written.clone(),
        );
        r.register(
            "replays",
            "Stream starts by outcome (live, replayed, reset)",
            metrics.replays.clone(),
        );
        r.register(
            "dispatched_sequence",
            "Newest sequence dispatched on this node",
            metrics.dispatched_sequence.clone(),
        );
        r.register(
            "dispatch_lag",
            "Outbox head minus the dispatched sequence",
            metrics.dispatch_lag.clone(),
        );
        r.register(
            "gaps_skipped",
            "Sequence numbers skipped after the gap timeout",
            metrics.gaps_skipped.clone(),
        );
        r.register(
            "catch_up_resets",
            "Streams told mid-stream (reset) that history they needed was trimmed",
            metrics.catch_up_resets.clone(),
        );
        r.register(
            "store_operation_seconds",
            "Store operation latency",
            metrics.store_seconds.clone(),
        );
        r.register(
            "store_errors",
            "Failed store operations",
            metrics.store_errors.clone(),
        );
        r.register(
            "store_available",
            "1 while the store's last write and last read succeeded (readiness), else 0",
            metrics.store_available.clone(),
        );
        r.register(
            "publish_seconds",
            "Publish latency until durable",
            metrics.publish_seconds.clone(),
        );
        r.register(
            "publish_batch_size",
            "Events per group-committed append",
            metrics.publish_batch_size.clone(),
        );
        r.register(
            "limit_rejections",
            "Requests refused by a limit",
            metrics.limit_rejections.clone(),
        );
        r.register(
            "tls_reloads",
            "TLS certificate and key pairs loaded after a change (SIGHUP or new files)",
            metrics.tls_reloads.clone(),
        );
        r.register(
            "tls_reload_failures",
            "Changed TLS certificate or key files refused; the previous pair kept serving",
            metrics.tls_reload_failures.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    pub fn disconnect(&self, reason: CloseReason) {
        self.disconnects.get_or_create(&Reason { reason }).inc();
    }

    pub fn limit_hit(&self, limit: Limit) {
        self.limit_rejections
            .get_or_create(&LimitLabel { limit })
            .inc();
    }

    pub fn replay(&self, outcome: Replay) {
        self.replays.get_or_create(&Outcome { outcome }).inc();
    }

    pub fn store_op(&self, operation: StoreOp, seconds: f64, ok: bool) {
        self.store_seconds
            .get_or_create(&Operation { operation })
            .observe(seconds);
        if !ok {
            self.store_errors
                .get_or_create(&Operation { operation })
                .inc();
        }
    }

    /// Built-in types get their own label; custom types share one, so a publisher cannot
    /// blow up the series count.
    pub fn published(&self, event_type: &str) {
        let event_type = match event_type {
            "message" => "message",
            "notification" => "notification",
            "alert" => "alert",
            "dataUpdate" => "dataUpdate",
            "heartbeat" => "heartbeat",
            _ => "custom",
        };
        self.events_published
            .get_or_create(&TypeLabel { event_type })
            .inc();
        self.events_published_all.inc();
    }
}
