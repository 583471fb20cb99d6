//! Topics and selectors. A topic names a group an event is for (`org/42/room1`); a selector is
//! what a stream asks for and what a grant allows: an exact topic, or a prefix ending in `*`
//! (`org/42/*`, or `*` alone for every topic).
//!
//! The character set is URI-safe (RFC 3986 unreserved and sub-delims, plus `:`, `@`, `/`), so
//! a topic travels unescaped in a path or query and can never reach an SSE line as a line
//! break. `*` is not in it: in a selector it can only be the last character.

use std::fmt;
use std::sync::Arc;

use super::{check_name, NameError};

const ALLOWED: &str = "letters, digits and . _ ~ : @ ! $ & ' ( ) + , ; = / -";

fn is_topic_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'.' | b'_'
                | b'~'
                | b':'
                | b'@'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'+'
                | b','
                | b';'
                | b'='
                | b'/'
                | b'-'
        )
}

/// A topic: 1–256 characters of the URI-safe set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic(Arc<str>);

impl Topic {
    pub const MAX_LEN: usize = 256;
    /// Most topics one event may carry.
    pub const MAX_PER_EVENT: usize = 16;

    /// # Errors
    /// When the text is empty, too long, or holds a character outside the allowed set.
    pub fn new(text: &str) -> Result<Topic, NameError> {
        check_name(text, "topic", Self::MAX_LEN, ALLOWED, is_topic_byte)?;
        Ok(Topic(text.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The shared text (the registry's index keys share it instead of copying).
    pub fn shared(&self) -> &Arc<str> {
        &self.0
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An exact topic, or every topic that starts with a prefix (written with a trailing `*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Selector(Arc<str>);

impl Selector {
    /// # Errors
    /// When the text is empty or too long, or holds a character outside the topic set
    /// (`*` is allowed only as the last character).
    pub fn new(text: &str) -> Result<Selector, NameError> {
        let stem = text.strip_suffix('*').unwrap_or(text);
        if text.is_empty() || text.len() > Topic::MAX_LEN {
            return Err(NameError::Length {
                what: "topic selector",
                max: Topic::MAX_LEN,
            });
        }
        if !stem.bytes().all(is_topic_byte) {
            return Err(NameError::Charset {
                what: "topic selector",
                allowed: "the topic characters, and `*` only at the end",
            });
        }
        Ok(Selector(text.into()))
    }

    /// The selector that matches exactly `topic`.
    pub fn exact(topic: &Topic) -> Selector {
        Selector(topic.0.clone())
    }

    /// The prefix a `*` selector matches, `None` for an exact one.
    pub fn prefix(&self) -> Option<&str> {
        self.0.strip_suffix('*')
    }

    /// The text without its `*`: the topic itself, or the prefix.
    pub fn stem(&self) -> &str {
        self.prefix().unwrap_or(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `topic` is one this selector asks for.
    pub fn matches(&self, topic: &Topic) -> bool {
        match self.prefix() {
            Some(prefix) => topic.as_str().starts_with(prefix),
            None => *self.0 == *topic.0,
        }
    }

    /// Whether some topic matches both selectors: `org/*` and `org/42/*` meet, as do
    /// `org/42/a` and `org/*`; two exact selectors meet only when equal.
    pub fn overlaps(&self, other: &Selector) -> bool {
        match (self.prefix(), other.prefix()) {
            (None, None) => self == other,
            (Some(prefix), None) => other.as_str().starts_with(prefix),
            (None, Some(prefix)) => self.as_str().starts_with(prefix),
            (Some(a), Some(b)) => a.starts_with(b) || b.starts_with(a),
        }
    }

    /// Whether every topic `asked` matches is one this selector matches: a grant of
    /// `org/42/*` covers `org/42/room1` and `org/42/*` (and `org/42/a*`) but not `org/*`; an
    /// exact grant covers only itself.
    pub fn covers(&self, asked: &Selector) -> bool {
        match self.prefix() {
            Some(prefix) => asked.stem().starts_with(prefix),
            None => self == asked,
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether any of `topics` is matched by any of `selectors`.
pub fn any_match(selectors: &[Selector], topics: &[Topic]) -> bool {
    topics
        .iter()
        .any(|topic| selectors.iter().any(|s| s.matches(topic)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(text: &str) -> Topic {
        Topic::new(text).unwrap()
    }

    fn selector(text: &str) -> Selector {
        Selector::new(text).unwrap()
    }

    #[test]
    fn topics_take_the_uri_safe_set_only() {
        assert!(Topic::new("org/42/room1").is_ok());
        assert!(Topic::new("a.b_c~d:e@f!g$h&i'j(k)l+m,n;o=p/q-r").is_ok());
        for bad in ["", "a b", "a*", "a\nb", "é", "a?b", "a#b", "a%20"] {
            assert!(Topic::new(bad).is_err(), "{bad:?}");
        }
        assert!(Topic::new(&"t".repeat(256)).is_ok());
        assert!(Topic::new(&"t".repeat(257)).is_err());
    }

    #[test]
    fn selectors_put_the_star_last_only() {
        assert_eq!(selector("org/42/*").prefix(), Some("org/42/"));
        assert_eq!(selector("*").prefix(), Some(""));
        assert_eq!(selector("org/42").prefix(), None);
        for bad in ["", "a*b", "**", "a b*", &format!("{}*", "t".repeat(256))] {
            assert!(Selector::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn matching_is_exact_or_by_prefix() {
        assert!(selector("org/42/room1").matches(&topic("org/42/room1")));
        assert!(!selector("org/42/room1").matches(&topic("org/42/room10")));
        assert!(selector("org/42/*").matches(&topic("org/42/room1")));
        assert!(!selector("org/42/*").matches(&topic("org/420/x")));
        assert!(!selector("org/42/*").matches(&topic("org/42")));
        assert!(selector("*").matches(&topic("anything")));
        assert!(any_match(
            &[selector("a"), selector("b/*")],
            &[topic("c"), topic("b/1")]
        ));
        assert!(!any_match(&[], &[topic("c")]));
    }

    #[test]
    fn grants_cover_narrower_selectors_only() {
        let grant = selector("org/42/*");
        assert!(grant.covers(&selector("org/42/room1")));
        assert!(grant.covers(&selector("org/42/*")));
        assert!(grant.covers(&selector("org/42/a*")));
        assert!(!grant.covers(&selector("org/*")));
        assert!(!grant.covers(&selector("org/4*")));
        assert!(!grant.covers(&selector("*")));
        let exact = selector("org/42");
        assert!(exact.covers(&selector("org/42")));
        assert!(!exact.covers(&selector("org/42*")));
        assert!(selector("*").covers(&selector("*")));
    }

    #[test]
    fn selectors_overlap_when_some_topic_matches_both() {
        let meet = |a: &str, b: &str| {
            let (a, b) = (selector(a), selector(b));
            assert_eq!(a.overlaps(&b), b.overlaps(&a), "symmetric");
            a.overlaps(&b)
        };
        assert!(meet("org/42/*", "org/42/room1"));
        assert!(meet("org/42/*", "org/*"));
        assert!(meet("org/42/*", "org/42/a*"));
        assert!(meet("*", "anything"));
        assert!(meet("a", "a"));
        assert!(!meet("a", "b"));
        assert!(!meet("org/42/*", "org/43/*"));
        assert!(!meet("org/42/*", "org/4"));
    }
}
