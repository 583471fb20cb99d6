//! Standard JWTs (RFC 7519) from an existing identity provider: an HS256 secret, a PEM public
//! key (RS256, ES256 or EdDSA) or a JWKS (a file, or a URL that `http::jwks` keeps fresh).
//!
//! **The algorithm comes from the key, never from the token.** Each configured key carries the
//! one algorithm it verifies; a token whose header names another is refused with
//! `jwt_wrong_algorithm` before any signature check, so `none` and HS/RS confusion (an RSA
//! public key used as an HMAC secret) cannot happen.
//!
//! Claims: `sub` is the client id the caller acts as (as a client token binds one), `exp` is
//! required (checked with [`JwtSettings::leeway`]), `nbf`, `iss` and `aud` are checked when
//! present or configured, and an `ssehub` object grants topics:
//! `{"subscribe": [selectors], "publish": [selectors]}`, an absent list being no right.
//!
//! Verification is synchronous: a token whose `kid` the current key set lacks asks the JWKS
//! keeper for a refresh (rate-limited) and is refused with `jwt_unknown_key`; the next request
//! after the refresh succeeds. So every verb identifies its caller without awaiting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use parking_lot::{Mutex, RwLock};
use serde::Deserialize;
use tokio::sync::Notify;

use super::grant::TopicGrant;
use crate::event::{ClientId, Selector, UnixMillis};

/// Most selectors one list of the `ssehub` claim may hold: bounds the work of each check.
pub const MAX_CLAIM_SELECTORS: usize = 256;
/// An unknown `kid` asks for a JWKS refresh at most this often, so a flood of tokens with
/// made-up key ids cannot hammer the identity provider.
pub const UNKNOWN_KID_REFRESH_EVERY: Duration = Duration::from_secs(5);

/// Why a JWT was refused. Each is a 401 with its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the JWT is malformed: {0}")]
    Malformed(&'static str),
    #[error("the JWT's signature does not match any configured key")]
    BadSignature,
    #[error("the JWT's algorithm is not the one its key verifies (the hub takes the algorithm from its configured key, never from the token; `none` is never accepted)")]
    WrongAlgorithm,
    #[error("the JWT has expired")]
    Expired,
    #[error("the JWT is not valid yet (nbf)")]
    NotYetValid,
    #[error("the JWT's audience (aud) is not this hub's")]
    WrongAudience,
    #[error("the JWT's issuer (iss) is not the configured one")]
    WrongIssuer,
    #[error("no configured key has the JWT's key id (kid); the key set is being refreshed, retry shortly")]
    UnknownKey,
    #[error("JWTs are not accepted by this hub (no --jwt-secret, --jwt-public-key, --jwks-file or --jwks-url)")]
    NotConfigured,
}

/// Why a key could not be loaded (a configuration error, or a bad JWKS answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// A verified JWT's claims: who the caller is and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtClaims {
    /// `sub`.
    pub client: ClientId,
    /// `exp`, unix seconds.
    pub expires_at: i64,
    /// `ssehub.subscribe` (absent: no topic).
    pub subscribe: TopicGrant,
    /// `ssehub.publish`; `None` when absent: the caller may not publish.
    pub publish: Option<TopicGrant>,
}

/// One verification key and the one algorithm it verifies.
#[derive(Clone)]
pub struct VerifyKey {
    pub kid: Option<String>,
    pub algorithm: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Keys to verify with.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    pub keys: Vec<VerifyKey>,
}

impl KeySet {
    /// An HS256 shared secret.
    pub fn hs256(secret: &[u8]) -> KeySet {
        KeySet {
            keys: vec![VerifyKey {
                kid: None,
                algorithm: Algorithm::HS256,
                key: DecodingKey::from_secret(secret),
            }],
        }
    }

