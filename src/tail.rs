//! The tail ring: the most recent encoded frames, shared by every connection, bounded by
//! count and by bytes (a few huge events must not hold hundreds of MiB).
//!
//! The dispatcher appends frames in sequence order; connections read from their own cursor
//! under a short read lock, cloning only the `Bytes` (a reference count) of frames that pass
//! their filter. A cursor older than the ring's floor has been evicted past and must catch up
//! from the store.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

use crate::event::{ClientId, Event, Recipient, Sequence, Topic};

/// One event, encoded once, with what readers need to decide whether it is theirs.
#[derive(Debug, Clone)]
pub struct Frame {
    pub sequence: Sequence,
    /// Folded (lower-case) event type, as filters hold it.
    pub folded_type: Arc<str>,
    pub target: Option<ClientId>,
    /// Empty for a topic-less event (no allocation).
    pub topics: Box<[Topic]>,
    pub bytes: Bytes,
}

impl Frame {
    /// The frame of `event`, whose wire bytes (`sse::frame::encode_event`) are `bytes`.
    pub fn new(event: &Event, bytes: Bytes) -> Frame {
        Frame {
            sequence: event.sequence,
            folded_type: event.event_type.folded(),
            target: event.target.clone(),
            topics: event.topics.clone().into_boxed_slice(),
            bytes,
        }
    }

    /// Whether `recipient` receives the frame: the delivery rule
    /// ([`Recipient::receives`]), the same for live frames, replay and history.
    pub fn is_for(&self, recipient: &Recipient) -> bool {
        recipient.receives(&self.folded_type, self.target.as_ref(), &self.topics)
    }

    /// The frame without its `event:` line, as two slices of the same bytes (no copy):
    /// `id: <seq>\n` and `data: …\n\n`. The line is where `encode_event` puts it, right after
    /// the `id:` line, and is `event: <type>\n` long.
    pub fn unnamed(&self) -> (Bytes, Bytes) {
        let id_line = "id: \n".len() + decimal_len(self.sequence.0);
        let event_line = "event: \n".len() + self.folded_type.len();
        let data = (id_line + event_line).min(self.bytes.len());
        (self.bytes.slice(..id_line), self.bytes.slice(data..))
    }
}

/// Digits of `n` in decimal.
fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |digits| digits as usize + 1)
}

/// What a read from the ring found.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// The cursor may move to `through`; matching frames were pushed to the output.
    Advanced { through: Sequence },
    /// Nothing after the cursor yet.
    Idle,
    /// Frames after the cursor were evicted: read them from the store.
    Evicted,
}

pub struct Tail {
    ring: RwLock<Ring>,
    capacity: usize,
    max_bytes: usize,
}

struct Ring {
    frames: VecDeque<Frame>,
    /// The encoded bytes the frames hold.
    bytes: usize,
    /// Every dispatched event after `floor` is in `frames`.
    floor: Sequence,
    /// The newest dispatched position (may pass the last frame when a gap was skipped).
    dispatched: Sequence,
}

impl Tail {
    /// A ring holding up to `capacity` frames of at most `max_bytes` in all, starting empty
    /// at `start` (everything up to and including `start` is history only the store has).
    pub fn new(capacity: usize, max_bytes: usize, start: Sequence) -> Tail {
        Tail {
            ring: RwLock::new(Ring {
                frames: VecDeque::with_capacity(capacity.min(4096)),
                bytes: 0,
                floor: start,
                dispatched: start,
            }),
            capacity: capacity.max(1),
            max_bytes,
        }
    }

    /// Appends a batch in sequence order and marks everything through `dispatched` as done.
    pub fn push(&self, frames: impl IntoIterator<Item = Frame>, dispatched: Sequence) {
        let mut ring = self.ring.write();
        for frame in frames {
            debug_assert!(frame.sequence > ring.dispatched);
            ring.bytes += frame.bytes.len();
            ring.frames.push_back(frame);
        }
        while ring.frames.len() > self.capacity || ring.bytes > self.max_bytes {
            let Some(evicted) = ring.frames.pop_front() else {
                break;
            };
            ring.bytes -= evicted.bytes.len();
            ring.floor = evicted.sequence;
        }
        ring.dispatched = ring.dispatched.max(dispatched);
    }

