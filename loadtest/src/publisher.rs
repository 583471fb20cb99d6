//! A publisher: one keep-alive connection posting timestamped events at a steady rate (or
//! back to back), one per broadcast or N per batch, optionally with client-chosen message
//! ids and deliberate retries, keeping every acknowledgement for the oracle and judging
//! each answer against the contract on the spot.

mod order;

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::time::sleep_until;

use crate::batch;
use crate::http::Client;
use crate::payload::{publish_body, unix_nanos, Ack, MessageIds, Origin};
use crate::stats::new_histogram;

pub use order::real_time_inversions;

/// Pause after a refused connect.
const CONNECT_BACKOFF: Duration = Duration::from_millis(50);
/// Errors and violations kept verbatim per publisher (all are counted).
const KEEP_ERRORS: usize = 5;

/// What each request carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// Events per `POST /api/sse/batch`; `None` = one event per `POST /api/sse/broadcast`.
    pub batch: Option<u32>,
    /// Client-chosen message ids.
    pub message_ids: Option<MessageIds>,
    /// Send every K-th request a second time, unchanged (needs `message_ids`).
    pub retry_every: Option<u32>,
}

impl Mode {
    pub fn events_per_request(self) -> u32 {
        self.batch.unwrap_or(1)
    }

    fn path(self) -> &'static str {
        match self.batch {
            Some(_) => "/api/sse/batch",
            None => "/api/sse/broadcast",
        }
    }
}

pub struct Plan {
    pub id: u32,
    pub client: Client,
    pub api_key: Option<String>,
    pub event_type: String,
    pub mode: Mode,
    /// Time between requests; `None` = send the next as soon as the previous is answered.
    pub interval: Option<Duration>,
    /// First send time (publishers are staggered within one interval).
    pub start: Instant,
    pub until: Instant,
    /// Origin of real time for the timeline, shared by all publishers.
    pub epoch: Instant,
}

/// One acknowledged event, for the real-time order check.
#[derive(Debug, Clone, Copy)]
pub struct Acked {
    pub seq: u64,
    pub origin: Origin,
    /// Nanoseconds since the shared epoch when the request was sent and the ack received.
    pub sent: u64,
    pub acked: u64,
}

pub struct Report {
    pub acked: Vec<Acked>,
    /// Publish requests answered or failed (retries not included).
    pub requests: u64,
    /// Events in non-2xx answers (the hub said they were not accepted) and in requests whose
    /// connect failed (nothing was sent).
    pub rejected: u64,
    /// Events whose fate is unknown: connection failures after sending, unreadable answers.
    pub ambiguous: u64,
    /// Deliberate re-sends of acknowledged requests, and how many got the original answer.
    pub retries: u64,
    pub retries_matched: u64,
    /// Retries that failed without an answer (or with a 5xx): no verdict on those.
    pub retries_unanswered: u64,
    /// Answers that break the contract (batch order, echoed ids, retries).
    pub violations: Vec<String>,
    pub violation_count: u64,
    /// Set when the hub does not serve the endpoint at all (404): the publisher stopped.
    pub unsupported: Option<String>,
    pub errors: Vec<String>,
    /// Request round-trip, microseconds.
    pub rtt: Histogram<u64>,
}

/// One request as sent: its events and body, kept for a retry.
struct Request {
    index: u32,
    origins: Vec<Origin>,
    ids: Option<Vec<String>>,
    body: String,
}

