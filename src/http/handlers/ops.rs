//! `GET /health/live`, `GET /health/ready`, `GET /metrics`: no key needed.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::json;

use crate::http::error::{json_response, ApiError};
use crate::http::{AppState, HubBody};

pub fn live() -> Response<HubBody> {
    json_response(StatusCode::OK, &json!({ "status": "live" }))
}

pub fn ready(state: &AppState) -> Result<Response<HubBody>, ApiError> {
    if state.readiness.is_draining() {
        return Err(ApiError::NotReady("the hub is shutting down"));
    }
    if !state.dispatch.store_ok() {
        return Err(ApiError::NotReady("the event store is unreachable"));
    }
    if !state.dispatch.is_ready() {
        return Err(ApiError::NotReady("the dispatcher is catching up"));
    }
    Ok(json_response(StatusCode::OK, &json!({ "status": "ready" })))
}

pub fn metrics(state: &AppState) -> Response<HubBody> {
    let mut response = Response::new(HubBody::full(Bytes::from(state.metrics.encode())));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// The OpenAPI 3.1 document of every route (kept true by `tests/openapi.rs`).
pub fn openapi() -> Response<HubBody> {
    let mut response = Response::new(HubBody::full(Bytes::from_static(include_bytes!(
        "../openapi.json"
    ))));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
