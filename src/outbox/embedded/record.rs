//! The byte layout of one stored event.
//!
//! Schema 2: message id (16) · created_at (8, LE) · type len (1) · type · target len (1, 0 =
//! broadcast) · target · topic count (1) · per topic: len (2, LE) · topic · fields (rest).
//! Names are validated, so type and target lengths fit a byte, a topic's two bytes.
//! (Schema 1 was the same without the topics; such files are refused when opened.)

use super::OpError;
use crate::event::{ClientId, Event, EventType, MessageId, NewEvent, Sequence, Topic, UnixMillis};

/// The records of a batch in one buffer, with what the idempotency index needs of each.
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

/// One event's record and index data.
pub(super) struct Row<'a> {
    pub(super) record: &'a [u8],
    pub(super) id: u128,
    pub(super) chosen: bool,
    pub(super) created: i64,
}

impl Rows {
    pub(super) fn encode(batch: &[NewEvent]) -> Rows {
        let size = batch
            .iter()
            .map(|e| 35 + e.topics.len() * 8 + e.fields.len())
            .sum();
        let mut bytes = Vec::with_capacity(size);
        let rows = batch
            .iter()
            .map(|event| {
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

    pub(super) fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        let mut start = 0;
        self.rows.iter().map(move |meta| {
            let record = &self.bytes[start..meta.end];
            start = meta.end;
            Row {
                record,
                id: meta.id,
                chosen: meta.chosen,
                created: meta.created,
            }
        })
    }
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
