//! Who is connected: subscribers in a power-of-two number of lock shards, keyed by client id
//! (so a client's connections share one shard and a targeted send locks one shard), with
//! indexes by event type and by topic selector (`topics`) so a batch wakes only the
//! subscribers it concerns.
//!
//! A [`Subscription`] is the RAII membership: dropping it (client hang-up, body dropped,
//! shutdown) unregisters. Wakers are collected under a shard lock and woken after it is
//! released.

mod shard;
#[cfg(test)]
mod tests;
mod topics;

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;

use futures_util::task::AtomicWaker;
use parking_lot::Mutex;

use self::shard::Shard;
use crate::event::{ClientId, Recipient, Sequence, Topic, UnixMillis};

/// A connection's id, unique within the process, increasing in connect order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// A group of subscribers in one index entry.
type Members = HashMap<ConnId, Arc<Subscriber>>;

/// How a stream reached the node (for operators: `/api/sse/connections`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnInfo {
    /// `http/1.1` or `h2`.
    pub protocol: &'static str,
    pub tls: bool,
}

impl Default for ConnInfo {
    fn default() -> Self {
        ConnInfo {
            protocol: "http/1.1",
            tls: false,
        }
    }
}

/// What a new stream is.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its client id, type filter and topic selectors.
    pub recipient: Recipient,
    pub info: ConnInfo,
}

/// The most streams a join may make: on the node, and of its client id (`None` for ids the
/// hub generated, which are unique anyway).
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub node: usize,
    pub per_client: Option<usize>,
}

impl Caps {
    pub const UNLIMITED: Caps = Caps {
        node: usize::MAX,
        per_client: None,
    };
}

/// Why a join was refused: the limit that was full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Node { limit: usize },
    Client { limit: usize },
}

/// What the registry and the connection's body share.
#[derive(Debug)]
pub struct Subscriber {
    pub id: ConnId,
    /// Its client id, type filter and topic selectors: what the delivery rule needs.
    pub recipient: Recipient,
    pub info: ConnInfo,
    pub connected_at: UnixMillis,
    /// Everything through this sequence was delivered or skipped (the body keeps it current).
    position: AtomicU64,
    waker: AtomicWaker,
    closing: AtomicBool,
}

impl Subscriber {
    /// The stream's position, as its body last moved it.
    pub fn position(&self) -> Sequence {
        Sequence(self.position.load(Ordering::Relaxed))
    }

    /// Called by the body whenever its cursor moves.
    pub fn set_position(&self, position: Sequence) {
        self.position.store(position.0, Ordering::Relaxed);
    }

    /// Parks the body's waker; call before checking for work, so no wake is lost.
    pub fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }

    /// Whether the hub asked this stream to end.
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }
}

/// What a dispatched batch concerns: which subscribers to wake. A superset is harmless (a
/// woken stream that finds nothing for it sleeps again); missing one would stall a stream.
#[derive(Debug, Default)]
pub struct Interest {
    /// Folded types of the batch's topic-less broadcasts.
    pub types: Vec<Arc<str>>,
    /// Clients that targeted events in the batch are for (with or without topics).
    pub targets: Vec<ClientId>,
    /// Topics of the batch's topic-scoped broadcasts.
    pub topics: Vec<Topic>,
}

