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
    pub name: String,
    pub status: SourceStatus,
    pub newest_event: Option<i64>,
    pub events: u64,
    pub last_error: Option<String>,
    /// The source's own line: request budget, position.
    pub note: Option<String>,
}

/// Events and errors in one minute of event time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RatePoint {
    pub minute: i64,
    pub events: u32,
    pub errors: u32,
}

/// What the console shows, as of one moment. Immutable once published.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub generation: u64,
    pub rows: Arc<Vec<ScoredRow>>,
    pub cutoff: f64,
    /// Every feature's values over the ranked windows, sorted.
    pub population: Arc<Vec<Vec<f64>>>,
    pub rates: Vec<RatePoint>,
    pub sources: Vec<SourceView>,
    /// The newest events, oldest first, bounded; shared with later snapshots.
    pub tail: TailView,
    pub events: u64,
    pub stats: ParseStats,
    pub duplicates: u64,
    pub trained_at: Option<i64>,
    pub model_error: Option<String>,
    pub demo: bool,
    pub feature_config: FeatureConfig,
    /// Labels in force.
    pub labels: usize,
    /// Something the analyst should know (a label file problem, a model file reset).
    pub notice: Option<String>,
}

impl Snapshot {
    /// The events of an entity-window that the tail still holds, newest first.
    pub fn window_events(&self, row: &ScoredRow) -> Vec<Arc<Event>> {
        let cfg = self.feature_config;
        self.tail
            .iter()
            .rev()
            .filter(|e| {
                e.time.div_euclid(cfg.window_secs) * cfg.window_secs == row.row.window_start
                    && entity_text(cfg.by, e) == row.row.entity
            })
            .cloned()
            .collect()
    }
}

/// An analyst's verdict on a window, for the pipeline to store and learn from.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRequest {
    pub row: ScoredRow,
    pub verdict: Verdict,
    pub scope: Scope,
    pub note: Option<String>,
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
    Undo { window_start: i64, entity: String },
}
