//! ssehub: a Server-Sent Events hub on hyper 1.x. Every event gets a global sequence in an
//! outbox; every subscriber receives what it asked for exactly once, in order, across
//! reconnects and nodes; each event is encoded once into one `Bytes` all subscribers share.
//!
//! # Layout
//!
//! ```text
//! event        the vocabulary: Sequence, EventType, ClientId, MessageId, Event, NewEvent, Filter
//! auth         key ring, scopes, constant-time comparison (no HTTP types)
//! metrics      Prometheus registry and exposition
//! shutdown     signal future, readiness latch
//! config       every setting: flag + env var + named default, validated once
//! outbox/      Store trait; embedded (redb) · mongo · memory; publisher (group commit);
//!              checkpoint (batched, forward-only acks); contract (the suite every store passes)
//! tail         the ring of encoded frames: read(cursor) -> frames | evicted
//! registry/    sharded subscribers, indexes by client id and type, RAII Subscription
//! sse/         frame (wire format) · resume (start position rules) · body (http_body::Body)
//! dispatch/    the dispatcher task; gap (high-water mark held at a missing sequence)
//! demo         the demo generator (one node in a cluster, via a store lease)
//! http/        server (accept loop) · router (one match) · handlers/ · extract · error · static_files
//! app          App::build(Config), App::serve(listener, shutdown): wiring + shutdown order
//! ```
//!
//! # Dependency rules
//!
//! Dependencies point inwards: `event`, `auth`, `metrics`, `shutdown` import nothing of ours;
//! `outbox` imports `event` and `metrics`; `tail`, `sse::frame`, `sse::resume` import `event`;
//! `registry` imports `event`; `sse::body` imports `event`, `tail`, `registry`, `outbox`,
//! `metrics`; `dispatch` imports `event`, `outbox`, `tail`, `registry`, `metrics`; `demo`
//! imports `event` and `outbox`; `http` may import all of those; `app` wires everything.
//! Only `outbox/mongo.rs` names `mongodb`, only `outbox/embedded.rs` names `redb`, only
//! `http/` and `sse/body.rs` name hyper types, only `http/error.rs` knows status codes.

pub mod app;
pub mod auth;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod event;
pub mod http;
pub mod metrics;
pub mod outbox;
pub mod registry;
pub mod shutdown;
pub mod sse;
pub mod tail;