    /// A PEM public key: RSA (RS256), EC P-256 (ES256) or Ed25519 (EdDSA), told apart by the
    /// key's own algorithm identifier.
    ///
    /// # Errors
    /// When the text is not a PEM public key of one of those types.
    pub fn from_pem(pem: &[u8]) -> Result<KeySet, KeyError> {
        let (algorithm, key) = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            (Algorithm::RS256, key)
        } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            (Algorithm::ES256, key)
        } else if let Ok(key) = DecodingKey::from_ed_pem(pem) {
            (Algorithm::EdDSA, key)
        } else {
            return Err(KeyError(
                "not a PEM public key of RSA, EC P-256 or Ed25519".into(),
            ));
        };
        Ok(KeySet {
            keys: vec![VerifyKey {
                kid: None,
                algorithm,
                key,
            }],
        })
    }

    /// A JWKS document (`{"keys": [...]}`). Signature keys of RSA, EC P-256 and Ed25519 are
    /// taken with the algorithm their `alg` names (or, without `alg`, the one their type
    /// implies); symmetric (`oct`) keys, encryption keys and other curves are skipped, and so
    /// is a key whose `alg` disagrees with its type.
    ///
    /// # Errors
    /// When the document is not a JWKS, or holds no usable key.
    pub fn from_jwks(json: &[u8]) -> Result<KeySet, KeyError> {
        let set: JwkSet = serde_json::from_slice(json)
            .map_err(|e| KeyError(format!("not a JWKS document: {e}")))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
                continue;
            }
            let implied = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
                    Algorithm::EdDSA
                }
                _ => continue,
            };
            let algorithm = match jwk.common.key_algorithm {
                None => implied,
                Some(KeyAlgorithm::RS256) if implied == Algorithm::RS256 => Algorithm::RS256,
                Some(KeyAlgorithm::RS384) if implied == Algorithm::RS256 => Algorithm::RS384,
                Some(KeyAlgorithm::RS512) if implied == Algorithm::RS256 => Algorithm::RS512,
                Some(KeyAlgorithm::PS256) if implied == Algorithm::RS256 => Algorithm::PS256,
                Some(KeyAlgorithm::ES256) if implied == Algorithm::ES256 => Algorithm::ES256,
                Some(KeyAlgorithm::EdDSA) if implied == Algorithm::EdDSA => Algorithm::EdDSA,
                Some(_) => continue,
            };
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            keys.push(VerifyKey {
                kid: jwk.common.key_id.clone(),
                algorithm,
                key,
            });
        }
        if keys.is_empty() {
            return Err(KeyError(
                "the JWKS holds no RSA, EC P-256 or Ed25519 signature key".into(),
            ));
        }
        Ok(KeySet { keys })
    }
}

/// A JWKS that a keeper task replaces now and then: the last good set stays in use while a
/// refresh fails.
#[derive(Default)]
pub struct Jwks {
    set: RwLock<Arc<KeySet>>,
    wanted: Notify,
    /// When an unknown `kid` last asked for a refresh.
    last_asked: Mutex<Option<Instant>>,
}

impl Jwks {
    pub fn new(set: KeySet) -> Jwks {
        Jwks {
            set: RwLock::new(Arc::new(set)),
            ..Jwks::default()
        }
    }

    pub fn current(&self) -> Arc<KeySet> {
        self.set.read().clone()
    }

    pub fn replace(&self, set: KeySet) {
        *self.set.write() = Arc::new(set);
    }

    /// Asks the keeper for a refresh, at most once per [`UNKNOWN_KID_REFRESH_EVERY`].
    pub fn request_refresh(&self) {
        let mut last = self.last_asked.lock();
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < UNKNOWN_KID_REFRESH_EVERY) {
            return;
        }
        *last = Some(now);
        self.wanted.notify_one();
    }

    /// Resolves when a refresh was asked for (the keeper waits on this or its interval).
    pub async fn refresh_requested(&self) {
        self.wanted.notified().await;
    }
}

/// The checks besides the signature.
#[derive(Debug, Clone, Default)]
pub struct JwtSettings {
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
}

/// Verifies JWTs against fixed keys (a secret, a PEM key, a JWKS file read at start) and a
/// JWKS kept fresh in the background.
pub struct JwtVerifier {
    fixed: KeySet,
    jwks: Option<Arc<Jwks>>,
    settings: JwtSettings,
}

#[derive(Deserialize)]
struct RawClaims {
    sub: String,
    exp: f64,
    #[serde(default)]
    nbf: Option<f64>,
    #[serde(default)]
    ssehub: Option<RawGrants>,
}

#[derive(Deserialize)]
struct RawGrants {
    #[serde(default)]
    subscribe: Option<Vec<String>>,
    #[serde(default)]
    publish: Option<Vec<String>>,
}

impl JwtVerifier {
    pub fn new(fixed: KeySet, jwks: Option<Arc<Jwks>>, settings: JwtSettings) -> JwtVerifier {
        JwtVerifier {
            fixed,
            jwks,
            settings,
        }
    }

