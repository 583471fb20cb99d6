//! A fan-out subscriber: holds one SSE stream, records every harness event in its ledger,
//! resumes with `Last-Event-ID` after a planned drop or a hub-initiated close, and hands its
//! ledger back for verification when told to stop.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::{sleep, timeout};

use crate::ledger::{Ledger, Violation};
use crate::payload::{scan_load, scan_message_id, unix_nanos, Connected, MessageIds};
use crate::sse::{Event, Item};
use crate::stats::Latency;
use crate::stream::{self, Dial, Outcome, SseStream};
use crate::target::Hub;

/// Bound on opening a stream and on resuming after a drop.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a subscriber keeps trying to (re)open its stream before giving up (it then fails
/// verification): long enough to ride out a hub restart.
const RETRY_WINDOW: Duration = Duration::from_secs(30);
/// Backoff between failed opens doubles up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Wait before resuming after a close the harness did not ask for.
const UNPLANNED_BACKOFF: Duration = Duration::from_millis(100);

/// What the coordinator can observe while subscribers run.
pub struct Board {
    /// Last harness sequence per subscriber (0 = none yet): how the drain knows it is done.
    pub last: Vec<AtomicU64>,
    /// Subscribers that have seen their first `connected` frame.
    pub connected: AtomicUsize,
    /// Subscribers that stopped trying to open a stream: the connect phase need not wait.
    pub gave_up: AtomicUsize,
    /// Publish→receive latency of events delivered live.
    pub latency: Latency,
    /// Latency of events published before a resumed connection opened (replayed history):
    /// kept apart because it includes the planned pause.
    pub catchup_latency: Latency,
    pub connect_gate: Semaphore,
}

impl Board {
    pub fn new(subscribers: usize, connect_concurrency: usize) -> Self {
        Self {
            last: (0..subscribers).map(|_| AtomicU64::new(0)).collect(),
            connected: AtomicUsize::new(0),
            gave_up: AtomicUsize::new(0),
            latency: Latency::new(),
            catchup_latency: Latency::new(),
            connect_gate: Semaphore::new(connect_concurrency),
        }
    }
}

pub struct Plan {
    pub index: usize,
    pub hub_index: usize,
    pub hub: Hub,
    pub path: String,
    pub api_key: Option<String>,
    /// Its own connection, or a stream on a shared HTTP/2 connection.
    pub dial: Dial,
    pub event_type: Arc<str>,
    /// Set when publishers choose message ids: each event must carry the one of its origin.
    pub message_ids: Option<MessageIds>,
    /// Set for subscribers the replay scenario drops: the signal, and the pause before resuming.
    pub drop: Option<(Arc<Notify>, Duration)>,
    /// On the signal, stop reading for the pause instead of disconnecting.
    pub stall: bool,
}

#[derive(Debug, Default)]
pub struct Report {
    pub index: usize,
    pub hub_index: usize,
    /// `headSequence` of the first connection: everything after it must arrive.
    pub start: Option<u64>,
    pub ledger: Ledger,
    pub opens: u32,
    pub planned_drops: u32,
    pub planned_stalls: u32,
    pub unplanned_closes: u32,
    pub errors: Vec<String>,
    pub nodes: Vec<String>,
    /// Events of other types (demo generator, other tests): ignored.
    pub foreign: u64,
    /// Protocol deviations that are not loss/order (e.g. `connected` with an `id:`).
    pub protocol: Vec<String>,
    /// Events whose `messageId` is not the one their publisher chose (`--message-id`), and
    /// the first of them; kept apart so a hub without client ids is reported once.
    pub id_mismatches: u64,
    pub first_id_mismatch: Option<String>,
    /// Last `id:` seen on any event, sent as `Last-Event-ID` when resuming.
    last_id: Option<u64>,
    /// Unix nanos when the current connection opened, if it is a resumed one (or when a
    /// planned stall ended): older events count as catch-up, not live latency.
    resumed_at: Option<u64>,
}

pub async fn run(plan: Plan, board: Arc<Board>, mut stop: watch::Receiver<bool>) -> Report {
    let mut rep = Report {
        index: plan.index,
        hub_index: plan.hub_index,
        ..Report::default()
    };
    let mut drop_pending = plan.drop.clone();
    // Failed opens in a row, and when the first of them happened.
    let mut failing: Option<(u32, Instant)> = None;
    'connection: while !*stop.borrow() {
        let request = stream::Request {
            path: plan.path.clone(),
            api_key: plan.api_key.clone(),
            last_event_id: rep.last_id.or(rep.start),
            dial: plan.dial.clone(),
        };
        let opened = {
            let _permit = board.connect_gate.acquire().await;
            timeout(OPEN_TIMEOUT, SseStream::open(&plan.hub, &request)).await
        };
        let mut sse = match opened {
            Ok(Ok(sse)) => {
                failing = None;
                sse
            }
            failed => {
                rep.error(match failed {
                    Ok(Err(e)) => format!("open: {e}"),
                    _ => "open: timed out".to_owned(),
                });
                let (count, since) = failing.get_or_insert((0, Instant::now()));
                *count += 1;
                if since.elapsed() >= RETRY_WINDOW {
                    board.gave_up.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                let backoff = (UNPLANNED_BACKOFF * 2u32.pow((*count).min(4))).min(MAX_BACKOFF);
                tokio::select! {
                    _ = stop.changed() => break 'connection,
                    () = sleep(backoff) => continue 'connection,
                }
            }
        };
        rep.opens += 1;
        rep.resumed_at = (rep.opens > 1).then(unix_nanos);
        let mut samples = Samples::default();
        loop {
            let dropper = drop_pending.clone();
            tokio::select! {
                biased;
                _ = stop.changed() => break 'connection,
                () = async {
                    match &dropper {
                        Some((signal, _)) => signal.notified().await,
                        None => std::future::pending().await,
                    }
                } => {
                    let pause = drop_pending.take().map(|(_, p)| p).unwrap_or_default();
                    if plan.stall {
                        // Keep the socket but stop reading, as a slow consumer does: the
                        // hub's buffers fill; it may close us (then we resume) or wait.
                        rep.planned_stalls += 1;
                        tokio::select! {
                            _ = stop.changed() => break 'connection,
                            () = sleep(pause) => {
                                rep.resumed_at = Some(unix_nanos());
                                continue;
                            }
                        }
                    }
                    drop(sse);
                    rep.planned_drops += 1;
                    tokio::select! {
                        _ = stop.changed() => break 'connection,
                        () = sleep(pause) => continue 'connection,
                    }
                }
                read = sse.read(|item| rep.observe(item, &plan, &board, &mut samples)) => {
                    samples.flush(&board, plan.index);
                    match read {
                        Ok(Outcome::More) => {}
                        Ok(Outcome::Ended) => {
                            rep.unplanned_closes += 1;
                            rep.error("hub closed the stream".into());
                            sleep(UNPLANNED_BACKOFF).await;
                            continue 'connection;
                        }
                        Err(e) => {
                            rep.unplanned_closes += 1;
                            rep.error(format!("read: {e}"));
                            sleep(UNPLANNED_BACKOFF).await;
                            continue 'connection;
                        }
                    }
                }
            }
        }
    }
    rep
}

