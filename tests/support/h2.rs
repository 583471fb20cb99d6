//! An HTTP/2 client on the h2 crate (over TLS with ALPN `h2`, or h2c with prior knowledge):
//! whole replies, and SSE streams read through the same parser as HTTP/1.1 ones.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use h2::client::SendRequest;
use h2::RecvStream;
use http::{Method, Request};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite};

use super::http::{BoxError, Reply, SseStream};
use super::tls;

const CONNECTION_WINDOW: u32 = 16 * 1024 * 1024;

/// Client settings: `window` is the per-stream receive window (the RFC default when `None`).
#[derive(Clone, Copy, Default)]
pub struct Options {
    pub window: Option<u32>,
}

/// Opens an HTTP/2 connection: TLS trusting `trusted` (ALPN `h2`), or h2c when `None`.
pub async fn connect(
    addr: SocketAddr,
    trusted: Option<&CertificateDer<'static>>,
    options: Options,
) -> SendRequest<Bytes> {
    match trusted {
        Some(cert) => {
            let stream = tls::connect(addr, cert, &[tls::ALPN_H2]).await.unwrap();
            assert_eq!(tls::alpn(&stream).as_deref(), Some(tls::ALPN_H2));
            handshake(stream, options).await
        }
        None => handshake(tokio::net::TcpStream::connect(addr).await.unwrap(), options).await,
    }
}

async fn handshake<T>(io: T, options: Options) -> SendRequest<Bytes>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = h2::client::Builder::new();
    // A connection window much larger than a stream's, as browsers have (Chromium: 15 MiB), so
    // data buffered for streams a test has not read yet never blocks the one it reads.
    builder.initial_connection_window_size(CONNECTION_WINDOW);
    if let Some(window) = options.window {
        builder.initial_window_size(window);
    }
    let (send, connection) = builder.handshake(io).await.expect("HTTP/2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    send.ready().await.expect("HTTP/2 connection ready")
}

/// Sends a request; returns the response with its body as an [`http_body::Body`].
pub async fn send(
    client: &mut SendRequest<Bytes>,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> http::Response<H2Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("https://localhost{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(()).unwrap();
    let mut ready = client.clone().ready().await.expect("a stream slot");
    let (response, mut stream) = ready
        .send_request(request, body.is_none())
        .expect("send request");
    if let Some(body) = body {
        stream.send_data(Bytes::from(body), true).unwrap();
    }
    let response = response.await.expect("response headers");
    response.map(H2Body)
}

/// A whole reply over HTTP/2.
pub async fn request(
    client: &mut SendRequest<Bytes>,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Reply {
    let response = send(client, method, path, headers, body).await;
    Reply::read(response.map(|b| b.boxed_unsync())).await
}

/// Opens an SSE stream over HTTP/2.
pub async fn stream(
    client: &mut SendRequest<Bytes>,
    path: &str,
    headers: &[(&str, &str)],
) -> SseStream {
    let response = send(client, Method::GET, path, headers, None).await;
    SseStream::new(response.map(|b| b.boxed_unsync()))
}

/// An HTTP/2 response body that releases the window as it reads. A test that wants a stalled
/// stream keeps the body and never polls it.
pub struct H2Body(pub RecvStream);

impl Body for H2Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let stream = &mut self.get_mut().0;
        match ready!(stream.poll_data(cx)) {
            Some(Ok(data)) => {
                let _ = stream.flow_control().release_capacity(data.len());
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Some(Err(error)) => Poll::Ready(Some(Err(error.into()))),
            None => Poll::Ready(None),
        }
    }
}
