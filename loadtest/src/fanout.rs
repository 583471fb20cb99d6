//! The fan-out scenario and its variants: `replay` drops and resumes a share of the
//! subscribers mid-run, `cluster` spreads subscribers and publishers over several hubs.
//! Phases: connect every subscriber (recording its start point), publish for T seconds,
//! drain until every subscriber has the last acknowledged event, stop, then judge.

mod verdict;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, timeout};

use crate::cli::{Common, HttpVersion, ReplayArgs};
use crate::http::Client;
use crate::mux::{self, Pool};
use crate::payload::MessageIds;
use crate::report::Report;
use crate::source::Sources;
use crate::stream::Dial;
use crate::transport::Transport;
use crate::{limits, procfs, publisher, subscriber};

/// Bound on the subscriber connect phase.
const CONNECT_PHASE: Duration = Duration::from_secs(120);
/// How long stopped subscribers get to hand back their ledgers.
const STOP_GRACE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(20);

/// Raw results handed to the verdict.
pub struct Run {
    pub subscribers: Vec<subscriber::Report>,
    pub publishers: Vec<publisher::Report>,
    pub board: Arc<subscriber::Board>,
    pub connect_secs: f64,
    pub publish_secs: f64,
    /// From the first publish until the drain ended.
    pub delivery_secs: f64,
    pub drained: bool,
    pub hub_cpu_secs: Option<f64>,
    pub harness_cpu_secs: Option<f64>,
    pub nofile: u64,
    /// HTTP/2 connections the subscribers were multiplexed over (all hubs), if any.
    pub h2_connections: Option<usize>,
    /// Set-up findings worth a warning (e.g. an h2 connection that would not open).
    pub notes: Vec<String>,
}

pub async fn run(
    scenario: &'static str,
    common: &Common,
    transport: &Arc<Transport>,
    args: &ReplayArgs,
) -> Report {
    match execute(common, transport, args).await {
        Ok(run) => verdict::judge(scenario, common, args, run),
        Err(why) => {
            let mut report = Report::new(scenario);
            report.violation(why);
            report
        }
    }
}

/// Under `--http h2`: one pool per hub, its connections dialled and their settings read.
async fn h2_pools(
    common: &Common,
    transport: &Arc<Transport>,
    subscribers: usize,
    sources: &Arc<Sources>,
    notes: &mut Vec<String>,
) -> Result<Option<Vec<Arc<Pool>>>, String> {
    if transport.http != HttpVersion::H2 {
        return Ok(None);
    }
    let hubs = common.hubs.len();
    let mut pools = Vec::with_capacity(hubs);
    for (h, hub) in common.hubs.iter().enumerate() {
        // Subscriber i goes to hub i % hubs.
        let streams = (subscribers + hubs - 1 - h) / hubs;
        let connections = mux::connections_for(streams, common.h2_connections);
        let pool = Arc::new(Pool::new(
            hub.clone(),
            transport.clone(),
            connections,
            streams,
            Some(sources.clone()),
        ));
        let warm = pool.warm_up().await;
        notes.extend(
            warm.errors
                .iter()
                .take(5)
                .map(|e| format!("{hub}: h2 connection: {e}")),
        );
        warm.check(streams, connections)
            .map_err(|why| format!("{hub}: {why}"))?;
        pools.push(pool);
    }
    Ok(Some(pools))
}

