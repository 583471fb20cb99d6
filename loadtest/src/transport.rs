//! How bytes reach a hub: TCP from a chosen source endpoint, then TLS for https:// hubs,
//! with the ALPN outcome checked against `--http` and tallied for the report.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::cli::{Common, HttpVersion};
use crate::http::HttpError;
use crate::source::Sources;
use crate::target::{Hub, Scheme};
use crate::tls::{self, Trust};

/// Why an https:// hub cannot be dialled without a trust flag: a loopback hub has no publicly
/// issued certificate, so no default would ever verify.
const NO_TRUST: &str = "an https:// hub needs --ca-cert FILE (its certificate or CA) or --insecure";

/// Endpoints tried before giving up: one may be taken by another program's wildcard listener.
const BIND_ATTEMPTS: usize = 16;

/// One connection to a hub, plain or TLS. The TLS state is boxed: it is large, and a density
/// run over plain TCP should not pay for it.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// What was negotiated on each connection, for the report.
#[derive(Debug, Default)]
struct Negotiated {
    /// Plain TCP, HTTP/1.1.
    http1: AtomicU64,
    /// Plain TCP, HTTP/2 with prior knowledge.
    h2c: AtomicU64,
    /// TLS with ALPN `http/1.1`.
    tls_http1: AtomicU64,
    /// TLS with ALPN `h2`.
    tls_h2: AtomicU64,
    /// TLS where the hub chose no ALPN protocol (HTTP/1.1 is then spoken).
    tls_no_alpn: AtomicU64,
}

/// The transport settings of a run, shared by every connection.
pub struct Transport {
    pub http: HttpVersion,
    /// `None` when no hub is https://.
    tls: Option<(TlsConnector, Trust)>,
    negotiated: Negotiated,
}

/// The transport as the report states it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub http: &'static str,
    /// `null` without TLS.
    pub tls: Option<String>,
    pub insecure: bool,
    /// Connections by negotiated protocol (`http/1.1`, `h2c`, `tls+http/1.1`, `tls+h2`,
    /// `tls+no-alpn`).
    pub connections: BTreeMap<&'static str, u64>,
}

impl Transport {
    /// # Errors
    /// An https:// hub without `--ca-cert` or `--insecure`, or an unusable certificate file.
    pub fn new(common: &Common) -> Result<Self, String> {
        let wants_tls = common.hubs.iter().any(|h| h.scheme == Scheme::Https);
        let trust = match (&common.ca_cert, common.insecure) {
            (Some(path), _) => Some(Trust::CaCert(path.clone())),
            (None, true) => Some(Trust::Insecure),
            (None, false) => None,
        };
        let tls = match (wants_tls, trust) {
            (false, _) => None,
            (true, None) => return Err(NO_TRUST.into()),
            (true, Some(trust)) => {
                let alpn: &[&[u8]] = match common.http {
                    HttpVersion::Http1 => &[b"http/1.1"],
                    HttpVersion::H2 => &[b"h2"],
                };
                let config = tls::client_config(&trust, alpn)?;
                Some((TlsConnector::from(config), trust))
            }
        };
        Ok(Self {
            http: common.http,
            tls,
            negotiated: Negotiated::default(),
        })
    }

    /// Plain HTTP/1.1 to http:// hubs: the transport of unit tests and of the defaults.
    #[cfg(test)]
    pub fn plain() -> Self {
        Self {
            http: HttpVersion::Http1,
            tls: None,
            negotiated: Negotiated::default(),
        }
    }

