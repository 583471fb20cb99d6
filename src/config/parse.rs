//! Value parsers: each flag's text becomes its typed value once, with its range checked and
//! a message that names the rule.

use std::net::{SocketAddr, ToSocketAddrs};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser;

use crate::outbox::mongo::WriteAcknowledgment;

/// Whole seconds within `range`, as a `Duration`.
pub fn seconds(range: RangeInclusive<u64>) -> impl TypedValueParser<Value = Duration> {
    clap::value_parser!(u64)
        .range(range)
        .map(Duration::from_secs)
}

/// Whole seconds from `min` up, as a `Duration`.
pub fn seconds_from(min: u64) -> impl Fn(&str) -> Result<Duration, String> + Clone {
    move |text| match text.trim().parse::<u64>() {
        Ok(n) if n >= min => Ok(Duration::from_secs(n)),
        _ => Err(format!("must be a whole number of seconds, at least {min}")),
    }
}

/// Whole milliseconds within `range`, as a `Duration`.
pub fn millis(range: RangeInclusive<u64>) -> impl TypedValueParser<Value = Duration> {
    clap::value_parser!(u64)
        .range(range)
        .map(Duration::from_millis)
}

/// A count or size within `range`.
pub fn usize_in(range: RangeInclusive<u64>) -> impl TypedValueParser<Value = usize> {
    clap::value_parser!(u64)
        .range(range)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A count from `min` up.
pub fn at_least(min: usize) -> impl Fn(&str) -> Result<usize, String> + Clone {
    move |text| match text.trim().parse::<usize>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!("must be a whole number of at least {min}")),
    }
}

/// `host:port`, an IP literal or a host name resolved now (an IPv4 address is preferred, as
/// most clients try it first).
///
/// # Errors
/// When the text is not `host:port` or the host does not resolve.
pub fn listen_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let resolved: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("expected host:port (e.g. 127.0.0.1:8080): {e}"))?
        .collect();
    resolved
        .iter()
        .find(|a| a.is_ipv4())
        .or(resolved.first())
        .copied()
        .ok_or_else(|| format!("{text} resolves to no address"))
}

/// One API key: not empty, no surrounding spaces (a stray space in a list is a typo).
///
/// # Errors
/// When the key is empty or padded.
pub fn key(text: &str) -> Result<String, String> {
    if text.is_empty() || text.trim() != text {
        return Err("a key is empty or has surrounding spaces".into());
    }
    Ok(text.to_owned())
}

/// The client token secret: HMAC-SHA256 wants at least 16 bytes to be worth anything.
///
/// # Errors
/// When it is shorter.
pub fn token_secret(text: &str) -> Result<String, String> {
    if text.len() < 16 {
        return Err("must be at least 16 bytes long".into());
    }
    Ok(text.to_owned())
}

/// An HS256 secret: RFC 7518 wants at least as many bytes as the hash (32).
///
/// # Errors
/// When shorter.
pub fn jwt_secret(text: &str) -> Result<String, String> {
    if text.len() < 32 {
        return Err("must be at least 32 bytes long (RFC 7518, HS256)".into());
    }
    Ok(text.to_owned())
}

/// A readable file.
///
/// # Errors
/// When the path is not a file.
pub fn file(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if !path.is_file() {
        return Err(format!("{text} is not a readable file"));
    }
    Ok(path)
}

/// A JWKS URL: `http://host[:port]/path`. (An `https` URL needs a TLS client the hub does not
/// have yet.)
///
/// # Errors
/// When not an absolute `http` URL.
pub fn jwks_url(text: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = text.parse().map_err(|e| format!("not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") if uri.host().is_some() => Ok(uri),
        Some("https") => Err("https JWKS URLs are not supported yet: serve the JWKS over http on a trusted network (a sidecar), or use --jwks-file".into()),
        _ => Err("must be an absolute http:// URL".into()),
    }
}

/// A cookie name: an RFC 6265 token.
///
/// # Errors
/// When empty or holding a separator.
pub fn cookie_name(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !ok {
        return Err("must be 1-64 characters of letters, digits and !#$%&'*+-.^_`|~".into());
    }
    Ok(text.to_owned())
}

/// An existing directory.
///
/// # Errors
/// When the path is not a directory.
pub fn directory(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if !path.is_dir() {
        return Err(format!("{text} is not a directory"));
    }
    Ok(path)
}

/// `majority` or a number of members from 1.
///
/// # Errors
/// For anything else.
pub fn write_concern(text: &str) -> Result<WriteAcknowledgment, String> {
    text.parse()
        .map_err(|e: crate::outbox::mongo::BadWriteConcern| e.to_string())
}
