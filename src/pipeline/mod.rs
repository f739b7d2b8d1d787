//! Stage 5: the pipeline. It owns de-duplication, the feature store, the event tail and the
//! model, as one value ([`PipelineState`]) that `scan`'s ingest, the tests and the console's
//! pipeline thread ([`Pipeline::run`]) all drive. It takes source messages in and hands the
//! console a fresh [`Snapshot`] when something changed, at most every [`REFRESH`]
//! (re-scoring is the expensive part). Commands come back on their own channel; state never
//! flows upstream.

pub mod ingest;
pub mod protocol;
mod rates;
pub mod saved;
mod state;
pub mod tail;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select, tick};

pub use protocol::{LabelRequest, PipelineCommand, RatePoint, Snapshot, SourceCounts, SourceView};
pub use state::{ModelView, PipelineState};
pub use tail::TailView;

use crate::features::FeatureConfig;
use crate::model::ModelConfig;
use crate::source::SourceMsg;

/// The most often a snapshot is published.
pub const REFRESH: Duration = Duration::from_secs(2);

/// What a pipeline is made of.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Where labels and the model live; `None` keeps labels in memory only (tests).
    pub data_dir: Option<std::path::PathBuf>,
    /// Read the data dir but write nothing to it: another instance holds its lock.
    pub read_only: bool,
    /// Windows and entities.
    pub cfg: FeatureConfig,
    /// The forest and the threshold.
    pub model: ModelConfig,
    /// Records the tail keeps for drill-down.
    pub tail_capacity: usize,
    /// About how many bytes those records may take (`--memory`).
    pub memory: usize,
    /// How long windows, histories and event ids are kept, seconds of event time (`--retain`);
    /// `None` keeps everything.
    pub retain: Option<i64>,
    /// The sources' names, in the order their ids number them.
    pub source_names: Vec<String>,
    /// Whether the data is the built-in demo (the header says so).
    pub demo: bool,
    /// Sigma rules every new event is matched against, when loaded.
    pub sigma: Option<Arc<crate::sigma::Rules>>,
    /// What loading them said, when some did not load (the header shows it).
    pub sigma_notice: Option<String>,
    /// GeoIP databases for the geography features, when given.
    pub geo: Option<Arc<crate::geo::Geo>>,
    /// Fit a new forest at least this often, seconds (`--retrain`); `None`: only when due
    /// otherwise (labels, growth, drift).
    pub retrain: Option<i64>,
}

impl Pipeline {
    /// A pipeline of one source that keeps nothing on disk, with the default windows and model
    /// and no bounds, rules or databases: what tests, benchmarks and the screenshot script
    /// start from, changing the fields they care about.
    pub fn in_memory(source: &str) -> Pipeline {
        Pipeline {
            data_dir: None,
            read_only: false,
            cfg: FeatureConfig::default(),
            model: ModelConfig::default(),
            tail_capacity: 10_000,
            memory: usize::MAX,
            retain: None,
            source_names: vec![source.into()],
            demo: false,
            sigma: None,
            sigma_notice: None,
            geo: None,
            retrain: None,
        }
    }

    /// The pipeline thread: drains sources and commands into a [`PipelineState`] and publishes
    /// when something changed and [`REFRESH`] has passed (at once after a command). Ends when
    /// the console hangs up.
    pub fn run(self, rx: Receiver<SourceMsg>, commands: Receiver<PipelineCommand>, out: Sender<Arc<Snapshot>>) {
        PipelineState::new(self).run(rx, commands, out)
    }
}

impl PipelineState {
    /// [`Pipeline::run`] for a state already made (the console makes it first, to know
    /// whether a baseline was restored before it starts the sources).
    pub fn run(self, rx: Receiver<SourceMsg>, commands: Receiver<PipelineCommand>, out: Sender<Arc<Snapshot>>) {
        let mut st = self;
        let ticker = tick(REFRESH / 4);
        let (mut dirty, mut last_publish) = (true, Instant::now() - REFRESH);
        let mut sources_open = true;
        loop {
            let cmd = if sources_open {
                select! {
                    recv(rx) -> msg => match msg {
                        Ok(m) => { st.ingest(m); dirty = true; None }
                        // Every source has finished: publish what is left now (nothing else
                        // would), then keep serving commands.
                        Err(_) => { sources_open = false; last_publish = Instant::now() - REFRESH; None }
                    },
                    recv(commands) -> cmd => Some(cmd),
                    recv(ticker) -> _ => None,
                }
            } else {
                Some(commands.recv())
            };
            match cmd {
                Some(Ok(c)) => {
                    st.apply(c);
                    // The analyst waits for this one: publish now.
                    (dirty, last_publish) = (true, Instant::now() - REFRESH);
                }
                // The console hung up: keep what was learned, then end.
                Some(Err(_)) => return st.save(),
                None => {}
            }
            if dirty && last_publish.elapsed() >= REFRESH {
                if out.send(Arc::new(st.publish())).is_err() {
                    return st.save();
                }
                (dirty, last_publish) = (false, Instant::now());
                st.save_if_due();
            }
        }
    }
}

#[cfg(test)]
mod tests;
