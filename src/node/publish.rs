//! Publishing: each endpoint's body becomes one event's type and fields, then waits in the
//! group commit until it is durable.
//!
//! The stored fields are written straight from the body as read ([`EventBody`]): `data` and
//! `changes` are spliced in as the compact JSON text they arrived as (or were rewritten to),
//! strings are escaped as serde_json escapes them, members in the order the endpoints define.
//! So the bytes are those a `serde_json::Value` of the same members would serialise to.

use super::body::EventBody;
use super::grants::topics_field;
use super::json::Field;
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
    /// must be within the caller's publish grant. A `messageId` the publisher chose makes it
    /// retryable: the same id again answers the original.
    ///
    /// # Errors
    /// Auth, an invalid body (`code` names the field's rule), a topic outside the grant (403),
    /// or the store (503).
    pub async fn publish(
        &self,
        caller: &Caller,
        kind: PublishKind,
        target: Option<ClientId>,
        body: &EventBody<'_>,
    ) -> Result<Published, NodeError> {
        require(caller, Access::Event)?;
        let event = new_event(kind, target, body)?;
        self.check_publish_topics(caller, &event.topics)?;
        let message_id = event.message_id;
        let sequence = self.publisher.publish(event).await?;
        Ok(Published {
            sequence,
            message_id,
        })
    }
}

/// The event one publish body describes: what a single endpoint and a batch item share (the
/// caller's grant for its `topics` is checked by the verb).
pub(super) fn new_event(
    kind: PublishKind,
    target: Option<ClientId>,
    body: &EventBody<'_>,
) -> Result<NewEvent, NodeError> {
    let (event_type, fields) = build(kind, body)?;
    let topics = topics_field(&body.topics)?;
    let (message_id, chosen_id) = match message_id(&body.message_id)? {
        Some(chosen) => (chosen, true),
        None => (MessageId::random(), false),
    };
    Ok(NewEvent {
        message_id,
        chosen_id,
        event_type,
        target,
        created_at: UnixMillis::now(),
        topics,
        fields,
    })
}

/// `messageId`: absent (the hub makes one up) or a UUID the publisher chose.
fn message_id(field: &Field<'_>) -> Result<Option<MessageId>, NodeError> {
    match field.given() {
        None => Ok(None),
        Some(Field::Text(text)) => MessageId::parse(text)
            .map(Some)
            .map_err(|e| invalid(ErrorCode::InvalidField, format!("`messageId`: {e}"))),
        Some(_) => Err(invalid(
            ErrorCode::InvalidField,
            "`messageId` must be a string (a UUID)",
        )),
    }
}

fn invalid(code: ErrorCode, message: impl Into<String>) -> NodeError {
    NodeError::invalid(code, message)
}

/// A required non-empty string of at most `max` characters.
fn text<'f>(field: &'f Field<'_>, name: &str, max: usize) -> Result<&'f str, NodeError> {
    optional_text(field, name, max)?
        .ok_or_else(|| invalid(ErrorCode::MissingField, format!("`{name}` is required")))
}

