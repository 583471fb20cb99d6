//! The SSE response body: an `http_body::Body` over one cursor. No task and no channel per
//! connection: the body parks its waker in the registry, and each poll copies the `Bytes`
//! handles of the frames after its cursor that pass its filter, several per wake.
//!
//! A cursor that has fallen behind the tail ring reads from the store (bounded by the
//! dispatched position, so it never runs ahead of the gap-aware dispatcher) until the ring
//! covers it again. If retention trimmed the next event the stream needs, the stream says so
//! with a `reset` frame (the oldest available sequence) before anything newer, mid-stream
//! exactly as on connect: never a silent skip. What a stream holds queued is bounded by one
//! ring read (shared `Bytes`) or one catch-up page (`CATCH_UP_PAGE`, by count and bytes).
//!
//! The body ends itself when the hub closes streams (shutdown) or its deadline passes;
//! hyper's graceful shutdown would otherwise wait on it forever.

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
/// One store read while catching up: what a stream may hold encoded at once.
const CATCH_UP_PAGE: Page = Page {
    events: 512,
    bytes: 1 << 20,
};

/// What every stream of the node shares; one `Arc` per connection.
pub struct StreamContext {
    pub tail: Arc<Tail>,
    pub log: Arc<dyn EventLog>,
    pub metrics: Arc<Metrics>,
}

/// What the connection under a stream tells it: why the transport ended it, when it did (a
/// stalled socket, a client that wrote into its stream). The first cause wins.
#[derive(Debug, Default)]
pub struct Transport {
    /// 0: none; else 1 + the index of the cause in `CloseReason::ALL`.
    cause: std::sync::atomic::AtomicUsize,
}

impl Transport {
    /// Records why the transport is closing the stream.
    pub fn close_because(&self, reason: CloseReason) {
        let index = CloseReason::ALL.iter().position(|r| *r == reason);
        let code = index.map_or(0, |i| i + 1);
        let _ = self.cause.compare_exchange(
            0,
            code,
            std::sync::atomic::Ordering::AcqRel,
            std::sync::atomic::Ordering::Acquire,
        );
    }

    /// Why the transport closed the stream, if it did.
    pub fn cause(&self) -> Option<CloseReason> {
        let code = self.cause.load(std::sync::atomic::Ordering::Acquire);
        code.checked_sub(1)
            .and_then(|i| CloseReason::ALL.get(i).copied())
    }
}

/// One catch-up read: the events, the dispatched mark it was bounded by, whether the page was
/// full, and — when the first event is not the next one — where retained history starts now.
struct History {
    events: Vec<Event>,
    bound: Sequence,
    full: bool,
    oldest: Option<Option<Sequence>>,
}

type CatchUp = Pin<Box<dyn Future<Output = Result<History, StoreError>> + Send>>;

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
    /// `named=false`: event frames go out without their `event:` line.
    unnamed: bool,
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
        subscription.subscriber().set_position(cursor);
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
            unnamed: false,
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

    /// Sends event frames without their `event:` line (`named=false`).
    pub fn unnamed(mut self) -> SseBody {
        self.unnamed = true;
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
            let events = log.read_after(after, CATCH_UP_PAGE).await?;
            let next_missing = match events.first() {
                Some(first) => first.sequence > after.next(),
                None => bound > after,
            };
            // Asked after the read: trims only move the oldest forward, so an oldest at or
            // before the next sequence means nothing this stream needs was trimmed (the
            // missing numbers were gaps the dispatcher skipped).
            let oldest = match next_missing {
                true => Some(log.oldest().await?),
                false => None,
            };
            Ok(History {
                full: CATCH_UP_PAGE.filled_by(&events),
                events,
                bound,
                oldest,
            })
        }));
    }

    fn accept_history(&mut self, history: History) {
        if let Some(oldest) = history.oldest {
            // An empty log keeps nothing up to the bound.
            let oldest_available = oldest.unwrap_or(history.bound.next());
            if oldest_available > self.cursor.next() {
                self.queue
                    .push_back(frame::reset(self.cursor, oldest_available));
                self.context.metrics.catch_up_resets.inc();
                self.advance(Sequence(oldest_available.0 - 1));
            }
        }
        let subscriber = self.subscription.subscriber();
        let mut through = self.cursor;
        let fresh = history.events.iter().filter(|e| e.sequence > self.cursor);
        for event in fresh.take_while(|e| e.sequence <= history.bound) {
            let frame = Frame::new(event, frame::encode_event(event));
            if frame.is_for(&subscriber.recipient) {
                enqueue(&mut self.queue, &frame, self.unnamed);
            }
            through = event.sequence;
        }
        if !history.full {
            // The log has nothing more up to the bound.
            through = through.max(history.bound);
        }
        self.advance(through);
    }

    /// Moves the cursor forward (never back) and tells the registry, for operators.
    fn advance(&mut self, through: Sequence) {
        if through > self.cursor {
            self.cursor = through;
            self.subscription.subscriber().set_position(through);
        }
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
                    Poll::Ready(Ok(history)) => {
                        this.catch_up = None;
                        this.accept_history(history);
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
            let (queue, unnamed) = (&mut this.queue, this.unnamed);
            let read = this.context.tail.read(
                this.cursor,
                |f| f.is_for(&subscriber.recipient),
                |f| enqueue(queue, f, unnamed),
                MAX_FRAMES_PER_READ,
                MAX_SCAN_PER_READ,
            );
            match read {
                Read::Advanced { through } => this.advance(through),
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

/// Queues a frame's bytes: whole, or without its `event:` line as two shared slices.
fn enqueue(queue: &mut VecDeque<Bytes>, frame: &Frame, unnamed: bool) {
    if unnamed {
        let (id, data) = frame.unnamed();
        queue.push_back(id);
        queue.push_back(data);
    } else {
        queue.push_back(frame.bytes.clone());
    }
}

impl Drop for SseBody {
    fn drop(&mut self) {
        let metrics = &self.context.metrics;
        metrics.connections_open.dec();
        let cause = self.transport.as_ref().and_then(|t| t.cause());
        if let (Some(cause), CloseReason::Client) = (cause, self.close_reason) {
            self.close_reason = cause;
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
