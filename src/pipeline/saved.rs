//! What a restarted pipeline continues from: the feature store (every entity-window and each
//! principal's history), the event ids taken in and the fitted model, in one gzipped JSON file
//! per set of sources and window shape, written atomically. Raw records are not kept: they are
//! in the sources.

use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use rustc_hash::FxHasher;
use serde::{Deserialize, Serialize};

use super::ingest::{Dedup, Ingest};
use crate::features::{FeatureConfig, FeatureStore, SCHEMA_VERSION};
use crate::model::persist::SavedModel;
use crate::model::{IsolationForest, ModelConfig};
use crate::sigma::SavedHit;

/// Bumped when the file's layout changes: an older file is reported and ignored.
pub const STATE_VERSION: u32 = 1;
/// A state file larger than this once inflated is not read (it would be a bomb, not a state).
const MAX_STATE_BYTES: u64 = 2 << 30;

/// The file, generic so that saving borrows and loading owns.
#[derive(Serialize, Deserialize)]
struct Saved<S, D> {
    version: u32,
    schema_version: u32,
    /// The hash of a fixed string: the store's keys are hashes, so a build whose hasher
    /// differs must not read them.
    hash_check: u64,
    sources: Vec<String>,
    saved_at: i64,
    newest: Option<i64>,
    events: u64,
    store: S,
    dedup: D,
    model: Option<SavedModel>,
    /// Sigma hits per window, by rule id (a state from before rules were loaded has none).
    #[serde(default)]
    signatures: Vec<SavedHit>,
}

fn hash_of(v: impl Hash) -> u64 {
    let mut h = FxHasher::default();
    v.hash(&mut h);
    h.finish()
}

/// What was restored, as the header tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoredView {
    /// Entity-windows restored.
    pub windows: usize,
    /// Principals whose history was restored.
    pub principals: usize,
    /// Events the saving run had taken in.
    pub events: u64,
    /// When it was saved, Unix seconds.
    pub saved_at: i64,
    /// Whether the fitted model was restored too (else it is refitted on the windows).
    pub model: bool,
}

/// A state read back.
pub struct Restored {
    /// Sigma hits per window, by rule id.
    pub signatures: Vec<SavedHit>,
    /// The feature store.
    pub store: FeatureStore,
    /// The event ids it had taken in.
    pub dedup: Dedup,
    /// The model, if it was saved and is sound.
    pub forest: Option<IsolationForest>,
    /// Why a saved model was not used.
    pub model_problem: Option<String>,
    /// The newest event time it had taken in.
    pub newest: Option<i64>,
    /// For the header.
    pub view: RestoredView,
}

/// The state file for these sources and windows in `dir`: sources given in another order share
/// it; another window length or grouping has its own.
pub fn state_path(dir: &Path, sources: &[String], cfg: FeatureConfig) -> PathBuf {
    let mut names: Vec<&str> = sources.iter().map(String::as_str).collect();
    names.sort_unstable();
    let key = hash_of((names, cfg.window_secs, cfg.by.to_string()));
    dir.join(format!("state-{key:016x}.json.gz"))
}

/// Writes the state atomically (see [`crate::sys::write_atomic`]).
pub fn save(
    path: &Path,
    sources: &[String],
    ingest: &Ingest,
    events: u64,
    forest: Option<&IsolationForest>,
) -> anyhow::Result<()> {
    let (store, dedup, newest) = (&ingest.store, ingest.dedup(), ingest.newest());
    let signatures = ingest.rules().map_or_else(Vec::new, |rules| ingest.signatures.to_saved(rules));
    let saved = Saved {
        version: STATE_VERSION,
        schema_version: SCHEMA_VERSION,
        hash_check: hash_of("trailtop"),
        sources: sources.to_vec(),
        saved_at: chrono::Utc::now().timestamp(),
        newest,
        events,
        store,
        dedup,
        model: forest.map(SavedModel::new),
        signatures,
    };
    crate::sys::write_atomic(path, |w| {
        // Level 1: the state is mostly numbers and is written every few minutes.
        let mut gz = GzEncoder::new(std::io::BufWriter::new(w), Compression::fast());
        serde_json::to_writer(&mut gz, &saved).map_err(std::io::Error::from)?;
        gz.finish()?.flush()
    })
}

/// The saved state at `path`: `Ok(None)` when there is none, an error saying why when it
/// cannot be used (it is then replaced at the next save).
pub fn load(path: &Path, cfg: FeatureConfig, model: &ModelConfig) -> Result<Option<Restored>, String> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut text = Vec::new();
    GzDecoder::new(file)
        .take(MAX_STATE_BYTES)
        .read_to_end(&mut text)
        .map_err(|e| format!("{} is damaged ({e}); starting afresh", path.display()))?;
    let saved: Saved<FeatureStore, Dedup> =
        serde_json::from_slice(&text).map_err(|e| format!("{} is damaged ({e}); starting afresh", path.display()))?;
    if saved.version != STATE_VERSION
        || saved.schema_version != SCHEMA_VERSION
        || saved.hash_check != hash_of("trailtop")
    {
        return Err(format!(
            "{} was written by another version of trailtop (state v{}, features v{}); starting afresh",
            path.display(),
            saved.version,
            saved.schema_version
        ));
    }
    if saved.store.config() != cfg || !saved.store.is_consistent() {
        return Err(format!("{} does not match these windows or is inconsistent; starting afresh", path.display()));
    }
    let (forest, model_problem) = match saved.model.map(|m| m.into_forest(model)) {
        Some(Ok(f)) => (Some(f), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let view = RestoredView {
        windows: saved.store.len(),
        principals: saved.store.principals(),
        events: saved.events,
        saved_at: saved.saved_at,
        model: forest.is_some(),
    };
    Ok(Some(Restored {
        signatures: saved.signatures,
        store: saved.store,
        dedup: saved.dedup,
        forest,
        model_problem,
        newest: saved.newest,
        view,
    }))
}
