//! The store contract: one suite of checks every backend passes. Backends instantiate it with
//! [`store_contract_tests!`](crate::store_contract_tests), giving an async expression that
//! yields a fresh, empty store for each test.

use std::time::Duration;

use super::{DemoState, NodeReport, Page, PresenceEntry, Retention, Store, Visibility};
use crate::event::{
    ClientId, EventType, MessageId, NewEvent, Selector, Sequence, Topic, UnixMillis,
};

/// A broadcast (or, with `target`, a targeted send) whose fields carry `n`.
pub fn sample(n: u64, target: Option<&str>) -> NewEvent {
    NewEvent {
        message_id: MessageId::random(),
        event_type: EventType::known("message"),
        target: target.map(|t| ClientId::new(t).unwrap()),
        created_at: UnixMillis::now(),
        topics: Vec::new(),
        fields: format!(r#"{{"data":{{"n":{n}}}}}"#),
    }
}

/// As [`sample`], for the given topics.
pub fn sample_in(n: u64, target: Option<&str>, topics: &[&str]) -> NewEvent {
    NewEvent {
        topics: topics.iter().map(|t| Topic::new(t).unwrap()).collect(),
        ..sample(n, target)
    }
}

fn seqs(values: impl IntoIterator<Item = u64>) -> Vec<Sequence> {
    values.into_iter().map(Sequence).collect()
}

pub async fn empty_store_has_nothing(store: impl Store) {
    assert_eq!(store.head().await.unwrap(), Sequence::ZERO);
    assert_eq!(store.oldest().await.unwrap(), None);
    assert!(store
        .read_after(Sequence::ZERO, Page::events(10))
        .await
        .unwrap()
        .is_empty());
}

pub async fn append_assigns_consecutive_sequences(store: impl Store) {
    let first = store.append((0..3).map(|n| sample(n, None)).collect());
    assert_eq!(first.await.unwrap(), seqs(1..=3));
    let second = store.append((3..5).map(|n| sample(n, None)).collect());
    assert_eq!(second.await.unwrap(), seqs(4..=5));
    assert_eq!(store.head().await.unwrap(), Sequence(5));
    assert_eq!(store.oldest().await.unwrap(), Some(Sequence(1)));
}

pub async fn read_after_pages_in_order(store: impl Store) {
    let batch: Vec<NewEvent> = (1..=10).map(|n| sample(n, None)).collect();
    store.append(batch.clone()).await.unwrap();
    let mut after = Sequence::ZERO;
    let mut seen = Vec::new();
    loop {
        let page = store.read_after(after, Page::events(4)).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 4);
        after = page.last().unwrap().sequence;
        seen.extend(page);
    }
    assert_eq!(
        seen.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        seqs(1..=10)
    );
    for (stored, sent) in seen.iter().zip(&batch) {
        assert_eq!(stored.message_id, sent.message_id);
        assert_eq!(stored.event_type, sent.event_type);
        assert_eq!(stored.fields, sent.fields);
        assert_eq!(stored.created_at, sent.created_at);
        assert_eq!(stored.target, None);
    }
    let middle = store
        .read_after(Sequence(7), Page::events(100))
        .await
        .unwrap();
    assert_eq!(
        middle.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        seqs(8..=10)
    );
}

pub async fn targeted_events_keep_their_target(store: impl Store) {
    let batch = vec![sample(1, None), sample(2, Some("alice")), sample(3, None)];
    store.append(batch).await.unwrap();
    let events = store
        .read_after(Sequence::ZERO, Page::events(10))
        .await
        .unwrap();
    let targets: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.target.as_ref().map(|c| c.as_str()))
        .collect();
    assert_eq!(targets, vec![None, Some("alice"), None]);
}

