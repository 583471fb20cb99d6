//! The SSE pump of one HTTP/2 stream: frames from the body go out only within the window the
//! peer grants, so a stream never buffers more than one chunk in h2 (the rest waits in the
//! shared tail, as behind a slow HTTP/1.1 socket).
//!
//! Write stalls are per stream: while a frame waits for window, a timer runs (only then); when
//! it reaches `--write-stall-secs` the stream alone is reset (`CANCEL`) and counted as a write
//! stall. Its siblings on the same connection are untouched, and the client resumes from its
//! position like any disconnected stream.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use h2::{Reason, SendStream};
use http_body::Body;
use tokio::time::Sleep;

use crate::metrics::CloseReason;
use crate::sse::body::{SseBody, Transport};

/// How a pump ended.
enum End {
    /// The body ended (shutdown, deadline); the stream was finished cleanly.
    Finished,
    /// The peer reset the stream (the `EventSource` closed) or the connection is gone.
    Gone,
    /// No window for the stall limit; the stream was reset.
    Stalled,
}

struct Pump {
    send: SendStream<Bytes>,
    body: Box<SseBody>,
    /// A frame taken from the body, waiting for window.
    pending: Option<Bytes>,
    /// Runs only while `pending` waits.
    stalled_since: Option<Pin<Box<Sleep>>>,
    stall: Duration,
}

/// Pumps `body` into `send` until either ends; reports a stall (the stream's or its
/// connection's) on `transport` before the body is dropped, so its close reason is right.
pub(super) async fn pump(
    send: SendStream<Bytes>,
    body: Box<SseBody>,
    stall: Duration,
    transport: &Transport,
    connection: &Transport,
) {
    let mut pump = Pump {
        send,
        body,
        pending: None,
        stalled_since: None,
        stall,
    };
    let cause = match poll_fn(|cx| pump.poll(cx)).await {
        End::Stalled => Some(CloseReason::WriteStall),
        // The connection's own stall (its socket took no bytes) ended every stream on it.
        End::Gone => connection.cause(),
        End::Finished => None,
    };
    if let Some(cause) = cause {
        transport.close_because(cause);
    }
}

impl Pump {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        loop {
            // Registers for a reset too, so an idle stream notices a peer that went away.
            if self.send.poll_reset(cx).is_ready() {
                return Poll::Ready(End::Gone);
            }
            if self.pending.is_some() {
                if self.send.capacity() == 0 {
                    match self.send.poll_capacity(cx) {
                        Poll::Ready(Some(Ok(_))) => continue,
                        Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(End::Gone),
                        Poll::Pending => return self.waiting(cx),
                    }
                }
                self.stalled_since = None;
                let frame = self.pending.take().unwrap_or_default();
                if self.send.send_data(frame, false).is_err() {
                    return Poll::Ready(End::Gone);
                }
                continue;
            }
            match Pin::new(self.body.as_mut()).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.send.reserve_capacity(data.len());
                        self.pending = Some(data);
                    }
                }
                Poll::Ready(Some(Err(never))) => match never {},
                Poll::Ready(None) => {
                    // An empty DATA frame with END_STREAM needs no window.
                    let _ = self.send.send_data(Bytes::new(), true);
                    return Poll::Ready(End::Finished);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// A frame waits for window: arm the stall timer, or reset the stream once it fired.
    fn waiting(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        let limit = self.stall;
        let timer = self
            .stalled_since
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if timer.as_mut().poll(cx).is_ready() {
            self.send.send_reset(Reason::CANCEL);
            return Poll::Ready(End::Stalled);
        }
        Poll::Pending
    }
}
