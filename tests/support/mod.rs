//! Test fixtures: a hub on 127.0.0.1:0 through the library entry point, a real HTTP client,
//! and an independent SSE parser.
#![allow(dead_code)]

pub mod cluster;
pub mod faulty;
pub mod h2;
pub mod http;
pub mod sse;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ssehub::app::App;
use ssehub::config::{Config, StoreKind};
use ssehub::node::Node;
use ssehub::outbox::memory::MemoryStore;
use ssehub::outbox::Store;
use tokio::sync::oneshot;

#[allow(unused_imports)]
pub use self::http::{get, post_json, request, try_post_json, Reply, SseStream};

pub const PUBLISH_KEY: &str = "test-publish-key";
pub const SUBSCRIBE_KEY: &str = "test-subscribe-key";

pub struct TestHubBuilder {
    config: Config,
    store: Option<Arc<dyn Store>>,
    cert: Option<tls::TestCert>,
}

impl TestHubBuilder {
    /// Publish key `PUBLISH_KEY`, subscribe key `SUBSCRIBE_KEY`.
    pub fn keys(mut self) -> Self {
        self.config.publish_keys = vec![PUBLISH_KEY.into()];
        self.config.subscribe_keys = vec![SUBSCRIBE_KEY.into()];
        self
    }

    /// Serves HTTPS with a fresh self-signed certificate (`TestHub::cert`).
    pub fn tls(mut self) -> Self {
        let cert = tls::TestCert::new();
        self.config.tls_cert = Some(cert.cert.clone());
        self.config.tls_key = Some(cert.key.clone());
        self.cert = Some(cert);
        self
    }

    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    pub fn config(mut self, tweak: impl FnOnce(&mut Config)) -> Self {
        tweak(&mut self.config);
        self
    }

