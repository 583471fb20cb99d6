//! The byte layout of stored events.
//!
//! Schema 3 stores events in **chunks**: one `event_chunks` row holds up to [`CHUNK_EVENTS`]
//! consecutive sequences (fewer once it reaches [`CHUNK_BYTES`]), keyed by the first: their
//! records one after another, each preceded by its length (4, LE). One B-tree insert per chunk
//! instead of one per event is what makes a large append cheap; a read from the middle of a
//! chunk skips records by their lengths.
//!
//! A record: message id (16) · created_at (8, LE) · type len (1) · type · target len (1, 0 =
//! broadcast) · target · topic count (1) · per topic: len (2, LE) · topic · fields (rest).
//! Names are validated, so type and target lengths fit a byte, a topic's two bytes.
//! (Schema 2 had the same records one per row, in a table named `events`; such a file is
//! converted when opened. Schema 1 had no topics; such files are refused.)

use super::OpError;
use crate::event::{ClientId, Event, EventType, MessageId, NewEvent, Sequence, Topic, UnixMillis};

/// The records of a batch in one buffer, each preceded by its length as in a chunk, so any
/// run of consecutive rows is stored as it lies; with what the idempotency index needs of each.
pub(super) struct Rows {
    bytes: Vec<u8>,
    rows: Vec<RowMeta>,
}

struct RowMeta {
    end: usize,
    id: u128,
    chosen: bool,
    created: i64,
}

/// One event's index data.
pub(super) struct Row {
    pub(super) id: u128,
    pub(super) chosen: bool,
    pub(super) created: i64,
}

impl Rows {
    pub(super) fn encode(batch: &[NewEvent]) -> Rows {
        let size = batch.iter().map(|e| 4 + record_len(e)).sum();
        let mut bytes = Vec::with_capacity(size);
        let rows = batch
            .iter()
            .map(|event| {
                bytes.extend_from_slice(&length_prefix(record_len(event)));
                encode_into(event, &mut bytes);
                RowMeta {
                    end: bytes.len(),
                    id: event.message_id.0.as_u128(),
                    chosen: event.chosen_id,
                    created: event.created_at.0,
                }
            })
            .collect();
        Rows { bytes, rows }
    }

    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    pub(super) fn any_chosen(&self) -> bool {
        self.rows.iter().any(|r| r.chosen)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = Row> + '_ {
        self.rows.iter().map(|meta| Row {
            id: meta.id,
            chosen: meta.chosen,
            created: meta.created,
        })
    }

    /// Rows `rows` as one chunk's bytes.
    pub(super) fn chunk(&self, rows: std::ops::Range<usize>) -> &[u8] {
        let start = match rows.start {
            0 => 0,
            n => self.rows[n - 1].end,
        };
        &self.bytes[start..self.rows[rows.end - 1].end]
    }
}

/// The bytes [`encode_into`] writes for `event`.
fn record_len(event: &NewEvent) -> usize {
    let topics: usize = event.topics.iter().map(|t| 2 + t.as_str().len()).sum();
    16 + 8
        + 1
        + event.event_type.as_str().len()
        + 1
        + event.target.as_ref().map_or(0, |c| c.as_str().len())
        + 1
        + topics
        + event.fields.len()
}

/// Most events in one stored chunk. redb's cost per insert (~17 µs for a chunk) is what a
/// chunk spreads; batches of 100 at 32 publishers went 200k -> 213k -> 225k events/s with
/// chunks of 64, 256 and 1,024 (docs/PERFORMANCE.md).
pub(super) const CHUNK_EVENTS: usize = 1024;

/// A chunk ends once it holds this many bytes, so a read that needs one event of a chunk never
/// loads much more than this, however large the events are.
pub(super) const CHUNK_BYTES: usize = 256 * 1024;

/// Whether a chunk of `events` events and `bytes` bytes is complete.
pub(super) fn chunk_full(events: usize, bytes: usize) -> bool {
    events >= CHUNK_EVENTS || bytes >= CHUNK_BYTES
}

/// Appends `record` to a chunk's bytes.
pub(super) fn push_record(chunk: &mut Vec<u8>, record: &[u8]) {
    chunk.extend_from_slice(&length_prefix(record.len()));
    chunk.extend_from_slice(record);
}

/// What precedes a record of `len` bytes in a chunk.
fn length_prefix(len: usize) -> [u8; 4] {
    u32::try_from(len)
        .expect("an event record fits 4 GiB")
        .to_le_bytes()
}

