use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use super::*;
use crate::event::{Filter, Selector};

#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn parked(sub: &Subscription) -> Arc<CountingWaker> {
    let counter = Arc::new(CountingWaker::default());
    sub.subscriber().register(&Waker::from(counter.clone()));
    counter
}

fn client(name: &str) -> ClientId {
    ClientId::new(name).unwrap()
}

fn interest(types: &[&str], targets: &[&str]) -> Interest {
    Interest {
        types: types.iter().map(|t| Arc::from(*t)).collect(),
        targets: targets.iter().map(|t| client(t)).collect(),
        topics: Vec::new(),
    }
}

#[test]
fn batches_wake_only_the_subscribers_they_concern() {
    let registry = Registry::new(4);
    let everything = registry.subscribe(Recipient::new(client("a"), Filter::All));
    let alerts = registry.subscribe(Recipient::new(
        client("b"),
        Filter::parse("alert", 8).unwrap(),
    ));
    let bob = registry.subscribe(Recipient::new(
        client("bob"),
        Filter::parse("none", 8).unwrap(),
    ));
    let (w_all, w_alerts, w_bob) = (parked(&everything), parked(&alerts), parked(&bob));

    registry.wake(&interest(&["notification"], &[]));
    assert_eq!(w_all.0.load(Ordering::SeqCst), 1);
    assert_eq!(w_alerts.0.load(Ordering::SeqCst), 0);

    registry.wake(&interest(&[], &["bob"]));
    assert_eq!(w_bob.0.load(Ordering::SeqCst), 1);
    assert_eq!(w_alerts.0.load(Ordering::SeqCst), 0);

    parked(&alerts);
    let w_alerts = parked(&alerts);
    registry.wake(&interest(&["alert"], &[]));
    assert_eq!(w_alerts.0.load(Ordering::SeqCst), 1);
}

#[test]
fn dropping_a_subscription_unregisters_it() {
    let registry = Registry::new(2);
    let first = registry.subscribe(Recipient::new(client("tab"), Filter::All));
    let second = registry.subscribe(Recipient::new(client("tab"), Filter::All));
    assert_eq!(registry.connections(), 2);
    assert_eq!(registry.connections_of(&client("tab")), 2);
    assert_eq!(registry.clients(), 1);
    drop(first);
    assert_eq!(registry.connections_of(&client("tab")), 1);
    drop(second);
    assert_eq!(registry.connections(), 0);
    assert_eq!(registry.clients(), 0);
}

#[test]
fn close_all_marks_and_wakes_everyone() {
    let registry = Registry::new(8);
    let subs: Vec<_> = (0..20)
        .map(|n| registry.subscribe(Recipient::new(client(&format!("c{n}")), Filter::All)))
        .collect();
    let wakers: Vec<_> = subs.iter().map(parked).collect();
    registry.close_all();
    assert!(subs.iter().all(|s| s.subscriber().is_closing()));
    assert!(wakers.iter().all(|w| w.0.load(Ordering::SeqCst) == 1));
}

#[test]
fn heartbeat_bumps_the_epoch_and_wakes() {
    let registry = Registry::new(1);
    let sub = registry.subscribe(Recipient::new(
        client("x"),
        Filter::parse("rare", 4).unwrap(),
    ));
    let waker = parked(&sub);
    let before = registry.heartbeat_epoch();
    registry.heartbeat();
    assert_eq!(registry.heartbeat_epoch(), before + 1);
    assert_eq!(waker.0.load(Ordering::SeqCst), 1);
}

fn topical(name: &str, selectors: &[&str]) -> Recipient {
    Recipient::new(client(name), Filter::All).with_selectors(
        selectors
            .iter()
            .map(|s| Selector::new(s).unwrap())
            .collect(),
    )
}

fn topic_interest(topics: &[&str]) -> Interest {
    Interest {
        topics: topics.iter().map(|t| Topic::new(t).unwrap()).collect(),
        ..Interest::default()
    }
}

#[test]
fn topic_events_wake_only_matching_selectors() {
    let registry = Registry::new(4);
    let room1 = registry.subscribe(topical("a", &["org/42/room1"]));
    let org42 = registry.subscribe(topical("b", &["org/42/*"]));
    let everything = registry.subscribe(topical("c", &["*"]));
    let org420 = registry.subscribe(topical("d", &["org/420/*", "org/4"]));
    let plain = registry.subscribe(Recipient::new(client("e"), Filter::All));
    let counters: Vec<_> = [&room1, &org42, &everything, &org420, &plain]
        .into_iter()
        .map(parked)
        .collect();
    let woken = || -> Vec<usize> {
        counters
            .iter()
            .map(|c| c.0.load(Ordering::SeqCst))
            .collect()
    };

    registry.wake(&topic_interest(&["org/42/room1"]));
    assert_eq!(woken(), [1, 1, 1, 0, 0]);
    registry.wake(&topic_interest(&["org/4"]));
    assert_eq!(woken(), [1, 1, 1, 1, 0], "a taken waker is not woken twice");

    // Topic-less broadcasts still wake every unfiltered stream, selectors or not.
    for sub in [&room1, &org42, &everything, &org420, &plain] {
        sub.subscriber()
            .register(&Waker::from(Arc::new(CountingWaker::default())));
    }
    let fresh: Vec<_> = [&room1, &plain].into_iter().map(parked).collect();
    registry.wake(&interest(&["message"], &[]));
    assert!(fresh.iter().all(|c| c.0.load(Ordering::SeqCst) == 1));

    // Dropping unregisters from the topic index too.
    drop(org42);
    let again = parked(&room1);
    registry.wake(&topic_interest(&["org/42/x"]));
    assert_eq!(again.0.load(Ordering::SeqCst), 0);
}

#[test]
fn interest_routes_each_event_by_what_it_concerns() {
    let mut interest = Interest::default();
    let message: Arc<str> = "message".into();
    let topic = [Topic::new("t").unwrap()];
    interest.add(&message, None, &[]);
    interest.add(&message, None, &topic);
    interest.add(&message, None, &topic);
    interest.add(&message, Some(&client("x")), &topic);
    assert_eq!(interest.types, vec![message]);
    assert_eq!(interest.topics, topic.to_vec());
    assert_eq!(interest.targets, vec![client("x")]);
}
