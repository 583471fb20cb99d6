//! One file per endpoint group; each handler is `async fn(req, &AppState) -> Result<Response, ApiError>`.

pub mod demo;
pub mod ops;
pub mod publish;
pub mod subscribe;
pub mod token;
