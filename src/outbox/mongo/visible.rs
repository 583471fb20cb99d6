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
//!
//! As every read, a page shows only whole appends: a batch's events are shown once its last
//! event is stored.

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
        let through = match documents.last() {
            Some(last) if documents.len() == limit => Sequence(sequence_of(last)? as u64),
            _ => until,
        };
        let stored = self.stored_lasts(&documents).await?;
        let events: Vec<Event> = documents
            .iter()
            .filter(|d| member_of_whole_append(d, &stored))
            .map(event_from_document)
            .collect::<Result<_, _>>()?;
        Ok(VisiblePage { events, through })
    }

    /// Which of the appends that `documents` hold members of are whole: those whose `last`
    /// event is stored (an ordered insert stores its last event last). A filtered page may
    /// hold any subset of an append, so this asks the outbox, once per page that holds part
    /// of a batch, nothing for pages of single events.
    async fn stored_lasts(&self, documents: &[Document]) -> Result<Vec<i64>, StoreError> {
        let mut lasts: Vec<i64> = documents
            .iter()
            .filter_map(|d| {
                let last = integer(d, "last")?;
                (Some(last) != integer(d, "_id")).then_some(last)
            })
            .collect();
        lasts.sort_unstable();
        lasts.dedup();
        if lasts.is_empty() {
            return Ok(lasts);
        }
        let stored = self
            .run("check appends are whole", async {
                let cursor = self
                    .outbox
                    .find(doc! { "_id": { "$in": lasts.clone() } })
                    .projection(doc! { "_id": 1 })
                    .await?;
                drain(cursor).await
            })
            .await?;
        stored.iter().map(sequence_of).collect()
    }
}

/// Whether an outbox document may be shown: a single event, or a member of a whole append
/// (`stored` lists the whole appends' `last` numbers). A part of an append is never read, in
/// history as on streams ([`visibility`](super::visibility)).
fn member_of_whole_append(document: &Document, stored: &[i64]) -> bool {
    match integer(document, "last") {
        None => true,
        Some(last) => Some(last) == integer(document, "_id") || stored.contains(&last),
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
