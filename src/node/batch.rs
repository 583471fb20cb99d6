//! Batch publishing: `{"events": [...]}`, each event with the fields of a single broadcast
//! (`eventType`, `data`, `topics`, `messageId`) plus an optional `target` (a send to that
//! client). Every
//! event is built by the same [`new_event`] as a single publish, so a field the single
//! endpoints learn, batch events accept too, and each event's topics are checked against the
//! caller's publish grant as a single publish's are. One invalid event refuses the whole batch with
//! an error naming its index; otherwise the events go to the group commit as one unit: stored
//! together with consecutive sequences, or not at all.

use std::collections::HashMap;

use serde_json::{Map, Value};

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
        body: &Map<String, Value>,
    ) -> Result<Vec<Published>, NodeError> {
        require(caller, Access::Event)?;
        let items = self.batch_items(body)?;
        let mut events = Vec::with_capacity(items.len());
        let mut chosen: HashMap<MessageId, usize> = HashMap::new();
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
            events.push(event);
        }
        let ids: Vec<MessageId> = events.iter().map(|e| e.message_id).collect();
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
    fn batch_items<'a>(&self, body: &'a Map<String, Value>) -> Result<&'a [Value], NodeError> {
        let max = self.settings.max_batch_events;
        let items = match body.get("events") {
            None | Some(Value::Null) => {
                return Err(NodeError::invalid(
                    ErrorCode::MissingField,
                    "`events` is required (an array of events)",
                ))
            }
            Some(Value::Array(items)) => items,
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
fn batch_event(item: &Value) -> Result<crate::event::NewEvent, NodeError> {
    let Value::Object(body) = item else {
        return Err(NodeError::invalid(
            ErrorCode::InvalidField,
            "each event must be a JSON object",
        ));
    };
    let target = match body.get("target") {
        None | Some(Value::Null) => None,
        Some(Value::String(client)) => Some(ClientId::new(client).map_err(|e| {
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

    #[test]
    fn a_batch_event_is_a_broadcast_or_a_send() {
        let event = batch_event(&json!({"data": 1})).unwrap();
        assert_eq!(event.event_type.as_str(), "message");
        assert_eq!(event.target, None);
        let event = batch_event(&json!({"eventType": "t", "data": 1, "target": "c1"})).unwrap();
        assert_eq!(event.target.unwrap().as_str(), "c1");
        for (item, code) in [
            (json!(1), ErrorCode::InvalidField),
            (
                json!({"data": 1, "target": "a b"}),
                ErrorCode::InvalidClientId,
            ),
            (json!({"data": 1, "target": 5}), ErrorCode::InvalidClientId),
            (json!({"eventType": "x"}), ErrorCode::MissingField),
        ] {
            assert_eq!(batch_event(&item).unwrap_err().code(), code, "{item}");
        }
    }
}
