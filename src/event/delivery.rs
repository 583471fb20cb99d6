//! The delivery rule: which events a stream receives. One function, [`Recipient::receives`],
//! decides for live frames (`tail::Frame::is_for`), for catch-up and replay reads from the
//! store, and for the history endpoint, so the three can never disagree.
//!
//! 1. Topics: an event without topics concerns everyone (as before topics existed); an event
//!    with topics concerns only streams with a selector that matches one of them. A stream
//!    without selectors never receives a topic-scoped event.
//! 2. Target: a targeted event goes only to its client's streams.
//! 3. Type filter: the stream's `filter=` must accept the event's type.

use super::topic::{any_match, Selector, Topic};
use super::{ClientId, Event, Filter};

/// Who a stream is, for the rule: its client id, type filter and granted topic selectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub client: ClientId,
    pub filter: Filter,
    /// Deduplicated; empty for a stream that asked for no topics.
    pub selectors: Vec<Selector>,
}

impl Recipient {
    /// A stream without topic selectors (what every stream was before topics).
    pub fn new(client: ClientId, filter: Filter) -> Recipient {
        Recipient {
            client,
            filter,
            selectors: Vec::new(),
        }
    }

    pub fn with_selectors(mut self, selectors: Vec<Selector>) -> Recipient {
        self.selectors = selectors;
        self
    }

    /// The rule (see the module docs). `folded_type` is the event type's folded name.
    pub fn receives(&self, folded_type: &str, target: Option<&ClientId>, topics: &[Topic]) -> bool {
        (topics.is_empty() || any_match(&self.selectors, topics))
            && target.is_none_or(|t| *t == self.client)
            && self.filter.accepts(folded_type)
    }

    /// The rule for a stored event.
    pub fn receives_event(&self, event: &Event) -> bool {
        self.receives(
            &event.event_type.folded(),
            event.target.as_ref(),
            &event.topics,
        )
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn client(name: &str) -> ClientId {
        ClientId::new(name).unwrap()
    }

    fn topics(texts: &[&str]) -> Vec<Topic> {
        texts.iter().map(|t| Topic::new(t).unwrap()).collect()
    }

    fn recipient(selectors: &[&str], filter: &str) -> Recipient {
        Recipient::new(client("me"), Filter::parse(filter, 8).unwrap()).with_selectors(
            selectors
                .iter()
                .map(|s| Selector::new(s).unwrap())
                .collect(),
        )
    }

    #[test]
    fn topic_less_events_behave_as_before_topics() {
        let plain = recipient(&[], "");
        let topical = recipient(&["org/42/*"], "");
        for stream in [&plain, &topical] {
            assert!(stream.receives("message", None, &[]));
            assert!(stream.receives("message", Some(&client("me")), &[]));
            assert!(!stream.receives("message", Some(&client("you")), &[]));
        }
    }

    #[test]
    fn topic_scoped_events_need_a_matching_selector() {
        let scoped = topics(&["org/42/room1"]);
        assert!(!recipient(&[], "").receives("message", None, &scoped));
        assert!(recipient(&["org/42/*"], "").receives("message", None, &scoped));
        assert!(recipient(&["org/42/room1"], "").receives("message", None, &scoped));
        assert!(!recipient(&["org/43/*"], "").receives("message", None, &scoped));
        // then the target and the filter, as before
        assert!(!recipient(&["org/42/*"], "").receives("message", Some(&client("you")), &scoped));
        assert!(!recipient(&["org/42/*"], "alert").receives("message", None, &scoped));
        assert!(recipient(&["org/42/*"], "alert").receives("alert", Some(&client("me")), &scoped));
    }

    /// The rule, written again as a plain specification: the test's oracle.
    fn spec(
        selectors: &[String],
        filter: &[String],
        me: &str,
        event: &(String, Option<String>, Vec<String>),
    ) -> bool {
        let (event_type, target, event_topics) = event;
        let topic_ok = event_topics.is_empty()
            || event_topics.iter().any(|t| {
                selectors.iter().any(|s| match s.strip_suffix('*') {
                    Some(prefix) => t.starts_with(prefix),
                    None => s == t,
                })
            });
        let target_ok = target.as_deref().is_none_or(|t| t == me);
        let filter_ok =
            filter.is_empty() || filter.iter().any(|f| f.eq_ignore_ascii_case(event_type));
        topic_ok && target_ok && filter_ok
    }

    fn topic_text() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["a", "a/b", "a/b/c", "a/c", "b", "b/a", "ab"])
            .prop_map(str::to_owned)
    }

    fn selector_text() -> impl Strategy<Value = String> {
        prop_oneof![
            topic_text(),
            prop::sample::select(vec!["*", "a*", "a/*", "a/b*", "b/*", "c*"])
                .prop_map(str::to_owned),
        ]
    }

    proptest! {
        #[test]
        fn the_rule_is_the_specification(
            selectors in prop::collection::vec(selector_text(), 0..4),
            filter in prop::collection::vec(prop::sample::select(vec!["x", "Y", "z"]).prop_map(str::to_owned), 0..3),
            event_type in prop::sample::select(vec!["x", "y", "Z"]).prop_map(str::to_owned),
            target in prop::option::of(prop::sample::select(vec!["me", "you"]).prop_map(str::to_owned)),
            event_topics in prop::collection::vec(topic_text(), 0..3),
        ) {
            let stream = Recipient::new(client("me"), Filter::parse(&filter.join(","), 8).unwrap())
                .with_selectors(selectors.iter().map(|s| Selector::new(s).unwrap()).collect());
            let folded = event_type.to_ascii_lowercase();
            let target_id = target.as_deref().map(client);
            let expected = spec(&selectors, &filter, "me", &(event_type.clone(), target.clone(), event_topics.clone()));
            prop_assert_eq!(stream.receives(&folded, target_id.as_ref(), &topics(&event_topics.iter().map(String::as_str).collect::<Vec<_>>())), expected);
        }
    }
}
