use super::*;

/// An owned copy of an item, for assertions.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Event {
        event_type: String,
        data: String,
        has_id: bool,
        last_event_id: String,
    },
    Retry(u64),
    Comment(String),
}

fn ev(event_type: &str, data: &str, has_id: bool, last_event_id: &str) -> Seen {
    Seen::Event {
        event_type: event_type.into(),
        data: data.into(),
        has_id,
        last_event_id: last_event_id.into(),
    }
}

fn parse_in_pieces(stream: &str, piece: usize) -> Vec<Seen> {
    let mut parser = Parser::new();
    let mut seen = Vec::new();
    for part in stream.as_bytes().chunks(piece) {
        parser.feed(part, &mut |item| {
            seen.push(match item {
                Item::Event(e) => ev(e.event_type, e.data, e.has_id, e.last_event_id),
                Item::Retry(ms) => Seen::Retry(ms),
                Item::Comment(c) => Seen::Comment(c.into()),
            })
        });
    }
    seen
}

/// Parses whole and at every split size: the result must not depend on TCP segmentation.
fn parse(stream: &str) -> Vec<Seen> {
    let whole = parse_in_pieces(stream, stream.len().max(1));
    for piece in 1..stream.len() {
        assert_eq!(
            parse_in_pieces(stream, piece),
            whole,
            "split every {piece} bytes"
        );
    }
    whole
}

#[test]
fn whatwg_stock_example_joins_data_lines() {
    let seen = parse("data: YHOO\ndata: +2\ndata: 10\n\n");
    assert_eq!(seen, vec![ev("message", "YHOO\n+2\n10", false, "")]);
}

#[test]
fn whatwg_ids_persist_and_reset_and_unterminated_block_is_dropped() {
    let seen = parse(
        ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
    );
    assert_eq!(
        seen,
        vec![
            Seen::Comment(" test stream".into()),
            ev("message", "first event", true, "1"),
            ev("message", "second event", true, ""),
        ]
    );
}

#[test]
fn whatwg_empty_data_fields() {
    let seen = parse("data\n\ndata\ndata\n\ndata:");
    assert_eq!(
        seen,
        vec![ev("message", "", false, ""), ev("message", "\n", false, "")]
    );
}

#[test]
fn whatwg_one_optional_space_is_stripped() {
    let seen = parse("data:test\n\ndata: test\n\n");
    assert_eq!(
        seen,
        vec![
            ev("message", "test", false, ""),
            ev("message", "test", false, "")
        ]
    );
}

#[test]
fn all_three_line_endings() {
    let seen = parse("id: 7\revent: load\r\ndata: {\"a\":1}\n\r: ping\r\n");
    assert_eq!(
        seen,
        vec![
            ev("load", "{\"a\":1}", true, "7"),
            Seen::Comment(" ping".into())
        ]
    );
}

#[test]
fn cr_at_end_of_read_then_lf_is_one_line_end() {
    let mut parser = Parser::new();
    let mut events = 0;
    let mut count = |item: Item<'_>| {
        if let Item::Event(e) = item {
            assert_eq!(e.data, "x");
            events += 1;
        }
    };
    parser.feed(b"data: x\r", &mut count);
    parser.feed(b"\n\r", &mut count);
    parser.feed(b"\n", &mut count);
    assert_eq!(events, 1);
}

#[test]
fn hub_stream_shape() {
    let stream =
        "retry: 3000\n\nevent: connected\ndata: {\"clientId\":\"c\",\"headSequence\":5}\n\n\
                  id: 6\nevent: load\ndata: {\"_sequence\":6}\n\n: ping\n\n";
    let seen = parse(stream);
    assert_eq!(
        seen,
        vec![
            Seen::Retry(3000),
            ev(
                "connected",
                "{\"clientId\":\"c\",\"headSequence\":5}",
                false,
                ""
            ),
            ev("load", "{\"_sequence\":6}", true, "6"),
            Seen::Comment(" ping".into()),
        ]
    );
}

#[test]
fn ignores_unknown_fields_bad_retry_nul_ids_and_bom() {
    let seen = parse("\u{feff}foo: bar\nretry: 1x\nid: a\0b\ndata: d\n\nretry\n");
    assert_eq!(seen, vec![ev("message", "d", false, "")]);
}

#[test]
fn event_type_without_data_is_not_dispatched_and_does_not_leak() {
    let seen = parse("event: lonely\n\ndata: x\n\n");
    assert_eq!(seen, vec![ev("message", "x", false, "")]);
}
