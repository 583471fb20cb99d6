//! The only place that maps errors to HTTP statuses. Every error is JSON:
//! `{"error": "<machine_code>", "message": "<human sentence>"}`.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

use super::HubBody;
use crate::auth::token::TokenError;
use crate::auth::AuthError;
use crate::outbox::publisher::PublishError;
use crate::outbox::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("no such endpoint")]
    NotFound,
    #[error("{method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed { method: String, allow: &'static str },
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("the event store is unavailable; nothing was stored, try again")]
    StoreUnavailable(#[source] StoreError),
    #[error("the hub is shutting down; reconnect to another node")]
    ShuttingDown,
    #[error("{message}")]
    Overloaded {
        limit: &'static str,
        message: String,
        retry_after_secs: u32,
    },
    #[error("{0}")]
    NotReady(&'static str),
    #[error("client id {client} already has {limit} open streams")]
    TooManyConnections { client: String, limit: usize },
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("{0}")]
    ClientTokenRequired(&'static str),
    #[error("the request line and headers are larger than {limit} bytes")]
    HeaderTooLarge { limit: usize },
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, code),
            ApiError::Auth(AuthError::Missing) => (StatusCode::UNAUTHORIZED, "missing_api_key"),
            ApiError::Auth(AuthError::Invalid) => (StatusCode::UNAUTHORIZED, "invalid_api_key"),
            ApiError::Auth(AuthError::Forbidden) => (StatusCode::FORBIDDEN, "insufficient_scope"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            ApiError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            ApiError::StoreUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
            ApiError::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "shutting_down"),
            ApiError::Overloaded { .. } => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            ApiError::NotReady(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            ApiError::TooManyConnections { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_connections")
            }
            ApiError::Token(TokenError::Invalid) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            ApiError::Token(TokenError::Expired) => (StatusCode::UNAUTHORIZED, "token_expired"),
            ApiError::ClientTokenRequired(_) => (StatusCode::FORBIDDEN, "client_token_required"),
            ApiError::HeaderTooLarge { .. } => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "header_too_large",
            ),
        }
    }

    pub fn into_response(self) -> Response<HubBody> {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            // Logged once here, at the boundary; the client gets the clean sentence.
            tracing::warn!(error = ?self, status = status.as_u16(), "request failed");
        }
        let body = serde_json::json!({ "error": code, "message": self.to_string() });
        let mut response = json_response(status, &body);
        let headers = response.headers_mut();
        match &self {
            ApiError::MethodNotAllowed { allow, .. } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            ApiError::Overloaded {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::TooManyConnections { .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            ApiError::StoreUnavailable(_) | ApiError::ShuttingDown => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::Auth(AuthError::Missing | AuthError::Invalid) | ApiError::Token(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError::StoreUnavailable(error)
    }
}

impl From<PublishError> for ApiError {
    fn from(error: PublishError) -> ApiError {
        match error {
            PublishError::Store(error) => ApiError::StoreUnavailable(error),
            PublishError::ShuttingDown => ApiError::ShuttingDown,
        }
    }
}

/// A JSON response with the given status.
pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<HubBody> {
    let mut response = Response::new(HubBody::full(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
