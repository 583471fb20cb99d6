//! A request body from either transport, so one router serves both: hyper's (HTTP/1.1) or an
//! HTTP/2 stream's, whose flow-control window is released as soon as bytes are read (the
//! handlers bound what they collect with `--max-body-bytes`).

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// Why a request body could not be read (a reset stream, a broken connection).
pub(crate) type BodyError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) enum RequestBody {
    Http1(hyper::body::Incoming),
    H2(h2::RecvStream),
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            RequestBody::Http1(body) => Pin::new(body).poll_frame(cx).map_err(Into::into),
            RequestBody::H2(stream) => match ready!(stream.poll_data(cx)) {
                Some(Ok(data)) => {
                    // The bytes are ours now; let the peer send more.
                    let _ = stream.flow_control().release_capacity(data.len());
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Some(Err(error)) => Poll::Ready(Some(Err(error.into()))),
                // Trailers of a request are never read by any endpoint.
                None => Poll::Ready(None),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Http1(body) => body.is_end_stream(),
            RequestBody::H2(stream) => stream.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Http1(body) => body.size_hint(),
            RequestBody::H2(_) => SizeHint::default(),
        }
    }
}
