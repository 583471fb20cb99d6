//! The rustls client configuration for https:// hubs (ring provider, no OpenSSL).
//!
//! Whom to trust is always explicit, because a loopback hub has no publicly issued
//! certificate: `--ca-cert FILE` trusts the certificates in FILE (a CA, or the hub's own
//! self-signed certificate, which is also accepted when it is presented verbatim even if it
//! is not a valid trust anchor, e.g. a `CA:TRUE` certificate used as the server's own), and
//! `--insecure` trusts anything while still checking the handshake signatures.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{self, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

/// Whom the harness trusts as a hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The certificates in this PEM file.
    CaCert(PathBuf),
    /// Nobody is checked (`--insecure`).
    Insecure,
}

impl Trust {
    /// Words for the report.
    pub fn describe(&self) -> String {
        match self {
            Self::CaCert(path) => format!("certificate verified against {}", path.display()),
            Self::Insecure => "certificate NOT verified: --insecure".to_owned(),
        }
    }
}

/// Builds the client configuration offering exactly `alpn` (e.g. `[b"h2"]`).
///
/// # Errors
/// The certificate file cannot be read, holds no certificate, or none is usable as a root.
pub fn client_config(trust: &Trust, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = match trust {
        Trust::CaCert(path) => Arc::new(Pinned::load(path, provider)?),
        Trust::Insecure => Arc::new(Unverified(provider)),
    };
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// WebPKI verification against the file's certificates, plus exact-match pinning of them.
#[derive(Debug)]
struct Pinned {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl Pinned {
    fn load(path: &Path, provider: Arc<CryptoProvider>) -> Result<Self, String> {
        let pem = std::fs::read(path).map_err(|e| format!("--ca-cert {}: {e}", path.display()))?;
        let pinned = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("--ca-cert {}: {e}", path.display()))?;
        if pinned.is_empty() {
            return Err(format!(
                "--ca-cert {}: no PEM certificate in the file",
                path.display()
            ));
        }
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(pinned.iter().cloned());
        if added == 0 {
            return Err(format!(
                "--ca-cert {}: no certificate in the file is usable as a trust anchor",
                path.display()
            ));
        }
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("--ca-cert {}: {e}", path.display()))?;
        Ok(Self {
            webpki,
            pinned,
            provider,
        })
    }
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => Ok(verified),
            // The very certificate the operator handed us: its identity is settled by the
            // bytes, whatever its extensions say about being a CA.
            Err(_)
                if self
                    .pinned
                    .iter()
                    .any(|c| c.as_ref() == end_entity.as_ref()) =>
            {
                Ok(ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `--insecure`: any certificate is accepted; the handshake signatures are still checked,
/// so the session is at least with the holder of the presented key.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, contents: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("ssehub-lt-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn insecure_offers_only_the_asked_protocol() {
        let config = client_config(&Trust::Insecure, &[b"h2"]).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
    }

    #[test]
    fn ca_cert_errors_name_the_file() {
        let missing = client_config(&Trust::CaCert("/nonexistent/ca.pem".into()), &[]);
        assert!(missing.unwrap_err().contains("/nonexistent/ca.pem"));
        let empty = temp_file("empty.pem", "no certificates here\n");
        let err = client_config(&Trust::CaCert(empty.clone()), &[]).unwrap_err();
        assert!(err.contains("no PEM certificate"), "{err}");
        let garbage = temp_file(
            "garbage.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let err = client_config(&Trust::CaCert(garbage.clone()), &[]).unwrap_err();
        assert!(err.contains("trust anchor"), "{err}");
        let _ = std::fs::remove_file(empty);
        let _ = std::fs::remove_file(garbage);
    }
}
