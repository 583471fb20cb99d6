//! Certificates made with rcgen, and a TLS client that trusts exactly one of them.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

pub const ALPN_H2: &[u8] = b"h2";
pub const ALPN_HTTP11: &[u8] = b"http/1.1";

/// A self-signed certificate for `localhost` and 127.0.0.1, with its key, in PEM files.
pub struct TestCert {
    dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: CertificateDer<'static>,
}

impl TestCert {
    pub fn new() -> TestCert {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let der = write_pair(&cert, &key);
        TestCert {
            dir,
            cert,
            key,
            der,
        }
    }

    /// Replaces both files with a fresh pair (as a renewal would); returns the new certificate.
    pub fn renew(&mut self) -> CertificateDer<'static> {
        // Written beside, then renamed: a reader never sees half a file.
        let cert = self.dir.path().join("cert.new");
        let key = self.dir.path().join("key.new");
        self.der = write_pair(&cert, &key);
        std::fs::rename(&key, &self.key).unwrap();
        std::fs::rename(&cert, &self.cert).unwrap();
        self.der.clone()
    }

    /// Replaces both files' contents with a fresh pair in place, keeping each file's inode,
    /// length and modification time, so only SIGHUP (not the hub's change polling) notices.
    pub fn renew_unnoticed(&mut self) -> CertificateDer<'static> {
        let (cert, key, der) = make_pair();
        overwrite_keeping_stamp(&self.cert, cert.as_bytes());
        overwrite_keeping_stamp(&self.key, key.as_bytes());
        self.der = der.clone();
        der
    }

    /// A path in this certificate's directory (for extra files a test writes).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Trailing blank lines (PEM ignores them) leave room to rewrite a file in place at the same
/// length with another pair, whose encoding may be a few bytes longer.
const PADDING: usize = 64;

fn make_pair() -> (String, String, CertificateDer<'static>) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    (
        made.cert.pem(),
        made.signing_key.serialize_pem(),
        made.cert.der().clone(),
    )
}

fn write_pair(cert: &PathBuf, key: &PathBuf) -> CertificateDer<'static> {
    let (cert_pem, key_pem, der) = make_pair();
    let pad = "\n".repeat(PADDING);
    std::fs::write(cert, cert_pem + &pad).unwrap();
    std::fs::write(key, key_pem + &pad).unwrap();
    der
}

/// Writes `contents` into `path` in place, padded to the file's length, and restores its
/// modification time.
pub fn overwrite_keeping_stamp(path: &Path, contents: &[u8]) {
    let before = std::fs::metadata(path).unwrap();
    let len = before.len() as usize;
    assert!(
        contents.len() <= len,
        "{} is too short to rewrite in place",
        path.display()
    );
    let mut padded = contents.to_vec();
    padded.resize(len, b'\n');
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    file.write_all(&padded).unwrap();
    file.set_modified(before.modified().unwrap()).unwrap();
}

/// A client configuration that trusts only `trusted` and offers `alpn`.
pub fn client_config(trusted: &CertificateDer<'static>, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// Connects to the hub at `addr` as `localhost`, offering `alpn`.
pub async fn connect(
    addr: SocketAddr,
    trusted: &CertificateDer<'static>,
    alpn: &[&[u8]],
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    TlsConnector::from(client_config(trusted, alpn))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

/// The protocol the handshake chose.
pub fn alpn(stream: &TlsStream<TcpStream>) -> Option<Vec<u8>> {
    stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec)
}

/// The certificate the server presented.
pub fn presented(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream.get_ref().1.peer_certificates().unwrap()[0].clone()
}