/// # Errors
/// The h2 connections cannot carry the subscribers (nothing was started).
async fn execute(
    common: &Common,
    transport: &Arc<Transport>,
    args: &ReplayArgs,
) -> Result<Run, String> {
    let f = &args.fanout;
    let nofile = limits::raise_nofile();
    let run_id = crate::payload::unix_nanos() % 1_000_000_000;
    let subscribers = f.subscribers as usize;
    let board = Arc::new(subscriber::Board::new(
        subscribers,
        f.connect_concurrency as usize,
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let subscribe_key = common
        .subscribe_key
        .clone()
        .or_else(|| common.publish_key.clone());
    let event_type: Arc<str> = common.event_type.as_str().into();
    let pause = Duration::from_millis(args.pause_ms);

    let sources = Arc::new(Sources::new(f.per_source));
    let mut notes = Vec::new();
    let pools = h2_pools(common, transport, subscribers, &sources, &mut notes).await?;
    let message_ids = f
        .message_id
        .then(|| MessageIds::new(crate::payload::unix_nanos()));
    let connect_start = Instant::now();
    let mut drop_signals = Vec::new();
    let mut subs = JoinSet::new();
    for index in 0..subscribers {
        let hub_index = index % common.hubs.len();
        let drop = is_dropped(index, args.drop_percent).then(|| {
            let signal = Arc::new(Notify::new());
            drop_signals.push(signal.clone());
            (signal, pause)
        });
        let plan = subscriber::Plan {
            index,
            hub_index,
            hub: common.hubs[hub_index].clone(),
            path: format!("/api/sse/connect?clientId=lt-{run_id}-{index}"),
            api_key: subscribe_key.clone(),
            dial: match &pools {
                Some(pools) => {
                    let pool = &pools[hub_index];
                    Dial::Shared {
                        pool: pool.clone(),
                        slot: pool.slot_for(index / common.hubs.len()),
                    }
                }
                None => Dial::Own {
                    transport: transport.clone(),
                    source: Some(sources.clone()),
                },
            },
            event_type: event_type.clone(),
            message_ids,
            drop,
            stall: args.stall,
        };
        subs.spawn(subscriber::run(plan, board.clone(), stop_rx.clone()));
    }
    let connect_deadline = connect_start + CONNECT_PHASE;
    while board.connected.load(Ordering::Relaxed) + board.gave_up.load(Ordering::Relaxed)
        < subscribers
        && Instant::now() < connect_deadline
    {
        sleep(POLL).await;
    }
    let connect_secs = connect_start.elapsed().as_secs_f64();

    let cpu_before = common.hub_pid.and_then(procfs::cpu_seconds);
    let self_before = procfs::cpu_seconds(std::process::id());
    let epoch = Instant::now();
    let until = epoch + Duration::from_secs(f.duration_secs);
    let publishers = f.publishers;
    let mode = publisher::Mode {
        batch: f.batch,
        message_ids,
        retry_every: f.retry_every,
    };
    // The rate counts events: a batch request carries several.
    let interval = (f.rate > 0).then(|| {
        Duration::from_secs_f64(
            f64::from(publishers) * f64::from(mode.events_per_request()) / f64::from(f.rate),
        )
    });
    let mut pubs = JoinSet::new();
    for id in 0..publishers {
        let hub = common.hubs[id as usize % common.hubs.len()].clone();
        let stagger = interval.map_or(Duration::ZERO, |i| i * id / publishers);
        pubs.spawn(publisher::run(publisher::Plan {
            id,
            client: Client::new(hub, transport.clone()),
            api_key: common.publish_key.clone(),
            event_type: common.event_type.clone(),
            mode,
            interval,
            start: epoch + stagger,
            until,
            epoch,
        }));
    }
    if !drop_signals.is_empty() {
        let at =
            epoch + Duration::from_secs_f64(f.duration_secs as f64 * args.drop_at.clamp(0.0, 1.0));
        sleep_until(at.into()).await;
        for signal in &drop_signals {
            signal.notify_one();
        }
    }
    let mut publisher_reports = Vec::new();
    while let Some(done) = pubs.join_next().await {
        publisher_reports.extend(done.ok());
    }
    let publish_secs = epoch.elapsed().as_secs_f64();

    let target = publisher_reports
        .iter()
        .flat_map(|p| p.acked.iter().map(|a| a.seq))
        .max()
        .unwrap_or(0);
    let drain_deadline = Instant::now() + Duration::from_secs(f.drain_secs);
    let drained = loop {
        if board
            .last
            .iter()
            .all(|l| l.load(Ordering::Relaxed) >= target)
        {
            break true;
        }
        if Instant::now() >= drain_deadline {
            break false;
        }
        sleep(POLL).await;
    };
    let delivery_secs = epoch.elapsed().as_secs_f64();
    let hub_cpu_secs = common
        .hub_pid
        .and_then(procfs::cpu_seconds)
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let harness_cpu_secs = procfs::cpu_seconds(std::process::id())
        .zip(self_before)
        .map(|(after, before)| after - before);

    let _ = stop_tx.send(true);
    let mut subscriber_reports = Vec::with_capacity(subscribers);
    let _ = timeout(STOP_GRACE, async {
        while let Some(done) = subs.join_next().await {
            subscriber_reports.extend(done.ok());
        }
    })
    .await;
    subs.abort_all();
    subscriber_reports.sort_by_key(|s| s.index);
    Ok(Run {
        subscribers: subscriber_reports,
        publishers: publisher_reports,
        board,
        connect_secs,
        publish_secs,
        delivery_secs,
        drained,
        hub_cpu_secs,
        harness_cpu_secs,
        nofile,
        h2_connections: pools.map(|p| p.iter().map(|p| p.len()).sum()),
        notes,
    })
}

/// Spreads `percent`% of subscribers evenly over the index range.
fn is_dropped(index: usize, percent: u8) -> bool {
    let p = usize::from(percent);
    (index + 1) * p / 100 > index * p / 100
}

#[cfg(test)]
mod tests {
    use super::is_dropped;

    #[test]
    fn drops_the_requested_share_evenly() {
        assert_eq!((0..1000).filter(|&i| is_dropped(i, 20)).count(), 200);
        assert_eq!((0..10).filter(|&i| is_dropped(i, 0)).count(), 0);
        assert_eq!((0..10).filter(|&i| is_dropped(i, 100)).count(), 10);
        assert!((0..5).any(|i| is_dropped(i, 20)));
    }
}
