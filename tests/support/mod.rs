//! Test fixtures: a hub on 127.0.0.1:0 through the library entry point, a real HTTP client,
//! and an independent SSE parser.
#![allow(dead_code)]

pub mod cluster;
pub mod faulty;
pub mod http;
pub mod sse;

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
}

impl TestHubBuilder {
    /// Publish key `PUBLISH_KEY`, subscribe key `SUBSCRIBE_KEY`.
    pub fn keys(mut self) -> Self {
        self.config.publish_keys = vec![PUBLISH_KEY.into()];
        self.config.subscribe_keys = vec![SUBSCRIBE_KEY.into()];
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
            stop: Some(stop),
            task: Some(task),
        }
    }
}

pub struct TestHub {
    pub addr: SocketAddr,
    pub node: Arc<Node>,
    pub store: Arc<dyn Store>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestHub {
    pub fn builder() -> TestHubBuilder {
        let mut config = Config::defaults();
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.store = Some(StoreKind::Memory);
        config.node_id = Some("test-node".into());
        config.shutdown_grace = std::time::Duration::from_secs(5);
        TestHubBuilder {
            config,
            store: None,
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
        let reply = post_json(
            self.addr,
            "/api/sse/broadcast",
            key,
            serde_json::json!({"eventType": event_type, "data": data}),
        )
        .await;
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
