//! A server-side TLS connection on rustls's unbuffered API, so that the buffers are ours and an
//! idle connection holds none.
//!
//! rustls's buffered `ServerConnection` keeps a 4 KiB record buffer for the life of every
//! connection (it resizes it before each read and shrinks it back only to 4 KiB). With the
//! unbuffered API the caller owns the ciphertext buffers: here they are allocated when bytes
//! arrive or leave and freed as soon as they are empty, so a quiet SSE stream over TLS costs
//! rustls's key state and nothing more (docs/PERFORMANCE.md, "TLS and HTTP/2").
//!
//! [`TlsStream`] is an `AsyncRead + AsyncWrite` like any socket: the lean stream path, hyper and
//! the HTTP/2 transport use it as they use a `TcpStream`.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use rustls::server::UnbufferedServerConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, InsufficientSizeError};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Room made for one socket read: a whole TLS record (16 KiB of plaintext plus its overhead).
const READ_SIZE: usize = 16 * 1024 + 256;
/// Ciphertext a peer may have us hold without completing a message: the largest handshake
/// message rustls accepts, plus a record. More is an attack or a broken peer.
const MAX_INCOMING: usize = 64 * 1024 + READ_SIZE;
/// Ciphertext waiting for the peer to read, past which its input is not read either.
const MAX_UNSENT: usize = 256 * 1024;
/// Plaintext taken per write: the caller is told how much was taken and comes back for the rest.
const MAX_WRITE: usize = 64 * 1024;
/// Ciphertext overhead assumed per 16 KiB record when sizing an encryption (TLS 1.2 AES-GCM
/// needs 29 bytes, TLS 1.3 22); a bigger need is asked for and met on the second try.
const RECORD_OVERHEAD: usize = 64;

/// What a pass over the connection's state should do once the handshake allows traffic.
enum Action<'a> {
    Nothing,
    Encrypt(&'a [u8]),
    CloseNotify,
}

/// Where a pass over the connection's state stopped.
#[derive(PartialEq, Eq)]
enum Step {
    /// Application data may flow.
    Traffic,
    /// The handshake needs more bytes from the peer.
    NeedInput,
    /// Both sides sent close_notify.
    Closed,
}

/// One TLS connection over TCP (see the module docs).
pub(crate) struct TlsStream {
    tcp: TcpStream,
    session: Session,
    /// Ciphertext received and not yet consumed (part of a record or of a handshake message).
    incoming: Vec<u8>,
    /// Ciphertext produced and not yet written, from `sent` on.
    outgoing: Vec<u8>,
    sent: usize,
    /// The socket reached its end (with or without close_notify).
    eof: bool,
}

/// rustls's side of the connection and what it decrypted.
struct Session {
    conn: UnbufferedServerConnection,
    /// Plaintext decrypted and not yet read, from `taken` on.
    plaintext: Vec<u8>,
    taken: usize,
    /// The peer sent close_notify: reads end cleanly once `plaintext` is drained.
    peer_closed: bool,
    close_queued: bool,
}

