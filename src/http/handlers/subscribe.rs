//! `GET /api/sse/connect` (the stream), `POST /api/sse/ack`, `GET /api/sse/stats`.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http::request::Parts;
use http::{header, HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};

use crate::auth::Scope;
use crate::event::{ClientId, Filter, Sequence, UnixMillis};
use crate::http::error::{json_response, ApiError};
use crate::http::extract::{self, Query};
use crate::http::{AppState, HubBody};
use crate::sse::body::{SseBody, Transport};
use crate::sse::frame;
use crate::sse::resume::{self, History, Requested, Source, Start};

fn position(text: Option<&str>, name: &str) -> Result<Option<Sequence>, ApiError> {
    text.map(|t| {
        Sequence::parse(t).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_position",
                format!("`{name}` must be a decimal sequence number (0..2^64-1)"),
            )
        })
    })
    .transpose()
}

/// Who a connecting or acknowledging request acts as.
struct Caller {
    /// The client id it may use, if it named one it is entitled to.
    client: Option<ClientId>,
    /// A client token's expiry (unix seconds): the stream must end then.
    token_expires_at: Option<i64>,
}

/// A client token binds a client id (and needs no key); otherwise a key with subscribe scope
/// is needed, and under `--require-client-tokens` a subscribe key alone may not name a client.
fn caller(req: &Parts, query: &Query, state: &AppState) -> Result<Caller, ApiError> {
    let named = query
        .get("clientId")
        .map(|c| {
            ClientId::new(c).map_err(|e| ApiError::bad_request("invalid_client_id", e.to_string()))
        })
        .transpose()?;
    // An empty `token=` is no token (a client that has none yet).
    if let Some(token) = query.get("token").filter(|t| !t.is_empty()) {
        let claims = state.tokens.verify(token, UnixMillis::now())?;
        if named.as_ref().is_some_and(|n| *n != claims.client) {
            return Err(ApiError::bad_request(
                "token_client_mismatch",
                "`clientId` differs from the client id the token was issued for",
            ));
        }
        return Ok(Caller {
            client: Some(claims.client),
            token_expires_at: Some(claims.expires_at),
        });
    }
    let scope = state
        .keys
        .authorize(extract::api_key(&req.headers, query), Scope::Subscribe)?;
    let trusted = !state.settings.require_client_tokens || scope == Scope::Publish;
    Ok(Caller {
        client: named.filter(|_| trusted),
        token_expires_at: None,
    })
}

/// A random fraction in [0, 1) for jitter, without a dependency on a RNG crate.
fn jitter() -> f64 {
    (uuid::Uuid::new_v4().as_u128() % 10_000) as f64 / 10_000.0
}

