//! History: stored events in order, one page at a time, with exactly the visibility a stream
//! opened with the same parameters and credential would have. The same identity rules as
//! opening a stream (`open.rs`), the same selector checks (`grants.rs`), and the same delivery
//! rule ([`Recipient::receives_event`]) decide; the store only narrows what it reads
//! ([`EventLog::read_visible`](crate::outbox::EventLog::read_visible): an index scan on
//! MongoDB).

use serde::Serialize;
use serde_json::Value;

use super::{require, Node, NodeError};
use crate::auth::{Access, Caller};
use crate::event::{ClientId, Filter, Recipient, Selector, Sequence};
use crate::outbox::Visibility;
use crate::sse::frame::event_data;

/// Most events one history page may hold.
pub const MAX_HISTORY_PAGE: usize = 1000;
/// Store reads one page may take when the type filter rejects what the store found, so a
/// request costs a bounded amount of work; the page then ends early with a `next`.
const MAX_READS_PER_PAGE: usize = 8;

/// What a transport parsed from a history request.
#[derive(Debug, Clone, Default)]
pub struct HistoryRequest {
    /// Events after this sequence.
    pub after: Sequence,
    /// At most this many (1 to [`MAX_HISTORY_PAGE`]).
    pub limit: usize,
    pub client_id: Option<ClientId>,
    pub filter: Filter,
    pub selectors: Vec<Selector>,
}

/// One page of history (camelCase JSON).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    /// Each event's data object, exactly as a stream delivers it in `data:`.
    pub events: Vec<Value>,
    /// Pass as `after` for the next page; `None` when everything through `head_sequence` was
    /// read.
    pub next: Option<u64>,
    pub oldest_sequence: Option<u64>,
    /// The newest sequence this node has dispatched: the page never reaches past it, so a
    /// stream opened with `lastEventId=<headSequence>` continues without a gap or a duplicate.
    pub head_sequence: u64,
}

impl Node {
    /// Reads a page of history as the caller may see it.
    ///
    /// # Errors
    /// Auth, a token for another client, a filter or selectors over the limits or outside the
    /// grant, the store.
    pub async fn history(
        &self,
        caller: &Caller,
        request: HistoryRequest,
    ) -> Result<HistoryPage, NodeError> {
        require(caller, Access::Client)?;
        let client = self.client_for(caller, request.client_id)?;
        self.check_filter(&request.filter)?;
        self.check_selectors(caller, &request.selectors)?;
        let limit = request.limit.clamp(1, MAX_HISTORY_PAGE);
        // Never past what the dispatcher released: a missing number may still appear.
        let until = self.streams.tail.dispatched();
        let visibility = Visibility {
            selectors: &request.selectors,
            client: client.as_ref(),
        };
        // Without a client id a reader sees broadcasts only, as a stream with a fresh id does.
        let recipient = Recipient::new(
            client.clone().unwrap_or_else(ClientId::random),
            request.filter.clone(),
        )
        .with_selectors(request.selectors.clone());
        let mut events = Vec::new();
        let mut through = request.after;
        for _ in 0..MAX_READS_PER_PAGE {
            if events.len() >= limit || through >= until {
                break;
            }
            let page = self
                .log
                .read_visible(through, until, visibility, limit - events.len())
                .await?;
            for event in page.events.iter().filter(|e| recipient.receives_event(e)) {
                // The data JSON is built by the frame encoder, so history and streams agree.
                events.push(serde_json::from_str(&event_data(event)).unwrap_or(Value::Null));
            }
            if page.through <= through {
                break;
            }
            through = page.through;
        }
        let oldest = self.log.oldest().await?;
        Ok(HistoryPage {
            events,
            next: (through < until).then_some(through.0),
            oldest_sequence: oldest.map(|s| s.0),
            head_sequence: until.0,
        })
    }
}
