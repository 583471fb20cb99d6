//! HTTP/2 connections shared by many streams, on the `h2` crate directly (no hyper client),
//! so the harness decides its own flow control and pays only h2's per-stream state.
//!
//! A `Pool` is a fixed number of connection slots to one hub. A slot is dialled on first use
//! and redialled after its connection ends (hub restart, GOAWAY), so subscribers resume over
//! h2 exactly as they do over HTTP/1.1. Each connection's frames are driven by a task of its
//! own; request and stream handles are cheap clones of the slot's `SendRequest`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use h2::client::SendRequest;
use h2::RecvStream;
use http::{Method, Response};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::http::HttpError;
use crate::source::Sources;
use crate::target::Hub;
use crate::transport::Transport;

/// Receive window per stream. Data is released as soon as it is parsed, so this bounds only
/// what a stalled (not reading) subscriber lets the hub queue towards it.
pub const STREAM_WINDOW: u32 = 256 * 1024;
/// Ceiling of a connection's receive window (the protocol's is 2^31 - 1).
const MAX_CONNECTION_WINDOW: u64 = 1 << 30;
/// h2's default memory of locally reset streams, kept as the floor.
const MIN_RESET_STREAMS: usize = 50;
/// Streams per connection when `--h2-connections` is not given.
pub const DEFAULT_STREAMS_PER_CONNECTION: usize = 100;
/// Largest small-request response body accepted (stats, errors, publish answers).
pub const MAX_BODY: usize = 1024 * 1024;

/// One live HTTP/2 connection: the request handle and whether its driver still runs.
#[derive(Clone)]
struct Handle {
    send: SendRequest<Bytes>,
    alive: Arc<AtomicBool>,
}

pub struct Pool {
    hub: Hub,
    transport: Arc<Transport>,
    source: Option<Arc<Sources>>,
    /// Sized so every stream may fill its window at once: one stalled stream must never
    /// starve the others on its connection.
    connection_window: u32,
    /// Streams per connection: h2 must remember that many locally reset streams, or frames
    /// still in flight for a forgotten one (after a replay drops every stream at once) are a
    /// connection error that takes the other streams down with it.
    per_connection: usize,
    /// A tokio mutex: it is held across the (re)dial so one slot never dials twice at once.
    slots: Vec<Mutex<Option<Handle>>>,
}

/// What warming a pool found.
#[derive(Debug, Default)]
pub struct WarmUp {
    pub connected: usize,
    pub errors: Vec<String>,
    /// The smallest `SETTINGS_MAX_CONCURRENT_STREAMS` the hub announced on any connection.
    pub max_streams: Option<usize>,
}

impl WarmUp {
    /// Whether `streams` streams fit on `connections` connections as the hub announced; if
    /// not, why (a run would otherwise wait for stream slots that never free up).
    ///
    /// # Errors
    /// No connection opened, or more streams per connection than the hub allows.
    pub fn check(&self, streams: usize, connections: usize) -> Result<(), String> {
        if self.connected == 0 {
            return Err(format!(
                "no h2 connection opened: {}",
                self.errors.first().map_or("", String::as_str)
            ));
        }
        let per_connection = streams.div_ceil(connections.max(1));
        match self.max_streams {
            Some(limit) if limit < per_connection => Err(format!(
                "the hub allows {limit} concurrent streams per connection but {per_connection} would go on each: use --h2-connections {} or more",
                streams.div_ceil(limit.max(1))
            )),
            _ => Ok(()),
        }
    }
}

impl Pool {
    /// `connections` slots for `streams` streams in all (for the window sizes).
    pub fn new(
        hub: Hub,
        transport: Arc<Transport>,
        connections: usize,
        streams: usize,
        source: Option<Arc<Sources>>,
    ) -> Self {
        let connections = connections.max(1);
        let per_connection = streams.div_ceil(connections);
        Self {
            hub,
            transport,
            source,
            connection_window: connection_window(per_connection),
            per_connection,
            slots: (0..connections).map(|_| Mutex::new(None)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// The slot serving the k-th stream: streams are dealt round-robin.
    pub fn slot_for(&self, k: usize) -> usize {
        k % self.slots.len()
    }

    /// Dials every slot now and reads the hub's settings on each (a `/health/live` round
    /// trip), so density can measure connections apart from the streams opened later.
    pub async fn warm_up(self: &Arc<Self>) -> WarmUp {
        let mut tasks = JoinSet::new();
        for slot in 0..self.len() {
            let pool = self.clone();
            tasks.spawn(async move {
                pool.exchange(slot, "GET", "/health/live", &[], b"").await?;
                let handle = pool.handle(slot).await?;
                Ok::<_, HttpError>(handle.send.current_max_send_streams())
            });
        }
        let mut warm = WarmUp::default();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(limit)) => {
                    warm.connected += 1;
                    warm.max_streams = Some(warm.max_streams.map_or(limit, |m| m.min(limit)));
                }
                Ok(Err(e)) => warm.errors.push(e.to_string()),
                Err(e) => warm.errors.push(e.to_string()),
            }
        }
        warm
    }

