//! Finding the byte extent of JSON values without building them.
//!
//! A CloudTrail file is one big `{"Records":[...]}`. Parsing it with one `serde_json` call loses
//! every record when a single byte is wrong or the file is truncated. Splitting the array into
//! element slices first lets each record succeed or fail on its own, and a truncated file still
//! yields every record before the cut.

use thiserror::Error;

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum SplitError {
    #[error("input ends inside a JSON value (truncated)")]
    Truncated,
    #[error("unexpected byte {0:#04x} at offset {1}")]
    Unexpected(u8, usize),
}

pub fn skip_ws(buf: &[u8], mut pos: usize) -> usize {
    while pos < buf.len() && matches!(buf[pos], b' ' | b'\t' | b'\n' | b'\r') {
        pos += 1;
    }
    pos
}

/// Returns the offset just past the JSON value that starts at `start` (which must not be
/// whitespace). Only structure is checked; the content is validated by serde later.
pub fn value_end(buf: &[u8], start: usize) -> Result<usize, SplitError> {
    let Some(&first) = buf.get(start) else {
        return Err(SplitError::Truncated);
    };
    match first {
        b'{' | b'[' => container_end(buf, start),
        b'"' => string_end(buf, start + 1),
        b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
            let mut i = start;
            while i < buf.len() && !matches!(buf[i], b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                i += 1;
            }
            Ok(i)
        }
        other => Err(SplitError::Unexpected(other, start)),
    }
}

/// `pos` is just after the opening quote; returns the offset past the closing quote.
fn string_end(buf: &[u8], mut pos: usize) -> Result<usize, SplitError> {
    loop {
        let rel = memchr::memchr2(b'"', b'\\', &buf[pos..]).ok_or(SplitError::Truncated)?;
        pos += rel;
        if buf[pos] == b'\\' {
            pos += 2;
            if pos > buf.len() {
                return Err(SplitError::Truncated);
            }
        } else {
            return Ok(pos + 1);
        }
    }
}

fn container_end(buf: &[u8], start: usize) -> Result<usize, SplitError> {
    let mut depth = 0usize;
    let mut pos = start;
    while pos < buf.len() {
        match buf[pos] {
            // Strings are where the bytes are; `string_end` crosses them with memchr.
            b'"' => {
                pos = string_end(buf, pos + 1)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(pos + 1);
                }
            }
            _ => {}
        }
        pos += 1;
    }
    Err(SplitError::Truncated)
}

/// Iterates over the element slices of the JSON array whose `[` is at `open`.
/// After an error the iterator ends; `error()` tells what stopped it.
pub struct ArrayElements<'a> {
    buf: &'a [u8],
    pos: usize,
    done: bool,
    error: Option<SplitError>,
}

impl<'a> ArrayElements<'a> {
    pub fn new(buf: &'a [u8], open: usize) -> Self {
        debug_assert_eq!(buf.get(open), Some(&b'['));
        let pos = skip_ws(buf, open + 1);
        let done = buf.get(pos) == Some(&b']');
        Self { buf, pos, done, error: None }
    }

    pub fn error(&self) -> Option<SplitError> {
        self.error
    }

    fn fail(&mut self, e: SplitError) -> Option<&'a [u8]> {
        self.done = true;
        self.error = Some(e);
        None
    }
}

impl<'a> Iterator for ArrayElements<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let end = match value_end(self.buf, start) {
            Ok(e) => e,
            Err(e) => return self.fail(e),
        };
        let after = skip_ws(self.buf, end);
        match self.buf.get(after) {
            Some(b',') => self.pos = skip_ws(self.buf, after + 1),
            Some(b']') => self.done = true,
            Some(&b) => {
                // The element is complete; what follows it is not JSON we can trust.
                self.fail(SplitError::Unexpected(b, after));
            }
            None => {
                self.fail(SplitError::Truncated);
            }
        }
        Some(&self.buf[start..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(s: &str) -> (Vec<&str>, Option<SplitError>) {
        let mut it = ArrayElements::new(s.as_bytes(), s.find('[').unwrap());
        let v = it.by_ref().map(|b| std::str::from_utf8(b).unwrap()).collect();
        (v, it.error())
    }

    #[test]
    fn splits_nested_values_with_tricky_strings() {
        let (v, err) = elements(r#"[{"a":"}]\"{["}, [1,[2]] , "x\\", 3, {"b":{"c":[]}}]"#);
        assert_eq!(v, vec![r#"{"a":"}]\"{["}"#, "[1,[2]]", r#""x\\""#, "3", r#"{"b":{"c":[]}}"#]);
        assert_eq!(err, None);
    }

    #[test]
    fn truncated_array_keeps_complete_elements() {
        let (v, err) = elements(r#"[{"a":1},{"b":2},{"c":"unterminat"#);
        assert_eq!(v, vec![r#"{"a":1}"#, r#"{"b":2}"#]);
        assert_eq!(err, Some(SplitError::Truncated));
    }

    #[test]
    fn empty_array_and_garbage_after_element() {
        assert_eq!(elements("[ ]").0.len(), 0);
        let (v, err) = elements(r#"[{"a":1} x {"b":2}]"#);
        assert_eq!(v.len(), 1);
        assert!(matches!(err, Some(SplitError::Unexpected(b'x', _))));
    }
}
