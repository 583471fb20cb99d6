//! Store append throughput by batch size (the publisher's group commit), for the memory store
//! and the embedded redb store (a file in a temporary directory; every commit fsyncs).
//! Appends run one after another, as the single publisher task sends them. Batches are built
//! and old events trimmed outside the timed sections. Throughput is in events.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ssehub::event::NewEvent;
use ssehub::outbox::contract::sample;
use ssehub::outbox::embedded::EmbeddedStore;
use ssehub::outbox::memory::MemoryStore;
use ssehub::outbox::{Retention, Store};
use tokio::runtime::Runtime;

/// Events built ahead of one timed run of appends; bounds the memory a run needs.
const EVENTS_PER_CHUNK: u64 = 16_384;
const BATCH_SIZES: [u64; 4] = [1, 16, 256, 2048];

/// Appends `iters` batches of `size` events; returns the time spent in `append` only.
fn append(runtime: &Runtime, store: &dyn Store, size: u64, iters: u64) -> Duration {
    let mut timed = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let batches_now = left.min((EVENTS_PER_CHUNK / size).max(1));
        left -= batches_now;
        let batches: Vec<Vec<NewEvent>> = (0..batches_now)
            .map(|_| (0..size).map(|n| sample(n, None)).collect())
            .collect();
        timed += runtime.block_on(async {
            let began = Instant::now();
            for batch in batches {
                store.append(&batch).await.expect("append");
            }
            began.elapsed()
        });
        let everything = Retention {
            max_events: Some(0),
            max_age: None,
        };
        runtime.block_on(store.trim(everything)).expect("trim");
    }
    timed
}

fn stores(c: &mut Criterion) {
    let runtime = Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temporary directory");
    let embedded = EmbeddedStore::open(dir.path()).expect("embedded store");
    let memory = MemoryStore::new();
    let mut group = c.benchmark_group("store_append");
    for (name, store) in [
        ("memory", &memory as &dyn Store),
        ("embedded", &embedded as &dyn Store),
    ] {
        for size in BATCH_SIZES {
            group.throughput(Throughput::Elements(size));
            group.bench_function(BenchmarkId::new(name, size), |b| {
                b.iter_custom(|iters| append(&runtime, store, size, iters))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = stores
}
criterion_main!(benches);
