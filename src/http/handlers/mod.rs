//! One file per endpoint group; each handler is
//! `async fn(req, &Shared) -> Result<Response, ApiError>`: identify the caller, parse the
//! rest into the verb's input, call the verb, write its answer.

pub(crate) mod demo;
pub(crate) mod history;
pub(crate) mod ops;
pub(crate) mod publish;
pub(crate) mod stream;
pub(crate) mod token;

use crate::http::body::RequestBody;
use http::Request;

use super::error::ApiError;
use super::request::{self, Query};
use super::Shared;
use crate::auth::{Access, Caller};

/// The caller of a request, for a verb that needs `needed`; before anything else is read.
fn identify(
    req: &Request<RequestBody>,
    shared: &Shared,
    access: Access,
) -> Result<Caller, ApiError> {
    let query = Query::parse(req.uri().query());
    let credentials = request::credentials(req.headers(), &query, &shared.settings.jwt_cookie);
    Ok(shared.node.identify(&credentials, access)?)
}
