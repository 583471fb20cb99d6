//! `POST /api/sse/{broadcast,send/{id},notification,alert,data-update}[/{clientId}]` and
//! `POST /api/sse/batch`.

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response};

use crate::http::body::RequestBody;

use super::identify;
use crate::auth::Access;
use crate::http::error::ApiError;
use crate::http::request;
use crate::http::{HubBody, Shared};
use crate::node::{PublishKind, Published};

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
    let bytes = request::required_json(&parts.headers, body, &shared.settings).await?;
    let body = request::typed(&bytes)?;
    let published = shared.node.publish(&caller, kind, target, &body).await?;
    let mut answer = String::with_capacity(ACK_LEN);
    ack(&mut answer, published);
    Ok(json_ok(answer))
}

/// `POST /api/sse/batch`: `{"events": [...]}` → `{"results": [{"sequence", "messageId"}, ...]}`.
pub(crate) async fn batch(
    req: Request<RequestBody>,
    shared: &Shared,
) -> Result<Response<HubBody>, ApiError> {
    let caller = identify(&req, shared, Access::Event)?;
    let (parts, body) = req.into_parts();
    let bytes = request::required_json(&parts.headers, body, &shared.settings).await?;
    let body = request::typed(&bytes)?;
    let published = shared.node.publish_batch(&caller, &body).await?;
    let mut answer = String::with_capacity(16 + published.len() * (ACK_LEN + 1));
    answer.push_str(r#"{"results":["#);
    for (i, one) in published.into_iter().enumerate() {
        if i > 0 {
            answer.push(',');
        }
        ack(&mut answer, one);
    }
    answer.push_str("]}");
    Ok(json_ok(answer))
}

/// Longest `{"sequence":N,"messageId":"<uuid>"}`.
const ACK_LEN: usize = 80;

/// One acknowledgement, written straight into the answer (this is every publish's answer:
/// no JSON tree for two fields).
fn ack(out: &mut String, published: Published) {
    out.push_str(r#"{"sequence":"#);
    out.push_str(itoa::Buffer::new().format(published.sequence.0));
    out.push_str(r#","messageId":""#);
    out.push_str(published.message_id.encode(&mut [0; 36]));
    out.push_str("\"}");
}

fn json_ok(body: String) -> Response<HubBody> {
    let mut response = Response::new(HubBody::full(Bytes::from(body)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
