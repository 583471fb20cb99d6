//! The SSE wire format. Every event is encoded once, here, into one `Bytes` that all
//! subscribers share; fixed frames are static.
//!
//! Nothing that reaches an `id:` or `event:` line can hold CR, LF or NUL: sequences are
//! numbers and event types are validated by [`EventType`](crate::event::EventType). `data:` is
//! one line of compact JSON (serde_json escapes control characters).

use std::time::Duration;

use bytes::Bytes;

use crate::event::{Event, Rfc3339, Sequence};

/// Sent on idle connections by the shared heartbeat.
pub const PING: Bytes = Bytes::from_static(b": ping\n\n");

/// The last bytes of a stream the hub closes on shutdown, so a client knows why.
pub const SHUTDOWN: Bytes = Bytes::from_static(b": shutdown\n\n");

/// The JSON object an event's `data:` line carries, `_sequence` first.
pub fn event_data(event: &Event) -> String {
    let mut data = String::with_capacity(data_capacity(event));
    write_data(
        &mut data,
        event,
        itoa::Buffer::new().format(event.sequence.0),
    );
    data
}

/// Bytes of the data object besides the type, topics and fields: `{"_sequence":`,
/// `,"messageId":"`, `","timestamp":"`, `","version":"1.0","type":"`, `"`, `,`, `}` (107),
/// the longest sequence (20), a uuid (36) and the longest timestamp.
const DATA_OVERHEAD: usize = 107 + 20 + 36 + Rfc3339::CAPACITY;

/// Bytes of a frame besides its data object: `id: `, the sequence again, `\nevent: `, the type,
/// `\ndata: ` and `\n\n`.
const FRAME_OVERHEAD: usize = 4 + 20 + 8 + 7 + 2;

/// The most bytes [`write_data`] writes for `event`.
fn data_capacity(event: &Event) -> usize {
    let topics = match event.topics.len() {
        0 => 0,
        // `,"topics":[` and `]`, then each topic quoted with a comma.
        _ => {
            12 + event
                .topics
                .iter()
                .map(|t| t.as_str().len() + 3)
                .sum::<usize>()
        }
    };
    DATA_OVERHEAD + event.event_type.as_str().len() + topics + event.fields.len()
}

/// The most bytes [`encode_event`] writes for `event`, so the frame's buffer never grows (a
/// reallocation would copy every frame once more).
fn frame_capacity(event: &Event) -> usize {
    FRAME_OVERHEAD + event.event_type.as_str().len() + data_capacity(event)
}

