//! A publish to one topic among many: 100,000 subscribers spread over 10,000 topics (ten per
//! topic; one in ten asks with a prefix selector), against the same publish with only that
//! topic's ten subscribers connected. The registry's topic index should make the two cost
//! about the same: the bound is within 2×.
//!
//! Per iteration, as the dispatcher and the woken bodies do: encode and push one frame, wake
//! the registry, then every woken body (and only those: a woken waker records its body) reads
//! the tail from its cursor and hands the frame on.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use parking_lot::Mutex;
use ssehub::event::{ClientId, Event, Filter, Recipient, Selector, Sequence, Topic};
use ssehub::outbox::contract::sample_in;
use ssehub::registry::{Interest, Registry, Subscription};
use ssehub::sse::frame::encode_event;
use ssehub::tail::{Frame, Read, Tail};

const SUBSCRIBERS: usize = 100_000;
const TOPICS: usize = 10_000;
/// As in `sse::body` and the node.
const MAX_FRAMES_PER_READ: usize = 64;
const MAX_SCAN_PER_READ: usize = 4096;
const SHARDS: usize = 64;
const RING: usize = 4096;

/// Records which body it belongs to when woken.
struct Woken {
    index: usize,
    queue: Arc<Mutex<Vec<usize>>>,
}

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.queue.lock().push(self.index);
    }
}

struct Body {
    subscription: Subscription,
    waker: Waker,
    cursor: Sequence,
    queue: VecDeque<Bytes>,
}

struct Hub {
    registry: Arc<Registry>,
    tail: Tail,
    bodies: Vec<Body>,
    woken: Arc<Mutex<Vec<usize>>>,
    next: Sequence,
}

fn topic_of(i: usize) -> String {
    let room = i % TOPICS;
    format!("org/{}/room/{room}", room / 100)
}

/// Subscriber `i`: its topic exactly, or (one in ten) a prefix selector ending in it.
fn selector_of(i: usize) -> Selector {
    let topic = topic_of(i);
    if i % 10 == 7 {
        Selector::new(&format!("{topic}*")).expect("valid selector")
    } else {
        Selector::new(&topic).expect("valid selector")
    }
}

impl Hub {
    fn new(members: impl Iterator<Item = usize>) -> Hub {
        let head = Sequence(RING as u64);
        let tail = Tail::new(RING, usize::MAX, Sequence::ZERO);
        tail.push(
            (1..=head.0).map(|n| {
                let event = sample_in(n, None, &["history"]).with_sequence(Sequence(n));
                Frame::new(&event, encode_event(&event))
            }),
            head,
        );
        let registry = Registry::new(SHARDS);
        let woken = Arc::new(Mutex::new(Vec::new()));
        let bodies = members
            .enumerate()
            .map(|(index, i)| {
                let client = ClientId::new(&format!("client-{i}")).expect("valid client id");
                let recipient =
                    Recipient::new(client, Filter::All).with_selectors(vec![selector_of(i)]);
                let subscription = registry.subscribe(recipient);
                let waker = Waker::from(Arc::new(Woken {
                    index,
                    queue: woken.clone(),
                }));
                subscription.subscriber().register(&waker);
                Body {
                    subscription,
                    waker,
                    cursor: head,
                    queue: VecDeque::new(),
                }
            })
            .collect();
        Hub {
            registry,
            tail,
            bodies,
            woken,
            next: head.next(),
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
        let woken = std::mem::take(&mut *self.woken.lock());
        let mut delivered = 0;
        for index in woken {
            let body = &mut self.bodies[index];
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

fn topics(c: &mut Criterion) {
    let target = 505;
    let topic = topic_of(target);
    let receivers: Vec<usize> = (0..SUBSCRIBERS).filter(|i| topic_of(*i) == topic).collect();
    let mut group = c.benchmark_group("topic_publish");
    for (name, members) in [
        ("100000_subscribers", (0..SUBSCRIBERS).collect::<Vec<_>>()),
        ("only_its_subscribers", receivers.clone()),
    ] {
        let mut hub = Hub::new(members.into_iter());
        let mut event = sample_in(1, None, &[&topic]).with_sequence(Sequence::ZERO);
        assert_eq!(event.topics, vec![Topic::new(&topic).unwrap()]);
        // Exactly the topic's subscribers get it, whoever else is connected.
        assert_eq!(hub.dispatch(&mut event), receivers.len() as u64);
        group.throughput(Throughput::Elements(receivers.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| hub.dispatch(&mut event))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = topics
}
criterion_main!(benches);
