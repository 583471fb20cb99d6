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
            .append(
                &(1..=5)
                    .map(|n| sample(n, Some("alice")))
                    .collect::<Vec<_>>(),
            )
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
        store.append(&[sample(6, None)]).await.unwrap(),
        vec![crate::outbox::Appended::New(Sequence(6))]
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
    assert!(message.contains("reads schema 3 only"), "{message}");
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
        .append(&(1..=10).map(|n| sample(n, None)).collect::<Vec<_>>())
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

fn numbers(events: &[crate::event::Event]) -> Vec<u64> {
    events.iter().map(|e| e.sequence.0).collect()
}

/// One append of three chunks and 8 events more, then a lone event: every read position,
/// inside a chunk or at its border, returns exactly the events after it.
#[tokio::test]
async fn reads_start_anywhere_in_a_chunk_and_cross_chunk_borders() {
    const C: u64 = super::record::CHUNK_EVENTS as u64;
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let last = 3 * C + 8;
    let batch: Vec<_> = (1..=last).map(|n| sample(n, None)).collect();
    store.append(&batch).await.unwrap();
    store.append(&[sample(last + 1, None)]).await.unwrap();
    let positions = [
        0,
        1,
        C - 1,
        C,
        C + 1,
        2 * C - 1,
        2 * C,
        2 * C + C / 2,
        3 * C,
        last - 1,
        last,
        last + 1,
        last + 100,
    ];
    for after in positions {
        let events = store
            .read_after(Sequence(after), Page::events(70))
            .await
            .unwrap();
        let expected: Vec<u64> = (after + 1..=last + 1).take(70).collect();
        assert_eq!(numbers(&events), expected, "after {after}");
        for event in &events {
            assert_eq!(
                event.fields,
                format!(r#"{{"data":{{"n":{}}}}}"#, event.sequence.0)
            );
        }
    }
    // A page larger than a chunk crosses its borders.
    let events = store
        .read_after(Sequence(C / 2), Page::events(2 * C as usize))
        .await
        .unwrap();
    assert_eq!(
        numbers(&events),
        (C / 2 + 1..=C / 2 + 2 * C).collect::<Vec<_>>()
    );
}

/// Large events end a chunk by bytes: each row stays near `CHUNK_BYTES`, and every event
/// reads back whole.
#[tokio::test]
async fn large_events_make_chunks_of_bounded_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let big = "x".repeat(100 * 1024);
    let batch: Vec<_> = (1..=10)
        .map(|n| {
            let mut event = sample(n, None);
            event.fields = format!(r#"{{"data":"{big}{n}"}}"#);
            event
        })
        .collect();
    store.append(&batch).await.unwrap();
    let rows: Vec<(u64, usize)> = store
        .blocking(|db| {
            use redb::ReadableDatabase;
            let txn = db.begin_read()?;
            let table = txn.open_table(EVENTS)?;
            let mut rows = Vec::new();
            for entry in table.iter()? {
                let (key, value) = entry?;
                rows.push((key.value(), value.value().len()));
            }
            Ok(rows)
        })
        .await
        .unwrap();
    // 100 KiB events: a chunk closes at its third (over 256 KiB), so 3 + 3 + 3 + 1.
    assert_eq!(
        rows.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        [1, 4, 7, 10]
    );
    assert!(rows
        .iter()
        .all(|(_, len)| *len < super::record::CHUNK_BYTES + 101 * 1024));
    let events = store
        .read_after(Sequence(5), Page::events(100))
        .await
        .unwrap();
    assert_eq!(numbers(&events), (6..=10).collect::<Vec<_>>());
    assert_eq!(events[4].fields, batch[9].fields);
}

/// Trimming inside a chunk keeps exactly the events after the cut, stored again under the
/// first kept sequence, and the count it reports is the events it removed.
#[tokio::test]
async fn trimming_cuts_inside_a_chunk_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let batch: Vec<_> = (1..=100).map(|n| sample(n, None)).collect();
    store.append(&batch).await.unwrap();
    let keep = |max| Retention {
        max_events: Some(max),
        max_age: None,
    };
    assert_eq!(store.trim(keep(30)).await.unwrap(), 70);
    assert_eq!(store.oldest().await.unwrap(), Some(Sequence(71)));
    let events = store
        .read_after(Sequence::ZERO, Page::events(1000))
        .await
        .unwrap();
    assert_eq!(numbers(&events), (71..=100).collect::<Vec<_>>());
    assert_eq!(store.trim(keep(30)).await.unwrap(), 0);
    assert_eq!(store.trim(keep(29)).await.unwrap(), 1);
    assert_eq!(store.oldest().await.unwrap(), Some(Sequence(72)));
    // Survives a reopen, and numbering continues after the head.
    drop(store);
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(store.oldest().await.unwrap(), Some(Sequence(72)));
    assert_eq!(
        store.append(&[sample(101, None)]).await.unwrap(),
        vec![crate::outbox::Appended::New(Sequence(101))]
    );
    let events = store
        .read_after(Sequence(98), Page::events(10))
        .await
        .unwrap();
    assert_eq!(numbers(&events), vec![99, 100, 101]);
}

