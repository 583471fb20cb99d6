//! The density scenario: open N idle SSE connections from 127.0.0.2.. (or, under
//! `--http h2`, N streams over C shared connections), hold them, measure what the hub and the
//! kernel pay per connection (and, over h2, per connection and per stream apart), then
//! publish one broadcast and count the subscriptions that received it exactly once.

mod conn;
mod verdict;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout};

use crate::cli::{Common, DensityArgs, HttpVersion};
use crate::http::Client;
use crate::mux::{self, Pool};
use crate::payload::{unix_nanos, Ack};
use crate::report::Report;
use crate::source::Sources;
use crate::stream::Dial;
use crate::transport::Transport;
use crate::{limits, procfs};

const POLL: Duration = Duration::from_millis(50);
/// After everyone has the final event, how long a duplicate gets to show up.
const DUPLICATE_WINDOW: Duration = Duration::from_millis(500);
/// Descriptors the harness needs besides the held connections.
const FD_MARGIN: u64 = 64;
/// Pause after the h2 connections are up, before reading what they cost, so the hub's
/// allocations for them have happened.
const SETTLE: Duration = Duration::from_millis(300);

/// Readings taken at one moment: hub RSS, kernel TCP memory, socket slabs, harness RSS.
#[derive(Debug, Clone, Copy)]
struct Readings {
    hub_rss: Option<u64>,
    tcp_mem: Option<u64>,
    slab: Option<u64>,
    self_rss: Option<u64>,
}

impl Readings {
    fn now(pid: Option<u32>) -> Self {
        Self {
            hub_rss: pid.and_then(procfs::rss_bytes),
            tcp_mem: procfs::tcp_mem_bytes(),
            slab: procfs::socket_slab_bytes(),
            self_rss: procfs::self_rss_bytes(),
        }
    }
}

/// `(after - before) / count`, rounded; `None` without both readings or with no count.
fn per(after: Option<u64>, before: Option<u64>, count: u64) -> Option<f64> {
    after
        .zip(before)
        .filter(|_| count > 0)
        .map(|(a, b)| verdict::round((a as f64 - b as f64) / count as f64))
}

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

pub async fn run(common: &Common, transport: &Arc<Transport>, args: &DensityArgs) -> Report {
    let mut report = Report::new("density");
    let hub = common.hubs[0].clone();
    let streams = args.connections as usize;
    let nofile = limits::raise_nofile();
    if u64::from(args.connections) + FD_MARGIN > nofile {
        report.warning(format!(
            "fd limit {nofile} is below {} connections: raise `ulimit -n` (hard) first",
            args.connections
        ));
    }
    let pid = common.hub_pid;
    let before = Readings::now(pid);
    let sources = Arc::new(Sources::new(args.per_source));
    let pool = (transport.http == HttpVersion::H2).then(|| {
        let connections = mux::connections_for(streams, common.h2_connections);
        Arc::new(Pool::new(
            hub.clone(),
            transport.clone(),
            connections,
            streams,
            Some(sources.clone()),
        ))
    });
    // Over h2 the connections come first, measured on their own.
    let mut h2_connected = None;
    let mut h2_stream_limit = None;
    let mut after_connections = None;
    if let Some(pool) = &pool {
        let warm = pool.warm_up().await;
        for e in warm.errors.iter().take(5) {
            report.warning(format!("h2 connection: {e}"));
        }
        if let Err(why) = warm.check(streams, pool.len()) {
            report.violation(why);
            return report;
        }
        h2_connected = Some(warm.connected as u64);
        h2_stream_limit = warm.max_streams;
        sleep(SETTLE).await;
        after_connections = Some(Readings::now(pid));
    }

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
    let cpu_before = pid.and_then(procfs::cpu_seconds);
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..args.connections {
        let permit = gate.clone().acquire_owned().await.expect("never closed");
        let request = crate::stream::Request {
            path: format!("/api/sse/connect?clientId=lt-d{nonce}-{i}"),
            api_key: key.clone(),
            last_event_id: None,
            dial: match &pool {
                Some(pool) => Dial::Shared {
                    pool: pool.clone(),
                    slot: pool.slot_for(i as usize),
                },
                None => Dial::Own {
                    transport: transport.clone(),
                    source: Some(sources.clone()),
                },
            },
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
    let connect_cpu = pid
        .and_then(procfs::cpu_seconds)
        .zip(cpu_before)
        .map(|(after, before)| after - before);

    sleep(Duration::from_secs(args.hold_secs)).await;
    let after = Readings::now(pid);

    let publish_at = unix_nanos();
    let final_seq = publish_mark(common, transport, &hub, &mark, &mut report).await;
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

    // Kernel costs are per TCP connection: over h2 that is the shared connections.
    let sockets = h2_connected.unwrap_or(connected);
    // Over h2, streams are measured from the moment the connections were up.
    let streams_base = after_connections.unwrap_or(before);
    let last_mark = tally.last_mark_at.load(Ordering::Relaxed);
    let m = verdict::Metrics {
        hub: hub.to_string(),
        protocol: match transport.http {
            HttpVersion::Http1 => "http/1.1",
            HttpVersion::H2 => "h2",
        },
        requested: args.connections,
        connected,
        failed: tally.failed.load(Ordering::Relaxed),
        closed_by_hub: tally.closed.load(Ordering::Relaxed),
        source_addresses: sources.addresses_used(),
        connect_secs: verdict::round(connect_secs),
        connects_per_sec: verdict::round(connected as f64 / connect_secs),
        hub_cpu_us_per_connect: connect_cpu
            .filter(|_| connected > 0)
            .map(|cpu| verdict::round(cpu * 1e6 / connected as f64)),
        hub_rss_before: before.hub_rss,
        hub_rss_after: after.hub_rss,
        hub_rss_per_conn: per(after.hub_rss, before.hub_rss, connected),
        h2_connections: h2_connected,
        h2_stream_limit,
        hub_rss_after_connections: after_connections.and_then(|r| r.hub_rss),
        hub_rss_per_h2_connection: after_connections
            .and_then(|r| per(r.hub_rss, before.hub_rss, sockets)),
        hub_rss_per_stream: pool
            .as_ref()
            .and_then(|_| per(after.hub_rss, streams_base.hub_rss, connected)),
        tcp_mem_before: before.tcp_mem,
        tcp_mem_after: after.tcp_mem,
        tcp_mem_per_conn: per(after.tcp_mem, before.tcp_mem, sockets),
        kernel_slab_per_conn: per(after.slab, before.slab, sockets),
        harness_rss_per_conn: per(after.self_rss, before.self_rss, connected),
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
    transport: &Arc<Transport>,
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
    let mut client = Client::new(hub.clone(), transport.clone());
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
