use super::record::{decode, encode};
use super::*;
use crate::event::{ClientId, Sequence};
use crate::outbox::contract::sample;
use crate::outbox::{CheckpointStore, EventLog, Page, Retention};

crate::store_contract_tests!(
    EmbeddedStore::open(tempfile::tempdir().unwrap().keep().as_path()).unwrap()
);

#[tokio::test]
async fn reopening_keeps_events_checkpoints_and_head() {
    let dir = tempfile::tempdir().unwrap();
    let alice = ClientId::new("alice").unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        store
            .append((1..=5).map(|n| sample(n, Some("alice"))).collect())
            .await
            .unwrap();
        store
            .save_checkpoints(vec![(alice.clone(), Sequence(3))])
            .await
            .unwrap();
        store
            .trim(Retention {
                max_events: Some(2),
                max_age: None,
            })
            .await
            .unwrap();
    }
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(store.head().await.unwrap(), Sequence(5));
    assert_eq!(store.oldest().await.unwrap(), Some(Sequence(4)));
    assert_eq!(
        store.load_checkpoint(&alice).await.unwrap(),
        Some(Sequence(3))
    );
    let events = store
        .read_after(Sequence::ZERO, Page::events(10))
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].target, Some(alice));
    assert_eq!(
        store.append(vec![sample(6, None)]).await.unwrap(),
        vec![Sequence(6)]
    );
}

#[test]
fn records_round_trip_and_truncation_is_corrupt() {
    let event = sample(7, Some("bob"));
    let record = encode(&event);
    assert_eq!(
        decode(9, &record).unwrap(),
        event.clone().with_sequence(Sequence(9))
    );
    assert!(matches!(decode(9, &record[..20]), Err(OpError::Corrupt(_))));
}

#[test]
fn a_file_of_the_old_format_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    {
        // What ssehub 0.1 wrote: redb 2's default file format.
        let old = redb2::Database::create(dir.path().join(FILE_NAME)).unwrap();
        let txn = old.begin_write().unwrap();
        txn.open_table(redb2::TableDefinition::<u64, &[u8]>::new("events"))
            .unwrap();
        txn.commit().unwrap();
    }
    let error = EmbeddedStore::open(dir.path()).err().expect("refused");
    let message = error.to_string();
    assert!(matches!(error, StoreError::Rejected(_)), "{message}");
    assert!(message.contains("redb file format 2"), "{message}");
    assert!(message.contains("format 3"), "{message}");
}

#[test]
fn a_file_of_another_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = redb::Database::create(dir.path().join(FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(META).unwrap().insert(SCHEMA, 99).unwrap();
        txn.commit().unwrap();
    }
    let error = EmbeddedStore::open(dir.path()).err().expect("refused");
    assert!(error.to_string().contains("schema 99"), "{error}");
}

#[test]
fn a_file_from_before_topics_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = redb::Database::create(dir.path().join(FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(META).unwrap();
            meta.insert(SCHEMA, 1).unwrap();
            meta.insert(super::HEAD, 3).unwrap();
        }
        txn.commit().unwrap();
    }
    let error = EmbeddedStore::open(dir.path()).err().expect("refused");
    let message = error.to_string();
    assert!(matches!(error, StoreError::Rejected(_)), "{message}");
    assert!(
        message.contains("schema 1 (written by ssehub before event topics)"),
        "{message}"
    );
    assert!(message.contains("reads schema 2 only"), "{message}");
}

#[test]
fn records_round_trip_their_topics() {
    let mut event = sample(7, Some("alice"));
    event.topics = vec![
        crate::event::Topic::new("org/42/room1").unwrap(),
        crate::event::Topic::new(&"t".repeat(256)).unwrap(),
    ];
    let record = super::record::encode(&event);
    let decoded = super::record::decode(9, &record).map_err(|_| ()).unwrap();
    assert_eq!(decoded, event.with_sequence(Sequence(9)));
    // A record cut inside its topics is corrupt, never misread.
    assert!(super::record::decode(9, &record[..40]).is_err());
}

#[tokio::test]
async fn reads_stop_at_the_byte_budget_but_return_at_least_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    store
        .append((1..=10).map(|n| sample(n, None)).collect())
        .await
        .unwrap();
    let one = store
        .read_after(
            Sequence::ZERO,
            Page {
                events: 10,
                bytes: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    let all = store
        .read_after(Sequence::ZERO, Page::events(10))
        .await
        .unwrap();
    assert_eq!(all.len(), 10);
}