pub async fn topics_round_trip(store: impl Store) {
    let longest = "t".repeat(Topic::MAX_LEN);
    let many: Vec<String> = (0..Topic::MAX_PER_EVENT)
        .map(|i| format!("org/{i}"))
        .collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let batch = vec![
        sample(1, None),
        sample_in(2, None, &["org/42/room1"]),
        sample_in(
            3,
            Some("alice"),
            &["org/42/room1", "a.b_c~d:e@f!g$h&i'j(k)l+m,n;o=p-q"],
        ),
        sample_in(4, None, &[&longest]),
        sample_in(5, None, &many),
    ];
    store.append(batch.clone()).await.unwrap();
    let events = store
        .read_after(Sequence::ZERO, Page::events(10))
        .await
        .unwrap();
    assert_eq!(events.len(), batch.len());
    for ((stored, sent), sequence) in events.into_iter().zip(batch).zip(1..) {
        assert_eq!(stored, sent.with_sequence(Sequence(sequence)));
    }
}

pub async fn visible_reads_apply_topics_and_targets(store: impl Store) {
    store
        .append(vec![
            sample(1, None),
            sample_in(2, None, &["org/42/room1"]),
            sample_in(3, None, &["org/420/x"]),
            sample(4, Some("alice")),
            sample_in(5, Some("alice"), &["org/42/room2", "other"]),
            sample_in(6, Some("bob"), &["org/42/room1"]),
            sample_in(7, None, &["org/43"]),
            sample(8, None),
        ])
        .await
        .unwrap();
    let alice = ClientId::new("alice").unwrap();
    let read = |selectors: Vec<&'static str>, client: Option<ClientId>, after, until, limit| {
        let store = &store;
        async move {
            let selectors: Vec<Selector> = selectors
                .iter()
                .map(|s| Selector::new(s).unwrap())
                .collect();
            let visibility = Visibility {
                selectors: &selectors,
                client: client.as_ref(),
            };
            let page = store
                .read_visible(Sequence(after), Sequence(until), visibility, limit)
                .await
                .unwrap();
            let seqs: Vec<u64> = page.events.iter().map(|e| e.sequence.0).collect();
            (seqs, page.through.0)
        }
    };
    // Without selectors: topic-less broadcasts only (no client: no targeted events).
    assert_eq!(read(vec![], None, 0, 8, 100).await, (vec![1, 8], 8));
    assert_eq!(
        read(vec![], Some(alice.clone()), 0, 8, 100).await,
        (vec![1, 4, 8], 8)
    );
    assert_eq!(
        read(vec!["org/42/*"], Some(alice.clone()), 0, 8, 100).await,
        (vec![1, 2, 4, 5, 8], 8)
    );
    assert_eq!(
        read(vec!["org/42/room1", "org/43"], None, 0, 8, 100).await,
        (vec![1, 2, 7, 8], 8)
    );
    assert_eq!(
        read(vec!["*"], None, 0, 8, 100).await,
        (vec![1, 2, 3, 7, 8], 8)
    );
    // Bounds and paging: `through` is the last event taken when the page filled up.
    assert_eq!(read(vec!["*"], None, 1, 7, 100).await, (vec![2, 3, 7], 7));
    assert_eq!(read(vec!["*"], None, 0, 8, 2).await, (vec![1, 2], 2));
    assert_eq!(read(vec!["*"], None, 2, 8, 2).await, (vec![3, 7], 7));
    assert_eq!(read(vec!["*"], None, 8, 8, 2).await, (vec![], 8));
}

pub async fn trimming_by_count_moves_the_oldest(store: impl Store) {
    store
        .append((1..=10).map(|n| sample(n, None)).collect())
        .await
        .unwrap();
    let retention = Retention {
        max_events: Some(4),
        max_age: None,
    };
    assert_eq!(store.trim(retention).await.unwrap(), 6);
    assert_eq!(store.oldest().await.unwrap(), Some(Sequence(7)));
    assert_eq!(store.head().await.unwrap(), Sequence(10));
    let rest = store
        .read_after(Sequence::ZERO, Page::events(100))
        .await
        .unwrap();
    assert_eq!(
        rest.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        seqs(7..=10)
    );
    assert_eq!(store.trim(retention).await.unwrap(), 0);
    // Numbering continues after the head, never reusing trimmed numbers.
    assert_eq!(
        store.append(vec![sample(11, None)]).await.unwrap(),
        seqs([11])
    );
}

