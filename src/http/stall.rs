//! A socket wrapper that closes connections whose peer stops reading: when a write has been
//! pending for the stall limit, the next poll fails with `TimedOut` and hyper (HTTP/1.1) or h2
//! drops the connection (and with it its streams, which the clients resume from their
//! positions). A single stalled HTTP/2 stream on a connection that still reads is closed on its
//! own by the h2 transport (`h2::sse`), not here.
//!
//! The timer exists only while a write is pending, so idle and healthy connections carry none.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::metrics::CloseReason;
use crate::sse::body::Transport;

pub(crate) struct StallGuard<T> {
    inner: T,
    limit: Duration,
    stalled_since: Option<Pin<Box<Sleep>>>,
    transport: Arc<Transport>,
}

impl<T> StallGuard<T> {
    pub(crate) fn new(inner: T, limit: Duration, transport: Arc<Transport>) -> StallGuard<T> {
        StallGuard {
            inner,
            limit,
            stalled_since: None,
            transport,
        }
    }

    /// Called when a write could not proceed: arms the timer, fails once it fires.
    fn pending(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let limit = self.limit;
        let timer = self
            .stalled_since
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if timer.as_mut().poll(cx).is_ready() {
            self.transport.close_because(CloseReason::WriteStall);
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the peer stopped reading",
            ));
        }
        Ok(())
    }

    fn progressed(&mut self) {
        self.stalled_since = None;
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

macro_rules! guarded {
    ($this:ident, $cx:ident, $call:expr) => {{
        match $call {
            Poll::Pending => match $this.pending($cx) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
            ready => {
                $this.progressed();
                ready
            }
        }
    }};
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        guarded!(this, cx, Pin::new(&mut this.inner).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        guarded!(
            this,
            cx,
            Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
        )
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        guarded!(this, cx, Pin::new(&mut this.inner).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
