//! The demo generator's switch, as verbs (the generator itself is `crate::demo`).

use super::{require, ErrorCode, Node, NodeError};
use crate::auth::{Access, Caller};
use crate::demo::{DEFAULT_INTERVAL_SECS, INTERVAL_RANGE};
use crate::outbox::DemoState;

impl Node {
    /// Switches the generator on (every `interval_secs`, default 5); 409 if it runs.
    ///
    /// # Errors
    /// Auth, an interval outside 1–60, already running, the store.
    pub async fn demo_start(
        &self,
        caller: &Caller,
        interval_secs: Option<u32>,
    ) -> Result<DemoState, NodeError> {
        require(caller, Access::Publish)?;
        let interval = interval_secs.unwrap_or(DEFAULT_INTERVAL_SECS);
        if !INTERVAL_RANGE.contains(&interval) {
            return Err(NodeError::invalid(
                ErrorCode::InvalidField,
                "`intervalSeconds` must be a whole number from 1 to 60",
            ));
        }
        if !self.demo.start(interval).await? {
            return Err(NodeError::Conflict {
                code: ErrorCode::DemoRunning,
                message: "the demo generator is already running".into(),
            });
        }
        Ok(DemoState {
            running: true,
            interval_secs: interval,
        })
    }

    /// Switches the generator off; 409 if it was not running.
    ///
    /// # Errors
    /// Auth, not running, the store.
    pub async fn demo_stop(&self, caller: &Caller) -> Result<(), NodeError> {
        require(caller, Access::Publish)?;
        if !self.demo.stop().await? {
            return Err(NodeError::Conflict {
                code: ErrorCode::DemoNotRunning,
                message: "the demo generator is not running".into(),
            });
        }
        Ok(())
    }

    /// # Errors
    /// Auth, the store.
    pub async fn demo_status(&self, caller: &Caller) -> Result<DemoState, NodeError> {
        require(caller, Access::Subscribe)?;
        Ok(self.demo.status().await?)
    }
}