pub async fn trimming_by_age_keeps_recent_events(store: impl Store) {
    let mut old = sample(1, None);
    old.created_at = UnixMillis(UnixMillis::now().0 - 3_600_000);
    store.append(vec![old, sample(2, None)]).await.unwrap();
    let retention = Retention {
        max_events: None,
        max_age: Some(Duration::from_secs(60)),
    };
    assert_eq!(store.trim(retention).await.unwrap(), 1);
    assert_eq!(store.oldest().await.unwrap(), Some(Sequence(2)));
}

pub async fn trimming_everything_keeps_the_head(store: impl Store) {
    store
        .append((1..=3).map(|n| sample(n, None)).collect())
        .await
        .unwrap();
    let retention = Retention {
        max_events: Some(0),
        max_age: None,
    };
    assert_eq!(store.trim(retention).await.unwrap(), 3);
    assert_eq!(store.oldest().await.unwrap(), None);
    assert_eq!(store.head().await.unwrap(), Sequence(3));
    assert_eq!(
        store.append(vec![sample(4, None)]).await.unwrap(),
        seqs([4])
    );
}

pub async fn checkpoints_only_move_forward(store: impl Store) {
    let alice = ClientId::new("alice").unwrap();
    let bob = ClientId::new("bob").unwrap();
    assert_eq!(store.load_checkpoint(&alice).await.unwrap(), None);
    store
        .save_checkpoints(vec![
            (alice.clone(), Sequence(5)),
            (bob.clone(), Sequence(2)),
        ])
        .await
        .unwrap();
    store
        .save_checkpoints(vec![(alice.clone(), Sequence(3))])
        .await
        .unwrap();
    assert_eq!(
        store.load_checkpoint(&alice).await.unwrap(),
        Some(Sequence(5))
    );
    store
        .save_checkpoints(vec![(alice.clone(), Sequence(9))])
        .await
        .unwrap();
    assert_eq!(
        store.load_checkpoint(&alice).await.unwrap(),
        Some(Sequence(9))
    );
    assert_eq!(
        store.load_checkpoint(&bob).await.unwrap(),
        Some(Sequence(2))
    );
}

pub async fn demo_switch_has_one_winner(store: impl Store) {
    assert_eq!(store.demo_state().await.unwrap(), DemoState::default());
    let on = DemoState {
        running: true,
        interval_secs: 3,
    };
    assert!(store.swap_demo_state(false, on).await.unwrap());
    assert!(!store.swap_demo_state(false, on).await.unwrap());
    assert_eq!(store.demo_state().await.unwrap(), on);
    let off = DemoState {
        running: false,
        interval_secs: 3,
    };
    assert!(store.swap_demo_state(true, off).await.unwrap());
    assert_eq!(store.demo_state().await.unwrap(), off);
}

pub async fn leases_have_one_holder_until_expiry(store: impl Store) {
    let ttl = Duration::from_millis(300);
    assert!(store.acquire_lease("demo", "node-a", ttl).await.unwrap());
    assert!(!store.acquire_lease("demo", "node-b", ttl).await.unwrap());
    assert!(store.acquire_lease("demo", "node-a", ttl).await.unwrap());
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    assert!(store.acquire_lease("demo", "node-b", ttl).await.unwrap());
    assert!(!store.acquire_lease("demo", "node-a", ttl).await.unwrap());
}

