use super::*;
use crate::outbox::contract::sample;

#[test]
fn write_concerns_parse_majority_or_a_node_count() {
    assert_eq!("majority".parse(), Ok(WriteAcknowledgment::Majority));
    assert_eq!(" Majority ".parse(), Ok(WriteAcknowledgment::Majority));
    assert_eq!("2".parse(), Ok(WriteAcknowledgment::Nodes(2)));
    assert!("0".parse::<WriteAcknowledgment>().is_err());
    assert!("all".parse::<WriteAcknowledgment>().is_err());
    assert_eq!(WriteAcknowledgment::Nodes(1).to_string(), "1");
}

#[test]
fn events_round_trip_through_documents() {
    for event in [sample(1, None), sample(2, Some("alice"))] {
        let document = event_document(7, &event, None);
        assert_eq!(
            event_from_document(&document).unwrap(),
            event.with_sequence(Sequence(7))
        );
    }
    let mut broken = event_document(8, &sample(3, None), Some(9));
    broken.insert("messageId", "not a uuid");
    assert!(matches!(
        event_from_document(&broken),
        Err(StoreError::Corrupt(_))
    ));
}
