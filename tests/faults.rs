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
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
        let unmounted = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still busy (a test failed with the store open): detach it lazily.
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
#[ignore = "needs root to mount a tmpfs; scripts/test.sh runs it"]
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

/// Fills the disk until a publish is refused (recording the answered ones).
async fn publish_until_full(hub: &TestHub, answered: &mut Vec<u64>) {
    let blob = "z".repeat(200 * 1024);
    for _ in 0..200 {
        let reply = post_json(hub.addr, "/api/sse/broadcast", None, json!({"data": blob})).await;
        match reply.status.as_u16() {
            200 => answered.push(reply.json()["sequence"].as_u64().unwrap()),
            503 => {
                assert_eq!(reply.error_code(), "store_unavailable");
                return;
            }
            other => panic!("unexpected status {other}: {}", reply.body),
        }
    }
    panic!("the disk never filled up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root to mount a tmpfs; scripts/test.sh runs it"]
async fn a_full_disk_turns_readiness_off_loses_nothing_answered_and_heals_without_a_restart() {
    let disk = Tmpfs::mount("8m");
    // Space the test can give back later.
    let filler = disk.0.join("filler");
    std::fs::write(&filler, vec![0u8; 4 << 20]).unwrap();
    let data = disk.0.join("data");
    let store = Arc::new(EmbeddedStore::open(&data).unwrap());
    let hub = TestHub::builder()
        .store(store)
        .config(|c| c.max_body_bytes = 1 << 20)
        .start()
        .await;
    let ready = |hub: &TestHub| {
        let addr = hub.addr;
        async move {
            support::get(addr, "/health/ready", None)
                .await
                .status
                .as_u16()
        }
    };
    assert_eq!(ready(&hub).await, 200);
    let mut answered = Vec::new();
    publish_until_full(&hub, &mut answered).await;
    assert!(!answered.is_empty());
    // Acks while full: each is 204 (durable) or 503 (nothing changed), never 204-and-lost.
    let mut acked = None;
    for (n, sequence) in answered.iter().enumerate() {
        let ack = json!({"clientId": format!("full-{n}"), "sequence": sequence});
        match post_json(hub.addr, "/api/sse/ack", None, ack)
            .await
            .status
            .as_u16()
        {
            204 => acked = Some((format!("full-{n}"), *sequence)),
            503 => {}
            other => panic!("ack answered {other}"),
        }
    }
    let not_ready = support::get(hub.addr, "/health/ready", None).await;
    assert_eq!(not_ready.status, 503, "readiness is off while writes fail");
    assert!(not_ready.body.contains("writes"), "{}", not_ready.body);
    assert!(hub.node.metrics_text().contains("ssehub_store_available 0"));

    // Space comes back: the node takes writes again by itself, no restart.
    std::fs::remove_file(&filler).unwrap();
    let mut healed = false;
    for _ in 0..100 {
        if ready(&hub).await == 200 {
            healed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(healed, "readiness came back once space returned");
    let reply = post_json(
        hub.addr,
        "/api/sse/broadcast",
        None,
        json!({"data": "after"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    answered.push(reply.json()["sequence"].as_u64().unwrap());
    let ack = json!({"clientId": "after", "sequence": answered.last()});
    assert_eq!(
        post_json(hub.addr, "/api/sse/ack", None, ack).await.status,
        204
    );

    // Nothing answered was lost: every answered publish replays, every 204 ack holds.
    let (mut stream, _) = hub.subscribe("/api/sse/connect?checkpoint=0", &[]).await;
    let replayed = stream
        .sequences(answered.len(), Duration::from_secs(10))
        .await;
    assert_eq!(replayed, answered);
    for (client, sequence) in acked
        .into_iter()
        .chain([("after".to_owned(), *answered.last().unwrap())])
    {
        let path = format!("/api/sse/connect?clientId={client}");
        let (_stream, connected) = hub.subscribe(&path, &[]).await;
        assert_eq!(connected["resumeFrom"], sequence, "{client}");
    }
}

#[tokio::test]
async fn a_panic_in_one_connection_never_takes_down_the_others() {
    // A stand-in for a bug in a backend, the only way to make the hub panic from outside.
    let store = Arc::new(support::faulty::Wrapped::panicking_on_checkpoint_of(
        "panic-me",
    ));
    let hub = TestHub::builder().store(store).start().await;
    let (mut bystander, _) = hub
        .subscribe("/api/sse/connect?clientId=bystander", &[])
        .await;
    for _ in 0..3 {
        let mut doomed = tokio::net::TcpStream::connect(hub.addr).await.unwrap();
        doomed
            .write_all(b"GET /api/sse/connect?clientId=panic-me HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut rest = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(5), doomed.read_to_end(&mut rest)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "the panicking connection is closed without a reply"
        );
    }
    let sequence = hub.broadcast("message", json!("still here"), None).await;
    assert_eq!(
        bystander.expect().await.sequence(),
        Some(sequence),
        "other streams keep streaming"
    );
    assert_eq!(
        support::get(hub.addr, "/health/live", None).await.status,
        200
    );
    assert_eq!(
        hub.node.connections(),
        1,
        "nothing leaked from the panicked tasks"
    );
}
