//! What a reader may see of the outbox: whole appends only.
//!
//! An append of more than one event is one ordered `insertMany`, and MongoDB (unlike the
//! embedded store) has no transaction to make it atomic: a reader can catch it half-inserted,
//! and a node that dies mid-insert leaves a part of it for good. So every event of such an
//! append carries `last`, the append's final number, and a page keeps an event only when its
//! append is whole: every number from it to `last` is in the page, or the page ends inside the
//! append and `last` is stored (ordered inserts go in front to back, so a stored `last` means
//! the whole append went in). An append not whole yet is left out, and the events after it are
//! not: the gap tracker then holds dispatch at its first number, as for any number not visible
//! yet, releases the append once it is whole, or skips all of it after the gap timeout.

use super::*;

/// The `last` number of an outbox document's append, when it has one.
fn append_last(document: &Document) -> Option<i64> {
    integer(document, "last")
}

/// The last number of the append the final document belongs to, when that append goes on
/// past the page.
pub(super) fn open_append(documents: &[Document]) -> Result<Option<i64>, StoreError> {
    let Some(tail) = documents.last() else {
        return Ok(None);
    };
    let sequence = sequence_of(tail)?;
    Ok(append_last(tail).filter(|&last| last > sequence))
}

/// `documents` (sorted by `_id`) without the events of appends that are not whole in them;
/// `stored_last` is the `last` of an append the page ends inside whose last event is known to
/// be stored.
pub(super) fn whole_appends(
    documents: Vec<Document>,
    stored_last: Option<i64>,
) -> Result<Vec<Document>, StoreError> {
    let sequences: Vec<i64> = documents
        .iter()
        .map(sequence_of)
        .collect::<Result<_, _>>()?;
    let lasts: Vec<Option<i64>> = documents.iter().map(append_last).collect();
    let mut keep = vec![true; documents.len()];
    let mut i = 0;
    while i < documents.len() {
        let Some(last) = lasts[i].filter(|&last| last > sequences[i]) else {
            i += 1;
            continue;
        };
        // The members in the page: from here while they name the same `last`.
        let members = lasts[i..].iter().take_while(|&&l| l == Some(last)).count();
        let contiguous = (0..members).all(|k| sequences[i + k] == sequences[i] + k as i64);
        let reaches_last = sequences[i + members - 1] == last;
        let runs_off_the_page = i + members == documents.len() && stored_last == Some(last);
        if !(contiguous && (reaches_last || runs_off_the_page)) {
            keep[i..i + members].fill(false);
        }
        i += members;
    }
    let mut keep = keep.into_iter();
    Ok(documents
        .into_iter()
        .filter(|_| keep.next().unwrap_or(false))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(sequence: i64, last: Option<i64>) -> Document {
        let mut document = doc! { "_id": sequence };
        if let Some(last) = last {
            document.insert("last", last);
        }
        document
    }

    fn kept(documents: Vec<Document>, stored_last: Option<i64>) -> Vec<i64> {
        whole_appends(documents, stored_last)
            .unwrap()
            .iter()
            .map(|d| sequence_of(d).unwrap())
            .collect()
    }

    #[test]
    fn whole_appends_and_single_events_are_kept() {
        let page = vec![
            event(1, None),
            event(2, Some(4)),
            event(3, Some(4)),
            event(4, Some(4)),
            event(5, None),
        ];
        assert_eq!(kept(page, None), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn an_append_missing_its_end_is_left_out_but_later_events_are_not() {
        // 2..=4 is one append of which 4 is not visible; 5 came from another append.
        let page = vec![
            event(1, None),
            event(2, Some(4)),
            event(3, Some(4)),
            event(5, None),
        ];
        assert_eq!(kept(page, None), vec![1, 5]);
    }

    #[test]
    fn a_page_that_ends_inside_an_append_keeps_it_only_when_its_last_is_stored() {
        let page = || vec![event(6, None), event(7, Some(9)), event(8, Some(9))];
        assert_eq!(open_append(&page()).unwrap(), Some(9));
        assert_eq!(kept(page(), None), vec![6]);
        assert_eq!(kept(page(), Some(9)), vec![6, 7, 8]);
        assert_eq!(open_append(&[event(9, Some(9))]).unwrap(), None);
    }

    #[test]
    fn an_append_with_a_hole_inside_is_left_out() {
        // 3 is missing from 2..=4; 5..=6 runs off the page and 6 is stored.
        let page = vec![event(2, Some(4)), event(4, Some(4)), event(5, Some(6))];
        assert_eq!(kept(page, Some(6)), vec![5]);
        let page = vec![event(5, Some(6)), event(6, Some(6))];
        assert_eq!(kept(page, None), vec![5, 6]);
    }

    #[test]
    fn a_page_starting_inside_an_append_keeps_its_visible_rest() {
        assert_eq!(
            kept(vec![event(3, Some(4)), event(4, Some(4))], None),
            vec![3, 4]
        );
    }
}
