//! What `/api/sse/stats` reports: this node, the store's positions, every live node.

use std::time::Duration;

use serde::Serialize;

use super::{require, Node, NodeError};
use crate::auth::{Access, Caller};

/// How recently a node must have reported to count as part of the cluster.
const NODE_FRESHNESS: Duration = Duration::from_secs(15);

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
    pub uptime_seconds: u64,
    pub nodes: Vec<NodeStats>,
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
}

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
            store_available: self.dispatch.store_ok(),
            uptime_seconds: self.started.elapsed().as_secs(),
            nodes: nodes
                .into_iter()
                .map(|n| NodeStats {
                    node: n.node_id,
                    connections: n.connections,
                    clients: n.clients,
                    dispatched_sequence: n.dispatched.0,
                    seen_at: n.seen_at.to_rfc3339(),
                })
                .collect(),
        })
    }
}
