//! The vocabulary every other module speaks: sequences, event types, client ids, message ids,
//! topics and selectors ([`topic`]), events as stored, events about to be stored, subscription
//! filters, and the delivery rule that decides which stream receives which event
//! ([`delivery`]).
//!
//! Validation lives in the constructors, so a value of one of these types is always safe to
//! put on an SSE `id:`/`event:` line or in a store key: no CR, LF, NUL or other surprises.

pub mod delivery;
pub mod topic;

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use self::delivery::Recipient;
pub use self::topic::{Selector, Topic};

/// A position in the global outbox order. `Sequence(0)` means "before the first event".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sequence(pub u64);

impl Sequence {
    pub const ZERO: Sequence = Sequence(0);

    pub fn next(self) -> Sequence {
        Sequence(self.0 + 1)
    }

    /// Parses a decimal `u64` as sent in `Last-Event-ID` or `checkpoint=`.
    pub fn parse(text: &str) -> Option<Sequence> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().map(Sequence)
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a name was refused; the message is meant for API users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{what} must be 1 to {max} characters long")]
    Length { what: &'static str, max: usize },
    #[error("{what} may only contain {allowed}")]
    Charset {
        what: &'static str,
        allowed: &'static str,
    },
}

fn check_name(
    text: &str,
    what: &'static str,
    max: usize,
    allowed: &'static str,
    ok: impl Fn(u8) -> bool,
) -> Result<(), NameError> {
    if text.is_empty() || text.len() > max {
        return Err(NameError::Length { what, max });
    }
    if !text.bytes().all(ok) {
        return Err(NameError::Charset { what, allowed });
    }
    Ok(())
}

/// An event type: 1–64 chars of `[A-Za-z0-9._:-]`. Case is kept on the wire; filters compare
/// ASCII case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventType(Arc<str>);

impl EventType {
    pub const MAX_LEN: usize = 64;

    /// # Errors
    /// When the text is empty, too long, or holds a character outside the allowed set.
    pub fn new(text: &str) -> Result<EventType, NameError> {
        check_name(
            text,
            "event type",
            Self::MAX_LEN,
            "letters, digits and . _ : -",
            |b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'),
        )?;
        Ok(EventType(text.into()))
    }