/// Writes [`event_data`] into `out`: straight into the frame's buffer, no `format!`.
/// `sequence` is the event's sequence in decimal, formatted once by the caller.
fn write_data(out: &mut String, event: &Event, sequence: &str) {
    out.push_str(r#"{"_sequence":"#);
    out.push_str(sequence);
    out.push_str(r#","messageId":""#);
    out.push_str(event.message_id.encode(&mut [0; 36]));
    out.push_str(r#"","timestamp":""#);
    out.push_str(event.created_at.rfc3339().as_str());
    out.push_str(r#"","version":"1.0","type":""#);
    out.push_str(event.event_type.as_str());
    out.push('"');
    if !event.topics.is_empty() {
        // Topic characters need no JSON escaping (no `"`, no `\`, no control characters).
        out.push_str(r#","topics":["#);
        for (i, topic) in event.topics.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(topic.as_str());
            out.push('"');
        }
        out.push(']');
    }
    let fields = event.fields.trim();
    // `fields` is a JSON object; splice its members after ours.
    let members = fields
        .strip_prefix('{')
        .and_then(|f| f.strip_suffix('}'))
        .unwrap_or("")
        .trim();
    if !members.is_empty() {
        out.push(',');
        if memchr::memchr2(b'\n', b'\r', members.as_bytes()).is_some() {
            // Only a corrupt store could produce this; never let it split the data line.
            out.push_str(&members.replace(['\n', '\r'], " "));
        } else {
            out.push_str(members);
        }
    }
    out.push('}');
}

/// `id: <seq>\nevent: <type>\ndata: <json>\n\n`
pub fn encode_event(event: &Event) -> Bytes {
    let event_type = event.event_type.as_str();
    let mut frame = String::with_capacity(frame_capacity(event));
    let mut digits = itoa::Buffer::new();
    let sequence = digits.format(event.sequence.0);
    frame.push_str("id: ");
    frame.push_str(sequence);
    frame.push_str("\nevent: ");
    frame.push_str(event_type);
    frame.push_str("\ndata: ");
    write_data(&mut frame, event, sequence);
    frame.push_str("\n\n");
    Bytes::from(frame)
}

/// A frame without `id:` (`connected`, `reset`): it must not move the client's position.
pub fn control(event_name: &'static str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {event_name}\ndata: {data}\n\n"))
}

/// `retry: <ms>`, sent once at connect.
pub fn retry(delay: Duration) -> Bytes {
    Bytes::from(format!("retry: {}\n\n", delay.as_millis()))
}

/// History no longer reaches back to `requested`: what follows starts at `oldest_available`.
pub fn reset(requested: Sequence, oldest_available: Sequence) -> Bytes {
    let data = serde_json::json!({
        "requested": requested.0,
        "oldestAvailable": oldest_available.0,
    });
    control("reset", &data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ClientId, EventType, MessageId, Sequence, Topic, UnixMillis};

    fn event(fields: &str) -> Event {
        Event {
            sequence: Sequence(42),
            message_id: MessageId(uuid::Uuid::nil()),
            event_type: EventType::known("notification"),
            target: Some(ClientId::new("c1").unwrap()),
            created_at: UnixMillis(1_767_954_600_123),
            topics: Vec::new(),
            fields: fields.to_owned(),
        }
    }

    #[test]
    fn topics_follow_the_type_in_exact_bytes() {
        let mut scoped = event(r#"{"data":1}"#);
        scoped.topics = vec![
            Topic::new("org/42/room1").unwrap(),
            Topic::new("a'b(c)").unwrap(),
        ];
        assert_eq!(
            &encode_event(&scoped)[..],
            b"id: 42\nevent: notification\ndata: {\"_sequence\":42,\"messageId\":\"00000000-0000-0000-0000-000000000000\",\"timestamp\":\"2026-01-09T10:30:00.123Z\",\"version\":\"1.0\",\"type\":\"notification\",\"topics\":[\"org/42/room1\",\"a'b(c)\"],\"data\":1}\n\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&event_data(&scoped)).unwrap();
        assert_eq!(parsed["topics"][1], "a'b(c)");
    }

    #[test]
    fn events_encode_to_exact_bytes() {
        let frame = encode_event(&event(r#"{"message":"hi","severity":"info"}"#));
        assert_eq!(
            &frame[..],
            b"id: 42\nevent: notification\ndata: {\"_sequence\":42,\"messageId\":\"00000000-0000-0000-0000-000000000000\",\"timestamp\":\"2026-01-09T10:30:00.123Z\",\"version\":\"1.0\",\"type\":\"notification\",\"message\":\"hi\",\"severity\":\"info\"}\n\n"
        );
    }

    #[test]
    fn empty_fields_leave_only_the_common_members() {
        let data = event_data(&event("{}"));
        assert!(data.ends_with(r#""type":"notification"}"#), "{data}");
        let parsed: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(parsed["_sequence"], 42);
    }

    #[test]
    fn an_unnamed_frame_is_the_frame_without_its_event_line() {
        for sequence in [1, 9, 10, 42, 999_999] {
            let mut event = event(r#"{"message":"hi"}"#);
            event.sequence = Sequence(sequence);
            event.event_type = crate::event::EventType::known("Order.Created");
            let named = encode_event(&event);
            let frame = crate::tail::Frame::new(&event, named.clone());
            let (id, data) = frame.unnamed();
            let expected = String::from_utf8(named.to_vec())
                .unwrap()
                .replace("event: Order.Created\n", "");
            assert_eq!(format!("{}{}", utf8(&id), utf8(&data)), expected);
        }
    }

    fn utf8(bytes: &Bytes) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn line_breaks_never_split_the_data_line() {
        let data = event_data(&event("{\"a\":\n1}"));
        assert!(!data.contains('\n'));
    }

    #[test]
    fn fixed_frames_are_exact() {
        assert_eq!(&retry(Duration::from_secs(3))[..], b"retry: 3000\n\n");
        assert_eq!(
            &reset(Sequence(2), Sequence(5))[..],
            b"event: reset\ndata: {\"requested\":2,\"oldestAvailable\":5}\n\n"
        );
        assert_eq!(&PING[..], b": ping\n\n");
        let connected = control("connected", &serde_json::json!({"clientId": "c"}));
        assert_eq!(
            &connected[..],
            b"event: connected\ndata: {\"clientId\":\"c\"}\n\n"
        );
    }

    /// The encoder before frames were written into one buffer: `format!` and a second copy.
    fn with_format(event: &Event) -> Vec<u8> {
        let mut data = format!(
            r#"{{"_sequence":{},"messageId":"{}","timestamp":"{}","version":"1.0","type":"{}""#,
            event.sequence,
            event.message_id,
            event.created_at.to_rfc3339(),
            event.event_type,
        );
        if !event.topics.is_empty() {
            let topics: Vec<String> = event.topics.iter().map(|t| format!(r#""{t}""#)).collect();
            data.push_str(&format!(r#","topics":[{}]"#, topics.join(",")));
        }
        let members = event
            .fields
            .trim()
            .strip_prefix('{')
            .and_then(|f| f.strip_suffix('}'))
            .unwrap_or("")
            .trim();
        if !members.is_empty() {
            data.push(',');
            data.push_str(members);
        }
        data.push('}');
        if data.contains(['\n', '\r']) {
            data = data.replace(['\n', '\r'], " ");
        }
        format!(
            "id: {}\nevent: {}\ndata: {}\n\n",
            event.sequence, event.event_type, data
        )
        .into_bytes()
    }

    #[test]
    fn frames_are_the_bytes_the_formatter_wrote() {
        let fields = [
            r#"{"data":{"t":1,"p":2,"n":3}}"#,
            "{}",
            " { \"a\" : 1 } ",
            "{\"a\":\n1,\r\"b\":2}",
            r#"{"message":"\u00e9 \"q\" \\","severity":"info"}"#,
            "not an object",
            "",
        ];
        let ids = [
            uuid::Uuid::nil(),
            uuid::Uuid::max(),
            uuid::Uuid::from_u128(0x0b5c_8f1e_3f6a_4c2e_9d7b_1a2b_3c4d_5e6f),
        ];
        for (i, fields) in fields.iter().enumerate() {
            for sequence in [0, 1, 9, 10, 99, 100, 1_234_567, u64::MAX] {
                let mut event = event(fields);
                event.sequence = Sequence(sequence);
                event.message_id = MessageId(ids[i % ids.len()]);
                event.created_at = UnixMillis(sequence as i64 % 253_402_300_799_999);
                if sequence % 2 == 1 {
                    event.topics = vec![
                        Topic::new("org/42/room1").unwrap(),
                        Topic::new("b").unwrap(),
                    ];
                    event.event_type = EventType::new("Order.Created").unwrap();
                }
                assert_eq!(
                    encode_event(&event).to_vec(),
                    with_format(&event),
                    "{fields}"
                );
            }
        }
    }

    /// The buffers are sized for the longest frame an event can make, so they never grow.
    #[test]
    fn the_longest_frames_fit_their_reserved_capacity() {
        let mut event = event(r#"{"data":{"t":1}}"#);
        event.sequence = Sequence(u64::MAX);
        event.message_id = MessageId(uuid::Uuid::max());
        event.event_type = EventType::new(&"T".repeat(64)).unwrap();
        event.topics = vec![
            Topic::new("org/42/room1").unwrap(),
            Topic::new("b").unwrap(),
        ];
        for created in [0, 253_402_300_799_999, i64::MAX, i64::MIN] {
            event.created_at = UnixMillis(created);
            let frame = encode_event(&event);
            assert!(frame.len() <= frame_capacity(&event), "{created}");
            assert!(
                event_data(&event).len() <= data_capacity(&event),
                "{created}"
            );
        }
    }
}
