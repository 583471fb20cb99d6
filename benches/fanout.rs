//! Fan-out of one broadcast to N in-process subscribers, without sockets: what the dispatcher
//! and the woken bodies do per event. Per iteration: encode and push one frame to the tail,
//! `Registry::wake`, then every woken subscriber re-registers its waker and reads the tail from
//! its cursor (as `SseBody::poll_frame` does) and hands the frame's `Bytes` on.
//!
//! The tail ring holds `DEFAULT_TAIL_CAPACITY` frames, full, as in a hub that has run a while,
//! and every cursor starts at its head.
//!
//! The population mixes unfiltered subscribers, filtered ones that accept the event, filtered
//! ones that do not (the type index must leave them asleep), and clients with several
//! connections. Throughput is in deliveries, so criterion prints deliveries per second.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ssehub::config::DEFAULT_TAIL_CAPACITY;
use ssehub::event::{ClientId, Event, EventType, Filter, Recipient, Sequence};
use ssehub::outbox::contract::sample;
use ssehub::registry::{Interest, Registry, Subscription};
use ssehub::sse::frame::encode_event;
use ssehub::tail::{Frame, Read, Tail};

/// As in `sse::body`.
const MAX_FRAMES_PER_READ: usize = 64;
const MAX_SCAN_PER_READ: usize = 4096;
/// As `REGISTRY_SHARDS` in `app`.
const SHARDS: usize = 64;

/// A waker that only records that it was woken, standing in for a task's.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// What one connection's body holds.
struct Body {
    subscription: Subscription,
    flag: Arc<Flag>,
    waker: Waker,
    cursor: Sequence,
    queue: VecDeque<Bytes>,
}

struct Hub {
    registry: Arc<Registry>,
    tail: Tail,
    bodies: Vec<Body>,
    next: Sequence,
    /// Subscribers that receive each broadcast.
    receivers: u64,
}

/// Of every 10 subscribers: 8 unfiltered, 1 filtered to the event's type (and one other), 1
/// filtered to another type. One client id in 10 has a second connection.
fn filter_of(i: usize) -> Filter {
    match i % 10 {
        0 => Filter::Types(vec!["alert".into(), "message".into()]),
        5 => Filter::Types(vec!["alert".into()]),
        _ => Filter::All,
    }
}

fn client_of(i: usize) -> ClientId {
    let id = if i % 10 == 3 { i - 1 } else { i };
    ClientId::new(&format!("client-{id}")).expect("valid client id")
}

impl Hub {
    fn new(subscribers: usize) -> Hub {
        let head = Sequence(DEFAULT_TAIL_CAPACITY as u64);
        let tail = Tail::new(DEFAULT_TAIL_CAPACITY, usize::MAX, Sequence::ZERO);
        let history = (1..=head.0).map(|n| {
            let event = sample(n, None).with_sequence(Sequence(n));
            Frame::new(&event, encode_event(&event))
        });
        tail.push(history, head);
        let registry = Registry::new(SHARDS);
        let bodies: Vec<Body> = (0..subscribers)
            .map(|i| {
                let subscription = registry.subscribe(Recipient::new(client_of(i), filter_of(i)));
                let flag = Arc::new(Flag::default());
                let waker = Waker::from(flag.clone());
                subscription.subscriber().register(&waker);
                Body {
                    subscription,
                    flag,
                    waker,
                    cursor: head,
                    queue: VecDeque::new(),
                }
            })
            .collect();
        let receivers = bodies
            .iter()
            .filter(|b| {
                b.subscription
                    .subscriber()
                    .recipient
                    .filter
                    .accepts("message")
            })
            .count() as u64;
        Hub {
            registry,
            tail,
            bodies,
            next: head.next(),
            receivers,
        }
    }

    /// One event through the hub; returns how many subscribers got its frame.
    fn dispatch(&mut self, event: &mut Event) -> u64 {
        event.sequence = self.next;
        self.next = self.next.next();
        let frame = Frame::new(event, encode_event(event));
        let mut interest = Interest::default();
        interest.add(&frame.folded_type, frame.target.as_ref(), &frame.topics);
        self.tail.push([frame], event.sequence);
        self.registry.wake(&interest);

        let mut delivered = 0;
        for body in &mut self.bodies {
            if !body.flag.0.swap(false, Ordering::Relaxed) {
                continue;
            }
            let subscriber = body.subscription.subscriber();
            subscriber.register(&body.waker);
            let queue = &mut body.queue;
            let read = self.tail.read(
                body.cursor,
                |f| f.is_for(&subscriber.recipient),
                |f| queue.push_back(f.bytes.clone()),
                MAX_FRAMES_PER_READ,
                MAX_SCAN_PER_READ,
            );
            if let Read::Advanced { through } = read {
                body.cursor = through;
            }
            while let Some(bytes) = body.queue.pop_front() {
                black_box(bytes);
                delivered += 1;
            }
        }
        delivered
    }
}

fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    for subscribers in [1_000, 10_000, 100_000] {
        let mut hub = Hub::new(subscribers);
        let mut event = sample(1, None).with_sequence(Sequence::ZERO);
        assert_eq!(event.event_type, EventType::known("message"));
        // Every receiver and nobody else gets the event.
        assert_eq!(hub.dispatch(&mut event), hub.receivers);
        group.throughput(Throughput::Elements(hub.receivers));
        group.bench_function(BenchmarkId::from_parameter(subscribers), |b| {
            b.iter(|| hub.dispatch(&mut event))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = fanout
}
criterion_main!(benches);
