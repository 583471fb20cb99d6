//! File descriptor limit: 200k sockets need far more than the usual 1024 soft limit.

use rlimit::Resource;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit now in force.
pub fn raise_nofile() -> u64 {
    match rlimit::getrlimit(Resource::NOFILE) {
        Ok((soft, hard)) if soft < hard => match rlimit::setrlimit(Resource::NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(_) => soft,
        },
        Ok((soft, _)) => soft,
        Err(_) => 1024,
    }
}
