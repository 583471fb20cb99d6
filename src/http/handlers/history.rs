//! `GET /api/sse/events`: history, with the visibility of a stream with the same parameters
//! and credential (subscribe scope, or a client token).

use super::identify;
use crate::auth::Access;
use crate::event::{ClientId, Filter, Sequence};
use crate::http::body::RequestBody;
use crate::http::error::{json_response, ApiError};
use crate::http::request::{self, Query};
use crate::http::{HubBody, Shared};
use crate::node::{ErrorCode, HistoryRequest, MAX_HISTORY_PAGE};
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
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => Sequence::parse(text)
            .map(|n| n.0)
            .filter(|n| (1..=MAX_HISTORY_PAGE as u64).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    ErrorCode::InvalidField,
                    format!("`limit` must be a whole number from 1 to {MAX_HISTORY_PAGE}"),
                )
            })? as usize,
    };
    let client_id = query
        .get("clientId")
        .map(|c| {
            ClientId::new(c)
                .map_err(|e| ApiError::invalid(ErrorCode::InvalidClientId, e.to_string()))
        })
        .transpose()?;
    // The node checks the count against its limit, as for a stream.
    let filter = Filter::parse(query.get("filter").unwrap_or(""), usize::MAX)
        .map_err(|e| ApiError::invalid(ErrorCode::InvalidFilter, e.to_string()))?;
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
