//! Routing by hand: one `match` on (method, path segments), then CORS headers.

use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::error::ApiError;
use super::handlers::{demo, ops, publish, subscribe, token};
use super::{static_files, AppState, HubBody};

/// Every endpoint the router serves, as (method, path template). The OpenAPI document must
/// list exactly these (a test checks both directions). `HEAD` and `OPTIONS` are implied.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/sse/connect"),
    ("POST", "/api/sse/ack"),
    ("GET", "/api/sse/stats"),
    ("POST", "/api/sse/token"),
    ("POST", "/api/sse/broadcast"),
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

pub async fn route(req: Request<Incoming>, state: &AppState) -> Response<HubBody> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut response = if req.method() == Method::OPTIONS {
        preflight()
    } else {
        dispatch(req, state).await.unwrap_or_else(|error| {
            if let ApiError::PayloadTooLarge { .. } = error {
                state.metrics.limit_hit("body_bytes");
            }
            error.into_response()
        })
    };
    if let Some(origin) = origin {
        allow_origin(&mut response, &origin, &state.settings.cors_origins);
    }
    response
}

async fn dispatch(req: Request<Incoming>, state: &AppState) -> Result<Response<HubBody>, ApiError> {
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
                return Err(ApiError::bad_request(
                    "body_not_allowed",
                    "a stream request carries no body",
                ));
            }
            subscribe::connect(&req.into_parts().0, state).await
        }
        ["api", "sse", "ack"] if is_post => subscribe::ack(req, state).await,
        ["api", "sse", "stats"] if is_get => subscribe::stats(req, state).await,
        ["api", "sse", "token"] if is_post => token::issue(req, state).await,
        ["api", "openapi.json"] if is_get => Ok(ops::openapi()),
        ["api", "sse", "send", client] if is_post => {
            publish::publish(req, state, publish::Kind::Send, Some(client)).await
        }
        ["api", "sse", "send"] if is_post => Err(ApiError::bad_request(
            "missing_client_id",
            "send needs a client id: POST /api/sse/send/{clientId}",
        )),
        ["api", "sse", kind] if is_post && publish::Kind::from_segment(kind).is_some() => {
            let kind = publish::Kind::from_segment(kind).unwrap_or(publish::Kind::Broadcast);
            if kind == publish::Kind::Send {
                return Err(ApiError::bad_request(
                    "missing_client_id",
                    "send needs a client id",
                ));
            }
            publish::publish(req, state, kind, None).await
        }
        ["api", "sse", kind, client]
            if is_post && matches!(*kind, "notification" | "alert" | "data-update") =>
        {
            let kind = publish::Kind::from_segment(kind).unwrap_or(publish::Kind::Broadcast);
            publish::publish(req, state, kind, Some(client)).await
        }
        ["api", "demo", "start"] if is_post => demo::start(req, state).await,
        ["api", "demo", "stop"] if is_post => demo::stop(req, state).await,
        ["api", "demo", "status"] if is_get => demo::status(req, state).await,
        ["health", "live"] if is_get => Ok(ops::live()),
        ["health", "ready"] if is_get => ops::ready(state),
        ["metrics"] if is_get => Ok(ops::metrics(state)),
        // Known paths, wrong method.
        ["api", "sse", "connect" | "stats"]
        | ["api", "openapi.json"]
        | ["api", "demo", "status"]
        | ["health", "live" | "ready"]
        | ["metrics"] => Err(wrong("GET, HEAD, OPTIONS")),
        ["api", "sse", "ack" | "token" | "broadcast" | "notification" | "alert" | "data-update"]
        | ["api", "sse", "send" | "notification" | "alert" | "data-update", _]
        | ["api", "demo", "start" | "stop"] => Err(wrong("POST, OPTIONS")),
        ["api", ..] | ["health", ..] => Err(ApiError::NotFound),
        _ if is_get => {
            static_files::serve(
                state.settings.static_dir.as_deref(),
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

pub fn allow_origin(response: &mut Response<HubBody>, origin: &HeaderValue, allowed: &[String]) {
    let Ok(text) = origin.to_str() else { return };
    let any = allowed.iter().any(|a| a == "*");
    if !any && !allowed.iter().any(|a| a.eq_ignore_ascii_case(text)) {
        return;
    }
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(header::VARY, HeaderValue::from_static("origin"));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("retry-after"),
    );
}
