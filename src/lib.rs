//! ssehub: a Server-Sent Events hub on hyper 1.x. Every event gets a global sequence in an
//! outbox; every subscriber receives what it asked for exactly once, in order, across
//! reconnects and nodes; each event is encoded once into one `Bytes` all subscribers share.
//!
//! # Layout
//!
//! This map is the one list of modules (a test checks it against `src/`):
//!
//! ```text
//! event/       the vocabulary: Sequence, EventType, ClientId, MessageId, Event, NewEvent, Filter;
//!              topic (Topic, Selector); delivery (Recipient: the one rule of who receives what)
//! auth/        who a request is: identify(credentials) -> Caller; key ring and scopes; token
//!              (HMAC client tokens); grant (topic grants); jwt (standard JWTs, key sets)
//! metrics      Prometheus registry and exposition; the label vocabularies (CloseReason, Limit, ...)
//! shutdown     signal future, readiness latch
//! outbox/      EventLog, CheckpointStore, Coordination traits; embedded/ (redb) · mongo/ ·
//!              memory; publisher (group commit of events); fresh (appends handed to the
//!              dispatcher); checkpoint (of acks: 204 once durable); monitored (timing, health);
//!              contract (the suite every store passes)
//! tail         the ring of encoded frames: read(cursor) -> frames | evicted
//! registry/    sharded subscribers, indexes by client id, type and topic selector, RAII
//!              Subscription
//! sse/         frame (wire format) · resume (start position rules) · body (the stream's cursor)
//! dispatch/    the dispatcher task; gap (high-water mark held at a missing sequence)
//! demo         the demo generator (one node in a cluster, via a store lease)
//! node/        the node's verbs, free of HTTP: open (a stream), publish, clients (ack,
//!              token), history, presence, stats, demo, tasks (background work), error
//!              (NodeError, ErrorCode); body · json · compact (publish bodies read without a
//!              JSON tree, `data` kept as compact text)
//! http/        the HTTP transports: server (accept loop) · tls/ (handshake, reloading
//!              certificate) · conn (first head: lean, HTTP/2 or hyper) · lean (the SSE fast
//!              path) · http2/ (h2 connections, per-stream SSE pump) · head · rewind · stall ·
//!              router (one match) · body (request bodies of both) · handlers/ · request
//!              (credentials, query, JSON bodies) · error (the only place that knows status
//!              codes) · static_files · jwks (fetches a JWKS URL) · openapi.json
//! config/      every setting: flag + env var + named default + range; parse (value parsers)
//! app          App::build(Config), App::serve(listener, shutdown): wiring + shutdown order
//! ```
//!
//! # Dependency rules
//!
//! Dependencies point inwards and never upwards (a test reads every `use crate::` and checks):
//!
//! | module | may import |
//! |---|---|
//! | event, metrics, shutdown | nothing of ours |
//! | auth | event |
//! | outbox | event, metrics |
//! | tail, sse::frame, sse::resume | event |
//! | registry | event, metrics |
//! | sse::body | event, metrics, outbox, registry, tail, sse::frame |
//! | dispatch | event, metrics, outbox, registry, tail, sse::frame |
//! | demo | event, outbox |
//! | node | all of the above |
//! | http | node, auth, event, metrics, sse (the body it writes), config (constants) |
//! | config | each component's settings type |
//! | app | everything |
//!
//! Only `outbox/mongo/` names `mongodb`, only `outbox/embedded/` names `redb`, only `http/`
//! names hyper, h2 or rustls, only `http/error.rs` knows status codes.
#![warn(unreachable_pub)]
// One module style: `foo/mod.rs`, never `foo.rs` beside `foo/`.
#![deny(clippy::self_named_module_files)]

/// Declares a closed vocabulary: an enum whose variants each have one wire spelling, with
/// `ALL` (every variant, in order) and `as_str()`.
macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod app;
pub mod auth;
pub mod config;
pub(crate) mod demo;
pub mod dispatch;
pub mod event;
pub mod http;
pub mod metrics;
pub mod node;
pub mod outbox;
pub mod registry;
pub mod shutdown;
pub mod sse;
pub mod tail;
