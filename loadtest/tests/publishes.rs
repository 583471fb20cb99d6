//! Batch and idempotent publishes against the hyper fake: clean runs pass with events and
//! requests counted apart; non-consecutive batch answers, a retry that creates a second
//! event, and a hub without the batch endpoint are each caught and named.

mod fakehub;

use fakehub::{harness, start, BatchFault, FakeHub, IdFault, Options};

/// A short fan-out: 3 subscribers, 60 events in 1 s from 2 publishers.
fn fanout(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec![
        "fanout",
        "--subscribers",
        "3",
        "--publishers",
        "2",
        "--rate",
        "60",
        "--duration-secs",
        "1",
        "--drain-secs",
        "3",
    ];
    args.extend_from_slice(extra);
    args
}

async fn run(hub: &FakeHub, args: &[&str]) -> (bool, String) {
    let cert = hub.cert.to_str().unwrap().to_owned();
    let mut all = vec!["--ca-cert", &cert];
    all.extend_from_slice(args);
    harness(hub, &all).await
}

/// The number after `label` in `text` (e.g. "published 60 events" -> 60).
fn number_before(text: &str, label: &str) -> u64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} in {text}"));
    text[..at]
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number before {label:?} in {text}"))
}

#[tokio::test]
async fn batches_over_h2_pass_with_events_and_requests_apart() {
    let hub = start(Options::default()).await;
    let mut args = vec!["--http", "h2"];
    args.extend(fanout(&["--batch", "5"]));
    let (ok, text) = run(&hub, &args).await;
    assert!(ok, "{text}");
    assert!(text.contains("(batches of 5)"), "{text}");
    let events = number_before(&text, "events in");
    let requests = number_before(&text, "requests (batches");
    assert!(requests > 0, "{text}");
    assert_eq!(events, 5 * requests, "{text}");
    assert!(
        text.contains("events/s,") && text.contains("requests/s"),
        "{text}"
    );
}

#[tokio::test]
async fn non_consecutive_batch_sequences_are_caught() {
    let hub = start(Options {
        batch: BatchFault::Gap,
        ..Options::default()
    })
    .await;
    let (ok, text) = run(&hub, &fanout(&["--batch", "4"])).await;
    assert!(!ok, "{text}");
    assert!(
        text.contains("request 1: batch sequences") && text.contains("are not consecutive"),
        "{text}"
    );
}

#[tokio::test]
async fn idempotent_retries_of_batches_pass() {
    let hub = start(Options::default()).await;
    let args = fanout(&["--batch", "3", "--message-id", "--retry-every", "2"]);
    let (ok, text) = run(&hub, &args).await;
    assert!(ok, "{text}");
    assert!(text.contains("with client message ids"), "{text}");
    let retried = number_before(&text, "acknowledged requests with the same message ids");
    let matched = number_before(&text, "got the original answer");
    assert!(retried > 0, "{text}");
    assert_eq!(retried, matched, "{text}");
}

#[tokio::test]
async fn a_retry_that_creates_a_second_event_is_caught() {
    let hub = start(Options {
        ids: IdFault::Reassign,
        ..Options::default()
    })
    .await;
    let args = fanout(&["--message-id", "--retry-every", "2"]);
    let (ok, text) = run(&hub, &args).await;
    assert!(!ok, "{text}");
    assert!(text.contains("retry of request 1 (messageId"), "{text}");
    assert!(text.contains("instead of the original"), "{text}");
    // The second copy reached the subscribers too, and no acknowledgement explains it.
    assert!(text.contains("were never acknowledged"), "{text}");
}

#[tokio::test]
async fn a_hub_without_batches_is_reported_once() {
    let hub = start(Options {
        batch: BatchFault::Missing,
        ..Options::default()
    })
    .await;
    let (ok, text) = run(&hub, &fanout(&["--batch", "10"])).await;
    assert!(!ok, "{text}");
    assert_eq!(
        text.matches("this hub does not serve batch publishes")
            .count(),
        1,
        "{text}"
    );
    assert!(!text.contains("no publish was acknowledged"), "{text}");
}
