//! BSON documents to and from the hub's types.

use super::*;

pub(super) fn event_document(sequence: i64, event: &NewEvent) -> Document {
    let mut document = doc! {
        "_id": sequence,
        "type": event.event_type.as_str(),
        "messageId": Binary {
            subtype: BinarySubtype::Uuid,
            bytes: event.message_id.0.as_bytes().to_vec(),
        },
        "createdAt": DateTime::from_millis(event.created_at.0),
        "fields": &event.fields,
    };
    if let Some(target) = &event.target {
        document.insert("target", target.as_str());
    }
    // Absent, not `[]`, on topic-less events: the `{topics: 1, _id: 1}` index keys a missing
    // field as null, so `topics: null` finds them with an index scan too.
    if !event.topics.is_empty() {
        let topics: Vec<&str> = event.topics.iter().map(Topic::as_str).collect();
        document.insert("topics", topics);
    }
    document
}

pub(super) fn event_from_document(document: &Document) -> Result<Event, StoreError> {
    let sequence = sequence_of(document)?;
    let corrupt = |field: &str| StoreError::Corrupt(format!("event {sequence}: bad {field}"));
    let event_type = document
        .get_str("type")
        .ok()
        .and_then(|t| EventType::new(t).ok())
        .ok_or_else(|| corrupt("type"))?;
    let target = match document.get("target") {
        None | Some(Bson::Null) => None,
        Some(Bson::String(client)) => Some(ClientId::new(client).map_err(|_| corrupt("target"))?),
        Some(_) => return Err(corrupt("target")),
    };
    let topics = match document.get("topics") {
        None | Some(Bson::Null) => Vec::new(),
        Some(Bson::Array(topics)) => topics
            .iter()
            .map(|t| t.as_str().and_then(|t| Topic::new(t).ok()))
            .collect::<Option<Vec<Topic>>>()
            .ok_or_else(|| corrupt("topics"))?,
        Some(_) => return Err(corrupt("topics")),
    };
    let message_id = match document.get("messageId") {
        Some(Bson::Binary(binary)) if binary.subtype == BinarySubtype::Uuid => {
            uuid::Uuid::from_slice(&binary.bytes).map_err(|_| corrupt("messageId"))?
        }
        _ => return Err(corrupt("messageId")),
    };
    Ok(Event {
        sequence: Sequence(sequence as u64),
        message_id: MessageId(message_id),
        event_type,
        target,
        created_at: UnixMillis(
            document
                .get_datetime("createdAt")
                .map_err(|_| corrupt("createdAt"))?
                .timestamp_millis(),
        ),
        topics,
        fields: document
            .get_str("fields")
            .map_err(|_| corrupt("fields"))?
            .to_owned(),
    })
}

pub(super) fn presence_from_document(document: &Document) -> Result<PresenceEntry, StoreError> {
    let corrupt = |field: &str| StoreError::Corrupt(format!("a presence entry with a bad {field}"));
    let text = |field: &'static str| {
        document
            .get_str(field)
            .map(str::to_owned)
            .map_err(|_| corrupt(field))
    };
    let time = |field: &'static str| {
        document
            .get_datetime(field)
            .map(|t| UnixMillis(t.timestamp_millis()))
            .map_err(|_| corrupt(field))
    };
    let topics = document
        .get_array("topics")
        .map_err(|_| corrupt("topics"))?
        .iter()
        .map(|t| {
            t.as_str()
                .map(str::to_owned)
                .ok_or_else(|| corrupt("topics"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PresenceEntry {
        node_id: text("node")?,
        client: text("client")?,
        topics,
        streams: integer(document, "streams")
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| corrupt("streams"))?,
        connected_at: time("connectedAt")?,
        seen_at: time("seenAt")?,
    })
}

pub(super) fn node_from_document(document: &Document) -> Result<NodeReport, StoreError> {
    let node_id = document
        .get_str("_id")
        .map_err(|_| StoreError::Corrupt("a node report without a string _id".into()))?;
    let corrupt = |field: &str| StoreError::Corrupt(format!("node {node_id}: bad {field}"));
    let count = |field: &'static str| {
        integer(document, field)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| corrupt(field))
    };
    Ok(NodeReport {
        node_id: node_id.to_owned(),
        connections: count("connections")?,
        clients: count("clients")?,
        dispatched: Sequence(count("dispatched")?),
        // Absent in reports of nodes older than these fields: zero and unknown.
        events_published: count("eventsPublished").unwrap_or(0),
        frames_delivered: count("framesDelivered").unwrap_or(0),
        streams_opened: count("streamsOpened").unwrap_or(0),
        ready: document.get_bool("ready").unwrap_or(false),
        store_available: document.get_bool("storeAvailable").unwrap_or(false),
        seen_at: UnixMillis(
            document
                .get_datetime("seenAt")
                .map_err(|_| corrupt("seenAt"))?
                .timestamp_millis(),
        ),
    })
}

/// An outbox document's `_id`: a positive sequence number.
pub(super) fn sequence_of(document: &Document) -> Result<i64, StoreError> {
    integer(document, "_id")
        .filter(|id| *id > 0)
        .ok_or_else(|| StoreError::Corrupt(format!("an outbox _id is not a sequence: {document}")))
}

/// An integer field whichever BSON width it was stored with (shells write doubles).
pub(super) fn integer(document: &Document, field: &str) -> Option<i64> {
    match document.get(field)? {
        Bson::Int64(n) => Some(*n),
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Double(n) if n.fract() == 0.0 => Some(*n as i64),
        _ => None,
    }
}

pub(super) fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
