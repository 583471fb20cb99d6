//! The real binary, where the process matters: exit codes, signals, SIGKILL durability,
//! restarts, and the `healthcheck` subcommand.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{get, post_json, SseStream};

const BIN: &str = env!("CARGO_BIN_EXE_ssehub");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Hub {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Hub {
    async fn start(data_dir: &Path, port: u16) -> Hub {
        let child = Command::new(BIN)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--shutdown-grace-secs", "5", "--node-id", "proc"])
            .env("SSEHUB_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ssehub");
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        let started = Instant::now();
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "ssehub did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Hub { child, addr }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait(mut self, limit: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < limit,
                "ssehub did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(BIN)
        .args(args)
        .env("SSEHUB_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn open_mode_off_loopback_is_refused_with_exit_64() {
    let (code, stderr) = run(&["--listen", "0.0.0.0:0", "--store", "memory"]);
    assert_eq!(code, Some(64));
    assert!(stderr.contains("loopback"), "{stderr}");
}

#[test]
fn bad_settings_exit_64_naming_the_flag() {
    let (code, stderr) = run(&["--heartbeat-secs", "0", "--store", "memory"]);
    assert_eq!(code, Some(64));
    assert!(stderr.contains("--heartbeat-secs"), "{stderr}");
    let (code, _) = run(&["--retry-ms", "soon"]);
    assert_eq!(code, Some(64));
    let (code, _) = run(&["--no-such-flag"]);
    assert_eq!(code, Some(64));
    let (code, _) = run(&["--help"]);
    assert_eq!(code, Some(0));
}

#[test]
fn a_subscribe_only_hub_warns_that_nobody_can_publish() {
    let port = free_port();
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--store",
            "memory",
        ])
        .args(["--subscribe-keys", "sub-only"])
        .env("SSEHUB_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("nobody can publish"), "{line}");
    assert!(
        !line.contains('\u{1b}'),
        "no colour codes when stdout is not a terminal: {line:?}"
    );
}

#[tokio::test]
async fn sigkill_after_answered_publishes_loses_none_of_them() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let hub = Hub::start(data.path(), port).await;
    let mut tasks = Vec::new();
    for p in 0..4 {
        let addr = hub.addr;
        tasks.push(tokio::spawn(async move {
            let mut answered = Vec::new();
            for i in 0..25 {
                let reply = post_json(
                    addr,
                    "/api/sse/broadcast",
                    None,
                    json!({"data": {"p": p, "i": i}}),
                )
                .await;
                assert_eq!(reply.status, 200);
                answered.push((
                    reply.json()["sequence"].as_u64().unwrap(),
                    reply.json()["messageId"].as_str().unwrap().to_owned(),
                ));
            }
            answered
        }));
    }
    let mut answered = Vec::new();
    for task in tasks {
        answered.extend(task.await.unwrap());
    }
    answered.sort();
    hub.signal("KILL");
    hub.wait(Duration::from_secs(5));

    let hub = Hub::start(data.path(), port).await;
    let mut stream = SseStream::open(hub.addr, "/api/sse/connect?checkpoint=0", &[]).await;
    stream.connected().await;
    let mut replayed = Vec::new();
    while replayed.len() < answered.len() {
        let event = stream.expect().await;
        replayed.push((
            event.sequence().unwrap(),
            event.json()["messageId"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(
        replayed, answered,
        "every answered publish survived SIGKILL, in order"
    );
}

#[tokio::test]
async fn sigkill_right_after_answered_acks_resumes_from_the_acknowledged_position() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let hub = Hub::start(data.path(), port).await;
    for i in 0..10 {
        let reply = post_json(hub.addr, "/api/sse/broadcast", None, json!({"data": i})).await;
        assert_eq!(reply.status, 200);
    }
    // Acks of several clients, each answered, then the process dies at once.
    for (n, client) in ["kill-a", "kill-b", "kill-c"].iter().enumerate() {
        let ack = json!({"clientId": client, "sequence": 3 + n});
        let reply = post_json(hub.addr, "/api/sse/ack", None, ack).await;
        assert_eq!(reply.status, 204, "{}", reply.body);
    }
    hub.signal("KILL");
    hub.wait(Duration::from_secs(5));

    let hub = Hub::start(data.path(), port).await;
    for (n, client) in ["kill-a", "kill-b", "kill-c"].iter().enumerate() {
        let acked = 3 + n as u64;
        let path = format!("/api/sse/connect?clientId={client}");
        let mut stream = SseStream::open(hub.addr, &path, &[]).await;
        let connected = stream.connected().await;
        assert_eq!(
            connected["resumeFrom"], acked,
            "{client} resumes from its acknowledged position, not live: {connected}"
        );
        assert_eq!(stream.expect().await.sequence(), Some(acked + 1));
    }
}

#[tokio::test]
async fn sigterm_drains_streams_flushes_acks_and_a_restart_keeps_everything() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let hub = Hub::start(data.path(), port).await;
    let mut stream = SseStream::open(hub.addr, "/api/sse/connect?clientId=kept", &[]).await;
    stream.connected().await;
    for i in 0..5 {
        post_json(hub.addr, "/api/sse/broadcast", None, json!({"data": i})).await;
    }
    assert_eq!(
        stream.sequences(5, Duration::from_secs(5)).await,
        vec![1, 2, 3, 4, 5]
    );
    let ack = post_json(
        hub.addr,
        "/api/sse/ack",
        None,
        json!({"clientId": "kept", "sequence": 3}),
    )
    .await;
    assert_eq!(ack.status, 204);

    hub.signal("TERM");
    assert!(
        stream.until_end(Duration::from_secs(5)).await,
        "SIGTERM ends open streams"
    );
    assert!(stream.comments().iter().any(|c| c == "shutdown"));
    let status = hub.wait(Duration::from_secs(8));
    assert!(status.success(), "clean exit: {status:?}");

    let hub = Hub::start(data.path(), port).await;
    let stats = get(hub.addr, "/api/sse/stats", None).await.json();
    assert_eq!(stats["headSequence"], 5);
    let mut resumed = SseStream::open(hub.addr, "/api/sse/connect?clientId=kept", &[]).await;
    assert_eq!(
        resumed.connected().await["resumeFrom"],
        3,
        "the stored checkpoint survived the restart"
    );
    assert_eq!(
        resumed.sequences(2, Duration::from_secs(5)).await,
        vec![4, 5]
    );
    let next = post_json(
        hub.addr,
        "/api/sse/broadcast",
        None,
        json!({"data": "after"}),
    )
    .await;
    assert_eq!(next.json()["sequence"], 6, "numbering continues");
}

#[tokio::test]
async fn healthcheck_subcommand_probes_the_live_endpoint() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let (code, _) = run(&["--listen", &listen, "healthcheck"]);
    assert_eq!(code, Some(1), "nothing listens yet");
    let _hub = Hub::start(data.path(), port).await;
    let (code, stderr) = run(&["--listen", &listen, "healthcheck"]);
    assert_eq!(code, Some(0), "{stderr}");
}