thread_local! {
    /// Where a worker thread reads and encrypts: bytes stay in a connection's own buffers only
    /// when they cannot be consumed or sent at once, so busy connections cost no allocation
    /// per read or write and idle ones hold nothing.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Scratch kept per worker thread between uses (a write's worth of records).
const SCRATCH_KEPT: usize = MAX_WRITE + 4 * 1024;

impl TlsStream {
    /// Runs the handshake on `tcp` (the caller bounds it in time).
    pub(crate) async fn accept(tcp: TcpStream, config: Arc<ServerConfig>) -> io::Result<Self> {
        let conn = UnbufferedServerConnection::new(config).map_err(tls_error)?;
        let mut stream = TlsStream {
            tcp,
            session: Session {
                conn,
                plaintext: Vec::new(),
                taken: 0,
                peer_closed: false,
                close_queued: false,
            },
            incoming: Vec::new(),
            outgoing: Vec::new(),
            sent: 0,
            eof: false,
        };
        poll_fn(|cx| stream.poll_handshake(cx)).await?;
        Ok(stream)
    }

    /// The protocol ALPN chose, if any.
    pub(crate) fn alpn_protocol(&self) -> Option<&[u8]> {
        self.session.conn.alpn_protocol()
    }

    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let step =
                self.session
                    .process(&mut self.incoming, &mut self.outgoing, Action::Nothing);
            // Even a failed handshake sends what it has: the alert tells the peer why.
            let flushed = self.poll_flush_outgoing(cx);
            let step = step?;
            ready!(flushed)?;
            if step == Step::Closed {
                return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
            }
            // A TLS 1.3 server may send before the client's Finished (`Traffic` while still
            // handshaking); the handshake is done only when both directions are keyed.
            if !self.session.conn.is_handshaking() {
                return Poll::Ready(Ok(()));
            }
            if !ready!(self.poll_receive(cx))? {
                return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
            }
        }
    }

    /// Reads what the socket has and feeds it to rustls (with what was left of the last read);
    /// `false` at the end of the stream. Only an incomplete record is kept in `incoming`.
    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        if self.eof {
            return Poll::Ready(Ok(false));
        }
        if self.incoming.len() >= MAX_INCOMING {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TLS peer sent too much without completing a message",
            )));
        }
        loop {
            ready!(self.tcp.poll_read_ready(cx))?;
            let received = SCRATCH.with_borrow_mut(|buf| {
                buf.clear();
                buf.extend_from_slice(&self.incoming);
                buf.reserve(READ_SIZE);
                let read = self.tcp.try_read_buf(buf);
                if let Ok(n) = read {
                    if n > 0 {
                        let processed =
                            self.session
                                .process(buf, &mut self.outgoing, Action::Nothing);
                        self.incoming.clear();
                        self.incoming.extend_from_slice(buf);
                        if self.incoming.is_empty() {
                            self.incoming = Vec::new();
                        }
                        processed?;
                    }
                }
                if buf.capacity() > SCRATCH_KEPT {
                    *buf = Vec::new();
                }
                read
            });
            match received {
                Ok(0) => {
                    self.eof = true;
                    return Poll::Ready(Ok(false));
                }
                Ok(_) => return Poll::Ready(Ok(true)),
                // Readiness was stale and is now cleared; the next poll registers the waker.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }

    /// Writes `outgoing` to the socket; frees it once written.
    fn poll_flush_outgoing(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.outgoing.len() {
            let written =
                ready!(Pin::new(&mut self.tcp).poll_write(cx, &self.outgoing[self.sent..]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += written;
        }
        if self.outgoing.capacity() > 0 {
            self.outgoing = Vec::new();
            self.sent = 0;
        }
        Poll::Ready(Ok(()))
    }

    /// Encrypts `data` (at most [`MAX_WRITE`] of it) once earlier ciphertext is out, and sends
    /// it; what the socket does not take now waits in `outgoing`.
    fn poll_encrypt(&mut self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_flush_outgoing(cx))?;
        if self.session.close_queued {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let data = &data[..data.len().min(MAX_WRITE)];
        SCRATCH.with_borrow_mut(|records| {
            records.clear();
            let step = self
                .session
                .process(&mut self.incoming, records, Action::Encrypt(data));
            let result = match step {
                Ok(Step::Traffic) => self.send_now(records),
                Ok(_) => Err(io::ErrorKind::BrokenPipe.into()),
                Err(error) => Err(error),
            };
            if records.capacity() > SCRATCH_KEPT {
                *records = Vec::new();
            }
            result
        })?;
        if !self.outgoing.is_empty() {
            // Registers the waker for when the socket takes more.
            if let Poll::Ready(Err(error)) = self.poll_flush_outgoing(cx) {
                return Poll::Ready(Err(error));
            }
        }
        Poll::Ready(Ok(data.len()))
    }

    /// Writes `records` as far as the socket takes them without waiting; keeps the rest.
    fn send_now(&mut self, records: &[u8]) -> io::Result<()> {
        let mut sent = 0;
        while sent < records.len() {
            match self.tcp.try_write(&records[sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => sent += n,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => return Err(error),
            }
        }
        self.outgoing.extend_from_slice(&records[sent..]);
        Ok(())
    }
}

impl Session {
    /// Feeds `incoming` to rustls until it needs the peer or lets traffic flow: decrypted
    /// records go to `plaintext`, handshake and alert records to `out`, and `action` is applied
    /// (its records to `out` too) once traffic may flow. Consumed bytes leave `incoming`.
    fn process(
        &mut self,
        incoming: &mut Vec<u8>,
        out: &mut Vec<u8>,
        mut action: Action<'_>,
    ) -> io::Result<Step> {
        loop {
            let status = self.conn.process_tls_records(incoming);
            let mut discard = status.discard;
            let state = match status.state {
                Ok(state) => state,
                Err(error) => {
                    incoming.drain(..discard);
                    self.queue_alert(out);
                    return Err(tls_error(error));
                }
            };
            let stop = match state {
                ConnectionState::ReadTraffic(mut traffic) => {
                    while let Some(record) = traffic.next_record() {
                        let record = record.map_err(tls_error)?;
                        discard += record.discard;
                        self.plaintext.extend_from_slice(record.payload);
                    }
                    None
                }
                ConnectionState::EncodeTlsData(mut encode) => {
                    fill(out, READ_SIZE, |buf| {
                        encode.encode(buf).map_err(encode_error)
                    })?;
                    None
                }
                // What was encoded is in `out`, which is written before anything later.
                ConnectionState::TransmitTlsData(transmit) => {
                    transmit.done();
                    None
                }
                ConnectionState::WriteTraffic(mut traffic) => {
                    match std::mem::replace(&mut action, Action::Nothing) {
                        Action::Nothing => {}
                        Action::Encrypt(data) => {
                            let records = data.len() / (16 * 1024) + 1;
                            fill(out, data.len() + records * RECORD_OVERHEAD, |buf| {
                                traffic.encrypt(data, buf).map_err(encrypt_error)
                            })?;
                        }
                        Action::CloseNotify => {
                            fill(out, RECORD_OVERHEAD, |buf| {
                                traffic.queue_close_notify(buf).map_err(encrypt_error)
                            })?;
                            self.close_queued = true;
                        }
                    }
                    Some(Step::Traffic)
                }
                ConnectionState::BlockedHandshake => Some(Step::NeedInput),
                ConnectionState::PeerClosed => {
                    self.peer_closed = true;
                    None
                }
                ConnectionState::Closed => Some(Step::Closed),
                // No early data is configured; any other state is one this code does not know.
                _ => Some(Step::Closed),
            };
            incoming.drain(..discard);
            if let Some(step) = stop {
                return Ok(step);
            }
        }
    }

    /// After a protocol error rustls has an alert queued: it goes into `out` so the peer learns
    /// why (best effort; the connection is over either way).
    fn queue_alert(&mut self, out: &mut Vec<u8>) {
        while let Ok(ConnectionState::EncodeTlsData(mut encode)) =
            self.conn.process_tls_records(&mut []).state
        {
            let encoded = fill(out, RECORD_OVERHEAD, |buf| {
                encode.encode(buf).map_err(encode_error)
            });
            if encoded.is_err() {
                break;
            }
        }
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let session = &mut this.session;
            if session.taken < session.plaintext.len() {
                let available = &session.plaintext[session.taken..];
                let n = available.len().min(buf.remaining());
                buf.put_slice(&available[..n]);
                session.taken += n;
                if session.taken == session.plaintext.len() {
                    session.plaintext = Vec::new();
                    session.taken = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if session.peer_closed {
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                // The peer left without close_notify: the data may have been cut short.
                return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
            }
            // Records the peer sent may ask for an answer (a key update, say): sent as we go.
            // A peer that makes us answer without ever reading is not read from past a limit.
            match this.poll_flush_outgoing(cx) {
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending if this.outgoing.len() - this.sent > MAX_UNSENT => {
                    return Poll::Pending
                }
                _ => {}
            }
            ready!(this.poll_receive(cx))?;
        }
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_encrypt(cx, data)
    }

    /// Slices are joined into one record rather than one record each: a stream's chunk header,
    /// frames and trailer cost one record's overhead.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        slices: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match slices.iter().find(|slice| !slice.is_empty()) {
            None => Poll::Ready(Ok(0)),
            Some(first) if slices.len() == 1 => this.poll_encrypt(cx, first),
            Some(_) => {
                let total: usize = slices.iter().map(|slice| slice.len()).sum();
                let mut joined = Vec::with_capacity(total.min(MAX_WRITE));
                for slice in slices {
                    let room = MAX_WRITE - joined.len();
                    joined.extend_from_slice(&slice[..slice.len().min(room)]);
                    if joined.len() == MAX_WRITE {
                        break;
                    }
                }
                this.poll_encrypt(cx, &joined)
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_outgoing(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_flush_outgoing(cx))?;
        if !this.session.close_queued {
            this.session.close_queued = true;
            let step = this.session.process(
                &mut this.incoming,
                &mut this.outgoing,
                Action::CloseNotify,
            )?;
            if step == Step::Traffic {
                ready!(this.poll_flush_outgoing(cx))?;
            }
        }
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}

/// Why an encoding did not fit.
enum Short {
    /// The buffer must hold this many bytes.
    Needs(usize),
    Failed(io::Error),
}

/// Appends what `produce` writes to `out`, sized first by `guess`, then by what `produce`
/// says it needs.
fn fill(
    out: &mut Vec<u8>,
    guess: usize,
    mut produce: impl FnMut(&mut [u8]) -> Result<usize, Short>,
) -> io::Result<()> {
    let start = out.len();
    let mut room = guess;
    loop {
        out.resize(start + room, 0);
        match produce(&mut out[start..]) {
            Ok(written) => {
                out.truncate(start + written);
                return Ok(());
            }
            Err(Short::Needs(size)) if size > room => room = size,
            Err(Short::Needs(_)) => {
                out.truncate(start);
                return Err(io::Error::other("TLS record does not fit its own size"));
            }
            Err(Short::Failed(error)) => {
                out.truncate(start);
                return Err(error);
            }
        }
    }
}

fn encode_error(error: EncodeError) -> Short {
    match error {
        EncodeError::InsufficientSize(InsufficientSizeError { required_size }) => {
            Short::Needs(required_size)
        }
        other => Short::Failed(io::Error::other(other.to_string())),
    }
}

fn encrypt_error(error: EncryptError) -> Short {
    match error {
        EncryptError::InsufficientSize(InsufficientSizeError { required_size }) => {
            Short::Needs(required_size)
        }
        other => Short::Failed(io::Error::other(other.to_string())),
    }
}

fn tls_error(error: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}
