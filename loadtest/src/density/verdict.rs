//! Judges a density run and words its summary.

use std::sync::atomic::Ordering;

use serde::Serialize;

use super::Tally;
use crate::report::Report;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    pub hub: String,
    /// `http/1.1` (a connection per subscription) or `h2` (streams on shared connections).
    pub protocol: &'static str,
    /// Subscriptions asked for (connections, or h2 streams).
    pub requested: u32,
    pub connected: u64,
    pub failed: u64,
    pub closed_by_hub: u64,
    pub source_addresses: u32,
    pub connect_secs: f64,
    pub connects_per_sec: f64,
    /// Hub CPU (user + system) spent during the connect phase, per connection opened.
    pub hub_cpu_us_per_connect: Option<f64>,
    pub hub_rss_before: Option<u64>,
    pub hub_rss_after: Option<u64>,
    /// Hub RSS growth per subscription, all in (over h2 its share of the connections too).
    pub hub_rss_per_conn: Option<f64>,
    /// Over h2: the shared connections opened, hub RSS once they were up, and the growth
    /// per connection (before any stream) and per stream (after the connections) apart.
    pub h2_connections: Option<u64>,
    /// The hub's `SETTINGS_MAX_CONCURRENT_STREAMS` (smallest seen), over h2.
    pub h2_stream_limit: Option<usize>,
    pub hub_rss_after_connections: Option<u64>,
    pub hub_rss_per_h2_connection: Option<f64>,
    pub hub_rss_per_stream: Option<f64>,
    pub tcp_mem_before: Option<u64>,
    pub tcp_mem_after: Option<u64>,
    /// Kernel TCP memory per TCP connection (over h2: per shared connection).
    pub tcp_mem_per_conn: Option<f64>,
    /// Socket slab bytes per TCP connection, both ends (see `procfs::socket_slab_bytes`).
    pub kernel_slab_per_conn: Option<f64>,
    /// Harness RSS growth per subscription.
    pub harness_rss_per_conn: Option<f64>,
    pub final_event_sequence: Option<u64>,
    pub received_once: u64,
    pub received_repeatedly: u64,
    pub fanout_ms: Option<f64>,
    pub nofile_limit: u64,
}

pub fn judge(report: &mut Report, m: &Metrics, tally: &Tally) {
    let alive = m.connected - m.closed_by_hub;
    // What one subscription is: its own connection, or a stream on a shared one.
    let unit = if m.h2_connections.is_some() {
        "streams"
    } else {
        "connections"
    };
    if m.connected < u64::from(m.requested) {
        report.violation(format!(
            "only {} of {} {unit} opened ({} failed)",
            m.connected, m.requested, m.failed
        ));
    }
    if m.closed_by_hub > 0 {
        report.violation(format!("the hub closed {} idle {unit}", m.closed_by_hub));
    }
    if m.final_event_sequence.is_some() && m.received_once < alive {
        report.violation(format!(
            "final broadcast reached {} of {} open {unit} exactly once",
            m.received_once, alive
        ));
    }
    if m.received_repeatedly > 0 {
        report.violation(format!(
            "{} {unit} received the final broadcast more than once",
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
    let over = match (m.h2_connections, m.h2_stream_limit) {
        (Some(c), Some(limit)) => {
            format!(" over {c} h2 connections (the hub allows {limit} streams on each)")
        }
        (Some(c), None) => format!(" over {c} h2 connections"),
        _ => String::new(),
    };
    report.line(format!(
        "{} of {} {unit}{over} to {} ({}) from {} source addresses in {:.2} s ({:.0}/s), {} failed",
        m.connected,
        m.requested,
        m.hub,
        m.protocol,
        m.source_addresses,
        m.connect_secs,
        m.connects_per_sec,
        m.failed
    ));
    if let Some(us) = m.hub_cpu_us_per_connect {
        report.line(format!(
            "hub CPU during the connect phase: {us:.1} µs per connection"
        ));
    }
    rss_lines(report, m);
    if let Some(tcp) = m.tcp_mem_per_conn {
        report.line(format!(
            "kernel TCP memory {:.1} MiB -> {:.1} MiB: {:.2} KiB per TCP connection (both ends)",
            mib(m.tcp_mem_before),
            mib(m.tcp_mem_after),
            tcp / 1024.0
        ));
    }
    if let Some(slab) = m.kernel_slab_per_conn {
        report.line(format!(
            "kernel socket slabs: {:.2} KiB per TCP connection (both ends)",
            slab / 1024.0
        ));
    }
    if let Some(own) = m.harness_rss_per_conn {
        let one = &unit[..unit.len() - 1];
        report.line(format!("harness RSS {:.2} KiB per {one}", own / 1024.0));
    }
    report.line(format!(
        "final broadcast seq {:?}: exactly once on {} of {} open {unit}, repeated on {}, fan-out {:?} ms",
        m.final_event_sequence, m.received_once, alive, m.received_repeatedly, m.fanout_ms
    ));
}

/// Hub memory: per connection over HTTP/1.1; over h2 per shared connection (measured before
/// any stream) and per stream (measured after the connections) apart.
fn rss_lines(report: &mut Report, m: &Metrics) {
    match (m.hub_rss_per_h2_connection, m.hub_rss_per_stream) {
        (Some(conn), Some(stream)) => report.line(format!(
            "hub RSS {:.1} MiB -> {:.1} MiB after {} h2 connections -> {:.1} MiB after {} streams: {:.2} KiB per h2 connection, {:.2} KiB per stream ({:.2} KiB per stream all in)",
            mib(m.hub_rss_before),
            mib(m.hub_rss_after_connections),
            m.h2_connections.unwrap_or(0),
            mib(m.hub_rss_after),
            m.connected,
            conn / 1024.0,
            stream / 1024.0,
            m.hub_rss_per_conn.unwrap_or(0.0) / 1024.0
        )),
        _ => {
            if let Some(rss) = m.hub_rss_per_conn {
                report.line(format!(
                    "hub RSS {:.1} MiB -> {:.1} MiB: {:.2} KiB per connection",
                    mib(m.hub_rss_before),
                    mib(m.hub_rss_after),
                    rss / 1024.0
                ));
            }
        }
    }
}

fn mib(bytes: Option<u64>) -> f64 {
    bytes.unwrap_or(0) as f64 / (1024.0 * 1024.0)
}

pub fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
