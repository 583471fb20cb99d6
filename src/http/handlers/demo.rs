//! `POST /api/demo/start`, `POST /api/demo/stop`, `GET /api/demo/status`.

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};

use crate::auth::Scope;
use crate::demo::{DEFAULT_INTERVAL_SECS, INTERVAL_RANGE};
use crate::http::error::{json_response, ApiError};
use crate::http::extract;
use crate::http::{AppState, HubBody};

pub async fn start(
    req: Request<Incoming>,
    state: &AppState,
) -> Result<Response<HubBody>, ApiError> {
    extract::authorize(&req, &state.keys, Scope::Publish)?;
    let (parts, body) = req.into_parts();
    let body = extract::json_object(&parts.headers, body, state.settings.max_body_bytes).await?;
    let interval = match body.as_ref().and_then(|b| b.get("intervalSeconds")) {
        None | Some(Value::Null) => DEFAULT_INTERVAL_SECS,
        Some(Value::Number(n)) => extract::whole_number(n)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| INTERVAL_RANGE.contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_field",
                    "`intervalSeconds` must be a whole number from 1 to 60",
                )
            })?,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_field",
                "`intervalSeconds` must be a number",
            ))
        }
    };
    if !state.demo.start(interval).await? {
        return Err(ApiError::Conflict {
            code: "demo_running",
            message: "the demo generator is already running".into(),
        });
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({ "isRunning": true, "intervalSeconds": interval }),
    ))
}

pub async fn stop(req: Request<Incoming>, state: &AppState) -> Result<Response<HubBody>, ApiError> {
    extract::authorize(&req, &state.keys, Scope::Publish)?;
    if !state.demo.stop().await? {
        return Err(ApiError::Conflict {
            code: "demo_not_running",
            message: "the demo generator is not running".into(),
        });
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({ "isRunning": false }),
    ))
}

pub async fn status(
    req: Request<Incoming>,
    state: &AppState,
) -> Result<Response<HubBody>, ApiError> {
    extract::authorize(&req, &state.keys, Scope::Subscribe)?;
    let demo = state.demo.status().await?;
    let body = if demo.running {
        json!({ "isRunning": true, "intervalSeconds": demo.interval_secs })
    } else {
        json!({ "isRunning": false })
    };
    Ok(json_response(StatusCode::OK, &body))
}