/// A trim by age that falls inside a chunk (old and new events appended together) keeps the
/// recent ones.
#[tokio::test]
async fn trimming_by_age_cuts_inside_a_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let batch: Vec<_> = (1..=10)
        .map(|n| {
            let mut event = sample(n, None);
            if n <= 6 {
                event.created_at = crate::event::UnixMillis(event.created_at.0 - 3_600_000);
            }
            event
        })
        .collect();
    store.append(&batch).await.unwrap();
    let removed = store
        .trim(Retention {
            max_events: None,
            max_age: Some(std::time::Duration::from_secs(60)),
        })
        .await
        .unwrap();
    assert_eq!(removed, 6);
    assert_eq!(store.oldest().await.unwrap(), Some(Sequence(7)));
}

/// A chunk whose length prefix runs past its end is reported corrupt, never misread.
#[tokio::test]
async fn a_malformed_chunk_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        store.append(&[sample(1, None)]).await.unwrap();
    }
    {
        let db = redb::Database::create(dir.path().join(FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(EVENTS)
            .unwrap()
            .insert(1, [200u8, 0, 0, 0, 1, 2, 3].as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let error = store
        .read_after(Sequence::ZERO, Page::events(10))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("malformed"), "{error}");
}

/// A file written by schema 2 (one event per row in `events`) is converted when opened: its
/// events, head, idempotency index and checkpoints are all still there.
#[tokio::test]
async fn a_schema_2_file_is_converted_to_chunks() {
    // More than one chunk's worth.
    const N: u64 = super::record::CHUNK_EVENTS as u64 + 140;
    let dir = tempfile::tempdir().unwrap();
    let originals: Vec<_> = (1..=N).map(|n| sample(n, Some("alice"))).collect();
    let retried = super::record::encode(&crate::outbox::contract::chosen(7));
    {
        let db = redb::Database::create(dir.path().join(FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(META).unwrap();
            meta.insert(SCHEMA, 2).unwrap();
            meta.insert(HEAD, N + 1).unwrap();
            let mut events = txn.open_table(EVENTS_SCHEMA_2).unwrap();
            // The first ten were trimmed.
            for (n, event) in originals.iter().enumerate().skip(10) {
                events
                    .insert(n as u64 + 1, encode(event).as_slice())
                    .unwrap();
            }
            events.insert(N + 1, retried.as_slice()).unwrap();
            let id = crate::outbox::contract::chosen(7).message_id.0.as_u128();
            txn.open_table(MESSAGE_IDS)
                .unwrap()
                .insert(id, N + 1)
                .unwrap();
            txn.open_table(CHOSEN_IDS)
                .unwrap()
                .insert(N + 1, (id, 0))
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(store.head().await.unwrap(), Sequence(N + 1));
    assert_eq!(store.oldest().await.unwrap(), Some(Sequence(11)));
    let events = store
        .read_after(Sequence::ZERO, Page::events(10_000))
        .await
        .unwrap();
    assert_eq!(numbers(&events), (11..=N + 1).collect::<Vec<_>>());
    for (event, original) in events.iter().zip(originals.iter().skip(10)) {
        assert_eq!(*event, original.clone().with_sequence(event.sequence));
    }
    // The index still answers a retry with the original, and numbering goes on.
    assert_eq!(
        store
            .append(&[crate::outbox::contract::chosen(7), sample(N + 2, None)])
            .await
            .unwrap(),
        vec![
            crate::outbox::Appended::Retry(Sequence(N + 1)),
            crate::outbox::Appended::New(Sequence(N + 2))
        ]
    );
    drop(store);
    let db = redb::Database::create(dir.path().join(FILE_NAME)).unwrap();
    let txn = redb::ReadableDatabase::begin_read(&db).unwrap();
    assert!(
        txn.open_table(EVENTS_SCHEMA_2).is_err(),
        "the old table is gone"
    );
    assert_eq!(
        txn.open_table(META)
            .unwrap()
            .get(SCHEMA)
            .unwrap()
            .unwrap()
            .value(),
        3
    );
}

/// Retries inside a long append end a chunk where they stand: every stored event keeps its
/// own record, in order, whatever the chunk borders.
#[tokio::test]
async fn retries_inside_an_append_split_its_chunks_cleanly() {
    use crate::outbox::contract::chosen;
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    store
        .append(&(1..=70).map(chosen).collect::<Vec<_>>())
        .await
        .unwrap();
    // 71..=200 new, with retries of 7 (twice), 70 and a repeat of 150 among them.
    let mut batch: Vec<_> = (71..=200).map(chosen).collect();
    batch.insert(10, chosen(7));
    batch.insert(75, chosen(70));
    batch.insert(76, chosen(7));
    batch.insert(100, chosen(150));
    let appended = store.append(&batch).await.unwrap();
    let new: Vec<u64> = appended
        .iter()
        .filter(|a| a.is_new())
        .map(|a| a.sequence().0)
        .collect();
    assert_eq!(new, (71..=200).collect::<Vec<_>>());
    let events = store
        .read_after(Sequence::ZERO, Page::events(1000))
        .await
        .unwrap();
    assert_eq!(numbers(&events), (1..=200).collect::<Vec<_>>());
    for event in &events {
        assert_eq!(event.message_id, chosen(event.sequence.0).message_id);
    }
}