    /// Verifies `token` at `now`: the key (by `kid`, else every key), its algorithm, the
    /// signature, then the claims.
    ///
    /// # Errors
    /// One [`JwtError`] per reason.
    pub fn verify(&self, token: &str, now: UnixMillis) -> Result<JwtClaims, JwtError> {
        let header = header_of(token).ok_or(JwtError::Malformed("not a JWS compact token"))?;
        let alg = header.get("alg").and_then(|a| a.as_str()).unwrap_or("");
        let kid = header.get("kid").and_then(|k| k.as_str());
        let fetched = self.jwks.as_ref().map(|j| j.current());
        let pool = self
            .fixed
            .keys
            .iter()
            .chain(fetched.iter().flat_map(|set| set.keys.iter()));
        // A `kid` picks the JWKS keys with that id; keys without one (a secret, a PEM key)
        // are always candidates.
        let candidates: Vec<&VerifyKey> = pool
            .filter(|k| match (&k.kid, kid) {
                (Some(id), Some(wanted)) => id == wanted,
                _ => true,
            })
            .collect();
        if candidates.is_empty() {
            if let (Some(jwks), Some(_)) = (&self.jwks, kid) {
                jwks.request_refresh();
                return Err(JwtError::UnknownKey);
            }
            return Err(JwtError::BadSignature);
        }
        let mut first_error = None;
        for key in candidates
            .iter()
            .filter(|k| algorithm_name(k.algorithm) == alg)
        {
            match self.verify_with(token, key, now) {
                Ok(claims) => return Ok(claims),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        Err(first_error.unwrap_or(JwtError::WrongAlgorithm))
    }

    fn verify_with(
        &self,
        token: &str,
        key: &VerifyKey,
        now: UnixMillis,
    ) -> Result<JwtClaims, JwtError> {
        let mut validation = Validation::new(key.algorithm);
        validation.algorithms = vec![key.algorithm];
        // Time is checked below against the caller's clock, with the leeway.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match &self.settings.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        if let Some(issuer) = &self.settings.issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".into());
        }
        if self.settings.audience.is_some() {
            validation.required_spec_claims.insert("aud".into());
        }
        let data = jsonwebtoken::decode::<RawClaims>(token, &key.key, &validation)
            .map_err(|e| classify(e.kind()))?;
        let claims = data.claims;
        let now_secs = now.0 as f64 / 1000.0;
        let leeway = self.settings.leeway.as_secs_f64();
        if claims.exp + leeway <= now_secs {
            return Err(JwtError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf - leeway > now_secs) {
            return Err(JwtError::NotYetValid);
        }
        let client = ClientId::new(&claims.sub)
            .map_err(|_| JwtError::Malformed("`sub` is not a valid client id"))?;
        let grants = claims.ssehub.unwrap_or(RawGrants {
            subscribe: None,
            publish: None,
        });
        Ok(JwtClaims {
            client,
            expires_at: claims.exp.floor() as i64,
            subscribe: match grants.subscribe {
                Some(list) => grant(&list)?,
                None => TopicGrant::none(),
            },
            publish: grants.publish.as_deref().map(grant).transpose()?,
        })
    }
}

/// Whether `text` has the shape of a JWS compact token: three base64url parts, the first a
/// JSON object (its header). What tells a JWT in `Authorization: Bearer` from an API key.
pub fn looks_like_jwt(text: &str) -> bool {
    header_of(text).is_some()
}

fn header_of(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut parts = token.split('.');
    let (header, _, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::EdDSA => "EdDSA",
    }
}

fn classify(kind: &ErrorKind) -> JwtError {
    match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => JwtError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => JwtError::WrongAlgorithm,
        ErrorKind::ExpiredSignature => JwtError::Expired,
        ErrorKind::ImmatureSignature => JwtError::NotYetValid,
        ErrorKind::InvalidIssuer => JwtError::WrongIssuer,
        ErrorKind::InvalidAudience => JwtError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => JwtError::Malformed("`exp` is required"),
            "sub" => JwtError::Malformed("`sub` is required"),
            "iss" => JwtError::WrongIssuer,
            "aud" => JwtError::WrongAudience,
            _ => JwtError::Malformed("a required claim is missing"),
        },
        ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) => {
            JwtError::Malformed("its claims are not the expected JSON (`sub` a string, `exp` a number, `ssehub` lists of selectors)")
        }
        _ => JwtError::Malformed("not a JWS compact token"),
    }
}

