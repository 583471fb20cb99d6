//! The density scenario: open N idle SSE connections from 127.0.0.2.., hold them, measure
//! what the hub and the kernel pay per connection, then publish one broadcast and count the
//! connections that received it exactly once.

mod conn;
mod verdict;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout};

use crate::cli::{Common, DensityArgs};
use crate::http::Client;
use crate::payload::{unix_nanos, Ack};
use crate::report::Report;
use crate::source::Sources;
use crate::{limits, procfs};

const POLL: Duration = Duration::from_millis(50);
/// After everyone has the final event, how long a duplicate gets to show up.
const DUPLICATE_WINDOW: Duration = Duration::from_millis(500);
/// Descriptors the harness needs besides the held connections.
const FD_MARGIN: u64 = 64;

/// Counters shared by all connection tasks (atomics: 200k tasks, no locks on the hot path).
#[derive(Default)]
pub struct Tally {
    pub connected: AtomicU64,
    pub failed: AtomicU64,
    /// Connections closed by the hub while held.
    pub closed: AtomicU64,
    pub mark_once: AtomicU64,
    pub mark_repeated: AtomicU64,
    pub mark_seen: AtomicU64,
    /// Latest unix-nanos time a connection received the final event.
    pub last_mark_at: AtomicU64,
    pub protocol_errors: AtomicU64,
    pub examples: Mutex<Vec<String>>,
}

impl Tally {
    pub fn example(&self, text: String) {
        let mut ex = self
            .examples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if ex.len() < 10 {
            ex.push(text);
        }
    }
}

pub async fn run(common: &Common, args: &DensityArgs) -> Report {
    let mut report = Report::new("density");
    let hub = common.hubs[0].clone();
    let nofile = limits::raise_nofile();
    if u64::from(args.connections) + FD_MARGIN > nofile {
        report.warning(format!(
            "fd limit {nofile} is below {} connections: raise `ulimit -n` (hard) first",
            args.connections
        ));
    }
    let pid = common.hub_pid;
    let hub_rss_before = pid.and_then(procfs::rss_bytes);
    let tcp_mem_before = procfs::tcp_mem_bytes();
    let slab_before = procfs::socket_slab_bytes();
    let self_rss_before = procfs::self_rss_bytes();

    let tally = Arc::new(Tally::default());
    let gate = Arc::new(Semaphore::new(args.connect_concurrency as usize));
    let (stop_tx, stop_rx) = watch::channel(false);
    let nonce = unix_nanos().to_string();
    let mark = conn::Mark {
        event_type: format!("{}.mark", common.event_type),
        nonce: nonce.clone(),
    };
    let mark = Arc::new(mark);
    let key = common
        .subscribe_key
        .clone()
        .or_else(|| common.publish_key.clone());
    let sources = Arc::new(Sources::new(args.per_source));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..args.connections {
        let permit = gate.clone().acquire_owned().await.expect("never closed");
        let request = crate::stream::Request {
            path: format!("/api/sse/connect?clientId=lt-d{nonce}-{i}"),
            api_key: key.clone(),
            last_event_id: None,
            source: Some(sources.clone()),
        };
        let (hub, tally, stop, mark) = (hub.clone(), tally.clone(), stop_rx.clone(), mark.clone());
        tasks.spawn(conn::hold(hub, request, permit, tally, stop, mark));
        if started.elapsed() > Duration::from_secs(args.connect_timeout_secs) {
            report.warning(format!("connect phase timed out after {i} attempts"));
            break;
        }
    }
    let attempted = tasks.len() as u64;
    let deadline = started + Duration::from_secs(args.connect_timeout_secs);
    while tally.connected.load(Ordering::Relaxed) + tally.failed.load(Ordering::Relaxed) < attempted
        && Instant::now() < deadline
    {
        sleep(POLL).await;
    }
    let connect_secs = started.elapsed().as_secs_f64();
    let connected = tally.connected.load(Ordering::Relaxed);

    sleep(Duration::from_secs(args.hold_secs)).await;
    let hub_rss_after = pid.and_then(procfs::rss_bytes);
    let tcp_mem_after = procfs::tcp_mem_bytes();
    let slab_after = procfs::socket_slab_bytes();
    let self_rss_after = procfs::self_rss_bytes();

    let publish_at = unix_nanos();
    let final_seq = publish_mark(common, &hub, &mark, &mut report).await;
    let deliver_deadline = Instant::now() + Duration::from_secs(args.deliver_timeout_secs);
    let alive = || connected - tally.closed.load(Ordering::Relaxed);
    while final_seq.is_some()
        && tally.mark_seen.load(Ordering::Relaxed) < alive()
        && Instant::now() < deliver_deadline
    {
        sleep(POLL).await;
    }
    sleep(DUPLICATE_WINDOW).await;
    let _ = stop_tx.send(true);
    let _ = timeout(Duration::from_secs(30), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();

    let per_conn = |after: Option<u64>, before: Option<u64>| {
        after
            .zip(before)
            .filter(|_| connected > 0)
            .map(|(a, b)| verdict::round((a as f64 - b as f64) / connected as f64))
    };
    let last_mark = tally.last_mark_at.load(Ordering::Relaxed);
    let m = verdict::Metrics {
        hub: hub.to_string(),
        requested: args.connections,
        connected,
        failed: tally.failed.load(Ordering::Relaxed),
        closed_by_hub: tally.closed.load(Ordering::Relaxed),
        source_addresses: sources.addresses_used(),
        connect_secs: verdict::round(connect_secs),
        connects_per_sec: verdict::round(connected as f64 / connect_secs),
        hub_rss_before,
        hub_rss_after,
        hub_rss_per_conn: per_conn(hub_rss_after, hub_rss_before),
        tcp_mem_before,
        tcp_mem_after,
        tcp_mem_per_conn: per_conn(tcp_mem_after, tcp_mem_before),
        kernel_slab_per_conn: per_conn(slab_after, slab_before),
        harness_rss_per_conn: per_conn(self_rss_after, self_rss_before),
        final_event_sequence: final_seq,
        received_once: tally.mark_once.load(Ordering::Relaxed),
        received_repeatedly: tally.mark_repeated.load(Ordering::Relaxed),
        fanout_ms: (last_mark > publish_at)
            .then(|| verdict::round((last_mark - publish_at) as f64 / 1e6)),
        nofile_limit: nofile,
    };
    verdict::judge(&mut report, &m, &tally);
    report.set_metrics(&m);
    report
}

async fn publish_mark(
    common: &Common,
    hub: &crate::target::Hub,
    mark: &conn::Mark,
    report: &mut Report,
) -> Option<u64> {
    let body = format!(
        r#"{{"eventType":"{}","data":{{"nonce":"{}"}}}}"#,
        mark.event_type, mark.nonce
    );
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(key) = &common.publish_key {
        headers.push(("X-API-Key", key));
    }
    let mut client = Client::new(hub.clone());
    match client
        .send("POST", "/api/sse/broadcast", &headers, body.as_bytes())
        .await
    {
        Ok((200, answer)) => match serde_json::from_slice::<Ack>(&answer) {
            Ok(ack) => Some(ack.sequence),
            Err(e) => {
                report.violation(format!("final broadcast ack unreadable: {e}"));
                None
            }
        },
        Ok((status, answer)) => {
            let answer = String::from_utf8_lossy(&answer);
            report.violation(format!("final broadcast answered {status}: {answer}"));
            None
        }
        Err(e) => {
            report.violation(format!("final broadcast failed: {e}"));
            None
        }
    }
}
