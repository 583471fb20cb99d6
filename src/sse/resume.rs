//! Where a new stream starts: the position rules of the API, as pure functions.
//!
//! Precedence: `checkpoint` query, `lastEventId` query, `Last-Event-ID` header, the client's
//! stored checkpoint, else live only. A position is "deliver everything after it".

use crate::event::Sequence;

/// Where the requested position came from (for logs and the replay metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    CheckpointParam,
    LastEventIdParam,
    LastEventIdHeader,
    StoredCheckpoint,
    Live,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::CheckpointParam => "checkpoint",
            Source::LastEventIdParam => "lastEventId",
            Source::LastEventIdHeader => "Last-Event-ID",
            Source::StoredCheckpoint => "stored",
            Source::Live => "live",
        }
    }
}

/// The explicit positions a request carried, already parsed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Requested {
    pub checkpoint_param: Option<Sequence>,
    pub last_event_id_param: Option<Sequence>,
    pub last_event_id_header: Option<Sequence>,
}

impl Requested {
    /// The explicit position with the highest precedence, if any.
    pub fn explicit(&self) -> Option<(Sequence, Source)> {
        self.checkpoint_param
            .map(|s| (s, Source::CheckpointParam))
            .or(self
                .last_event_id_param
                .map(|s| (s, Source::LastEventIdParam)))
            .or(self
                .last_event_id_header
                .map(|s| (s, Source::LastEventIdHeader)))
    }
}

/// What the outbox looks like at connect time.
#[derive(Debug, Clone, Copy)]
pub struct History {
    /// The newest sequence this node has dispatched: "live" starts after it.
    pub dispatched: Sequence,
    /// The newest sequence ever assigned.
    pub head: Sequence,
    /// The oldest retained sequence, `None` when nothing is retained.
    pub oldest: Option<Sequence>,
}

/// Where the stream's cursor starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Deliver every event after this position.
    After(Sequence),
    /// History no longer reaches back to `requested`: say so with a `reset` frame, then
    /// deliver from `oldest_available`.
    Reset {
        requested: Sequence,
        oldest_available: Sequence,
    },
}

impl Start {
    /// The cursor position: events after it are delivered.
    pub fn cursor(self) -> Sequence {
        match self {
            Start::After(after) => after,
            Start::Reset {
                oldest_available, ..
            } => Sequence(oldest_available.0 - 1),
        }
    }
}

/// Plans the start for a requested position (`None` = live only).
pub fn plan(requested: Option<Sequence>, history: History) -> Start {
    let Some(requested) = requested else {
        return Start::After(history.dispatched);
    };
    // A position past everything ever assigned cannot be honoured literally (the store was
    // replaced, or the client invented it): continue from the head.
    let requested_capped = requested.min(history.head);
    match history.oldest {
        Some(oldest) if requested_capped.next() < oldest => Start::Reset {
            requested,
            oldest_available: oldest,
        },
        None if requested_capped < history.head => Start::Reset {
            requested,
            oldest_available: history.head.next(),
        },
        _ => Start::After(requested_capped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(dispatched: u64, head: u64, oldest: Option<u64>) -> History {
        History {
            dispatched: Sequence(dispatched),
            head: Sequence(head),
            oldest: oldest.map(Sequence),
        }
    }

    #[test]
    fn precedence_is_checkpoint_then_param_then_header() {
        let all = Requested {
            checkpoint_param: Some(Sequence(1)),
            last_event_id_param: Some(Sequence(2)),
            last_event_id_header: Some(Sequence(3)),
        };
        assert_eq!(all.explicit(), Some((Sequence(1), Source::CheckpointParam)));
        let no_checkpoint = Requested {
            checkpoint_param: None,
            ..all
        };
        assert_eq!(
            no_checkpoint.explicit(),
            Some((Sequence(2), Source::LastEventIdParam))
        );
        let header_only = Requested {
            last_event_id_header: Some(Sequence(3)),
            ..Requested::default()
        };
        assert_eq!(
            header_only.explicit(),
            Some((Sequence(3), Source::LastEventIdHeader))
        );
        assert_eq!(Requested::default().explicit(), None);
    }

    #[test]
    fn live_starts_after_the_dispatched_position() {
        assert_eq!(
            plan(None, history(9, 10, Some(1))),
            Start::After(Sequence(9))
        );
    }

    #[test]
    fn retained_positions_resume_exactly() {
        assert_eq!(
            plan(Some(Sequence(4)), history(10, 10, Some(5))),
            Start::After(Sequence(4))
        );
        assert_eq!(
            plan(Some(Sequence(0)), history(10, 10, Some(1))),
            Start::After(Sequence(0))
        );
        assert_eq!(
            plan(Some(Sequence(10)), history(10, 10, Some(1))),
            Start::After(Sequence(10))
        );
    }

    #[test]
    fn trimmed_positions_reset_to_the_oldest() {
        let start = plan(Some(Sequence(2)), history(10, 10, Some(5)));
        assert_eq!(
            start,
            Start::Reset {
                requested: Sequence(2),
                oldest_available: Sequence(5)
            }
        );
        assert_eq!(start.cursor(), Sequence(4));
        let empty = plan(Some(Sequence(2)), history(10, 10, None));
        assert_eq!(
            empty,
            Start::Reset {
                requested: Sequence(2),
                oldest_available: Sequence(11)
            }
        );
        assert_eq!(empty.cursor(), Sequence(10));
    }

    #[test]
    fn positions_past_the_head_are_capped() {
        assert_eq!(
            plan(Some(Sequence(99)), history(10, 10, Some(1))),
            Start::After(Sequence(10))
        );
        assert_eq!(
            plan(Some(Sequence(5)), history(0, 0, None)),
            Start::After(Sequence(0))
        );
    }
}
