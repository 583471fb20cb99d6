//! `GET /health/live`, `GET /health/ready`, `GET /metrics`, `GET /api/openapi.json`: no key
//! needed.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::json;

use crate::http::error::{json_response, ApiError};
use crate::http::{HubBody, Shared};

pub(crate) fn live() -> Response<HubBody> {
    json_response(StatusCode::OK, &json!({ "status": "live" }))
}

pub(crate) fn ready(shared: &Shared) -> Result<Response<HubBody>, ApiError> {
    shared.node.readiness().map_err(ApiError::NotReady)?;
    Ok(json_response(StatusCode::OK, &json!({ "status": "ready" })))
}

pub(crate) fn metrics(shared: &Shared) -> Response<HubBody> {
    let mut response = Response::new(HubBody::full(Bytes::from(shared.node.metrics_text())));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

/// The OpenAPI 3.1 document of every route (kept true by `tests/openapi.rs`).
pub(crate) fn openapi() -> Response<HubBody> {
    let mut response = Response::new(HubBody::full(Bytes::from_static(include_bytes!(
        "../openapi.json"
    ))));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
