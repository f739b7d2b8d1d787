//! The pipeline thread: owns de-duplication, the feature store, the event tail and the model.
//! It takes source messages in, and hands the console a fresh [`Snapshot`] whenever something
//! changed, at most every `REFRESH` (re-scoring is the expensive part). Commands come back on
//! their own channel; state never flows upstream.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select, tick};

use crate::features::{Dedup, FeatureConfig, FeatureStore, entity_text};
use crate::model::feedback::{Feedback, Label, LabelStore};
use crate::model::{ModelConfig, ScoredRow, persist, score_rows_with};
use crate::parse::sanitize::clean_owned;
use crate::parse::{Event, ParseStats};
use crate::source::{SourceMsg, SourceStatus};

const REFRESH: Duration = Duration::from_secs(2);
const SAVE_EVERY: Duration = Duration::from_secs(300);
/// How far ahead of this machine's clock an event may be and still count as the newest.
const CLOCK_SKEW: i64 = 15 * 60;

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
#[derive(Debug, Default)]
pub struct Snapshot {
    pub generation: u64,
    pub rows: Arc<Vec<ScoredRow>>,
    pub cutoff: f64,
    /// Every feature's values over the ranked windows, sorted.
    pub population: Arc<Vec<Vec<f64>>>,
    pub rates: Vec<RatePoint>,
    pub sources: Vec<SourceView>,
    /// The newest events, oldest first, bounded.
    pub tail: Vec<Arc<Event>>,
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
    /// A copy for tests that build on a snapshot (published snapshots are never changed).
    pub fn clone_for_test(&self) -> Snapshot {
        Snapshot {
            generation: self.generation,
            rows: Arc::clone(&self.rows),
            cutoff: self.cutoff,
            population: Arc::clone(&self.population),
            rates: self.rates.clone(),
            sources: self.sources.clone(),
            tail: self.tail.clone(),
            events: self.events,
            stats: self.stats.clone(),
            duplicates: self.duplicates,
            trained_at: self.trained_at,
            model_error: self.model_error.clone(),
            demo: self.demo,
            feature_config: self.feature_config,
            labels: self.labels,
            notice: self.notice.clone(),
        }
    }

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

/// Commands from the console.
#[derive(Debug, Clone)]
pub enum PipelineCommand {
    /// Re-rank with another threshold, now.
    SetThreshold(crate::model::Threshold),
    /// Store a label and retrain.
    Label(Box<super::state::LabelRequest>),
    /// Withdraw the latest label on a window and retrain.
    Undo { window_start: i64, entity: String },
}

/// The latest ranking: rows, cut-off, population, when it was trained, the error if it failed.
type Ranking = (Arc<Vec<ScoredRow>>, f64, Arc<Vec<Vec<f64>>>, Option<i64>, Option<String>);

pub struct Pipeline {
    /// Where labels and the model live; `None` keeps labels in memory only (tests).
    pub data_dir: Option<std::path::PathBuf>,
    pub cfg: FeatureConfig,
    pub model: ModelConfig,
    pub tail_capacity: usize,
    pub source_names: Vec<String>,
    pub demo: bool,
}

impl Pipeline {
    pub fn run(self, rx: Receiver<SourceMsg>, commands: Receiver<PipelineCommand>, out: Sender<Arc<Snapshot>>) {
        let mut store = FeatureStore::new(self.cfg);
        let mut dedup = Dedup::default();
        let mut tail: VecDeque<Arc<Event>> = VecDeque::with_capacity(self.tail_capacity);
        let mut rates: std::collections::BTreeMap<i64, RatePoint> = Default::default();
        let mut stats = ParseStats::default();
        let mut events = 0u64;
        let mut model = self.model.clone();
        let mut sources: Vec<SourceView> = self
            .source_names
            .iter()
            .map(|n| SourceView {
                name: n.clone(),
                status: SourceStatus::Backfilling { done: 0, total: 0 },
                newest_event: None,
                events: 0,
                last_error: None,
                note: None,
            })
            .collect();
        let store_labels = self.data_dir.as_deref().map(LabelStore::new);
        let mut label_lines: Vec<Label> = Vec::new();
        let mut notice = None;
        if let Some(st) = &store_labels {
            match st.load() {
                Ok((lines, report)) => {
                    label_lines = lines;
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
        if let Some(dir) = &self.data_dir
            && let Some(n) = persist::check_saved_model(dir)
        {
            notice = notice.or(Some(n));
        }
        let mut prev_ranks: rustc_hash::FxHashMap<(i64, String), usize> = Default::default();
        let ticker = tick(REFRESH / 4);
        let mut dirty = true;
        let mut last_publish = Instant::now() - REFRESH;
        let mut generation = 0u64;
        let mut last: Option<Ranking> = None;
        let mut rows_changed = true;
        let mut labels_in_force = 0;
        let mut save_due = true;
        let mut last_saved = Instant::now();
        loop {
            select! {
                recv(rx) -> msg => match msg {
                    Ok(SourceMsg::Events { source, events: batch, stats: st, error }) => {
                        stats.merge(&st);
                        let sv = &mut sources[source];
                        if error.is_some() {
                            sv.last_error = error;
                        }
                        let ahead = chrono::Utc::now().timestamp() + CLOCK_SKEW;
                        for ev in batch {
                            if !dedup.first(&ev.id) {
                                continue;
                            }
                            store.add(&ev);
                            events += 1;
                            sv.events += 1;
                            // A record stamped ahead of this clock (parse allows a day of
                            // drift) would pin the lag clock at zero and, as the chart's
                            // newest minute, push every real minute out of it.
                            if ev.time <= ahead {
                                sv.newest_event = Some(sv.newest_event.map_or(ev.time, |t| t.max(ev.time)));
                                let minute = ev.time.div_euclid(60) * 60;
                                let p = rates.entry(minute).or_insert(RatePoint { minute, ..Default::default() });
                                p.events += 1;
                                p.errors += u32::from(ev.error_code.is_some());
                            }
                            if tail.len() == self.tail_capacity {
                                tail.pop_front();
                            }
                            tail.push_back(Arc::new(ev));
                        }
                        dirty = true;
                        rows_changed = true;
                    }
                    // What reached this thread is delivered: the position can be saved.
                    Ok(SourceMsg::Commit { commit, .. }) => {
                        if let Err(e) = commit.save() {
                            tracing::warn!("source position not saved: {e:#}");
                        }
                    }
                    // Notes and errors quote servers and file names: scrubbed, as log content
                    // is, before they can reach the terminal.
                    Ok(SourceMsg::Note { source, text }) => {
                        sources[source].note = Some(clean_owned(&text));
                        dirty = true;
                    }
                    Ok(SourceMsg::Status { source, status }) => {
                        let status = match status {
                            SourceStatus::Degraded(e) => SourceStatus::Degraded(clean_owned(&e)),
                            other => other,
                        };
                        if let SourceStatus::Degraded(e) = &status {
                            sources[source].last_error = Some(e.clone());
                        }
                        sources[source].status = status;
                        dirty = true;
                    }
                    // Every source has finished and hung up: keep serving commands.
                    Err(_) => {
                        if commands.recv().is_err() {
                            return;
                        }
                    }
                },
                recv(commands) -> cmd => {
                    match cmd {
                        Ok(PipelineCommand::SetThreshold(t)) => model.threshold = t,
                        Ok(PipelineCommand::Label(req)) => {
                            let now = chrono::Utc::now().timestamp();
                            let mut label = Label::new(&req.row, req.verdict, req.scope, generation, now);
                            label.note = req.note;
                            label.expires_at = req.expires_days.map(|d| now + i64::from(d) * 86_400);
                            if let Some(st) = &store_labels
                                && let Err(e) = st.append(&label)
                            {
                                notice = Some(format!("label not saved: {e:#}"));
                            }
                            label_lines.push(label);
                        }
                        Ok(PipelineCommand::Undo { window_start, entity }) => {
                            let now = chrono::Utc::now().timestamp();
                            let live = Feedback::from_lines(label_lines.clone(), now);
                            if let Some(l) = live.labels.iter().rev().find(|l| l.window_start == window_start && l.entity == entity) {
                                let undo = l.undo_of(now);
                                if let Some(st) = &store_labels
                                    && let Err(e) = st.append(&undo)
                                {
                                    notice = Some(format!("undo not saved: {e:#}"));
                                }
                                label_lines.push(undo);
                            }
                        }
                        Err(_) => return,
                    }
                    dirty = true;
                    rows_changed = true;
                    save_due = true;
                    last_publish = Instant::now() - REFRESH;
                },
                recv(ticker) -> _ => {},
            }
            if !dirty || last_publish.elapsed() < REFRESH {
                continue;
            }
            if rows_changed || last.is_none() {
                let started = Instant::now();
                let feedback = Feedback::from_lines(label_lines.clone(), chrono::Utc::now().timestamp());
                last = Some(match score_rows_with(store.rows(), &model, &feedback) {
                    Ok(mut s) => {
                        // What moved since the last ranking.
                        for r in &mut s.rows {
                            r.prev_rank = prev_ranks.get(&(r.row.window_start, r.row.entity.clone())).copied();
                        }
                        prev_ranks =
                            s.rows.iter().map(|r| ((r.row.window_start, r.row.entity.clone()), r.rank)).collect();
                        // Saved after feedback and every few minutes, not on every refresh.
                        if let (Some(dir), Some(m)) = (&self.data_dir, &s.model)
                            && (save_due || last_saved.elapsed() > SAVE_EVERY)
                        {
                            if let Err(e) = persist::save_model(dir, m) {
                                tracing::warn!("model not saved: {e:#}");
                            }
                            last_saved = Instant::now();
                            save_due = false;
                        }
                        (Arc::new(s.rows), s.cutoff, Arc::new(s.population), Some(chrono::Utc::now().timestamp()), None)
                    }
                    Err(e) => (Arc::default(), 0.0, Arc::default(), None, Some(e.to_string())),
                });
                labels_in_force = feedback.labels.len();
                tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, windows = store.len(), "re-scored");
                rows_changed = false;
            }
            // Keep rates for the last day of event time.
            if let Some(&newest) = rates.keys().next_back() {
                rates.retain(|m, _| *m > newest - 86_400);
            }
            let (rows, cutoff, population, trained_at, model_error) = last.clone().unwrap_or_default();
            generation += 1;
            let snap = Snapshot {
                generation,
                rows,
                cutoff,
                population,
                rates: rates.values().copied().collect(),
                sources: sources.clone(),
                tail: tail.iter().cloned().collect(),
                events,
                stats: stats.clone(),
                duplicates: dedup.duplicates,
                trained_at,
                model_error,
                demo: self.demo,
                feature_config: self.cfg,
                labels: labels_in_force,
                notice: notice.take(),
            };
            if out.send(Arc::new(snap)).is_err() {
                return;
            }
            dirty = false;
            last_publish = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests;
