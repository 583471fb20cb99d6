//! One lock shard of the registry and its indexes.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Waker;

use super::topics::TopicIndex;
use super::{ConnId, Interest, Members, Subscriber};
use crate::event::{ClientId, Filter};

#[derive(Default)]
pub(super) struct Shard {
    /// Every subscriber of the shard.
    all: Members,
    /// Subscribers without a filter: every broadcast concerns them.
    unfiltered: Members,
    /// Filtered subscribers by each folded type they accept.
    by_type: HashMap<Arc<str>, Members>,
    /// Subscribers by client id, for targeted events.
    by_client: HashMap<ClientId, Members>,
    /// Subscribers with topic selectors, by selector, for topic-scoped broadcasts. (They are
    /// in the indexes above too: topic-less events concern them as well.)
    by_topic: TopicIndex,
}

impl Shard {
    pub(super) fn insert(&mut self, sub: &Arc<Subscriber>) {
        self.all.insert(sub.id, sub.clone());
        match &sub.recipient.filter {
            Filter::All => {
                self.unfiltered.insert(sub.id, sub.clone());
            }
            Filter::Types(types) => {
                for folded in types {
                    self.by_type
                        .entry(folded.clone())
                        .or_default()
                        .insert(sub.id, sub.clone());
                }
            }
        }
        self.by_client
            .entry(sub.recipient.client.clone())
            .or_default()
            .insert(sub.id, sub.clone());
        self.by_topic.insert(sub);
    }

    pub(super) fn remove(&mut self, sub: &Subscriber) {
        self.all.remove(&sub.id);
        self.unfiltered.remove(&sub.id);
        if let Filter::Types(types) = &sub.recipient.filter {
            for folded in types {
                remove_member(&mut self.by_type, folded, sub.id);
            }
        }
        remove_member(&mut self.by_client, &sub.recipient.client, sub.id);
        self.by_topic.remove(sub);
    }

    pub(super) fn collect_interested(&self, interest: &Interest, wakers: &mut Vec<Waker>) {
        if self.all.is_empty() {
            // Most shards of a node with few streams: skip the index lookups.
            return;
        }
        let mut take = |members: &Members| {
            wakers.extend(members.values().filter_map(|s| s.waker.take()));
        };
        if !interest.types.is_empty() {
            take(&self.unfiltered);
            for folded in &interest.types {
                if let Some(members) = self.by_type.get(folded) {
                    take(members);
                }
            }
        }
        for client in &interest.targets {
            if let Some(members) = self.by_client.get(client) {
                take(members);
            }
        }
        for topic in &interest.topics {
            self.by_topic.matching(topic, &mut take);
        }
    }

    pub(super) fn collect_after(&self, after: ConnId, out: &mut Vec<Arc<Subscriber>>) {
        out.extend(self.all.values().filter(|s| s.id > after).cloned());
    }

    pub(super) fn collect_all(&self, wakers: &mut Vec<Waker>) {
        wakers.extend(self.all.values().filter_map(|s| s.waker.take()));
    }

    pub(super) fn mark_closing(&self) {
        for sub in self.all.values() {
            sub.closing.store(true, Ordering::Release);
        }
    }

    pub(super) fn connections_of(&self, client: &ClientId) -> usize {
        self.by_client.get(client).map_or(0, HashMap::len)
    }

    pub(super) fn clients(&self) -> usize {
        self.by_client.len()
    }
}

fn remove_member<K: std::hash::Hash + Eq + ?Sized, Q>(
    index: &mut HashMap<Q, Members>,
    key: &K,
    id: ConnId,
) where
    Q: std::borrow::Borrow<K> + std::hash::Hash + Eq,
{
    if let Some(members) = index.get_mut(key) {
        members.remove(&id);
        if members.is_empty() {
            index.remove(key);
        }
    }
}
