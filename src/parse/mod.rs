//! Stage 2: bytes of a CloudTrail document to [`Event`]s.
//!
//! Accepted shapes: `{"Records":[...]}` as CloudTrail writes to S3, a bare JSON array of
//! records, NDJSON (one record a line), one record (pretty or not), concatenated records, and
//! LookupEvents output (`{"Events":[{"CloudTrailEvent":"<json>"}]}`, or inline records).
//! Digest files and broken records are counted in [`ParseStats`], never fatal: one bad record
//! costs that record only, and a truncated document keeps everything before the cut.

mod calls;
mod identity;
mod lenient;
pub mod params;
mod record;
mod s3;
pub mod sanitize;
mod split;
pub mod time;

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

pub use calls::CallSet;
pub use identity::ArnKept;
use record::WireRecord;
pub use record::{Category, Event, RecordError, fnv1a};
use split::{ArrayElements, skip_ws, value_end};

/// CloudTrail caps an event at 256 KB; anything far above that is not a record but an attack
/// on the parser or a corrupt file.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 8 << 20;

/// A file or object may not inflate beyond this by default (1 GiB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1 << 30;

/// How to parse.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Keep each record's raw JSON for drill-down (the console does, `scan` does not).
    pub keep_raw: bool,
    /// Without `keep_raw`, keep the raw JSON of the records for these calls (lower-cased
    /// `eventName`) all the same: the Sigma rules about them read fields no typed one holds.
    pub raw_calls: Option<Arc<CallSet>>,
    /// A record larger than this is skipped.
    pub max_record_bytes: usize,
    /// A file or object may not inflate beyond this: a bomb is a counted skip, not an outage.
    pub max_file_bytes: u64,
    /// How far ahead of this machine's clock an `eventTime` may be, seconds (a day: clock
    /// skew). Only the demo, whose `--speed` simulates the future, allows more.
    pub max_ahead: i64,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            keep_raw: false,
            raw_calls: None,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_ahead: time::MAX_AHEAD,
        }
    }
}

/// Counters of what a parse met. Everything skipped is counted here and shown to the user.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ParseStats {
    /// Records that became events.
    pub records: u64,
    /// Records that were not valid.
    pub invalid: u64,
    /// Records and files over their size caps.
    pub oversized: u64,
    /// Digest files, counted and skipped.
    pub digests: u64,
    /// Insight records among the events.
    pub insights: u64,
    /// Documents that ended mid-value or had garbage after a value.
    pub truncated: u64,
    /// Records with bytes that were not UTF-8, kept with U+FFFD in their place.
    pub repaired_utf8: u64,
    /// The latest problem, for the header and stderr.
    pub last_error: Option<String>,
}

impl ParseStats {
    /// Adds `o`'s counts to these.
    pub fn merge(&mut self, o: &ParseStats) {
        self.records += o.records;
        self.invalid += o.invalid;
        self.oversized += o.oversized;
        self.digests += o.digests;
        self.insights += o.insights;
        self.truncated += o.truncated;
        self.repaired_utf8 += o.repaired_utf8;
        if o.last_error.is_some() {
            self.last_error.clone_from(&o.last_error);
        }
    }

    /// Everything that did not become an event.
    pub fn skipped(&self) -> u64 {
        self.invalid + self.oversized + self.digests + self.truncated
    }

    fn error(&mut self, msg: impl Into<String>) {
        self.last_error = Some(msg.into());
    }
}

/// Parses one document (a whole file's bytes, already decompressed), appending events to `out`.
pub fn parse_document(buf: &[u8], opts: &ParseOptions, out: &mut Vec<Event>, stats: &mut ParseStats) {
    let buf = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buf);
    let start = skip_ws(buf, 0);
    match buf.get(start) {
        None => {}
        Some(b'[') => parse_array(buf, start, opts, out, stats),
        Some(b'{') => parse_objects(buf, start, opts, out, stats),
        Some(&b) => {
            stats.invalid += 1;
            stats.error(format!("not JSON: starts with byte {b:#04x}"));
        }
    }
}

fn parse_array(buf: &[u8], open: usize, opts: &ParseOptions, out: &mut Vec<Event>, stats: &mut ParseStats) {
    let mut elements = ArrayElements::new(buf, open);
    for el in elements.by_ref() {
        parse_array_record(el, opts, out, stats);
    }
    if let Some(e) = elements.error() {
        stats.truncated += 1;
        stats.error(format!("array cut short: {e}"));
    }
}

/// A document that starts with `{`: a wrapper, one record, or a sequence of records.
fn parse_objects(buf: &[u8], start: usize, opts: &ParseOptions, out: &mut Vec<Event>, stats: &mut ParseStats) {
    if let Some(open) = records_array_start(buf, start) {
        return parse_array(buf, open, opts, out, stats);
    }
    let first_end = value_end(buf, start);
    let first_line_end = memchr::memchr(b'\n', &buf[start..]).map(|i| start + i);
    // NDJSON when the first value ends on its own line, or when it is broken and lines are all
    // we can resynchronise on.
    let line_mode = match (first_end, first_line_end) {
        (Ok(end), Some(nl)) => end <= nl && skip_ws(buf, end) > nl,
        (Err(_), Some(_)) => true,
        _ => false,
    };
    if line_mode {
        for line in buf.split(|&b| b == b'\n') {
            let s = skip_ws(line, 0);
            if s < line.len() {
                parse_element(&line[s..], opts, out, stats);
            }
        }
        return;
    }
    let mut pos = start;
    while pos < buf.len() {
        match value_end(buf, pos) {
            Ok(end) => {
                parse_element(&buf[pos..end], opts, out, stats);
                pos = skip_ws(buf, end);
            }
            Err(e) => {
                stats.truncated += 1;
                stats.error(format!("document cut short at offset {pos}: {e}"));
                return;
            }
        }
    }
}

