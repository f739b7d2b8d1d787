//! The fitted model on disk, with the feature schema it was fitted for. A file for another
//! schema or a damaged file is reported and replaced, never fatal.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::IsolationForest;
use crate::features::{FEATURE_NAMES, SCHEMA_VERSION};

/// The model's file in the data directory.
pub const MODEL_FILE: &str = "model.json";

#[derive(Serialize, Deserialize)]
struct Saved {
    schema_version: u32,
    features: Vec<String>,
    forest: IsolationForest,
}

/// Writes the model atomically (see [`crate::sys::write_atomic`]).
pub fn save_model(dir: &Path, model: &IsolationForest) -> anyhow::Result<()> {
    let saved = Saved {
        schema_version: SCHEMA_VERSION,
        features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        forest: model.clone(),
    };
    crate::sys::write_atomic(&dir.join(MODEL_FILE), |w| serde_json::to_writer(w, &saved).map_err(std::io::Error::from))
}

/// The saved model if it fits this build's features.
pub fn load_model(dir: &Path) -> Result<Option<IsolationForest>, String> {
    let path = dir.join(MODEL_FILE);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let saved: Saved =
        serde_json::from_slice(&text).map_err(|e| format!("{} is damaged ({e}); retraining", path.display()))?;
    if saved.schema_version != SCHEMA_VERSION || saved.features != FEATURE_NAMES {
        return Err(format!(
            "{} was fitted for feature schema v{}; this build uses v{SCHEMA_VERSION}; retraining",
            path.display(),
            saved.schema_version
        ));
    }
    if !saved.forest.is_well_formed() {
        return Err(format!("{} holds a malformed forest; retraining", path.display()));
    }
    Ok(Some(saved.forest))
}

/// A notice for the console when the saved model cannot be used.
pub fn check_saved_model(dir: &Path) -> Option<String> {
    load_model(dir).err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IsolationForestParams;
    use linfa::DatasetBase;
    use linfa::traits::{Fit, Predict};

    #[test]
    fn round_trip_and_schema_change_and_damage() {
        let dir = tempfile::tempdir().unwrap();
        let x = ndarray::Array2::from_shape_fn((200, 3), |(i, j)| ((i * 7 + j * 13) % 17) as f64);
        let m = IsolationForestParams::default().seed(3).fit(&DatasetBase::from(x.clone())).unwrap();
        save_model(dir.path(), &m).unwrap();
        let back = load_model(dir.path()).unwrap().unwrap();
        assert_eq!(back.predict(&x), m.predict(&x));
        let path = dir.path().join(MODEL_FILE);
        // Well-formed JSON whose splits name a feature the model does not have.
        let good = std::fs::read_to_string(&path).unwrap();
        let bad = (0..3).fold(good.clone(), |t, f| t.replace(&format!("\"feature\":{f},"), "\"feature\":7,"));
        std::fs::write(&path, bad).unwrap();
        assert!(load_model(dir.path()).unwrap_err().contains("malformed"));
        std::fs::write(&path, &good).unwrap();
        let text = std::fs::read_to_string(&path).unwrap().replacen(
            &format!("\"schema_version\":{SCHEMA_VERSION}"),
            "\"schema_version\":0",
            1,
        );
        std::fs::write(&path, text).unwrap();
        assert!(load_model(dir.path()).unwrap_err().contains("schema v0"));
        std::fs::write(&path, "{ not json").unwrap();
        assert!(load_model(dir.path()).unwrap_err().contains("damaged"));
        assert!(load_model(tempfile::tempdir().unwrap().path()).unwrap().is_none());
    }
}