    /// For names the hub itself defines (`message`, `notification`, ...).
    pub fn known(text: &'static str) -> EventType {
        EventType::new(text).expect("built-in event types are valid")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key filters and the registry's type index use.
    pub fn folded(&self) -> Arc<str> {
        if self.0.bytes().any(|b| b.is_ascii_uppercase()) {
            self.0.to_ascii_lowercase().into()
        } else {
            self.0.clone()
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stable client identity: 1–128 chars of `[A-Za-z0-9._:@-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(Arc<str>);

impl ClientId {
    pub const MAX_LEN: usize = 128;

    /// # Errors
    /// When the text is empty, too long, or holds a character outside the allowed set.
    pub fn new(text: &str) -> Result<ClientId, NameError> {
        check_name(
            text,
            "clientId",
            Self::MAX_LEN,
            "letters, digits and . _ : @ -",
            |b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'@' | b'-'),
        )?;
        Ok(ClientId(text.into()))
    }

    /// A fresh random identity for clients that did not name one.
    pub fn random() -> ClientId {
        ClientId(uuid::Uuid::new_v4().to_string().into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id a publish answers with; unique per event across the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId(pub uuid::Uuid);

impl MessageId {
    pub fn random() -> MessageId {
        MessageId(uuid::Uuid::new_v4())
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Wall-clock milliseconds since the Unix epoch (the event timestamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    pub fn now() -> UnixMillis {
        let elapsed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        UnixMillis(elapsed.as_millis() as i64)
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-01-09T10:30:00.123Z`.
    pub fn to_rfc3339(self) -> String {
        let millis = self.0.rem_euclid(1000);
        let secs = self.0.div_euclid(1000);
        let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            day_secs / 3600,
            day_secs / 60 % 60,
            day_secs % 60
        )
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// An event as the publisher hands it to the store: everything but its sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub message_id: MessageId,
    pub event_type: EventType,
    /// `Some` for a targeted send: only connections of this client receive it.
    pub target: Option<ClientId>,
    pub created_at: UnixMillis,
    /// The groups the event is for (at most [`Topic::MAX_PER_EVENT`], deduplicated); empty
    /// for an event that concerns every stream.
    pub topics: Vec<Topic>,
    /// The type-specific fields as one compact JSON object (`{"message":"hi"}`); the frame
    /// encoder splices them after the common fields.
    pub fields: String,
}

/// An event as stored: a `NewEvent` with its place in the global order.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub sequence: Sequence,
    pub message_id: MessageId,
    pub event_type: EventType,
    pub target: Option<ClientId>,
    pub created_at: UnixMillis,
    pub topics: Vec<Topic>,
    pub fields: String,
}

impl NewEvent {
    pub fn with_sequence(self, sequence: Sequence) -> Event {
        Event {
            sequence,
            message_id: self.message_id,
            event_type: self.event_type,
            target: self.target,
            created_at: self.created_at,
            topics: self.topics,
            fields: self.fields,
        }
    }
}

/// Which event types a subscriber wants. `All` unless the client sent `filter=`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Filter {
    #[default]
    All,
    /// Folded (lower-case) type names, deduplicated.
    Types(Vec<Arc<str>>),
}

/// Why a `filter=` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("filter names {given} event types; the limit is {max}")]
    TooMany { given: usize, max: usize },
    #[error("filter: {0}")]
    BadType(NameError),
}

impl Filter {
    /// Parses `filter=a,b,c`. Empty items are ignored; an empty list means all types.
    ///
    /// # Errors
    /// When an item is not a valid event type or there are more than `max_types`.
    pub fn parse(text: &str, max_types: usize) -> Result<Filter, FilterError> {
        let mut types: Vec<Arc<str>> = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let folded = EventType::new(item).map_err(FilterError::BadType)?.folded();
            if !types.contains(&folded) {
                types.push(folded);
            }
        }
        if types.len() > max_types {
            return Err(FilterError::TooMany {
                given: types.len(),
                max: max_types,
            });
        }
        Ok(if types.is_empty() {
            Filter::All
        } else {
            Filter::Types(types)
        })
    }

    /// `folded` is an event type's folded name.
    pub fn accepts(&self, folded: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Types(types) => types.iter().any(|t| &**t == folded),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_line_breaks_and_empties() {
        assert!(EventType::new("a\nb").is_err());
        assert!(EventType::new("").is_err());
        assert!(EventType::new(&"x".repeat(65)).is_err());
        assert!(EventType::new("order.created:v2-x_y").is_ok());
        assert!(ClientId::new("user@example.com").is_ok());
        assert!(ClientId::new("a b").is_err());
        assert!(ClientId::new(&"c".repeat(129)).is_err());
    }

    #[test]
    fn sequences_parse_only_plain_decimals() {
        assert_eq!(Sequence::parse("42"), Some(Sequence(42)));
        assert_eq!(Sequence::parse("-1"), None);
        assert_eq!(Sequence::parse("1e3"), None);
        assert_eq!(Sequence::parse("18446744073709551616"), None);
        assert_eq!(Sequence::parse(""), None);
    }

    #[test]
    fn filters_fold_case_and_dedupe() {
        let filter = Filter::parse("Alert, notification,alert,", 32).unwrap();
        assert_eq!(
            filter,
            Filter::Types(vec!["alert".into(), "notification".into()])
        );
        assert!(filter.accepts("alert"));
        assert!(!filter.accepts("heartbeat"));
        assert_eq!(Filter::parse("", 32).unwrap(), Filter::All);
        assert!(matches!(
            Filter::parse("a,b,c", 2),
            Err(FilterError::TooMany { given: 3, max: 2 })
        ));
        assert!(Filter::parse("ok,bad type", 32).is_err());
    }

    #[test]
    fn timestamps_format_as_rfc3339_utc() {
        assert_eq!(UnixMillis(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            UnixMillis(1_767_954_600_123).to_rfc3339(),
            "2026-01-09T10:30:00.123Z"
        );
        assert_eq!(
            UnixMillis(951_782_400_000).to_rfc3339(),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
