//! What the pivots share: the held records that pass a test, and who they belong to.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::parse::Event;
use crate::parse::time::format_utc;
use crate::pipeline::Snapshot;
use crate::text::plural;

/// A pivot's result: its records, newest first, and what the explanation pane says about them.
#[derive(Debug, Clone)]
pub struct Gathered {
    /// The records, newest first by event time.
    pub events: Vec<Arc<Event>>,
    /// Lines for the pane beside the records, scrubbed (they come from the records).
    pub summary: Vec<String>,
}

/// The held records that pass `keep`, in arrival order.
pub fn held(snap: &Snapshot, keep: impl Fn(&Event) -> bool) -> Vec<Arc<Event>> {
    snap.tail.iter().filter(|e| keep(e)).cloned().collect()
}

/// Who the records belong to: a line per principal with its first and last record and its
/// count, busiest first (at most 12; the rest counted).
pub fn by_principal(events: &[Arc<Event>], what: &str) -> Vec<String> {
    struct Seen {
        first: i64,
        last: i64,
        n: usize,
    }
    let mut seen: FxHashMap<&str, Seen> = FxHashMap::default();
    for e in events {
        let s = seen.entry(&e.principal).or_insert(Seen { first: e.time, last: e.time, n: 0 });
        (s.first, s.last, s.n) = (s.first.min(e.time), s.last.max(e.time), s.n + 1);
    }
    let mut rows: Vec<(&str, Seen)> = seen.into_iter().collect();
    rows.sort_by(|a, b| b.1.n.cmp(&a.1.n).then(a.0.cmp(b.0)));
    let mut lines =
        vec![format!("{} {what}, {}:", plural(events.len() as u64, "record"), plural(rows.len() as u64, "principal"))];
    const SHOWN: usize = 12;
    for (p, s) in rows.iter().take(SHOWN) {
        lines.push(format!("  {}", crate::text::short_principal(p)));
        lines.push(format!(
            "      {} – {}, {}",
            format_utc(s.first, "%m-%d %H:%M:%S"),
            format_utc(s.last, "%m-%d %H:%M:%S"),
            plural(s.n as u64, "record")
        ));
    }
    if rows.len() > SHOWN {
        lines.push(format!("  and {} more", rows.len() - SHOWN));
    }
    lines
}
