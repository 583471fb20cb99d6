//! The oracle: compares each subscriber's ledger with the set of acknowledged publishes.

use crate::ledger::{mix, Ledger};
use crate::payload::Origin;

/// Examples kept per kind of discrepancy (all are counted).
const EXAMPLES: usize = 5;

/// Every publish the hub acknowledged, ordered by sequence.
#[derive(Debug, Default)]
pub struct Published {
    seqs: Vec<u64>,
    /// `prefix[i]` = checksum of the first `i` events, so any suffix's checksum is O(1).
    prefix: Vec<u64>,
}

/// How one subscriber's deliveries differ from what it should have seen.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Discrepancy {
    pub expected: u64,
    pub missing: u64,
    pub first_missing: Vec<u64>,
    /// Delivered sequences that no acknowledged publish (after the start) produced.
    pub unexpected: u64,
    pub first_unexpected: Vec<u64>,
    /// Sequences all present but bound to other publishes than acknowledged.
    pub payload_mismatch: bool,
}

impl Published {
    /// Builds the set; returns sequences the hub acknowledged more than once (a violation).
    pub fn new(mut acks: Vec<(u64, Origin)>) -> (Self, Vec<u64>) {
        acks.sort_unstable();
        let mut reused = Vec::new();
        acks.dedup_by(|b, a| {
            let same = a.0 == b.0;
            if same {
                reused.push(a.0);
            }
            same
        });
        let mut prefix = Vec::with_capacity(acks.len() + 1);
        let mut sum = 0u64;
        prefix.push(sum);
        for &(seq, origin) in &acks {
            sum = sum.wrapping_add(mix(seq, origin));
            prefix.push(sum);
        }
        let seqs = acks.into_iter().map(|(seq, _)| seq).collect();
        (Self { seqs, prefix }, reused)
    }

    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// Checks a subscriber that should have seen every acknowledged event after `from`.
    pub fn check(&self, from: u64, ledger: &Ledger) -> Discrepancy {
        let start = self.seqs.partition_point(|&s| s <= from);
        let expected = &self.seqs[start..];
        let mut d = Discrepancy {
            expected: expected.len() as u64,
            ..Discrepancy::default()
        };
        let mut found = 0u64;
        for &(a, b) in ledger.ranges() {
            let lo = expected.partition_point(|&s| s < a);
            let hi = expected.partition_point(|&s| s <= b);
            let present = (hi - lo) as u64;
            found += present;
            let extra = (b - a + 1) - present;
            if extra > 0 {
                d.unexpected += extra;
                let mut s = a;
                while d.first_unexpected.len() < EXAMPLES && s <= b {
                    if expected.binary_search(&s).is_err() {
                        d.first_unexpected.push(s);
                    }
                    s += 1;
                }
            }
        }
        d.missing = d.expected - found;
        if d.missing > 0 {
            let ranges = ledger.ranges();
            d.first_missing = expected
                .iter()
                .copied()
                .filter(|&s| {
                    let i = ranges.partition_point(|r| r.1 < s);
                    ranges.get(i).is_none_or(|r| r.0 > s)
                })
                .take(EXAMPLES)
                .collect();
        }
        if d.missing == 0 && d.unexpected == 0 {
            let want = self.prefix[self.seqs.len()].wrapping_sub(self.prefix[start]);
            d.payload_mismatch = want != ledger.checksum();
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acks(seqs: &[u64]) -> Vec<(u64, Origin)> {
        seqs.iter()
            .map(|&s| (s, Origin::new(1, s as u32)))
            .collect()
    }

    fn ledger(seqs: &[u64]) -> Ledger {
        let mut l = Ledger::default();
        for &s in seqs {
            l.record(s, Origin::new(1, s as u32));
        }
        l
    }

    #[test]
    fn clean_after_start_point() {
        let (p, reused) = Published::new(acks(&[3, 1, 2, 5, 4]));
        assert!(reused.is_empty());
        let d = p.check(2, &ledger(&[3, 4, 5]));
        assert_eq!(
            (d.missing, d.unexpected, d.payload_mismatch),
            (0, 0, false),
            "{d:?}"
        );
        assert_eq!(d.expected, 3);
    }

    #[test]
    fn reports_missing_and_unexpected() {
        let (p, _) = Published::new(acks(&[1, 2, 3, 4, 6]));
        let d = p.check(0, &ledger(&[1, 2, 4, 5, 6]));
        assert_eq!(d.missing, 1);
        assert_eq!(d.first_missing, vec![3]);
        assert_eq!(d.unexpected, 1);
        assert_eq!(d.first_unexpected, vec![5]);
    }

    #[test]
    fn detects_swapped_payloads_and_reused_sequences() {
        let (p, reused) = Published::new(vec![
            (1, Origin::new(1, 1)),
            (2, Origin::new(1, 2)),
            (2, Origin::new(2, 2)),
        ]);
        assert_eq!(reused, vec![2]);
        let mut l = Ledger::default();
        l.record(1, Origin::new(1, 2));
        l.record(2, Origin::new(1, 1));
        assert!(p.check(0, &l).payload_mismatch);
    }
}
