//! The HTTP surface. Every endpoint, its scope and its statuses:
//!
//! | method | path | scope | success | errors |
//! |---|---|---|---|---|
//! | GET | `/api/sse/connect` | subscribe or client token | 200 stream | 400 401 429 431 503 |
//! | POST | `/api/sse/ack` | subscribe or client token | 204 | 400 401 403 413 415 503 |
//! | GET | `/api/sse/stats` | subscribe | 200 | 401 503 |
//! | POST | `/api/sse/token` | publish | 200 | 400 401 403 413 415 |
//! | POST | `/api/sse/broadcast` | publish | 200 | 400 401 403 413 415 503 |
//! | POST | `/api/sse/send/{clientId}` | publish | 200 | as broadcast |
//! | POST | `/api/sse/notification[/{clientId}]` | publish | 200 | as broadcast |
//! | POST | `/api/sse/alert[/{clientId}]` | publish | 200 | as broadcast |
//! | POST | `/api/sse/data-update[/{clientId}]` | publish | 200 | as broadcast |
//! | POST | `/api/demo/start` | publish | 200 | 400 401 403 409 413 415 503 |
//! | POST | `/api/demo/stop` | publish | 200 | 401 403 409 503 |
//! | GET | `/api/demo/status` | subscribe | 200 | 401 503 |
//! | GET | `/api/openapi.json` | none | 200 | |
//! | GET | `/health/live`, `/health/ready`, `/metrics` | none | 200 | 503 (ready) |
//! | GET | anything else | none | the SPA (with `--static-dir`) | 404 |
//!
//! `OPTIONS` on any path answers CORS preflights. Unknown paths are 404, known paths with the
//! wrong method 405 with `Allow`.

pub mod error;
pub mod extract;
pub mod handlers;
pub mod head;
pub mod lean;
pub mod rewind;
pub mod router;
pub mod server;
pub mod stall;
pub mod static_files;

use std::convert::Infallible;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::auth::token::TokenSigner;
use crate::auth::KeyRing;
use crate::demo::Demo;
use crate::dispatch::DispatchStatus;
use crate::metrics::Metrics;
use crate::outbox::checkpoint::Checkpoints;
use crate::outbox::publisher::Publisher;
use crate::outbox::Store;
use crate::registry::Registry;
use crate::shutdown::Readiness;
use crate::sse::body::{SseBody, StreamContext};

/// The settings handlers read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub node_id: String,
    pub retry_ms: u64,
    pub max_body_bytes: usize,
    pub max_filter_types: usize,
    /// Allowed CORS origins; `*` allows any.
    pub cors_origins: Vec<String>,
    pub static_dir: Option<PathBuf>,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    /// Streams end after this (minus jitter); `None` keeps them open.
    pub max_stream_lifetime: Option<Duration>,
    pub require_client_tokens: bool,
}

/// Everything a handler may use; one per node, shared by reference.
pub struct AppState {
    pub settings: Settings,
    pub keys: KeyRing,
    pub tokens: TokenSigner,
    pub store: Arc<dyn Store>,
    pub publisher: Publisher,
    pub checkpoints: Arc<Checkpoints>,
    pub registry: Arc<Registry>,
    pub stream: Arc<StreamContext>,
    pub metrics: Arc<Metrics>,
    pub dispatch: Arc<DispatchStatus>,
    pub readiness: Arc<Readiness>,
    pub demo: Arc<Demo>,
    pub started: Instant,
}

/// Every response body the hub sends: a whole buffer, or an SSE stream.
pub enum HubBody {
    Full(Option<Bytes>),
    Sse(Box<SseBody>),
}

impl HubBody {
    pub fn full(bytes: Bytes) -> HubBody {
        HubBody::Full(Some(bytes))
    }

    pub fn empty() -> HubBody {
        HubBody::Full(None)
    }
}

impl Body for HubBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            HubBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            HubBody::Sse(body) => Pin::new(body.as_mut()).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, HubBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            HubBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            HubBody::Sse(_) => SizeHint::default(),
        }
    }
}
