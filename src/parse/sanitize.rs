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

/// Characters that print as nothing, so `admin\u{200B}` looks like `admin`: zero-width
/// spaces and joiners, the word joiner and invisible operators, the byte-order mark, the soft
/// hyphen, fillers, and the tag characters (which can smuggle a whole hidden string).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180E}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// Returns `s` fit for display. Whitespace controls (tab, CR, LF) and the line and paragraph
/// separators become a space so that words stay apart; invisible characters are shown as
/// `<U+200B>`, so that look-alike names look different; everything else hostile is dropped.
/// Borrows when nothing changes, which is the common case.
pub fn clean(s: &str) -> Cow<'_, str> {
    let fast = s.bytes().all(|b| (0x20..0x7f).contains(&b));
    if fast || !s.chars().any(|c| is_hostile(c) || is_invisible(c) || matches!(c, '\u{2028}' | '\u{2029}')) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}' => out.push(' '),
            c if is_hostile(c) => {}
            c if is_invisible(c) => out.push_str(&format!("<U+{:04X}>", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether `c` is shown as it is (typed text is held to this).
pub fn displayable(c: char) -> bool {
    !is_hostile(c) && !is_invisible(c) && !matches!(c, '\u{2028}' | '\u{2029}')
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
    fn invisible_characters_are_shown_so_look_alikes_differ() {
        assert_eq!(clean("admin\u{200B}"), "admin<U+200B>");
        assert_eq!(clean("ad\u{00AD}min\u{FEFF}"), "ad<U+00AD>min<U+FEFF>");
        assert_eq!(clean("a\u{2060}b\u{200D}c"), "a<U+2060>b<U+200D>c");
        assert_eq!(clean("x\u{E0041}\u{E0042}"), "x<U+E0041><U+E0042>");
        assert_eq!(clean("line\u{2028}para\u{2029}end"), "line para end");
    }

    #[test]
    fn keeps_clean_text_borrowed() {
        assert!(matches!(clean("Boto3/1.28 Python/3.11"), Cow::Borrowed(_)));
        assert!(matches!(clean("Zoë"), Cow::Borrowed(_)));
    }
}
