//! What the node's verbs refuse, and the closed vocabulary of error codes every answer uses.
//! Transports map each code to their status (HTTP: `http::error`, the only place that knows
//! status codes); a test keeps docs/API.md's error table equal to [`ErrorCode::ALL`].

use crate::auth::jwt::JwtError;
use crate::auth::AuthError;
use crate::outbox::publisher::PublishError;
use crate::outbox::StoreError;

vocabulary! {
    /// The `error` field of every error answer.
    ErrorCode {
        InvalidClientId => "invalid_client_id",
        InvalidFilter => "invalid_filter",
        InvalidPosition => "invalid_position",
        InvalidEventType => "invalid_event_type",
        InvalidTopic => "invalid_topic",
        MissingClientId => "missing_client_id",
        MissingBody => "missing_body",
        InvalidBody => "invalid_body",
        InvalidJson => "invalid_json",
        BodyUnreadable => "body_unreadable",
        MissingField => "missing_field",
        InvalidField => "invalid_field",
        SequenceAhead => "sequence_ahead",
        TokenClientMismatch => "token_client_mismatch",
        BodyNotAllowed => "body_not_allowed",
        MissingApiKey => "missing_api_key",
        InvalidApiKey => "invalid_api_key",
        InvalidToken => "invalid_token",
        TokenExpired => "token_expired",
        JwtInvalid => "jwt_invalid",
        JwtBadSignature => "jwt_bad_signature",
        JwtWrongAlgorithm => "jwt_wrong_algorithm",
        JwtExpired => "jwt_expired",
        JwtNotYetValid => "jwt_not_yet_valid",
        JwtWrongAudience => "jwt_wrong_audience",
        JwtWrongIssuer => "jwt_wrong_issuer",
        JwtUnknownKey => "jwt_unknown_key",
        InsufficientScope => "insufficient_scope",
        ClientTokenRequired => "client_token_required",
        TopicNotGranted => "topic_not_granted",
        NotFound => "not_found",
        MethodNotAllowed => "method_not_allowed",
        DemoRunning => "demo_running",
        DemoNotRunning => "demo_not_running",
        PayloadTooLarge => "payload_too_large",
        RequestTimeout => "request_timeout",
        UnsupportedMediaType => "unsupported_media_type",
        TooManyConnections => "too_many_connections",
        HeaderTooLarge => "header_too_large",
        StoreUnavailable => "store_unavailable",
        ShuttingDown => "shutting_down",
        Overloaded => "overloaded",
        NotReady => "not_ready",
    }
}

/// Why a verb was refused. Nothing changed in the node when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Bad input: `code` says which rule it broke.
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The request contradicts the current state (the demo is already on, ...).
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// A topic or selector outside the caller's grant (the message names it).
    #[error("{message}")]
    NotGranted { message: String },
    #[error("the event store is unavailable; nothing was stored, try again")]
    StoreUnavailable(#[source] StoreError),
    #[error("the hub is shutting down; reconnect to another node")]
    ShuttingDown,
    /// This node holds its maximum of streams.
    #[error("this node holds its maximum of {limit} streams; retry later or elsewhere")]
    Overloaded { limit: usize },
    #[error("client id {client} already has {limit} open streams")]
    TooManyConnections { client: String, limit: usize },
}

impl NodeError {
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> NodeError {
        NodeError::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            NodeError::Invalid { code, .. } | NodeError::Conflict { code, .. } => *code,
            NodeError::Auth(error) => auth_code(error),
            NodeError::NotGranted { .. } => ErrorCode::TopicNotGranted,
            NodeError::StoreUnavailable(_) => ErrorCode::StoreUnavailable,
            NodeError::ShuttingDown => ErrorCode::ShuttingDown,
            NodeError::Overloaded { .. } => ErrorCode::Overloaded,
            NodeError::TooManyConnections { .. } => ErrorCode::TooManyConnections,
        }
    }

    /// Seconds a client should wait before trying again, when waiting helps.
    pub fn retry_after_secs(&self) -> Option<u32> {
        match self {
            NodeError::StoreUnavailable(_) | NodeError::ShuttingDown => Some(1),
            NodeError::Overloaded { .. } | NodeError::TooManyConnections { .. } => Some(5),
            _ => None,
        }
    }
}

fn auth_code(error: &AuthError) -> ErrorCode {
    match error {
        AuthError::Missing => ErrorCode::MissingApiKey,
        AuthError::Invalid => ErrorCode::InvalidApiKey,
        AuthError::Forbidden | AuthError::JwtForbidden(_) => ErrorCode::InsufficientScope,
        AuthError::Jwt(error) => match error {
            JwtError::Malformed(_) | JwtError::NotConfigured => ErrorCode::JwtInvalid,
            JwtError::BadSignature => ErrorCode::JwtBadSignature,
            JwtError::WrongAlgorithm => ErrorCode::JwtWrongAlgorithm,
            JwtError::Expired => ErrorCode::JwtExpired,
            JwtError::NotYetValid => ErrorCode::JwtNotYetValid,
            JwtError::WrongAudience => ErrorCode::JwtWrongAudience,
            JwtError::WrongIssuer => ErrorCode::JwtWrongIssuer,
            JwtError::UnknownKey => ErrorCode::JwtUnknownKey,
        },
        AuthError::TokenInvalid => ErrorCode::InvalidToken,
        AuthError::TokenExpired => ErrorCode::TokenExpired,
        AuthError::ClientTokenRequired(_) => ErrorCode::ClientTokenRequired,
    }
}

impl From<StoreError> for NodeError {
    fn from(error: StoreError) -> NodeError {
        NodeError::StoreUnavailable(error)
    }
}

impl From<PublishError> for NodeError {
    fn from(error: PublishError) -> NodeError {
        match error {
            PublishError::Store(error) => NodeError::StoreUnavailable(error),
            PublishError::ShuttingDown => NodeError::ShuttingDown,
        }
    }
}
