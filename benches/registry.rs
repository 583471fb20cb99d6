//! Connect/disconnect churn: threads that each subscribe and drop subscriptions in a loop,
//! against a sharded registry (64 shards) and the single-lock baseline (1 shard), on top of a
//! resident population so the shard maps have a realistic size. One element is one
//! subscribe + drop pair; criterion prints pairs per second across all threads.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ssehub::event::{ClientId, Filter, Recipient};
use ssehub::registry::{Registry, Subscription};

/// Subscriptions that stay connected during the churn.
const RESIDENT: usize = 10_000;
/// Distinct client ids each churning thread cycles through.
const IDS_PER_THREAD: usize = 1024;

fn filter_of(i: usize) -> Filter {
    if i.is_multiple_of(4) {
        Filter::Types(vec!["alert".into(), "message".into()])
    } else {
        Filter::All
    }
}

fn ids(prefix: &str, count: usize) -> Vec<ClientId> {
    (0..count)
        .map(|i| ClientId::new(&format!("{prefix}-{i}")).expect("valid client id"))
        .collect()
}

/// Runs `iters` subscribe + drop pairs on each of `threads` threads at once; returns the
/// wall time from the common start to the last thread's end.
fn churn(registry: &Arc<Registry>, threads: usize, iters: u64) -> Duration {
    let start = Barrier::new(threads + 1);
    let per_thread: Vec<Vec<ClientId>> = (0..threads)
        .map(|t| ids(&format!("churn{t}"), IDS_PER_THREAD))
        .collect();
    std::thread::scope(|scope| {
        for clients in &per_thread {
            let start = &start;
            scope.spawn(move || {
                start.wait();
                for i in 0..iters as usize {
                    let index = i % clients.len();
                    let subscription = registry
                        .subscribe(Recipient::new(clients[index].clone(), filter_of(index)));
                    drop(subscription);
                }
            });
        }
        start.wait();
        // Leaving the scope joins every thread; the clock runs until then.
        Instant::now()
    })
    .elapsed()
}

fn registry(c: &mut Criterion) {
    let mut group = c.benchmark_group("registry_churn");
    for shards in [1, 64] {
        let registry = Registry::new(shards);
        let _resident: Vec<Subscription> = ids("resident", RESIDENT)
            .into_iter()
            .enumerate()
            .map(|(i, client)| registry.subscribe(Recipient::new(client, filter_of(i))))
            .collect();
        for threads in [1, 2] {
            group.throughput(Throughput::Elements(threads as u64));
            let id = BenchmarkId::new(format!("shards={shards}"), format!("threads={threads}"));
            group.bench_function(id, |b| {
                b.iter_custom(|iters| churn(&registry, threads, iters))
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = registry
}
criterion_main!(benches);
