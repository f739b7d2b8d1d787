//! Whether an address is AWS's own: AWS's published `ip-ranges.json`, compiled in by the
//! `aws-ip-ranges` crate (its last release's data; no network at run time).

use std::net::IpAddr;
use std::sync::OnceLock;

struct Ranges {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

fn ranges() -> &'static Ranges {
    static RANGES: OnceLock<Ranges> = OnceLock::new();
    RANGES.get_or_init(|| {
        let data = &aws_ip_ranges::IP_RANGES;
        let mut v4: Vec<(u32, u32)> = data.prefixes.iter().filter_map(|p| v4_range(p.ip_prefix)).collect();
        let mut v6: Vec<(u128, u128)> = data.ipv6_prefixes.iter().filter_map(|p| v6_range(p.ipv6_prefix)).collect();
        Ranges { v4: merged(&mut v4), v6: merged(&mut v6) }
    })
}

fn v4_range(cidr: &str) -> Option<(u32, u32)> {
    let (addr, bits) = cidr.split_once('/')?;
    let (addr, bits): (std::net::Ipv4Addr, u32) = (addr.parse().ok()?, bits.parse().ok()?);
    let host = u32::MAX.checked_shr(bits).unwrap_or(0);
    let start = u32::from(addr) & !host;
    Some((start, start | host))
}

fn v6_range(cidr: &str) -> Option<(u128, u128)> {
    let (addr, bits) = cidr.split_once('/')?;
    let (addr, bits): (std::net::Ipv6Addr, u32) = (addr.parse().ok()?, bits.parse().ok()?);
    let host = u128::MAX.checked_shr(bits).unwrap_or(0);
    let start = u128::from(addr) & !host;
    Some((start, start | host))
}

/// The ranges sorted and merged where they overlap or nest, so that one binary search answers.
fn merged<T: Ord + Copy>(ranges: &mut [(T, T)]) -> Vec<(T, T)> {
    ranges.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for &(s, e) in ranges.iter() {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Whether a range in `disjoint` (sorted, not overlapping) holds `x`.
fn within<T: Ord + Copy>(disjoint: &[(T, T)], x: T) -> bool {
    let i = disjoint.partition_point(|&(s, _)| s <= x);
    i > 0 && x <= disjoint[i - 1].1
}

/// Whether `ip` is in one of AWS's published ranges.
pub fn is_aws(ip: &str) -> bool {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => within(&ranges().v4, u32::from(a)),
        Ok(IpAddr::V6(a)) => within(&ranges().v6, u128::from(a)),
        Err(_) => false,
    }
}

/// The date of the compiled-in ranges (`2025-10-31`).
pub fn aws_ranges_date() -> &'static str {
    aws_ip_ranges::IP_RANGES.create_date.get(..10).unwrap_or(aws_ip_ranges::IP_RANGES.create_date)
}
