//! Runs sources to completion and feeds their events through de-duplication into a
//! [`FeatureStore`]. Progress goes to stderr when it is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;

use std::sync::Arc;

use crate::features::{FeatureConfig, FeatureStore};
use crate::parse::{Event, ParseStats};
use crate::pipeline::ingest::Ingest;
use crate::sigma::Rules;
use crate::source::{SourceMsg, SourceSpec, SourceStatus};

/// What a headless read found, besides the features.
#[derive(Debug, Default)]
pub struct Totals {
    /// What parsing met.
    pub stats: ParseStats,
    /// Files (or objects, or pages) read.
    pub files: u64,
    /// Of those, ones with an error.
    pub file_errors: u64,
    /// Records dropped as duplicates.
    pub duplicates: u64,
    /// Events outside `--since`/`--until`.
    pub out_of_range: u64,
    /// Events used.
    pub events: u64,
    /// What sources reported going wrong ("source s3://b/: access denied ..."): a run with
    /// any is incomplete.
    pub source_errors: Vec<String>,
    /// Files (or objects) skipped whole, with why: named in `scan --stats`.
    pub problems: Vec<String>,
    /// Positions to save once the output is written.
    pub commits: Vec<crate::source::Commit>,
}

/// Time bounds on events, `[since, until)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TimeRange {
    /// The earliest time kept.
    pub since: Option<i64>,
    /// The first time no longer kept.
    pub until: Option<i64>,
}

impl TimeRange {
    /// Whether `t` is in the range.
    pub fn contains(&self, t: i64) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// Reads every source to the end, matching `rules` and locating addresses in `geo` when given. `visit` sees each accepted
/// event after de-duplication (eval uses it to map events to windows).
pub fn collect(
    specs: &[SourceSpec],
    spawn: &crate::source::SpawnOptions,
    cfg: FeatureConfig,
    range: TimeRange,
    rules: Option<Arc<Rules>>,
    geo: Option<Arc<crate::geo::Geo>>,
    mut visit: impl FnMut(&Event, &FeatureStore),
) -> anyhow::Result<(Ingest, Totals)> {
    let (tx, rx) = bounded::<SourceMsg>(64);
    for (id, spec) in specs.iter().enumerate() {
        crate::source::spawn(id, spec, spawn, tx.clone());
    }
    drop(tx);
    let mut ingest = Ingest::new(cfg).with_rules(rules);
    ingest.store.set_geo(geo);
    let mut totals = Totals::default();
    let mut progress = Progress::new(specs.len());
    let mut notes: Vec<Option<String>> = vec![None; specs.len()];
    for msg in rx {
        match msg {
            SourceMsg::Events { events, stats, error, .. } => {
                totals.files += 1;
                totals.file_errors += u64::from(error.is_some());
                if let Some(e) = error
                    && totals.problems.len() < 10_000
                {
                    totals.problems.push(crate::parse::sanitize::clean_owned(&e));
                }
                totals.stats.merge(&stats);
                for ev in &events {
                    if !range.contains(ev.time) {
                        totals.out_of_range += 1;
                    } else if ingest.add(ev) {
                        visit(ev, &ingest.store);
                        totals.events += 1;
                    }
                }
                progress.tick(&totals);
            }
            // The note says it for people.
            SourceMsg::Requests { .. } => {}
            // A source's own line (request budget, resumed checkpoint), each new one once.
            SourceMsg::Note { source, text } => {
                if notes[source].as_ref() != Some(&text) {
                    progress.clear();
                    eprintln!("trailtop: source {}: {}", specs[source], crate::parse::sanitize::clean(&text));
                    notes[source] = Some(text);
                }
            }
            SourceMsg::Status { source, status } => {
                if let SourceStatus::Backfilling { total, .. } = status {
                    progress.totals[source] = total;
                }
                if let SourceStatus::Degraded(e) = status {
                    progress.clear();
                    let line = format!("source {}: {}", specs[source], crate::parse::sanitize::clean(&e));
                    eprintln!("trailtop: {line}");
                    totals.source_errors.push(line);
                }
            }
            SourceMsg::Commit { commit, .. } => totals.commits.push(commit),
        }
    }
    totals.duplicates = ingest.duplicates();
    progress.clear();
    Ok((ingest, totals))
}

struct Progress {
    enabled: bool,
    totals: Vec<u64>,
    last: Instant,
    shown: bool,
}

impl Progress {
    fn new(sources: usize) -> Self {
        Self { enabled: std::io::stderr().is_terminal(), totals: vec![0; sources], last: Instant::now(), shown: false }
    }

    fn tick(&mut self, t: &Totals) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(250) {
            return;
        }
        self.last = Instant::now();
        self.shown = true;
        let total: u64 = self.totals.iter().sum();
        let _ = write!(std::io::stderr(), "\r\x1b[Kscanning: {}/{} files, {} events", t.files, total, t.events);
    }

    fn clear(&mut self) {
        if self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
            self.shown = false;
        }
    }
}
