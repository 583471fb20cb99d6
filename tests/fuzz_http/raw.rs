//! Raw request heads for the lean stream path, sent over a plain socket.

use super::*;

#[derive(Clone)]
pub(super) struct RawHead {
    pub(super) bytes: Vec<u8>,
    /// Where the bytes are cut into separate writes.
    pub(super) cuts: Vec<usize>,
}

impl fmt::Debug for RawHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawHead")
            .field(
                "bytes",
                &String::from_utf8_lossy(&self.bytes)
                    .escape_debug()
                    .to_string(),
            )
            .field("cuts", &self.cuts)
            .finish()
    }
}

pub(super) fn raw_header() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        6 => select(vec![
            "Host", "X-API-Key", "Authorization", "Last-Event-ID", "Content-Length",
            "Transfer-Encoding", "Connection", "Expect", "Upgrade", "Origin", "x-api-key",
        ])
        .prop_map(String::from),
        1 => "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}",
        1 => "[ -~]{0,6}",
    ];
    let value = prop_oneof![
        4 => key_text().prop_map(|(k, _)| k.into_bytes()),
        2 => number_text().prop_map(String::into_bytes),
        2 => header_bytes(40),
        1 => vec(any::<u8>(), 0..40),
        // Around the default `--max-header-bytes` (16 KiB) on its own.
        1 => (16_000..17_000usize).prop_map(|n| vec![b'a'; n]),
    ];
    (name, " ?", value).prop_map(|(name, space, value)| {
        let mut line = format!("{name}:{space}").into_bytes();
        line.extend(value);
        line
    })
}

/// A `GET /api/sse/connect` head: odd versions and line ends, up to 60 headers with any bytes,
/// always ended by a blank line, then maybe pipelined bytes; sent in up to four writes.
pub(super) fn raw_head() -> impl Strategy<Value = RawHead> {
    let version = select(vec![
        " HTTP/1.1",
        " HTTP/1.1",
        " HTTP/1.0",
        " HTTP/1.2",
        " HTTP/2.0",
        " http/1.1",
        "",
        " HTTP/1.1 x",
    ]);
    let eol = prop_oneof![4 => Just("\r\n"), 1 => Just("\n")];
    let query = option::of(vec(query_item(), 0..4).prop_map(|q| q.join("&")));
    let key = prop_oneof![3 => Just(Some(PUBLISH_KEY)), 1 => Just(None)];
    let headers = prop_oneof![4 => vec(raw_header(), 0..6), 1 => vec(raw_header(), 40..60)];
    let trailer = prop_oneof![
        3 => Just(Vec::new()),
        1 => Just(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        1 => vec(any::<u8>(), 0..64),
    ];
    let cuts = vec(any::<prop::sample::Index>(), 0..4);
    (version, eol, query, key, headers, trailer, cuts).prop_map(
        |(version, eol, query, key, headers, trailer, cuts)| {
            let mut bytes = b"GET /api/sse/connect".to_vec();
            if let Some(query) = query {
                bytes.extend(format!("?{query}").into_bytes());
            }
            bytes.extend(format!("{version}{eol}Host: 127.0.0.1{eol}").into_bytes());
            if let Some(key) = key {
                bytes.extend(format!("X-API-Key: {key}{eol}").into_bytes());
            }
            for header in headers {
                bytes.extend(header);
                bytes.extend(eol.as_bytes());
            }
            bytes.extend(eol.as_bytes());
            bytes.extend(trailer);
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len())).collect();
            cuts.sort_unstable();
            cuts.dedup();
            RawHead { bytes, cuts }
        },
    )
}

/// What came back on the socket: a status and the bytes of the reply, or nothing at all.
pub(super) async fn raw_exchange(
    addr: SocketAddr,
    head: &RawHead,
) -> Result<Vec<u8>, TestCaseError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fail =
        |what: &str, error: &dyn fmt::Display| TestCaseError::fail(format!("{what}: {error}"));
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| fail("connect", &e))?;
    let mut from = 0;
    for &cut in head.cuts.iter().chain([head.bytes.len()].iter()) {
        // The hub may answer (and close) before the last piece; later writes may then fail.
        if stream.write_all(&head.bytes[from..cut]).await.is_err() {
            break;
        }
        from = cut;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut reply = Vec::new();
    let deadline = tokio::time::Instant::now() + REPLY_TIMEOUT;
    let mut chunk = [0u8; 4096];
    loop {
        if raw_reply_is_complete(&reply) {
            return Ok(reply);
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => {
                return Err(TestCaseError::fail(format!(
                    "no complete reply in time; got {:?}",
                    String::from_utf8_lossy(&reply)
                )))
            }
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(reply),
            Ok(Ok(n)) => reply.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A whole head and, for a stream, its `connected` frame; for a sized body, all of it.
pub(super) fn raw_reply_is_complete(reply: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(len)) = response.parse(reply) else {
        return false;
    };
    let length = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok());
    match length {
        Some(length) => reply.len() >= len + length,
        None => reply.windows(16).any(|w| w == b"event: connected"),
    }
}

/// Whether the head announces a body (`Content-Length` other than 0, or `Transfer-Encoding`).
pub(super) fn carries_body(head: &RawHead) -> bool {
    let text = String::from_utf8_lossy(&head.bytes).to_ascii_lowercase();
    let header_section = text.split("\r\n\r\n").next().unwrap_or_default();
    header_section.split('\n').any(|line| {
        let line = line.trim_end_matches('\r');
        line.starts_with("transfer-encoding:")
            || line
                .strip_prefix("content-length:")
                .is_some_and(|value| value.trim() != "0")
    })
}

pub(super) fn check_raw_reply(head: &RawHead, reply: &[u8]) -> TestCaseResult {
    if reply.is_empty() {
        return Ok(()); // Closed without a word: allowed for garbage.
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let parsed = response.parse(reply);
    prop_assert!(
        matches!(parsed, Ok(httparse::Status::Complete(_))),
        "unparsable reply {:?} to {:?}",
        String::from_utf8_lossy(reply),
        head
    );
    let Ok(httparse::Status::Complete(len)) = parsed else {
        unreachable!()
    };
    let status = response.code.unwrap_or_default();
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    // Only this reply's body: pipelined bytes may have drawn a second reply after it.
    let length = header("content-length")
        .and_then(|v| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
        .unwrap_or(reply.len() - len);
    let body = String::from_utf8_lossy(&reply[len..reply.len().min(len + length)]);
    prop_assert!(status < 500, "{status} {body} for {head:?}");
    let head_len = head.bytes.windows(4).position(|w| w == b"\r\n\r\n");
    if head_len.is_some_and(|n| n > ssehub::config::DEFAULT_MAX_HEADER_BYTES) {
        prop_assert!(
            !(200..300).contains(&status),
            "{status} for a head over the limit"
        );
    }
    if (200..300).contains(&status) {
        prop_assert_eq!(header("content-type"), Some(&b"text/event-stream"[..]));
        prop_assert!(
            body.contains("event: connected"),
            "no connected frame: {body}"
        );
    } else if header("content-type") == Some(b"application/json") {
        let json: Value = serde_json::from_str(&body).unwrap_or_default();
        prop_assert!(json["error"].is_string(), "{status} {body}");
        prop_assert!(
            json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    } else {
        // Only the HTTP layer's own refusals of a malformed head come without JSON.
        prop_assert!(
            matches!(status, 400 | 431 | 505) && body.is_empty(),
            "{status} without a JSON body: {body:?} for {head:?}"
        );
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------
// The harness: one hub per test on its own runtime, driven case by case.
