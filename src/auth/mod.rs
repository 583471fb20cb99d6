//! Who a request is: [`Authenticator::identify`] turns the credentials a request presented
//! (an API key, a client token) into a [`Caller`], for every verb of the node. API keys have
//! scopes and are compared as SHA-256 digests in constant time, so neither a key's bytes nor
//! its length leak through timing; client tokens ([`token`]) bind one client id and the topic
//! selectors it may use ([`grant`]).

pub mod grant;
pub mod token;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use self::grant::TopicGrant;
use self::token::{Claims, TokenError, TokenSigner};
use crate::event::{ClientId, UnixMillis};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Connect, ack, stats, demo status.
    Subscribe,
    /// Everything.
    Publish,
}

/// Why a request was not authorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("an API key is required (X-API-Key header, Authorization: Bearer, or apikey=)")]
    Missing,
    #[error("the API key is not valid")]
    Invalid,
    #[error("this API key may not use this endpoint (it needs publish scope)")]
    Forbidden,
    #[error("the client token is malformed or its signature does not match")]
    TokenInvalid,
    #[error("the client token has expired")]
    TokenExpired,
    /// `--require-client-tokens`: the verb needs the client's own token, not a shared key.
    #[error("{0}")]
    ClientTokenRequired(&'static str),
}

impl From<TokenError> for AuthError {
    fn from(error: TokenError) -> AuthError {
        match error {
            TokenError::Invalid => AuthError::TokenInvalid,
            TokenError::Expired => AuthError::TokenExpired,
        }
    }
}

/// What a request presented, wherever the transport found it (header, query parameter).
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    pub api_key: Option<&'a str>,
    /// A client token from `POST /api/sse/token`; an empty one counts as none.
    pub client_token: Option<&'a str>,
}

/// Who a request acts as, once its credentials were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A key with this scope (open mode has every scope). Keys are trusted backends: every
    /// topic.
    Key(Scope),
    /// A client token: acts as its one client id, on the client verbs only, with the topic
    /// selectors it carries.
    Client(Claims),
}

impl Caller {
    /// The selectors the caller may subscribe with (streams, history, presence).
    pub fn subscribe_grant(&self) -> TopicGrant {
        match self {
            Caller::Key(_) => TopicGrant::All,
            Caller::Client(claims) => claims.topics.clone(),
        }
    }

    /// The topics the caller may publish to; `None` when it may not publish at all.
    pub fn publish_grant(&self) -> Option<TopicGrant> {
        match self {
            Caller::Key(Scope::Publish) => Some(TopicGrant::All),
            Caller::Key(Scope::Subscribe) | Caller::Client(_) => None,
        }
    }

    /// The client id a token binds the caller to (`None` for a key).
    pub fn bound_client(&self) -> Option<&ClientId> {
        match self {
            Caller::Client(claims) => Some(&claims.client),
            Caller::Key(_) => None,
        }
    }

    /// When the caller's credential expires, in unix seconds (`None` for a key).
    pub fn expires_at(&self) -> Option<i64> {
        match self {
            Caller::Client(claims) => Some(claims.expires_at),
            Caller::Key(_) => None,
        }
    }
}

/// What a verb accepts as a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A key with publish scope.
    Publish,
    /// A key with subscribe (or publish) scope.
    Subscribe,
    /// As `Subscribe`, or a client token: the verbs that act as one client (stream, ack,
    /// history, presence).
    Client,
    /// The publish endpoints: a key with publish scope.
    Event,
}

/// The node's credentials: API keys and the client token signer.
pub struct Authenticator {
    pub keys: KeyRing,
    pub tokens: TokenSigner,
}

impl Authenticator {
    /// The caller a request is, for a verb with `access`. Where a client token counts, it
    /// wins over a key; elsewhere it is not looked at.
    ///
    /// # Errors
    /// A bad or expired token, a missing or unknown key, or a key whose scope is too narrow.
    pub fn identify(
        &self,
        credentials: &Credentials<'_>,
        access: Access,
        now: UnixMillis,
    ) -> Result<Caller, AuthError> {
        let token = credentials.client_token.filter(|t| !t.is_empty());
        let needed = match (access, token) {
            (Access::Client, Some(token)) => {
                return Ok(Caller::Client(self.tokens.verify(token, now)?))
            }
            (Access::Publish | Access::Event, _) => Scope::Publish,
            (Access::Subscribe | Access::Client, _) => Scope::Subscribe,
        };
        Ok(Caller::Key(
            self.keys.authorize(credentials.api_key, needed)?,
        ))
    }
}

pub struct KeyRing {
    publish: Vec<[u8; 32]>,
    subscribe: Vec<[u8; 32]>,
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl KeyRing {
    pub fn new(publish: &[String], subscribe: &[String]) -> KeyRing {
        KeyRing {
            publish: publish.iter().map(|k| digest(k)).collect(),
            subscribe: subscribe.iter().map(|k| digest(k)).collect(),
        }
    }

    /// No keys configured: every request has every scope.
    pub fn is_open(&self) -> bool {
        self.publish.is_empty() && self.subscribe.is_empty()
    }

    /// The scope of a presented key, comparing against every configured key.
    fn scope_of(&self, key: &str) -> Option<Scope> {
        let presented = digest(key);
        let matches = |keys: &[[u8; 32]]| {
            keys.iter().fold(subtle::Choice::from(0), |found, k| {
                found | k.ct_eq(&presented)
            })
        };
        if bool::from(matches(&self.publish)) {
            Some(Scope::Publish)
        } else if bool::from(matches(&self.subscribe)) {
            Some(Scope::Subscribe)
        } else {
            None
        }
    }

    /// Authorises a request that needs `needed`, given the key it presented.
    ///
    /// # Errors
    /// `Missing` without a key, `Invalid` for an unknown key, `Forbidden` when the key's scope
    /// is too narrow.
    pub fn authorize(&self, presented: Option<&str>, needed: Scope) -> Result<Scope, AuthError> {
        if self.is_open() {
            return Ok(Scope::Publish);
        }
        let key = presented
            .filter(|k| !k.is_empty())
            .ok_or(AuthError::Missing)?;
        let scope = self.scope_of(key).ok_or(AuthError::Invalid)?;
        if scope < needed {
            return Err(AuthError::Forbidden);
        }
        Ok(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::new(&["pub-1".into(), "pub-2".into()], &["sub-1".into()])
    }

    #[test]
    fn scopes_are_enforced() {
        let ring = ring();
        assert_eq!(
            ring.authorize(Some("pub-2"), Scope::Publish),
            Ok(Scope::Publish)
        );
        assert_eq!(
            ring.authorize(Some("pub-1"), Scope::Subscribe),
            Ok(Scope::Publish)
        );
        assert_eq!(
            ring.authorize(Some("sub-1"), Scope::Subscribe),
            Ok(Scope::Subscribe)
        );
        assert_eq!(
            ring.authorize(Some("sub-1"), Scope::Publish),
            Err(AuthError::Forbidden)
        );
        assert_eq!(
            ring.authorize(Some("nope"), Scope::Subscribe),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            ring.authorize(None, Scope::Subscribe),
            Err(AuthError::Missing)
        );
        assert_eq!(
            ring.authorize(Some(""), Scope::Subscribe),
            Err(AuthError::Missing)
        );
    }

    #[test]
    fn open_rings_allow_everything() {
        let open = KeyRing::new(&[], &[]);
        assert_eq!(open.authorize(None, Scope::Publish), Ok(Scope::Publish));
    }
}
