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
            // Values this large are milliseconds (Java and Go exporters use them).
            Some(if n > 1e11 { (n / 1000.0) as i64 } else { n as i64 })
        })
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
        .unwrap_or_else(|| secs.to_string())
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
    }
}
