//! Small text helpers shared by the headless output and the console.

use std::borrow::Cow;

/// `72,984`: thousands grouped with commas.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `s` lower-cased (ASCII) into `buf`, without allocating; `None` when it does not fit.
pub fn ascii_lower<'b>(s: &str, buf: &'b mut [u8; 64]) -> Option<&'b str> {
    let out = buf.get_mut(..s.len())?;
    out.copy_from_slice(s.as_bytes());
    out.make_ascii_lowercase();
    std::str::from_utf8(out).ok()
}

/// The readable tail of an ARN: `user/alice` for `arn:aws:iam::1:user/alice`,
/// `assumed-role/ci/run-42` for an assumed role. Non-ARNs are returned as they are.
pub fn short_principal(p: &str) -> &str {
    if !p.starts_with("arn:") {
        return p;
    }
    p.splitn(6, ':').nth(5).filter(|s| !s.is_empty()).unwrap_or(p)
}

/// Shortens `s` to at most `max` characters by cutting its middle, so that the end of an ARN
/// (the session or user name, which tells sessions of one role apart) survives:
/// `assumed-role/ci-d…/GitHubActions-leaked`. The last `/` segment is kept whole when it fits
/// in all but four characters.
pub fn shorten_middle(s: &str, max: usize) -> Cow<'_, str> {
    let n = s.chars().count();
    if n <= max {
        return Cow::Borrowed(s);
    }
    if max < 8 {
        return truncate(s, max);
    }
    let last = s.rsplit('/').next().map_or(0, |l| l.chars().count() + 1);
    let tail = if last <= max - 4 { last.max((max - 1) / 2) } else { (max - 1) / 2 };
    let head = max - 1 - tail;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(n - tail));
    Cow::Owned(out)
}

/// Cuts `s` to at most `max` characters, marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().count() <= max {
        return Cow::Borrowed(s);
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    Cow::Owned(t)
}

/// Spreadsheets run cells that start with `=`, `+`, `-` or `@` as formulas, after any
/// leading blanks; a leading quote keeps them text.
pub fn neutralize_csv(s: &str) -> String {
    let first = s.trim_start_matches(|c: char| c.is_whitespace() || c.is_control());
    if first.starts_with(['=', '+', '-', '@']) || s.starts_with(['\t', '\r']) { format!("'{s}") } else { s.to_owned() }
}

/// `90s`, `12m`, `3h`, `2d`.
pub fn human_secs(s: i64) -> String {
    let s = s.max(0);
    if s < 120 {
        format!("{s}s")
    } else if s < 7200 {
        format!("{}m", s / 60)
    } else if s < 172_800 {
        format!("{}h", s / 3600)
    } else {
        format!("{}d", s / 86_400)
    }
}

/// A number without a trailing `.0`: `5`, `2.5`.
pub fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

/// A count and its noun, as people write them: "1 event", "72,984 events".
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{} {noun}s", group(n)) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_middle_goes_so_the_session_name_survives() {
        let arn = "assumed-role/ci-deploy/GitHubActions-leaked";
        assert_eq!(super::shorten_middle(arn, 44), arn);
        assert_eq!(super::shorten_middle(arn, 30), "assumed-…/GitHubActions-leaked");
        let cut = super::shorten_middle(arn, 20);
        assert_eq!((cut.chars().count(), cut.as_ref()), (20, "assumed-ro…ns-leaked"));
        assert_eq!(super::shorten_middle("abcdefghij", 6), "abcde…");
    }

    /// "1 records" in the drill-down title, numbers grouped in one place and not another.
    #[test]
    fn counts_read_as_people_write_them() {
        assert_eq!(super::plural(1, "record"), "1 record");
        assert_eq!(super::plural(0, "record"), "0 records");
        assert_eq!(super::plural(72_984, "event"), "72,984 events");
    }

    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(short_principal("arn:aws:iam::1:user/alice"), "user/alice");
        assert_eq!(short_principal("arn:aws:sts::1:assumed-role/ci/run"), "assumed-role/ci/run");
        assert_eq!(short_principal("root:1"), "root:1");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(neutralize_csv("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(neutralize_csv("1.2.3.4"), "1.2.3.4");
        // Parse turns a tab into a space; the formula after it is still a formula.
        for f in [" =1+1", "\t=1+1", "  @SUM(A1)", "\u{a0}+1", "\r-1"] {
            assert!(neutralize_csv(f).starts_with('\''), "{f:?}");
        }
    }
}
