//! Driver errors and time limits, mapped to `StoreError`.

use super::*;

/// `operation` under `limit`; the outer error is the timeout, the inner one the driver's.
pub(super) async fn timed<T>(
    limit: Duration,
    what: &'static str,
    operation: impl IntoFuture<Output = mongodb::error::Result<T>>,
) -> Result<mongodb::error::Result<T>, StoreError> {
    tokio::time::timeout(limit, operation)
        .await
        .map_err(|_| StoreError::Unavailable(format!("{what}: no answer within {limit:?}")))
}

/// Server codes that mean "try again later": the node is stepping down, recovering or shutting
/// down, the network failed, a time limit or the write concern was not met.
pub(super) const TRANSIENT_CODES: [i32; 16] = [
    6, 7, 50, 64, 89, 91, 134, 189, 262, 9001, 10058, 10107, 11600, 11602, 13435, 13436,
];

/// Network, timeout, server selection and "node not usable now" errors are `Unavailable`
/// (the same call may work later); everything else is `Rejected`.
pub(super) fn classify(what: &'static str, error: mongodb::error::Error) -> StoreError {
    let transient = error.contains_label(mongodb::error::RETRYABLE_WRITE_ERROR)
        || match &*error.kind {
            ErrorKind::Io(_)
            | ErrorKind::ServerSelection { .. }
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. }
            | ErrorKind::Authentication { .. } => true,
            ErrorKind::Command(command) => TRANSIENT_CODES.contains(&command.code),
            ErrorKind::Write(WriteFailure::WriteConcernError(_)) => true,
            ErrorKind::Write(WriteFailure::WriteError(write)) => {
                TRANSIENT_CODES.contains(&write.code)
            }
            ErrorKind::InsertMany(insert) => insert.write_concern_error.is_some(),
            _ => false,
        };
    let message = format!("{what}: {error}");
    if transient {
        StoreError::Unavailable(message)
    } else {
        StoreError::Rejected(message)
    }
}

pub(super) fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    match &*error.kind {
        ErrorKind::Command(command) => command.code == DUPLICATE_KEY,
        ErrorKind::Write(WriteFailure::WriteError(write)) => write.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(insert) => insert
            .write_errors
            .iter()
            .flatten()
            .any(|e| e.code == DUPLICATE_KEY),
        _ => false,
    }
}

/// How many documents of an ordered insert went in before it stopped at a write error: a
/// definite outcome the server finished. `None` when the outcome is unknown (a timeout, the
/// network, a write concern error) or it was not an insert error.
pub(super) fn inserted_before_error(error: &mongodb::error::Error) -> Option<usize> {
    match &*error.kind {
        ErrorKind::InsertMany(insert) if insert.write_concern_error.is_none() => insert
            .write_errors
            .as_ref()
            .and_then(|errors| errors.iter().map(|e| e.index).min()),
        _ => None,
    }
}

/// The first statement error or the write concern error of an `update` command's reply, with
/// its code. (`run_command` only turns `ok: 0` into an error.)
pub(super) fn update_reply_error(reply: &Document) -> Option<(i32, StoreError)> {
    let code_of = |error: &Document| integer(error, "code").unwrap_or(0) as i32;
    let message_of = |error: &Document| error.get_str("errmsg").unwrap_or("").to_owned();
    if let Ok(errors) = reply.get_array("writeErrors") {
        if let Some(Bson::Document(error)) = errors.first() {
            let code = code_of(error);
            let message = format!("save checkpoints: {} (code {code})", message_of(error));
            return Some((code, StoreError::Rejected(message)));
        }
    }
    if let Ok(error) = reply.get_document("writeConcernError") {
        let code = code_of(error);
        let message = format!("save checkpoints: {} (code {code})", message_of(error));
        return Some((code, StoreError::Unavailable(message)));
    }
    None
}
