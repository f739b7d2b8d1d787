//! Data volume: bytes S3 sent out, objects read, buckets touched and the share of data-plane
//! calls, each weighed against what the principal itself moved before.
//!
//! The baseline is the most the principal moved in one window at least a day earlier; a
//! principal seen for less than a day has none (its first day is its habit in the making, and
//! weighing it against a few hours flagged every developer's first reads). The lag is what
//! catches a slow exfiltration: spread over hours, each window looks like the one before it,
//! but not like the days before it began. A nightly backup is its own baseline from its second
//! night on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Agg, History, hash, note_seen};
use crate::parse::{Category, Event};

/// How far back the baseline starts.
const LAG_SECS: i64 = 86_400;
/// Below this many bytes out, a window has moved nothing worth weighing: a developer's hour
/// varies by tens of megabytes, and exfiltration is gigabytes.
const FLOOR_BYTES: f64 = 100_000_000.0;
/// Below this many object reads, likewise.
const FLOOR_READS: f64 = 50.0;
/// Data events a window needs before its share of them means something.
const SHARE_EVIDENCE: f64 = 20.0;
/// A rise in the data share smaller than this is an hour's chance mix of calls.
const SHARE_MARGIN: f64 = 0.25;
/// `bytes_excess` from which the data-egress rule fires: 8× the baseline, so at least 800 MB.
pub const EGRESS_DOUBLINGS: f64 = 3.0;

/// What a principal moved in one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    bytes: u64,
    reads: u32,
    data: u32,
    events: u32,
}

impl Volume {
    fn share(&self) -> f64 {
        data_share(self.data, self.events)
    }

    /// The larger bytes and the larger reads of the two (the baseline's measures; its share is
    /// taken window by window).
    fn max(self, o: Volume) -> Volume {
        Volume { bytes: self.bytes.max(o.bytes), reads: self.reads.max(o.reads), data: 0, events: 0 }
    }
}

/// Data-plane events over all (0 for none).
fn data_share(data: u32, events: u32) -> f64 {
    f64::from(data) / f64::from(events.max(1))
}

/// Whether a call reads an object's content (what exfiltration is made of).
fn is_object_read(ev: &Event) -> bool {
    &*ev.source == "s3.amazonaws.com" && matches!(&*ev.name, "GetObject" | "SelectObjectContent")
}

/// Counts one event's data into its window and the principal's history.
pub(super) fn note(ev: &Event, start: i64, agg: &mut Agg, hist: &mut History) {
    let read = u32::from(is_object_read(ev) && ev.error_code.is_none());
    let data = u32::from(ev.category == Category::Data);
    agg.bytes_out = agg.bytes_out.saturating_add(ev.bytes_out);
    agg.object_reads += read;
    agg.data_events += data;
    let v = hist.volume.entry(start).or_default();
    v.bytes = v.bytes.saturating_add(ev.bytes_out);
    v.reads += read;
    v.data += data;
    v.events += 1;
    if let Some(b) = &ev.bucket {
        let b = hash(b);
        agg.buckets.insert(b);
        note_seen(&mut hist.buckets, b, ev.time);
    }
}

/// The window's raw measures: bytes out, object reads, distinct buckets, data share.
pub(super) fn raw(a: &Agg) -> [f64; 4] {
    [a.bytes_out as f64, f64::from(a.object_reads), a.buckets.len() as f64, data_share(a.data_events, a.events)]
}

/// How far the window went past the principal's baseline: bytes and reads as doublings over
/// it (from one: less than twice is none), data share as the rise over the highest share
/// before (beyond a margin, and in full only with enough data events). Zero without a
/// baseline.
pub(super) fn excess(a: &Agg, h: &History, start: i64) -> [f64; 3] {
    let before = baseline(&h.volume, start);
    let Some((most, share)) = before else { return [0.0; 3] };
    // Under twice the baseline is a job's ordinary jitter: zero, not a small value the forest
    // would isolate in a column that is zero almost everywhere.
    let doublings = |now: f64, was: f64, floor: f64| {
        let d = if now <= floor { 0.0 } else { (now / was.max(floor)).log2() };
        if d < 1.0 { 0.0 } else { d }
    };
    let now_share = data_share(a.data_events, a.events);
    let evidence = (f64::from(a.data_events) / SHARE_EVIDENCE).min(1.0);
    [
        doublings(a.bytes_out as f64, most.bytes as f64, FLOOR_BYTES),
        doublings(f64::from(a.object_reads), f64::from(most.reads), FLOOR_READS),
        (now_share - share - SHARE_MARGIN).max(0.0) * evidence,
    ]
}

/// Whether the principal, first seen at `first`, has a day of history before `start`.
pub(super) fn has_baseline(first: i64, start: i64) -> bool {
    first <= start - LAG_SECS
}

/// The most moved in one window and the highest data share, over the windows at least a day
/// before `start`; `None` when there are none.
fn baseline(volume: &BTreeMap<i64, Volume>, start: i64) -> Option<(Volume, f64)> {
    let mut lagged = volume.range(..=start - LAG_SECS).map(|(_, v)| v).peekable();
    lagged.peek()?;
    Some(lagged.fold((Volume::default(), 0.0), |(most, share), v| (most.max(*v), f64::max(share, v.share()))))
}

/// The data-egress rule bit for a window's `bytes_excess`.
pub(super) fn egress(bytes_excess: f64) -> u16 {
    if bytes_excess >= EGRESS_DOUBLINGS { super::rules::DATA_EGRESS } else { 0 }
}

/// Bytes in words: `38.2 GB`, `512 KB`, `90 B`.
pub fn describe_bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b.max(0.0);
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 || v >= 100.0 { format!("{v:.0} {}", UNITS[u]) } else { format!("{v:.1} {}", UNITS[u]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(bytes: u64, reads: u32, data: u32, events: u32) -> Volume {
        Volume { bytes, reads, data, events }
    }

    #[test]
    fn the_baseline_is_what_moved_a_day_or_more_before() {
        let mut v = BTreeMap::new();
        v.insert(0, vol(5_000_000, 20, 10, 100));
        v.insert(90_000, vol(900_000_000, 30, 30, 30));
        // A window a day after the first sees only the first, not the hours just before it.
        let (most, share) = baseline(&v, 100_000).unwrap();
        assert_eq!((most.bytes, most.reads), (5_000_000, 20));
        assert!((share - 0.1).abs() < 1e-9);
        // Less than a day of history: no baseline.
        assert!(baseline(&v, 3600).is_none());
        assert!(baseline(&v, 86_400).is_some());
    }

    #[test]
    fn bytes_read_in_words() {
        assert_eq!(describe_bytes(90.0), "90 B");
        assert_eq!(describe_bytes(512_000.0), "512 KB");
        assert_eq!(describe_bytes(38_200_000_000.0), "38.2 GB");
    }
}
