//! `POST /api/demo/start`, `POST /api/demo/stop`, `GET /api/demo/status`.

use crate::http::body::RequestBody;
use http::{Request, Response, StatusCode};
use serde_json::json;

use super::identify;
use crate::auth::Access;
use crate::http::error::{json_response, ApiError};
use crate::http::request;
use crate::http::{HubBody, Shared};

pub(crate) async fn start(
    req: Request<RequestBody>,
    shared: &Shared,
) -> Result<Response<HubBody>, ApiError> {
    let caller = identify(&req, shared, Access::Publish)?;
    let (parts, body) = req.into_parts();
    let body = request::json_object(&parts.headers, body, &shared.settings).await?;
    let interval = request::whole_field::<u32>(
        body.as_ref(),
        "intervalSeconds",
        "`intervalSeconds` must be a whole number from 1 to 60",
    )?;
    let state = shared.node.demo_start(&caller, interval).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "isRunning": true, "intervalSeconds": state.interval_secs }),
    ))
}

pub(crate) async fn stop(
    req: Request<RequestBody>,
    shared: &Shared,
) -> Result<Response<HubBody>, ApiError> {
    let caller = identify(&req, shared, Access::Publish)?;
    shared.node.demo_stop(&caller).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "isRunning": false }),
    ))
}

pub(crate) async fn status(
    req: Request<RequestBody>,
    shared: &Shared,
) -> Result<Response<HubBody>, ApiError> {
    let caller = identify(&req, shared, Access::Subscribe)?;
    let demo = shared.node.demo_status(&caller).await?;
    let body = if demo.running {
        json!({ "isRunning": true, "intervalSeconds": demo.interval_secs })
    } else {
        json!({ "isRunning": false })
    };
    Ok(json_response(StatusCode::OK, &body))
}
