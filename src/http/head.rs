//! Reading the first request head of a fresh connection into a small buffer, just far enough
//! to tell whether it opens an SSE stream (the lean path) or is anything else (hyper).

use bytes::BytesMut;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, Request, Version};

/// The request line that opens a stream; anything else goes to hyper untouched.
const SSE_PREFIX: &[u8] = b"GET /api/sse/connect";
/// Headers a stream request may carry; more goes to hyper (which applies its own limits).
const MAX_HEADERS: usize = 48;

#[derive(Debug)]
pub(crate) enum Head {
    /// Need more bytes.
    Incomplete,
    /// Not a stream request (or not one we parse): hand every byte read so far to hyper.
    Other,
    /// A complete `GET /api/sse/connect` head of `len` bytes (bytes after it are input the
    /// client sent into its stream).
    Stream { parts: Box<Parts>, len: usize },
}

/// Classifies what has been read so far. Never allocates for non-stream requests.
pub(crate) fn classify(buf: &BytesMut) -> Head {
    let n = buf.len().min(SSE_PREFIX.len());
    if buf[..n] != SSE_PREFIX[..n] {
        return Head::Other;
    }
    if buf.len() < SSE_PREFIX.len() {
        return Head::Incomplete;
    }
    // `/api/sse/connect` must end the path: `?` or a space comes next.
    if let Some(&next) = buf.get(SSE_PREFIX.len()) {
        if next != b'?' && next != b' ' {
            return Head::Other;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf) {
        Ok(httparse::Status::Partial) => Head::Incomplete,
        Ok(httparse::Status::Complete(len)) => match to_parts(&request) {
            Some(parts) => Head::Stream {
                parts: Box::new(parts),
                len,
            },
            None => Head::Other,
        },
        Err(_) => Head::Other,
    }
}

/// Whether `buf` holds a whole request head (a blank line ends it; bare LFs count too).
pub(crate) fn is_complete(buf: &[u8]) -> bool {
    buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n")
}

fn to_parts(request: &httparse::Request<'_, '_>) -> Option<Parts> {
    let version = match request.version? {
        0 => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut builder = Request::builder()
        .method(Method::GET)
        .uri(request.path?)
        .version(version);
    for header in request.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(header.value).ok()?;
        builder = builder.header(name, value);
    }
    // A body on a GET would be read by nobody; let hyper deal with such requests.
    let has_body = request.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("transfer-encoding")
            || (h.name.eq_ignore_ascii_case("content-length") && h.value != b"0")
    });
    if has_body {
        return None;
    }
    Some(builder.body(()).ok()?.into_parts().0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_str(text: &str) -> Head {
        classify(&BytesMut::from(text))
    }

    #[test]
    fn stream_requests_are_recognised_once_complete() {
        assert!(matches!(classify_str("GET /api/sse/con"), Head::Incomplete));
        assert!(matches!(
            classify_str("GET /api/sse/connect?clientId=a HTTP/1.1\r\nHost: x\r\n"),
            Head::Incomplete
        ));
        let head =
            "GET /api/sse/connect?clientId=a HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 7\r\n\r\nNEXT";
        match classify_str(head) {
            Head::Stream { parts, len } => {
                assert_eq!(len, head.len() - 4);
                assert_eq!(parts.uri.query(), Some("clientId=a"));
                assert_eq!(parts.headers["last-event-id"], "7");
                assert_eq!(parts.version, Version::HTTP_11);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn everything_else_goes_to_hyper_early() {
        assert!(matches!(
            classify_str("POST /api/sse/broadcast HTTP/1.1\r\n"),
            Head::Other
        ));
        assert!(matches!(
            classify_str("GET /api/sse/connections HTTP/1.1\r\n\r\n"),
            Head::Other
        ));
        assert!(matches!(
            classify_str("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            Head::Other
        ));
        assert!(matches!(classify_str("G"), Head::Incomplete));
        assert!(matches!(
            classify_str("GET /api/sse/connect HTTP/1.1\r\nContent-Length: 5\r\n\r\n"),
            Head::Other
        ));
        assert!(matches!(
            classify_str("GET /api/sse/connect HTTP/1.1\r\nBad Header\r\n\r\n"),
            Head::Other
        ));
    }
}
