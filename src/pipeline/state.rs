//! The pipeline as a value: source messages in ([`PipelineState::ingest`]), the console's
//! commands in ([`PipelineState::apply`]), snapshots out ([`PipelineState::publish`]). No
//! threads and no clocks but the wall clock for labels, so tests drive it step by step.

mod fit;
pub use fit::ModelView;
mod persist;

use std::sync::Arc;
use std::time::Instant;

use super::Pipeline;
use super::ingest::{Admit, Ingest};
use super::protocol::{PipelineCommand, Snapshot, SourceView};
use super::rates::Rates;
use super::saved::RestoredView;
use super::tail::Tail;
use crate::model::feedback::{Feedback, Label, LabelStore};
use crate::model::{IsolationForest, ModelConfig, ScoredRow};
use crate::parse::ParseStats;
use crate::parse::sanitize::clean_owned;
use crate::source::{Commit, SourceMsg, SourceStatus};

/// How far ahead of this machine's clock an event may be and still count as the newest.
const CLOCK_SKEW: i64 = 15 * 60;

/// The latest ranking.
#[derive(Debug, Default, Clone)]
struct Ranking {
    rows: Arc<Vec<ScoredRow>>,
    cutoff: f64,
    population: Arc<Vec<Vec<f64>>>,
    trained_at: Option<i64>,
    error: Option<String>,
}

/// The pipeline's whole state; see the module documentation.
pub struct PipelineState {
    config: Pipeline,
    model: ModelConfig,
    ingest: Ingest,
    tail: Tail,
    rates: Rates,
    stats: ParseStats,
    events: u64,
    sources: Vec<SourceView>,
    label_store: Option<LabelStore>,
    labels: Vec<Label>,
    labels_in_force: usize,
    notice: Option<String>,
    ranking: Option<Ranking>,
    /// Each window's rank just before the latest label or undo: the moves the list shows are
    /// the label's, and they stay (new windows and background scoring move nothing shown).
    prev_ranks: rustc_hash::FxHashMap<(i64, String), usize>,
    /// New events or labels since the last ranking.
    rows_changed: bool,
    generation: u64,
    /// The latest fitted forest (saved with the state).
    forest: Option<IsolationForest>,
    /// A restored forest: the forest in hand at the first ranking.
    restored_forest: Option<IsolationForest>,
    /// The forest in hand: when and why it was fitted, and on what.
    fit: Option<fit::Fit>,
    /// Forests fitted since start.
    fits: u64,
    /// The last day's drift from the training windows.
    drift: crate::model::drift::Drift,
    /// Drift past the threshold: the next ranking fits a new forest, for this reason.
    drift_due: Option<String>,
    restored: Option<RestoredView>,
    /// Records seen again that the restored run had taken in (a folder read again).
    reread: u64,
    /// Source positions waiting for the state that holds their events to be saved.
    pending_commits: Vec<Commit>,
    /// Changes since the state was last saved.
    unsaved: bool,
    last_saved: Instant,
}

impl PipelineState {
    /// A pipeline with nothing ingested; labels are loaded and the saved model checked.
    pub fn new(config: Pipeline) -> PipelineState {
        let sources = config
            .source_names
            .iter()
            .map(|n| SourceView {
                name: n.clone(),
                status: SourceStatus::Backfilling { done: 0, total: 0 },
                newest_event: None,
                events: 0,
                last_error: None,
                note: None,
                counts: Default::default(),
            })
            .collect();
        let label_store = config.data_dir.as_deref().map(LabelStore::new);
        let mut labels = Vec::new();
        let mut notice = None;
        if let Some(st) = &label_store {
            match st.load() {
                Ok((lines, report)) => {
                    labels = lines;
                    if report.corrupt > 0 {
                        notice = Some(format!(
                            "{}: {} corrupt line(s) skipped (first: line {})",
                            st.path().display(),
                            report.corrupt,
                            report.first_corrupt_line.unwrap_or(0)
                        ));
                    }
                }
                Err(e) => notice = Some(format!("labels not loaded: {e:#}")),
            }
        }
        let (ingest, restored, restore_notice) = persist::restore(&config);
        let restored_forest = restored.as_ref().and_then(|r| r.forest.clone());
        let mut st = PipelineState {
            model: config.model.clone(),
            ingest,
            tail: Tail::new(config.tail_capacity, config.memory),
            config,
            rates: Rates::default(),
            stats: ParseStats::default(),
            events: 0,
            sources,
            label_store,
            labels,
            labels_in_force: 0,
            notice,
            ranking: None,
            prev_ranks: Default::default(),
            rows_changed: true,
            generation: 0,
            forest: None,
            restored_forest,
            fit: None,
            fits: 0,
            drift: Default::default(),
            drift_due: None,
            restored: restored.map(|r| r.view),
            reread: 0,
            pending_commits: Vec::new(),
            unsaved: false,
            last_saved: Instant::now(),
        };
        st.notice = st.notice.take().or(restore_notice).or_else(|| st.config.sigma_notice.clone());
        st
    }

    /// Whether a saved state was restored: the baseline a source resuming at its checkpoint
    /// relies on.
    pub fn has_baseline(&self) -> bool {
        self.restored.is_some()
    }

