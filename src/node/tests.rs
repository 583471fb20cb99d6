//! The node without a socket: verbs called directly, bodies polled by hand.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body::Body;

use super::body::Body as _;

use super::*;
use crate::auth::token::TokenSigner;
use crate::auth::KeyRing;
use crate::config::Config;
use crate::event::ClientId;
use crate::outbox::memory::MemoryStore;
use crate::outbox::Retention;
use crate::sse::body::SseBody;
use crate::sse::resume::Requested;

async fn node(tweak: impl FnOnce(&mut Config)) -> (Arc<Node>, Tasks) {
    let mut config = Config::defaults();
    config.node_id = Some("unit".into());
    tweak(&mut config);
    let auth = Authenticator {
        jwt: None,
        keys: KeyRing::new(&config.publish_keys, &config.subscribe_keys),
        tokens: TokenSigner::new(b"0123456789abcdef"),
    };
    let tasks = Tasks::default();
    let node = Node::new(config.node(), auth, Arc::new(MemoryStore::new()), &tasks)
        .await
        .unwrap();
    let node = Arc::new(node);
    node.spawn_tasks(&tasks);
    (node, tasks)
}

/// The next data frame the body yields.
async fn next_frame(body: &mut SseBody) -> Bytes {
    poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx))
        .await
        .expect("the stream goes on")
        .unwrap()
        .into_data()
        .unwrap()
}

fn open_key() -> Caller {
    Caller::Key(Scope::Publish)
}

#[tokio::test]
async fn a_stream_opens_with_its_prelude_without_a_socket() {
    let (node, _tasks) = node(|_| {}).await;
    let request = OpenRequest {
        client_id: Some(ClientId::new("alice").unwrap()),
        ..OpenRequest::default()
    };
    let mut body = node.open_stream(&open_key(), request).await.unwrap();
    let prelude = next_frame(&mut body).await;
    let text = std::str::from_utf8(&prelude).unwrap();
    assert!(text.starts_with("retry: 3000\n\n"), "{text}");
    assert!(
        text.contains("event: connected\ndata: {\"clientId\":\"alice\",\"node\":\"unit\",\"resumeFrom\":0,\"headSequence\":0,\"topics\":[]}\n\n"),
        "{text}"
    );
    assert_eq!(node.connections(), 1);
    drop(body);
    assert_eq!(node.connections(), 0);
}

#[tokio::test]
async fn a_published_event_reaches_an_open_stream() {
    let (node, _tasks) = node(|_| {}).await;
    let mut body = node
        .open_stream(&open_key(), OpenRequest::default())
        .await
        .unwrap();
    next_frame(&mut body).await;
    let data = serde_json::json!({"message": "hi"});
    let published = publish(&node, &open_key(), PublishKind::Notification, &data)
        .await
        .unwrap();
    let frame = next_frame(&mut body).await;
    let expected = format!("id: {}\nevent: notification\n", published.sequence);
    assert!(frame.starts_with(expected.as_bytes()), "{frame:?}");
}

#[tokio::test]
async fn a_trimmed_position_starts_with_reset() {
    let (node, _tasks) = node(|c| c.retention_max_events = Some(2)).await;
    publish_n(&node, 5).await;
    node.log.trim(node.settings.retention).await.unwrap();
    let request = OpenRequest {
        positions: Requested {
            checkpoint_param: Some(Sequence(1)),
            ..Requested::default()
        },
        ..OpenRequest::default()
    };
    let mut body = node.open_stream(&open_key(), request).await.unwrap();
    let prelude = next_frame(&mut body).await;
    let text = std::str::from_utf8(&prelude).unwrap();
    assert!(
        text.ends_with("event: reset\ndata: {\"requested\":1,\"oldestAvailable\":4}\n\n"),
        "{text}"
    );
    let first = next_frame(&mut body).await;
    assert!(first.starts_with(b"id: 4\n"), "{first:?}");
}

#[tokio::test]
async fn identity_rules_bind_tokens_and_refuse_mismatches() {
    let (node, _tasks) = node(|c| {
        c.publish_keys = vec!["pub".into()];
        c.subscribe_keys = vec!["sub".into()];
        c.require_client_tokens = true;
    })
    .await;
    let sub = node
        .identify(
            &Credentials {
                api_key: Some("sub"),
                client_token: None,
                ..Credentials::default()
            },
            Access::Subscribe,
        )
        .unwrap();
    let alice = ClientId::new("alice").unwrap();
    // Under --require-client-tokens a subscribe key may not name a client…
    assert_eq!(node.client_for(&sub, Some(alice.clone())).unwrap(), None);
    // …nor publish.
    let refused = publish(&node, &sub, PublishKind::Broadcast, &serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::InsufficientScope);
    let token = node
        .issue_token(&Caller::Key(Scope::Publish), alice.clone(), Some(60), None)
        .unwrap();
    let caller = node
        .identify(
            &Credentials {
                api_key: None,
                client_token: Some(&token.token),
                ..Credentials::default()
            },
            Access::Client,
        )
        .unwrap();
    assert_eq!(node.client_for(&caller, None).unwrap(), Some(alice));
    let mismatch = node
        .client_for(&caller, Some(ClientId::new("mallory").unwrap()))
        .unwrap_err();
    assert_eq!(mismatch.code(), ErrorCode::TokenClientMismatch);
}

fn token_caller(topics: &[&str]) -> Caller {
    Caller::Client(crate::auth::token::Claims {
        client: ClientId::new("alice").unwrap(),
        expires_at: i64::MAX / 1000,
        topics: crate::auth::TopicGrant::Only(
            topics
                .iter()
                .map(|s| crate::event::Selector::new(s).unwrap())
                .collect(),
        ),
    })
}

