//! `GET /api/sse/connect` on hyper (h1 after the first request, h2), `POST /api/sse/ack`,
//! `GET /api/sse/stats`.

use std::sync::Arc;

use crate::http::body::RequestBody;
use http::request::Parts;
use http::{header, HeaderValue, Request, Response, StatusCode};
use serde_json::Value;

use super::identify;
use crate::auth::Access;
use crate::event::Sequence;
use crate::http::error::{json_response, ApiError};
use crate::http::request::{self, Query};
use crate::http::{HubBody, Shared};
use crate::node::{ErrorCode, MAX_CONNECTIONS_PAGE};
use crate::sse::body::Transport;

/// The stream's response headers, the same on every transport.
pub(crate) const STREAM_HEADERS: [(header::HeaderName, &str); 3] = [
    (header::CONTENT_TYPE, "text/event-stream"),
    (header::CACHE_CONTROL, "no-cache"),
    (header::HeaderName::from_static("x-accel-buffering"), "no"),
];

pub(crate) async fn connect(parts: &Parts, shared: &Shared) -> Result<Response<HubBody>, ApiError> {
    let query = Query::parse(parts.uri.query());
    let caller = shared.node.identify(
        &request::credentials(&parts.headers, &query, &shared.settings.jwt_cookie),
        Access::Client,
    )?;
    let open = request::open_request(parts, &query)?;
    let mut body = shared.node.open_stream(&caller, open).await?;
    if let Some(transport) = parts.extensions.get::<Arc<Transport>>() {
        body = body.with_connection(transport.clone());
    }
    let mut response = Response::new(HubBody::Sse(Box::new(body)));
    for (name, value) in STREAM_HEADERS {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    Ok(response)
}

pub(crate) async fn ack(
    req: Request<RequestBody>,
    shared: &Shared,
) -> Result<Response<HubBody>, ApiError> {
    let caller = identify(&req, shared, Access::Client)?;
    let (parts, body) = req.into_parts();
    let body = request::required_object(&parts.headers, body, &shared.settings).await?;
    let client = request::client_id_field(&body)?;
    let sequence = match body.get("sequence") {
        Some(Value::Number(n)) => request::whole_number(n).map(Sequence).ok_or_else(|| {
            ApiError::invalid(
                ErrorCode::InvalidField,
                "`sequence` must be a whole number from 0",
            )
        })?,
        None | Some(Value::Null) => {
            return Err(ApiError::invalid(
                ErrorCode::MissingField,
                "`sequence` is required",
            ))
        }
        Some(_) => {
            return Err(ApiError::invalid(
                ErrorCode::InvalidField,
                "`sequence` must be a number",
            ))
        }
    };
    shared.node.ack(&caller, client, sequence).await?;
    let mut response = Response::new(HubBody::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

pub(crate) async fn connections(
    req: Request<RequestBody>,
    shared: &Shared,
) -> Result<Response<HubBody>, ApiError> {
    let caller = identify(&req, shared, Access::Subscribe)?;
    let query = Query::parse(req.uri().query());
    let number = |name: &str, min: u64, max: u64, default: u64| match query.get(name) {
        None => Ok(default),
        Some(text) => Sequence::parse(text)
            .map(|n| n.0)
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    ErrorCode::InvalidField,
                    format!("`{name}` must be a whole number from {min} to {max}"),
                )
            }),
    };
    let limit = number("limit", 1, MAX_CONNECTIONS_PAGE as u64, 100)?;
    let after = number("after", 0, u64::MAX, 0)?;
    let page = shared
        .node
        .list_connections(&caller, after, limit as usize)?;
    Ok(json_response(StatusCode::OK, &page))
}

pub(crate) async fn stats(
    req: Request<RequestBody>,
    shared: &Shared,
) -> Result<Response<HubBody>, ApiError> {
    let caller = identify(&req, shared, Access::Subscribe)?;
    let stats = shared.node.stats(&caller).await?;
    Ok(json_response(StatusCode::OK, &stats))
}
