//! Presence: which clients are connected to topics matching a selector, across the cluster.
//! Each node reports its clients (those whose streams ask for topics) through the
//! Coordination store every few seconds ([`Node::local_presence`], the report task); a query
//! answers this node's clients exactly, from the registry, and the other nodes' as they last
//! reported (eventual: a few seconds behind).
//!
//! One entry per client and node: the selectors its streams ask for that meet the asked ones,
//! how many of its streams ask for topics, and when its oldest such stream opened. A caller
//! may ask only for selectors within its subscribe grant (as for a stream), and an entry shows
//! only the selectors that grant covers (else the asked selectors it meets), so a narrow
//! credential learns nothing about topics outside its grant.

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use super::stats::NODE_FRESHNESS;
use super::{require, ErrorCode, Node, NodeError};
use crate::auth::{Access, Caller};
use crate::event::{Selector, UnixMillis};
use crate::outbox::PresenceEntry;
use crate::registry::ConnId;

/// Most clients one presence page may hold.
pub const MAX_PRESENCE_PAGE: usize = 1000;
/// Most entries one node reports: a report is bounded work for the store, and a node with
/// more clients on topics is listed by the others only that far (its own answers stay exact).
pub const MAX_PRESENCE_REPORT: usize = 10_000;

/// What a transport parsed from a presence request.
#[derive(Debug, Clone, Default)]
pub struct PresenceRequest {
    /// At least one.
    pub selectors: Vec<Selector>,
    /// 1 to [`MAX_PRESENCE_PAGE`].
    pub limit: usize,
    /// A `next` of the previous page.
    pub after: Option<String>,
}

/// One page of presence (camelCase JSON).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresencePage {
    pub clients: Vec<PresenceClient>,
    /// Pass as `after` for the next page; `None` on the last.
    pub next: Option<String>,
}

/// One client on one node.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceClient {
    pub client_id: String,
    pub node: String,
    pub topics: Vec<String>,
    pub streams: u64,
    pub connected_at: String,
}

/// The opaque cursor of an entry: base64url of `client \n node`.
fn cursor_of(client: &str, node: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{client}\n{node}"))
}

/// The (client, node) a cursor names.
///
/// # Errors
/// 400 `invalid_field` when it is not one of ours.
fn parse_cursor(text: &str) -> Result<(String, String), NodeError> {
    let bad = || {
        NodeError::invalid(
            ErrorCode::InvalidField,
            "`after` must be the `next` of a previous presence page",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (client, node) = text.split_once('\n').ok_or_else(bad)?;
    Ok((client.to_owned(), node.to_owned()))
}

impl Node {
    /// This node's clients on topics, as it reports them (sorted by client id, at most
    /// `limit`).
    pub(super) fn local_presence(&self, seen_at: UnixMillis, limit: usize) -> Vec<PresenceEntry> {
        let (streams, _) = self.registry.list(ConnId(0), usize::MAX);
        let mut clients: BTreeMap<&str, (BTreeSet<&str>, u64, UnixMillis)> = BTreeMap::new();
        for stream in &streams {
            let recipient = &stream.recipient;
            if recipient.selectors.is_empty() {
                continue;
            }
            let entry = clients.entry(recipient.client.as_str()).or_insert((
                BTreeSet::new(),
                0,
                stream.connected_at,
            ));
            entry
                .0
                .extend(recipient.selectors.iter().map(Selector::as_str));
            entry.1 += 1;
            entry.2 = entry.2.min(stream.connected_at);
        }
        clients
            .into_iter()
            .take(limit)
            .map(|(client, (topics, streams, connected_at))| PresenceEntry {
                node_id: self.settings.node_id.clone(),
                client: client.to_owned(),
                topics: topics.into_iter().map(str::to_owned).collect(),
                streams,
                connected_at,
                seen_at,
            })
            .collect()
    }

    /// The clients connected to topics that meet `request.selectors`, this node's exactly and
    /// the others' as last reported, by client id then node.
    ///
    /// # Errors
    /// Auth, no selector, selectors over the limit or outside the grant, a bad cursor, the
    /// store.
    pub async fn presence(
        &self,
        caller: &Caller,
        request: PresenceRequest,
    ) -> Result<PresencePage, NodeError> {
        require(caller, Access::Client)?;
        if request.selectors.is_empty() {
            return Err(NodeError::invalid(
                ErrorCode::InvalidTopic,
                "presence needs at least one `topic` selector (`*` for every topic)",
            ));
        }
        self.check_selectors(caller, &request.selectors)?;
        let after = request.after.as_deref().map(parse_cursor).transpose()?;
        let limit = request.limit.clamp(1, MAX_PRESENCE_PAGE);
        let me = &self.settings.node_id;
        let mut entries = self.local_presence(UnixMillis::now(), usize::MAX);
        let reported = self.coordination.presence(NODE_FRESHNESS).await?;
        entries.extend(reported.into_iter().filter(|e| &e.node_id != me));
        entries.sort_by(|a, b| (&a.client, &a.node_id).cmp(&(&b.client, &b.node_id)));
        let grant = caller.subscribe_grant();
        let mut clients = Vec::new();
        let mut next = None;
        for entry in entries {
            if let Some((client, node)) = &after {
                if (&entry.client, &entry.node_id) <= (client, node) {
                    continue;
                }
            }
            let met: Vec<Selector> = entry
                .topics
                .iter()
                .filter_map(|t| Selector::new(t).ok())
                .filter(|s| request.selectors.iter().any(|asked| asked.overlaps(s)))
                .collect();
            if met.is_empty() {
                continue;
            }
            if clients.len() == limit {
                next = clients
                    .last()
                    .map(|c: &PresenceClient| cursor_of(&c.client_id, &c.node));
                break;
            }
            let mut topics: Vec<String> = met
                .iter()
                .filter(|s| grant.allows_selector(s))
                .map(|s| s.to_string())
                .collect();
            if topics.is_empty() {
                topics = request
                    .selectors
                    .iter()
                    .filter(|asked| met.iter().any(|s| asked.overlaps(s)))
                    .map(|s| s.to_string())
                    .collect();
            }
            clients.push(PresenceClient {
                client_id: entry.client,
                node: entry.node_id,
                topics,
                streams: entry.streams,
                connected_at: entry.connected_at.to_rfc3339(),
            });
        }
        Ok(PresencePage { clients, next })
    }
}
