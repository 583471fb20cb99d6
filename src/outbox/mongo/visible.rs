//! Reads of what one reader may see (the history endpoint), answered from the
//! `{topics: 1, _id: 1}` index rather than by scanning the outbox.
//!
//! The filter is `_id` in `(after, until]`, the target (absent, or the reader's client id),
//! and an `$or` of one branch per kind of selector, each with index bounds on `topics`:
//!
//! - topic-less events: `topics: null` (a missing field is keyed as null in the index);
//! - exact selectors: `topics: {$in: [...]}`, one point range per topic, each in `_id` order;
//! - prefix selectors: `topics: {$elemMatch: {$gte: prefix, $lt: <prefix with its last
//!   character raised by one>}}`, one range per prefix (`$elemMatch`, so one array element
//!   must satisfy both bounds, which lets the planner intersect them).
//!
//! Every branch carries `_id` bounds as the index's second field, so no branch looks at an
//! event outside the page's range, and the result is sorted by `_id` and limited. FerretDB
//! serves the same filter (it may scan; it is the tests' server).

use super::*;
use crate::outbox::{Visibility, VisiblePage};

/// The name of the outbox's topic index.
const TOPICS_INDEX: &str = "topics_1__id_1";

impl MongoStore {
    /// Creates the indexes the store reads with (idempotent: an existing one is kept).
    pub(super) async fn create_indexes(&self) -> Result<(), StoreError> {
        let command = doc! {
            "createIndexes": self.outbox.name(),
            "indexes": [{ "key": { "topics": 1, "_id": 1 }, "name": TOPICS_INDEX }],
        };
        self.run(
            "create the outbox's topic index",
            self.db.run_command(command),
        )
        .await?;
        Ok(())
    }

    pub(super) async fn read_visible_page(
        &self,
        after: Sequence,
        until: Sequence,
        visibility: Visibility<'_>,
        limit: usize,
    ) -> Result<VisiblePage, StoreError> {
        let (Ok(low), Ok(high)) = (i64::try_from(after.0), i64::try_from(until.0)) else {
            return Ok(VisiblePage {
                events: Vec::new(),
                through: until,
            });
        };
        if limit == 0 || low >= high {
            return Ok(VisiblePage {
                events: Vec::new(),
                through: until.max(after),
            });
        }
        let filter = visible_filter(low, high, &visibility);
        let limit_i64 = i64::try_from(limit).unwrap_or(i64::MAX);
        let documents = self
            .run("read visible events", async {
                let cursor = self
                    .outbox
                    .find(filter)
                    .sort(doc! { "_id": 1 })
                    .limit(limit_i64)
                    .batch_size(limit_i64.min(MAX_READ_BATCH) as u32)
                    .await?;
                drain(cursor).await
            })
            .await?;
        let events: Vec<Event> = documents
            .iter()
            .map(event_from_document)
            .collect::<Result<_, _>>()?;
        let through = match events.last() {
            Some(last) if events.len() == limit => last.sequence,
            _ => until,
        };
        Ok(VisiblePage { events, through })
    }
}

/// The find filter of a visible read (see the module docs).
fn visible_filter(after: i64, until: i64, visibility: &Visibility<'_>) -> Document {
    let mut branches = vec![Bson::Document(doc! { "topics": Bson::Null })];
    let exact: Vec<&str> = visibility
        .selectors
        .iter()
        .filter(|s| s.prefix().is_none())
        .map(|s| s.as_str())
        .collect();
    if !exact.is_empty() {
        branches.push(Bson::Document(doc! { "topics": { "$in": exact } }));
    }
    for prefix in visibility.selectors.iter().filter_map(|s| s.prefix()) {
        let mut range = doc! { "$gte": prefix };
        if let Some(end) = prefix_end(prefix) {
            range.insert("$lt", end);
        }
        branches.push(Bson::Document(doc! { "topics": { "$elemMatch": range } }));
    }
    let mut targets = vec![Bson::Null];
    if let Some(client) = visibility.client {
        targets.push(Bson::String(client.as_str().to_owned()));
    }
    doc! {
        "_id": { "$gt": after, "$lte": until },
        "target": { "$in": targets },
        "$or": branches,
    }
}

/// The first string after every string that starts with `prefix` (`None` for the empty
/// prefix: no upper bound). Topic characters are ASCII below `~`, so raising the last byte
/// stays ASCII.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    let last = bytes.pop()?;
    bytes.push(last + 1);
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ranges_end_after_every_extension() {
        assert_eq!(prefix_end("org/42/").as_deref(), Some("org/420"));
        assert_eq!(prefix_end("a~").as_deref(), Some("a\u{7f}"));
        assert_eq!(prefix_end(""), None);
    }

    #[test]
    fn the_filter_has_a_branch_per_kind_of_selector() {
        let selectors = [
            crate::event::Selector::new("org/1").unwrap(),
            crate::event::Selector::new("org/2/*").unwrap(),
            crate::event::Selector::new("*").unwrap(),
        ];
        let me = ClientId::new("me").unwrap();
        let filter = visible_filter(
            3,
            9,
            &Visibility {
                selectors: &selectors,
                client: Some(&me),
            },
        );
        assert_eq!(
            filter,
            doc! {
                "_id": { "$gt": 3_i64, "$lte": 9_i64 },
                "target": { "$in": [Bson::Null, "me"] },
                "$or": [
                    { "topics": Bson::Null },
                    { "topics": { "$in": ["org/1"] } },
                    { "topics": { "$elemMatch": { "$gte": "org/2/", "$lt": "org/20" } } },
                    { "topics": { "$elemMatch": { "$gte": "" } } },
                ],
            }
        );
    }
}
