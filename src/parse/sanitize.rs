//! Scrubbing of attacker-controlled display strings.
//!
//! CloudTrail fields such as `userAgent`, `errorMessage` or resource names are chosen by whoever
//! calls AWS. An ESC sequence in a user agent would repaint the analyst's terminal, a bidi
//! override would make `evil.exe` read as `exe.live`. Every display string is cleaned once, at
//! parse time, so no later stage has to remember to.

use std::borrow::Cow;

/// True for characters that must never reach the terminal: C0 and C1 controls, DEL and the
/// Unicode bidi controls that reorder text.
fn is_hostile(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Returns `s` without hostile characters. Whitespace controls (tab, CR, LF) become a space so
/// that words stay apart; everything else hostile is dropped. Borrows when nothing changes,
/// which is the common case.
pub fn clean(s: &str) -> Cow<'_, str> {
    let fast = s.bytes().all(|b| (0x20..0x7f).contains(&b));
    if fast || !s.chars().any(is_hostile) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' | '\n' | '\r' => out.push(' '),
            c if is_hostile(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Owned variant for fields stored in an event.
pub fn clean_owned(s: &str) -> String {
    clean(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escape_sequences_and_c1() {
        assert_eq!(clean("aws-cli\x1b[2J\x1b]0;pwned\x07/2.0"), "aws-cli[2J]0;pwned/2.0");
        assert_eq!(clean("a\u{9b}31mb\u{7f}"), "a31mb");
    }

    #[test]
    fn strips_bidi_overrides_and_spaces_whitespace() {
        assert_eq!(clean("user\u{202E}exe.txt"), "userexe.txt");
        assert_eq!(clean("a\tb\nc"), "a b c");
    }

    #[test]
    fn keeps_clean_text_borrowed() {
        assert!(matches!(clean("Boto3/1.28 Python/3.11"), Cow::Borrowed(_)));
        assert!(matches!(clean("Zoë"), Cow::Borrowed(_)));
    }
}
