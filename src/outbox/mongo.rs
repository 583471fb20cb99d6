//! The MongoDB store (being written; see the MongoDB issue).
