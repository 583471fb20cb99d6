//! Routing by hand: one `match` on (method, path segments), then CORS headers.

use crate::http::body::RequestBody;
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};

use super::error::ApiError;
use super::handlers::{demo, history, ops, publish, stream, token};
use super::{static_files, HubBody, Shared};
use crate::metrics::Limit;
use crate::node::{ErrorCode, PublishKind};

/// Every endpoint the router serves, as (method, path template). The OpenAPI document must
/// list exactly these (a test checks both directions). `HEAD` and `OPTIONS` are implied.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/sse/connect"),
    ("POST", "/api/sse/ack"),
    ("GET", "/api/sse/stats"),
    ("GET", "/api/sse/connections"),
    ("GET", "/api/sse/events"),
    ("GET", "/api/sse/presence"),
    ("POST", "/api/sse/token"),
    ("POST", "/api/sse/broadcast"),
    ("POST", "/api/sse/batch"),
    ("POST", "/api/sse/send/{clientId}"),
    ("POST", "/api/sse/notification"),
    ("POST", "/api/sse/notification/{clientId}"),
    ("POST", "/api/sse/alert"),
    ("POST", "/api/sse/alert/{clientId}"),
    ("POST", "/api/sse/data-update"),
    ("POST", "/api/sse/data-update/{clientId}"),
    ("POST", "/api/demo/start"),
    ("POST", "/api/demo/stop"),
    ("GET", "/api/demo/status"),
    ("GET", "/api/openapi.json"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
];

pub(crate) async fn route(req: Request<RequestBody>, shared: &Shared) -> Response<HubBody> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    // Requests with a body hold a permit while it arrives and while they run. Bodyless reads
    // (streams count against the stream limits; probes must always answer) need none.
    let permit = match req.method() == Method::POST {
        true => Some(shared.inflight.clone().try_acquire_owned()),
        false => None,
    };
    let mut response = if req.method() == Method::OPTIONS {
        preflight()
    } else if let Some(Err(_)) = permit {
        let limit = shared.settings.max_inflight_requests;
        shared.node.metrics().limit_hit(Limit::InflightRequests);
        ApiError::Busy { limit }.into_response()
    } else {
        dispatch(req, shared).await.unwrap_or_else(|error| {
            match error {
                ApiError::PayloadTooLarge { .. } => {
                    shared.node.metrics().limit_hit(Limit::BodyBytes)
                }
                ApiError::BodyTimeout { .. } => {
                    shared.node.metrics().limit_hit(Limit::BodyReadTimeout)
                }
                _ => {}
            }
            error.into_response()
        })
    };
    drop(permit);
    if let Some(origin) = origin {
        allow_origin(
            response.headers_mut(),
            &origin,
            &shared.settings.cors_origins,
        );
    }
    response
}

async fn dispatch(
    req: Request<RequestBody>,
    shared: &Shared,
) -> Result<Response<HubBody>, ApiError> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    let is_get = method == Method::GET || method == Method::HEAD;
    let is_post = method == Method::POST;
    let wrong = |allow| ApiError::MethodNotAllowed {
        method: method.to_string(),
        allow,
    };
    match segments.as_slice() {
        ["api", "sse", "connect"] if is_get => {
            if carries_body(req.headers()) {
                return Err(ApiError::invalid(
                    ErrorCode::BodyNotAllowed,
                    "a stream request carries no body",
                ));
            }
            stream::connect(&req.into_parts().0, shared).await
        }
        ["api", "sse", "ack"] if is_post => stream::ack(req, shared).await,
        ["api", "sse", "stats"] if is_get => stream::stats(req, shared).await,
        ["api", "sse", "connections"] if is_get => stream::connections(req, shared).await,
        ["api", "sse", "events"] if is_get => history::events(req, shared).await,
        ["api", "sse", "presence"] if is_get => history::presence(req, shared).await,
        ["api", "sse", "token"] if is_post => token::issue(req, shared).await,
        ["api", "openapi.json"] if is_get => Ok(ops::openapi()),
        ["api", "sse", "batch"] if is_post => publish::batch(req, shared).await,
        ["api", "sse", "send", client] if is_post => {
            publish::publish(req, shared, PublishKind::Send, Some(client)).await
        }
        ["api", "sse", "send"] if is_post => Err(ApiError::invalid(
            ErrorCode::MissingClientId,
            "send needs a client id: POST /api/sse/send/{clientId}",
        )),
        ["api", "sse", segment] if is_post && publish::kind_of(segment).is_some() => {
            let kind = publish::kind_of(segment).unwrap_or(PublishKind::Broadcast);
            publish::publish(req, shared, kind, None).await
        }
        ["api", "sse", segment, client]
            if is_post && matches!(*segment, "notification" | "alert" | "data-update") =>
        {
            let kind = publish::kind_of(segment).unwrap_or(PublishKind::Broadcast);
            publish::publish(req, shared, kind, Some(client)).await
        }
        ["api", "demo", "start"] if is_post => demo::start(req, shared).await,
        ["api", "demo", "stop"] if is_post => demo::stop(req, shared).await,
        ["api", "demo", "status"] if is_get => demo::status(req, shared).await,
        ["health", "live"] if is_get => Ok(ops::live()),
        ["health", "ready"] if is_get => ops::ready(shared),
        ["metrics"] if is_get => Ok(ops::metrics(shared)),
        // Known paths, wrong method.
        ["api", "sse", "connect" | "stats" | "connections" | "events" | "presence"]
        | ["api", "openapi.json"]
        | ["api", "demo", "status"]
        | ["health", "live" | "ready"]
        | ["metrics"] => Err(wrong("GET, HEAD, OPTIONS")),
        ["api", "sse", "ack" | "token" | "broadcast" | "batch" | "notification" | "alert" | "data-update"]
        | ["api", "sse", "send" | "notification" | "alert" | "data-update", _]
        | ["api", "demo", "start" | "stop"] => Err(wrong("POST, OPTIONS")),
        ["api", ..] | ["health", ..] => Err(ApiError::NotFound),
        _ if is_get => {
            static_files::serve(
                shared.settings.static_dir.as_deref(),
                &path,
                method == Method::HEAD,
            )
            .await
        }
        _ => Err(ApiError::NotFound),
    }
}

/// Whether a request declares a body (a stream request must not: nobody would read it).
fn carries_body(headers: &http::HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

fn preflight() -> Response<HubBody> {
    let mut response = Response::new(HubBody::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, x-api-key, authorization, last-event-id"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// Adds the CORS headers when `origin` is allowed.
pub(crate) fn allow_origin(headers: &mut HeaderMap, origin: &HeaderValue, allowed: &[String]) {
    let Ok(text) = origin.to_str() else { return };
    let any = allowed.iter().any(|a| a == "*");
    if !any && !allowed.iter().any(|a| a.eq_ignore_ascii_case(text)) {
        return;
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(header::VARY, HeaderValue::from_static("origin"));
    // Cookies (a JWT) only for origins named one by one: with `*` any site could read
    // answers made with its visitors' cookies.
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(text)) {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("retry-after"),
    );
}
