//! A client's own verbs: acknowledging a position, and the token a backend issues for it.

use super::grants::selectors_field;
use super::open::token_client_mismatch;
use super::{require, ErrorCode, Node, NodeError};
use crate::auth::{Access, AuthError, Caller, Scope};
use crate::event::{ClientId, Selector, Sequence, UnixMillis};
use crate::outbox::checkpoint::AckError;

/// Without `ttlSeconds`: an hour, long enough for a session, short enough to limit a leak.
const DEFAULT_TOKEN_TTL_SECS: u64 = 3600;
/// One week bounds how long a leaked client token is useful.
pub const MAX_TOKEN_TTL_SECS: u64 = 7 * 24 * 3600;

/// A signed client token and what it binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub client: ClientId,
    pub expires_at: UnixMillis,
    /// The selectors the token grants (empty: none).
    pub topics: Vec<Selector>,
}

impl Node {
    /// Records that `client` processed everything through `sequence`. Checkpoints only move
    /// forward; a token may only ack for its own client, and under `--require-client-tokens`
    /// a subscribe key may not ack at all.
    ///
    /// # Errors
    /// Auth, a token for another client, a sequence past the newest event, the store.
    pub async fn ack(
        &self,
        caller: &Caller,
        client: ClientId,
        sequence: Sequence,
    ) -> Result<(), NodeError> {
        require(caller, Access::Client)?;
        match caller {
            Caller::Client(_) | Caller::Jwt(_) if caller.bound_client() != Some(&client) => {
                return Err(token_client_mismatch())
            }
            Caller::Key(Scope::Subscribe) if self.settings.require_client_tokens => {
                return Err(AuthError::ClientTokenRequired(
                    "acknowledging for a client id needs that client's token (token=)",
                )
                .into())
            }
            _ => {}
        }
        if sequence > self.dispatch.head() && sequence > self.log.head().await? {
            return Err(NodeError::invalid(
                ErrorCode::SequenceAhead,
                format!("`sequence` {sequence} is past the newest event; acknowledge only what you received"),
            ));
        }
        self.checkpoints
            .record(client, sequence)
            .await
            .map_err(|error| match error {
                AckError::Store(error) => NodeError::StoreUnavailable(error),
                AckError::ShuttingDown => NodeError::ShuttingDown,
            })
    }

    /// Issues a token binding `client` for `ttl_secs` (default an hour, at most a week) that
    /// may subscribe with the selectors of `topics` (a body's `topics`, checked here).
    ///
    /// # Errors
    /// Auth, a ttl out of range, bad selectors.
    pub fn issue_token(
        &self,
        caller: &Caller,
        client: ClientId,
        ttl_secs: Option<u64>,
        topics: Option<&serde_json::Value>,
    ) -> Result<IssuedToken, NodeError> {
        require(caller, Access::Publish)?;
        let ttl = ttl_secs.unwrap_or(DEFAULT_TOKEN_TTL_SECS);
        if !(1..=MAX_TOKEN_TTL_SECS).contains(&ttl) {
            return Err(NodeError::invalid(
                ErrorCode::InvalidField,
                format!("`ttlSeconds` must be a whole number from 1 to {MAX_TOKEN_TTL_SECS}"),
            ));
        }
        let topics = selectors_field(topics)?;
        let expires_at = UnixMillis::now().0 / 1000 + ttl as i64;
        Ok(IssuedToken {
            token: self.auth.tokens.issue(&client, expires_at, &topics),
            client,
            expires_at: UnixMillis(expires_at * 1000),
            topics,
        })
    }
}