    /// The newest dispatched position.
    pub fn dispatched(&self) -> Sequence {
        self.ring.read().dispatched
    }

    /// The position before which only the store has history.
    pub fn floor(&self) -> Sequence {
        self.ring.read().floor
    }

    /// Reads after `cursor`, handing each frame that `accept` takes to `take`, until
    /// `max_out` were taken or `max_scan` frames were looked at.
    pub fn read(
        &self,
        cursor: Sequence,
        accept: impl Fn(&Frame) -> bool,
        mut take: impl FnMut(&Frame),
        max_out: usize,
        max_scan: usize,
    ) -> Read {
        let ring = self.ring.read();
        if cursor < ring.floor {
            return Read::Evicted;
        }
        let start = ring.start_after(cursor);
        let mut through = cursor;
        let mut reached_end = true;
        let mut taken = 0;
        for (scanned, frame) in ring.frames.range(start..).enumerate() {
            if taken >= max_out || scanned >= max_scan {
                reached_end = false;
                break;
            }
            if accept(frame) {
                take(frame);
                taken += 1;
            }
            through = frame.sequence;
        }
        // Past the last frame, the dispatched mark may still move the cursor (skipped gaps).
        if reached_end {
            through = through.max(ring.dispatched);
        }
        if through > cursor {
            Read::Advanced { through }
        } else {
            Read::Idle
        }
    }
}

