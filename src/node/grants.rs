//! Topics against the caller's grants: the selectors a stream, a history read or a presence
//! query asks for, and the topics a publish names. Every verb that touches topics checks
//! here, so one rule answers everywhere: a selector outside the grant is a 403 that names it.

use serde_json::Value;

use super::json::Field;
use super::{ErrorCode, Node, NodeError};
use crate::auth::Caller;
use crate::event::{Selector, Topic};
use crate::metrics::Limit;

/// Most selectors a client token may grant: it travels in a URL.
pub const MAX_TOKEN_TOPICS: usize = 64;

impl Node {
    /// `selectors` (deduplicated by the transport) must be within `--max-topic-selectors` and
    /// each covered by the caller's subscribe grant.
    ///
    /// # Errors
    /// 400 `invalid_topic` over the limit, 403 `topic_not_granted` naming the first selector
    /// outside the grant.
    pub(super) fn check_selectors(
        &self,
        caller: &Caller,
        selectors: &[Selector],
    ) -> Result<(), NodeError> {
        let max = self.settings.max_topic_selectors;
        if selectors.len() > max {
            self.metrics.limit_hit(Limit::TopicSelectors);
            return Err(NodeError::invalid(
                ErrorCode::InvalidTopic,
                format!(
                    "{} topic selectors were asked for; the limit is {max}",
                    selectors.len()
                ),
            ));
        }
        match caller.subscribe_grant().first_refused(selectors) {
            Some(refused) => Err(NodeError::NotGranted {
                message: format!("this credential may not subscribe to topic selector `{refused}`"),
            }),
            None => Ok(()),
        }
    }

    /// A publish's topics must each be within the caller's publish grant; a caller whose grant
    /// is a list (a JWT) may not publish topic-less events, which reach every stream.
    ///
    /// # Errors
    /// 403 `topic_not_granted` naming the first topic outside the grant.
    pub(super) fn check_publish_topics(
        &self,
        caller: &Caller,
        topics: &[Topic],
    ) -> Result<(), NodeError> {
        let Some(grant) = caller.publish_grant() else {
            return Err(crate::auth::AuthError::Forbidden.into());
        };
        if topics.is_empty() && grant != crate::auth::TopicGrant::All {
            return Err(NodeError::NotGranted {
                message:
                    "this credential may publish only to topics of its grant; name them in `topics`"
                        .into(),
            });
        }
        match topics.iter().find(|t| !grant.allows_topic(t)) {
            Some(refused) => Err(NodeError::NotGranted {
                message: format!("this credential may not publish to topic `{refused}`"),
            }),
            None => Ok(()),
        }
    }
}

/// A body's `topics`: absent or null for none, else an array of 1 to 16 topics (duplicates
/// dropped, order kept).
///
/// # Errors
/// 400 `invalid_topic` with the rule broken.
pub(super) fn topics_field(field: &Field<'_, Field<'_>>) -> Result<Vec<Topic>, NodeError> {
    let invalid = |message: String| NodeError::invalid(ErrorCode::InvalidTopic, message);
    let items = match field.given() {
        None => return Ok(Vec::new()),
        Some(Field::List(items)) => items,
        Some(_) => return Err(invalid("`topics` must be an array of strings".into())),
    };
    if items.is_empty() || items.len() > Topic::MAX_PER_EVENT {
        return Err(invalid(format!(
            "`topics` must hold 1 to {} topics (leave it out for an event without topics)",
            Topic::MAX_PER_EVENT
        )));
    }
    let mut topics: Vec<Topic> = Vec::with_capacity(items.len());
    for item in items {
        let Field::Text(text) = item else {
            return Err(invalid("`topics` must be an array of strings".into()));
        };
        let topic = Topic::new(text).map_err(|e| invalid(format!("`topics`: {e}")))?;
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    Ok(topics)
}

/// A body's list of selectors (`POST /api/sse/token`'s `topics`): absent, null or empty for
/// none, at most [`MAX_TOKEN_TOPICS`].
///
/// # Errors
/// 400 `invalid_topic`.
pub(super) fn selectors_field(value: Option<&Value>) -> Result<Vec<Selector>, NodeError> {
    let invalid = |message: String| NodeError::invalid(ErrorCode::InvalidTopic, message);
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("`topics` must be an array of selectors".into())),
    };
    if items.len() > MAX_TOKEN_TOPICS {
        return Err(invalid(format!(
            "`topics` may grant at most {MAX_TOKEN_TOPICS} selectors"
        )));
    }
    let mut selectors: Vec<Selector> = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(text) = item else {
            return Err(invalid("`topics` must be an array of selectors".into()));
        };
        let selector = Selector::new(text).map_err(|e| invalid(format!("`topics`: {e}")))?;
        if !selectors.contains(&selector) {
            selectors.push(selector);
        }
    }
    Ok(selectors)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn topics_of(value: &serde_json::Value) -> Result<Vec<Topic>, NodeError> {
        let text = value.to_string();
        topics_field(&serde_json::from_str(&text).unwrap())
    }

    #[test]
    fn topic_fields_are_checked_and_deduplicated() {
        assert_eq!(topics_field(&Field::Absent).unwrap(), Vec::<Topic>::new());
        assert_eq!(topics_of(&json!(null)).unwrap(), Vec::<Topic>::new());
        let topics = topics_of(&json!(["a", "b", "a"])).unwrap();
        assert_eq!(topics.len(), 2);
        for bad in [
            json!([]),
            json!("a"),
            json!([1]),
            json!([null]),
            json!([["a"]]),
            json!(["a b"]),
            json!(["a*"]),
            json!((0..17).map(|i| format!("t{i}")).collect::<Vec<_>>()),
        ] {
            let error = topics_of(&bad).unwrap_err();
            assert_eq!(error.code(), ErrorCode::InvalidTopic, "{bad}");
        }
    }

    #[test]
    fn selector_fields_take_prefixes() {
        let selectors = selectors_field(Some(&json!(["org/42/*", "news"]))).unwrap();
        assert_eq!(selectors[0].prefix(), Some("org/42/"));
        assert!(selectors_field(Some(&json!([]))).unwrap().is_empty());
        assert!(selectors_field(Some(&json!(["*x"]))).is_err());
    }
}
