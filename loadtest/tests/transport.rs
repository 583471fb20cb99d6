//! TLS and HTTP/2 against the hyper fake: trust (`--ca-cert`, `--insecure`, refusal), ALPN,
//! subscribers as h2 streams on shared connections, and the exactly-once oracle over h2
//! (a duplicate or a reordering on one stream is named).

mod fakehub;

use fakehub::{harness, start, FakeHub, Options, StreamFault};

/// A short fan-out: 6 subscribers, 50 events in 1 s.
const FANOUT: &[&str] = &[
    "fanout",
    "--subscribers",
    "6",
    "--publishers",
    "1",
    "--rate",
    "50",
    "--duration-secs",
    "1",
    "--drain-secs",
    "3",
];

async fn run(hub: &FakeHub, transport: &[&str], scenario: &[&str]) -> (bool, String) {
    let mut args = transport.to_vec();
    args.extend_from_slice(scenario);
    harness(hub, &args).await
}

fn cert(hub: &FakeHub) -> &str {
    hub.cert.to_str().unwrap()
}

#[tokio::test]
async fn https_http1_with_the_hub_certificate_passes() {
    let hub = start(Options::default()).await;
    let (ok, text) = run(&hub, &["--ca-cert", cert(&hub), "--http", "http1"], FANOUT).await;
    assert!(ok, "{text}");
    assert!(text.contains("PASS: fanout"), "{text}");
    assert!(text.contains("certificate verified against"), "{text}");
    assert!(text.contains("negotiated tls+http/1.1 on 8"), "{text}");
}

#[tokio::test]
async fn https_h2_multiplexes_subscribers_and_names_the_protocol() {
    let hub = start(Options::default()).await;
    let transport = [
        "--ca-cert",
        cert(&hub),
        "--http",
        "h2",
        "--h2-connections",
        "2",
    ];
    let (ok, text) = run(&hub, &transport, FANOUT).await;
    assert!(ok, "{text}");
    assert!(
        text.contains("6 of 6 subscribers connected as h2 streams over 2 connections"),
        "{text}"
    );
    // 2 shared connections, 1 publisher, 1 preflight.
    assert!(text.contains("negotiated tls+h2 on 4"), "{text}");
}

#[tokio::test]
async fn h2_streams_resume_after_being_dropped() {
    let hub = start(Options::default()).await;
    let mut replay = vec!["replay"];
    replay.extend_from_slice(&FANOUT[1..]);
    replay.extend_from_slice(&["--drop-percent", "50", "--pause-ms", "200"]);
    let transport = [
        "--ca-cert",
        cert(&hub),
        "--http",
        "h2",
        "--h2-connections",
        "1",
    ];
    let (ok, text) = run(&hub, &transport, &replay).await;
    assert!(ok, "{text}");
    assert!(text.contains("dropped and resumed 3 subscribers"), "{text}");
}

#[tokio::test]
async fn h2_flow_control_is_released_as_frames_are_parsed() {
    // 50 events of ~8 KiB: 400 KiB per stream, past its 256 KiB window, and 2.4 MB over one
    // connection, past its 1.5 MiB window; without releasing capacity the hub would stall.
    let hub = start(Options {
        pad: 8 * 1024,
        ..Options::default()
    })
    .await;
    let transport = [
        "--ca-cert",
        cert(&hub),
        "--http",
        "h2",
        "--h2-connections",
        "1",
    ];
    let (ok, text) = run(&hub, &transport, FANOUT).await;
    assert!(ok, "{text}");
    assert!(text.contains("delivered 300 frames"), "{text}");
}

#[tokio::test]
async fn h2c_with_prior_knowledge_over_plain_tcp() {
    let hub = start(Options {
        tls: false,
        ..Options::default()
    })
    .await;
    let (ok, text) = run(&hub, &["--http", "h2"], FANOUT).await;
    assert!(ok, "{text}");
    assert!(text.contains("transport: plain TCP, --http h2"), "{text}");
    assert!(text.contains("negotiated h2c on 3"), "{text}");
}

