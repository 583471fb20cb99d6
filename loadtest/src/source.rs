//! Client source endpoints for many connections to one hub.
//!
//! One (source IP, destination) pair has only the kernel's ephemeral range (~28k ports), so
//! connections are spread over 127.0.0.2, 127.0.0.3, ... And the ports are picked here, from
//! *below* the ephemeral range, and bound explicitly: letting the kernel pick (`bind(ip:0)`)
//! reserves ephemeral ports machine-wide, which starves every ordinary `connect()` (the
//! publishers', other programs') once ~20k connections are held.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::target::source_address;

/// Lowest port used: above the privileged ports.
const FIRST_PORT: u32 = 1025;
/// Used when the ephemeral range cannot be read (Linux's default start).
const DEFAULT_EPHEMERAL_START: u32 = 32768;

#[derive(Debug)]
pub struct Sources {
    next: AtomicU32,
    per_address: u32,
}

impl Sources {
    /// `per_address` is clamped to the ports available below the ephemeral range.
    pub fn new(per_address: u32) -> Self {
        let available = ephemeral_start().saturating_sub(FIRST_PORT).max(1);
        Self {
            next: AtomicU32::new(0),
            per_address: per_address.clamp(1, available),
        }
    }

    /// The next unused endpoint. Never hands out the same one twice in a run, so binding with
    /// `SO_REUSEADDR` (to step over a previous run's TIME_WAIT) cannot collide with a live one.
    pub fn next(&self) -> SocketAddr {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let ip = source_address(i / self.per_address);
        let port = FIRST_PORT + i % self.per_address;
        SocketAddr::new(ip, u16::try_from(port).unwrap_or(u16::MAX))
    }

    /// Source addresses used so far.
    pub fn addresses_used(&self) -> u32 {
        self.next.load(Ordering::Relaxed).div_ceil(self.per_address)
    }
}

/// Where the kernel's ephemeral port range starts (`ip_local_port_range`).
fn ephemeral_start() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(DEFAULT_EPHEMERAL_START)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_over_addresses_without_repeats() {
        let s = Sources::new(3);
        let got: Vec<String> = (0..7).map(|_| s.next().to_string()).collect();
        assert_eq!(
            got,
            [
                "127.0.0.2:1025",
                "127.0.0.2:1026",
                "127.0.0.2:1027",
                "127.0.0.3:1025",
                "127.0.0.3:1026",
                "127.0.0.3:1027",
                "127.0.0.4:1025"
            ]
        );
        assert_eq!(s.addresses_used(), 3);
    }

    #[test]
    fn stays_below_the_ephemeral_range() {
        let s = Sources::new(u32::MAX);
        let ports: Vec<u32> = (0..100).map(|_| u32::from(s.next().port())).collect();
        assert!(ports
            .iter()
            .all(|&p| (FIRST_PORT..ephemeral_start()).contains(&p)));
    }
}
