//! Opening a stream: every rule, in the order it applies.
//!
//! 1. A draining node opens nothing (`shutting_down`).
//! 2. Identity (the caller was identified by the transport, before it read anything else):
//!    a client token binds its client id (a different `clientId` is refused); a key
//!    with subscribe scope may name any client id, unless `--require-client-tokens`, where
//!    only a publish key may (a subscribe key alone gets a fresh id).
//! 3. The filter names at most `--max-filter-types` types; the `topic=` selectors are at most
//!    `--max-topic-selectors`, each within the caller's subscribe grant (`grants.rs`).
//! 4. Limits: `--max-connections` streams on the node (503 `overloaded`), and
//!    `--max-connections-per-client` streams of one client id (429). The slot is taken
//!    atomically here, before anything is awaited, so a burst of connects never overshoots.
//! 5. The start position: `checkpoint`, else `lastEventId`, else `Last-Event-ID`, else the
//!    client's stored checkpoint, else live; a position older than the retained history
//!    starts with a `reset` frame at the oldest event ([`resume::plan`]).
//! 6. The prelude: `retry:`, `connected` (echoing the granted selectors as `topics`) and maybe
//!    `reset`, written before any event.
//! 7. The stream ends at its client token's (or JWT's) expiry or at `--max-stream-lifetime-secs`
//!    (minus up to 20 % jitter), whichever comes first.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::json;

use super::{require, ErrorCode, Node, NodeError};
use crate::auth::{Access, Caller, Scope};
use crate::event::{ClientId, Filter, FilterError, Recipient, Selector, Sequence, UnixMillis};
use crate::metrics::{CloseReason, Limit, Replay};
use crate::registry::{Caps, ConnInfo, Full, Member};
use crate::sse::body::SseBody;
use crate::sse::frame;
use crate::sse::resume::{self, History, Requested, Source, Start};

/// What a transport parsed from a request to open a stream.
#[derive(Debug, Clone, Default)]
pub struct OpenRequest {
    /// The client id the request named (`clientId=`), if any.
    pub client_id: Option<ClientId>,
    /// The type filter (`filter=`), not yet checked against the node's limit.
    pub filter: Filter,
    /// The topic selectors (`topic=`, repeatable), deduplicated, not yet checked against the
    /// limit or the caller's grant.
    pub selectors: Vec<Selector>,
    /// The explicit positions the request carried.
    pub positions: Requested,
    /// `named=false`: event frames without their `event:` line, so `EventSource.onmessage`
    /// sees every type (the type stays in the data's `type`).
    pub unnamed: bool,
    /// How the stream reached the node.
    pub connection: ConnInfo,
}

impl Node {
    /// Opens a stream: the body writes the prelude, replays what the position asks for and
    /// continues live until the client leaves, the node shuts down or the deadline passes.
    ///
    /// # Errors
    /// See the module docs: each rule has its error.
    pub async fn open_stream(
        &self,
        caller: &Caller,
        request: OpenRequest,
    ) -> Result<SseBody, NodeError> {
        if self.readiness.is_draining() {
            return Err(NodeError::ShuttingDown);
        }
        require(caller, Access::Client)?;
        let named = self.client_for(caller, request.client_id)?;
        self.check_filter(&request.filter)?;
        self.check_selectors(caller, &request.selectors)?;
        let caps = Caps {
            node: self.settings.max_connections,
            // Only ids a client named can collide; generated ones are unique.
            per_client: named
                .as_ref()
                .map(|_| self.settings.max_connections_per_client),
        };
        let recipient = Recipient::new(
            named.clone().unwrap_or_else(ClientId::random),
            request.filter,
        )
        .with_selectors(request.selectors);
        let member = Member {
            recipient,
            info: request.connection,
        };
        let subscription = self
            .registry
            .join(member, caps)
            .map_err(|full| self.refused(full, named.as_ref()))?;

        let (position, source) = match (request.positions.explicit(), &named) {
            (Some((position, source)), _) => (Some(position), source),
            (None, Some(client)) => match self.checkpoints.load(client).await? {
                Some(stored) => (Some(stored), Source::StoredCheckpoint),
                None => (None, Source::Live),
            },
            (None, None) => (None, Source::Live),
        };

        let dispatched = self.streams.tail.dispatched();
        let (head, oldest) = match position {
            Some(_) => (self.log.head().await?, self.log.oldest().await?),
            None => (dispatched, None),
        };
        let start = resume::plan(
            position,
            History {
                dispatched,
                head: head.max(dispatched),
                oldest,
            },
        );
        let cursor = start.cursor();
        self.metrics.replay(match (start, source) {
            (Start::Reset { .. }, _) => Replay::Reset,
            (_, Source::Live) => Replay::Live,
            _ => Replay::Replayed,
        });

        let subscriber = subscription.subscriber();
        let recipient = &subscriber.recipient;
        let prelude = self.prelude(
            &recipient.client,
            &recipient.selectors,
            cursor,
            dispatched,
            start,
        );
        tracing::info!(
            client_id = %subscription.subscriber().recipient.client,
            conn = subscription.subscriber().id.0,
            from = cursor.0,
            source = source.as_str(),
            "stream opened"
        );
        let mut body = SseBody::new(subscription, self.streams.clone(), cursor, prelude);
        if request.unnamed {
            body = body.unnamed();
        }
        if let Some((at, reason)) = self.deadline(caller) {
            body = body.with_deadline(at, reason);
        }
        Ok(body)
    }

