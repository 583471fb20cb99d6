//! The SSE parser used by the tests, checked on the WHATWG spec's examples, and a property:
//! any event data survives frame encoding and parsing.

mod support;

use proptest::prelude::*;
use serde_json::{json, Value};
use ssehub::event::{Event, EventType, MessageId, Sequence, Topic, UnixMillis};
use ssehub::sse::frame::encode_event;
use support::sse::SseParser;

#[test]
fn spec_example_stock_ticks_with_ids() {
    let mut parser = SseParser::new();
    let events = parser.feed(b"data: YHOO\ndata: +2\ndata: 10\n\n");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data, "YHOO\n+2\n10");
    assert_eq!(events[0].event, "message");
}

#[test]
fn spec_example_comments_and_ids() {
    let mut parser = SseParser::new();
    let events = parser.feed(b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n");
    let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["first event", "second event", " third event"]);
    assert_eq!(events[0].last_event_id, "1");
    assert_eq!(
        events[1].last_event_id, "",
        "an empty id resets the last event id"
    );
    assert_eq!(parser.comments, ["test stream"]);
}

#[test]
fn spec_example_empty_data_and_missing_trailing_blank_line() {
    let mut parser = SseParser::new();
    let events = parser.feed(b"data\n\ndata\ndata\n\ndata:");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].data, "");
    assert_eq!(events[1].data, "\n");
}

#[test]
fn spec_example_space_after_colon_is_optional() {
    let mut parser = SseParser::new();
    let events = parser.feed(b"data:test\n\ndata: test\n\n");
    assert_eq!(events[0].data, events[1].data);
}

#[test]
fn line_endings_may_be_cr_lf_or_crlf_even_split_across_chunks() {
    let mut parser = SseParser::new();
    let mut events = parser.feed(b"event: a\rdata: 1\r");
    events.extend(parser.feed(b"\n\r\nid: 7\ndata: 2\r\n\r\n"));
    assert_eq!(events.len(), 2);
    assert_eq!(
        (events[0].event.as_str(), events[0].data.as_str()),
        ("a", "1")
    );
    assert_eq!(events[1].id.as_deref(), Some("7"));
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        // Binary fractions: exact in any float parser, so the check is about framing only.
        any::<i32>().prop_map(|n| json!(f64::from(n) / 8.0)),
        any::<String>().prop_map(Value::String),
        "[\\n\\r\\u{0}:a-z ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_\\n:]{1,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_event_data_round_trips_through_a_frame(
        data in json_value(),
        sequence in 1u64..u64::MAX,
        type_name in "[A-Za-z0-9._:-]{1,64}",
        topics in prop::collection::vec("[A-Za-z0-9._~:@!$&'()+,;=/-]{1,40}", 0..4),
    ) {
        let event = Event {
            sequence: Sequence(sequence),
            message_id: MessageId::random(),
            event_type: EventType::new(&type_name).unwrap(),
            target: None,
            created_at: UnixMillis::now(),
            topics: topics.iter().map(|t| Topic::new(t).unwrap()).collect(),
            fields: json!({ "data": data }).to_string(),
        };
        let frame = encode_event(&event);
        let mut parser = SseParser::new();
        // Feed in two pieces to exercise chunk boundaries.
        let split = frame.len() / 2;
        let mut parsed = parser.feed(&frame[..split]);
        parsed.extend(parser.feed(&frame[split..]));
        prop_assert_eq!(parsed.len(), 1);
        let parsed = &parsed[0];
        prop_assert_eq!(parsed.sequence(), Some(sequence));
        prop_assert_eq!(&parsed.event, &type_name);
        let body = parsed.json();
        prop_assert_eq!(body["_sequence"].as_u64(), Some(sequence));
        prop_assert_eq!(&body["type"], &json!(type_name));
        prop_assert_eq!(&body["data"], &data);
        if topics.is_empty() {
            prop_assert!(body.get("topics").is_none());
        } else {
            prop_assert_eq!(&body["topics"], &json!(topics));
        }
        let prefix = "{\"_sequence\":";
        prop_assert!(parsed.data.starts_with(prefix), "data starts with _sequence");
    }
}
