pub mod event;
pub mod outbox;