impl Ring {
    /// The index of the first frame after `cursor`. Sequences in the ring are consecutive
    /// unless the dispatcher skipped a gap, so the index is usually `cursor - first`; checking
    /// that guess saves the binary search every woken subscriber would otherwise do.
    fn start_after(&self, cursor: Sequence) -> usize {
        if let Some(front) = self.frames.front() {
            if cursor >= front.sequence {
                let guess = (cursor.0 - front.sequence.0) as usize + 1;
                if self
                    .frames
                    .get(guess - 1)
                    .is_some_and(|f| f.sequence == cursor)
                {
                    return guess;
                }
            }
        }
        self.frames.partition_point(|f| f.sequence <= cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::contract::sample;

    fn frame(n: u64, target: Option<&str>) -> Frame {
        let event = sample(n, target).with_sequence(Sequence(n));
        Frame::new(&event, Bytes::from(format!("id: {n}\n\n")))
    }

    fn all(_: &Frame) -> bool {
        true
    }

    #[test]
    fn reads_from_the_cursor_in_order() {
        let tail = Tail::new(8, usize::MAX, Sequence(0));
        tail.push((1..=5).map(|n| frame(n, None)), Sequence(5));
        let mut out = VecDeque::new();
        assert_eq!(
            tail.read(
                Sequence(2),
                all,
                |f| out.push_back(f.bytes.clone()),
                10,
                100
            ),
            Read::Advanced {
                through: Sequence(5)
            }
        );
        assert_eq!(out.len(), 3);
        assert!(out[0].starts_with(b"id: 3\n"));
        out.clear();
        assert_eq!(
            tail.read(
                Sequence(5),
                all,
                |f| out.push_back(f.bytes.clone()),
                10,
                100
            ),
            Read::Idle
        );
    }

    #[test]
    fn output_limit_stops_at_the_last_frame_taken() {
        let tail = Tail::new(8, usize::MAX, Sequence(0));
        tail.push((1..=5).map(|n| frame(n, None)), Sequence(5));
        let mut out = VecDeque::new();
        assert_eq!(
            tail.read(Sequence(0), all, |f| out.push_back(f.bytes.clone()), 2, 100),
            Read::Advanced {
                through: Sequence(2)
            }
        );
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn rejected_frames_still_advance_the_cursor() {
        let tail = Tail::new(8, usize::MAX, Sequence(0));
        tail.push((1..=3).map(|n| frame(n, Some("other"))), Sequence(3));
        let me = Recipient::new(ClientId::new("me").unwrap(), crate::event::Filter::All);
        let mut out = VecDeque::new();
        let read = tail.read(
            Sequence(0),
            |f| f.is_for(&me),
            |f| out.push_back(f.bytes.clone()),
            10,
            100,
        );
        assert_eq!(
            read,
            Read::Advanced {
                through: Sequence(3)
            }
        );
        assert!(out.is_empty());
    }

    #[test]
    fn eviction_sends_old_cursors_to_the_store() {
        let tail = Tail::new(3, usize::MAX, Sequence(0));
        tail.push((1..=5).map(|n| frame(n, None)), Sequence(5));
        assert_eq!(tail.floor(), Sequence(2));
        let mut out = VecDeque::new();
        assert_eq!(
            tail.read(
                Sequence(1),
                all,
                |f| out.push_back(f.bytes.clone()),
                10,
                100
            ),
            Read::Evicted
        );
        assert_eq!(
            tail.read(
                Sequence(2),
                all,
                |f| out.push_back(f.bytes.clone()),
                10,
                100
            ),
            Read::Advanced {
                through: Sequence(5)
            }
        );
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn the_ring_is_bounded_by_bytes_too() {
        // Each test frame is "id: N\n\n": 7 bytes for one digit, 8 for two.
        let tail = Tail::new(100, 30, Sequence(0));
        tail.push((1..=9).map(|n| frame(n, None)), Sequence(9));
        assert_eq!(
            tail.floor(),
            Sequence(5),
            "four 7-byte frames fit in 30 bytes"
        );
        let mut out = VecDeque::new();
        assert_eq!(
            tail.read(
                Sequence(4),
                all,
                |f| out.push_back(f.bytes.clone()),
                10,
                100
            ),
            Read::Evicted
        );
        tail.push([frame(10, None)], Sequence(10));
        assert_eq!(tail.floor(), Sequence(6));
    }

    #[test]
    fn reads_find_their_place_around_skipped_gaps() {
        let tail = Tail::new(8, usize::MAX, Sequence(0));
        tail.push(
            [
                frame(1, None),
                frame(2, None),
                frame(5, None),
                frame(6, None),
            ],
            Sequence(6),
        );
        let mut out = VecDeque::new();
        assert_eq!(
            tail.read(
                Sequence(2),
                all,
                |f| out.push_back(f.bytes.clone()),
                10,
                100
            ),
            Read::Advanced {
                through: Sequence(6)
            }
        );
        assert_eq!(out.len(), 2);
        assert!(out[0].starts_with(b"id: 5\n"));
        out.clear();
        assert_eq!(
            tail.read(
                Sequence(3),
                all,
                |f| out.push_back(f.bytes.clone()),
                10,
                100
            ),
            Read::Advanced {
                through: Sequence(6)
            }
        );
        assert_eq!(
            out.len(),
            2,
            "a cursor inside a skipped gap starts after it"
        );
        out.clear();
        assert_eq!(
            tail.read(
                Sequence(5),
                all,
                |f| out.push_back(f.bytes.clone()),
                10,
                100
            ),
            Read::Advanced {
                through: Sequence(6)
            }
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_skipped_gap_moves_idle_cursors_past_it() {
        let tail = Tail::new(8, usize::MAX, Sequence(0));
        tail.push([frame(1, None)], Sequence(1));
        // Sequence 2 never appeared; the dispatcher skipped it.
        tail.push([], Sequence(2));
        let mut out = VecDeque::new();
        assert_eq!(
            tail.read(
                Sequence(1),
                all,
                |f| out.push_back(f.bytes.clone()),
                10,
                100
            ),
            Read::Advanced {
                through: Sequence(2)
            }
        );
    }
}
