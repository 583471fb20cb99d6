//! Publish bodies as the verbs take them: every member a publish endpoint or a batch event may
//! carry, read in one pass straight from the request bytes ([`json`](super::json)); `data` and
//! `changes` stay the compact JSON text they are stored and sent as.
//!
//! The rules for each member (required, type, length) are the verbs'; a body is refused here
//! only when it is not JSON or not an object, with exactly the error a `serde_json::Value`
//! reading gives, so the answer to a malformed body did not change with this reading.

use serde::de::MapAccess;
use serde::Deserialize;

use super::json::{Compact, Field, FromMap, Item, Strict};

/// One event's members: a publish endpoint's body or one element of a batch's `events`.
/// Unknown members are ignored (but must be valid JSON); a repeated member counts once, the
/// last one, as in a `Value`.
#[derive(Debug, Default)]
pub struct EventBody<'a> {
    pub event_type: Field<'a>,
    pub data: Option<Compact<'a>>,
    pub topics: Field<'a, Field<'a>>,
    pub message_id: Field<'a>,
    pub target: Field<'a>,
    pub message: Field<'a>,
    pub severity: Field<'a>,
    pub category: Field<'a>,
    pub entity_id: Field<'a>,
    pub entity_type: Field<'a>,
    pub changes: Option<Compact<'a>>,
    /// Some value was rewritten ([`Compact::is_rewritten`]), kept or not (a repeated member).
    rewritten: bool,
}

/// `POST /api/sse/batch`'s body: `events`, an array of event bodies.
#[derive(Debug, Default)]
pub struct BatchBody<'a> {
    pub events: Field<'a, Item<EventBody<'a>>>,
    /// Some event's value was rewritten, kept or not (a repeated `events`).
    rewritten: bool,
}

/// Why a body is not one: the words `serde_json` uses for the same bytes.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("{0}")]
    Json(serde_json::Error),
    #[error("the body must be a JSON object")]
    NotObject,
}

/// A body read from its bytes.
pub trait Body<'a>: FromMap<'a> {
    /// Whether a value was rewritten to compact text ([`Compact::is_rewritten`]).
    fn rewritten(&self) -> bool;

    /// Reads `bytes` (a JSON object).
    ///
    /// # Errors
    /// Not JSON (as `serde_json::from_slice::<Value>` words it) or not an object.
    fn parse(bytes: &'a [u8]) -> Result<Self, BodyError> {
        // UTF-8 checked once for the whole body, so serde_json does not check each string.
        let fast = std::str::from_utf8(bytes)
            .map_err(|_| ())
            .and_then(|text| serde_json::from_str::<Item<Self>>(text).map_err(|_| ()));
        match fast {
            Ok(Item::Object(body)) if !body.rewritten() => return Ok(body),
            // A rewritten value was read on its own: check its depth in place, once.
            Ok(Item::Object(body)) => {
                if serde_json::from_slice::<Strict>(bytes).is_ok() {
                    return Ok(body);
                }
            }
            Ok(Item::NotObject) => return Err(BodyError::NotObject),
            Err(()) => {}
        }
        // Refused: let a `Value` reading say why, word for word as before.
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Err(error) => Err(BodyError::Json(error)),
            Ok(serde_json::Value::Object(_)) => {
                // Unreachable by construction (every member type takes any JSON value).
                Err(BodyError::Json(serde::de::Error::custom(
                    "the body could not be read",
                )))
            }
            Ok(_) => Err(BodyError::NotObject),
        }
    }
}

impl<'a> Body<'a> for EventBody<'a> {
    fn rewritten(&self) -> bool {
        self.rewritten
    }
}

impl<'a> Body<'a> for BatchBody<'a> {
    fn rewritten(&self) -> bool {
        self.rewritten
    }
}

impl<'a> EventBody<'a> {
    /// A `data` or `changes` value, noting whether it was rewritten.
    fn compact(&mut self, value: Compact<'a>) -> Option<Compact<'a>> {
        self.rewritten |= value.is_rewritten();
        Some(value)
    }
}

/// The members the bodies know; the rest are read only to check them.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum Member {
    EventType,
    Data,
    Topics,
    MessageId,
    Target,
    Message,
    Severity,
    Category,
    EntityId,
    EntityType,
    Changes,
    Events,
    #[serde(other)]
    Unknown,
}

