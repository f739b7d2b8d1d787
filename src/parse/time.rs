//! `eventTime` parsing. CloudTrail writes `2023-07-10T11:42:13Z`; exports add fractions or
//! offsets, LookupEvents uses epoch seconds. The common form is parsed by hand because it is on
//! the hot path of every record.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// Unix seconds for any of the forms above, or `None`.
pub fn parse_event_time(s: &str) -> Option<i64> {
    fast_utc(s.as_bytes())
        .or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp()))
        // Data lakes store `2024-06-03 15:23:22.000000000`, in UTC.
        .or_else(|| {
            NaiveDateTime::parse_from_str(s.trim_end_matches(" UTC").trim_end_matches('Z'), "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc().timestamp())
        })
        .or_else(|| {
            let n: f64 = s.parse().ok()?;
            if !n.is_finite() {
                return None;
            }
            // Values this large are milliseconds (Java and Go exporters use them). The casts
            // saturate; `plausible` then turns such values away.
            Some(if n.abs() > 1e11 { (n / 1000.0) as i64 } else { n as i64 })
        })
}

/// The earliest event time accepted: 2005-01-01, before CloudTrail (2013) existed.
pub const MIN_EVENT_TIME: i64 = 1_104_537_600;
/// How far ahead of this machine's clock an event may be: clocks drift, files do not come
/// from next week.
pub const MAX_AHEAD: i64 = 86_400;

/// Whether `t` can be a real event time, no later than `latest` (this machine's clock plus
/// what [`crate::parse::ParseOptions::max_ahead`] allows). Anything else is an invalid record:
/// a time in year 300,000 would overflow window arithmetic and empty the console's charts.
pub fn plausible(t: i64, latest: i64) -> bool {
    (MIN_EVENT_TIME..=latest.min(MAX_EVENT_TIME)).contains(&t)
}

/// The latest event time accepted whatever the options: 9999-12-31, the last that formats.
pub const MAX_EVENT_TIME: i64 = 253_402_300_799;

/// `secs` in UTC through a chrono pattern (`%H:%M:%S`); `?` for a time chrono cannot hold.
/// Display code formats times here and never slices the formatted string.
pub fn format_utc(secs: i64, pattern: &str) -> String {
    DateTime::from_timestamp(secs, 0).map_or_else(|| "?".to_owned(), |t| t.format(pattern).to_string())
}

fn fast_utc(b: &[u8]) -> Option<i64> {
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let t = Utc
        .with_ymd_and_hms(num(0..4)? as i32, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?)
        .single()?;
    Some(t.timestamp())
}

/// RFC 3339 in UTC with a `Z`, the form trailtop prints.
pub fn rfc3339(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| "?".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse_event_time("2023-07-10T11:42:13Z"), Some(1_688_989_333));
        assert_eq!(parse_event_time("2023-07-10T11:42:13.250Z"), Some(1_688_989_333));
        assert_eq!(parse_event_time("2023-07-10T04:42:13-07:00"), Some(1_688_989_333));
        assert_eq!(parse_event_time("1688989333"), Some(1_688_989_333));
        assert_eq!(parse_event_time("2023-07-10 11:42:13.000000000"), Some(1_688_989_333));
        assert_eq!(parse_event_time("2023-07-10 11:42:13"), Some(1_688_989_333));
        assert_eq!(parse_event_time("1688989333000"), Some(1_688_989_333));
        assert_eq!(parse_event_time("2023-13-10T11:42:13Z"), None);
        assert_eq!(parse_event_time("yesterday"), None);
        assert_eq!(rfc3339(1_688_989_333), "2023-07-10T11:42:13Z");
        assert_eq!(parse_event_time("1e400"), None);
    }

    #[test]
    fn absurd_times_are_implausible_and_format_without_panicking() {
        let now = 1_700_000_000;
        let latest = now + MAX_AHEAD;
        for s in ["100000000000000000", "-100000000000000", "-5", "99999999999999999999999", "9999-12-31T23:59:59Z"] {
            let t = parse_event_time(s).unwrap_or(0);
            assert!(!plausible(t, latest), "{s} -> {t}");
        }
        assert!(plausible(parse_event_time("2023-07-10T11:42:13Z").unwrap(), latest));
        assert!(plausible(now + 3600, latest), "an hour of clock drift is fine");
        assert!(!plausible(now + 2 * 86_400, latest));
        // However far ahead the options allow, a time that cannot be formatted is refused.
        assert!(plausible(now + 365 * 86_400, i64::MAX));
        assert!(!plausible(100_000_000_000_000_000, i64::MAX));
        for t in [i64::MIN, i64::MAX, -100_000_000_000_000, 100_000_000_000_000_000] {
            assert_eq!(format_utc(t, "%H:%M:%S"), "?");
            assert_eq!(rfc3339(t), "?");
        }
        assert_eq!(format_utc(1_688_989_333, "%Y-%m-%d %H:%M"), "2023-07-10 11:42");
    }
}
