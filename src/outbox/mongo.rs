//! The MongoDB store (placeholder until the MongoDB issue lands).