fn grant(list: &[String]) -> Result<TopicGrant, JwtError> {
    if list.len() > MAX_CLAIM_SELECTORS {
        return Err(JwtError::Malformed(
            "an `ssehub` list holds more than 256 selectors",
        ));
    }
    list.iter()
        .map(|s| Selector::new(s))
        .collect::<Result<Vec<_>, _>>()
        .map(TopicGrant::Only)
        .map_err(|_| {
            JwtError::Malformed("an `ssehub` list holds something that is not a topic selector")
        })
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    use super::*;

    const SECRET: &[u8] = b"a-test-secret-of-some-length";
    const NOW: UnixMillis = UnixMillis(1_800_000_000_000);

    fn verifier() -> JwtVerifier {
        let settings = JwtSettings {
            leeway: Duration::from_secs(30),
            ..JwtSettings::default()
        };
        JwtVerifier::new(KeySet::hs256(SECRET), None, settings)
    }

    fn sign(claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    #[test]
    fn claims_bind_the_client_and_carry_grants() {
        let token = sign(json!({"sub": "alice", "exp": 1_800_000_060,
            "ssehub": {"subscribe": ["org/42/*"], "publish": ["org/42/news"]}}));
        assert!(looks_like_jwt(&token));
        let claims = verifier().verify(&token, NOW).unwrap();
        assert_eq!(claims.client.as_str(), "alice");
        assert_eq!(claims.expires_at, 1_800_000_060);
        assert!(claims
            .subscribe
            .allows_selector(&Selector::new("org/42/a").unwrap()));
        assert!(claims.publish.is_some());
        let bare = sign(json!({"sub": "bob", "exp": 1_800_000_060}));
        let claims = verifier().verify(&bare, NOW).unwrap();
        assert_eq!(claims.subscribe, TopicGrant::none());
        assert_eq!(claims.publish, None);
    }

    #[test]
    fn expiry_has_a_leeway_and_is_required() {
        let late = sign(json!({"sub": "a", "exp": 1_800_000_000 - 29}));
        assert!(verifier().verify(&late, NOW).is_ok());
        let expired = sign(json!({"sub": "a", "exp": 1_800_000_000 - 30}));
        assert_eq!(verifier().verify(&expired, NOW), Err(JwtError::Expired));
        let endless = sign(json!({"sub": "a"}));
        assert!(matches!(
            verifier().verify(&endless, NOW),
            Err(JwtError::Malformed(_))
        ));
        let early = sign(json!({"sub": "a", "exp": 1_900_000_000, "nbf": 1_800_000_031}));
        assert_eq!(verifier().verify(&early, NOW), Err(JwtError::NotYetValid));
    }

    #[test]
    fn the_algorithm_is_the_keys_never_the_tokens() {
        let claims = json!({"sub": "a", "exp": 1_900_000_000});
        // HS384 with the right secret: not the algorithm the key verifies.
        let hs384 = encode(
            &Header::new(Algorithm::HS384),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert_eq!(
            verifier().verify(&hs384, NOW),
            Err(JwtError::WrongAlgorithm)
        );
        // alg none, unsigned.
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_eq!(
            verifier().verify(&format!("{header}.{body}."), NOW),
            Err(JwtError::WrongAlgorithm)
        );
        let forged = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"other"),
        )
        .unwrap();
        assert_eq!(verifier().verify(&forged, NOW), Err(JwtError::BadSignature));
        for junk in ["", "a.b", "a.b.c", "v1.YQ.1.x", "e30.e30.e30.e30"] {
            assert!(
                matches!(verifier().verify(junk, NOW), Err(JwtError::Malformed(_))),
                "{junk}"
            );
            assert!(!looks_like_jwt(junk), "{junk}");
        }
    }

    #[test]
    fn bad_grants_and_subjects_are_malformed() {
        for claims in [
            json!({"sub": "a b", "exp": 1_900_000_000}),
            json!({"sub": "a", "exp": 1_900_000_000, "ssehub": {"subscribe": ["a*b"]}}),
            json!({"sub": "a", "exp": 1_900_000_000, "ssehub": {"publish": "x"}}),
            json!({"sub": 7, "exp": 1_900_000_000}),
        ] {
            assert!(
                matches!(
                    verifier().verify(&sign(claims.clone()), NOW),
                    Err(JwtError::Malformed(_))
                ),
                "{claims}"
            );
        }
    }
}
