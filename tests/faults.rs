//! Faults of the embedded store's disk: a full data directory makes publishes answer 503 (never
//! 2xx and lost) while open streams keep what they have. Uses a real, tiny tmpfs, which needs
//! root (CI and the development machines run as root).

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use ssehub::outbox::embedded::EmbeddedStore;
use support::{post_json, TestHub};

struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap().keep();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs needs root; run the tests as root"
        );
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_full_disk_answers_503_and_open_streams_keep_every_answered_event() {
    let disk = Tmpfs::mount("3m");
    let store = Arc::new(EmbeddedStore::open(&disk.0).unwrap());
    let hub = TestHub::builder()
        .store(store)
        .config(|c| c.max_body_bytes = 1 << 20)
        .start()
        .await;
    let (mut stream, _) = hub.subscribe("/api/sse/connect", &[]).await;
    let blob = "z".repeat(200 * 1024);
    let mut answered = Vec::new();
    let mut refused = 0;
    for _ in 0..40 {
        let reply = post_json(hub.addr, "/api/sse/broadcast", None, json!({"data": blob})).await;
        match reply.status.as_u16() {
            200 => answered.push(reply.json()["sequence"].as_u64().unwrap()),
            503 => {
                assert_eq!(reply.error_code(), "store_unavailable");
                assert!(reply.headers.contains_key("retry-after"));
                refused += 1;
            }
            other => panic!("unexpected status {other}: {}", reply.body),
        }
    }
    assert!(refused > 0, "the 3 MiB disk filled up");
    assert!(!answered.is_empty());
    let got = stream
        .sequences(answered.len(), Duration::from_secs(5))
        .await;
    assert_eq!(
        got, answered,
        "every answered publish reached the open stream"
    );
    // The stream stays open after the failures.
    assert!(!stream.ended);
    assert_eq!(
        support::get(hub.addr, "/health/live", None).await.status,
        200
    );
}