impl Interest {
    pub fn add(&mut self, folded_type: &Arc<str>, target: Option<&ClientId>, topics: &[Topic]) {
        match target {
            Some(client) if !self.targets.contains(client) => self.targets.push(client.clone()),
            Some(_) => {}
            None if topics.is_empty() => {
                if !self.types.contains(folded_type) {
                    self.types.push(folded_type.clone())
                }
            }
            None => {
                for topic in topics {
                    if !self.topics.contains(topic) {
                        self.topics.push(topic.clone());
                    }
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty() && self.targets.is_empty() && self.topics.is_empty()
    }
}

pub struct Registry {
    shards: Box<[Mutex<Shard>]>,
    hasher: std::collections::hash_map::RandomState,
    next_id: AtomicU64,
    connections: AtomicUsize,
    /// Bumped by the shared heartbeat; bodies compare it with the epoch they last saw.
    heartbeat_epoch: AtomicU64,
}

impl Registry {
    /// `shards` is rounded up to a power of two.
    pub fn new(shards: usize) -> Arc<Registry> {
        let count = shards.max(1).next_power_of_two();
        Arc::new(Registry {
            shards: (0..count).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: Default::default(),
            next_id: AtomicU64::new(1),
            connections: AtomicUsize::new(0),
            heartbeat_epoch: AtomicU64::new(0),
        })
    }

    fn shard_of(&self, client: &ClientId) -> &Mutex<Shard> {
        let hash = self.hasher.hash_one(client);
        &self.shards[hash as usize & (self.shards.len() - 1)]
    }

    /// Registers a subscriber with no limits; it stays until the subscription is dropped.
    pub fn subscribe(self: &Arc<Registry>, recipient: Recipient) -> Subscription {
        let member = Member {
            recipient,
            info: ConnInfo::default(),
        };
        match self.join(member, Caps::UNLIMITED) {
            Ok(subscription) => subscription,
            Err(full) => unreachable!("unlimited caps are never full: {full:?}"),
        }
    }

    /// Registers a subscriber if the caps allow, taking its slot atomically: of simultaneous
    /// joins, exactly as many pass as there are slots. It stays until the subscription is
    /// dropped.
    ///
    /// # Errors
    /// The cap that was full; nothing was registered.
    pub fn join(self: &Arc<Registry>, member: Member, caps: Caps) -> Result<Subscription, Full> {
        // The node's slot first: an increment undone when it passed the limit, so concurrent
        // joins cannot all see room that only one of them has.
        if self.connections.fetch_add(1, Ordering::AcqRel) >= caps.node {
            self.connections.fetch_sub(1, Ordering::AcqRel);
            return Err(Full::Node { limit: caps.node });
        }
        let subscriber = Arc::new(Subscriber {
            id: ConnId(self.next_id.fetch_add(1, Ordering::Relaxed)),
            recipient: member.recipient,
            info: member.info,
            connected_at: UnixMillis::now(),
            position: AtomicU64::new(0),
            waker: AtomicWaker::new(),
            closing: AtomicBool::new(false),
        });
        {
            // The client's count and its insert under one shard lock.
            let mut shard = self.shard_of(&subscriber.recipient.client).lock();
            if let Some(limit) = caps.per_client {
                if shard.connections_of(&subscriber.recipient.client) >= limit {
                    drop(shard);
                    self.connections.fetch_sub(1, Ordering::AcqRel);
                    return Err(Full::Client { limit });
                }
            }
            shard.insert(&subscriber);
        }
        Ok(Subscription {
            registry: self.clone(),
            subscriber,
        })
    }

    /// The streams with an id after `after`, oldest first, at most `limit`; and how many
    /// streams there are in all.
    pub fn list(&self, after: ConnId, limit: usize) -> (Vec<Arc<Subscriber>>, usize) {
        let mut page: Vec<Arc<Subscriber>> = Vec::new();
        for shard in self.shards.iter() {
            shard.lock().collect_after(after, &mut page);
            // Keep the working set at `limit` so a big node costs memory once, not per shard.
            if page.len() > limit {
                page.sort_unstable_by_key(|s| s.id);
                page.truncate(limit);
            }
        }
        page.sort_unstable_by_key(|s| s.id);
        page.truncate(limit);
        (page, self.connections())
    }

    /// Wakes the subscribers a batch concerns.
    pub fn wake(&self, interest: &Interest) {
        if interest.is_empty() {
            return;
        }
        let mut wakers = Vec::new();
        for shard in self.shards.iter() {
            shard.lock().collect_interested(interest, &mut wakers);
            wake_all(&mut wakers);
        }
    }

    /// Wakes everyone (heartbeat tick, shutdown).
    fn wake_everyone(&self) {
        let mut wakers = Vec::new();
        for shard in self.shards.iter() {
            shard.lock().collect_all(&mut wakers);
            wake_all(&mut wakers);
        }
    }

    /// One shared heartbeat tick: bodies that wrote nothing since the last tick send a ping.
    pub fn heartbeat(&self) {
        self.heartbeat_epoch.fetch_add(1, Ordering::AcqRel);
        self.wake_everyone();
    }

    pub fn heartbeat_epoch(&self) -> u64 {
        self.heartbeat_epoch.load(Ordering::Acquire)
    }

    /// Asks every stream to end (shutdown); their bodies write a last comment and finish.
    pub fn close_all(&self) {
        for shard in self.shards.iter() {
            shard.lock().mark_closing();
        }
        self.wake_everyone();
    }

    /// Open SSE connections.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// Connections of one client id.
    pub fn connections_of(&self, client: &ClientId) -> usize {
        self.shard_of(client).lock().connections_of(client)
    }

    /// Distinct client ids connected.
    pub fn clients(&self) -> usize {
        self.shards.iter().map(|s| s.lock().clients()).sum()
    }
}

fn wake_all(wakers: &mut Vec<Waker>) {
    for waker in wakers.drain(..) {
        waker.wake();
    }
}

/// Membership of one connection; unregisters on drop.
pub struct Subscription {
    registry: Arc<Registry>,
    subscriber: Arc<Subscriber>,
}

impl Subscription {
    pub fn subscriber(&self) -> &Subscriber {
        &self.subscriber
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let subscriber = &self.subscriber;
        self.registry
            .shard_of(&subscriber.recipient.client)
            .lock()
            .remove(subscriber);
        self.registry.connections.fetch_sub(1, Ordering::AcqRel);
    }
}
