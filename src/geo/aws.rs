//! Whether an address is AWS's own: AWS's published `ip-ranges.json`, compiled in by the
//! `aws-ip-ranges` crate (its last release's data; no network at run time).

use std::net::IpAddr;
use std::sync::OnceLock;

/// Every range, IPv4 ones as IPv4-mapped IPv6 (`::ffff:a.b.c.d`), sorted and merged where they
/// overlap or nest, so that one binary search answers either family.
fn ranges() -> &'static [(u128, u128)] {
    static RANGES: OnceLock<Vec<(u128, u128)>> = OnceLock::new();
    RANGES.get_or_init(|| {
        let data = &aws_ip_ranges::IP_RANGES;
        let v4 = data.prefixes.iter().map(|p| p.ip_prefix);
        let mut all: Vec<(u128, u128)> =
            v4.chain(data.ipv6_prefixes.iter().map(|p| p.ipv6_prefix)).filter_map(range).collect();
        all.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(all.len());
        for (s, e) in all {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    })
}

/// An address in the one space both families share.
fn key(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// `a.b.c.d/n` or `x::/n` as the first and last address it holds.
fn range(cidr: &str) -> Option<(u128, u128)> {
    let (addr, bits) = cidr.split_once('/')?;
    let (addr, bits): (IpAddr, u32) = (addr.parse().ok()?, bits.parse().ok()?);
    // A mapped IPv4 address sits below 96 bits of prefix.
    let bits = if addr.is_ipv4() { bits + 96 } else { bits };
    let host = u128::MAX.checked_shr(bits).unwrap_or(0);
    let start = key(addr) & !host;
    Some((start, start | host))
}

/// Whether `ip` is in one of AWS's published ranges.
pub fn is_aws(ip: &str) -> bool {
    let Ok(addr) = ip.parse::<IpAddr>() else { return false };
    let (x, disjoint) = (key(addr), ranges());
    let i = disjoint.partition_point(|&(s, _)| s <= x);
    i > 0 && x <= disjoint[i - 1].1
}

/// The date of the compiled-in ranges (`2025-10-31`).
pub fn aws_ranges_date() -> &'static str {
    aws_ip_ranges::IP_RANGES.create_date.get(..10).unwrap_or(aws_ip_ranges::IP_RANGES.create_date)
}