/// Fast path for CloudTrail's own files: when the first key is `Records`, the offset of its `[`.
fn records_array_start(buf: &[u8], obj: usize) -> Option<usize> {
    let key = skip_ws(buf, obj + 1);
    let rest = buf.get(key..)?.strip_prefix(b"\"Records\"")?;
    let colon = skip_ws(rest, 0);
    (rest.get(colon) == Some(&b':')).then_some(())?;
    let open = skip_ws(rest, colon + 1);
    (rest.get(open) == Some(&b'[')).then_some(buf.len() - rest.len() + open)
}

/// The keys that tell a wrapper or digest object from a record.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "Records", borrow)]
    records: Option<&'a RawValue>,
    #[serde(rename = "Events", borrow)]
    events: Option<&'a RawValue>,
    #[serde(rename = "digestStartTime")]
    digest_start: Option<IgnoredAny>,
    #[serde(rename = "logFiles")]
    log_files: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct LookupItem<'a> {
    #[serde(rename = "CloudTrailEvent", borrow)]
    cloud_trail_event: Option<Cow<'a, str>>,
}

/// Size and encoding checks shared by every element; `None` when the element is skipped.
fn checked_text<'a>(el: &'a [u8], opts: &ParseOptions, stats: &mut ParseStats) -> Option<Cow<'a, str>> {
    if el.len() > opts.max_record_bytes {
        stats.oversized += 1;
        stats.error(format!("record of {} bytes skipped (limit {})", el.len(), opts.max_record_bytes));
        return None;
    }
    let text = match std::str::from_utf8(el) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            stats.repaired_utf8 += 1;
            String::from_utf8_lossy(el)
        }
    };
    if !text.starts_with('{') {
        stats.invalid += 1;
        stats.error("element is not a JSON object");
        return None;
    }
    Some(text)
}

/// A top-level JSON value: a record, a digest, or a container of records.
fn parse_element(el: &[u8], opts: &ParseOptions, out: &mut Vec<Event>, stats: &mut ParseStats) {
    let Some(text) = checked_text(el, opts, stats) else { return };
    let text = text.trim_end();
    let probe: Probe = match serde_json::from_str(text) {
        Ok(p) => p,
        Err(e) => {
            stats.invalid += 1;
            stats.error(format!("invalid JSON: {e}"));
            return;
        }
    };
    if probe.digest_start.is_some() || probe.log_files.is_some() {
        stats.digests += 1;
        return;
    }
    if let Some(records) = probe.records {
        return parse_container(records.get().as_bytes(), false, opts, out, stats);
    }
    if let Some(events) = probe.events {
        return parse_container(events.get().as_bytes(), true, opts, out, stats);
    }
    parse_record(text, opts, out, stats);
}

/// An element of a records array: no probing, straight to the record schema.
fn parse_array_record(el: &[u8], opts: &ParseOptions, out: &mut Vec<Event>, stats: &mut ParseStats) {
    if let Some(text) = checked_text(el, opts, stats) {
        parse_record(&text, opts, out, stats);
    }
}

/// The array inside `Records` or LookupEvents' `Events`.
fn parse_container(arr: &[u8], lookup: bool, opts: &ParseOptions, out: &mut Vec<Event>, stats: &mut ParseStats) {
    if arr.first() != Some(&b'[') {
        stats.invalid += 1;
        stats.error("Records/Events is not an array");
        return;
    }
    for el in ArrayElements::new(arr, 0) {
        if !lookup {
            parse_array_record(el, opts, out, stats);
            continue;
        }
        // The containing document was valid JSON, so each element is valid UTF-8 JSON too.
        let text = String::from_utf8_lossy(el);
        match serde_json::from_str::<LookupItem>(&text) {
            Ok(LookupItem { cloud_trail_event: Some(inner) }) => parse_array_record(inner.as_bytes(), opts, out, stats),
            Ok(LookupItem { cloud_trail_event: None }) => parse_array_record(el, opts, out, stats),
            Err(e) => {
                stats.invalid += 1;
                stats.error(format!("LookupEvents item: {e}"));
            }
        }
    }
}

fn parse_record(text: &str, opts: &ParseOptions, out: &mut Vec<Event>, stats: &mut ParseStats) {
    let wire: WireRecord = match serde_json::from_str(text) {
        Ok(w) => w,
        Err(e) => {
            stats.invalid += 1;
            stats.error(format!("record does not fit the CloudTrail schema: {e}"));
            return;
        }
    };
    match Event::from_wire(&wire, text, opts) {
        Ok(ev) => {
            if ev.category == Category::Insight {
                stats.insights += 1;
            }
            stats.records += 1;
            out.push(ev);
        }
        Err(e) => {
            stats.invalid += 1;
            stats.error(e.to_string());
        }
    }
}

/// A convenience for tests and small inputs.
pub fn parse_bytes(buf: &[u8], opts: &ParseOptions) -> (Vec<Event>, ParseStats) {
    let mut out = Vec::new();
    let mut stats = ParseStats::default();
    parse_document(buf, opts, &mut out, &mut stats);
    (out, stats)
}

#[cfg(test)]
mod tests;
