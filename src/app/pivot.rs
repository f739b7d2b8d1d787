//! Pivots: from a window or a record to everything related to one of its facts (the access
//! key, the address, the minutes around it, the session's chain of identities), over the
//! records the console holds. Pure functions of the snapshot, so they are tested without a
//! terminal; each runs once when the analyst asks, not once a frame.

use rustc_hash::FxHashMap;

pub use super::gather::Gathered;
use super::gather::{by_principal, held};
use crate::parse::time::format_utc;
use crate::pipeline::Snapshot;
use crate::text::plural;

/// What a pivot gathers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pivot {
    /// Every record signed with this access key.
    AccessKey(String),
    /// Every record from this address, and the principals behind them.
    Address(String),
    /// Every principal's records between these times (Unix seconds, inclusive).
    Around {
        /// The moment asked about.
        at: i64,
        /// Seconds either side.
        span: i64,
    },
    /// The session's chain of identities, back to the person or workload behind it.
    Session(String),
}

/// Seconds either side of the moment "around this time" shows.
pub const AROUND_SECS: i64 = 10 * 60;

impl Pivot {
    /// The title of the records pane.
    pub fn title(&self) -> String {
        let clean = crate::parse::sanitize::clean;
        match self {
            Pivot::AccessKey(k) => format!("access key {}", clean(k)),
            Pivot::Address(ip) => format!("address {}", clean(ip)),
            Pivot::Around { at, span } => {
                format!(
                    "all principals {}±{}",
                    format_utc(*at, "%Y-%m-%d %H:%M:%S UTC"),
                    crate::text::human_secs(*span)
                )
            }
            Pivot::Session(arn) => format!("session chain of {}", crate::text::short_principal(&clean(arn))),
        }
    }

    /// The records the pivot reaches in `snap`, and its summary.
    pub fn gather(&self, snap: &Snapshot) -> Gathered {
        let mut g = match self {
            Pivot::AccessKey(k) => {
                let events = held(snap, |e| e.access_key.as_deref() == Some(k));
                let summary = by_principal(&events, "signed with this key");
                Gathered { events, summary }
            }
            Pivot::Address(ip) => {
                let events = held(snap, |e| &*e.ip == ip);
                let mut summary = by_principal(&events, "from this address");
                summary.extend(windows_from(snap, ip));
                Gathered { events, summary }
            }
            Pivot::Around { at, span } => {
                let events = held(snap, |e| (e.time - at).abs() <= *span);
                let summary = by_principal(&events, "in these minutes");
                Gathered { events, summary }
            }
            Pivot::Session(arn) => super::chain::gather(snap, arn),
        };
        // Newest first by event time, the later arrival first among equal times, as a
        // window's records are.
        g.events.reverse();
        g.events.sort_by_key(|e| std::cmp::Reverse(e.time));
        g
    }
}

/// The entity-windows from `ip` the model holds, which reach further back than the records:
/// per principal, its first and last window and how many.
fn windows_from(snap: &Snapshot, ip: &str) -> Vec<String> {
    let mut seen: FxHashMap<&str, (i64, i64, usize, u64)> = FxHashMap::default();
    for r in snap.rows.iter().filter(|r| r.row.source_ip == ip) {
        let s = seen.entry(&r.row.principal).or_insert((r.row.window_start, r.row.window_end, 0, 0));
        *s = (s.0.min(r.row.window_start), s.1.max(r.row.window_end), s.2 + 1, s.3 + r.row.events);
    }
    if seen.is_empty() {
        return Vec::new();
    }
    let mut rows: Vec<_> = seen.into_iter().collect();
    rows.sort_by(|a, b| a.1.0.cmp(&b.1.0).then(a.0.cmp(b.0)));
    let mut lines = vec![format!("windows from this address ({} retained):", rows.len())];
    for (p, (first, last, n, events)) in rows.iter().take(12) {
        lines.push(format!("  {}", crate::text::short_principal(p)));
        lines.push(format!(
            "      {} – {}, {}, {}",
            format_utc(*first, "%m-%d %H:%M"),
            format_utc(*last, "%m-%d %H:%M"),
            plural(*n as u64, "window"),
            plural(*events, "event")
        ));
    }
    lines
}
