//! Who a request is: [`Authenticator::identify`] turns the credentials a request presented
//! (an API key, a client token, a JWT) into a [`Caller`], for every verb of the node. API keys
//! have scopes and are compared as SHA-256 digests in constant time, so neither a key's bytes
//! nor its length leak through timing; client tokens ([`token`]) bind one client id and the
//! topic selectors it may use ([`grant`]); JWTs ([`jwt`]) bind one client id and carry
//! subscribe and publish grants.
//!
//! One order decides which credential counts, for every endpoint: `token=` (a client token
//! where a client may act, or a JWT), then a JWT in `Authorization: Bearer`, then an API key
//! (`X-API-Key`, a Bearer value that is not JWT-shaped, `apikey=`), then the JWT cookie (last:
//! a browser sends it whether or not the page meant to use it), then nothing (open mode).

pub mod grant;
pub mod jwt;
pub mod token;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use self::grant::TopicGrant;
use self::jwt::{JwtClaims, JwtError, JwtVerifier};
use self::token::{looks_like_client_token, Claims, TokenError, TokenSigner};
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
    /// A JWT on an endpoint for keys, or a publish without `ssehub.publish`.
    #[error("{0}")]
    JwtForbidden(&'static str),
    #[error(transparent)]
    Jwt(#[from] JwtError),
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

/// What a request presented, wherever the transport found it (header, query parameter,
/// cookie). Empty values count as none.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// `X-API-Key`, a Bearer value that is not JWT-shaped ([`jwt::looks_like_jwt`]), or
    /// `apikey=`.
    pub api_key: Option<&'a str>,
    /// `token=`: a client token from `POST /api/sse/token` (`v1.`/`v2.`), or a JWT.
    pub client_token: Option<&'a str>,
    /// A JWT-shaped `Authorization: Bearer` value.
    pub bearer_jwt: Option<&'a str>,
    /// The JWT cookie's value (`--jwt-cookie`).
    pub cookie_jwt: Option<&'a str>,
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
    /// A JWT: acts as its `sub`, on the client verbs, and publishes if its claims grant it.
    Jwt(JwtClaims),
}

impl Caller {
    /// The selectors the caller may subscribe with (streams, history, presence).
    pub fn subscribe_grant(&self) -> TopicGrant {
        match self {
            Caller::Key(_) => TopicGrant::All,
            Caller::Client(claims) => claims.topics.clone(),
            Caller::Jwt(claims) => claims.subscribe.clone(),
        }
    }

    /// The topics the caller may publish to; `None` when it may not publish at all.
    pub fn publish_grant(&self) -> Option<TopicGrant> {
        match self {
            Caller::Key(Scope::Publish) => Some(TopicGrant::All),
            Caller::Key(Scope::Subscribe) | Caller::Client(_) => None,
            Caller::Jwt(claims) => claims.publish.clone(),
        }
    }

    /// The client id a token binds the caller to (`None` for a key).
    pub fn bound_client(&self) -> Option<&ClientId> {
        match self {
            Caller::Client(claims) => Some(&claims.client),
            Caller::Jwt(claims) => Some(&claims.client),
            Caller::Key(_) => None,
        }
    }

    /// When the caller's credential expires, in unix seconds (`None` for a key).
    pub fn expires_at(&self) -> Option<i64> {
        match self {
            Caller::Client(claims) => Some(claims.expires_at),
            Caller::Jwt(claims) => Some(claims.expires_at),
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

/// The node's credentials: API keys, the client token signer and, when configured, the JWT
/// verifier.
pub struct Authenticator {
    pub keys: KeyRing,
    pub tokens: TokenSigner,
    pub jwt: Option<JwtVerifier>,
}

impl Authenticator {
    /// The caller a request is, for a verb with `access`, by the order in the module docs.
    /// A client token counts only where a client may act; a JWT is verified wherever it is
    /// presented, and the verb then decides whether a JWT may use it. Without a JWT verifier
    /// a JWT-shaped Bearer value is tried as an API key and the cookie is not looked at.
    ///
    /// # Errors
    /// A bad or expired token or JWT, a missing or unknown key, or a key whose scope is too
    /// narrow.
    pub fn identify(
        &self,
        credentials: &Credentials<'_>,
        access: Access,
        now: UnixMillis,
    ) -> Result<Caller, AuthError> {
        if let Some(token) = present(credentials.client_token) {
            if looks_like_client_token(token) || self.jwt.is_none() || !jwt::looks_like_jwt(token) {
                if access == Access::Client {
                    return Ok(Caller::Client(self.tokens.verify(token, now)?));
                }
            } else {
                return self.jwt_caller(token, now);
            }
        }
        if let Some(jwt) = present(credentials.bearer_jwt) {
            if self.jwt.is_some() {
                return self.jwt_caller(jwt, now);
            }
        }
        let key = present(credentials.api_key).or(present(credentials.bearer_jwt));
        if key.is_none() && self.jwt.is_some() {
            if let Some(jwt) = present(credentials.cookie_jwt) {
                return self.jwt_caller(jwt, now);
            }
        }
        let needed = match access {
            Access::Publish | Access::Event => Scope::Publish,
            Access::Subscribe | Access::Client => Scope::Subscribe,
        };
        Ok(Caller::Key(self.keys.authorize(key, needed)?))
    }

    fn jwt_caller(&self, token: &str, now: UnixMillis) -> Result<Caller, AuthError> {
        let verifier = self.jwt.as_ref().ok_or(JwtError::NotConfigured)?;
        Ok(Caller::Jwt(verifier.verify(token, now)?))
    }

    /// Whether JWTs are accepted.
    pub fn accepts_jwt(&self) -> bool {
        self.jwt.is_some()
    }
}

/// A credential that was presented: empty values count as none.
fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

pub struct KeyRing {
    publish: Vec<[u8; 32]>,
    subscribe: Vec<[u8; 32]>,
    /// No keys but other credentials (JWTs) configured: a request without one is refused
    /// instead of running in open mode.
    closed: bool,
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl KeyRing {
    pub fn new(publish: &[String], subscribe: &[String]) -> KeyRing {
        KeyRing {
            publish: publish.iter().map(|k| digest(k)).collect(),
            subscribe: subscribe.iter().map(|k| digest(k)).collect(),
            closed: false,
        }
    }

    /// The same ring, never open: JWTs are configured, so a request without any credential
    /// is 401 even without keys.
    pub fn closed(mut self) -> KeyRing {
        self.closed = true;
        self
    }

    /// No keys configured: every request has every scope.
    pub fn is_open(&self) -> bool {
        !self.closed && self.publish.is_empty() && self.subscribe.is_empty()
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
