//! `POST /api/sse/{broadcast,send/{id},notification,alert,data-update}[/{clientId}]`.

use crate::http::body::RequestBody;
use http::{Request, Response, StatusCode};
use serde_json::json;

use super::identify;
use crate::auth::Access;
use crate::http::error::{json_response, ApiError};
use crate::http::request;
use crate::http::{HubBody, Shared};
use crate::node::PublishKind;

/// The publish endpoint a path segment names.
pub(crate) fn kind_of(segment: &str) -> Option<PublishKind> {
    Some(match segment {
        "broadcast" => PublishKind::Broadcast,
        "send" => PublishKind::Send,
        "notification" => PublishKind::Notification,
        "alert" => PublishKind::Alert,
        "data-update" => PublishKind::DataUpdate,
        _ => return None,
    })
}

pub(crate) async fn publish(
    req: Request<RequestBody>,
    shared: &Shared,
    kind: PublishKind,
    target: Option<&str>,
) -> Result<Response<HubBody>, ApiError> {
    let caller = identify(&req, shared, Access::Event)?;
    let target = target.map(request::client_id_segment).transpose()?;
    let (parts, body) = req.into_parts();
    let body = request::required_object(&parts.headers, body, &shared.settings).await?;
    let published = shared.node.publish(&caller, kind, target, &body).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "sequence": published.sequence.0,
            "messageId": published.message_id.to_string(),
        }),
    ))
}
