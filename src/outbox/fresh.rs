//! Events this node has just appended, handed from the publisher to the dispatcher so the
//! dispatcher does not read back from the store what it was given a moment ago (on the
//! embedded store that read was a blocking-pool hop, a read transaction and a decode of every
//! event).
//!
//! The dispatcher takes them only when they continue exactly after its high-water mark; anything
//! else (another node's events in between, a dispatcher that fell behind) it reads from the
//! store as before, so the hand-off is a shortcut, never a second source of truth.

use std::collections::VecDeque;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::event::{Event, Sequence};

/// Events kept for a dispatcher that does not take them (it is behind, reading the store):
/// past this the oldest go, and it reads those from the store.
const CAPACITY: usize = 16_384;

#[derive(Default)]
pub struct Fresh {
    events: Mutex<VecDeque<Event>>,
    appended: Notify,
}

impl Fresh {
    /// Hands over the events of one durable append (in sequence order) and wakes the
    /// dispatcher.
    pub fn push(&self, events: Vec<Event>) {
        {
            let mut queue = self.events.lock();
            queue.extend(events);
            let excess = queue.len().saturating_sub(CAPACITY);
            queue.drain(..excess);
        }
        self.appended.notify_one();
    }

    /// Wakes the dispatcher without events (an append that stored nothing new).
    pub fn notify(&self) {
        self.appended.notify_one();
    }

    /// Resolves at the next append.
    pub async fn appended(&self) {
        self.appended.notified().await;
    }

    /// Up to `max` events that follow `after` without a gap; older ones are dropped. Empty
    /// when the first one kept is not `after + 1`.
    pub fn take_after(&self, after: Sequence, max: usize) -> Vec<Event> {
        let mut queue = self.events.lock();
        while queue.front().is_some_and(|e| e.sequence <= after) {
            queue.pop_front();
        }
        let mut next = after.next();
        let mut taken = 0;
        while taken < max && queue.get(taken).is_some_and(|e| e.sequence == next) {
            next = next.next();
            taken += 1;
        }
        queue.drain(..taken).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::contract::sample;

    fn events(sequences: &[u64]) -> Vec<Event> {
        sequences
            .iter()
            .map(|&s| sample(s, None).with_sequence(Sequence(s)))
            .collect()
    }

    fn sequences(events: &[Event]) -> Vec<u64> {
        events.iter().map(|e| e.sequence.0).collect()
    }

    #[test]
    fn only_events_right_after_the_mark_are_taken() {
        let fresh = Fresh::default();
        fresh.push(events(&[3, 4, 5]));
        fresh.push(events(&[8, 9]));
        assert!(fresh.take_after(Sequence(1), 10).is_empty(), "2 is missing");
        assert_eq!(sequences(&fresh.take_after(Sequence(2), 2)), vec![3, 4]);
        assert_eq!(sequences(&fresh.take_after(Sequence(4), 10)), vec![5]);
        // 6 and 7 came from elsewhere (read from the store); 8 and 9 follow them.
        assert_eq!(sequences(&fresh.take_after(Sequence(7), 10)), vec![8, 9]);
        assert!(fresh.take_after(Sequence(9), 10).is_empty());
    }

    #[test]
    fn events_behind_the_mark_are_dropped_and_the_queue_is_bounded() {
        let fresh = Fresh::default();
        fresh.push(events(&[1, 2, 3]));
        assert_eq!(sequences(&fresh.take_after(Sequence(2), 10)), vec![3]);
        let many: Vec<u64> = (10..10 + CAPACITY as u64 + 5).collect();
        fresh.push(events(&many));
        assert!(
            fresh.take_after(Sequence(9), 1).is_empty(),
            "the oldest went"
        );
        assert_eq!(fresh.take_after(Sequence(14), 1).len(), 1);
    }
}