pub async fn run(mut plan: Plan) -> Report {
    let mut rep = Report::new();
    let key = plan.api_key.clone();
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(key) = &key {
        headers.push(("X-API-Key", key));
    }
    let per_request = plan.mode.events_per_request();
    for r in 0u32.. {
        if let Some(interval) = plan.interval {
            let due = plan.start + interval * r;
            if due >= plan.until {
                break;
            }
            sleep_until(due.into()).await;
        }
        // A publisher that fell behind its schedule does not run past the duration: the
        // achieved rate is reported against the target instead.
        if Instant::now() >= plan.until {
            break;
        }
        let Some(request) = build(&plan, r, per_request) else {
            break;
        };
        let sent = Instant::now();
        let result = plan
            .client
            .send("POST", plan.mode.path(), &headers, request.body.as_bytes())
            .await;
        let answered = Instant::now();
        rep.requests += 1;
        rep.record_rtt(answered - sent);
        let events = request.origins.len() as u64;
        match result {
            Ok((200, answer)) => {
                let Some(acks) = rep.judge_answer(&plan, &request, &answer) else {
                    rep.ambiguous += events;
                    continue;
                };
                for (ack, &origin) in acks.iter().zip(&request.origins) {
                    rep.acked.push(Acked {
                        seq: ack.sequence,
                        origin,
                        sent: nanos_since(plan.epoch, sent),
                        acked: nanos_since(plan.epoch, answered),
                    });
                }
                if rep.unsupported.is_some() {
                    break;
                }
                if plan
                    .mode
                    .retry_every
                    .is_some_and(|k| (r + 1).is_multiple_of(k))
                {
                    rep.retry(&mut plan, &headers, &request, &acks).await;
                }
            }
            Ok((404, answer)) if plan.mode.batch.is_some() => {
                // Feature detection: a hub without the endpoint is told once, not hammered.
                rep.rejected += events;
                rep.unsupported = Some(format!(
                    "POST /api/sse/batch answered 404 ({}): this hub does not serve batch publishes",
                    String::from_utf8_lossy(&answer).trim()
                ));
                break;
            }
            Ok((status, answer)) => {
                rep.rejected += events;
                rep.error(format!(
                    "status {status}: {}",
                    String::from_utf8_lossy(&answer)
                ));
            }
            Err(e) if e.nothing_sent() => {
                rep.rejected += events;
                rep.error(format!("{}: {e}", plan.client.hub()));
                // The hub is down (restarting?): do not spin on refused connects.
                tokio::time::sleep(CONNECT_BACKOFF).await;
            }
            Err(e) => {
                rep.ambiguous += events;
                rep.error(format!("{}: {e}", plan.client.hub()));
            }
        }
    }
    rep
}

/// The r-th request of this publisher; `None` once its event numbers would overflow.
fn build(plan: &Plan, r: u32, per_request: u32) -> Option<Request> {
    let first = r.checked_mul(per_request)?;
    let end = first.checked_add(per_request)?;
    let origins: Vec<Origin> = (first..end).map(|n| Origin::new(plan.id, n)).collect();
    let ids = plan
        .mode
        .message_ids
        .map(|m| origins.iter().map(|&o| m.of(o)).collect::<Vec<_>>());
    let now = unix_nanos();
    let events: Vec<String> = origins
        .iter()
        .enumerate()
        .map(|(i, &o)| {
            let id = ids.as_ref().map(|ids| ids[i].as_str());
            publish_body(&plan.event_type, now, o, id)
        })
        .collect();
    let body = match plan.mode.batch {
        Some(_) => batch::body(&events),
        None => events.into_iter().next().unwrap_or_default(),
    };
    Some(Request {
        index: r,
        origins,
        ids,
        body,
    })
}

/// Parses a 200 answer: one ack, or a batch's results.
fn parse_answer(mode: Mode, answer: &[u8]) -> Result<Vec<Ack>, serde_json::Error> {
    match mode.batch {
        Some(_) => serde_json::from_slice::<batch::Answer>(answer).map(|a| a.results),
        None => serde_json::from_slice::<Ack>(answer).map(|a| vec![a]),
    }
}

impl Report {
    fn new() -> Self {
        Self {
            acked: Vec::new(),
            requests: 0,
            rejected: 0,
            ambiguous: 0,
            retries: 0,
            retries_matched: 0,
            retries_unanswered: 0,
            violations: Vec::new(),
            violation_count: 0,
            unsupported: None,
            errors: Vec::new(),
            rtt: new_histogram(),
        }
    }

