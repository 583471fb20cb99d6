//! The demo generator: while switched on, one node of the cluster publishes a cycle of alert →
//! dataUpdate → heartbeat → notification events every interval.
//!
//! The switch lives in the store, so every node answers start/stop/status alike; the node
//! that publishes is the holder of the `demo` lease, which moves if that node dies.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::event::{EventType, MessageId, NewEvent, UnixMillis};
use crate::outbox::publisher::Publisher;
use crate::outbox::{Coordination, DemoState, StoreError};

pub(crate) const DEFAULT_INTERVAL_SECS: u32 = 5;
pub(crate) const INTERVAL_RANGE: std::ops::RangeInclusive<u32> = 1..=60;
/// How often the generator looks at the switch and renews its lease.
const TICK: Duration = Duration::from_millis(500);
/// A dead holder's lease frees up after this long, and another node takes over.
const LEASE_TTL: Duration = Duration::from_secs(5);
const LEASE: &str = "demo";

pub(crate) struct Demo {
    store: Arc<dyn Coordination>,
    publisher: Publisher,
    node_id: String,
    changed: Notify,
}

impl Demo {
    pub(crate) fn new(
        store: Arc<dyn Coordination>,
        publisher: Publisher,
        node_id: String,
    ) -> Arc<Demo> {
        Arc::new(Demo {
            store,
            publisher,
            node_id,
            changed: Notify::new(),
        })
    }

    /// Switches the generator on; `false` if it was already running.
    ///
    /// # Errors
    /// When the store is unavailable.
    pub(crate) async fn start(&self, interval_secs: u32) -> Result<bool, StoreError> {
        let started = self
            .store
            .swap_demo_state(
                false,
                DemoState {
                    running: true,
                    interval_secs,
                },
            )
            .await?;
        self.changed.notify_one();
        Ok(started)
    }

    /// Switches the generator off; `false` if it was not running.
    ///
    /// # Errors
    /// When the store is unavailable.
    pub(crate) async fn stop(&self) -> Result<bool, StoreError> {
        let current = self.store.demo_state().await?;
        let next = DemoState {
            running: false,
            interval_secs: current.interval_secs,
        };
        let stopped = self.store.swap_demo_state(true, next).await?;
        self.changed.notify_one();
        Ok(stopped)
    }

    /// # Errors
    /// When the store is unavailable.
    pub(crate) async fn status(&self) -> Result<DemoState, StoreError> {
        self.store.demo_state().await
    }

    /// Generates while switched on and holding the lease, until `cancel`.
    pub(crate) async fn run(self: Arc<Self>, cancel: CancellationToken) {
        let mut next_due: Option<Instant> = None;
        let mut count: u64 = 0;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.changed.notified() => {}
                () = tokio::time::sleep(TICK) => {}
            }
            let state = match self.store.demo_state().await {
                Ok(state) => state,
                Err(error) => {
                    tracing::debug!(%error, "demo: store unavailable");
                    continue;
                }
            };
            if !state.running {
                next_due = None;
                continue;
            }
            match self
                .store
                .acquire_lease(LEASE, &self.node_id, LEASE_TTL)
                .await
            {
                Ok(true) => {}
                _ => {
                    next_due = None;
                    continue;
                }
            }
            let now = Instant::now();
            if next_due.is_some_and(|due| now < due) {
                continue;
            }
            next_due = Some(now + Duration::from_secs(u64::from(state.interval_secs.max(1))));
            let event = demo_event(count);
            count += 1;
            if let Err(error) = self.publisher.publish(event).await {
                tracing::warn!(%error, "demo event not published");
            }
        }
    }
}

/// The `n`th event of the cycle alert → dataUpdate → heartbeat → notification.
fn demo_event(n: u64) -> NewEvent {
    let (event_type, fields): (&'static str, Value) = match n % 4 {
        0 => (
            "alert",
            json!({"message": format!("Demo alert #{n}"), "severity": "high", "category": "system"}),
        ),
        1 => (
            "dataUpdate",
            json!({"entityId": format!("sensor-{}", n % 7), "entityType": "sensor", "changes": {"reading": n % 100}}),
        ),
        2 => ("heartbeat", json!({})),
        _ => (
            "notification",
            json!({"message": format!("Demo notification #{n}"), "severity": "info"}),
        ),
    };
    NewEvent {
        message_id: MessageId::random(),
        event_type: EventType::known(event_type),
        target: None,
        created_at: UnixMillis::now(),
        topics: Vec::new(),
        fields: fields.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_has_four_types_in_order() {
        let types: Vec<String> = (0..5)
            .map(|n| demo_event(n).event_type.to_string())
            .collect();
        assert_eq!(
            types,
            ["alert", "dataUpdate", "heartbeat", "notification", "alert"]
        );
    }
}
