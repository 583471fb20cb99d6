//! The gap rule, pure: the high-water mark never passes a missing sequence number until it
//! appears or has been missing for longer than the gap timeout.
//!
//! In MongoDB a number is reserved before its document is visible, so a reader can see 12
//! before 11; 11 may also never come (its node died between reserve and insert).

use std::time::{Duration, Instant};

use crate::event::Sequence;

#[derive(Debug)]
pub struct GapTracker {
    high_water: Sequence,
    timeout: Duration,
    /// The first missing number and when it was first seen missing.
    waiting: Option<(Sequence, Instant)>,
}

/// What to do with a fetched page.
#[derive(Debug, PartialEq, Eq)]
pub struct Decision {
    /// Take this many events from the front of the page.
    pub accept: usize,
    /// Numbers given up on (missing past the timeout).
    pub skipped: u64,
    /// Whether the tracker is now waiting for a missing number.
    pub waiting: bool,
}

impl GapTracker {
    pub fn new(high_water: Sequence, timeout: Duration) -> GapTracker {
        GapTracker {
            high_water,
            timeout,
            waiting: None,
        }
    }

    pub fn high_water(&self) -> Sequence {
        self.high_water
    }

    /// Decides how much of a page (sequences in increasing order, all after the high-water
    /// mark) can be released now, and moves the mark.
    pub fn release(&mut self, page: &[Sequence], now: Instant) -> Decision {
        let mut accept = 0;
        let mut skipped = 0;
        for &sequence in page {
            let expected = self.high_water.next();
            if sequence < expected {
                // Already released (a re-read after waiting); not part of this page's news.
                accept += 1;
                continue;
            }
            if sequence > expected {
                let since = match self.waiting {
                    Some((missing, since)) if missing == expected => since,
                    _ => {
                        self.waiting = Some((expected, now));
                        now
                    }
                };
                if now.duration_since(since) < self.timeout {
                    return Decision {
                        accept,
                        skipped,
                        waiting: true,
                    };
                }
                skipped += sequence.0 - expected.0;
            }
            self.waiting = None;
            self.high_water = sequence;
            accept += 1;
        }
        Decision {
            accept,
            skipped,
            waiting: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(values: &[u64]) -> Vec<Sequence> {
        values.iter().copied().map(Sequence).collect()
    }

    #[test]
    fn consecutive_pages_are_released_whole() {
        let mut gaps = GapTracker::new(Sequence(0), Duration::from_secs(1));
        let decision = gaps.release(&seqs(&[1, 2, 3]), Instant::now());
        assert_eq!(
            decision,
            Decision {
                accept: 3,
                skipped: 0,
                waiting: false
            }
        );
        assert_eq!(gaps.high_water(), Sequence(3));
    }

    #[test]
    fn a_missing_number_holds_the_mark_until_it_appears() {
        let start = Instant::now();
        let mut gaps = GapTracker::new(Sequence(10), Duration::from_secs(1));
        let held = gaps.release(&seqs(&[11, 13, 14]), start);
        assert_eq!(
            held,
            Decision {
                accept: 1,
                skipped: 0,
                waiting: true
            }
        );
        assert_eq!(gaps.high_water(), Sequence(11));
        // 12 arrives late; the page is re-read from the mark.
        let filled = gaps.release(&seqs(&[12, 13, 14]), start + Duration::from_millis(300));
        assert_eq!(
            filled,
            Decision {
                accept: 3,
                skipped: 0,
                waiting: false
            }
        );
        assert_eq!(gaps.high_water(), Sequence(14));
    }

    #[test]
    fn a_number_missing_past_the_timeout_is_skipped_and_counted() {
        let start = Instant::now();
        let mut gaps = GapTracker::new(Sequence(0), Duration::from_millis(500));
        assert!(gaps.release(&seqs(&[3, 4]), start).waiting);
        assert!(
            gaps.release(&seqs(&[3, 4]), start + Duration::from_millis(499))
                .waiting
        );
        let skipped = gaps.release(&seqs(&[3, 4]), start + Duration::from_millis(500));
        assert_eq!(
            skipped,
            Decision {
                accept: 2,
                skipped: 2,
                waiting: false
            }
        );
        assert_eq!(gaps.high_water(), Sequence(4));
    }

    #[test]
    fn the_clock_restarts_for_each_new_gap() {
        let start = Instant::now();
        let mut gaps = GapTracker::new(Sequence(0), Duration::from_millis(100));
        gaps.release(&seqs(&[2]), start);
        gaps.release(&seqs(&[2]), start + Duration::from_millis(100));
        assert_eq!(gaps.high_water(), Sequence(2));
        let held = gaps.release(&seqs(&[4]), start + Duration::from_millis(150));
        assert!(held.waiting, "a new gap waits its own full timeout");
    }
}
