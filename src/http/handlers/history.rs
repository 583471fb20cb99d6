//! `GET /api/sse/events`: history, with the visibility of a stream with the same parameters
//! and credential (subscribe scope, or a client token); and `GET /api/sse/presence`: who is
//! connected to topics, within the same grants.

use super::identify;
use crate::auth::Access;
use crate::event::Sequence;
use crate::http::body::RequestBody;
use crate::http::error::{json_response, ApiError};
use crate::http::request::{self, Query};
use crate::http::{HubBody, Shared};
use crate::node::{
    ErrorCode, HistoryRequest, PresenceRequest, MAX_HISTORY_PAGE, MAX_PRESENCE_PAGE,
};
use http::{Request, Response, StatusCode};

/// Without `limit`: a page a browser renders at once.
const DEFAULT_LIMIT: usize = 100;

pub(crate) async fn events(
    req: Request<RequestBody>,
    shared: &Shared,
) -> Result<Response<HubBody>, ApiError> {
    let caller = identify(&req, shared, Access::Client)?;
    let query = Query::parse(req.uri().query());
    let after = match query.get("after") {
        None => Sequence::ZERO,
        Some(text) => Sequence::parse(text).ok_or_else(|| {
            ApiError::invalid(
                ErrorCode::InvalidPosition,
                "`after` must be a decimal sequence number (0..2^64-1)",
            )
        })?,
    };
    let limit = limit(&query, DEFAULT_LIMIT, MAX_HISTORY_PAGE)?;
    let client_id = request::client_id_param(&query)?;
    let filter = request::filter_param(&query)?;
    let request = HistoryRequest {
        after,
        limit,
        client_id,
        filter,
        selectors: request::selectors(&query)?,
    };
    let page = shared.node.history(&caller, request).await?;
    Ok(json_response(StatusCode::OK, &page))
}

/// `limit=`: 1 to `max`, `default` when absent.
fn limit(query: &Query, default: usize, max: usize) -> Result<usize, ApiError> {
    match query.get("limit") {
        None => Ok(default),
        Some(text) => Sequence::parse(text)
            .map(|n| n.0)
            .filter(|n| (1..=max as u64).contains(n))
            .map(|n| n as usize)
            .ok_or_else(|| {
                ApiError::invalid(
                    ErrorCode::InvalidField,
                    format!("`limit` must be a whole number from 1 to {max}"),
                )
            }),
    }
}

pub(crate) async fn presence(
    req: Request<RequestBody>,
    shared: &Shared,
) -> Result<Response<HubBody>, ApiError> {
    let caller = identify(&req, shared, Access::Client)?;
    let query = Query::parse(req.uri().query());
    let request = PresenceRequest {
        selectors: request::selectors(&query)?,
        limit: limit(&query, DEFAULT_LIMIT, MAX_PRESENCE_PAGE)?,
        after: query.get("after").map(str::to_owned),
    };
    let page = shared.node.presence(&caller, request).await?;
    Ok(json_response(StatusCode::OK, &page))
}
