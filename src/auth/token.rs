//! Client tokens: an HMAC-SHA256 signature over a client id, an expiry and the topic
//! selectors the client may subscribe with, so a browser can prove which client id it may act
//! as (and which topics it may read) without holding a key that could claim any.
//!
//! Wire forms, all URL-safe so they travel in `token=`:
//!
//! - `v1.<base64url(client id)>.<expiry, unix seconds>.<base64url(signature)>`: no topics.
//! - `v2.<base64url(client id)>.<expiry>.<base64url(selectors, space separated)>.<signature>`:
//!   issued when the token grants topics. v1 is still issued without topics (so nodes of an
//!   older version verify it during a rolling upgrade) and always verified.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::grant::TopicGrant;
use crate::event::{ClientId, Selector, UnixMillis};

type HmacSha256 = Hmac<Sha256>;

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the client token is malformed or its signature does not match")]
    Invalid,
    #[error("the client token has expired")]
    Expired,
}

/// A verified token's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub client: ClientId,
    /// Unix seconds.
    pub expires_at: i64,
    /// The selectors the client may subscribe with (none for a v1 token).
    pub topics: TopicGrant,
}

/// Signs and verifies client tokens with one secret (share it across nodes).
pub struct TokenSigner {
    key: Vec<u8>,
}

impl TokenSigner {
    pub fn new(secret: &[u8]) -> TokenSigner {
        TokenSigner {
            key: secret.to_vec(),
        }
    }

    /// A signer with a random per-process secret (tokens die with the process).
    pub fn random() -> TokenSigner {
        let mut key = Vec::with_capacity(32);
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        TokenSigner { key }
    }

    fn mac(&self, signed: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(signed.as_bytes());
        mac
    }

    /// A token for `client` until `expires_at` (unix seconds) granting `topics` (v2), or no
    /// topics when the list is empty (v1).
    pub fn issue(&self, client: &ClientId, expires_at: i64, topics: &[Selector]) -> String {
        let client = URL_SAFE_NO_PAD.encode(client.as_str());
        let signed = if topics.is_empty() {
            format!("v1.{client}.{expires_at}")
        } else {
            let list: Vec<&str> = topics.iter().map(Selector::as_str).collect();
            let list = URL_SAFE_NO_PAD.encode(list.join(" "));
            format!("v2.{client}.{expires_at}.{list}")
        };
        let signature = self.mac(&signed).finalize().into_bytes();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// Checks the signature (in constant time) and then the expiry against `now`.
    ///
    /// # Errors
    /// `Invalid` for anything malformed or mis-signed, `Expired` past the expiry.
    pub fn verify(&self, token: &str, now: UnixMillis) -> Result<Claims, TokenError> {
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Invalid)?;
        self.mac(signed)
            .verify_slice(&signature)
            .map_err(|_| TokenError::Invalid)?;
        let parts: Vec<&str> = signed.split('.').collect();
        let (client, expiry, topics) = match parts.as_slice() {
            ["v1", client, expiry] => (client, expiry, None),
            ["v2", client, expiry, topics] => (client, expiry, Some(topics)),
            _ => return Err(TokenError::Invalid),
        };
        let client = ClientId::new(&decode_text(client)?).map_err(|_| TokenError::Invalid)?;
        let expires_at: i64 = expiry.parse().map_err(|_| TokenError::Invalid)?;
        let topics = match topics {
            None => Vec::new(),
            Some(list) => decode_text(list)?
                .split(' ')
                .map(Selector::new)
                .collect::<Result<_, _>>()
                .map_err(|_| TokenError::Invalid)?,
        };
        if now.0 >= expires_at.saturating_mul(1000) {
            return Err(TokenError::Expired);
        }
        Ok(Claims {
            client,
            expires_at,
            topics: TopicGrant::Only(topics),
        })
    }
}

/// Base64url text of a token part.
fn decode_text(part: &str) -> Result<String, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Invalid)?;
    String::from_utf8(bytes).map_err(|_| TokenError::Invalid)
}

/// Whether `text` has the shape of a client token (so `token=` is not read as a JWT).
pub fn looks_like_client_token(text: &str) -> bool {
    text.starts_with("v1.") || text.starts_with("v2.")
}

impl TokenSigner {
    /// Used by tests to check the refusal of a token with the signature of another layout.
    #[cfg(test)]
    fn sign_raw(&self, signed: &str) -> String {
        let signature = self.mac(signed).finalize().into_bytes();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> ClientId {
        ClientId::new("alice").unwrap()
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let signer = TokenSigner::new(b"secret");
        let token = signer.issue(&alice(), 2_000, &[]);
        assert!(token.starts_with("v1."), "{token}");
        let claims = signer.verify(&token, UnixMillis(1_999_999)).unwrap();
        assert_eq!(
            claims,
            Claims {
                client: alice(),
                expires_at: 2_000,
                topics: TopicGrant::none(),
            }
        );
        assert_eq!(
            signer.verify(&token, UnixMillis(2_000_000)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tampering_or_another_secret_is_invalid() {
        let signer = TokenSigner::new(b"secret");
        let token = signer.issue(&alice(), 2_000, &[]);
        let other_client = token.replacen(
            &URL_SAFE_NO_PAD.encode("alice"),
            &URL_SAFE_NO_PAD.encode("mallory"),
            1,
        );
        assert_eq!(
            signer.verify(&other_client, UnixMillis(0)),
            Err(TokenError::Invalid)
        );
        let later = token.replacen(".2000.", ".9999.", 1);
        assert_eq!(
            signer.verify(&later, UnixMillis(0)),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            TokenSigner::new(b"other").verify(&token, UnixMillis(0)),
            Err(TokenError::Invalid)
        );
        for junk in [
            "",
            ".",
            "v1...",
            "v1.YQ.1.",
            "a.b.c.d.e",
            "v2.YQ.1.",
            "v3.YQ.1.YQ.x",
        ] {
            assert_eq!(
                signer.verify(junk, UnixMillis(0)),
                Err(TokenError::Invalid),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn v2_tokens_carry_their_topic_selectors() {
        let signer = TokenSigner::new(b"secret");
        let topics = [
            Selector::new("org/42/*").unwrap(),
            Selector::new("news").unwrap(),
        ];
        let token = signer.issue(&alice(), 2_000, &topics);
        assert!(token.starts_with("v2."), "{token}");
        let claims = signer.verify(&token, UnixMillis(0)).unwrap();
        assert_eq!(claims.topics, TopicGrant::Only(topics.to_vec()));
        // The topic list is signed: widening it breaks the signature.
        let parts: Vec<&str> = token.split('.').collect();
        let wider = format!(
            "{}.{}.{}.{}.{}",
            parts[0],
            parts[1],
            parts[2],
            URL_SAFE_NO_PAD.encode("*"),
            parts[4]
        );
        assert_eq!(
            signer.verify(&wider, UnixMillis(0)),
            Err(TokenError::Invalid)
        );
        // A signed v2 whose list holds a bad selector is refused, not half-read.
        let bad = signer.sign_raw(&format!(
            "v2.{}.2000.{}",
            parts[1],
            URL_SAFE_NO_PAD.encode("a b*c")
        ));
        assert_eq!(signer.verify(&bad, UnixMillis(0)), Err(TokenError::Invalid));
    }
}
