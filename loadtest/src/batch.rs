//! Batch publishes (`POST /api/sse/batch`): the request body, and the checks on an answer
//! that no single publish needs: one result per event, sequences consecutive and in the
//! order of the events, and the client's message ids echoed back.

use std::fmt;

use serde::Deserialize;

use crate::payload::Ack;

/// The answer to a batch: `{"results": [{"sequence", "messageId"}, ...]}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    pub results: Vec<Ack>,
}

/// `{"events":[...]}` from events already serialised by `payload::publish_body`.
pub fn body(events: &[String]) -> String {
    let mut out = String::with_capacity(16 + events.iter().map(|e| e.len() + 1).sum::<usize>());
    out.push_str(r#"{"events":["#);
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(event);
    }
    out.push_str("]}");
    out
}

/// How an answer (batch or single) breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not one result per event sent: the events cannot be matched to sequences.
    Count { sent: usize, answered: usize },
    /// The sequences of one batch are not `s, s+1, ..., s+n-1`.
    NotConsecutive { sequences: Vec<u64> },
    /// A result names another message id than the client chose for that event.
    MessageId {
        index: usize,
        sent: String,
        answered: String,
    },
}

/// Sequences shown verbatim in a `NotConsecutive` message.
const SHOW: usize = 8;

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count { sent, answered } => {
                write!(f, "{answered} results for a batch of {sent} events")
            }
            Self::NotConsecutive { sequences } => {
                let shown = &sequences[..sequences.len().min(SHOW)];
                let more = if sequences.len() > SHOW { ", ..." } else { "" };
                write!(
                    f,
                    "batch sequences {shown:?}{more} are not consecutive and in order"
                )
            }
            Self::MessageId {
                index,
                sent,
                answered,
            } => write!(
                f,
                "event {index} was sent with messageId {sent} but the answer names {answered}"
            ),
        }
    }
}

/// Checks the results of one request that carried `sent` events (`ids`: the message ids the
/// client chose, if any). Empty when the answer keeps the contract.
pub fn check(results: &[Ack], sent: usize, ids: Option<&[String]>) -> Vec<Problem> {
    if results.len() != sent {
        return vec![Problem::Count {
            sent,
            answered: results.len(),
        }];
    }
    let mut problems = Vec::new();
    let consecutive = results
        .windows(2)
        .all(|w| w[0].sequence.checked_add(1) == Some(w[1].sequence));
    if !consecutive {
        problems.push(Problem::NotConsecutive {
            sequences: results.iter().map(|a| a.sequence).collect(),
        });
    }
    if let Some(ids) = ids {
        if let Some((index, (sent, ack))) = ids
            .iter()
            .zip(results)
            .enumerate()
            .find(|(_, (sent, ack))| **sent != ack.message_id)
        {
            problems.push(Problem::MessageId {
                index,
                sent: sent.clone(),
                answered: ack.message_id.clone(),
            });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acks(seqs: &[u64]) -> Vec<Ack> {
        seqs.iter()
            .map(|&s| Ack {
                sequence: s,
                message_id: format!("m{s}"),
            })
            .collect()
    }

    #[test]
    fn body_wraps_the_events() {
        assert_eq!(body(&[]), r#"{"events":[]}"#);
        assert_eq!(
            body(&[r#"{"data":1}"#.into(), r#"{"data":2}"#.into()]),
            r#"{"events":[{"data":1},{"data":2}]}"#
        );
    }

    #[test]
    fn consecutive_in_order_passes() {
        assert!(check(&acks(&[7, 8, 9]), 3, None).is_empty());
        assert!(check(&acks(&[7]), 1, None).is_empty());
        let ids: Vec<String> = ["m7", "m8"].map(String::from).to_vec();
        assert!(check(&acks(&[7, 8]), 2, Some(&ids)).is_empty());
    }

    #[test]
    fn gaps_reordering_and_repeats_are_caught() {
        for bad in [&[7, 9, 10][..], &[8, 7, 9], &[7, 7, 8], &[9, 8, 7]] {
            let problems = check(&acks(bad), 3, None);
            assert_eq!(
                problems,
                vec![Problem::NotConsecutive {
                    sequences: bad.to_vec()
                }],
                "{bad:?}"
            );
        }
        assert_eq!(
            check(&acks(&[7, 9, 10]), 3, None)[0].to_string(),
            "batch sequences [7, 9, 10] are not consecutive and in order"
        );
    }

    #[test]
    fn wrong_count_and_foreign_ids_are_caught() {
        assert_eq!(
            check(&acks(&[7, 8]), 3, None),
            vec![Problem::Count {
                sent: 3,
                answered: 2
            }]
        );
        let ids: Vec<String> = ["m7", "mine"].map(String::from).to_vec();
        let problems = check(&acks(&[7, 8]), 2, Some(&ids));
        assert_eq!(
            problems,
            vec![Problem::MessageId {
                index: 1,
                sent: "mine".into(),
                answered: "m8".into()
            }]
        );
    }
}
