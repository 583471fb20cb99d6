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

    /// For names the hub itself defines (`message`, `notification`, ...). The publish
    /// endpoints' own types are made once and shared (no allocation per publish).
    pub fn known(text: &'static str) -> EventType {
        static BUILT_IN: std::sync::LazyLock<[EventType; 4]> = std::sync::LazyLock::new(|| {
            ["message", "notification", "alert", "dataUpdate"]
                .map(|name| EventType(Arc::from(name)))
        });
        match BUILT_IN.iter().find(|t| &*t.0 == text) {
            Some(shared) => shared.clone(),
            None => EventType::new(text).expect("built-in event types are valid"),
        }
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

/// The id a publish answers with; unique per event across the cluster. The hub makes one up
/// (a random UUID), or the publisher chooses it to make the publish retryable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId(pub uuid::Uuid);

/// A `messageId` that is not a UUID in its usual text form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("messageId must be a UUID written as 8-4-4-4-12 hexadecimal digits")]
pub struct BadMessageId;

impl MessageId {
    pub fn random() -> MessageId {
        MessageId(uuid::Uuid::new_v4())
    }

    /// Parses a client-chosen id: the hyphenated form only (`xxxxxxxx-xxxx-...`, any case), so
    /// one id has one spelling and the answer echoes it back in lower case.
    ///
    /// # Errors
    /// Any other text.
    pub fn parse(text: &str) -> Result<MessageId, BadMessageId> {
        if text.len() != 36 {
            return Err(BadMessageId);
        }
        uuid::Uuid::try_parse(text)
            .map(MessageId)
            .map_err(|_| BadMessageId)
    }

    /// The id as [`Display`](fmt::Display) writes it, into a buffer on the stack (no `fmt`):
    /// every frame and every publish answer carries one.
    pub fn encode(self, buffer: &mut [u8; uuid::fmt::Hyphenated::LENGTH]) -> &str {
        self.0.hyphenated().encode_lower(buffer)
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
        self.rfc3339().as_str().to_owned()
    }

    /// [`to_rfc3339`](Self::to_rfc3339) written into a buffer on the stack: every event's
    /// frame carries one, and `format!` cost more than the rest of the frame's head.
    pub fn rfc3339(self) -> Rfc3339 {
        let millis = self.0.rem_euclid(1000);
        let secs = self.0.div_euclid(1000);
        let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        let mut out = Rfc3339 {
            bytes: [0; Rfc3339::CAPACITY],
            len: 0,
        };
        if (0..=9999).contains(&year) {
            let [h, m, s] = [day_secs / 3600, day_secs / 60 % 60, day_secs % 60];
            let mut put = |n: i64, width: usize, then: u8| {
                let mut n = n;
                for i in (0..width).rev() {
                    out.bytes[out.len + i] = b'0' + (n % 10) as u8;
                    n /= 10;
                }
                out.bytes[out.len + width] = then;
                out.len += width + 1;
            };
            put(year, 4, b'-');
            put(i64::from(month), 2, b'-');
            put(i64::from(day), 2, b'T');
            put(h, 2, b':');
            put(m, 2, b':');
            put(s, 2, b'.');
            put(millis, 3, b'Z');
        } else {
            // Years that do not take four digits (never a clock's): as `format!` spells them.
            use std::fmt::Write as _;
            let _ = write!(
                out,
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
                day_secs / 3600,
                day_secs / 60 % 60,
                day_secs % 60
            );
        }
        out
    }
}

/// An RFC 3339 timestamp in a fixed buffer ([`UnixMillis::rfc3339`]).
#[derive(Clone, Copy)]
pub struct Rfc3339 {
    bytes: [u8; Rfc3339::CAPACITY],
    len: usize,
}

impl Rfc3339 {
    /// The longest: a year of `i64` days takes 12 characters, the rest 20.
    pub(crate) const CAPACITY: usize = 40;

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).expect("ASCII")
    }
}

impl fmt::Write for Rfc3339 {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
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
    /// The publisher chose `message_id`: a retry with it answers the original sequence
    /// instead of appending again (the store keeps an index of chosen ids).
    pub chosen_id: bool,
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
    fn message_ids_parse_only_the_hyphenated_form() {
        let id = MessageId::parse("6F9619FF-8B86-D011-B42D-00C04FC964FF").unwrap();
        assert_eq!(id.to_string(), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
        for bad in [
            "",
            "6f9619ff8b86d011b42d00c04fc964ff",
            "{6f9619ff-8b86-d011-b42d-00c04fc964ff}",
            "6f9619ff-8b86-d011-b42d-00c04fc964fg",
            "urn:uuid:6f9619ff-8b86-d011-b42d-00c04fc964ff",
        ] {
            assert_eq!(MessageId::parse(bad), Err(BadMessageId), "{bad}");
        }
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

    /// The formatter the fixed buffer replaced, for years it does not write itself.
    fn with_format(ms: i64) -> String {
        let millis = ms.rem_euclid(1000);
        let secs = ms.div_euclid(1000);
        let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            day_secs / 3600,
            day_secs / 60 % 60,
            day_secs % 60
        )
    }

    #[test]
    fn timestamps_match_an_independent_rfc3339_writer() {
        let layout = time::format_description::parse_borrowed::<2>(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z",
        )
        .unwrap();
        let independent = |ms: i64| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .unwrap()
                .format(&layout)
                .unwrap()
        };
        // 0000-01-01 to 9999-12-31, every leap day of four centuries, sub-second digits.
        let first = -62_167_219_200_000_i64;
        let last = 253_402_300_799_999_i64;
        let mut instants = vec![first, last, 0, -1, 1, 999, 1000, 951_782_400_000];
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            instants.push(first + (x % (last - first) as u64) as i64);
        }
        for year in 1600..=2400_i64 {
            if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) {
                let feb29 = time::Date::from_calendar_date(year as i32, time::Month::February, 29)
                    .unwrap()
                    .midnight()
                    .assume_utc()
                    .unix_timestamp()
                    * 1000;
                instants.extend([feb29 - 1, feb29, feb29 + 86_399_999, feb29 + 86_400_000]);
            }
        }
        for ms in instants {
            assert_eq!(UnixMillis(ms).to_rfc3339(), independent(ms), "{ms}");
        }
        for ms in [
            first - 1,
            last + 1,
            i64::MIN,
            i64::MAX,
            -86_400_000 * 800_000,
        ] {
            assert_eq!(UnixMillis(ms).to_rfc3339(), with_format(ms), "{ms}");
        }
    }
}
