//! The HTTP transports: thin adapters that parse requests into the node's domain inputs,
//! call one verb of the node (`crate::node::Node`) and map its answer (errors in one place,
//! `error`). Every endpoint, its scope and its statuses:
//!
//! | method | path | scope | success | errors |
//! |---|---|---|---|---|
//! | GET | `/api/sse/connect` | subscribe or client token | 200 stream | 400 401 429 431 503 |
//! | POST | `/api/sse/ack` | subscribe or client token | 204 | 400 401 403 413 415 503 |
//! | GET | `/api/sse/stats` | subscribe | 200 | 401 503 |
//! | GET | `/api/sse/connections` | subscribe | 200 | 400 401 503 |
//! | POST | `/api/sse/token` | publish | 200 | 400 401 403 413 415 |
//! | POST | `/api/sse/broadcast` | publish | 200 | 400 401 403 413 415 503 |
//! | POST | `/api/sse/batch` | publish | 200 | as broadcast |
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
//!
//! Three transports serve one port (`conn`), plain or over TLS ([`tls`]): a `GET
//! /api/sse/connect` on a fresh HTTP/1.1 connection is answered on the lean path (`lean`);
//! HTTP/2 (ALPN `h2`, or h2c with prior knowledge) is served with the h2 crate (`http2`);
//! everything else goes to hyper's HTTP/1.1 server. All of them answer through one [`router`].

pub(crate) mod body;
pub(crate) mod conn;
pub(crate) mod error;
pub(crate) mod handlers;
pub(crate) mod head;
pub(crate) mod http2;
pub mod jwks;
pub(crate) mod lean;
pub(crate) mod request;
pub(crate) mod rewind;
pub mod router;
pub mod server;
pub(crate) mod stall;
pub(crate) mod static_files;
pub mod tls;

use std::convert::Infallible;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::node::Node;
use crate::sse::body::SseBody;

/// What the HTTP transports need from the configuration.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    /// Allowed CORS origins; `*` allows any (but never with credentials).
    pub cors_origins: Vec<String>,
    /// The cookie a JWT may arrive in (`--jwt-cookie`).
    pub jwt_cookie: String,
    pub static_dir: Option<PathBuf>,
    /// A request head must arrive within this (slowloris).
    pub header_read_timeout: Duration,
    /// Request line plus headers.
    pub max_header_bytes: usize,
    /// A socket that accepts no bytes for this long is closed; so is an HTTP/2 stream whose
    /// peer grants no window for this long.
    pub write_stall: Duration,
    /// A request body must arrive within this.
    pub body_read_timeout: Duration,
    /// `POST` requests being handled at once.
    pub max_inflight_requests: usize,
    /// Serve HTTPS with this certificate and key.
    pub tls: Option<tls::TlsSettings>,
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` of every HTTP/2 connection.
    pub h2_max_concurrent_streams: u32,
}

/// What every request handler reads: the node and the HTTP settings.
pub(crate) struct Shared {
    pub(crate) node: Arc<Node>,
    pub(crate) settings: HttpSettings,
    /// A permit per `POST` being handled: bounds what half-sent bodies and slow writes can
    /// hold.
    pub(crate) inflight: Arc<tokio::sync::Semaphore>,
    /// The connection tasks (shutdown waits for them); a lean stream's writer runs in one.
    pub(crate) streams: tokio_util::task::TaskTracker,
}

/// Every response body the hub sends: a whole buffer, or an SSE stream.
pub(crate) enum HubBody {
    Full(Option<Bytes>),
    Sse(Box<SseBody>),
}

impl HubBody {
    pub(crate) fn full(bytes: Bytes) -> HubBody {
        HubBody::Full(Some(bytes))
    }

    pub(crate) fn empty() -> HubBody {
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