    /// Sends a request on connection `slot`; the answer's head and its body stream.
    ///
    /// # Errors
    /// `Connect`/`Handshake`/`Alpn`/`H2Unsent` when nothing was sent; `H2` after.
    pub async fn request(
        &self,
        slot: usize,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response<RecvStream>, HttpError> {
        let handle = self.handle(slot).await?;
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|e| HttpError::BadHead(format!("method {method}: {e}")))?;
        let mut request = http::Request::builder()
            .method(method)
            .uri(self.hub.uri(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(())
            .map_err(|e| HttpError::BadHead(e.to_string()))?;
        // A connection that is going away takes no new streams: the next open redials.
        let retire = |e: &h2::Error| {
            if e.is_go_away() || e.is_io() {
                handle.alive.store(false, Ordering::Release);
            }
        };
        let mut send = handle.send.clone().ready().await.map_err(|e| {
            retire(&e);
            HttpError::H2Unsent(e)
        })?;
        let (response, mut stream) = send.send_request(request, body.is_empty()).map_err(|e| {
            retire(&e);
            HttpError::H2Unsent(e)
        })?;
        if !body.is_empty() {
            stream
                .send_data(Bytes::copy_from_slice(body), true)
                .map_err(HttpError::H2)?;
        }
        response.await.map_err(|e| {
            retire(&e);
            HttpError::H2(e)
        })
    }

    /// One request with a small answer, read whole: `(status, body)`.
    ///
    /// # Errors
    /// As `request`, and a body over 1 MiB.
    pub async fn exchange(
        &self,
        slot: usize,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), HttpError> {
        let response = self.request(slot, method, path, headers, body).await?;
        let status = response.status().as_u16();
        let body = read_body(response.into_body(), MAX_BODY).await?;
        Ok((status, body))
    }

    /// The slot's live connection, dialling it when it has none or its driver has ended.
    async fn handle(&self, slot: usize) -> Result<Handle, HttpError> {
        let mut guard = self.slots[slot % self.slots.len()].lock().await;
        if let Some(handle) = guard.as_ref() {
            if handle.alive.load(Ordering::Acquire) {
                return Ok(handle.clone());
            }
        }
        let handle = self.dial().await?;
        *guard = Some(handle.clone());
        Ok(handle)
    }

    async fn dial(&self) -> Result<Handle, HttpError> {
        let conn = self
            .transport
            .connect(&self.hub, self.source.as_deref())
            .await?;
        let (send, connection) = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(self.connection_window)
            .max_concurrent_reset_streams(self.per_connection.max(MIN_RESET_STREAMS))
            .enable_push(false)
            .handshake::<_, Bytes>(conn)
            .await
            .map_err(|e| HttpError::Handshake(format!("HTTP/2 preface: {e}")))?;
        let alive = Arc::new(AtomicBool::new(true));
        let driver_alive = alive.clone();
        tokio::spawn(async move {
            // Ends with the connection (an error only says how it ended): the slot redials.
            let _ = connection.await;
            driver_alive.store(false, Ordering::Release);
        });
        Ok(Handle { send, alive })
    }
}

/// Reads a whole (small) body, releasing flow-control capacity as it goes.
///
/// # Errors
/// A stream error, or more than `limit` bytes.
pub async fn read_body(mut body: RecvStream, limit: usize) -> Result<Vec<u8>, HttpError> {
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(HttpError::H2)?;
        let _ = body.flow_control().release_capacity(chunk.len());
        if out.len() + chunk.len() > limit {
            return Err(HttpError::BadHead(format!(
                "response body over {limit} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Connections for `streams` streams: as asked, else one per 100 streams; never more
/// connections than streams, never none.
pub fn connections_for(streams: usize, asked: Option<u32>) -> usize {
    let wanted = asked.map_or(streams.div_ceil(DEFAULT_STREAMS_PER_CONNECTION), |c| {
        c as usize
    });
    wanted.min(streams).max(1)
}

/// The connection window for `streams` streams of `STREAM_WINDOW` each.
fn connection_window(streams: usize) -> u32 {
    let want = u64::from(STREAM_WINDOW) * streams.max(1) as u64;
    u32::try_from(want.min(MAX_CONNECTION_WINDOW)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_window_covers_every_stream_up_to_a_ceiling() {
        assert_eq!(connection_window(0), STREAM_WINDOW);
        assert_eq!(connection_window(100), 100 * STREAM_WINDOW);
        assert_eq!(connection_window(1_000_000), 1 << 30);
    }

    #[test]
    fn one_connection_per_hundred_streams_unless_asked() {
        assert_eq!(connections_for(10_000, None), 100);
        assert_eq!(connections_for(101, None), 2);
        assert_eq!(connections_for(0, None), 1);
        assert_eq!(connections_for(10, Some(4)), 4);
        assert_eq!(connections_for(3, Some(10)), 3);
    }

    #[test]
    fn warm_up_refuses_more_streams_than_the_hub_allows() {
        let warm = WarmUp {
            connected: 2,
            errors: Vec::new(),
            max_streams: Some(200),
        };
        assert_eq!(warm.check(400, 2), Ok(()));
        let err = warm.check(401, 2).unwrap_err();
        assert!(err.contains("use --h2-connections 3 or more"), "{err}");
        let none = WarmUp {
            connected: 0,
            errors: vec!["connect: refused".into()],
            max_streams: None,
        };
        assert!(none.check(1, 1).unwrap_err().contains("refused"));
    }

    #[test]
    fn streams_are_dealt_round_robin() {
        let hub: Hub = "http://127.0.0.1:9".parse().unwrap();
        let pool = Pool::new(hub, Arc::new(Transport::plain()), 3, 10, None);
        assert_eq!(pool.len(), 3);
        let slots: Vec<usize> = (0..5).map(|k| pool.slot_for(k)).collect();
        assert_eq!(slots, [0, 1, 2, 0, 1]);
        assert_eq!(pool.connection_window, 4 * STREAM_WINDOW);
    }
}
