//! Frame encoding: the once-per-event cost the dispatcher pays before fan-out, for a small
//! payload (`{"data":{"n":..}}`, the contract suite's sample) and a ~1 KiB one.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ssehub::event::{Event, Sequence};
use ssehub::outbox::contract::sample;
use ssehub::sse::frame::encode_event;
use ssehub::tail::Frame;

/// A broadcast with sequence 1234567 whose `fields` JSON is about `size` bytes long.
fn event(size: usize) -> Event {
    let mut event = sample(7, None);
    if size > event.fields.len() {
        let text: String = "Hello world, the quick brown fox jumps over the lazy dog. "
            .chars()
            .cycle()
            .take(size - 14)
            .collect();
        event.fields = format!(r#"{{"message":"{text}"}}"#);
    }
    event.with_sequence(Sequence(1_234_567))
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    for (name, size) in [("small", 0), ("1KiB", 1024)] {
        let event = event(size);
        let frame_len = encode_event(&event).len() as u64;
        group.throughput(Throughput::Bytes(frame_len));
        group.bench_with_input(BenchmarkId::new("encode_event", name), &event, |b, e| {
            b.iter(|| encode_event(black_box(e)))
        });
        group.bench_with_input(BenchmarkId::new("Frame::new", name), &event, |b, e| {
            b.iter(|| Frame::new(black_box(e), encode_event(black_box(e))))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = encode
}
criterion_main!(benches);
