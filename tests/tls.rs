//! TLS in the hub: ALPN both ways on one port, the handshake deadline, and a certificate
//! replaced on disk served without a restart (a bad replacement keeps the old one).
//! SIGHUP, exit codes and `healthcheck` are in `tls_process.rs`.

mod support;

use std::time::Duration;

use http::Method;
use support::tls::{self, TestCert, ALPN_H2, ALPN_HTTP11};
use support::{assert_eventually, TestHub, Via};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn alpn_chooses_h2_when_offered_and_http11_otherwise() {
    let hub = TestHub::builder().tls().start().await;
    let both = tls::connect(hub.addr, hub.der(), &[ALPN_H2, ALPN_HTTP11])
        .await
        .unwrap();
    assert_eq!(tls::alpn(&both).as_deref(), Some(ALPN_H2));
    let http11 = tls::connect(hub.addr, hub.der(), &[ALPN_HTTP11])
        .await
        .unwrap();
    assert_eq!(tls::alpn(&http11).as_deref(), Some(ALPN_HTTP11));
    // No ALPN at all (an old client): HTTP/1.1.
    let mut none = tls::connect(hub.addr, hub.der(), &[]).await.unwrap();
    assert_eq!(tls::alpn(&none), None);
    none.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    none.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Every transport of the TLS port answers.
    for via in [Via::Http1Tls, Via::H2Tls] {
        let reply = hub
            .request_via(via, Method::GET, "/health/live", &[], None)
            .await;
        assert_eq!(reply.status, 200, "{via:?}");
    }
    hub.stop().await;
}

#[tokio::test]
async fn a_handshake_that_does_not_finish_is_closed_at_the_deadline_and_counted() {
    let hub = TestHub::builder()
        .tls()
        .config(|c| c.tls_handshake_timeout = Duration::from_secs(1))
        .start()
        .await;
    // Connects and says nothing; a second client sends half a ClientHello.
    let mut silent = tokio::net::TcpStream::connect(hub.addr).await.unwrap();
    let mut partial = tokio::net::TcpStream::connect(hub.addr).await.unwrap();
    partial
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .await
        .unwrap();
    for socket in [&mut silent, &mut partial] {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut byte))
            .await
            .expect("the hub closes the socket");
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
    assert_eq!(
        hub.metric("ssehub_limit_rejections_total{limit=\"tls_handshake_timeout\"}"),
        2.0
    );
    // Meanwhile a real client is served.
    let reply = hub
        .request_via(Via::H2Tls, Method::GET, "/health/live", &[], None)
        .await;
    assert_eq!(reply.status, 200);
    hub.stop().await;
}

#[tokio::test]
async fn plain_http_on_the_tls_port_gets_no_answer() {
    let hub = TestHub::builder().tls().start().await;
    let mut plain = tokio::net::TcpStream::connect(hub.addr).await.unwrap();
    plain
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut answer))
        .await
        .expect("the hub closes the socket");
    assert!(
        !answer.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    hub.stop().await;
}

#[tokio::test]
async fn a_changed_certificate_is_served_without_a_restart_and_a_bad_one_is_not() {
    let mut hub = TestHub::builder().tls().start().await;
    let first = hub.der().clone();
    let presented = |hub: &TestHub, trusted| {
        let addr = hub.addr;
        async move {
            let stream = tls::connect(addr, &trusted, &[ALPN_HTTP11]).await.ok()?;
            Some(tls::presented(&stream))
        }
    };
    assert_eq!(presented(&hub, first.clone()).await, Some(first.clone()));

    let cert: &mut TestCert = hub.cert.as_mut().unwrap();
    let second = cert.renew();
    let mut served = None;
    for _ in 0..100 {
        served = presented(&hub, second.clone()).await;
        if served.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        served,
        Some(second.clone()),
        "the renewed certificate is served"
    );
    assert_eq!(hub.metric("ssehub_tls_reloads_total"), 1.0);

    // A broken replacement (a key that is not the certificate's) is refused; the second pair
    // stays in service.
    let cert = hub.cert.as_ref().unwrap();
    let stray = TestCert::new();
    std::fs::copy(&stray.key, cert.path("stray.key")).unwrap();
    std::fs::rename(cert.path("stray.key"), &cert.key).unwrap();
    assert_eventually(
        || hub.metric("ssehub_tls_reload_failures_total") == 1.0,
        "the mismatched pair refused",
    )
    .await;
    assert_eq!(presented(&hub, second.clone()).await, Some(second));
    hub.stop().await;
}
