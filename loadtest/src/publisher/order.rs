//! The real-time order check over all acknowledged publishes: with one node's single
//! counter, a publish sent after another was acknowledged must get a higher sequence.

use super::Acked;

/// Inversions kept verbatim (all are counted).
const EXAMPLES: usize = 5;

/// Pairs (earlier, later) where `earlier` was acknowledged before `later` was sent, yet got
/// the higher sequence. With one node the single counter makes this impossible; across nodes
/// block reservation allows it, so the caller decides whether it is a violation.
pub fn real_time_inversions(acked: &[Acked]) -> (u64, Vec<(u64, u64)>) {
    let mut by_ack: Vec<&Acked> = acked.iter().collect();
    by_ack.sort_unstable_by_key(|a| a.acked);
    // prefix_max[i] = the highest sequence among the first i acknowledgements.
    let mut prefix_max = Vec::with_capacity(by_ack.len() + 1);
    prefix_max.push(0u64);
    for a in &by_ack {
        let top = *prefix_max.last().unwrap_or(&0);
        prefix_max.push(top.max(a.seq));
    }
    let mut count = 0;
    let mut examples = Vec::new();
    for later in acked {
        let done_before = by_ack.partition_point(|a| a.acked < later.sent);
        let highest = prefix_max[done_before];
        if highest > later.seq {
            count += 1;
            if examples.len() < EXAMPLES {
                examples.push((highest, later.seq));
            }
        }
    }
    (count, examples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Origin;

    fn acked(seq: u64, sent: u64, acked: u64) -> Acked {
        Acked {
            seq,
            origin: Origin::new(0, 0),
            sent,
            acked,
        }
    }

    #[test]
    fn concurrent_publishes_may_interleave() {
        let (n, _) = real_time_inversions(&[acked(2, 0, 10), acked(1, 5, 8)]);
        assert_eq!(n, 0);
    }

    #[test]
    fn a_later_publish_with_a_lower_sequence_is_an_inversion() {
        let (n, ex) = real_time_inversions(&[acked(5, 0, 10), acked(3, 11, 20)]);
        assert_eq!(n, 1);
        assert_eq!(ex, vec![(5, 3)]);
    }
}
