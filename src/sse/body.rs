//! The SSE response body: an `http_body::Body` over one cursor. No task and no channel per
//! connection: the body parks its waker in the registry, and each poll copies the `Bytes`
//! handles of the frames after its cursor that pass its filter, several per wake.
//!
//! A cursor that has fallen behind the tail ring reads from the store (bounded by the
//! dispatched position, so it never runs ahead of the gap-aware dispatcher) until the ring
//! covers it again. The body ends itself when the hub closes streams (shutdown) or its
//! deadline passes; hyper's graceful shutdown would otherwise wait on it forever.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame as BodyFrame};

use crate::event::{Event, Sequence};
use crate::metrics::{CloseReason, Metrics};
use crate::outbox::{EventLog, Page, StoreError};
use crate::registry::Subscription;
use crate::sse::frame;
use crate::tail::{Frame, Read, Tail};

/// Frames taken from the ring per read; bounds the time a read lock is held.
const MAX_FRAMES_PER_READ: usize = 64;
/// Frames looked at per read when a filter rejects most of them.
const MAX_SCAN_PER_READ: usize = 4096;
/// Queue slots an idle stream may keep after a burst.
const IDLE_QUEUE_CAPACITY: usize = 4;
/// Events per store read while catching up.
const CATCH_UP_BATCH: usize = 512;

/// What every stream of the node shares; one `Arc` per connection.
pub struct StreamContext {
    pub tail: Arc<Tail>,
    pub log: Arc<dyn EventLog>,
    pub metrics: Arc<Metrics>,
}

/// What the connection under a stream tells it: set by the HTTP layer's socket wrapper.
#[derive(Debug, Default)]
pub struct Transport {
    /// The socket accepted no bytes for the write-stall limit and was closed.
    pub write_stalled: std::sync::atomic::AtomicBool,
}

type CatchUp = Pin<Box<dyn Future<Output = Result<(Vec<Event>, Sequence), StoreError>> + Send>>;

pub struct SseBody {
    subscription: Subscription,
    context: Arc<StreamContext>,
    /// Everything up to and including this sequence has been delivered or skipped.
    cursor: Sequence,
    /// Frames ready to hand to hyper (the prelude first).
    queue: VecDeque<Bytes>,
    catch_up: Option<CatchUp>,
    beat_seen: u64,
    wrote_since_beat: bool,
    /// Ends the stream when reached (token expiry, maximum lifetime).
    deadline: Option<(tokio::time::Instant, CloseReason)>,
    deadline_timer: Option<Pin<Box<tokio::time::Sleep>>>,
    transport: Option<Arc<Transport>>,
    finished: bool,
    close_reason: CloseReason,
    opened: Instant,
}

impl SseBody {
    /// A stream that first writes `prelude` (retry, connected, reset) and then every frame
    /// after `cursor` that the subscription receives.
    pub fn new(
        subscription: Subscription,
        context: Arc<StreamContext>,
        cursor: Sequence,
        prelude: Bytes,
    ) -> SseBody {
        context.metrics.connections_open.inc();
        context.metrics.connections_total.inc();
        let beat_seen = subscription.registry().heartbeat_epoch();
        SseBody {
            subscription,
            context,
            cursor,
            queue: VecDeque::from([prelude]),
            catch_up: None,
            beat_seen,
            wrote_since_beat: true,
            deadline: None,
            deadline_timer: None,
            transport: None,
            finished: false,
            close_reason: CloseReason::Client,
            opened: Instant::now(),
        }
    }

    /// Ends the stream at `at`, counting it under `reason`.
    pub fn with_deadline(mut self, at: tokio::time::Instant, reason: CloseReason) -> SseBody {
        self.deadline = Some((at, reason));
        self
    }

    /// Links the stream to its connection, so a stalled socket is reported as the reason.
    pub fn with_connection(mut self, transport: Arc<Transport>) -> SseBody {
        self.transport = Some(transport);
        self
    }

    /// Ends the stream after a final comment.
    fn finish(&mut self, reason: CloseReason, comment: Bytes) {
        self.finished = true;
        self.close_reason = reason;
        self.queue.clear();
        self.queue.push_back(comment);
    }

