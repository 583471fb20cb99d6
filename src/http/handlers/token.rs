//! `POST /api/sse/token`: a backend with a publish key issues a browser a token bound to one
//! client id, valid for `ttlSeconds`.

use crate::http::body::RequestBody;
use http::{Request, Response, StatusCode};
use serde_json::json;

use super::identify;
use crate::auth::Access;
use crate::http::error::{json_response, ApiError};
use crate::http::request;
use crate::http::{HubBody, Shared};
use crate::node::MAX_TOKEN_TTL_SECS;

pub(crate) async fn issue(
    req: Request<RequestBody>,
    shared: &Shared,
) -> Result<Response<HubBody>, ApiError> {
    let caller = identify(&req, shared, Access::Publish)?;
    let (parts, body) = req.into_parts();
    let body = request::required_object(&parts.headers, body, &shared.settings).await?;
    let client = request::client_id_field(&body)?;
    let ttl = request::whole_field::<u64>(
        Some(&body),
        "ttlSeconds",
        &format!("`ttlSeconds` must be a whole number from 1 to {MAX_TOKEN_TTL_SECS}"),
    )?;
    let issued = shared
        .node
        .issue_token(&caller, client, ttl, body.get("topics"))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "token": issued.token,
            "clientId": issued.client.as_str(),
            "expiresAt": issued.expires_at.to_rfc3339(),
            "topics": issued.topics.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        }),
    ))
}
