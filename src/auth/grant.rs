//! Topic grants: which selectors a credential may subscribe with, and which topics it may
//! publish to. API keys are trusted backends (every topic); client tokens and JWTs carry a
//! list of selectors, and absent means none.

use crate::event::{Selector, Topic};

/// The selectors one right (subscribe, or publish) of a credential covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicGrant {
    /// A trusted backend: every topic.
    All,
    /// Only what these selectors cover (empty: no topic at all).
    Only(Vec<Selector>),
}

impl TopicGrant {
    pub fn none() -> TopicGrant {
        TopicGrant::Only(Vec::new())
    }

    /// Whether a stream may ask for `asked`: a granted `org/42/*` allows `org/42/room1` and
    /// `org/42/*` but not `org/*` ([`Selector::covers`]).
    pub fn allows_selector(&self, asked: &Selector) -> bool {
        match self {
            TopicGrant::All => true,
            TopicGrant::Only(granted) => granted.iter().any(|g| g.covers(asked)),
        }
    }

    /// Whether an event may be published to `topic`.
    pub fn allows_topic(&self, topic: &Topic) -> bool {
        match self {
            TopicGrant::All => true,
            TopicGrant::Only(granted) => granted.iter().any(|g| g.matches(topic)),
        }
    }

    /// The first of `asked` this grant does not allow.
    pub fn first_refused<'a>(&self, asked: &'a [Selector]) -> Option<&'a Selector> {
        asked.iter().find(|s| !self.allows_selector(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(selectors: &[&str]) -> TopicGrant {
        TopicGrant::Only(
            selectors
                .iter()
                .map(|s| Selector::new(s).unwrap())
                .collect(),
        )
    }

    fn selector(text: &str) -> Selector {
        Selector::new(text).unwrap()
    }

    #[test]
    fn a_prefix_grant_allows_narrower_selectors_and_its_topics() {
        let org42 = grant(&["org/42/*", "news"]);
        assert!(org42.allows_selector(&selector("org/42/room1")));
        assert!(org42.allows_selector(&selector("org/42/*")));
        assert!(org42.allows_selector(&selector("news")));
        assert!(!org42.allows_selector(&selector("org/*")));
        assert!(!org42.allows_selector(&selector("news*")));
        assert!(org42.allows_topic(&Topic::new("org/42/room1").unwrap()));
        assert!(!org42.allows_topic(&Topic::new("org/43/room1").unwrap()));
        let asked = [selector("news"), selector("org/*"), selector("x")];
        assert_eq!(org42.first_refused(&asked), Some(&asked[1]));
    }

    #[test]
    fn none_allows_nothing_and_all_everything() {
        assert!(!TopicGrant::none().allows_selector(&selector("*")));
        assert!(!TopicGrant::none().allows_topic(&Topic::new("a").unwrap()));
        assert!(TopicGrant::All.allows_selector(&selector("*")));
    }
}
