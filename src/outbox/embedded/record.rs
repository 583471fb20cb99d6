//! The byte layout of one stored event.
//!
//! Schema 2: message id (16) · created_at (8, LE) · type len (1) · type · target len (1, 0 =
//! broadcast) · target · topic count (1) · per topic: len (2, LE) · topic · fields (rest).
//! Names are validated, so type and target lengths fit a byte, a topic's two bytes.
//! (Schema 1 was the same without the topics; such files are refused when opened.)

use super::OpError;
use crate::event::{ClientId, Event, EventType, MessageId, NewEvent, Sequence, Topic, UnixMillis};

pub(super) fn encode(event: &NewEvent) -> Vec<u8> {
    let event_type = event.event_type.as_str().as_bytes();
    let target = event
        .target
        .as_ref()
        .map_or(&[][..], |c| c.as_str().as_bytes());
    let topics: usize = event.topics.iter().map(|t| 2 + t.as_str().len()).sum();
    let mut record =
        Vec::with_capacity(27 + event_type.len() + target.len() + topics + event.fields.len());
    record.extend_from_slice(event.message_id.0.as_bytes());
    record.extend_from_slice(&event.created_at.0.to_le_bytes());
    record.push(event_type.len() as u8);
    record.extend_from_slice(event_type);
    record.push(target.len() as u8);
    record.extend_from_slice(target);
    record.push(event.topics.len() as u8);
    for topic in &event.topics {
        record.extend_from_slice(&(topic.as_str().len() as u16).to_le_bytes());
        record.extend_from_slice(topic.as_str().as_bytes());
    }
    record.extend_from_slice(event.fields.as_bytes());
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