    pub async fn start(self) -> TestHub {
        self.config.validate().expect("valid test config");
        let store = match self.store {
            Some(store) => store,
            None => Arc::new(MemoryStore::new()),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = App::with_store(self.config, store.clone())
            .await
            .expect("build the hub");
        let node = app.node();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        TestHub {
            addr,
            node,
            store,
            cert: self.cert,
            stop: Some(stop),
            task: Some(task),
        }
    }
}

pub struct TestHub {
    pub addr: SocketAddr,
    pub node: Arc<Node>,
    pub store: Arc<dyn Store>,
    /// The certificate of a TLS hub.
    pub cert: Option<tls::TestCert>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestHub {
    /// The value of the first metrics line that starts with `line_start` (0 when none).
    pub fn metric(&self, line_start: &str) -> f64 {
        self.node
            .metrics_text()
            .lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    pub fn builder() -> TestHubBuilder {
        let mut config = Config::defaults();
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.store = Some(StoreKind::Memory);
        config.node_id = Some("test-node".into());
        config.shutdown_grace = std::time::Duration::from_secs(5);
        TestHubBuilder {
            config,
            store: None,
            cert: None,
        }
    }

    /// An open-mode hub on the memory store.
    pub async fn start() -> TestHub {
        TestHub::builder().start().await
    }

    /// Publishes a broadcast of `data` with the given type; returns its sequence.
    pub async fn broadcast(
        &self,
        event_type: &str,
        data: serde_json::Value,
        key: Option<&str>,
    ) -> u64 {
        let body = serde_json::json!({"eventType": event_type, "data": data});
        let reply = if self.cert.is_some() {
            let mut headers = vec![("content-type", "application/json")];
            headers.extend(key.map(|k| ("x-api-key", k)));
            let body = Some(body.to_string());
            self.request_via(
                Via::Http1Tls,
                ::http::Method::POST,
                "/api/sse/broadcast",
                &headers,
                body,
            )
            .await
        } else {
            post_json(self.addr, "/api/sse/broadcast", key, body).await
        };
        assert_eq!(reply.status, 200, "broadcast failed: {}", reply.body);
        reply.json()["sequence"].as_u64().unwrap()
    }

    /// Opens a stream at `path_and_query` and consumes its `connected` frame.
    pub async fn subscribe(
        &self,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> (SseStream, serde_json::Value) {
        let mut stream = SseStream::open(self.addr, path_and_query, headers).await;
        assert_eq!(stream.status, 200, "connect failed");
        let connected = stream.connected().await;
        (stream, connected)
    }

    /// The hub's certificate (a TLS hub).
    pub fn der(&self) -> &rustls::pki_types::CertificateDer<'static> {
        &self.cert.as_ref().expect("a TLS hub").der
    }

    /// A whole reply over `via` (each call on a new connection).
    pub async fn request_via(
        &self,
        via: Via,
        method: ::http::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        match via {
            Via::Http1 => request(self.addr, method, path, headers, body).await,
            Via::Http1Tls => {
                let io = tls::connect(self.addr, self.der(), &[tls::ALPN_HTTP11])
                    .await
                    .unwrap();
                let response = http::send_over(io, http::build(method, path, headers, body)).await;
                Reply::read(response.map(|b| {
                    http_body_util::BodyExt::boxed_unsync(http_body_util::BodyExt::map_err(
                        b,
                        Into::into,
                    ))
                }))
                .await
            }
            Via::H2Tls | Via::H2c => {
                let mut client = self.h2(via, h2::Options::default()).await;
                h2::request(&mut client, method, path, headers, body).await
            }
        }
    }

    /// An SSE stream over `via` (on a new connection).
    pub async fn stream_via(&self, via: Via, path: &str, headers: &[(&str, &str)]) -> SseStream {
        match via {
            Via::Http1 => SseStream::open(self.addr, path, headers).await,
            Via::Http1Tls => {
                let io = tls::connect(self.addr, self.der(), &[tls::ALPN_HTTP11])
                    .await
                    .unwrap();
                let response =
                    http::send_over(io, http::build(::http::Method::GET, path, headers, None))
                        .await;
                SseStream::new(response.map(|b| {
                    http_body_util::BodyExt::boxed_unsync(http_body_util::BodyExt::map_err(
                        b,
                        Into::into,
                    ))
                }))
            }
            Via::H2Tls | Via::H2c => {
                let mut client = self.h2(via, h2::Options::default()).await;
                h2::stream(&mut client, path, headers).await
            }
        }
    }

    /// Opens a stream over `via` and consumes its `connected` frame.
    pub async fn subscribe_via(
        &self,
        via: Via,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (SseStream, serde_json::Value) {
        let mut stream = self.stream_via(via, path, headers).await;
        assert_eq!(stream.status, 200, "connect failed over {via:?}");
        let connected = stream.connected().await;
        (stream, connected)
    }

    /// An HTTP/2 connection to this hub (`via` is `H2Tls` or `H2c`).
    pub async fn h2(
        &self,
        via: Via,
        options: h2::Options,
    ) -> ::h2::client::SendRequest<bytes::Bytes> {
        let trusted = (via == Via::H2Tls).then(|| self.der());
        h2::connect(self.addr, trusted, options).await
    }

    /// Waits until the dispatcher has released `sequence`.
    pub async fn dispatched(&self, sequence: u64) {
        assert_eventually(|| self.node.dispatched().0 >= sequence, "dispatch").await;
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("hub stops in time")
                .unwrap();
        }
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// How a test reaches the hub: the transports every stream behaviour is checked over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Plain HTTP/1.1 (the lean stream path).
    Http1,
    /// HTTP/1.1 over TLS (ALPN `http/1.1`).
    Http1Tls,
    /// HTTP/2 over TLS (ALPN `h2`).
    H2Tls,
    /// HTTP/2 with prior knowledge on a plain port.
    H2c,
}

impl Via {
    pub const ALL: [Via; 4] = [Via::Http1, Via::Http1Tls, Via::H2Tls, Via::H2c];

    pub fn is_tls(self) -> bool {
        matches!(self, Via::Http1Tls | Via::H2Tls)
    }

    /// A hub builder this transport can reach (with a certificate for the TLS ones).
    pub fn hub(self) -> TestHubBuilder {
        let builder = TestHub::builder();
        if self.is_tls() {
            builder.tls()
        } else {
            builder
        }
    }
}

/// Polls `check` until it holds (5 s at most).
pub async fn assert_eventually(mut check: impl FnMut() -> bool, what: &str) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}