    /// The client id a stream or ack may act as: a token's own, or the named one if the
    /// caller may name it.
    pub(super) fn client_for(
        &self,
        caller: &Caller,
        named: Option<ClientId>,
    ) -> Result<Option<ClientId>, NodeError> {
        if let Some(bound) = caller.bound_client() {
            if named.as_ref().is_some_and(|n| n != bound) {
                return Err(token_client_mismatch());
            }
            return Ok(Some(bound.clone()));
        }
        let trusted =
            !self.settings.require_client_tokens || *caller == Caller::Key(Scope::Publish);
        Ok(named.filter(|_| trusted))
    }

    pub(super) fn check_filter(&self, filter: &Filter) -> Result<(), NodeError> {
        let max = self.settings.max_filter_types;
        match filter {
            Filter::Types(types) if types.len() > max => {
                self.metrics.limit_hit(Limit::FilterTypes);
                let error = FilterError::TooMany {
                    given: types.len(),
                    max,
                };
                Err(NodeError::invalid(
                    ErrorCode::InvalidFilter,
                    error.to_string(),
                ))
            }
            _ => Ok(()),
        }
    }

    fn refused(&self, full: Full, client: Option<&ClientId>) -> NodeError {
        match full {
            Full::Node { limit } => {
                self.metrics.limit_hit(Limit::Connections);
                NodeError::Overloaded { limit }
            }
            Full::Client { limit } => {
                self.metrics.limit_hit(Limit::ConnectionsPerClient);
                NodeError::TooManyConnections {
                    client: client.map(ToString::to_string).unwrap_or_default(),
                    limit,
                }
            }
        }
    }

    /// `retry:`, `connected` and, when history was truncated, `reset`: one write at connect.
    fn prelude(
        &self,
        client: &ClientId,
        selectors: &[Selector],
        cursor: Sequence,
        dispatched: Sequence,
        start: Start,
    ) -> Bytes {
        let mut out = BytesMut::with_capacity(256);
        out.put(frame::retry(self.settings.retry));
        let connected = json!({
            "clientId": client.as_str(),
            "node": self.settings.node_id,
            "resumeFrom": cursor.0,
            "headSequence": dispatched.0,
            "topics": selectors.iter().map(Selector::as_str).collect::<Vec<_>>(),
        });
        out.put(frame::control("connected", &connected));
        if let Start::Reset {
            requested,
            oldest_available,
        } = start
        {
            out.put(frame::reset(requested, oldest_available));
        }
        out.freeze()
    }

    /// When the stream must end, and why: the token's expiry or the maximum lifetime.
    fn deadline(&self, caller: &Caller) -> Option<(tokio::time::Instant, CloseReason)> {
        let now = tokio::time::Instant::now();
        let by_token = caller.expires_at().map(|expires_at| {
            let left = (expires_at.saturating_mul(1000) - UnixMillis::now().0).max(0);
            (
                now + Duration::from_millis(left as u64),
                CloseReason::TokenExpired,
            )
        });
        let by_lifetime = self.settings.max_stream_lifetime.map(|lifetime| {
            (
                now + lifetime.mul_f64(1.0 - 0.2 * jitter()),
                CloseReason::Lifetime,
            )
        });
        match (by_token, by_lifetime) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        }
    }
}

pub(super) fn token_client_mismatch() -> NodeError {
    NodeError::invalid(
        ErrorCode::TokenClientMismatch,
        "`clientId` differs from the client id the token was issued for",
    )
}

/// A random fraction in [0, 1) for jitter, without a dependency on a RNG crate.
fn jitter() -> f64 {
    (uuid::Uuid::new_v4().as_u128() % 10_000) as f64 / 10_000.0
}
