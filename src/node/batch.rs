//! Batch publishing: `{"events": [...]}`, each event with the fields of a single broadcast
//! (`eventType`, `data`, `topics`, `messageId`) plus an optional `target` (a send to that
//! client). Every
//! event is built by the same [`new_event`] as a single publish, so a field the single
//! endpoints learn, batch events accept too, and each event's topics are checked against the
//! caller's publish grant as a single publish's are. One invalid event refuses the whole batch with
//! an error naming its index; otherwise the events go to the group commit as one unit: stored
//! together with consecutive sequences, or not at all.

use std::collections::HashMap;

use super::body::{BatchBody, EventBody};
use super::json::{Field, Item};
use super::publish::new_event;
use super::{require, ErrorCode, Node, NodeError, PublishKind, Published};
use crate::auth::{Access, Caller};
use crate::event::{ClientId, MessageId};

impl Node {
    /// Publishes every event of a batch body; resolves once all are durable, with one
    /// `Published` per event in order (a retried `messageId` answers its original).
    ///
    /// # Errors
    /// Auth; a body without 1 to `--max-batch-events` events; the first invalid event or the
    /// first with a topic outside the grant ([`NodeError::InvalidEvent`]); the store (503).
    /// Nothing is stored on any error.
    pub async fn publish_batch(
        &self,
        caller: &Caller,
        body: &BatchBody<'_>,
    ) -> Result<Vec<Published>, NodeError> {
        require(caller, Access::Event)?;
        let items = self.batch_items(body)?;
        let mut events = Vec::with_capacity(items.len());
        let mut chosen: HashMap<MessageId, usize> = HashMap::new();
        let mut ids = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let event = batch_event(item).map_err(|e| e.at(index))?;
            self.check_publish_topics(caller, &event.topics)
                .map_err(|e| e.at(index))?;
            if event.chosen_id {
                if let Some(first) = chosen.insert(event.message_id, index) {
                    return Err(NodeError::invalid(
                        ErrorCode::InvalidField,
                        format!("`messageId` repeats the one of events[{first}]"),
                    )
                    .at(index));
                }
            }
            ids.push(event.message_id);
            events.push(event);
        }
        let sequences = self.publisher.publish_all(events).await?;
        Ok(sequences
            .into_iter()
            .zip(ids)
            .map(|(sequence, message_id)| Published {
                sequence,
                message_id,
            })
            .collect())
    }

    /// The `events` array, holding 1 to `--max-batch-events` events.
    fn batch_items<'b, 'a>(
        &self,
        body: &'b BatchBody<'a>,
    ) -> Result<&'b [Item<EventBody<'a>>], NodeError> {
        let max = self.settings.max_batch_events;
        let items = match body.events.given() {
            None => {
                return Err(NodeError::invalid(
                    ErrorCode::MissingField,
                    "`events` is required (an array of events)",
                ))
            }
            Some(Field::List(items)) => items,
            Some(_) => {
                return Err(NodeError::invalid(
                    ErrorCode::InvalidField,
                    "`events` must be an array of events",
                ))
            }
        };
        if items.is_empty() || items.len() > max {
            return Err(NodeError::invalid(
                ErrorCode::InvalidField,
                format!(
                    "`events` holds {} events; a batch holds 1 to {max}",
                    items.len()
                ),
            ));
        }
        Ok(items)
    }
}

/// One batch event: a broadcast, or a send when it names a `target`.
fn batch_event(item: &Item<EventBody<'_>>) -> Result<crate::event::NewEvent, NodeError> {
    let Item::Object(body) = item else {
        return Err(NodeError::invalid(
            ErrorCode::InvalidField,
            "each event must be a JSON object",
        ));
    };
    let target = match body.target.given() {
        None => None,
        Some(Field::Text(client)) => Some(ClientId::new(client).map_err(|e| {
            NodeError::invalid(ErrorCode::InvalidClientId, format!("`target`: {e}"))
        })?),
        Some(_) => {
            return Err(NodeError::invalid(
                ErrorCode::InvalidClientId,
                "`target` must be a string (a client id)",
            ))
        }
    };
    let kind = match target {
        Some(_) => PublishKind::Send,
        None => PublishKind::Broadcast,
    };
    new_event(kind, target, body)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::node::body::Body;

    fn event_of(item: serde_json::Value) -> Result<crate::event::NewEvent, NodeError> {
        let text = json!({ "events": [item] }).to_string();
        let body = BatchBody::parse(text.as_bytes()).unwrap();
        let Field::List(items) = &body.events else {
            unreachable!()
        };
        batch_event(&items[0])
    }

    #[test]
    fn a_batch_event_is_a_broadcast_or_a_send() {
        let event = event_of(json!({"data": 1})).unwrap();
        assert_eq!(event.event_type.as_str(), "message");
        assert_eq!(event.target, None);
        let event = event_of(json!({"eventType": "t", "data": 1, "target": "c1"})).unwrap();
        assert_eq!(event.target.unwrap().as_str(), "c1");
        for (item, code) in [
            (json!(1), ErrorCode::InvalidField),
            (json!([{"data": 1}]), ErrorCode::InvalidField),
            (
                json!({"data": 1, "target": "a b"}),
                ErrorCode::InvalidClientId,
            ),
            (json!({"data": 1, "target": 5}), ErrorCode::InvalidClientId),
            (json!({"eventType": "x"}), ErrorCode::MissingField),
        ] {
            assert_eq!(event_of(item.clone()).unwrap_err().code(), code, "{item}");
        }
    }
}
