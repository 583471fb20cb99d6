//! Hub addresses. The harness only ever talks to loopback: the refusal lives here, at the one
//! place a URL becomes a socket address, so no scenario can bypass it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// One hub node, `http://127.x.y.z:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hub {
    pub addr: SocketAddr,
}

#[derive(Debug, PartialEq, Eq)]
pub enum HubError {
    /// Only `http://` is spoken (TLS is a terminator's job, never loopback load).
    Scheme(String),
    Address(String),
    /// Anything outside 127.0.0.0/8: load must never leave this machine.
    NotLoopback(IpAddr),
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scheme(url) => write!(f, "{url}: only http://127.x.y.z:port URLs are supported"),
            Self::Address(url) => write!(f, "{url}: expected http://<IPv4>:<port>"),
            Self::NotLoopback(ip) => {
                write!(
                    f,
                    "{ip} is not in 127.0.0.0/8: the harness only targets loopback"
                )
            }
        }
    }
}

impl std::error::Error for HubError {}

impl FromStr for Hub {
    type Err = HubError;

    fn from_str(url: &str) -> Result<Self, HubError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| HubError::Scheme(url.to_owned()))?;
        let authority = rest.split('/').next().unwrap_or_default();
        let authority = match authority {
            a if a.starts_with("localhost:") => a.replacen("localhost", "127.0.0.1", 1),
            a => a.to_owned(),
        };
        let addr: SocketAddr = authority
            .parse()
            .map_err(|_| HubError::Address(url.to_owned()))?;
        match addr.ip() {
            IpAddr::V4(v4) if v4.is_loopback() => Ok(Self { addr }),
            ip => Err(HubError::NotLoopback(ip)),
        }
    }
}

impl fmt::Display for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}", self.addr)
    }
}

/// The k-th client source address: 127.0.0.2, 127.0.0.3, ... Each address has its own
/// ephemeral port range towards the hub, which is how one host opens more than ~28k
/// connections to one listener.
pub fn source_address(k: u32) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::from(
        u32::from(std::net::Ipv4Addr::new(127, 0, 0, 2)) + k,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_loopback_urls() {
        let hub: Hub = "http://127.0.0.1:8080/".parse().unwrap();
        assert_eq!(hub.addr, "127.0.0.1:8080".parse().unwrap());
        assert!("http://127.3.4.5:1".parse::<Hub>().is_ok());
        assert!("http://localhost:9".parse::<Hub>().is_ok());
    }

    #[test]
    fn source_addresses_stay_in_loopback() {
        assert_eq!(source_address(0).to_string(), "127.0.0.2");
        assert_eq!(source_address(300).to_string(), "127.0.1.46");
        assert!(source_address(1_000_000).to_string().starts_with("127."));
    }

    #[test]
    fn refuses_everything_else() {
        assert!(matches!(
            "http://10.0.0.1:80".parse::<Hub>(),
            Err(HubError::NotLoopback(_))
        ));
        assert!(matches!(
            "http://192.168.1.1:80".parse::<Hub>(),
            Err(HubError::NotLoopback(_))
        ));
        assert!(matches!(
            "https://127.0.0.1:80".parse::<Hub>(),
            Err(HubError::Scheme(_))
        ));
        assert!(matches!(
            "http://example.com:80".parse::<Hub>(),
            Err(HubError::Address(_))
        ));
    }
}