impl<'de> FromMap<'de> for EventBody<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut body = EventBody::default();
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::EventType => body.event_type = map.next_value()?,
                Member::Data => body.data = body.compact(map.next_value()?),
                Member::Topics => body.topics = map.next_value()?,
                Member::MessageId => body.message_id = map.next_value()?,
                Member::Target => body.target = map.next_value()?,
                Member::Message => body.message = map.next_value()?,
                Member::Severity => body.severity = map.next_value()?,
                Member::Category => body.category = map.next_value()?,
                Member::EntityId => body.entity_id = map.next_value()?,
                Member::EntityType => body.entity_type = map.next_value()?,
                Member::Changes => body.changes = body.compact(map.next_value()?),
                Member::Events | Member::Unknown => {
                    map.next_value::<Strict>()?;
                }
            }
        }
        Ok(body)
    }
}

impl<'de> FromMap<'de> for BatchBody<'de> {
    fn from_map<A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut body = BatchBody::default();
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::Events => {
                    body.events = map.next_value()?;
                    if let Field::List(items) = &body.events {
                        body.rewritten |= items.iter().any(|item| match item {
                            Item::Object(event) => event.rewritten,
                            Item::NotObject => false,
                        });
                    }
                }
                _ => {
                    map.next_value::<Strict>()?;
                }
            }
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the body reading said before: a `Value` reading's verdict.
    fn through_a_tree(text: &str) -> Result<(), String> {
        match serde_json::from_slice::<serde_json::Value>(text.as_bytes()) {
            Ok(serde_json::Value::Object(_)) => Ok(()),
            Ok(_) => Err(BodyError::NotObject.to_string()),
            Err(error) => Err(error.to_string()),
        }
    }

    fn verdict<'a, T: Body<'a>>(text: &'a str) -> Result<(), String> {
        T::parse(text.as_bytes())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn bodies_are_refused_exactly_as_a_tree_refused_them() {
        let nested = |depth: usize, inner: &str| {
            format!(
                r#"{{"data":{}{inner}{}}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        let batch_nested = |depth: usize| {
            format!(
                r#"{{"events":[{{"data":{}1{}}}]}}"#,
                "[".repeat(depth),
                "]".repeat(depth)
            )
        };
        let mut cases: Vec<String> = [
            r#"{"data":1e400}"#,
            r#"{"data":[1,-1e999]}"#,
            r#"{"data":"\ud800"}"#,
            r#"{"data":"\ud83d\ude00"}"#,
            r#"{"other":"\udc00","data":1}"#,
            r#"{"other":123456789012345678901234567890e999}"#,
            r#"{"message":"\x"}"#,
            r#"{"data":1,}"#,
            r#"{"data":1} x"#,
            r#"{"data":1,"data":}"#,
            r#"{"data" 1}"#,
            r#"[1]"#,
            r#"[1e400]"#,
            r#""text""#,
            r#"null"#,
            r#"{"events":[1,{"data":2},[3]],"events":[{"data":"\u00e9"}]}"#,
            r#"{"topics":[1e400]}"#,
            r#"{"eventType":{"a":1e400}}"#,
            "{\"data\":\"a\u{1}b\"}",
        ]
        .map(str::to_owned)
        .into();
        for depth in [30, 31, 32, 33, 100, 125, 126, 127, 128, 200] {
            // A rewritten value that a later repeat of its member replaces still counts.
            let deep = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            cases.push(format!(r#"{{"data":{deep},"data":1}}"#));
            cases.push(format!(r#"{{"changes":{deep},"changes":{{}}}}"#));
            cases.push(format!(
                r#"{{"events":[{{"data":{deep}}}],"events":[{{"data":1}}]}}"#
            ));
            cases.push(format!(r#"{{"events":[{{"data":{deep},"data":2}}]}}"#));
            cases.push(nested(depth, "1"));
            cases.push(nested(depth, "1.50"));
            cases.push(batch_nested(depth));
        }
        for text in &cases {
            assert_eq!(verdict::<EventBody>(text), through_a_tree(text), "{text}");
            assert_eq!(verdict::<BatchBody>(text), through_a_tree(text), "{text}");
        }
        let invalid_utf8 = b"{\"data\":\"\xff\"}";
        assert_eq!(
            EventBody::parse(invalid_utf8).unwrap_err().to_string(),
            serde_json::from_slice::<serde_json::Value>(invalid_utf8)
                .unwrap_err()
                .to_string()
        );
    }
}
