//! A fake hub on hyper for the TLS, HTTP/2 and batch paths: HTTP/1.1 and HTTP/2 on one port
//! (h2c with prior knowledge when plain), optionally behind tokio-rustls with a fresh rcgen
//! self-signed certificate, speaking the API.md wire protocol plus `POST /api/sse/batch` and
//! client message ids, with injectable faults so the tests can prove the harness notices
//! them (an oracle that never fails proves nothing).

// Shared by several test crates; each uses the part it needs.
#![allow(dead_code)]

mod body;
mod outbox;

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use body::FakeBody;
use outbox::Outbox;

/// What the fake does wrong, to the first stream only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFault {
    None,
    /// Sends this sequence twice.
    Duplicate(u64),
    /// Sends this sequence after the next one.
    SwapWithNext(u64),
}

/// How `POST /api/sse/batch` misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFault {
    None,
    /// From the second batch on, one sequence number is skipped after a batch's first event
    /// (and the events are delivered with those sequences): non-consecutive answers.
    Gap,
    /// The endpoint does not exist (404), as on a hub without batch publishes.
    Missing,
}

/// How client message ids are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFault {
    /// A known id answers the original `{sequence, messageId}` and creates nothing.
    Honour,
    /// A known id is echoed but creates a second event with a new sequence.
    Reassign,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub tls: bool,
    /// ALPN protocols the TLS server accepts.
    pub alpn: Vec<&'static [u8]>,
    pub stream: StreamFault,
    pub batch: BatchFault,
    pub ids: IdFault,
    /// Bytes of padding in every event's data JSON (big frames exercise flow control).
    pub pad: usize,
    /// The certificate says `CA:TRUE`, as `openssl req -x509` makes it: WebPKI refuses it as
    /// a server's own certificate, so only pinning the exact certificate trusts it.
    pub ca_flag: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            tls: true,
            alpn: vec![b"h2", b"http/1.1"],
            stream: StreamFault::None,
            batch: BatchFault::None,
            ids: IdFault::Honour,
            pad: 0,
            ca_flag: false,
        }
    }
}

pub struct FakeHub {
    pub url: String,
    /// The server's self-signed certificate as PEM (for `--ca-cert`).
    pub cert: PathBuf,
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.cert);
    }
}

pub async fn start(options: Options) -> FakeHub {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (acceptor, cert_pem) = tls_acceptor(&options.alpn, options.ca_flag);
    let cert = std::env::temp_dir().join(format!(
        "ssehub-lt-fake-{}-{}.pem",
        std::process::id(),
        addr.port()
    ));
    std::fs::write(&cert, cert_pem).unwrap();
    let scheme = if options.tls { "https" } else { "http" };
    let acceptor = options.tls.then_some(acceptor);
    let outbox = Arc::new(Outbox::new(options.clone()));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (outbox, acceptor) = (outbox.clone(), acceptor.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(req, outbox.clone()));
                let server = auto::Builder::new(TokioExecutor::new());
                match acceptor {
                    Some(acceptor) => {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let _ = server.serve_connection(TokioIo::new(tls), service).await;
                    }
                    None => {
                        let _ = server.serve_connection(TokioIo::new(tcp), service).await;
                    }
                }
            });
        }
    });
    FakeHub {
        url: format!("{scheme}://{addr}"),
        cert,
    }
}

/// A fresh self-signed certificate for 127.0.0.1 and localhost; the acceptor and its PEM.
fn tls_acceptor(alpn: &[&[u8]], ca_flag: bool) -> (TlsAcceptor, String) {
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    if ca_flag {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let signing_key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&signing_key).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (TlsAcceptor::from(Arc::new(config)), cert.pem())
}

async fn handle(
    req: Request<Incoming>,
    outbox: Arc<Outbox>,
) -> Result<Response<FakeBody>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let last_event_id = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let json = |status: u16, text: String| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(FakeBody::full(text))
            .unwrap()
    };
    Ok(match (method.as_str(), path.as_str()) {
        ("GET", "/health/live") => json(200, r#"{"status":"live"}"#.to_owned()),
        ("POST", "/api/sse/broadcast") => {
            let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
            json(200, outbox.publish_one(&event))
        }
        ("POST", "/api/sse/batch") if outbox.options.batch == BatchFault::Missing => json(
            404,
            r#"{"error":"not_found","message":"no such endpoint"}"#.to_owned(),
        ),
        ("POST", "/api/sse/batch") => {
            let batch: serde_json::Value = serde_json::from_slice(&body).unwrap();
            json(200, outbox.publish_batch(&batch["events"]))
        }
        ("GET", "/api/sse/connect") => Response::builder()
            .status(200)
            .header("content-type", "text/event-stream")
            .header("cache-control", "no-cache")
            .body(outbox.subscribe(last_event_id))
            .unwrap(),
        _ => json(404, r#"{"error":"not_found"}"#.to_owned()),
    })
}

/// Runs the harness binary against `hub` with `args` after the hub URL; its exit status
/// and everything it printed.
pub async fn harness(hub: &FakeHub, args: &[&str]) -> (bool, String) {
    let mut all = vec!["--hub".to_owned(), hub.url.clone()];
    all.extend(args.iter().map(|s| s.to_string()));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ssehub-loadtest"))
            .args(&all)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
