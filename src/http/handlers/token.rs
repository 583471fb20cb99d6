//! `POST /api/sse/token`: a backend with a publish key issues a browser a token bound to one
//! client id, valid for `ttlSeconds`.

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};

use crate::auth::Scope;
use crate::config::MAX_TOKEN_TTL_SECS;
use crate::event::UnixMillis;
use crate::http::error::{json_response, ApiError};
use crate::http::extract;
use crate::http::{AppState, HubBody};

/// Without `ttlSeconds`: an hour, long enough for a session, short enough to limit a leak.
const DEFAULT_TTL_SECS: u64 = 3600;

pub async fn issue(
    req: Request<Incoming>,
    state: &AppState,
) -> Result<Response<HubBody>, ApiError> {
    extract::authorize(&req, &state.keys, Scope::Publish)?;
    let (parts, body) = req.into_parts();
    let body =
        extract::required_object(&parts.headers, body, state.settings.max_body_bytes).await?;
    let client = extract::client_id_field(&body)?;
    let ttl = match body.get("ttlSeconds") {
        None | Some(Value::Null) => DEFAULT_TTL_SECS,
        Some(Value::Number(n)) => extract::whole_number(n)
            .filter(|n| (1..=MAX_TOKEN_TTL_SECS).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_field",
                    format!("`ttlSeconds` must be a whole number from 1 to {MAX_TOKEN_TTL_SECS}"),
                )
            })?,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_field",
                "`ttlSeconds` must be a number",
            ))
        }
    };
    let expires_at = UnixMillis::now().0 / 1000 + ttl as i64;
    let token = state.tokens.issue(&client, expires_at);
    let body = json!({
        "token": token,
        "clientId": client.as_str(),
        "expiresAt": UnixMillis(expires_at * 1000).to_rfc3339(),
    });
    Ok(json_response(StatusCode::OK, &body))
}