/// When the stream must end, and why: the token's expiry or the maximum lifetime.
fn stream_deadline(
    state: &AppState,
    token_expires_at: Option<i64>,
) -> Option<(tokio::time::Instant, &'static str)> {
    let now = tokio::time::Instant::now();
    let by_token = token_expires_at.map(|secs| {
        let left = (secs.saturating_mul(1000) - UnixMillis::now().0).max(0) as u64;
        (now + Duration::from_millis(left), "token_expired")
    });
    let by_lifetime = state
        .settings
        .max_stream_lifetime
        .map(|lifetime| (now + lifetime.mul_f64(1.0 - 0.2 * jitter()), "lifetime"));
    match (by_token, by_lifetime) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

pub async fn connect(req: &Parts, state: &AppState) -> Result<Response<HubBody>, ApiError> {
    if state.readiness.is_draining() {
        return Err(ApiError::ShuttingDown);
    }
    let query = Query::parse(req.uri.query());
    let caller = caller(req, &query, state)?;
    let req_flags = req.extensions.get::<Arc<Transport>>().cloned();
    let named_client = caller.client;
    let filter = Filter::parse(
        query.get("filter").unwrap_or(""),
        state.settings.max_filter_types,
    )
    .map_err(|e| {
        if matches!(e, crate::event::FilterError::TooMany { .. }) {
            state.metrics.limit_hit("filter_types");
        }
        ApiError::bad_request("invalid_filter", e.to_string())
    })?;
    // EventSource omits the header when it has no id; an empty one means the same.
    let header_id = req
        .headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("\u{0}").trim())
        .filter(|v| !v.is_empty());
    let requested = Requested {
        checkpoint_param: position(query.get("checkpoint"), "checkpoint")?,
        last_event_id_param: position(query.get("lastEventId"), "lastEventId")?,
        last_event_id_header: position(header_id, "Last-Event-ID")?,
    };
    if state.registry.connections() >= state.settings.max_connections {
        state.metrics.limit_hit("connections");
        return Err(ApiError::Overloaded {
            limit: "connections",
            message: format!(
                "this node holds its maximum of {} streams; retry later or elsewhere",
                state.settings.max_connections
            ),
            retry_after_secs: 5,
        });
    }
    if let Some(client) = &named_client {
        let limit = state.settings.max_connections_per_client;
        if state.registry.connections_of(client) >= limit {
            state.metrics.limit_hit("connections_per_client");
            return Err(ApiError::TooManyConnections {
                client: client.to_string(),
                limit,
            });
        }
    }

    let (position, source) = match (requested.explicit(), &named_client) {
        (Some(explicit), _) => (Some(explicit.0), explicit.1),
        (None, Some(client)) => match state.checkpoints.load(client).await? {
            Some(stored) => (Some(stored), Source::StoredCheckpoint),
            None => (None, Source::Live),
        },
        (None, None) => (None, Source::Live),
    };
    let client = named_client.unwrap_or_else(ClientId::random);

    let dispatched = state.stream.tail.dispatched();
    let (head, oldest) = match position {
        Some(_) => (state.store.head().await?, state.store.oldest().await?),
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
    state.metrics.replay(match (start, source) {
        (Start::Reset { .. }, _) => "reset",
        (_, Source::Live) => "live",
        _ => "replayed",
    });

    let prelude = prelude(state, &client, cursor, dispatched, start);
    let subscription = state.registry.subscribe(client.clone(), filter);
    tracing::info!(
        client_id = %client,
        conn = subscription.subscriber().id.0,
        from = cursor.0,
        source = source.as_str(),
        "stream opened"
    );
    let mut body = SseBody::new(subscription, state.stream.clone(), cursor, prelude);
    if let Some((at, reason)) = stream_deadline(state, caller.token_expires_at) {
        body = body.with_deadline(at, reason);
    }
    if let Some(flags) = req_flags {
        body = body.with_connection(flags);
    }
    let mut response = Response::new(HubBody::Sse(Box::new(body)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// `retry:`, `connected` and, when history was truncated, `reset`: one write at connect.
fn prelude(
    state: &AppState,
    client: &ClientId,
    cursor: Sequence,
    dispatched: Sequence,
    start: Start,
) -> Bytes {
    let mut out = BytesMut::with_capacity(256);
    out.put(frame::retry(state.settings.retry_ms));
    let connected = json!({
        "clientId": client.as_str(),
        "node": state.settings.node_id,
        "resumeFrom": cursor.0,
        "headSequence": dispatched.0,
    });
    out.put(frame::control("connected", &connected));
    if let Start::Reset {
        requested,
        oldest_available,
    } = start
    {
        let reset = json!({ "requested": requested.0, "oldestAvailable": oldest_available.0 });
        out.put(frame::control("reset", &reset));
    }
    out.freeze()
}

pub async fn ack(req: Request<Incoming>, state: &AppState) -> Result<Response<HubBody>, ApiError> {
    let query = Query::parse(req.uri().query());
    let token = match query.get("token").filter(|t| !t.is_empty()) {
        Some(token) => Some(state.tokens.verify(token, UnixMillis::now())?),
        None => {
            let scope = state
                .keys
                .authorize(extract::api_key(req.headers(), &query), Scope::Subscribe)?;
            if state.settings.require_client_tokens && scope == Scope::Subscribe {
                return Err(ApiError::ClientTokenRequired(
                    "acknowledging for a client id needs that client's token (token=)",
                ));
            }
            None
        }
    };
    let (parts, body) = req.into_parts();
    let body =
        extract::required_object(&parts.headers, body, state.settings.max_body_bytes).await?;
    let client = extract::client_id_field(&body)?;
    if token.is_some_and(|claims| claims.client != client) {
        return Err(ApiError::bad_request(
            "token_client_mismatch",
            "`clientId` differs from the client id the token was issued for",
        ));
    }
    let sequence = match body.get("sequence") {
        Some(Value::Number(n)) => extract::whole_number(n).map(Sequence).ok_or_else(|| {
            ApiError::bad_request("invalid_field", "`sequence` must be a whole number from 0")
        })?,
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request(
                "missing_field",
                "`sequence` is required",
            ))
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_field",
                "`sequence` must be a number",
            ))
        }
    };
    if sequence > state.dispatch.head() && sequence > state.store.head().await? {
        return Err(ApiError::bad_request(
            "sequence_ahead",
            format!("`sequence` {sequence} is past the newest event; acknowledge only what you received"),
        ));
    }
    state.checkpoints.record(client, sequence);
    let mut response = Response::new(HubBody::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// How recently a node must have reported to count as part of the cluster.
const NODE_FRESHNESS: Duration = Duration::from_secs(15);

pub async fn stats(
    req: Request<Incoming>,
    state: &AppState,
) -> Result<Response<HubBody>, ApiError> {
    extract::authorize(&req, &state.keys, Scope::Subscribe)?;
    let head = state.store.head().await?;
    let oldest = state.store.oldest().await?;
    let nodes = state.store.nodes(NODE_FRESHNESS).await?;
    let nodes: Vec<Value> = nodes
        .iter()
        .map(|n| {
            json!({
                "node": n.node_id,
                "connections": n.connections,
                "clients": n.clients,
                "dispatchedSequence": n.dispatched.0,
                "seenAt": n.seen_at.to_rfc3339(),
            })
        })
        .collect();
    let body = json!({
        "node": state.settings.node_id,
        "connections": state.registry.connections(),
        "clients": state.registry.clients(),
        "headSequence": head.0,
        "dispatchedSequence": state.stream.tail.dispatched().0,
        "oldestSequence": oldest.map(|s| s.0),
        "store": state.store.kind(),
        "storeAvailable": state.dispatch.store_ok(),
        "uptimeSeconds": state.started.elapsed().as_secs(),
        "nodes": nodes,
    });
    Ok(json_response(StatusCode::OK, &body))
}
