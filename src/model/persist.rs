//! The fitted model as it is saved, with the feature schema it was fitted for. The pipeline
//! keeps it in its state file; a model for another schema, other parameters or a damaged one
//! is reported and refitted, never fatal.

use serde::{Deserialize, Serialize};

use super::{IsolationForest, ModelConfig};
use crate::features::{FEATURE_NAMES, N_FEATURES, SCHEMA_VERSION};

/// A forest with the schema it was fitted for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedModel {
    schema_version: u32,
    features: Vec<String>,
    forest: IsolationForest,
}

impl SavedModel {
    /// A forest of this build's schema, to save.
    pub fn new(forest: &IsolationForest) -> SavedModel {
        SavedModel {
            schema_version: SCHEMA_VERSION,
            features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
            forest: forest.clone(),
        }
    }

    /// The forest, if it fits this build's features and `cfg`'s parameters and is one `fit`
    /// could have made (tree heights, node indexes, feature numbers, leaf values).
    pub fn into_forest(self, cfg: &ModelConfig) -> Result<IsolationForest, String> {
        if self.schema_version != SCHEMA_VERSION || self.features != FEATURE_NAMES {
            return Err(format!(
                "the saved model was fitted for feature schema v{}; this build uses v{SCHEMA_VERSION}; refitting",
                self.schema_version
            ));
        }
        let p = &self.forest.params;
        if (p.n_trees, p.sub_sample, p.seed) != (cfg.n_trees, cfg.sub_sample, cfg.seed) {
            return Err("the saved model was fitted with other parameters; refitting".into());
        }
        if self.forest.n_features() != N_FEATURES || !self.forest.is_well_formed() {
            return Err("the saved model is malformed; refitting".into());
        }
        Ok(self.forest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IsolationForestParams;
    use linfa::DatasetBase;
    use linfa::traits::{Fit, Predict};

    #[test]
    fn round_trip_and_schema_parameter_and_damage_checks() {
        let cfg = ModelConfig::default();
        let x = ndarray::Array2::from_shape_fn((300, N_FEATURES), |(i, j)| ((i * 7 + j * 13) % 17) as f64);
        let params = IsolationForestParams::default().n_trees(cfg.n_trees).sub_sample(cfg.sub_sample).seed(cfg.seed);
        let m = params.fit(&DatasetBase::from(x.clone())).unwrap();
        let good = serde_json::to_string(&SavedModel::new(&m)).unwrap();
        let load = |text: &str| serde_json::from_str::<SavedModel>(text).map_err(|e| e.to_string())?.into_forest(&cfg);
        assert_eq!(load(&good).unwrap().predict(&x), m.predict(&x));
        // Well-formed JSON whose splits name a feature the model does not have.
        let bad = (0..N_FEATURES).fold(good.clone(), |t, f| t.replace(&format!("\"feature\":{f},"), "\"feature\":99,"));
        assert!(load(&bad).unwrap_err().contains("malformed"));
        let old = good.replacen(&format!("\"schema_version\":{SCHEMA_VERSION}"), "\"schema_version\":0", 1);
        assert!(load(&old).unwrap_err().contains("schema v0"));
        let other = ModelConfig { seed: 1, ..ModelConfig::default() };
        let saved: SavedModel = serde_json::from_str(&good).unwrap();
        assert!(saved.into_forest(&other).unwrap_err().contains("other parameters"));
        assert!(load("{ not json").is_err());
    }
}
