//! Publishing: each endpoint's body becomes one event's type and fields, then waits in the
//! group commit until it is durable.

use serde_json::{Map, Value};

use super::grants::topics_field;
use super::{require, ErrorCode, Node, NodeError};
use crate::auth::{Access, Caller};
use crate::event::{ClientId, EventType, MessageId, NewEvent, Sequence, UnixMillis};

/// The publish endpoints: what an event's body means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishKind {
    /// `eventType` (default `message`) and `data`.
    Broadcast,
    /// As broadcast, to one client.
    Send,
    /// `message`, `severity` (default `info`).
    Notification,
    /// `message`, `severity` (default `high`), `category` (default `system`).
    Alert,
    /// `entityId`, `entityType`, `changes` (default `{}`).
    DataUpdate,
}

/// A durable publish: where the event went in the global order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub sequence: Sequence,
    pub message_id: MessageId,
}

/// Longest accepted short text field (`message`, `entityId`, ...).
const MAX_TEXT: usize = 4096;
/// Longest label (`severity`, `category`).
const MAX_LABEL: usize = 64;
/// Type names the hub uses for its own control frames; publishing them would confuse clients.
const RESERVED_TYPES: [&str; 2] = ["connected", "reset"];

impl Node {
    /// Publishes one event built from `body`; resolves once it is durable. `topics` (optional)
    /// must be within the caller's publish grant.
    ///
    /// # Errors
    /// Auth, an invalid body (`code` names the field's rule), a topic outside the grant (403),
    /// or the store (503).
    pub async fn publish(
        &self,
        caller: &Caller,
        kind: PublishKind,
        target: Option<ClientId>,
        body: &Map<String, Value>,
    ) -> Result<Published, NodeError> {
        require(caller, Access::Event)?;
        let (event_type, fields) = build(kind, body)?;
        let topics = topics_field(body.get("topics"))?;
        self.check_publish_topics(caller, &topics)?;
        let event = NewEvent {
            message_id: MessageId::random(),
            event_type,
            target,
            created_at: UnixMillis::now(),
            topics,
            fields: Value::Object(fields).to_string(),
        };
        let message_id = event.message_id;
        let sequence = self.publisher.publish(event).await?;
        Ok(Published {
            sequence,
            message_id,
        })
    }
}

fn invalid(code: ErrorCode, message: impl Into<String>) -> NodeError {
    NodeError::invalid(code, message)
}

/// A required non-empty string of at most `max` characters.
fn text(body: &Map<String, Value>, name: &str, max: usize) -> Result<String, NodeError> {
    optional_text(body, name, max)?
        .ok_or_else(|| invalid(ErrorCode::MissingField, format!("`{name}` is required")))
}

/// An optional non-empty string (absent or null → `None`).
fn optional_text(
    body: &Map<String, Value>,
    name: &str,
    max: usize,
) -> Result<Option<String>, NodeError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if is_blank(s) => Err(invalid(
            ErrorCode::InvalidField,
            format!("`{name}` must not be blank"),
        )),
        Some(Value::String(s)) if s.chars().count() > max => Err(invalid(
            ErrorCode::InvalidField,
            format!("`{name}` must be at most {max} characters"),
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(
            ErrorCode::InvalidField,
            format!("`{name}` must be a string"),
        )),
    }
}

