//! Real processes for cluster tests: a FerretDB (MongoDB wire protocol) started through
//! `scripts/ferretdb.sh`, and `ssehub` nodes spawned from the built binary.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/ferretdb.sh");

/// A FerretDB on a free loopback port, stopped on drop.
pub struct Ferret {
    dir: tempfile::TempDir,
    pub uri: String,
}

impl Ferret {
    pub fn start() -> Ferret {
        let dir = tempfile::tempdir().unwrap();
        let uri = Ferret::run("start", dir.path(), None);
        Ferret { dir, uri }
    }

    fn run(verb: &str, dir: &Path, port: Option<&str>) -> String {
        let mut command = Command::new("bash");
        command.arg(SCRIPT).arg(verb).arg(dir);
        if let Some(port) = port {
            command.env("FERRETDB_PORT", port);
        }
        let output = command
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/ferretdb.sh");
        assert!(output.status.success(), "scripts/ferretdb.sh {verb} failed");
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// Stops the server (an outage); its data stays.
    pub fn stop(&self) {
        Ferret::run("stop", self.dir.path(), None);
    }

    /// Starts it again on the same port and data.
    pub fn restart(&self) {
        let port = std::fs::read_to_string(self.dir.path().join("port")).unwrap();
        let uri = Ferret::run("start", self.dir.path(), Some(port.trim()));
        assert_eq!(uri, self.uri);
    }
}

impl Drop for Ferret {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(SCRIPT)
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `ssehub` process; killed on drop.
pub struct Node {
    child: Child,
    pub addr: SocketAddr,
    pub name: String,
}

impl Node {
    /// A node on the MongoDB store at `uri`, database `database`, plus `extra` flags.
    pub async fn start(name: &str, uri: &str, database: &str, extra: &[&str]) -> Node {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_ssehub"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--node-id", name])
            .args(["--mongodb-uri", uri, "--mongodb-database", database])
            .args(["--write-concern", "1", "--shutdown-grace-secs", "3"])
            .args(extra)
            .env("SSEHUB_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ssehub");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let node = Node {
            child,
            addr,
            name: name.to_owned(),
        };
        let started = Instant::now();
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                let ready = super::get(addr, "/health/ready", None).await;
                if ready.status == 200 {
                    return node;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "node {name} did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A database name unique to one test.
pub fn database(test: &str) -> String {
    format!("ssehub_{test}_{}", std::process::id())
}
