//! Latency histograms. Thousands of subscriber tasks record concurrently, so samples go to
//! one of a few mutex-guarded shards (picked by subscriber) and are merged once at the end.

use std::sync::Mutex;

use hdrhistogram::Histogram;
use serde::Serialize;

const SHARDS: usize = 16;
/// Microsecond resolution up to an hour: a latency above that is a hang, not a number.
const MAX_MICROS: u64 = 3_600_000_000;

pub struct Latency {
    shards: Vec<Mutex<Histogram<u64>>>,
}

/// Percentiles in microseconds.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencySummary {
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub mean_us: f64,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(new_histogram())).collect(),
        }
    }

    /// Records many samples under one lock (a subscriber's read batch).
    pub fn record_all(&self, shard: usize, micros: &[u64]) {
        if micros.is_empty() {
            return;
        }
        let mut h = self.shards[shard % SHARDS]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for &us in micros {
            h.saturating_record(us.clamp(1, MAX_MICROS));
        }
    }

    pub fn summary(&self) -> LatencySummary {
        let mut all = new_histogram();
        for shard in &self.shards {
            let h = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Same bounds on both sides, so adding cannot fail.
            let _ = all.add(&*h);
        }
        summarise(&all)
    }
}

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("static histogram bounds are valid")
}

pub fn summarise(h: &Histogram<u64>) -> LatencySummary {
    if h.is_empty() {
        return LatencySummary::default();
    }
    LatencySummary {
        count: h.len(),
        p50_us: h.value_at_quantile(0.50),
        p90_us: h.value_at_quantile(0.90),
        p99_us: h.value_at_quantile(0.99),
        p999_us: h.value_at_quantile(0.999),
        max_us: h.max(),
        mean_us: (h.mean() * 10.0).round() / 10.0,
    }
}

impl std::fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |us: u64| us as f64 / 1000.0;
        write!(
            f,
            "p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms ({} samples)",
            ms(self.p50_us),
            ms(self.p99_us),
            ms(self.p999_us),
            ms(self.max_us),
            self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_shards() {
        let l = Latency::new();
        l.record_all(0, &[100, 200]);
        l.record_all(5, &[300, 10_000]);
        let s = l.summary();
        assert_eq!(s.count, 4);
        assert!(s.max_us >= 10_000 && s.max_us < 10_100);
        assert!(s.p50_us >= 200 && s.p50_us < 210);
    }
}
