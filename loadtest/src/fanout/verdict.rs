//! Judges a fan-out run: every subscriber against the acknowledged set, publish outcomes,
//! and the measurements for the report.

use serde::Serialize;

use super::Run;
use crate::cli::{Common, ReplayArgs};
use crate::publisher::{self, Acked};
use crate::report::Report;
use crate::stats::{summarise, LatencySummary};
use crate::verify::Published;
use crate::{procfs, stats};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Metrics {
    hubs: Vec<String>,
    subscribers: usize,
    subscribers_connected: usize,
    publishers: usize,
    connect_secs: f64,
    publish_secs: f64,
    delivery_secs: f64,
    drained: bool,
    /// Events per publish request (`--batch`), 1 for single broadcasts.
    batch: u32,
    message_ids: bool,
    /// Events acknowledged.
    published: usize,
    publish_rejected: u64,
    publish_ambiguous: u64,
    /// Acknowledged events per second of publishing.
    publish_per_sec: f64,
    /// Publish requests (a batch is one; retries not included) and their rate.
    publish_requests: u64,
    publish_requests_per_sec: f64,
    retries: u64,
    retries_matched: u64,
    retries_unanswered: u64,
    /// HTTP/2 connections the subscribers shared (`null` over HTTP/1.1).
    h2_connections: Option<usize>,
    deliveries: u64,
    deliveries_per_sec: f64,
    latency: LatencySummary,
    catchup_latency: LatencySummary,
    publish_rtt: LatencySummary,
    planned_drops: u64,
    planned_stalls: u64,
    unplanned_closes: u64,
    real_time_inversions: u64,
    hub_cpu_secs: Option<f64>,
    hub_cpu_cores: Option<f64>,
    harness_cpu_secs: Option<f64>,
    harness_rss_bytes: Option<u64>,
    nofile_limit: u64,
}

