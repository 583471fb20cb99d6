//! Incremental HTTP/1.1 chunked transfer decoding (RFC 9112 §7.1).
//!
//! Streaming SSE responses arrive in arbitrary TCP segments, so the decoder keeps only a few
//! bytes of state and hands out borrowed slices of the input: no per-connection buffer
//! beyond the socket read buffer, which matters at 200k connections.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size.
    Size {
        value: u64,
        digits: u8,
    },
    /// Skipping a chunk extension (`;name=value`) up to the line end.
    Extension {
        value: u64,
    },
    /// Saw CR after the size line; expecting LF.
    SizeLf {
        value: u64,
    },
    Data {
        remaining: u64,
    },
    /// After chunk data: CR LF must follow.
    DataCr,
    DataLf,
    /// After the zero-size chunk: trailer lines until an empty one.
    Trailer {
        line_empty: bool,
    },
    Done,
}

/// Framing violations: the hub sent something no HTTP/1.1 peer may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkError {
    BadSize(u8),
    SizeTooLarge,
    MissingCrlf(u8),
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadSize(b) => write!(f, "chunked: invalid byte {b:#04x} in chunk size"),
            Self::SizeTooLarge => write!(f, "chunked: chunk size overflows"),
            Self::MissingCrlf(b) => write!(f, "chunked: expected CRLF after data, got {b:#04x}"),
        }
    }
}

impl std::error::Error for ChunkError {}

/// Whether the body has ended (the terminating zero-size chunk and trailers were read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    More,
    Done,
}

#[derive(Debug, Clone)]
pub struct Dechunker {
    state: State,
}

impl Default for Dechunker {
    fn default() -> Self {
        Self::new()
    }
}

impl Dechunker {
    pub fn new() -> Self {
        Self {
            state: State::Size {
                value: 0,
                digits: 0,
            },
        }
    }

    /// Decodes `input`, passing each run of body bytes to `sink` in order.
    ///
    /// # Errors
    /// Any framing violation; the stream cannot be resynchronised after one.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        sink: &mut impl FnMut(&[u8]),
    ) -> Result<Progress, ChunkError> {
        while let Some((&byte, rest)) = input.split_first() {
            match self.state {
                State::Data { remaining } => {
                    let take = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    sink(&input[..take]);
                    input = &input[take..];
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { remaining: left }
                    };
                    continue;
                }
                State::Done => return Ok(Progress::Done),
                state => self.state = Self::step(state, byte)?,
            }
            input = rest;
        }
        Ok(if self.state == State::Done {
            Progress::Done
        } else {
            Progress::More
        })
    }

    /// One byte of framing (everything except chunk data).
    fn step(state: State, byte: u8) -> Result<State, ChunkError> {
        let after_size = |value: u64| {
            if value == 0 {
                State::Trailer { line_empty: true }
            } else {
                State::Data { remaining: value }
            }
        };
        Ok(match (state, byte) {
            (State::Size { value, digits }, b) if b.is_ascii_hexdigit() => {
                if digits >= 15 {
                    return Err(ChunkError::SizeTooLarge);
                }
                let digit = u64::from((b as char).to_digit(16).unwrap_or(0));
                State::Size {
                    value: value * 16 + digit,
                    digits: digits + 1,
                }
            }
            (State::Size { digits: 0, .. }, b) => return Err(ChunkError::BadSize(b)),
            (State::Size { value, .. }, b';' | b' ' | b'\t') => State::Extension { value },
            (State::Size { value, .. } | State::Extension { value }, b'\r') => {
                State::SizeLf { value }
            }
            // A bare LF is tolerated as a line end, as most parsers do.
            (
                State::Size { value, .. } | State::Extension { value } | State::SizeLf { value },
                b'\n',
            ) => after_size(value),
            (State::Size { .. } | State::SizeLf { .. }, b) => return Err(ChunkError::BadSize(b)),
            (State::Extension { value }, _) => State::Extension { value },
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataCr | State::DataLf, b'\n') => State::Size {
                value: 0,
                digits: 0,
            },
            (State::DataCr | State::DataLf, b) => return Err(ChunkError::MissingCrlf(b)),
            (State::Trailer { line_empty }, b'\n') => {
                if line_empty {
                    State::Done
                } else {
                    State::Trailer { line_empty: true }
                }
            }
            (State::Trailer { line_empty }, b'\r') => State::Trailer { line_empty },
            (State::Trailer { .. }, _) => State::Trailer { line_empty: false },
            (State::Data { .. } | State::Done, _) => unreachable!("handled by feed"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(wire: &[u8], piece: usize) -> (Vec<u8>, Progress) {
        let mut d = Dechunker::new();
        let mut out = Vec::new();
        let mut progress = Progress::More;
        for part in wire.chunks(piece) {
            progress = d.feed(part, &mut |b| out.extend_from_slice(b)).unwrap();
        }
        (out, progress)
    }

    #[test]
    fn decodes_at_every_split() {
        let wire = b"4\r\nWiki\r\n7;ext=1\r\npedia i\r\nB\r\nn \r\nchunks.\r\n0\r\nX-T: 1\r\n\r\n";
        for piece in 1..wire.len() {
            let (out, progress) = decode_in_pieces(wire, piece);
            assert_eq!(out, b"Wikipedia in \r\nchunks.", "piece {piece}");
            assert_eq!(progress, Progress::Done);
        }
    }

    #[test]
    fn open_stream_is_not_done() {
        let (out, progress) = decode_in_pieces(b"8\r\n: ping\n\n\r\n", 3);
        assert_eq!(out, b": ping\n\n");
        assert_eq!(progress, Progress::More);
    }

    #[test]
    fn tolerates_bare_lf_and_upper_hex() {
        let (out, progress) = decode_in_pieces(b"A\nabcdefghij\n0\n\n", 1);
        assert_eq!(out, b"abcdefghij");
        assert_eq!(progress, Progress::Done);
    }

    #[test]
    fn rejects_garbage() {
        let mut d = Dechunker::new();
        assert_eq!(
            d.feed(b"zz\r\n", &mut |_| {}),
            Err(ChunkError::BadSize(b'z'))
        );
        let mut d = Dechunker::new();
        assert_eq!(
            d.feed(b"1\r\nabc", &mut |_| {}),
            Err(ChunkError::MissingCrlf(b'b'))
        );
        let mut d = Dechunker::new();
        assert_eq!(
            d.feed(b"ffffffffffffffffff\r\n", &mut |_| {}),
            Err(ChunkError::SizeTooLarge)
        );
    }
}
