//! Values given on the command line: durations, sizes, times and alert budgets.

/// `5/day`, `0.5/day` or `5`: model alerts a day.
pub fn parse_budget(s: &str) -> Result<f64, String> {
    let n = s.trim().trim_end_matches("/day").trim_end_matches("/d");
    match n.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 10_000.0 => Ok(v),
        _ => Err(format!("'{s}' is not an alert budget like 5/day (more than 0, at most 10000)")),
    }
}

/// `90s`, `15m`, `1h`, `7d`, `2w` or plain seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().map_err(|_| format!("'{s}' is not a duration like 15m, 1h or 7d"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use s, m, h, d or w)")),
    };
    if n <= 0 {
        return Err(format!("'{s}' must be longer than zero"));
    }
    // Every duration ends up added to or taken from a time, or divides one: a bound keeps
    // that arithmetic far from overflow.
    match n.checked_mul(mult) {
        Some(secs) if secs <= MAX_DURATION => Ok(secs),
        _ => Err(format!("'{s}' is too long (at most 36500d, a hundred years)")),
    }
}

/// A size in bytes: a number with `KiB`, `MiB`, `GiB` (or `K`, `M`, `G`, also powers of 1024),
/// at least 1 MiB.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("'{s}' is not a size like 256MiB or 1GiB"))?;
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" | "kb" => 10,
        "m" | "mib" | "mb" => 20,
        "g" | "gib" | "gb" => 30,
        _ => return Err(format!("'{s}': unknown unit '{unit}' (use KiB, MiB or GiB)")),
    };
    match n.checked_mul(1 << shift).and_then(|b| usize::try_from(b).ok()) {
        Some(b) if b >= 1 << 20 => Ok(b),
        Some(_) => Err(format!("'{s}' is too small (at least 1MiB)")),
        None => Err(format!("'{s}' is too large")),
    }
}

/// The longest duration accepted anywhere: a hundred years, in seconds.
pub const MAX_DURATION: i64 = 36_500 * 86_400;

/// RFC 3339 or an age before now.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Some(t) = crate::parse::time::parse_event_time(s).filter(|_| s.contains('-')) {
        return Ok(t);
    }
    let age = parse_duration(s).map_err(|_| format!("'{s}' is neither an RFC 3339 time nor an age like 24h"))?;
    Ok(chrono::Utc::now().timestamp() - age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("2048K"), Ok(2 << 20));
        assert!(parse_size("10").unwrap_err().contains("too small"));
        assert!(parse_size("5TB").unwrap_err().contains("unit"));
        assert!(parse_size("99999999999999999999G").is_err());
    }

    #[test]
    fn alert_budgets() {
        assert_eq!(parse_budget("5/day"), Ok(5.0));
        assert_eq!(parse_budget("0.5"), Ok(0.5));
        assert!(parse_budget("0/day").is_err());
        assert!(parse_budget("five").is_err());
        let cli = Cli::try_parse_from(["trailtop", "watch", "demo", "--alert-budget", "3/day"]).unwrap();
        match cli.command {
            Some(Command::Watch(w)) => assert_eq!(w.run.alert_budget, Some(3.0)),
            other => panic!("{other:?}"),
        }
        let scan = Cli::try_parse_from(["trailtop", "scan", "x", "--alert-budget", "2/day"]).unwrap();
        match scan.command {
            Some(Command::Scan(a)) => assert_eq!(a.model.config().threshold, crate::model::Threshold::Budget(2.0)),
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["trailtop", "scan", "x", "--alert-budget", "2", "--threshold", "0.8"]).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("1y").is_err());
        assert_eq!(parse_duration("36500d"), Ok(MAX_DURATION));
        // Overflowed to zero before, and the window then divided by it.
        for huge in ["144115188075855872w", "36501d", "9223372036854775807s", "99999999999999999999s"] {
            assert!(parse_duration(huge).is_err(), "{huge}");
        }
        assert_eq!(parse_time("2024-03-01T00:00:00Z"), Ok(1_709_251_200));
        assert!(parse_time("24h").unwrap() < chrono::Utc::now().timestamp());
    }
}