pub async fn node_reports_are_upserted(store: impl Store) {
    let report = |connections| NodeReport {
        node_id: "node-a".into(),
        connections,
        clients: 1,
        dispatched: Sequence(4),
        seen_at: UnixMillis::now(),
        events_published: 7,
        frames_delivered: 70,
        streams_opened: 3,
        ready: true,
        store_available: true,
    };
    store.report_node(report(3)).await.unwrap();
    store.report_node(report(5)).await.unwrap();
    let nodes = store.nodes(Duration::from_secs(60)).await.unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].connections, 5);
    assert_eq!(nodes[0].dispatched, Sequence(4));
    assert_eq!(nodes[0].frames_delivered, 70);
    assert!(nodes[0].ready && nodes[0].store_available);
}

pub async fn presence_reports_replace_a_nodes_entries(store: impl Store) {
    let entry = |node: &str, client: &str, topics: &[&str], seen_at| PresenceEntry {
        node_id: node.into(),
        client: client.into(),
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        streams: 2,
        connected_at: UnixMillis(1_700_000_000_000),
        seen_at,
    };
    let now = UnixMillis::now();
    store
        .report_presence(
            "node-b",
            vec![
                entry("node-b", "zed", &["org/1"], now),
                entry("node-b", "amy", &["a/*", "b"], now),
            ],
        )
        .await
        .unwrap();
    store
        .report_presence("node-a", vec![entry("node-a", "zed", &["org/*"], now)])
        .await
        .unwrap();
    let all = store.presence(Duration::from_secs(60)).await.unwrap();
    let keys: Vec<(&str, &str)> = all
        .iter()
        .map(|e| (e.client.as_str(), e.node_id.as_str()))
        .collect();
    assert_eq!(
        keys,
        [("amy", "node-b"), ("zed", "node-a"), ("zed", "node-b")]
    );
    assert_eq!(all[0], entry("node-b", "amy", &["a/*", "b"], now));
    // A new report replaces the node's entries: amy left node-b.
    store
        .report_presence(
            "node-b",
            vec![entry("node-b", "zed", &["org/1"], UnixMillis::now())],
        )
        .await
        .unwrap();
    let all = store.presence(Duration::from_secs(60)).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|e| e.client == "zed"));
    // A node that stopped reporting ages out.
    let old = UnixMillis(UnixMillis::now().0 - 120_000);
    store
        .report_presence("node-a", vec![entry("node-a", "old", &["x"], old)])
        .await
        .unwrap();
    let all = store.presence(Duration::from_secs(60)).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].node_id, "node-b");
    store.report_presence("node-b", Vec::new()).await.unwrap();
    assert!(store
        .presence(Duration::from_secs(60))
        .await
        .unwrap()
        .is_empty());
}

/// Calls `callback!(prefix… <every contract check's name>,)`: the one list of checks, for
/// [`store_contract_tests!`](crate::store_contract_tests) and for suites that run the checks
/// their own way (the MongoDB one, against a server it starts).
#[macro_export]
macro_rules! for_each_contract_check {
    ([$($callback:tt)*] $($prefix:tt)*) => {
        $($callback)*! { $($prefix)*
            empty_store_has_nothing,
            append_assigns_consecutive_sequences,
            read_after_pages_in_order,
            targeted_events_keep_their_target,
            topics_round_trip,
            visible_reads_apply_topics_and_targets,
            trimming_by_count_moves_the_oldest,
            trimming_by_age_keeps_recent_events,
            trimming_everything_keeps_the_head,
            checkpoints_only_move_forward,
            demo_switch_has_one_winner,
            leases_have_one_holder_until_expiry,
            node_reports_are_upserted,
            presence_reports_replace_a_nodes_entries,
        }
    };
}

/// Instantiates every contract check as a `#[tokio::test]`; `$store` is an expression
/// evaluated once per test inside an async fn (so it may `.await`), giving a fresh, empty store.
#[macro_export]
macro_rules! store_contract_tests {
    ($store:expr) => {
        $crate::for_each_contract_check!([$crate::store_contract_tests] @each $store;);
    };
    (@each $store:expr; $($name:ident,)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let store = $store;
                $crate::outbox::contract::$name(store).await;
            }
        )*
    };
}
