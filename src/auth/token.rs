//! Client tokens: an HMAC-SHA256 signature over a client id and an expiry, so a browser can
//! prove which client id it may act as without holding a key that could claim any.
//!
//! Wire form: `v1.<base64url(client id)>.<expiry, unix seconds>.<base64url(signature)>`, all
//! URL-safe so it travels in `token=`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::event::{ClientId, UnixMillis};

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
}

/// Signs and verifies client tokens with one secret (share it across nodes).
pub struct TokenSigner {
    key: Vec<u8>,
}

const VERSION: &str = "v1";

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

    pub fn issue(&self, client: &ClientId, expires_at: i64) -> String {
        let signed = format!(
            "{VERSION}.{}.{expires_at}",
            URL_SAFE_NO_PAD.encode(client.as_str())
        );
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
        let mut parts = signed.split('.');
        let (Some(VERSION), Some(client), Some(expiry), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid);
        };
        let client = URL_SAFE_NO_PAD
            .decode(client)
            .map_err(|_| TokenError::Invalid)?;
        let client = std::str::from_utf8(&client).map_err(|_| TokenError::Invalid)?;
        let client = ClientId::new(client).map_err(|_| TokenError::Invalid)?;
        let expires_at: i64 = expiry.parse().map_err(|_| TokenError::Invalid)?;
        if now.0 >= expires_at.saturating_mul(1000) {
            return Err(TokenError::Expired);
        }
        Ok(Claims { client, expires_at })
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
        let token = signer.issue(&alice(), 2_000);
        let claims = signer.verify(&token, UnixMillis(1_999_999)).unwrap();
        assert_eq!(
            claims,
            Claims {
                client: alice(),
                expires_at: 2_000
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
        let token = signer.issue(&alice(), 2_000);
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
        for junk in ["", ".", "v1...", "v1.YQ.1.", "a.b.c.d.e"] {
            assert_eq!(
                signer.verify(junk, UnixMillis(0)),
                Err(TokenError::Invalid),
                "{junk:?}"
            );
        }
    }
}
