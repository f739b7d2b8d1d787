//! The forest's parameters, checked the linfa way (`ParamGuard`), and why a fit can fail.

use linfa::{ParamGuard, error::Error as LinfaError};
use serde::{Deserialize, Serialize};

/// Why a forest could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum IsolationError {
    /// Zero trees asked for.
    #[error("n_trees must be at least 1")]
    NoTrees,
    /// A sub-sample size out of range.
    #[error("sub-sample size must be between 2 and 16384, got {0}")]
    SubSample(usize),
    /// No rows.
    #[error("cannot fit on an empty dataset")]
    Empty,
    /// A NaN or infinite value.
    #[error("feature values must be finite")]
    NotFinite,
    /// More features than a node can index.
    #[error("at most 65535 features")]
    TooManyFeatures,
    /// linfa's own checks.
    #[error(transparent)]
    Linfa(#[from] LinfaError),
}

/// Unchecked hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub struct IsolationForestParams(IsolationForestValidParams);

/// Checked hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationForestValidParams {
    /// Trees in the forest.
    pub n_trees: usize,
    /// Rows each tree is grown on (ψ).
    pub sub_sample: usize,
    /// The seed: the same seed and data give the same forest.
    pub seed: u64,
}

impl Default for IsolationForestParams {
    fn default() -> Self {
        Self(IsolationForestValidParams { n_trees: 100, sub_sample: 256, seed: 0 })
    }
}

impl IsolationForestParams {
    /// Sets the number of trees.
    pub fn n_trees(mut self, n: usize) -> Self {
        self.0.n_trees = n;
        self
    }
    /// Sets ψ.
    pub fn sub_sample(mut self, psi: usize) -> Self {
        self.0.sub_sample = psi;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
}

impl ParamGuard for IsolationForestParams {
    type Checked = IsolationForestValidParams;
    type Error = IsolationError;

    fn check_ref(&self) -> Result<&Self::Checked, Self::Error> {
        if self.0.n_trees == 0 {
            return Err(IsolationError::NoTrees);
        }
        // Node indices are u16 (small nodes keep trees in cache): at most 2ψ nodes a tree.
        if !(2..=16_384).contains(&self.0.sub_sample) {
            return Err(IsolationError::SubSample(self.0.sub_sample));
        }
        Ok(&self.0)
    }

    fn check(self) -> Result<Self::Checked, Self::Error> {
        self.check_ref()?;
        Ok(self.0)
    }
}