/// Whether a text has nothing but white space, as the OpenAPI document's `\S` pattern (an
/// ECMAScript regex) sees it: Unicode white space plus U+FEFF, but not U+0085 (which Rust's
/// `char::is_whitespace` counts and ECMAScript does not).
fn is_blank(text: &str) -> bool {
    text.chars()
        .all(|c| (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}')
}

/// The event type and type-specific fields for one endpoint's body.
fn build(
    kind: PublishKind,
    body: &Map<String, Value>,
) -> Result<(EventType, Map<String, Value>), NodeError> {
    let mut out = Map::new();
    let event_type = match kind {
        PublishKind::Broadcast | PublishKind::Send => {
            let event_type = event_type(body)?;
            let data = match body.get("data") {
                None | Some(Value::Null) => {
                    return Err(invalid(
                        ErrorCode::MissingField,
                        "`data` is required (any JSON value but null or \"\")",
                    ))
                }
                Some(Value::String(s)) if s.is_empty() => {
                    return Err(invalid(
                        ErrorCode::InvalidField,
                        "`data` must not be an empty string",
                    ))
                }
                Some(data) => data.clone(),
            };
            out.insert("data".into(), data);
            event_type
        }
        PublishKind::Notification => {
            out.insert("message".into(), text(body, "message", MAX_TEXT)?.into());
            let severity = optional_text(body, "severity", MAX_LABEL)?;
            out.insert(
                "severity".into(),
                severity.as_deref().unwrap_or("info").into(),
            );
            EventType::known("notification")
        }
        PublishKind::Alert => {
            out.insert("message".into(), text(body, "message", MAX_TEXT)?.into());
            let severity = optional_text(body, "severity", MAX_LABEL)?;
            let category = optional_text(body, "category", MAX_LABEL)?;
            out.insert(
                "severity".into(),
                severity.as_deref().unwrap_or("high").into(),
            );
            out.insert(
                "category".into(),
                category.as_deref().unwrap_or("system").into(),
            );
            EventType::known("alert")
        }
        PublishKind::DataUpdate => {
            out.insert("entityId".into(), text(body, "entityId", MAX_TEXT)?.into());
            out.insert(
                "entityType".into(),
                text(body, "entityType", MAX_TEXT)?.into(),
            );
            let changes = match body.get("changes") {
                None | Some(Value::Null) => Value::Object(Map::new()),
                Some(Value::Object(changes)) => Value::Object(changes.clone()),
                Some(_) => {
                    return Err(invalid(
                        ErrorCode::InvalidField,
                        "`changes` must be a JSON object",
                    ))
                }
            };
            out.insert("changes".into(), changes);
            EventType::known("dataUpdate")
        }
    };
    Ok((event_type, out))
}

/// `eventType`: default `message`; never one of the hub's own control frame names.
fn event_type(body: &Map<String, Value>) -> Result<EventType, NodeError> {
    let event_type = match body.get("eventType") {
        None | Some(Value::Null) => EventType::known("message"),
        Some(Value::String(name)) => {
            EventType::new(name).map_err(|e| invalid(ErrorCode::InvalidEventType, e.to_string()))?
        }
        Some(_) => {
            return Err(invalid(
                ErrorCode::InvalidEventType,
                "`eventType` must be a string",
            ))
        }
    };
    if RESERVED_TYPES
        .iter()
        .any(|r| r.eq_ignore_ascii_case(event_type.as_str()))
    {
        return Err(invalid(
            ErrorCode::InvalidEventType,
            format!("`{event_type}` is reserved for the hub's own frames"),
        ));
    }
    Ok(event_type)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_fill_optional_fields() {
        let (t, f) = build(PublishKind::Alert, &body(json!({"message": "disk"}))).unwrap();
        assert_eq!(t.as_str(), "alert");
        assert_eq!(
            Value::Object(f),
            json!({"message": "disk", "severity": "high", "category": "system"})
        );
        let (t, f) = build(
            PublishKind::DataUpdate,
            &body(json!({"entityId": "1", "entityType": "order", "extra": 1})),
        )
        .unwrap();
        assert_eq!(t.as_str(), "dataUpdate");
        assert_eq!(
            Value::Object(f),
            json!({"entityId": "1", "entityType": "order", "changes": {}})
        );
    }

    #[test]
    fn blank_means_what_the_openapi_pattern_means() {
        assert!(is_blank(" \t\u{a0}\u{3000}\u{feff}"));
        assert!(
            !is_blank("\u{85}"),
            "U+0085 is not white space to ECMAScript"
        );
        assert!(!is_blank(" x "));
        let body = |m: &str| json!({ "message": m }).as_object().unwrap().clone();
        assert!(build(PublishKind::Notification, &body("\u{feff}")).is_err());
        assert!(build(PublishKind::Notification, &body("\u{85}")).is_ok());
    }

    #[test]
    fn bad_fields_are_refused_with_their_code() {
        let cases = [
            (
                PublishKind::Broadcast,
                json!({"data": null}),
                ErrorCode::MissingField,
            ),
            (
                PublishKind::Broadcast,
                json!({"data": ""}),
                ErrorCode::InvalidField,
            ),
            (
                PublishKind::Broadcast,
                json!({"eventType": "a\nb", "data": 1}),
                ErrorCode::InvalidEventType,
            ),
            (
                PublishKind::Broadcast,
                json!({"eventType": 7, "data": 1}),
                ErrorCode::InvalidEventType,
            ),
            (
                PublishKind::Broadcast,
                json!({"eventType": "reset", "data": 1}),
                ErrorCode::InvalidEventType,
            ),
            (
                PublishKind::Notification,
                json!({"message": 5}),
                ErrorCode::InvalidField,
            ),
            (
                PublishKind::Notification,
                json!({}),
                ErrorCode::MissingField,
            ),
            (
                PublishKind::DataUpdate,
                json!({"entityId": "1", "entityType": "x", "changes": [1]}),
                ErrorCode::InvalidField,
            ),
        ];
        for (kind, value, code) in cases {
            let error = build(kind, &body(value.clone())).unwrap_err();
            assert_eq!(error.code(), code, "{value}: {error:?}");
        }
    }
}
