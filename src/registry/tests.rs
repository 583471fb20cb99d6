use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use super::*;

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
    }
}

#[test]
fn batches_wake_only_the_subscribers_they_concern() {
    let registry = Registry::new(4);
    let everything = registry.subscribe(client("a"), Filter::All);
    let alerts = registry.subscribe(client("b"), Filter::parse("alert", 8).unwrap());
    let bob = registry.subscribe(client("bob"), Filter::parse("none", 8).unwrap());
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
    let first = registry.subscribe(client("tab"), Filter::All);
    let second = registry.subscribe(client("tab"), Filter::All);
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
        .map(|n| registry.subscribe(client(&format!("c{n}")), Filter::All))
        .collect();
    let wakers: Vec<_> = subs.iter().map(parked).collect();
    registry.close_all();
    assert!(subs.iter().all(|s| s.subscriber().is_closing()));
    assert!(wakers.iter().all(|w| w.0.load(Ordering::SeqCst) == 1));
}

#[test]
fn heartbeat_bumps_the_epoch_and_wakes() {
    let registry = Registry::new(1);
    let sub = registry.subscribe(client("x"), Filter::parse("rare", 4).unwrap());
    let waker = parked(&sub);
    let before = registry.heartbeat_epoch();
    registry.heartbeat();
    assert_eq!(registry.heartbeat_epoch(), before + 1);
    assert_eq!(waker.0.load(Ordering::SeqCst), 1);
}