    fn error(&mut self, text: String) {
        if self.errors.len() < KEEP_ERRORS && self.errors.last() != Some(&text) {
            self.errors.push(text);
        }
    }

    fn violation(&mut self, text: String) {
        self.violation_count += 1;
        if self.violations.len() < KEEP_ERRORS {
            self.violations.push(text);
        }
    }

    fn record_rtt(&mut self, rtt: Duration) {
        self.rtt
            .saturating_record(rtt.as_micros().try_into().unwrap_or(u64::MAX));
    }

    /// The acks of a 200 answer when they can be matched to the events sent (one per
    /// event), with every contract breach recorded; `None` when they cannot.
    fn judge_answer(&mut self, plan: &Plan, request: &Request, answer: &[u8]) -> Option<Vec<Ack>> {
        let acks = match parse_answer(plan.mode, answer) {
            Ok(acks) => acks,
            Err(e) => {
                self.error(format!("ack {}: {e}", String::from_utf8_lossy(answer)));
                return None;
            }
        };
        let problems = batch::check(&acks, request.origins.len(), request.ids.as_deref());
        let matched = !problems
            .iter()
            .any(|p| matches!(p, batch::Problem::Count { .. }));
        for p in problems {
            match p {
                // Feature detection: a hub that ignores client ids from the first answer on
                // does not have idempotent publishes; say so once and stop.
                batch::Problem::MessageId { sent, answered, .. } if request.index == 0 => {
                    self.unsupported = Some(format!(
                        "the hub does not echo client messageIds (sent {sent}, answered {answered}): this hub does not support idempotent publishes"
                    ));
                }
                p => self.violation(format!("request {}: {p}", request.index)),
            }
        }
        matched.then_some(acks)
    }

    /// Sends an acknowledged request again, unchanged: with the same message ids the hub
    /// must answer exactly as the first time, and create no event.
    async fn retry(
        &mut self,
        plan: &mut Plan,
        headers: &[(&str, &str)],
        request: &Request,
        original: &[Ack],
    ) {
        self.retries += 1;
        let first_id = request
            .ids
            .as_ref()
            .and_then(|ids| ids.first())
            .cloned()
            .unwrap_or_default();
        let again = plan
            .client
            .send("POST", plan.mode.path(), headers, request.body.as_bytes())
            .await;
        match again {
            Ok((200, answer)) => match parse_answer(plan.mode, &answer) {
                Ok(acks) if acks == original => self.retries_matched += 1,
                Ok(acks) => self.violation(format!(
                    "retry of request {} (messageId {first_id}) answered sequences {:?} instead of the original {:?}",
                    request.index,
                    acks.iter().map(|a| a.sequence).collect::<Vec<_>>(),
                    original.iter().map(|a| a.sequence).collect::<Vec<_>>(),
                )),
                Err(e) => {
                    self.retries_unanswered += 1;
                    self.error(format!("retry answer {}: {e}", String::from_utf8_lossy(&answer)));
                }
            },
            Ok((status, answer)) if status < 500 => self.violation(format!(
                "retry of acknowledged request {} (messageId {first_id}) was refused with {status}: {}",
                request.index,
                String::from_utf8_lossy(&answer).trim()
            )),
            Ok((status, answer)) => {
                self.retries_unanswered += 1;
                self.error(format!(
                    "retry: status {status}: {}",
                    String::from_utf8_lossy(&answer)
                ));
            }
            Err(e) => {
                self.retries_unanswered += 1;
                self.error(format!("retry: {}: {e}", plan.client.hub()));
            }
        }
    }
}

fn nanos_since(epoch: Instant, t: Instant) -> u64 {
    u64::try_from((t - epoch).as_nanos()).unwrap_or(u64::MAX)
}