    fn start_catch_up(&mut self) {
        let log = self.context.log.clone();
        let after = self.cursor;
        // Never read past what the dispatcher has released: a missing number may still appear.
        let bound = self.context.tail.dispatched();
        self.catch_up = Some(Box::pin(async move {
            let events = log.read_after(after, Page::events(CATCH_UP_BATCH)).await?;
            Ok((events, bound))
        }));
    }

    fn accept_history(&mut self, events: Vec<Event>, bound: Sequence) {
        let subscriber = self.subscription.subscriber();
        let mut through = self.cursor;
        for event in events.iter().take_while(|e| e.sequence <= bound) {
            let frame = Frame::new(event, frame::encode_event(event));
            if frame.is_for(&subscriber.recipient) {
                self.queue.push_back(frame.bytes);
            }
            through = event.sequence;
        }
        if events.len() < CATCH_UP_BATCH {
            // The store has nothing more below the bound (or it was trimmed meanwhile).
            through = through.max(bound);
        }
        self.cursor = self.cursor.max(through);
    }

    fn deadline_passed(&mut self, cx: &mut Context<'_>) -> Option<CloseReason> {
        let (at, reason) = self.deadline?;
        let timer = self
            .deadline_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        timer.as_mut().poll(cx).is_ready().then_some(reason)
    }
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<BodyFrame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        loop {
            if let Some(bytes) = this.queue.pop_front() {
                if this.queue.is_empty() && this.queue.capacity() > IDLE_QUEUE_CAPACITY {
                    // An idle stream should not keep a burst's worth of slots.
                    this.queue = VecDeque::new();
                }
                this.wrote_since_beat = true;
                this.context.metrics.frames_delivered.inc();
                this.context
                    .metrics
                    .bytes_written
                    .inc_by(bytes.len() as u64);
                return Poll::Ready(Some(Ok(BodyFrame::data(bytes))));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            if this.subscription.subscriber().is_closing() {
                this.finish(CloseReason::Shutdown, frame::SHUTDOWN);
                continue;
            }
            if let Some(reason) = this.deadline_passed(cx) {
                this.finish(
                    reason,
                    Bytes::from_static(b": stream deadline reached, reconnect\n\n"),
                );
                continue;
            }
            if let Some(catch_up) = this.catch_up.as_mut() {
                match catch_up.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok((events, bound))) => {
                        this.catch_up = None;
                        this.accept_history(events, bound);
                    }
                    Poll::Ready(Err(error)) => {
                        tracing::warn!(%error, "catch-up read failed; closing the stream so the client resumes");
                        this.catch_up = None;
                        this.finish(
                            CloseReason::StoreError,
                            Bytes::from_static(b": store unavailable, reconnect\n\n"),
                        );
                    }
                }
                continue;
            }
            let subscriber = this.subscription.subscriber();
            subscriber.register(cx.waker());
            let read = this.context.tail.read(
                this.cursor,
                |f| f.is_for(&subscriber.recipient),
                &mut this.queue,
                MAX_FRAMES_PER_READ,
                MAX_SCAN_PER_READ,
            );
            match read {
                Read::Advanced { through } => this.cursor = through,
                Read::Evicted => this.start_catch_up(),
                Read::Idle => {
                    let epoch = this.subscription.registry().heartbeat_epoch();
                    if epoch != this.beat_seen {
                        this.beat_seen = epoch;
                        let idle = !this.wrote_since_beat;
                        this.wrote_since_beat = false;
                        if idle {
                            return Poll::Ready(Some(Ok(BodyFrame::data(frame::PING))));
                        }
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Drop for SseBody {
    fn drop(&mut self) {
        let metrics = &self.context.metrics;
        metrics.connections_open.dec();
        let stalled = self
            .transport
            .as_ref()
            .is_some_and(|t| t.write_stalled.load(std::sync::atomic::Ordering::Relaxed));
        if stalled && self.close_reason == CloseReason::Client {
            self.close_reason = CloseReason::WriteStall;
        }
        metrics.disconnect(self.close_reason);
        tracing::info!(
            client_id = %self.subscription.subscriber().recipient.client,
            conn = self.subscription.subscriber().id.0,
            duration_ms = self.opened.elapsed().as_millis() as u64,
            position = self.cursor.0,
            reason = self.close_reason.as_str(),
            "stream closed"
        );
    }
}
