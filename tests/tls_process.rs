//! TLS where the process matters: a certificate that cannot be served is refused at start with
//! exit code 64 and a message naming the file; SIGHUP reloads the certificate (a bad one keeps
//! the old); `ssehub healthcheck` probes a TLS listener.

mod support;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use support::tls::{self, TestCert, ALPN_HTTP11};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_ssehub");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ssehub(cert: &Path, key: &Path, port: u16) -> Command {
    let mut command = Command::new(BIN);
    command
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--store",
            "memory",
        ])
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .env("SSEHUB_LOG", "warn");
    command
}

/// Runs the binary to its end (it must refuse to start).
fn refused(cert: &Path, key: &Path) -> (i32, String) {
    let Output { status, stderr, .. } = ssehub(cert, key, free_port())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

struct Hub {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Hub {
    async fn start(cert: &TestCert) -> Hub {
        let port = free_port();
        let child = ssehub(&cert.cert, &cert.key, port)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        let started = Instant::now();
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "ssehub did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Hub { child, addr }
    }

    fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    async fn presented(&self, trusted: &CertificateDer<'static>) -> bool {
        tls::connect(self.addr, trusted, &[ALPN_HTTP11])
            .await
            .is_ok()
    }

    /// A metric's value from `/metrics`, over TLS.
    async fn metric(&self, trusted: &CertificateDer<'static>, name: &str) -> f64 {
        let mut stream = tls::connect(self.addr, trusted, &[ALPN_HTTP11])
            .await
            .unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text).await;
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_certificate_that_cannot_be_served_is_refused_at_start_naming_the_file() {
    let good = TestCert::new();
    let other = TestCert::new();
    let garbage = good.path("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    let empty = good.path("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let missing = good.path("missing.pem");
    let cases: [(&Path, &Path, &str); 5] = [
        (&missing, &good.key, "cannot read"),
        (&garbage, &good.key, "is not valid PEM"),
        (&empty, &good.key, "holds no certificate"),
        (&good.cert, &good.cert, "holds no private key"),
        (&good.cert, &other.key, "does not belong to the certificate"),
    ];
    for (cert, key, problem) in cases {
        let (code, stderr) = refused(cert, key);
        assert_eq!(code, 64, "{stderr}");
        assert!(stderr.contains(problem), "{problem:?} not in {stderr:?}");
        let named = if problem.contains("private key") {
            key
        } else {
            cert
        };
        assert!(
            stderr.contains(&named.display().to_string()),
            "the file is named: {stderr:?}"
        );
    }
    // Half a pair is a configuration error too.
    let output = Command::new(BIN)
        .args(["--store", "memory", "--tls-cert"])
        .arg(&good.cert)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--tls-key"));
}

#[tokio::test]
async fn sighup_reloads_the_certificate_and_a_bad_one_keeps_the_old() {
    let mut cert = TestCert::new();
    let hub = Hub::start(&cert).await;
    let first = cert.der.clone();
    assert!(hub.presented(&first).await);

    // The key replaced (unnoticed by the change polling) with one that does not match, then
    // SIGHUP: refused, and the first pair keeps serving.
    let original_key = std::fs::read(&cert.key).unwrap();
    let stray = TestCert::new();
    tls::overwrite_keeping_stamp(&cert.key, &std::fs::read(&stray.key).unwrap());
    hub.hangup();
    let started = Instant::now();
    while hub.metric(&first, "ssehub_tls_reload_failures_total").await != 1.0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the bad pair is refused"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(hub.presented(&first).await, "the old pair keeps serving");
    tls::overwrite_keeping_stamp(&cert.key, &original_key);

    // A new pair, again unnoticed by polling: still the first pair after a poll interval...
    let second = cert.renew_unnoticed();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        hub.presented(&first).await,
        "polling did not see the in-place change"
    );
    // ... and the new one right after SIGHUP, without a restart.
    hub.hangup();
    let started = Instant::now();
    while !hub.presented(&second).await {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the new certificate is served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!hub.presented(&first).await);
    assert_eq!(hub.metric(&second, "ssehub_tls_reloads_total").await, 1.0);
}

#[tokio::test]
async fn healthcheck_probes_a_tls_listener() {
    let cert = TestCert::new();
    let hub = Hub::start(&cert).await;
    let listen = hub.addr.to_string();
    let status = Command::new(BIN)
        .args(["healthcheck", "--listen", &listen])
        .env("SSEHUB_TLS_CERT", &cert.cert)
        .status()
        .unwrap();
    assert!(status.success(), "healthcheck over TLS");
    // Without --tls-cert the probe speaks plain HTTP to a TLS port and fails.
    let output = Command::new(BIN)
        .args(["healthcheck", "--listen", &listen])
        .env_remove("SSEHUB_TLS_CERT")
        .output()
        .unwrap();
    assert!(!output.status.success());
}
