//! What one subscriber received, kept compact enough for 10k+ subscribers × 100k events:
//! sequences as merged ranges (one range when nothing is missing) plus a checksum that binds
//! each sequence to the publish it came from. Order is checked as frames arrive.

use crate::payload::Origin;

/// How many violations are kept verbatim per subscriber (all are counted).
const KEEP_VIOLATIONS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A sequence seen before on this subscriber.
    Duplicate { seq: u64 },
    /// A sequence lower than the previous one that was never seen.
    OutOfOrder { seq: u64, after: u64 },
    /// `data._sequence` differs from the frame's `id:`.
    IdMismatch { id: String, sequence: u64 },
    /// A harness event without a numeric `id:` line.
    MissingId { sequence: u64 },
    /// The hub said it lost history (`event: reset`).
    Reset { data: String },
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Duplicate { seq } => write!(f, "duplicate sequence {seq}"),
            Self::OutOfOrder { seq, after } => write!(f, "sequence {seq} arrived after {after}"),
            Self::IdMismatch { id, sequence } => {
                write!(f, "id: {id:?} but data._sequence {sequence}")
            }
            Self::MissingId { sequence } => write!(f, "event {sequence} has no id: line"),
            Self::Reset { data } => write!(f, "unexpected reset {data}"),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Ledger {
    /// Inclusive, increasing, non-adjacent ranges of accepted sequences.
    ranges: Vec<(u64, u64)>,
    /// Order-independent checksum of (sequence, origin) over accepted sequences.
    checksum: u64,
    pub received: u64,
    pub violations: Vec<Violation>,
    pub violation_count: u64,
}

impl Ledger {
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }

    pub fn checksum(&self) -> u64 {
        self.checksum
    }

    /// Records a delivered event; anything not strictly after the last one is a violation.
    pub fn record(&mut self, seq: u64, origin: Origin) {
        self.received += 1;
        match self.ranges.last_mut() {
            Some((_, end)) if seq <= *end => {
                let after = *end;
                let violation = if self.contains(seq) {
                    Violation::Duplicate { seq }
                } else {
                    Violation::OutOfOrder { seq, after }
                };
                self.violate(violation);
                return;
            }
            Some((_, end)) if seq == *end + 1 => *end = seq,
            _ => self.ranges.push((seq, seq)),
        }
        self.checksum = self.checksum.wrapping_add(mix(seq, origin));
    }

    pub fn violate(&mut self, violation: Violation) {
        self.violation_count += 1;
        if self.violations.len() < KEEP_VIOLATIONS {
            self.violations.push(violation);
        }
    }

    fn contains(&self, seq: u64) -> bool {
        let i = self.ranges.partition_point(|r| r.1 < seq);
        self.ranges.get(i).is_some_and(|r| r.0 <= seq)
    }
}

/// splitmix64 of the pair: a sum of these detects any sequence bound to the wrong publish.
pub fn mix(seq: u64, origin: Origin) -> u64 {
    let mut z = seq
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(origin.0)
        .wrapping_add(0x6a09_e667_f3bc_c908);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(n: u32) -> Origin {
        Origin::new(0, n)
    }

    #[test]
    fn contiguous_sequences_are_one_range() {
        let mut l = Ledger::default();
        for s in 5..100 {
            l.record(s, o(s as u32));
        }
        assert_eq!(l.ranges(), &[(5, 99)]);
        assert_eq!(l.violation_count, 0);
    }

    #[test]
    fn gaps_duplicates_and_reordering() {
        let mut l = Ledger::default();
        l.record(1, o(1));
        l.record(3, o(3));
        l.record(3, o(3));
        l.record(2, o(2));
        l.record(4, o(4));
        assert_eq!(l.ranges(), &[(1, 1), (3, 4)]);
        assert_eq!(
            l.violations,
            vec![
                Violation::Duplicate { seq: 3 },
                Violation::OutOfOrder { seq: 2, after: 3 }
            ]
        );
        assert_eq!(l.received, 5);
    }

    #[test]
    fn checksum_binds_sequence_to_origin() {
        let mut a = Ledger::default();
        let mut b = Ledger::default();
        a.record(1, o(1));
        a.record(2, o(2));
        b.record(1, o(2));
        b.record(2, o(1));
        assert_ne!(a.checksum(), b.checksum());
    }
}
