//! Tail reads: a subscriber whose cursor is a full ring behind catches up through it with the
//! body's limits (64 frames out, 4096 scanned per read), while its filter rejects 0, 50 or 95 %
//! of the frames. Throughput is in ring frames passed over; deliveries are that times the
//! accepted share.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ssehub::event::{ClientId, EventType, Filter, Recipient, Sequence};
use ssehub::outbox::contract::sample;
use ssehub::sse::frame::encode_event;
use ssehub::tail::{Frame, Read, Tail};

/// As in `sse::body`.
const MAX_FRAMES_PER_READ: usize = 64;
const MAX_SCAN_PER_READ: usize = 4096;
const RING: u64 = 4096;

/// A full ring in which every `keep_every`-th frame is a `message` and the others `other`.
fn ring(keep_every: u64) -> Tail {
    let tail = Tail::new(RING as usize, usize::MAX, Sequence::ZERO);
    let frames = (1..=RING).map(|n| {
        let mut event = sample(n, None);
        if n % keep_every != 0 {
            event.event_type = EventType::known("other");
        }
        let event = event.with_sequence(Sequence(n));
        Frame::new(&event, encode_event(&event))
    });
    tail.push(frames, Sequence(RING));
    tail
}

/// Reads from the floor to the head; returns the frames delivered.
fn catch_up(tail: &Tail, reader: &Recipient, out: &mut VecDeque<Bytes>) -> u64 {
    let mut cursor = Sequence::ZERO;
    let mut delivered = 0;
    loop {
        let read = tail.read(
            cursor,
            |f| f.is_for(reader),
            |f| out.push_back(f.bytes.clone()),
            MAX_FRAMES_PER_READ,
            MAX_SCAN_PER_READ,
        );
        delivered += out.len() as u64;
        for bytes in out.drain(..) {
            black_box(bytes);
        }
        match read {
            Read::Advanced { through } => cursor = through,
            Read::Idle => return delivered,
            Read::Evicted => unreachable!("the cursor starts at the floor"),
        }
    }
}

fn tail(c: &mut Criterion) {
    let mut group = c.benchmark_group("tail_read");
    group.throughput(Throughput::Elements(RING));
    let reader = Recipient::new(
        ClientId::new("reader").expect("valid client id"),
        Filter::Types(vec!["message".into()]),
    );
    for (filtered_pct, keep_every) in [(0, 1), (50, 2), (95, 20)] {
        let tail = ring(keep_every);
        let mut out = VecDeque::new();
        assert_eq!(catch_up(&tail, &reader, &mut out), RING / keep_every);
        group.bench_function(BenchmarkId::new("filtered_pct", filtered_pct), |b| {
            b.iter(|| catch_up(&tail, &reader, &mut out))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = tail
}
criterion_main!(benches);