/// The records of the chunk stored under `first`: (sequence, offset of its length prefix in
/// `chunk`, record). A length that runs past the chunk's end is corrupt.
pub(super) fn records(
    first: u64,
    chunk: &[u8],
) -> impl Iterator<Item = Result<(u64, usize, &[u8]), OpError>> {
    let mut offset = 0;
    let mut sequence = first;
    std::iter::from_fn(move || {
        if offset == chunk.len() {
            return None;
        }
        let start = offset;
        let record = chunk
            .get(offset..offset + 4)
            .map(|len| u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize)
            .and_then(|len| chunk.get(offset + 4..offset + 4 + len));
        let Some(record) = record else {
            offset = chunk.len();
            return Some(Err(OpError::Corrupt(format!(
                "the chunk stored at {first} is malformed at event {sequence}"
            ))));
        };
        offset += 4 + record.len();
        sequence += 1;
        Some(Ok((sequence - 1, start, record)))
    })
}

/// When the event of `record` was created (its second field).
pub(super) fn created_at(sequence: u64, record: &[u8]) -> Result<i64, OpError> {
    record
        .get(16..24)
        .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
        .ok_or_else(|| OpError::Corrupt(format!("event {sequence} has a malformed record")))
}

/// Appends the record of `event` to `out`.
fn encode_into(event: &NewEvent, out: &mut Vec<u8>) {
    let event_type = event.event_type.as_str().as_bytes();
    let target = event
        .target
        .as_ref()
        .map_or(&[][..], |c| c.as_str().as_bytes());
    out.extend_from_slice(event.message_id.0.as_bytes());
    out.extend_from_slice(&event.created_at.0.to_le_bytes());
    out.push(event_type.len() as u8);
    out.extend_from_slice(event_type);
    out.push(target.len() as u8);
    out.extend_from_slice(target);
    out.push(event.topics.len() as u8);
    for topic in &event.topics {
        out.extend_from_slice(&(topic.as_str().len() as u16).to_le_bytes());
        out.extend_from_slice(topic.as_str().as_bytes());
    }
    out.extend_from_slice(event.fields.as_bytes());
}

#[cfg(test)]
pub(super) fn encode(event: &NewEvent) -> Vec<u8> {
    let mut record = Vec::new();
    encode_into(event, &mut record);
    record
}

pub(super) fn decode(sequence: u64, record: &[u8]) -> Result<Event, OpError> {
    let corrupt = || OpError::Corrupt(format!("event {sequence} has a malformed record"));
    let (id, rest) = record.split_at_checked(16).ok_or_else(corrupt)?;
    let (created, rest) = rest.split_at_checked(8).ok_or_else(corrupt)?;
    let (&type_len, rest) = rest.split_first().ok_or_else(corrupt)?;
    let (event_type, rest) = rest
        .split_at_checked(type_len as usize)
        .ok_or_else(corrupt)?;
    let (&target_len, rest) = rest.split_first().ok_or_else(corrupt)?;
    let (target, rest) = rest
        .split_at_checked(target_len as usize)
        .ok_or_else(corrupt)?;
    fn text(bytes: &[u8]) -> Option<&str> {
        std::str::from_utf8(bytes).ok()
    }
    let (&topic_count, mut rest) = rest.split_first().ok_or_else(corrupt)?;
    let mut topics = Vec::with_capacity(topic_count as usize);
    for _ in 0..topic_count {
        let (len, after) = rest.split_at_checked(2).ok_or_else(corrupt)?;
        let len = u16::from_le_bytes([len[0], len[1]]) as usize;
        let (topic, after) = after.split_at_checked(len).ok_or_else(corrupt)?;
        topics.push(Topic::new(text(topic).ok_or_else(corrupt)?).map_err(|_| corrupt())?);
        rest = after;
    }
    let fields = rest;
    Ok(Event {
        sequence: Sequence(sequence),
        message_id: MessageId(uuid::Uuid::from_slice(id).map_err(|_| corrupt())?),
        created_at: UnixMillis(i64::from_le_bytes(
            created.try_into().map_err(|_| corrupt())?,
        )),
        event_type: EventType::new(text(event_type).ok_or_else(corrupt)?).map_err(|_| corrupt())?,
        target: match target_len {
            0 => None,
            _ => Some(ClientId::new(text(target).ok_or_else(corrupt)?).map_err(|_| corrupt())?),
        },
        topics,
        fields: text(fields).ok_or_else(corrupt)?.to_owned(),
    })
}