    /// Connects (from the next source endpoint, if any) and completes TLS for https:// hubs.
    ///
    /// # Errors
    /// `Connect` when TCP failed, `Handshake` when TLS failed, `Alpn` when the hub did not
    /// agree to the protocol `--http` asked for. In every case nothing was sent.
    pub async fn connect(&self, hub: &Hub, sources: Option<&Sources>) -> Result<Conn, HttpError> {
        let tcp = tcp_connect(hub.addr, sources)
            .await
            .map_err(HttpError::Connect)?;
        let n = &self.negotiated;
        if hub.scheme == Scheme::Http {
            match self.http {
                HttpVersion::Http1 => n.http1.fetch_add(1, Ordering::Relaxed),
                HttpVersion::H2 => n.h2c.fetch_add(1, Ordering::Relaxed),
            };
            return Ok(Conn::Plain(tcp));
        }
        let Some((connector, _)) = &self.tls else {
            return Err(HttpError::Handshake(
                "no TLS configuration for an https:// hub".into(),
            ));
        };
        let name = rustls::pki_types::ServerName::try_from(hub.host.clone())
            .map_err(|e| HttpError::Handshake(format!("server name {}: {e}", hub.host)))?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| HttpError::Handshake(e.to_string()))?;
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        match (self.http, alpn.as_deref()) {
            (HttpVersion::H2, Some(b"h2")) => n.tls_h2.fetch_add(1, Ordering::Relaxed),
            (HttpVersion::Http1, Some(b"http/1.1")) => n.tls_http1.fetch_add(1, Ordering::Relaxed),
            (HttpVersion::Http1, None) => n.tls_no_alpn.fetch_add(1, Ordering::Relaxed),
            (_, got) => {
                let got = got.map_or("no protocol".to_owned(), |p| {
                    String::from_utf8_lossy(p).into_owned()
                });
                return Err(HttpError::Alpn(got));
            }
        };
        Ok(Conn::Tls(Box::new(tls)))
    }

    pub fn summary(&self) -> Summary {
        let n = &self.negotiated;
        let counts = [
            ("http/1.1", &n.http1),
            ("h2c", &n.h2c),
            ("tls+http/1.1", &n.tls_http1),
            ("tls+h2", &n.tls_h2),
            ("tls+no-alpn", &n.tls_no_alpn),
        ];
        Summary {
            http: match self.http {
                HttpVersion::Http1 => "http1",
                HttpVersion::H2 => "h2",
            },
            tls: self.tls.as_ref().map(|(_, trust)| trust.describe()),
            insecure: matches!(self.tls, Some((_, Trust::Insecure))),
            connections: counts
                .into_iter()
                .map(|(name, count)| (name, count.load(Ordering::Relaxed)))
                .filter(|&(_, count)| count > 0)
                .collect(),
        }
    }
}

impl Summary {
    /// One line for people: what was spoken and how it was secured.
    pub fn line(&self) -> String {
        let spoken = if self.connections.is_empty() {
            "no connection was made".to_owned()
        } else {
            let parts: Vec<String> = self
                .connections
                .iter()
                .map(|(name, count)| format!("{name} on {count}"))
                .collect();
            format!("negotiated {}", parts.join(", "))
        };
        match &self.tls {
            Some(tls) => format!("transport: TLS ({tls}), --http {}; {spoken}", self.http),
            None => format!("transport: plain TCP, --http {}; {spoken}", self.http),
        }
    }
}

async fn tcp_connect(addr: SocketAddr, sources: Option<&Sources>) -> io::Result<TcpStream> {
    let Some(sources) = sources else {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        return Ok(stream);
    };
    let mut last_error = None;
    for _ in 0..BIND_ATTEMPTS {
        let socket = TcpSocket::new_v4()?;
        // Steps over a previous run's TIME_WAIT on this endpoint; `Sources` never hands out
        // an endpoint twice, so no live connection shares it.
        socket.set_reuseaddr(true)?;
        match socket.bind(sources.next()) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                last_error = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        }
        match socket.connect(addr).await {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            // The 4-tuple is still in TIME_WAIT from an earlier run against the same port.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::AddrInUse | io::ErrorKind::AddrNotAvailable
                ) =>
            {
                last_error = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no source endpoint")))
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(tcp) => tcp.is_write_vectored(),
            Self::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Self::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_what_was_negotiated() {
        let t = Transport::plain();
        t.negotiated.http1.fetch_add(3, Ordering::Relaxed);
        let s = t.summary();
        assert_eq!(s.connections, BTreeMap::from([("http/1.1", 3)]));
        assert_eq!(
            s.line(),
            "transport: plain TCP, --http http1; negotiated http/1.1 on 3"
        );
        let tls = Summary {
            http: "h2",
            tls: Some(Trust::Insecure.describe()),
            insecure: true,
            connections: BTreeMap::from([("tls+h2", 2)]),
        };
        assert!(tls.line().contains("NOT verified"), "{}", tls.line());
        assert!(tls.line().contains("tls+h2 on 2"), "{}", tls.line());
    }
}