/// An optional non-empty string (absent or null → `None`).
fn optional_text<'f>(
    field: &'f Field<'_>,
    name: &str,
    max: usize,
) -> Result<Option<&'f str>, NodeError> {
    match field.given() {
        None => Ok(None),
        Some(Field::Text(s)) if is_blank(s) => Err(invalid(
            ErrorCode::InvalidField,
            format!("`{name}` must not be blank"),
        )),
        Some(Field::Text(s)) if s.chars().count() > max => Err(invalid(
            ErrorCode::InvalidField,
            format!("`{name}` must be at most {max} characters"),
        )),
        Some(Field::Text(s)) => Ok(Some(s)),
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

/// The stored fields: one compact JSON object, written member by member.
struct Fields(String);

impl Fields {
    fn new(capacity: usize) -> Fields {
        let mut text = String::with_capacity(capacity + 2);
        text.push('{');
        Fields(text)
    }

    /// `"name":` then `json` (compact JSON text).
    fn json(mut self, name: &str, json: &str) -> Fields {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(name);
        self.0.push_str("\":");
        self.0.push_str(json);
        self
    }

    /// `"name":` then `text` as a JSON string, escaped as serde_json escapes it.
    fn text(self, name: &str, text: &str) -> Fields {
        if text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
            let escaped = serde_json::to_string(text).expect("a string serialises");
            return self.json(name, &escaped);
        }
        let mut fields = self.json(name, "\"");
        fields.0.push_str(text);
        fields.0.push('"');
        fields
    }

    fn done(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// The event type and type-specific fields for one endpoint's body.
fn build(kind: PublishKind, body: &EventBody<'_>) -> Result<(EventType, String), NodeError> {
    Ok(match kind {
        PublishKind::Broadcast | PublishKind::Send => {
            let event_type = event_type(&body.event_type)?;
            let data = match body.data.as_ref().map(|d| d.as_str()) {
                None | Some("null") => {
                    return Err(invalid(
                        ErrorCode::MissingField,
                        "`data` is required (any JSON value but null or \"\")",
                    ))
                }
                Some("\"\"") => {
                    return Err(invalid(
                        ErrorCode::InvalidField,
                        "`data` must not be an empty string",
                    ))
                }
                Some(data) => data,
            };
            let fields = Fields::new(data.len() + 8).json("data", data).done();
            (event_type, fields)
        }
        PublishKind::Notification => {
            let message = text(&body.message, "message", MAX_TEXT)?;
            let severity = optional_text(&body.severity, "severity", MAX_LABEL)?;
            let fields = Fields::new(message.len() + 40)
                .text("message", message)
                .text("severity", severity.unwrap_or("info"))
                .done();
            (EventType::known("notification"), fields)
        }
        PublishKind::Alert => {
            let message = text(&body.message, "message", MAX_TEXT)?;
            let severity = optional_text(&body.severity, "severity", MAX_LABEL)?;
            let category = optional_text(&body.category, "category", MAX_LABEL)?;
            let fields = Fields::new(message.len() + 64)
                .text("message", message)
                .text("severity", severity.unwrap_or("high"))
                .text("category", category.unwrap_or("system"))
                .done();
            (EventType::known("alert"), fields)
        }
        PublishKind::DataUpdate => {
            let entity_id = text(&body.entity_id, "entityId", MAX_TEXT)?;
            let entity_type = text(&body.entity_type, "entityType", MAX_TEXT)?;
            let changes = match body.changes.as_ref().map(|c| c.as_str()) {
                None | Some("null") => "{}",
                Some(changes) if changes.starts_with('{') => changes,
                Some(_) => {
                    return Err(invalid(
                        ErrorCode::InvalidField,
                        "`changes` must be a JSON object",
                    ))
                }
            };
            let fields = Fields::new(entity_id.len() + entity_type.len() + changes.len() + 40)
                .text("entityId", entity_id)
                .text("entityType", entity_type)
                .json("changes", changes)
                .done();
            (EventType::known("dataUpdate"), fields)
        }
    })
}

/// `eventType`: default `message`; never one of the hub's own control frame names.
fn event_type(field: &Field<'_>) -> Result<EventType, NodeError> {
    let event_type = match field.given() {
        None => EventType::known("message"),
        Some(Field::Text(name)) => {
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
    use serde_json::{json, Value};

    use super::*;
    use crate::node::body::Body;

    /// `f` over the body `value` reads as.
    fn with<T>(value: &Value, f: impl FnOnce(&EventBody<'_>) -> T) -> T {
        let text = value.to_string();
        f(&EventBody::parse(text.as_bytes()).unwrap())
    }

    fn fields(kind: PublishKind, value: Value) -> (EventType, Value) {
        let (t, f) = with(&value, |body| build(kind, body)).unwrap();
        (t, serde_json::from_str(&f).unwrap())
    }

    #[test]
    fn defaults_fill_optional_fields() {
        let (t, f) = fields(PublishKind::Alert, json!({"message": "disk"}));
        assert_eq!(t.as_str(), "alert");
        assert_eq!(
            f,
            json!({"message": "disk", "severity": "high", "category": "system"})
        );
        let (t, f) = fields(
            PublishKind::DataUpdate,
            json!({"entityId": "1", "entityType": "order", "extra": 1}),
        );
        assert_eq!(t.as_str(), "dataUpdate");
        assert_eq!(
            f,
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
        let notify = |m: &str| {
            with(&json!({ "message": m }), |b| {
                build(PublishKind::Notification, b).is_ok()
            })
        };
        assert!(!notify("\u{feff}"));
        assert!(notify("\u{85}"));
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
            (
                PublishKind::Broadcast,
                json!({"data": 1, "messageId": "not-a-uuid"}),
                ErrorCode::InvalidField,
            ),
            (
                PublishKind::Alert,
                json!({"message": "m", "messageId": 7}),
                ErrorCode::InvalidField,
            ),
        ];
        for (kind, value, code) in cases {
            let error = with(&value, |b| new_event(kind, None, b)).unwrap_err();
            assert_eq!(error.code(), code, "{value}: {error:?}");
        }
    }

    #[test]
    fn a_chosen_message_id_is_kept_and_marked() {
        let id = "0b5c8f1e-3f6a-4c2e-9d7b-1a2b3c4d5e6f";
        let event = with(&json!({"data": 1, "messageId": id}), |b| {
            new_event(PublishKind::Broadcast, None, b)
        })
        .unwrap();
        assert_eq!(event.message_id.to_string(), id);
        assert!(event.chosen_id);
        let event = with(&json!({"message": "m"}), |b| {
            new_event(PublishKind::Notification, None, b)
        })
        .unwrap();
        assert!(!event.chosen_id);
    }

    /// The stored fields as they were made before bodies were read without a tree: the body
    /// read into a `Value`, the members put in a `Map`, the map serialised.
    fn through_a_tree(kind: PublishKind, text: &str) -> String {
        let body: Value = serde_json::from_str(text).unwrap();
        let member = |name: &str, default: &str| match &body[name] {
            Value::Null => Value::from(default),
            other => other.clone(),
        };
        let fields = match kind {
            PublishKind::Broadcast | PublishKind::Send => json!({"data": body["data"]}),
            PublishKind::Notification => {
                json!({"message": body["message"], "severity": member("severity", "info")})
            }
            PublishKind::Alert => json!({
                "message": body["message"],
                "severity": member("severity", "high"),
                "category": member("category", "system"),
            }),
            PublishKind::DataUpdate => json!({
                "entityId": body["entityId"],
                "entityType": body["entityType"],
                "changes": match &body["changes"] { Value::Null => json!({}), c => c.clone() },
            }),
        };
        fields.to_string()
    }

    fn stored(kind: PublishKind, text: &str) -> String {
        let body = EventBody::parse(text.as_bytes()).unwrap();
        build(kind, &body).unwrap().1
    }

    #[test]
    fn fields_are_the_bytes_a_tree_gave_in_any_spelling() {
        let cases = [
            (PublishKind::Broadcast, r#"{"data":{"t":1,"p":2,"n":3}}"#),
            (
                PublishKind::Broadcast,
                "{\n  \"data\": {\n    \"b\": [1, 2.50, 1e3],\n    \"a\": \"x\"\n  }\n}",
            ),
            (
                PublishKind::Broadcast,
                r#"{"data":"\u00e9\/\u001f\ud83d\ude00 \"q\" \\ \n"}"#,
            ),
            (
                PublishKind::Broadcast,
                r#"{"data":"été 😀","eventType":"x"}"#,
            ),
            (
                PublishKind::Broadcast,
                r#"{"data":123456789012345678901234567890}"#,
            ),
            (
                PublishKind::Broadcast,
                r#"{"data":[18446744073709551615,-9223372036854775808,-0,0.1]}"#,
            ),
            (
                PublishKind::Broadcast,
                r#"{"data":{"a":1,"a":{"b":[{"c":{}}]}},"data":{"z":1,"z":2}}"#,
            ),
            (
                PublishKind::Broadcast,
                r#"{"d\u0061ta":{"x":[]} , "other":[1e300,{"k":null}]}"#,
            ),
            (PublishKind::Send, r#"{"data":true}"#),
            (
                PublishKind::Notification,
                r#"{"message":"line\nbreak \"quoted\" \u0007","severity":"warn"}"#,
            ),
            (
                PublishKind::Alert,
                r#"{"message":"disk 91%","category":"ops/\u00e9"}"#,
            ),
            (
                PublishKind::DataUpdate,
                r#"{"entityId":"1","entityType":"order","changes":{ "status" : "shipped" }}"#,
            ),
            (
                PublishKind::DataUpdate,
                r#"{"entityId":"1","entityType":"order"}"#,
            ),
        ];
        for (kind, text) in cases {
            assert_eq!(stored(kind, text), through_a_tree(kind, text), "{text}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        #[test]
        fn data_is_stored_as_a_tree_would_write_it(
            data in crate::node::compact::tests::json_text(),
            space in "[ \n]{0,2}",
        ) {
            let text = format!("{{{space}\"data\":{space}{data}{space}}}");
            let Ok(tree) = serde_json::from_str::<Value>(&text) else {
                proptest::prop_assert!(EventBody::parse(text.as_bytes()).is_err());
                return Ok(());
            };
            let body = EventBody::parse(text.as_bytes()).unwrap();
            match build(PublishKind::Broadcast, &body) {
                Ok((_, fields)) => proptest::prop_assert_eq!(fields, through_a_tree(PublishKind::Broadcast, &text)),
                Err(_) => proptest::prop_assert!(matches!(tree["data"], Value::Null) || tree["data"] == json!("")),
            }
        }
    }
}
