//! The in-memory store: the full contract, nothing on disk. For tests, benchmarks and
//! `--store memory` demos.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{
    CheckpointStore, Coordination, DemoState, EventLog, NodeReport, Page, PresenceEntry, Retention,
    StoreError, StoreFuture,
};
use crate::event::{ClientId, Event, NewEvent, Sequence, UnixMillis};

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Retained events, oldest first, sequences consecutive.
    events: VecDeque<Event>,
    head: Sequence,
    checkpoints: HashMap<ClientId, Sequence>,
    demo: DemoState,
    leases: HashMap<String, (String, Instant)>,
    nodes: HashMap<String, NodeReport>,
    presence: HashMap<String, Vec<PresenceEntry>>,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

fn ready<'a, T: Send + 'a>(value: Result<T, StoreError>) -> StoreFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

impl EventLog for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn append(&self, batch: Vec<NewEvent>) -> StoreFuture<'_, Vec<Sequence>> {
        let mut state = self.state.lock();
        let mut sequences = Vec::with_capacity(batch.len());
        for event in batch {
            state.head = state.head.next();
            let sequence = state.head;
            sequences.push(sequence);
            state.events.push_back(event.with_sequence(sequence));
        }
        ready(Ok(sequences))
    }

    fn read_after(&self, after: Sequence, page: Page) -> StoreFuture<'_, Vec<Event>> {
        let state = self.state.lock();
        let start = match state.events.front() {
            Some(first) => after.0.saturating_sub(first.sequence.0 - 1) as usize,
            None => 0,
        };
        let mut events = Vec::new();
        let mut bytes = 0;
        for event in state.events.iter().skip(start) {
            if !page.has_room(events.len(), bytes) {
                break;
            }
            bytes += event.fields.len();
            events.push(event.clone());
        }
        ready(Ok(events))
    }

    fn head(&self) -> StoreFuture<'_, Sequence> {
        ready(Ok(self.state.lock().head))
    }

    fn oldest(&self) -> StoreFuture<'_, Option<Sequence>> {
        ready(Ok(self.state.lock().events.front().map(|e| e.sequence)))
    }

    fn trim(&self, retention: Retention) -> StoreFuture<'_, u64> {
        let mut state = self.state.lock();
        let before = state.events.len();
        if let Some(max) = retention.max_events {
            while state.events.len() as u64 > max {
                state.events.pop_front();
            }
        }
        if let Some(max_age) = retention.max_age {
            let cutoff = UnixMillis::now().0 - max_age.as_millis() as i64;
            while state
                .events
                .front()
                .is_some_and(|e| e.created_at.0 < cutoff)
            {
                state.events.pop_front();
            }
        }
        ready(Ok((before - state.events.len()) as u64))
    }
}

impl CheckpointStore for MemoryStore {
    fn load_checkpoint<'a>(&'a self, client: &'a ClientId) -> StoreFuture<'a, Option<Sequence>> {
        ready(Ok(self.state.lock().checkpoints.get(client).copied()))
    }

    fn save_checkpoints(&self, batch: Vec<(ClientId, Sequence)>) -> StoreFuture<'_, ()> {
        let mut state = self.state.lock();
        for (client, sequence) in batch {
            let stored = state.checkpoints.entry(client).or_default();
            *stored = (*stored).max(sequence);
        }
        ready(Ok(()))
    }
}

impl Coordination for MemoryStore {
    fn report_node(&self, report: NodeReport) -> StoreFuture<'_, ()> {
        self.state
            .lock()
            .nodes
            .insert(report.node_id.clone(), report);
        ready(Ok(()))
    }

    fn nodes(&self, within: Duration) -> StoreFuture<'_, Vec<NodeReport>> {
        let cutoff = UnixMillis::now().0 - within.as_millis() as i64;
        let mut nodes: Vec<NodeReport> = self
            .state
            .lock()
            .nodes
            .values()
            .filter(|n| n.seen_at.0 >= cutoff)
            .cloned()
            .collect();
        nodes.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        ready(Ok(nodes))
    }

    fn report_presence<'a>(
        &'a self,
        node_id: &'a str,
        entries: Vec<PresenceEntry>,
    ) -> StoreFuture<'a, ()> {
        self.state
            .lock()
            .presence
            .insert(node_id.to_owned(), entries);
        ready(Ok(()))
    }

    fn presence(&self, within: Duration) -> StoreFuture<'_, Vec<PresenceEntry>> {
        let cutoff = UnixMillis::now().0 - within.as_millis() as i64;
        let mut entries: Vec<PresenceEntry> = self
            .state
            .lock()
            .presence
            .values()
            .flatten()
            .filter(|e| e.seen_at.0 >= cutoff)
            .cloned()
            .collect();
        entries.sort_by(|a, b| (&a.client, &a.node_id).cmp(&(&b.client, &b.node_id)));
        ready(Ok(entries))
    }

    fn demo_state(&self) -> StoreFuture<'_, DemoState> {
        ready(Ok(self.state.lock().demo))
    }

    fn swap_demo_state(&self, expect_running: bool, next: DemoState) -> StoreFuture<'_, bool> {
        let mut state = self.state.lock();
        let swapped = state.demo.running == expect_running;
        if swapped {
            state.demo = next;
        }
        ready(Ok(swapped))
    }

    fn acquire_lease<'a>(
        &'a self,
        name: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let now = Instant::now();
        let mut state = self.state.lock();
        let lease = state
            .leases
            .entry(name.to_owned())
            .or_insert_with(|| (holder.to_owned(), now));
        let held = lease.0 == holder || lease.1 <= now;
        if held {
            *lease = (holder.to_owned(), now + ttl);
        }
        ready(Ok(held))
    }
}

#[cfg(test)]
mod tests {
    crate::store_contract_tests!(super::MemoryStore::new());
}