fn asking(selectors: &[&str]) -> OpenRequest {
    OpenRequest {
        selectors: selectors
            .iter()
            .map(|s| crate::event::Selector::new(s).unwrap())
            .collect(),
        ..OpenRequest::default()
    }
}

#[tokio::test]
async fn selectors_must_be_within_the_grant_and_the_limit() {
    let (node, _tasks) = node(|c| c.max_topic_selectors = 2).await;
    let caller = token_caller(&["org/42/*"]);
    for ok in [&["org/42/room1"][..], &["org/42/*", "org/42/a"]] {
        let mut body = node.open_stream(&caller, asking(ok)).await.unwrap();
        let prelude = next_frame(&mut body).await;
        let text = std::str::from_utf8(&prelude).unwrap();
        let topics = serde_json::to_string(ok).unwrap();
        assert!(text.contains(&format!("\"topics\":{topics}")), "{text}");
    }
    let refused = node
        .open_stream(&caller, asking(&["org/42/a", "org/*"]))
        .await
        .err()
        .unwrap();
    assert_eq!(refused.code(), ErrorCode::TopicNotGranted);
    assert!(refused.to_string().contains("`org/*`"), "{refused}");
    let too_many = node
        .open_stream(&open_key(), asking(&["a", "b", "c"]))
        .await
        .err()
        .unwrap();
    assert_eq!(too_many.code(), ErrorCode::InvalidTopic);
    // Keys are trusted backends: every selector.
    assert!(node.open_stream(&open_key(), asking(&["*"])).await.is_ok());
}

#[tokio::test]
async fn publishing_needs_publish_scope_and_names_refused_topics() {
    let (node, _tasks) = node(|_| {}).await;
    let body = serde_json::json!({"data": 1, "topics": ["org/42/a"]});
    let published = publish(&node, &open_key(), PublishKind::Broadcast, &body)
        .await
        .unwrap();
    assert!(published.sequence.0 >= 1);
    let token = publish(&node, &token_caller(&["*"]), PublishKind::Broadcast, &body)
        .await
        .err()
        .unwrap();
    assert_eq!(token.code(), ErrorCode::MissingApiKey);
}

/// Publishes the body `value` (a JSON object) as `kind`.
async fn publish(
    node: &Node,
    caller: &Caller,
    kind: PublishKind,
    value: &serde_json::Value,
) -> Result<Published, NodeError> {
    let text = value.to_string();
    let body = EventBody::parse(text.as_bytes()).unwrap();
    node.publish(caller, kind, None, &body).await
}

/// Publishes `n` broadcasts of type `message`.
async fn publish_n(node: &Node, n: usize) {
    for i in 0..n {
        let data = serde_json::json!({"data": i});
        publish(node, &open_key(), PublishKind::Broadcast, &data)
            .await
            .unwrap();
    }
}

/// The `id:` of an event frame, `None` for anything else.
fn id_of(frame: &Bytes) -> Option<u64> {
    let text = std::str::from_utf8(frame).ok()?;
    text.strip_prefix("id: ")?.split('\n').next()?.parse().ok()
}

/// Reads frames until `want` events arrived; returns every frame's text.
async fn read_events(body: &mut SseBody, want: usize) -> Vec<String> {
    let mut frames = Vec::new();
    let mut events = 0;
    while events < want {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), next_frame(body))
            .await
            .expect("a frame in time");
        events += usize::from(id_of(&frame).is_some());
        frames.push(String::from_utf8(frame.to_vec()).unwrap());
    }
    frames
}

#[tokio::test]
async fn a_reader_that_falls_behind_a_trimmed_store_gets_reset_not_a_silent_skip() {
    let (node, _tasks) = node(|c| c.tail_capacity = 16).await;
    let mut body = node
        .open_stream(&open_key(), OpenRequest::default())
        .await
        .unwrap();
    next_frame(&mut body).await;
    publish_n(&node, 5).await;
    let seen = read_events(&mut body, 5).await;
    assert!(seen.last().unwrap().starts_with("id: 5\n"), "{seen:?}");
    // The reader stops reading; the ring moves far past it and retention trims the store.
    publish_n(&node, 100).await;
    assert!(node.tail_floor().0 > 6);
    node.log
        .trim(Retention {
            max_events: Some(10),
            max_age: None,
        })
        .await
        .unwrap();
    let frames = read_events(&mut body, 10).await;
    assert!(
        frames[0].starts_with("event: reset\ndata: {\"requested\":5,\"oldestAvailable\":96}"),
        "{frames:?}"
    );
    assert!(frames[1].starts_with("id: 96\n"), "{frames:?}");
}

#[tokio::test]
async fn a_stream_trimmed_before_its_first_catch_up_gets_reset() {
    let (node, _tasks) = node(|c| c.tail_capacity = 16).await;
    publish_n(&node, 5).await;
    let request = OpenRequest {
        positions: Requested {
            checkpoint_param: Some(Sequence(0)),
            ..Requested::default()
        },
        ..OpenRequest::default()
    };
    let mut body = node.open_stream(&open_key(), request).await.unwrap();
    // Connected at 0 with everything retained; trimmed before the body ever read.
    publish_n(&node, 50).await;
    node.log
        .trim(Retention {
            max_events: Some(10),
            max_age: None,
        })
        .await
        .unwrap();
    let prelude = next_frame(&mut body).await;
    assert!(
        !prelude.ends_with(b"reset"),
        "no reset at connect: nothing was trimmed then"
    );
    let frames = read_events(&mut body, 10).await;
    assert!(
        frames[0].starts_with("event: reset\ndata: {\"requested\":0,\"oldestAvailable\":46}"),
        "{frames:?}"
    );
    assert!(frames[1].starts_with("id: 46\n"), "{frames:?}");
}
