//! The only place that maps errors to HTTP statuses. Every error is JSON:
//! `{"error": "<machine_code>", "message": "<human sentence>"}`, the code one of
//! [`ErrorCode`]s.

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};

use super::HubBody;
use crate::node::{ErrorCode, NodeError, NotReady};

/// A refused request: the node's refusal, or what only HTTP can refuse.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("no such endpoint")]
    NotFound,
    #[error("{method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed { method: String, allow: &'static str },
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("the request line and headers are larger than {limit} bytes")]
    HeaderTooLarge { limit: usize },
    #[error("the request body did not arrive within {secs} s; nothing was done")]
    BodyTimeout { secs: u64 },
    #[error("this node is handling its maximum of {limit} requests; retry shortly")]
    Busy { limit: usize },
    #[error("{0}")]
    NotReady(NotReady),
}

/// The status of every code: the contract's error table, in one `match`.
pub(crate) fn status(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        InvalidClientId | InvalidFilter | InvalidPosition | InvalidEventType | InvalidTopic
        | MissingClientId | MissingBody | InvalidBody | InvalidJson | BodyUnreadable
        | MissingField | InvalidField | SequenceAhead | TokenClientMismatch | BodyNotAllowed => {
            StatusCode::BAD_REQUEST
        }
        MissingApiKey | InvalidApiKey | InvalidToken | TokenExpired | JwtInvalid
        | JwtBadSignature | JwtWrongAlgorithm | JwtExpired | JwtNotYetValid | JwtWrongAudience
        | JwtWrongIssuer | JwtUnknownKey => StatusCode::UNAUTHORIZED,
        RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        InsufficientScope | ClientTokenRequired | TopicNotGranted => StatusCode::FORBIDDEN,
        NotFound => StatusCode::NOT_FOUND,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        DemoRunning | DemoNotRunning => StatusCode::CONFLICT,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
        HeaderTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        StoreUnavailable | ShuttingDown | Overloaded | NotReady => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl ApiError {
    pub(crate) fn invalid(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError::Node(NodeError::invalid(code, message))
    }

    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            ApiError::Node(error) => error.code(),
            ApiError::NotFound => ErrorCode::NotFound,
            ApiError::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            ApiError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            ApiError::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            ApiError::HeaderTooLarge { .. } => ErrorCode::HeaderTooLarge,
            ApiError::BodyTimeout { .. } => ErrorCode::RequestTimeout,
            ApiError::Busy { .. } => ErrorCode::Overloaded,
            ApiError::NotReady(_) => ErrorCode::NotReady,
        }
    }

    /// Status, headers and JSON body: what either transport writes.
    pub(crate) fn answer(&self) -> (StatusCode, HeaderMap, Bytes) {
        let code = self.code();
        let status = status(code);
        if status.is_server_error() {
            // Logged once here, at the boundary; the client gets the clean sentence.
            tracing::warn!(error = ?self, status = status.as_u16(), "request failed");
        }
        let body = serde_json::json!({ "error": code.as_str(), "message": self.to_string() });
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let ApiError::MethodNotAllowed { allow, .. } = self {
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if let ApiError::Node(error) = self {
            if let Some(secs) = error.retry_after_secs() {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
        }
        match self {
            ApiError::Busy { .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            // The rest of the body may still be on its way: this connection cannot go on.
            ApiError::BodyTimeout { .. } => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        (status, headers, Bytes::from(body.to_string()))
    }

    pub(crate) fn into_response(self) -> Response<HubBody> {
        let (status, headers, body) = self.answer();
        let mut response = Response::new(HubBody::full(body));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }
}

/// A JSON response with the given status.
pub(crate) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response<HubBody> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(HubBody::full(Bytes::from(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