pub fn judge(scenario: &'static str, common: &Common, args: &ReplayArgs, run: Run) -> Report {
    let mut report = Report::new(scenario);
    let acked: Vec<Acked> = run
        .publishers
        .iter()
        .flat_map(|p| p.acked.iter().copied())
        .collect();
    let ambiguous: u64 = run.publishers.iter().map(|p| p.ambiguous).sum();
    let rejected: u64 = run.publishers.iter().map(|p| p.rejected).sum();
    for note in &run.notes {
        report.warning(note.clone());
    }
    let mut unsupported = None;
    for (id, p) in run.publishers.iter().enumerate() {
        for e in &p.errors {
            report.warning(format!("publisher {id}: {e}"));
        }
        for v in &p.violations {
            report.violation(format!("publisher {id}: {v}"));
        }
        let unlisted = p.violation_count - p.violations.len() as u64;
        if unlisted > 0 {
            report.violation(format!(
                "publisher {id}: {unlisted} more answers broke the contract"
            ));
        }
        unsupported = unsupported.or(p.unsupported.as_ref());
    }
    if let Some(why) = unsupported {
        report.violation(why.clone());
    }
    let (published, reused) = Published::new(acked.iter().map(|a| (a.seq, a.origin)).collect());
    for seq in reused {
        report.violation(format!(
            "the hub acknowledged sequence {seq} for two publishes"
        ));
    }
    if published.len() == 0 && unsupported.is_none() {
        report.violation("no publish was acknowledged".to_owned());
    }
    let (inversions, examples) = publisher::real_time_inversions(&acked);
    if inversions > 0 {
        let text = format!(
            "{inversions} publishes got a lower sequence than one acknowledged before they were sent (e.g. {examples:?})"
        );
        // One node has one counter; only several nodes reserving blocks may legitimately invert.
        if common.hubs.len() == 1 {
            report.violation(text);
        } else {
            report.warning(text);
        }
    }
    if !run.drained {
        report.warning(
            "drain timed out before every subscriber saw the last acknowledged event".to_owned(),
        );
    }
    if run.subscribers.len() < args.fanout.subscribers as usize {
        report.violation(format!(
            "only {} of {} subscribers reported back before the stop grace ended",
            run.subscribers.len(),
            args.fanout.subscribers
        ));
    }

    let mut deliveries = 0;
    let mut connected = 0;
    let (mut planned, mut stalls, mut unplanned) = (0u64, 0u64, 0u64);
    let mut closed = Vec::new();
    for sub in &run.subscribers {
        let who = format!(
            "subscriber {} (hub {})",
            sub.index, common.hubs[sub.hub_index]
        );
        deliveries += sub.ledger.received;
        planned += u64::from(sub.planned_drops);
        stalls += u64::from(sub.planned_stalls);
        unplanned += u64::from(sub.unplanned_closes);
        for p in &sub.protocol {
            report.violation(format!("{who}: protocol: {p}"));
        }
        // Already reported once when the hub ignores client ids altogether.
        if let (Some(first), None) = (&sub.first_id_mismatch, unsupported) {
            report.violation(format!(
                "{who}: {} events carry another messageId than published with, first: {first}",
                sub.id_mismatches
            ));
        }
        let Some(start) = sub.start else {
            report.violation(format!("{who}: never connected: {:?}", sub.errors));
            continue;
        };
        connected += 1;
        if sub.unplanned_closes > 0 {
            closed.push((sub.index, sub.unplanned_closes, &sub.errors));
        }
        for v in &sub.ledger.violations {
            report.violation(format!("{who}: {v}"));
        }
        if sub.ledger.violation_count > sub.ledger.violations.len() as u64 {
            report.violation(format!(
                "{who}: {} more ledger violations",
                sub.ledger.violation_count - sub.ledger.violations.len() as u64
            ));
        }
        let d = published.check(start, &sub.ledger);
        if d.missing > 0 {
            report.violation(format!(
                "{who}: missing {} of {} events after its start {start}, first {:?}",
                d.missing, d.expected, d.first_missing
            ));
        }
        if d.unexpected > 0 {
            let text = format!(
                "{who}: {} delivered events were never acknowledged (or precede its start {start}), first {:?}",
                d.unexpected, d.first_unexpected
            );
            // A publish whose answer was lost may exist: only then is this explainable.
            if ambiguous == 0 {
                report.violation(text);
            } else {
                report.warning(text);
            }
        }
        if d.payload_mismatch {
            report.violation(format!(
                "{who}: every sequence arrived but some carry another publish's payload"
            ));
        }
    }

    // Hub-side closes are allowed (slow consumers, stream lifetimes): listed once, briefly.
    for (index, closes, errors) in closed.iter().take(5) {
        report.warning(format!(
            "subscriber {index}: {closes} hub-side closes, resumed: {errors:?}"
        ));
    }
    if closed.len() > 5 {
        report.warning(format!(
            "... {} subscribers in all were closed by the hub and resumed",
            closed.len()
        ));
    }
    if scenario == "cluster" {
        cluster_lines(&mut report, &run);
    }
    let rtt = run
        .publishers
        .iter()
        .fold(stats::new_histogram(), |mut all, p| {
            let _ = all.add(&p.rtt);
            all
        });
    let sum = |f: fn(&publisher::Report) -> u64| run.publishers.iter().map(f).sum::<u64>();
    let requests = sum(|p| p.requests);
    let metrics = Metrics {
        hubs: common.hubs.iter().map(ToString::to_string).collect(),
        subscribers: args.fanout.subscribers as usize,
        subscribers_connected: connected,
        publishers: run.publishers.len(),
        connect_secs: round(run.connect_secs),
        publish_secs: round(run.publish_secs),
        delivery_secs: round(run.delivery_secs),
        drained: run.drained,
        batch: args.fanout.batch.unwrap_or(1),
        message_ids: args.fanout.message_id,
        published: published.len(),
        publish_rejected: rejected,
        publish_ambiguous: ambiguous,
        publish_per_sec: round(published.len() as f64 / run.publish_secs),
        publish_requests: requests,
        publish_requests_per_sec: round(requests as f64 / run.publish_secs),
        retries: sum(|p| p.retries),
        retries_matched: sum(|p| p.retries_matched),
        retries_unanswered: sum(|p| p.retries_unanswered),
        h2_connections: run.h2_connections,
        deliveries,
        deliveries_per_sec: round(deliveries as f64 / run.delivery_secs),
        latency: run.board.latency.summary(),
        catchup_latency: run.board.catchup_latency.summary(),
        publish_rtt: summarise(&rtt),
        planned_drops: planned,
        planned_stalls: stalls,
        unplanned_closes: unplanned,
        real_time_inversions: inversions,
        hub_cpu_secs: run.hub_cpu_secs.map(round),
        hub_cpu_cores: run.hub_cpu_secs.map(|c| round(c / run.delivery_secs)),
        harness_cpu_secs: run.harness_cpu_secs.map(round),
        harness_rss_bytes: procfs::self_rss_bytes(),
        nofile_limit: run.nofile,
    };
    summarise_lines(&mut report, &metrics, args);
    report.set_metrics(&metrics);
    report
}

