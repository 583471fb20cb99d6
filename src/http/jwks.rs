//! Keeps a JWKS fresh for the JWT verifier ([`Jwks`]): from a file, or from an `http://` URL
//! fetched with hyper's HTTP/1.1 client (only `http/` names hyper, so the fetcher lives here
//! and hands key sets to `auth` through the shared [`Jwks`]).
//!
//! The keeper loads the set every `--jwks-refresh-secs`, and at once when a token with an
//! unknown `kid` asks for it (the verifier rate-limits those asks). A failed load is logged
//! and the last good set stays in use.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::auth::jwt::{Jwks, KeyError, KeySet};

/// A JWKS is a few keys; anything this large is not one.
const MAX_JWKS_BYTES: usize = 1 << 20;
/// One fetch (connect, request, body) must finish within this.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the JWKS comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    File(PathBuf),
    Url(Uri),
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(path) => write!(f, "{}", path.display()),
            JwksSource::Url(uri) => write!(f, "{uri}"),
        }
    }
}

/// Reads or fetches the key set once.
///
/// # Errors
/// When the file or URL cannot be read, or holds no usable key.
pub async fn load(source: &JwksSource) -> Result<KeySet, KeyError> {
    let bytes = match source {
        JwksSource::File(path) => tokio::fs::read(path)
            .await
            .map(Bytes::from)
            .map_err(|e| KeyError(format!("cannot read {}: {e}", path.display())))?,
        JwksSource::Url(uri) => tokio::time::timeout(FETCH_TIMEOUT, fetch(uri))
            .await
            .map_err(|_| KeyError(format!("{uri} did not answer within {FETCH_TIMEOUT:?}")))??,
    };
    KeySet::from_jwks(&bytes)
}

/// One `GET` over a fresh connection: a JWKS fetch every few minutes needs no pool.
async fn fetch(uri: &Uri) -> Result<Bytes, KeyError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| KeyError(format!("{what} {uri}: {e}"));
    let host = uri.host().unwrap_or("localhost");
    let port = uri.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| fail("cannot connect to", &e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| fail("cannot talk HTTP to", &e))?;
    let driver = tokio::spawn(connection);
    let authority = uri.authority().map_or(host.to_owned(), |a| a.to_string());
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = Request::get(path)
        .header(header::HOST, authority)
        .header(header::ACCEPT, "application/json")
        .body(Empty::<Bytes>::new())
        .map_err(|e| fail("cannot build a request for", &e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| fail("no answer from", &e))?;
    if response.status() != StatusCode::OK {
        driver.abort();
        return Err(fail("unexpected status from", &response.status()));
    }
    let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
        .collect()
        .await
        .map_err(|e| fail("cannot read the body of", &e))?
        .to_bytes();
    driver.abort();
    Ok(body)
}

/// Refreshes `jwks` from `source` every `every`, and when a verifier asks, until `cancel`.
pub async fn keep_fresh(
    source: JwksSource,
    jwks: Arc<Jwks>,
    every: Duration,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(every) => {}
            () = jwks.refresh_requested() => {}
        }
        match load(&source).await {
            Ok(set) => {
                tracing::debug!(%source, keys = set.keys.len(), "JWKS refreshed");
                jwks.replace(set);
            }
            Err(error) => {
                tracing::warn!(%source, %error, "JWKS refresh failed; keeping the last good key set")
            }
        }
    }
}
