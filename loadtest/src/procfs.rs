//! Readings from /proc about the hub process and the kernel: the numbers density and CPU
//! claims are judged by. Linux only, like the hub's deployment.

use std::fs;

/// Kernel clock ticks per second for `/proc/<pid>/stat` times. 100 on every Linux build this
/// runs on (x86_64, aarch64); reading it needs `sysconf`, which would need unsafe code.
const CLOCK_TICKS: f64 = 100.0;

/// Resident set size of a process in bytes (`VmRSS` in `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    status_kib(&format!("/proc/{pid}/status"), "VmRSS:").map(|kib| kib * 1024)
}

/// The harness's own RSS, to show what the client side cost.
pub fn self_rss_bytes() -> Option<u64> {
    status_kib("/proc/self/status", "VmRSS:").map(|kib| kib * 1024)
}

fn status_kib(path: &str, key: &str) -> Option<u64> {
    let text = fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// User + system CPU seconds a process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu(&text)
}

fn parse_stat_cpu(stat: &str) -> Option<f64> {
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    // After ')': state is field 3 of the man page, so utime (14) and stime (15) are at 11, 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / CLOCK_TICKS)
}

/// Kernel memory used by TCP sockets in bytes (`TCP: ... mem N` pages in /proc/net/sockstat).
pub fn tcp_mem_bytes() -> Option<u64> {
    parse_sockstat_mem(&fs::read_to_string("/proc/net/sockstat").ok()?)
}

fn parse_sockstat_mem(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("TCP:"))?;
    let mut words = line.split_whitespace();
    words.find(|&w| w == "mem")?;
    let pages: u64 = words.next()?.parse().ok()?;
    Some(pages * 4096)
}

/// Slab caches a TCP connection's kernel objects live in (socket, inode, file, epoll entry).
const SOCKET_SLABS: [&str; 5] = [
    "TCP",
    "sock_inode_cache",
    "filp",
    "eventpoll_epi",
    "tcp_bind_bucket",
];

/// Bytes held by the socket-related slab caches (`/proc/slabinfo`, readable by root only).
/// `sockstat`'s `mem` counts only buffer pages, which idle sockets do not hold; the slab
/// objects are what an idle connection really costs the kernel.
pub fn socket_slab_bytes() -> Option<u64> {
    parse_slabinfo(&fs::read_to_string("/proc/slabinfo").ok()?)
}

fn parse_slabinfo(text: &str) -> Option<u64> {
    let mut total = 0;
    let mut found = false;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { continue };
        if !SOCKET_SLABS.contains(&name) {
            continue;
        }
        let active: u64 = words.next()?.parse().ok()?;
        let _all = words.next()?;
        let size: u64 = words.next()?.parse().ok()?;
        total += active * size;
        found = true;
    }
    found.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_name() {
        let stat = "1234 (ss hub) (x)) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 8 0";
        assert_eq!(parse_stat_cpu(stat), Some(3.0));
    }

    #[test]
    fn parses_sockstat() {
        let text =
            "sockets: used 290\nTCP: inuse 10 orphan 0 tw 2 alloc 12 mem 3\nUDP: inuse 1 mem 0\n";
        assert_eq!(parse_sockstat_mem(text), Some(3 * 4096));
    }

    #[test]
    fn parses_slabinfo() {
        let text = "slabinfo - version: 2.1\nTCP 10 20 2000 13 8 : tunables 0 0 0\nfilp 4 8 192 21 1\nkmalloc-8 1 1 8 1 1\n";
        assert_eq!(parse_slabinfo(text), Some(10 * 2000 + 4 * 192));
        assert_eq!(parse_slabinfo("kmalloc-8 1 1 8 1 1\n"), None);
    }

    #[test]
    fn reads_self() {
        assert!(self_rss_bytes().unwrap() > 0);
        assert!(cpu_seconds(std::process::id()).is_some());
    }
}
