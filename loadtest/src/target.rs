//! Hub addresses. The harness only ever talks to loopback: the refusal lives here, at the one
//! place a URL becomes a socket address, so no scenario can bypass it (TLS included).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// How a hub is spoken to: plain TCP, or TLS (`--ca-cert` / `--insecure` say whom to trust).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// One hub node, `http://127.x.y.z:port` or `https://...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hub {
    pub scheme: Scheme,
    pub addr: SocketAddr,
    /// The host as the URL wrote it (`localhost` or the IP): the TLS server name, so a
    /// certificate issued for `localhost` verifies, and the `Host`/`:authority` value.
    pub host: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum HubError {
    /// Only `http://` and `https://` are spoken.
    Scheme(String),
    Address(String),
    /// Anything outside 127.0.0.0/8: load must never leave this machine.
    NotLoopback(IpAddr),
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scheme(url) => write!(
                f,
                "{url}: only http:// and https://127.x.y.z:port URLs are supported"
            ),
            Self::Address(url) => write!(f, "{url}: expected http(s)://<IPv4>:<port>"),
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
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else if let Some(rest) = url.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else {
            return Err(HubError::Scheme(url.to_owned()));
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, resolved) = match authority.strip_prefix("localhost:") {
            Some(port) => ("localhost", format!("127.0.0.1:{port}")),
            None => (
                authority.rsplit_once(':').map_or(authority, |(h, _)| h),
                authority.to_owned(),
            ),
        };
        let addr: SocketAddr = resolved
            .parse()
            .map_err(|_| HubError::Address(url.to_owned()))?;
        match addr.ip() {
            IpAddr::V4(v4) if v4.is_loopback() => Ok(Self {
                scheme,
                addr,
                host: host.to_owned(),
            }),
            ip => Err(HubError::NotLoopback(ip)),
        }
    }
}

impl Hub {
    /// `host:port` for the `Host` header and the h2 `:authority`.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.addr.port())
    }

    /// The absolute URI of `path` on this hub (h2 requests carry scheme and authority).
    pub fn uri(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme.as_str(), self.authority())
    }
}

impl fmt::Display for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.addr)
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
        let local: Hub = "http://localhost:9".parse().unwrap();
        assert_eq!(local.addr, "127.0.0.1:9".parse().unwrap());
        assert_eq!(local.authority(), "localhost:9");
    }

    #[test]
    fn https_keeps_the_host_for_the_server_name() {
        let hub: Hub = "https://127.0.0.1:8443/".parse().unwrap();
        assert_eq!(hub.scheme, Scheme::Https);
        assert_eq!(hub.host, "127.0.0.1");
        assert_eq!(hub.to_string(), "https://127.0.0.1:8443");
        assert_eq!(
            hub.uri("/api/sse/connect"),
            "https://127.0.0.1:8443/api/sse/connect"
        );
        let local: Hub = "https://localhost:8443".parse().unwrap();
        assert_eq!(local.host, "localhost");
        assert!(matches!(
            "https://10.0.0.1:443".parse::<Hub>(),
            Err(HubError::NotLoopback(_))
        ));
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
            "ftp://127.0.0.1:80".parse::<Hub>(),
            Err(HubError::Scheme(_))
        ));
        assert!(matches!(
            "http://example.com:80".parse::<Hub>(),
            Err(HubError::Address(_))
        ));
    }
}
