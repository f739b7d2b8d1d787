//! What the console and the pipeline say to each other: the pipeline publishes [`Snapshot`]s,
//! the console sends [`PipelineCommand`]s. Both sides import this module and nothing of each
//! other.

use std::sync::Arc;

use super::tail::TailView;
use crate::features::{FeatureConfig, entity_text};
use crate::model::feedback::{Scope, Verdict};
use crate::model::{ScoredRow, Threshold};
use crate::parse::{Event, ParseStats};
use crate::source::SourceStatus;

/// One source as the header shows it.
#[derive(Debug, Clone)]
pub struct SourceView {
    /// The source as the user gave it.
    pub name: String,
    /// Where it is in its life.
    pub status: SourceStatus,
    /// The newest event time it delivered (not ahead of the clock).
    pub newest_event: Option<i64>,
    /// Events it delivered, after de-duplication.
    pub events: u64,
    /// Its latest error, scrubbed.
    pub last_error: Option<String>,
    /// The source's own line: request budget, position.
    pub note: Option<String>,
    /// Its requests, throttles and errors so far (for the metrics).
    pub counts: SourceCounts,
}

/// What a source has met, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceCounts {
    /// API requests made (LookupEvents).
    pub requests: u64,
    /// Of those, throttled.
    pub throttled: u64,
    /// Errors reported: a file or object cut short, the source degraded.
    pub errors: u64,
}

/// Events and errors in one minute of event time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RatePoint {
    /// The minute's start, Unix seconds.
    pub minute: i64,
    /// Events in it.
    pub events: u32,
    /// Of those, events with an error code.
    pub errors: u32,
}

/// What the console shows, as of one moment. Immutable once published.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Counts publications; the header shows it.
    pub generation: u64,
    /// The ranked windows, best first.
    pub rows: Arc<Vec<ScoredRow>>,
    /// The rank score at and above which windows are flagged.
    pub cutoff: f64,
    /// Every feature's values over the ranked windows, sorted.
    pub population: Arc<Vec<Vec<f64>>>,
    /// Events per minute for the last day of event time.
    pub rates: Vec<RatePoint>,
    /// Each source as the header shows it.
    pub sources: Vec<SourceView>,
    /// The newest events, oldest first, bounded; shared with later snapshots.
    pub tail: TailView,
    /// Events accepted.
    pub events: u64,
    /// What parsing met, skips included.
    pub stats: ParseStats,
    /// Records dropped as duplicates.
    pub duplicates: u64,
    /// When the model was last trained, Unix seconds.
    pub trained_at: Option<i64>,
    /// Why the model could not be trained, if it could not.
    pub model_error: Option<String>,
    /// Whether the data is the built-in demo.
    pub demo: bool,
    /// Whether a GeoIP database is loaded (the header says when none is).
    pub geo: bool,
    /// Windows and entities, for matching records to windows.
    pub feature_config: FeatureConfig,
    /// Labels in force.
    pub labels: usize,
    /// Something the analyst should know (a label file problem, a model file reset).
    pub notice: Option<String>,
    /// What was restored from the data dir at start.
    pub restored: Option<crate::pipeline::saved::RestoredView>,
    /// Records read again that the restored state had already counted.
    pub reread: u64,
    /// Records older than the retention period, not counted.
    pub too_old: u64,
    /// Entity-windows expired by the retention period.
    pub windows_expired: u64,
    /// The newest event time no longer held in memory (the tail's budget), if any.
    pub evicted_until: Option<i64>,
    /// The forest in use: when and why it was fitted, and the drift since.
    pub model: Option<super::ModelView>,
    /// The words behind the windows' hashed values (for the filter).
    pub vocab: Arc<crate::features::vocab::Vocab>,
}

impl Snapshot {
    /// The events of an entity-window that the tail still holds, newest first by event time
    /// (files arrive in any order), the later arrival first among equal times.
    pub fn window_events(&self, row: &ScoredRow) -> Vec<Arc<Event>> {
        let cfg = self.feature_config;
        let mut events: Vec<Arc<Event>> = self
            .tail
            .iter()
            .rev()
            .filter(|e| {
                e.time.div_euclid(cfg.window_secs) * cfg.window_secs == row.row.window_start
                    && entity_text(cfg.by, e) == row.row.entity
            })
            .cloned()
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse(e.time));
        events
    }
}

/// An analyst's verdict on a window, for the pipeline to store and learn from.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRequest {
    /// The window labelled.
    pub row: ScoredRow,
    /// False or true positive.
    pub verdict: Verdict,
    /// How far a false positive reaches.
    pub scope: Scope,
    /// The analyst's note.
    pub note: Option<String>,
    /// Days until the label expires; `None` for never.
    pub expires_days: Option<u32>,
}

/// Commands from the console.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineCommand {
    /// Re-rank with another threshold, now.
    SetThreshold(Threshold),
    /// Store a label and retrain.
    Label(Box<LabelRequest>),
    /// Withdraw the latest label on a window and retrain.
    Undo {
        /// The window's start.
        window_start: i64,
        /// The window's entity.
        entity: String,
    },
}
