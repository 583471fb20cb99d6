//! `POST /api/sse/{broadcast,send/{id},notification,alert,data-update}[/{clientId}]`:
//! validate, build the event's fields, wait until durable, answer `{sequence, messageId}`.

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Map, Value};

use crate::auth::Scope;
use crate::event::{EventType, MessageId, NewEvent, UnixMillis};
use crate::http::error::{json_response, ApiError};
use crate::http::extract::{self, Fields};
use crate::http::{AppState, HubBody};

/// The publish endpoints, by their path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Broadcast,
    Send,
    Notification,
    Alert,
    DataUpdate,
}

impl Kind {
    pub fn from_segment(segment: &str) -> Option<Kind> {
        Some(match segment {
            "broadcast" => Kind::Broadcast,
            "send" => Kind::Send,
            "notification" => Kind::Notification,
            "alert" => Kind::Alert,
            "data-update" => Kind::DataUpdate,
            _ => return None,
        })
    }
}

/// Longest accepted short text field (`message`, `severity`, ...).
const MAX_TEXT: usize = 4096;
const MAX_LABEL: usize = 64;

/// Type names the hub uses for its own control frames; publishing them would confuse clients.
const RESERVED_TYPES: [&str; 2] = ["connected", "reset"];

pub async fn publish(
    req: Request<Incoming>,
    state: &AppState,
    kind: Kind,
    target: Option<&str>,
) -> Result<Response<HubBody>, ApiError> {
    extract::authorize(&req, &state.keys, Scope::Publish)?;
    let target = target.map(extract::client_id_segment).transpose()?;
    let (parts, body) = req.into_parts();
    let body =
        extract::required_object(&parts.headers, body, state.settings.max_body_bytes).await?;
    let (event_type, fields) = build(kind, &body)?;
    let event = NewEvent {
        message_id: MessageId::random(),
        event_type,
        target,
        created_at: UnixMillis::now(),
        fields: Value::Object(fields).to_string(),
    };
    let message_id = event.message_id;
    let sequence = state.publisher.publish(event).await?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "sequence": sequence.0, "messageId": message_id.to_string() }),
    ))
}

/// The event type and type-specific fields for one endpoint's body.
fn build(
    kind: Kind,
    body: &Map<String, Value>,
) -> Result<(EventType, Map<String, Value>), ApiError> {
    let fields = Fields(body);
    let mut out = Map::new();
    let event_type = match kind {
        Kind::Broadcast | Kind::Send => {
            let event_type = match body.get("eventType") {
                None | Some(Value::Null) => EventType::known("message"),
                Some(Value::String(name)) => EventType::new(name)
                    .map_err(|e| ApiError::bad_request("invalid_event_type", e.to_string()))?,
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "invalid_event_type",
                        "`eventType` must be a string",
                    ))
                }
            };
            if RESERVED_TYPES
                .iter()
                .any(|r| r.eq_ignore_ascii_case(event_type.as_str()))
            {
                return Err(ApiError::bad_request(
                    "invalid_event_type",
                    format!("`{event_type}` is reserved for the hub's own frames"),
                ));
            }
            match body.get("data") {
                None | Some(Value::Null) => {
                    return Err(ApiError::bad_request(
                        "missing_field",
                        "`data` is required (any JSON value but null or \"\")",
                    ))
                }
                Some(Value::String(s)) if s.is_empty() => {
                    return Err(ApiError::bad_request(
                        "invalid_field",
                        "`data` must not be an empty string",
                    ))
                }
                Some(data) => out.insert("data".into(), data.clone()),
            };
            event_type
        }
        Kind::Notification => {
            out.insert("message".into(), fields.text("message", MAX_TEXT)?.into());
            let severity = fields
                .optional_text("severity", MAX_LABEL)?
                .unwrap_or_else(|| "info".into());
            out.insert("severity".into(), severity.into());
            EventType::known("notification")
        }
        Kind::Alert => {
            out.insert("message".into(), fields.text("message", MAX_TEXT)?.into());
            let severity = fields
                .optional_text("severity", MAX_LABEL)?
                .unwrap_or_else(|| "high".into());
            let category = fields
                .optional_text("category", MAX_LABEL)?
                .unwrap_or_else(|| "system".into());
            out.insert("severity".into(), severity.into());
            out.insert("category".into(), category.into());
            EventType::known("alert")
        }
        Kind::DataUpdate => {
            out.insert("entityId".into(), fields.text("entityId", MAX_TEXT)?.into());
            out.insert(
                "entityType".into(),
                fields.text("entityType", MAX_TEXT)?.into(),
            );
            let changes = match body.get("changes") {
                None | Some(Value::Null) => Value::Object(Map::new()),
                Some(Value::Object(changes)) => Value::Object(changes.clone()),
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "invalid_field",
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

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_fill_optional_fields() {
        let (t, f) = build(Kind::Alert, &body(json!({"message": "disk"}))).unwrap();
        assert_eq!(t.as_str(), "alert");
        assert_eq!(
            Value::Object(f),
            json!({"message": "disk", "severity": "high", "category": "system"})
        );
        let (t, f) = build(
            Kind::DataUpdate,
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
    fn bad_fields_are_refused_with_their_name() {
        let cases = [
            (Kind::Broadcast, json!({"data": null})),
            (Kind::Broadcast, json!({"data": ""})),
            (Kind::Broadcast, json!({"eventType": "a\nb", "data": 1})),
            (Kind::Broadcast, json!({"eventType": 7, "data": 1})),
            (Kind::Broadcast, json!({"eventType": "reset", "data": 1})),
            (Kind::Notification, json!({"message": 5})),
            (Kind::Notification, json!({})),
            (
                Kind::DataUpdate,
                json!({"entityId": "1", "entityType": "x", "changes": [1]}),
            ),
        ];
        for (kind, value) in cases {
            let error = build(kind, &body(value.clone())).unwrap_err();
            assert!(
                matches!(error, ApiError::BadRequest { .. }),
                "{value}: {error:?}"
            );
        }
    }
}
