//! A publisher: one keep-alive connection posting timestamped broadcasts at a steady rate
//! (or back to back), keeping every acknowledgement for the oracle.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::time::sleep_until;

use crate::http::{Client, HttpError};
use crate::payload::{publish_body, unix_nanos, Ack, Origin};
use crate::stats::new_histogram;

/// Pause after a refused connect.
const CONNECT_BACKOFF: Duration = Duration::from_millis(50);
/// Errors kept verbatim per publisher (all are counted).
const KEEP_ERRORS: usize = 5;

pub struct Plan {
    pub id: u32,
    pub client: Client,
    pub api_key: Option<String>,
    pub event_type: String,
    /// Time between publishes; `None` = send the next as soon as the previous is acknowledged.
    pub interval: Option<Duration>,
    /// First send time (publishers are staggered within one interval).
    pub start: Instant,
    pub until: Instant,
    /// Origin of real time for the timeline, shared by all publishers.
    pub epoch: Instant,
}

/// One acknowledged publish, for the real-time order check.
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
    /// Non-2xx answers (the hub said the event was not accepted) and failed connects
    /// (nothing was sent).
    pub rejected: u64,
    /// Connection failures and unreadable answers: the event may or may not exist.
    pub ambiguous: u64,
    pub errors: Vec<String>,
    /// Request round-trip, microseconds.
    pub rtt: Histogram<u64>,
}

pub async fn run(mut plan: Plan) -> Report {
    let mut rep = Report {
        acked: Vec::new(),
        rejected: 0,
        ambiguous: 0,
        errors: Vec::new(),
        rtt: new_histogram(),
    };
    let path = "/api/sse/broadcast";
    let key = plan.api_key.clone();
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(key) = &key {
        headers.push(("X-API-Key", key));
    }
    for n in 0u32.. {
        if let Some(interval) = plan.interval {
            let due = plan.start + interval * n;
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
        let origin = Origin::new(plan.id, n);
        let body = publish_body(&plan.event_type, unix_nanos(), origin);
        let sent = Instant::now();
        let result = plan
            .client
            .send("POST", path, &headers, body.as_bytes())
            .await;
        let acked = Instant::now();
        rep.rtt
            .saturating_record((acked - sent).as_micros().try_into().unwrap_or(u64::MAX));
        match result {
            Ok((200, answer)) => match serde_json::from_slice::<Ack>(&answer) {
                Ok(ack) => rep.acked.push(Acked {
                    seq: ack.sequence,
                    origin,
                    sent: nanos_since(plan.epoch, sent),
                    acked: nanos_since(plan.epoch, acked),
                }),
                Err(e) => {
                    rep.ambiguous += 1;
                    rep.error(format!("ack {}: {e}", String::from_utf8_lossy(&answer)));
                }
            },
            Ok((status, answer)) => {
                rep.rejected += 1;
                rep.error(format!(
                    "status {status}: {}",
                    String::from_utf8_lossy(&answer)
                ));
            }
            Err(e @ HttpError::Connect(_)) => {
                rep.rejected += 1;
                rep.error(format!("{}: {e}", plan.client.hub()));
                // The hub is down (restarting?): do not spin on refused connects.
                tokio::time::sleep(CONNECT_BACKOFF).await;
            }
            Err(e) => {
                rep.ambiguous += 1;
                rep.error(format!("{}: {e}", plan.client.hub()));
            }
        }
    }
    rep
}

impl Report {
    fn error(&mut self, text: String) {
        if self.errors.len() < KEEP_ERRORS && self.errors.last() != Some(&text) {
            self.errors.push(text);
        }
    }
}

fn nanos_since(epoch: Instant, t: Instant) -> u64 {
    u64::try_from((t - epoch).as_nanos()).unwrap_or(u64::MAX)
}

/// Pairs (earlier, later) where `earlier` was acknowledged before `later` was sent, yet got
/// the higher sequence. With one node the single counter makes this impossible; across nodes
/// block reservation allows it, so the caller decides whether it is a violation.
pub fn real_time_inversions(acked: &[Acked]) -> (u64, Vec<(u64, u64)>) {
    let mut by_ack: Vec<&Acked> = acked.iter().collect();
    by_ack.sort_unstable_by_key(|a| a.acked);
    // prefix_max[i] = the highest sequence among the first i acknowledgements.
    let mut prefix_max = Vec::with_capacity(by_ack.len() + 1);
    prefix_max.push(0u64);
    for a in &by_ack {
        let top = *prefix_max.last().unwrap_or(&0);
        prefix_max.push(top.max(a.seq));
    }
    let mut count = 0;
    let mut examples = Vec::new();
    for later in acked {
        let done_before = by_ack.partition_point(|a| a.acked < later.sent);
        let highest = prefix_max[done_before];
        if highest > later.seq {
            count += 1;
            if examples.len() < KEEP_ERRORS {
                examples.push((highest, later.seq));
            }
        }
    }
    (count, examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acked(seq: u64, sent: u64, acked: u64) -> Acked {
        Acked {
            seq,
            origin: Origin::new(0, 0),
            sent,
            acked,
        }
    }

    #[test]
    fn concurrent_publishes_may_interleave() {
        let (n, _) = real_time_inversions(&[acked(2, 0, 10), acked(1, 5, 8)]);
        assert_eq!(n, 0);
    }

    #[test]
    fn a_later_publish_with_a_lower_sequence_is_an_inversion() {
        let (n, ex) = real_time_inversions(&[acked(5, 0, 10), acked(3, 11, 20)]);
        assert_eq!(n, 1);
        assert_eq!(ex, vec![(5, 3)]);
    }
}
