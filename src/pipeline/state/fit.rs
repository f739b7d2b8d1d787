//! When the forest is fitted. Scoring new windows with the forest in hand is cheap and keeps
//! the list still; a new forest is fitted only when there is none, when the analyst's labels
//! changed, when the history grew by a quarter since the last fit (a back-fill), on the
//! `--retrain` cadence, or when the last day's windows drifted from the training windows
//! (`model::drift`). Each fit says why, for the header, the model view and the metrics.

use std::sync::Arc;
use std::time::Instant;

use super::{PipelineState, Ranking};
use crate::features::N_FEATURES;
use crate::model::drift::{Drift, Reference};
use crate::model::feedback::Feedback;
use crate::model::{ScoredRow, score_rows_using};

/// The history must grow by this factor (and [`GROWTH_MIN`] windows) to fit again.
const GROWTH: f64 = 1.25;
const GROWTH_MIN: usize = 20;
/// Drift is judged on the windows of the last day of event time.
const RECENT: i64 = 86_400;

/// The forest in use: when and on what it was fitted, and why.
#[derive(Debug, Clone)]
pub(crate) struct Fit {
    /// Wall-clock seconds.
    pub at: i64,
    /// Windows it was fitted on.
    pub windows: usize,
    /// Label lines and labels in force at the time.
    pub labels: (usize, usize),
    /// The training windows' distributions.
    pub reference: Reference,
    /// Why it was fitted.
    pub reason: String,
}

/// The model's life, as the console and the metrics show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelView {
    /// When the forest in use was fitted, Unix seconds.
    pub fitted_at: i64,
    /// On how many windows.
    pub windows: usize,
    /// Why: "first fit", "labels changed", "history grew from 1,204 to 1,530 windows",
    /// "every 24h", "drift: failure_ratio PSI 0.31", "restored".
    pub reason: String,
    /// Fits since start.
    pub fits: u64,
    /// The last day's drift from the training windows.
    pub drift: Drift,
    /// The `--retrain` cadence, seconds.
    pub every: Option<i64>,
}

impl PipelineState {
    /// Why a new forest is due, or `None` to score with the one in hand.
    fn refit_reason(&self, windows: usize, labels: (usize, usize), now: i64) -> Option<String> {
        let Some(fit) = &self.fit else { return Some("first fit".into()) };
        if labels != fit.labels {
            return Some("labels changed".into());
        }
        if windows as f64 >= fit.windows as f64 * GROWTH && windows >= fit.windows + GROWTH_MIN {
            return Some(format!(
                "history grew from {} to {} windows",
                crate::text::group(fit.windows as u64),
                crate::text::group(windows as u64)
            ));
        }
        if let Some(every) = self.config.retrain.filter(|e| now - fit.at >= *e) {
            return Some(format!("every {}", crate::text::human_secs(every)));
        }
        None
    }

    /// Ranks the windows, fitting a new forest when one is due (see the module doc).
    pub(super) fn rank(&mut self) {
        let started = Instant::now();
        let now = chrono::Utc::now().timestamp();
        let feedback = Feedback::from_lines(self.labels.clone(), now);
        let labels = (self.labels.len(), feedback.labels.len());
        let rows = self.ingest.rows();
        // A restored forest was fitted on the restored windows and labels: the forest in hand.
        let restored = match self.restored_forest.take() {
            Some(f) if self.fit.is_none() => {
                self.forest = Some(f);
                true
            }
            _ => false,
        };
        let reason = if restored { None } else { self.refit_reason(rows.len(), labels, now) };
        let reason = reason.or_else(|| self.drift_due.take());
        let forest = if reason.is_some() { None } else { self.forest.clone() };
        let fitted = forest.is_none();
        self.ranking = Some(match score_rows_using(rows, &self.model, &feedback, forest) {
            Ok(mut s) => {
                self.ingest.attach_signatures(&mut s.rows);
                for r in &mut s.rows {
                    r.prev_rank = self.prev_ranks.get(&(r.row.window_start, r.row.entity.clone())).copied();
                }
                self.forest = s.model;
                // No windows, no forest: nothing fitted yet.
                if (fitted || restored) && self.forest.is_some() {
                    let why = if restored { "restored".into() } else { reason.unwrap_or_else(|| "first fit".into()) };
                    self.fit = Some(Fit {
                        at: now,
                        windows: s.rows.len(),
                        labels,
                        reference: reference(&s.rows),
                        reason: why,
                    });
                    self.fits += u64::from(fitted);
                    self.drift_due = None;
                }
                self.drift = self.fit.as_ref().map(|f| drift(&f.reference, &s.rows)).unwrap_or_default();
                if self.drift.significant()
                    && let Some((feature, psi)) = self.drift.worst()
                {
                    // Fitted at the next publication, on the windows that drifted.
                    self.drift_due = Some(format!("drift: {feature} PSI {psi:.2}"));
                }
                Ranking {
                    rows: Arc::new(s.rows),
                    cutoff: s.cutoff,
                    population: Arc::new(s.population),
                    trained_at: self.fit.as_ref().map(|f| f.at),
                    error: None,
                }
            }
            Err(e) => Ranking { error: Some(e.to_string()), ..Default::default() },
        });
        self.labels_in_force = feedback.labels.len();
        // A drift found now is fitted away at the next publication.
        self.rows_changed = self.drift_due.is_some();
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            windows = self.ingest.store.len(),
            fitted,
            "re-scored"
        );
    }

    /// The model's life, for the snapshot.
    pub(super) fn model_view(&self) -> Option<ModelView> {
        self.fit.as_ref().map(|f| ModelView {
            fitted_at: f.at,
            windows: f.windows,
            reason: f.reason.clone(),
            fits: self.fits,
            drift: self.drift.clone(),
            every: self.config.retrain,
        })
    }
}

/// The windows' features and forest scores, as the drift module takes them.
fn columns<'a>(rows: impl Iterator<Item = &'a ScoredRow>) -> (Vec<&'a [f64; N_FEATURES]>, Vec<f64>) {
    rows.map(|r| (&r.row.features, r.score)).unzip()
}

fn reference(rows: &[ScoredRow]) -> Reference {
    let (features, scores) = columns(rows.iter());
    Reference::new(&features, &scores)
}

/// The drift of the last day's windows (of event time) from `reference`.
fn drift(reference: &Reference, rows: &[ScoredRow]) -> Drift {
    let Some(newest) = rows.iter().map(|r| r.row.window_start).max() else { return Drift::default() };
    let (features, scores) = columns(rows.iter().filter(|r| r.row.window_start > newest - RECENT));
    reference.drift(&features, &scores)
}