    /// Takes one message from a source.
    pub fn ingest(&mut self, msg: SourceMsg) {
        match msg {
            SourceMsg::Events { source, events, stats, error } => {
                self.stats.merge(&stats);
                let sv = &mut self.sources[source];
                sv.counts.errors += u64::from(error.is_some());
                if error.is_some() {
                    sv.last_error = error.map(|e| clean_owned(&e));
                }
                // The demo's clock runs ahead of this machine's at `--speed` above 1: its own
                // records set the newest time.
                let ahead = if self.config.demo { i64::MAX } else { chrono::Utc::now().timestamp() + CLOCK_SKEW };
                for mut ev in events {
                    match self.ingest.admit_marking(&mut ev, ahead) {
                        Admit::New => {
                            self.events += 1;
                            sv.events += 1;
                            self.unsaved = true;
                        }
                        // Counted before the restart; held again for drill-down.
                        Admit::Restored => self.reread += 1,
                        Admit::Duplicate | Admit::Expired => continue,
                    }
                    // A record stamped ahead of this clock (parse allows a day of drift)
                    // would pin the lag clock at zero and, as the chart's newest minute,
                    // push every real minute out of it.
                    if ev.time <= ahead {
                        sv.newest_event = Some(sv.newest_event.map_or(ev.time, |t| t.max(ev.time)));
                        self.rates.add(&ev);
                    }
                    self.tail.push(Arc::new(ev));
                }
                self.rows_changed = true;
            }
            // Notes and errors quote servers and file names: scrubbed, as log content is,
            // before they can reach the terminal.
            SourceMsg::Note { source, text } => self.sources[source].note = Some(clean_owned(&text)),
            SourceMsg::Requests { source, requests, throttled } => {
                let c = &mut self.sources[source].counts;
                (c.requests, c.throttled) = (requests, throttled);
            }
            SourceMsg::Status { source, status } => {
                let status = match status {
                    SourceStatus::Degraded(e) => SourceStatus::Degraded(clean_owned(&e)),
                    other => other,
                };
                if let SourceStatus::Degraded(e) = &status {
                    self.sources[source].last_error = Some(e.clone());
                    // Counted when it becomes degraded or its error changes, not on every repeat.
                    if self.sources[source].status != status {
                        self.sources[source].counts.errors += 1;
                    }
                }
                self.sources[source].status = status;
            }
            // What reached the pipeline is delivered; with a state on disk, the position is
            // saved once the state holding those events is (else a crash would resume past
            // events the restored state never had).
            SourceMsg::Commit { commit, .. } => {
                if self.persists() {
                    self.pending_commits.retain(|c| c.path() != commit.path());
                    self.pending_commits.push(commit);
                } else if let Err(e) = commit.save() {
                    tracing::warn!("source position not saved: {e:#}");
                }
            }
        }
    }

    /// Takes one command from the console.
    pub fn apply(&mut self, cmd: PipelineCommand) {
        let now = chrono::Utc::now().timestamp();
        if matches!(cmd, PipelineCommand::Label(_) | PipelineCommand::Undo { .. })
            && let Some(r) = &self.ranking
        {
            self.prev_ranks = r.rows.iter().map(|r| ((r.row.window_start, r.row.entity.clone()), r.rank)).collect();
        }
        match cmd {
            PipelineCommand::SetThreshold(t) => self.model.threshold = t,
            PipelineCommand::Label(req) => {
                let mut label = Label::new(&req.row, req.verdict, req.scope, self.generation, now);
                label.note = req.note;
                label.expires_at = req.expires_days.map(|d| now + i64::from(d) * 86_400);
                if let Some(st) = self.label_store.as_ref().filter(|_| !self.config.read_only)
                    && let Err(e) = st.append(&label)
                {
                    self.notice = Some(format!("label not saved: {e:#}"));
                }
                self.labels.push(label);
            }
            PipelineCommand::Undo { window_start, entity } => {
                let live = Feedback::from_lines(self.labels.clone(), now);
                if let Some(l) = live.labels.iter().rev().find(|l| l.window_start == window_start && l.entity == entity)
                {
                    let undo = l.undo_of(now);
                    if let Some(st) = self.label_store.as_ref().filter(|_| !self.config.read_only)
                        && let Err(e) = st.append(&undo)
                    {
                        self.notice = Some(format!("undo not saved: {e:#}"));
                    }
                    self.labels.push(undo);
                }
            }
        }
        self.rows_changed = true;
        self.unsaved = true;
    }

    /// The console's next snapshot; re-ranks first when events or labels came in.
    pub fn publish(&mut self) -> Snapshot {
        if self.rows_changed || self.ranking.is_none() {
            self.rank();
        }
        let r = self.ranking.clone().unwrap_or_default();
        self.generation += 1;
        Snapshot {
            generation: self.generation,
            rows: r.rows,
            cutoff: r.cutoff,
            population: r.population,
            rates: self.rates.points(),
            sources: self.sources.clone(),
            tail: self.tail.view(),
            events: self.events,
            stats: self.stats.clone(),
            duplicates: self.ingest.duplicates(),
            trained_at: r.trained_at,
            model_error: r.error,
            demo: self.config.demo,
            geo: self.config.geo.is_some(),
            feature_config: self.config.cfg,
            labels: self.labels_in_force,
            notice: self.notice.take(),
            restored: self.restored.clone(),
            reread: self.reread,
            too_old: self.ingest.too_old,
            windows_expired: self.ingest.windows_expired,
            evicted_until: self.tail.evicted_until(),
            model: self.model_view(),
            vocab: self.ingest.store.vocab(),
        }
    }
}