#[tokio::test]
async fn a_duplicate_on_an_h2_stream_is_named() {
    let hub = start(Options {
        stream: StreamFault::Duplicate(7),
        ..Options::default()
    })
    .await;
    let transport = [
        "--ca-cert",
        cert(&hub),
        "--http",
        "h2",
        "--h2-connections",
        "1",
    ];
    let (ok, text) = run(&hub, &transport, FANOUT).await;
    assert!(!ok, "{text}");
    assert!(text.contains("duplicate sequence 7"), "{text}");
}

#[tokio::test]
async fn reordering_on_an_h2_stream_is_named() {
    let hub = start(Options {
        stream: StreamFault::SwapWithNext(4),
        ..Options::default()
    })
    .await;
    let transport = [
        "--ca-cert",
        cert(&hub),
        "--http",
        "h2",
        "--h2-connections",
        "1",
    ];
    let (ok, text) = run(&hub, &transport, FANOUT).await;
    assert!(!ok, "{text}");
    assert!(text.contains("sequence 4 arrived after 5"), "{text}");
}

#[tokio::test]
async fn untrusted_certificates_are_refused_and_insecure_is_labelled() {
    let hub = start(Options::default()).await;
    let other = start(Options::default()).await;
    let (ok, text) = run(&hub, &["--ca-cert", cert(&other)], FANOUT).await;
    assert!(!ok, "{text}");
    assert!(text.contains("TLS handshake"), "{text}");
    assert!(text.contains("--ca-cert"), "{text}");

    let (ok, text) = run(&hub, &[], FANOUT).await;
    assert!(!ok, "{text}");
    assert!(text.contains("needs --ca-cert FILE"), "{text}");

    let (ok, text) = run(&hub, &["--insecure", "--http", "h2"], FANOUT).await;
    assert!(ok, "{text}");
    assert!(
        text.contains("certificate NOT verified: --insecure"),
        "{text}"
    );
    assert!(
        text.contains("warning: TLS certificate verification was DISABLED"),
        "{text}"
    );
}

#[tokio::test]
async fn the_exact_certificate_is_trusted_even_when_it_says_ca() {
    let hub = start(Options {
        ca_flag: true,
        ..Options::default()
    })
    .await;
    let density = ["density", "--connections", "5", "--hold-secs", "0"];
    let (ok, text) = run(&hub, &["--ca-cert", cert(&hub)], &density).await;
    assert!(ok, "{text}");
    assert!(text.contains("negotiated tls+http/1.1 on 7"), "{text}");
}

#[tokio::test]
async fn a_hub_without_h2_is_refused_under_http_h2() {
    let hub = start(Options {
        alpn: vec![b"http/1.1"],
        ..Options::default()
    })
    .await;
    let (ok, text) = run(&hub, &["--ca-cert", cert(&hub), "--http", "h2"], FANOUT).await;
    assert!(!ok, "{text}");
    assert!(text.contains("does not speak the --http version"), "{text}");
}

#[tokio::test]
async fn h2_density_measures_connections_and_streams_apart() {
    let hub = start(Options::default()).await;
    let pid = std::process::id().to_string();
    let transport = [
        "--ca-cert",
        cert(&hub),
        "--http",
        "h2",
        "--h2-connections",
        "4",
        "--hub-pid",
        &pid,
    ];
    let density = ["density", "--connections", "40", "--hold-secs", "0"];
    let (ok, text) = run(&hub, &transport, &density).await;
    assert!(ok, "{text}");
    assert!(
        text.contains("40 of 40 streams over 4 h2 connections"),
        "{text}"
    );
    assert!(text.contains("per h2 connection"), "{text}");
    assert!(text.contains("KiB per stream"), "{text}");
    assert!(
        text.contains("exactly once on 40 of 40 open streams"),
        "{text}"
    );
}