/// What one socket read produced, published to the board once per read rather than per frame.
#[derive(Default)]
struct Samples {
    live: Vec<u64>,
    catchup: Vec<u64>,
    last: u64,
    now: Option<u64>,
}

impl Samples {
    fn flush(&mut self, board: &Board, index: usize) {
        board.latency.record_all(index, &self.live);
        board.catchup_latency.record_all(index, &self.catchup);
        if self.last > 0 {
            board.last[index].fetch_max(self.last, Ordering::Relaxed);
        }
        self.live.clear();
        self.catchup.clear();
        self.now = None;
    }
}

impl Report {
    fn error(&mut self, text: String) {
        if self.errors.len() < 5 && self.errors.last() != Some(&text) {
            self.errors.push(text);
        }
    }

    fn protocol(&mut self, text: String) {
        if self.protocol.len() < 5 {
            self.protocol.push(text);
        }
    }

    fn observe(&mut self, item: Item<'_>, plan: &Plan, board: &Board, samples: &mut Samples) {
        let Item::Event(event) = item else { return };
        if event.has_id {
            self.last_id = event.last_event_id.parse().ok().or(self.last_id);
        }
        match event.event_type {
            "connected" => self.on_connected(event, board),
            "reset" => self.ledger.violate(Violation::Reset {
                data: event.data.to_owned(),
            }),
            t if t == &*plan.event_type => self.on_load(event, plan, samples),
            _ => self.foreign += 1,
        }
    }

    fn on_connected(&mut self, event: Event<'_>, board: &Board) {
        if event.has_id {
            self.protocol(format!(
                "connected frame carries id: {}",
                event.last_event_id
            ));
        }
        let info: Connected = match serde_json::from_str(event.data) {
            Ok(info) => info,
            Err(e) => return self.protocol(format!("connected data {:?}: {e}", event.data)),
        };
        if !self.nodes.contains(&info.node) {
            self.nodes.push(info.node.clone());
        }
        match self.start {
            None => {
                self.start = Some(info.head_sequence);
                board.connected.fetch_add(1, Ordering::Relaxed);
            }
            Some(start) => {
                let asked = self.last_id.unwrap_or(start);
                if info.resume_from.is_some_and(|r| r != asked) {
                    self.protocol(format!(
                        "resumed with Last-Event-ID {asked} but connected.resumeFrom is {:?}",
                        info.resume_from
                    ));
                }
            }
        }
    }

    fn on_load(&mut self, event: Event<'_>, plan: &Plan, samples: &mut Samples) {
        let Some(load) = scan_load(event.data) else {
            return self.protocol(format!(
                "unparseable {} data {:?}",
                plan.event_type, event.data
            ));
        };
        if !event.has_id {
            self.ledger.violate(Violation::MissingId {
                sequence: load.sequence,
            });
        } else if event.last_event_id.parse() != Ok(load.sequence) {
            self.ledger.violate(Violation::IdMismatch {
                id: event.last_event_id.to_owned(),
                sequence: load.sequence,
            });
        }
        if let Some(ids) = plan.message_ids {
            let want = ids.of(load.origin);
            let got = scan_message_id(event.data);
            if got != Some(want.as_str()) {
                self.id_mismatches += 1;
                if self.first_id_mismatch.is_none() {
                    self.first_id_mismatch = Some(format!(
                        "event {} carries messageId {}, but was published with {want}",
                        load.sequence,
                        got.unwrap_or("(none)")
                    ));
                }
            }
        }
        self.ledger.record(load.sequence, load.origin);
        samples.last = samples.last.max(load.sequence);
        // One clock read per socket read: frames of one read arrived together.
        let now = *samples.now.get_or_insert_with(unix_nanos);
        let micros = now.saturating_sub(load.sent_unix_nanos) / 1000;
        match self.resumed_at {
            Some(at) if load.sent_unix_nanos < at => samples.catchup.push(micros),
            _ => samples.live.push(micros),
        }
    }
}
