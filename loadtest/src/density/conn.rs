//! One held connection of the density scenario. Kept as small as possible: the stream, a
//! few flags, and shared counters; nothing per event is stored.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use std::time::Duration;

use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio::time::timeout;

use super::Tally;
use crate::payload::unix_nanos;
use crate::sse::Item;
use crate::stream::{Outcome, Request, SseStream};
use crate::target::Hub;

/// Bound on connecting and receiving the `connected` frame.
const OPEN_TIMEOUT: Duration = Duration::from_secs(60);

/// The final broadcast: its type and a nonce so no other event is mistaken for it.
pub struct Mark {
    pub event_type: String,
    pub nonce: String,
}

#[derive(Default)]
struct Seen {
    retry: bool,
    connected: bool,
    marks: u32,
    protocol: Option<String>,
}

/// Opens, waits for the `connected` frame (holding a connect permit until then, so the
/// hub's accept queue is never flooded), then idles until told to stop.
pub async fn hold(
    hub: Hub,
    request: Request,
    permit: OwnedSemaphorePermit,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
    mark: Arc<Mark>,
) {
    let mut seen = Seen::default();
    let opened = timeout(OPEN_TIMEOUT, open(&hub, &request, &mut seen, &mark, &tally)).await;
    drop(permit);
    let mut sse = match opened {
        Ok(Ok(sse)) => sse,
        Ok(Err(e)) => return fail(&tally, e),
        Err(_) => return fail(&tally, "no connected frame within the open timeout".into()),
    };
    tally.connected.fetch_add(1, Ordering::Relaxed);
    // The connected frame grew the parser's buffers; an idle hold needs none.
    sse.shrink();
    let closed = loop {
        let read = tokio::select! {
            _ = stop.changed() => break false,
            read = sse.read(|item| seen.observe(item, &mark, &tally)) => read,
        };
        seen.report_protocol(&tally);
        match read {
            Ok(Outcome::More) => {}
            Ok(Outcome::Ended) => break true,
            Err(e) => {
                tally.example(format!("read: {e}"));
                break true;
            }
        }
    };
    if closed {
        tally.closed.fetch_add(1, Ordering::Relaxed);
    }
    match seen.marks {
        0 => {}
        1 => drop(tally.mark_once.fetch_add(1, Ordering::Relaxed)),
        _ => drop(tally.mark_repeated.fetch_add(1, Ordering::Relaxed)),
    }
}

/// Opens the stream and reads until the `connected` frame.
async fn open(
    hub: &Hub,
    request: &Request,
    seen: &mut Seen,
    mark: &Mark,
    tally: &Tally,
) -> Result<SseStream, String> {
    let mut sse = SseStream::open(hub, request)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    while !seen.connected {
        let read = sse.read(|item| seen.observe(item, mark, tally)).await;
        seen.report_protocol(tally);
        match read {
            Ok(Outcome::More) => {}
            Ok(Outcome::Ended) => return Err("closed before the connected frame".into()),
            Err(e) => return Err(format!("read before the connected frame: {e}")),
        }
    }
    Ok(sse)
}

fn fail(tally: &Tally, why: String) {
    tally.failed.fetch_add(1, Ordering::Relaxed);
    tally.example(why);
}

impl Seen {
    fn report_protocol(&mut self, tally: &Tally) {
        if let Some(problem) = self.protocol.take() {
            tally.protocol_errors.fetch_add(1, Ordering::Relaxed);
            tally.example(problem);
        }
    }

    fn observe(&mut self, item: Item<'_>, mark: &Mark, tally: &Tally) {
        match item {
            Item::Retry(_) => self.retry = true,
            Item::Comment(_) => {}
            Item::Event(e) if e.event_type == "connected" => {
                if !self.retry {
                    self.protocol = Some("connected frame before retry:".into());
                }
                if e.has_id {
                    self.protocol = Some(format!("connected frame carries id {}", e.last_event_id));
                }
                self.connected = true;
            }
            Item::Event(e) if e.event_type == mark.event_type && e.data.contains(&mark.nonce) => {
                if !e.has_id {
                    self.protocol = Some("final broadcast without id:".into());
                }
                self.marks += 1;
                if self.marks == 1 {
                    tally.mark_seen.fetch_add(1, Ordering::Relaxed);
                    tally
                        .last_mark_at
                        .fetch_max(unix_nanos(), Ordering::Relaxed);
                }
            }
            Item::Event(_) => {}
        }
    }
}
