//! What a reader may see of the outbox: whole appends only.
//!
//! An append of more than one event is one ordered `insertMany`, and MongoDB (unlike the
//! embedded store) has no transaction to make it atomic: a reader can catch it half-inserted,
//! and a node that dies mid-insert leaves a part of it for good. So every event of such an
//! append carries `last`, the append's final number, and a page keeps an event only when
//! every number from it to `last` is in the page. An append not whole yet is left out (and
//! the events after it are not): the gap tracker then holds dispatch at its first number, as
//! for any number not visible yet, releases the append once it is whole, or skips all of it
//! after the gap timeout. Ordered inserts go in front to back, so a visible `last` means the
//! whole append went in.

use super::*;

/// The `last` number of an outbox document's append, when it has one.
fn append_last(document: &Document) -> Option<i64> {
    integer(document, "last")
}

/// The last number of the append the final document belongs to, when that append may go on
/// past the page (it is not whole in it).
pub(super) fn open_append(documents: &[Document]) -> Result<Option<(i64, i64)>, StoreError> {
    let Some(tail) = documents.last() else {
        return Ok(None);
    };
    let sequence = sequence_of(tail)?;
    Ok(append_last(tail)
        .filter(|&last| last > sequence)
        .map(|last| (sequence, last)))
}

/// `documents` (sorted by `_id`) without the events of appends that are not whole in them.
pub(super) fn whole_appends(documents: Vec<Document>) -> Result<Vec<Document>, StoreError> {
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
        let span = usize::try_from(last - sequences[i]).unwrap_or(usize::MAX);
        let whole = span < documents.len() - i
            && (0..=span)
                .all(|k| sequences[i + k] == sequences[i] + k as i64 && lasts[i + k] == Some(last));
        if whole {
            i += span + 1;
            continue;
        }
        while i < documents.len() && lasts[i] == Some(last) {
            keep[i] = false;
            i += 1;
        }
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

    fn kept(documents: Vec<Document>) -> Vec<i64> {
        whole_appends(documents)
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
        assert_eq!(kept(page), vec![1, 2, 3, 4, 5]);
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
        assert_eq!(kept(page), vec![1, 5]);
        // Cut off by the page: not whole in it.
        assert!(kept(vec![event(7, Some(9)), event(8, Some(9))]).is_empty());
    }

    #[test]
    fn an_append_with_a_hole_inside_is_left_out() {
        let page = vec![event(2, Some(4)), event(4, Some(4)), event(5, Some(6))];
        assert!(kept(page).is_empty());
        let page = vec![event(5, Some(6)), event(6, Some(6))];
        assert_eq!(kept(page), vec![5, 6]);
    }

    #[test]
    fn a_page_starting_inside_an_append_keeps_its_visible_rest() {
        assert_eq!(kept(vec![event(3, Some(4)), event(4, Some(4))]), vec![3, 4]);
        assert_eq!(
            open_append(&[event(3, Some(6)), event(4, Some(6))]).unwrap(),
            Some((4, 6))
        );
        assert_eq!(open_append(&[event(6, Some(6))]).unwrap(), None);
    }
}
