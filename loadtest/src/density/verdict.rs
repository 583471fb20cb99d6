//! Judges a density run and words its summary.

use std::sync::atomic::Ordering;

use serde::Serialize;

use super::Tally;
use crate::report::Report;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    pub hub: String,
    pub requested: u32,
    pub connected: u64,
    pub failed: u64,
    pub closed_by_hub: u64,
    pub source_addresses: u32,
    pub connect_secs: f64,
    pub connects_per_sec: f64,
    pub hub_rss_before: Option<u64>,
    pub hub_rss_after: Option<u64>,
    pub hub_rss_per_conn: Option<f64>,
    pub tcp_mem_before: Option<u64>,
    pub tcp_mem_after: Option<u64>,
    pub tcp_mem_per_conn: Option<f64>,
    /// Socket slab bytes per connection, both ends (see `procfs::socket_slab_bytes`).
    pub kernel_slab_per_conn: Option<f64>,
    pub harness_rss_per_conn: Option<f64>,
    pub final_event_sequence: Option<u64>,
    pub received_once: u64,
    pub received_repeatedly: u64,
    pub fanout_ms: Option<f64>,
    pub nofile_limit: u64,
}

pub fn judge(report: &mut Report, m: &Metrics, tally: &Tally) {
    let alive = m.connected - m.closed_by_hub;
    if m.connected < u64::from(m.requested) {
        report.violation(format!(
            "only {} of {} connections opened ({} failed)",
            m.connected, m.requested, m.failed
        ));
    }
    if m.closed_by_hub > 0 {
        report.violation(format!(
            "the hub closed {} idle connections",
            m.closed_by_hub
        ));
    }
    if m.final_event_sequence.is_some() && m.received_once < alive {
        report.violation(format!(
            "final broadcast reached {} of {} open connections exactly once",
            m.received_once, alive
        ));
    }
    if m.received_repeatedly > 0 {
        report.violation(format!(
            "{} connections received the final broadcast more than once",
            m.received_repeatedly
        ));
    }
    let protocol = tally.protocol_errors.load(Ordering::Relaxed);
    if protocol > 0 {
        report.violation(format!("{protocol} protocol errors"));
    }
    for ex in tally
        .examples
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        report.warning(ex.clone());
    }
    report.line(format!(
        "{} of {} connections to {} from {} source addresses in {:.2} s ({:.0}/s), {} failed",
        m.connected,
        m.requested,
        m.hub,
        m.source_addresses,
        m.connect_secs,
        m.connects_per_sec,
        m.failed
    ));
    if let Some(rss) = m.hub_rss_per_conn {
        report.line(format!(
            "hub RSS {:.1} MiB -> {:.1} MiB: {:.2} KiB per connection",
            mib(m.hub_rss_before),
            mib(m.hub_rss_after),
            rss / 1024.0
        ));
    }
    if let Some(tcp) = m.tcp_mem_per_conn {
        report.line(format!(
            "kernel TCP memory {:.1} MiB -> {:.1} MiB: {:.2} KiB per connection (both ends)",
            mib(m.tcp_mem_before),
            mib(m.tcp_mem_after),
            tcp / 1024.0
        ));
    }
    if let Some(slab) = m.kernel_slab_per_conn {
        report.line(format!(
            "kernel socket slabs: {:.2} KiB per connection (both ends)",
            slab / 1024.0
        ));
    }
    if let Some(own) = m.harness_rss_per_conn {
        report.line(format!(
            "harness RSS {:.2} KiB per connection",
            own / 1024.0
        ));
    }
    report.line(format!(
        "final broadcast seq {:?}: exactly once on {} of {} open connections, repeated on {}, fan-out {:?} ms",
        m.final_event_sequence, m.received_once, alive, m.received_repeatedly, m.fanout_ms
    ));
}

fn mib(bytes: Option<u64>) -> f64 {
    bytes.unwrap_or(0) as f64 / (1024.0 * 1024.0)
}

pub fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
