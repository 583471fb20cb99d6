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

/// Reads from `stream` until what was read contains `needle`; returns everything read.
async fn read_until<S: tokio::io::AsyncRead + Unpin>(stream: &mut S, needle: &str) -> String {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed before {needle:?}");
            seen.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&seen).contains(needle) {
                return;
            }
        }
    })
    .await;
    let seen = String::from_utf8_lossy(&seen).into_owned();
    assert!(found.is_ok(), "no {needle:?} in {seen:?}");
    seen
}

const STREAM_REQUEST: &[u8] =
    b"GET /api/sse/connect?clientId=keys HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n";

#[tokio::test]
async fn a_stream_survives_the_client_s_key_update() {
    // The hub answers a TLS 1.3 key update with its own and encrypts under the new keys: the
    // answer is sent from the stream's input side, while the stream only writes.
    let hub = TestHub::builder().tls().start().await;
    let mut client = tls::connect(hub.addr, hub.der(), &[ALPN_HTTP11])
        .await
        .unwrap();
    client.write_all(STREAM_REQUEST).await.unwrap();
    read_until(&mut client, "event: connected").await;
    for round in 0..3 {
        client.get_mut().1.refresh_traffic_keys().unwrap();
        client.flush().await.unwrap();
        let sequence = hub
            .broadcast("rekeyed", serde_json::json!({ "round": round }), None)
            .await;
        read_until(&mut client, &format!("id: {sequence}\n")).await;
    }
    hub.stop().await;
}

#[tokio::test]
async fn bodies_and_frames_larger_than_a_record_cross_tls_whole() {
    // 200 KiB of data: the request spans many TLS records on the way in, and the frame spans
    // many on the way out (on the lean path and through HTTP/2 alike).
    let hub = TestHub::builder()
        .tls()
        .config(|c| c.max_body_bytes = 1 << 20)
        .start()
        .await;
    let (mut lean, _) = hub
        .subscribe_via(Via::Http1Tls, "/api/sse/connect", &[])
        .await;
    let (mut h2, _) = hub.subscribe_via(Via::H2Tls, "/api/sse/connect", &[]).await;
    let text: String = (0..200 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let body = serde_json::json!({ "eventType": "big", "data": { "text": text } }).to_string();
    let reply = hub
        .request_via(
            Via::Http1Tls,
            Method::POST,
            "/api/sse/broadcast",
            &[("content-type", "application/json")],
            Some(body),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for stream in [&mut lean, &mut h2] {
        let event = stream.expect().await;
        assert_eq!(event.event, "big");
        assert_eq!(event.json()["data"]["text"], text.as_str());
    }
    hub.stop().await;
}

#[tokio::test]
async fn a_tls12_client_is_served() {
    let hub = TestHub::builder().tls().start().await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(hub.der().clone()).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(hub.addr).await.unwrap();
    let mut client = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    assert_eq!(
        client.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    client.write_all(STREAM_REQUEST).await.unwrap();
    read_until(&mut client, "event: connected").await;
    let sequence = hub.broadcast("old", serde_json::json!(1), None).await;
    read_until(&mut client, &format!("id: {sequence}\n")).await;
    hub.stop().await;
}
