//! The pipeline's state across restarts: restored when the pipeline is made, saved every few
//! minutes while something changed and when it ends; source positions are saved only after
//! the state that holds their events.

use std::time::{Duration, Instant};

use super::PipelineState;
use crate::features::FeatureStore;
use crate::pipeline::Pipeline;
use crate::pipeline::ingest::{Dedup, Ingest};
use crate::pipeline::saved::{self, Restored};
use crate::sigma::WindowHits;

/// How often the state is saved while something changes.
pub const SAVE_EVERY: Duration = Duration::from_secs(120);

/// The ingest a pipeline starts from: the saved one when there is a usable one, else empty;
/// with a notice when a saved state or model could not be used.
pub(super) fn restore(config: &Pipeline) -> (Ingest, Option<Restored>, Option<String>) {
    let (mut ingest, restored, notice) = restore_saved(config);
    ingest.store.set_geo(config.geo.clone());
    (ingest, restored, notice)
}

fn restore_saved(config: &Pipeline) -> (Ingest, Option<Restored>, Option<String>) {
    let fresh = || {
        Ingest::restored(FeatureStore::new(config.cfg), Dedup::default(), None, config.retain)
            .with_rules(config.sigma.clone())
    };
    let Some(dir) = &config.data_dir else { return (fresh(), None, None) };
    let path = saved::state_path(dir, &config.source_names, config.cfg);
    match saved::load(&path, config.cfg, &config.model) {
        Ok(Some(mut r)) => {
            let store = std::mem::replace(&mut r.store, FeatureStore::new(config.cfg));
            let dedup = std::mem::take(&mut r.dedup);
            let notice = r.model_problem.take();
            tracing::info!(path = %path.display(), windows = r.view.windows, model = r.view.model, "state restored");
            let mut ingest = Ingest::restored(store, dedup, r.newest, config.retain).with_rules(config.sigma.clone());
            if let Some(rules) = &config.sigma {
                ingest.signatures = WindowHits::from_saved(rules, &std::mem::take(&mut r.signatures));
            }
            (ingest, Some(r), notice)
        }
        Ok(None) => (fresh(), None, None),
        Err(e) => {
            tracing::warn!("{e}");
            (fresh(), None, Some(e))
        }
    }
}

impl PipelineState {
    /// Whether this pipeline keeps its state on disk (a data dir it holds the lock of).
    pub(super) fn persists(&self) -> bool {
        self.config.data_dir.is_some() && !self.config.read_only
    }

    /// Saves the state if something changed and [`SAVE_EVERY`] has passed since the last save.
    pub fn save_if_due(&mut self) {
        if self.unsaved && self.last_saved.elapsed() >= SAVE_EVERY {
            self.save();
        }
    }

    /// Saves the state now (when this pipeline persists and something changed), then the
    /// source positions whose events it holds. A failed save keeps the positions back.
    pub fn save(&mut self) {
        let Some(dir) = self.config.data_dir.clone().filter(|_| self.persists()) else { return };
        if self.unsaved {
            // The ranking saved is of exactly the windows saved.
            if self.rows_changed {
                self.rank();
            }
            let started = Instant::now();
            let path = saved::state_path(&dir, &self.config.source_names, self.config.cfg);
            let result = saved::save(
                &path,
                &self.config.source_names,
                &self.ingest,
                self.events + self.restored.as_ref().map_or(0, |r| r.events),
                self.forest.as_ref(),
            );
            self.last_saved = Instant::now();
            if let Err(e) = result {
                tracing::warn!("state not saved: {e:#}");
                self.notice = Some(format!("state not saved: {e:#}"));
                return;
            }
            tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "state saved");
            self.unsaved = false;
        }
        for c in self.pending_commits.drain(..) {
            if let Err(e) = c.save() {
                tracing::warn!("source position not saved: {e:#}");
            }
        }
    }
}
