//! What operators read: `/api/sse/stats` (this node, the store's positions, every live node)
//! and `/api/sse/connections` (this node's streams).

use std::time::Duration;

use serde::Serialize;

use super::{require, Node, NodeError};
use crate::auth::{Access, Caller};
use crate::event::Filter;
use crate::registry::ConnId;

/// How recently a node must have reported to count as part of the cluster.
pub(super) const NODE_FRESHNESS: Duration = Duration::from_secs(15);

/// This node and the store, as one JSON object (camelCase).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub node: String,
    pub connections: usize,
    pub clients: usize,
    pub head_sequence: u64,
    pub dispatched_sequence: u64,
    pub oldest_sequence: Option<u64>,
    pub store: &'static str,
    pub store_available: bool,
    pub ready: bool,
    pub uptime_seconds: u64,
    /// Counters since this node started (rates are differences of two readings).
    pub events_published: u64,
    pub frames_delivered: u64,
    pub streams_opened: u64,
    pub retention: RetentionStats,
    pub nodes: Vec<NodeStats>,
}

/// The retention settings, as the outbox page shows them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionStats {
    pub max_events: Option<u64>,
    pub max_age_seconds: Option<u64>,
}

/// One node as it last reported itself.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStats {
    pub node: String,
    pub connections: u64,
    pub clients: u64,
    pub dispatched_sequence: u64,
    pub seen_at: String,
    pub events_published: u64,
    pub frames_delivered: u64,
    pub streams_opened: u64,
    pub ready: bool,
    pub store_available: bool,
}

/// One page of this node's streams, oldest first.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connections {
    pub node: String,
    /// Streams on this node now.
    pub total: usize,
    pub connections: Vec<Connection>,
    /// Pass as `after` for the next page; `None` on the last.
    pub next: Option<u64>,
}

/// One stream, as an operator sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub conn_id: u64,
    pub client_id: String,
    /// The folded types of its filter; `None` for every type.
    pub filter: Option<Vec<String>>,
    pub topics: Vec<String>,
    pub connected_at: String,
    /// Everything through this sequence was delivered to it.
    pub position: u64,
    pub protocol: &'static str,
    pub tls: bool,
}

/// The most streams one page lists.
pub const MAX_CONNECTIONS_PAGE: usize = 1000;

impl Node {
    /// # Errors
    /// Auth, the store.
    pub async fn stats(&self, caller: &Caller) -> Result<Stats, NodeError> {
        require(caller, Access::Subscribe)?;
        let head = self.log.head().await?;
        let oldest = self.log.oldest().await?;
        let nodes = self.coordination.nodes(NODE_FRESHNESS).await?;
        Ok(Stats {
            node: self.settings.node_id.clone(),
            connections: self.registry.connections(),
            clients: self.registry.clients(),
            head_sequence: head.0,
            dispatched_sequence: self.streams.tail.dispatched().0,
            oldest_sequence: oldest.map(|s| s.0),
            store: self.log.kind(),
            store_available: self.health.failing().is_none(),
            ready: self.readiness().is_ok(),
            uptime_seconds: self.started.elapsed().as_secs(),
            events_published: self.metrics.events_published_all.get(),
            frames_delivered: self.metrics.frames_delivered.get(),
            streams_opened: self.metrics.connections_total.get(),
            retention: RetentionStats {
                max_events: self.settings.retention.max_events,
                max_age_seconds: self.settings.retention.max_age.map(|a| a.as_secs()),
            },
            nodes: nodes
                .into_iter()
                .map(|n| NodeStats {
                    node: n.node_id,
                    connections: n.connections,
                    clients: n.clients,
                    dispatched_sequence: n.dispatched.0,
                    seen_at: n.seen_at.to_rfc3339(),
                    events_published: n.events_published,
                    frames_delivered: n.frames_delivered,
                    streams_opened: n.streams_opened,
                    ready: n.ready,
                    store_available: n.store_available,
                })
                .collect(),
        })
    }

    /// This node's streams with an id after `after`, oldest first, at most `limit`
    /// (1..=[`MAX_CONNECTIONS_PAGE`]).
    ///
    /// # Errors
    /// Auth.
    pub fn list_connections(
        &self,
        caller: &Caller,
        after: u64,
        limit: usize,
    ) -> Result<Connections, NodeError> {
        require(caller, Access::Subscribe)?;
        let limit = limit.clamp(1, MAX_CONNECTIONS_PAGE);
        let (page, total) = self.registry.list(ConnId(after), limit);
        let next = (page.len() == limit)
            .then(|| page.last().map(|s| s.id.0))
            .flatten();
        let connections = page
            .iter()
            .map(|s| Connection {
                conn_id: s.id.0,
                client_id: s.recipient.client.to_string(),
                filter: match &s.recipient.filter {
                    Filter::All => None,
                    Filter::Types(types) => Some(types.iter().map(|t| t.to_string()).collect()),
                },
                topics: s
                    .recipient
                    .selectors
                    .iter()
                    .map(|t| t.to_string())
                    .collect(),
                connected_at: s.connected_at.to_rfc3339(),
                position: s.position().0,
                protocol: s.info.protocol,
                tls: s.info.tls,
            })
            .collect();
        Ok(Connections {
            node: self.settings.node_id.clone(),
            total,
            connections,
            next,
        })
    }
}
