//! A shard's index of streams by topic selector, so a topic-scoped event wakes only the
//! streams whose selectors match one of its topics.
//!
//! Exact selectors live in a hash map keyed by the topic. Prefix selectors live in one hash
//! map per prefix length: a topic finds its matching prefixes by looking up its own prefix of
//! each length that some selector has, which is at most its length (256) lookups and usually
//! a handful, whatever the number of selectors.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{ConnId, Members, Subscriber};
use crate::event::Topic;

#[derive(Default)]
pub(super) struct TopicIndex {
    exact: HashMap<Arc<str>, Members>,
    /// Prefix length → prefix → streams. A `BTreeMap` so a lookup visits only lengths up to
    /// the topic's, in order, and stops.
    prefixes: BTreeMap<usize, HashMap<Arc<str>, Members>>,
}

impl TopicIndex {
    pub(super) fn insert(&mut self, sub: &Arc<Subscriber>) {
        for selector in &sub.recipient.selectors {
            let members = match selector.prefix() {
                Some(prefix) => self
                    .prefixes
                    .entry(prefix.len())
                    .or_default()
                    .entry(prefix.into())
                    .or_default(),
                None => self.exact.entry(selector.as_str().into()).or_default(),
            };
            members.insert(sub.id, sub.clone());
        }
    }

    pub(super) fn remove(&mut self, sub: &Subscriber) {
        for selector in &sub.recipient.selectors {
            match selector.prefix() {
                Some(prefix) => {
                    if let Some(by_prefix) = self.prefixes.get_mut(&prefix.len()) {
                        remove(by_prefix, prefix, sub.id);
                        if by_prefix.is_empty() {
                            self.prefixes.remove(&prefix.len());
                        }
                    }
                }
                None => remove(&mut self.exact, selector.as_str(), sub.id),
            }
        }
    }

    /// Calls `take` with every group of streams a selector of which matches `topic`.
    pub(super) fn matching(&self, topic: &Topic, mut take: impl FnMut(&Members)) {
        let text = topic.as_str();
        if let Some(members) = self.exact.get(text) {
            take(members);
        }
        for (&len, by_prefix) in self.prefixes.range(..=text.len()) {
            // Topics are ASCII, so every length is a character boundary.
            if let Some(members) = text.get(..len).and_then(|p| by_prefix.get(p)) {
                take(members);
            }
        }
    }
}

fn remove(index: &mut HashMap<Arc<str>, Members>, key: &str, id: ConnId) {
    if let Some(members) = index.get_mut(key) {
        members.remove(&id);
        if members.is_empty() {
            index.remove(key);
        }
    }
}