fn summarise_lines(report: &mut Report, m: &Metrics, args: &ReplayArgs) {
    let over = m.h2_connections.map_or(String::new(), |c| {
        format!(" as h2 streams over {c} connections")
    });
    report.line(format!(
        "hubs {}; {} of {} subscribers connected{over} in {:.2} s; {} publishers",
        m.hubs.join(" "),
        m.subscribers_connected,
        m.subscribers,
        m.connect_secs,
        m.publishers
    ));
    let how = match (args.fanout.batch, m.message_ids) {
        (Some(n), true) => format!("batches of {n} with client message ids"),
        (Some(n), false) => format!("batches of {n}"),
        (None, true) => "single publishes with client message ids".to_owned(),
        (None, false) => "single publishes".to_owned(),
    };
    report.line(format!(
        "published {} events in {} requests ({how}) in {:.2} s: {:.0} events/s, {:.0} requests/s (target {} events/s); {} events rejected, {} ambiguous",
        m.published,
        m.publish_requests,
        m.publish_secs,
        m.publish_per_sec,
        m.publish_requests_per_sec,
        args.fanout.rate,
        m.publish_rejected,
        m.publish_ambiguous
    ));
    if m.retries > 0 {
        report.line(format!(
            "retried {} acknowledged requests with the same message ids: {} got the original answer, {} went unanswered",
            m.retries, m.retries_matched, m.retries_unanswered
        ));
    }
    report.line(format!(
        "delivered {} frames in {:.2} s = {:.0} deliveries/s (drained: {})",
        m.deliveries, m.delivery_secs, m.deliveries_per_sec, m.drained
    ));
    report.line(format!("publish→receive latency: {}", m.latency));
    if m.catchup_latency.count > 0 {
        report.line(format!("replayed after resume: {}", m.catchup_latency));
    }
    report.line(format!("publish round trip: {}", m.publish_rtt));
    if args.drop_percent > 0 && args.stall {
        report.line(format!(
            "stalled {} subscribers ({}%, {} ms without reading); {} hub-side closes, resumed",
            m.planned_stalls, args.drop_percent, args.pause_ms, m.unplanned_closes
        ));
    } else if args.drop_percent > 0 {
        report.line(format!(
            "dropped and resumed {} subscribers ({}%, pause {} ms); {} hub-side closes",
            m.planned_drops, args.drop_percent, args.pause_ms, m.unplanned_closes
        ));
    } else if m.unplanned_closes > 0 {
        report.line(format!(
            "{} hub-side closes, each resumed with Last-Event-ID",
            m.unplanned_closes
        ));
    }
    if let (Some(cpu), Some(cores)) = (m.hub_cpu_secs, m.hub_cpu_cores) {
        report.line(format!("hub CPU {cpu:.2} s ({cores:.2} cores)"));
    }
    if let Some(cpu) = m.harness_cpu_secs {
        report.line(format!("harness CPU {cpu:.2} s"));
    }
}

/// States what the cluster check covered: each subscriber was held to the one global
/// acknowledged order, so passing means every node delivered that same order.
fn cluster_lines(report: &mut Report, run: &Run) {
    let mut nodes: Vec<&str> = run
        .subscribers
        .iter()
        .flat_map(|s| s.nodes.iter().map(String::as_str))
        .collect();
    nodes.sort_unstable();
    nodes.dedup();
    report.line(format!(
        "nodes seen in connected frames: {} ({})",
        nodes.len(),
        nodes.join(", ")
    ));
    if nodes.len() < 2 {
        report.warning(
            "every hub URL is the same node: the cross-node order check is vacuous".to_owned(),
        );
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
