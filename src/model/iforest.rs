//! Isolation Forest (Liu, Ting & Zhou, 2008), behind linfa's traits.
//!
//! Each tree is grown on ψ rows drawn without replacement, to height limit ⌈log₂ ψ⌉: at every
//! node a feature is drawn among those not constant in the node, and a split value uniformly
//! in `[min, max)`. A point's path length is the depth of the leaf it reaches plus c(size) for
//! the rows the leaf did not separate. The score is s(x) = 2^(−E[h(x)] / c(ψ)), in (0, 1].
//! linfa has no Isolation Forest; implementing `ParamGuard`, `Fit` and `PredictInplace` lets
//! this one sit in a linfa pipeline (e.g. after `linfa-preprocessing`).

use linfa::dataset::{DatasetBase, Records};
use linfa::traits::{Fit, PredictInplace};
use ndarray::{Array1, ArrayBase, ArrayView1, ArrayView2, Data, Ix2};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

mod layout;
mod params;

pub use params::{IsolationError, IsolationForestParams, IsolationForestValidParams};

/// Euler–Mascheroni constant, for the harmonic-number approximation in c(n).
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Average path length of an unsuccessful search in a binary search tree of n points: the
/// normaliser of path lengths (paper, eq. 1).
pub fn c(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        n => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

/// A node of a flat tree. A leaf points to itself on both sides with a NaN threshold (every
/// comparison fails), so a walk can take a fixed number of steps without asking whether it
/// has arrived: that keeps scoring free of unpredictable branches.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Node {
    #[serde(with = "nan_as_null")]
    threshold: f64,
    feature: u16,
    left: u16,
    right: u16,
}

/// JSON has no NaN: leaves' NaN thresholds travel as `null`.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() { s.serialize_none() } else { s.serialize_some(v) }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tree {
    nodes: Vec<Node>,
    /// Training rows that reached each node (for explanations).
    sizes: Vec<u32>,
    /// For a leaf, its whole path length: depth + c(size).
    leaf_value: Vec<f64>,
    /// Longest root-to-leaf path, in steps.
    height: usize,
}

impl Tree {
    fn is_leaf(&self, i: usize) -> bool {
        usize::from(self.nodes[i].left) == i
    }

    /// Whether the walks' unchecked indexing is sound on this tree: children come after their
    /// parent (so there are no cycles), every index and feature is in range, and `height` is
    /// the real depth. `grow` builds trees so; a tree read from disk may be anything.
    fn is_well_formed(&self, n_features: usize) -> bool {
        let n = self.nodes.len();
        if n == 0 || n > usize::from(u16::MAX) || self.sizes.len() != n || self.leaf_value.len() != n {
            return false;
        }
        if !self.leaf_value.iter().all(|v| v.is_finite()) {
            return false;
        }
        let mut depth = vec![0usize; n];
        for (i, node) in self.nodes.iter().enumerate() {
            let (l, r) = (usize::from(node.left), usize::from(node.right));
            if l == i && r == i {
                continue;
            }
            if l <= i || r <= i || l >= n || r >= n || usize::from(node.feature) >= n_features {
                return false;
            }
            depth[l] = depth[i] + 1;
            depth[r] = depth[i] + 1;
        }
        depth.iter().max() == Some(&self.height)
    }
}

/// A fitted forest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IsolationForest {
    trees: Vec<Tree>,
    /// The sub-sample size actually used: min(ψ, rows).
    psi: usize,
    n_features: usize,
    /// The parameters it was fitted with.
    pub params: IsolationForestValidParams,
}

impl<D: Data<Elem = f64>, T> Fit<ArrayBase<D, Ix2>, T, IsolationError> for IsolationForestValidParams {
    type Object = IsolationForest;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> Result<IsolationForest, IsolationError> {
        // A view is Sync whatever storage `D` is, so trees can grow on both cores.
        let x = dataset.records().view();
        let (n, d) = (x.nsamples(), x.nfeatures());
        if n == 0 {
            return Err(IsolationError::Empty);
        }
        if d > usize::from(u16::MAX) {
            return Err(IsolationError::TooManyFeatures);
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(IsolationError::NotFinite);
        }
        let psi = self.sub_sample.min(n);
        let limit = (psi as f64).log2().ceil().max(1.0) as usize;
        let trees = (0..self.n_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng =
                    SmallRng::seed_from_u64(self.seed.wrapping_add((t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
                let rows: Vec<usize> = rand::seq::index::sample(&mut rng, n, psi).into_vec();
                let mut tree =
                    Tree { nodes: Vec::with_capacity(2 * psi), sizes: Vec::new(), leaf_value: Vec::new(), height: 0 };
                grow(&x, rows, 0, limit, d, &mut rng, &mut tree);
                tree
            })
            .collect();
        Ok(IsolationForest { trees, psi, n_features: d, params: self.clone() })
    }
}

/// Grows the subtree for `rows` in pre-order.
fn grow(
    x: &ArrayView2<f64>,
    rows: Vec<usize>,
    depth: usize,
    limit: usize,
    d: usize,
    rng: &mut SmallRng,
    tree: &mut Tree,
) {
    let id = tree.nodes.len() as u16;
    tree.sizes.push(rows.len() as u32);
    tree.leaf_value.push(depth as f64 + c(rows.len()));
    tree.nodes.push(Node { threshold: f64::NAN, feature: 0, left: id, right: id });
    tree.height = tree.height.max(depth);
    if depth >= limit || rows.len() <= 1 {
        return;
    }
    // Only features that vary in this node can split it.
    let ranges: Vec<(usize, f64, f64)> = (0..d)
        .filter_map(|f| {
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for &r in &rows {
                let v = x[[r, f]];
                lo = lo.min(v);
                hi = hi.max(v);
            }
            (hi > lo).then_some((f, lo, hi))
        })
        .collect();
    if ranges.is_empty() {
        return;
    }
    let (f, lo, hi) = ranges[rng.gen_range(0..ranges.len())];
    let threshold = rng.gen_range(lo..hi);
    let (left, right): (Vec<usize>, Vec<usize>) = rows.into_iter().partition(|&r| x[[r, f]] < threshold);
    let left_id = tree.nodes.len() as u16;
    grow(x, left, depth + 1, limit, d, rng, tree);
    let right_id = tree.nodes.len() as u16;
    grow(x, right, depth + 1, limit, d, rng, tree);
    tree.nodes[usize::from(id)] = Node { threshold, feature: f as u16, left: left_id, right: right_id };
    tree.leaf_value[usize::from(id)] = 0.0;
}

impl Tree {
    #[inline(always)]
    fn step(&self, i: usize, x: &[f64]) -> usize {
        debug_assert!(i < self.nodes.len());
        // SAFETY: `grow` only writes child indices of nodes it pushed, and feature indices below
        // the column count that `score_rows`/`path_length` callers pass rows of (checked in
        // `score_rows` and `mean_path`). This is the innermost loop of scoring, where the bounds
        // checks cost a measured third of the time.
        let n = unsafe { self.nodes.get_unchecked(i) };
        let v = unsafe { *x.get_unchecked(usize::from(n.feature)) };
        usize::from(if v < n.threshold { n.left } else { n.right })
    }

    /// h(x): edges to the leaf plus c(size) for what the leaf left unresolved.
    fn path_length(&self, x: &[f64]) -> f64 {
        let mut i = 0;
        for _ in 0..self.height {
            i = self.step(i, x);
        }
        self.leaf_value[i]
    }

    /// Calls `visit` with (feature, parent size, child size) at every split on x's path.
    fn walk(&self, x: &[f64], mut visit: impl FnMut(usize, u32, u32)) {
        let mut i = 0usize;
        while !self.is_leaf(i) {
            let next = self.step(i, x);
            visit(usize::from(self.nodes[i].feature), self.sizes[i], self.sizes[next]);
            i = next;
        }
    }
}

impl IsolationForest {
    /// Mean path length E[h(x)] over the trees.
    pub fn mean_path(&self, x: ArrayView1<f64>) -> f64 {
        assert_eq!(x.len(), self.n_features, "feature count differs from the training data");
        let row = x.to_vec();
        self.trees.iter().map(|t| t.path_length(&row)).sum::<f64>() / self.trees.len() as f64
    }

    /// Scores of many rows, in blocks on all cores. A block (transposed) and one tree fit in
    /// L1 cache together, so the block walks the forest tree by tree; within a tree, groups
    /// of rows walk in lockstep: the paths are independent, so the CPU overlaps their loads
    /// instead of waiting on one path at a time.
    pub fn score_rows(&self, x: &ArrayView2<f64>) -> Vec<f64> {
        assert_eq!(x.ncols(), self.n_features, "feature count differs from the training data");
        const BLOCK: usize = 128;
        const LANES: usize = 8;
        let d = self.n_features;
        let flat: std::borrow::Cow<[f64]> = match x.as_slice() {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(x.iter().copied().collect()),
        };
        let layout = layout::Layout::new(&self.trees, LANES);
        let n = self.trees.len() as f64;
        let mut out = vec![0.0; x.nrows()];
        out.par_chunks_mut(BLOCK).enumerate().for_each(|(b, chunk)| {
            let rows = &flat[b * BLOCK * d..(b * BLOCK + chunk.len()) * d];
            // Groups of LANES rows, each transposed (feature f of lane k at f * LANES + k).
            // Spare lanes of a short last group walk zeros and are not read back.
            let groups = chunk.len().div_ceil(LANES);
            let mut cols = vec![0.0; groups * d * LANES];
            for (r, row) in rows.chunks_exact(d).enumerate() {
                let group = &mut cols[(r / LANES) * d * LANES..];
                for (f, v) in row.iter().enumerate() {
                    group[f * LANES + r % LANES] = *v;
                }
            }
            let mut acc = vec![0.0; groups * LANES];
            for tree in layout.trees() {
                for (g, a) in cols.chunks_exact(d * LANES).zip(acc.chunks_exact_mut(LANES)) {
                    tree.add_paths::<LANES>(g, a);
                }
            }
            for (s, a) in chunk.iter_mut().zip(acc) {
                *s = score_from_path(a / n, self.psi);
            }
        });
        out
    }

    /// Whether a forest read from disk is one `fit` could have made (see `Tree::is_well_formed`):
    /// as many trees as its parameters say, ψ within them, every tree sound.
    pub fn is_well_formed(&self) -> bool {
        !self.trees.is_empty()
            && self.trees.len() == self.params.n_trees
            && (1..=self.params.sub_sample).contains(&self.psi)
            && self.trees.iter().all(|t| t.is_well_formed(self.n_features))
    }

    /// The features it was fitted on.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The anomaly score s(x) = 2^(−E[h(x)] / c(ψ)).
    pub fn score(&self, x: ArrayView1<f64>) -> f64 {
        score_from_path(self.mean_path(x), self.psi)
    }

    /// Active-Anomaly-Discovery-style feedback (Das et al. 2016): the leaves `x` reaches are
    /// declared nominal, and their path length is raised to at least c(ψ), the depth of an
    /// ordinary point. Whatever falls in those leaves (the labelled window, and windows that
    /// behave like it) scores as ordinary in those trees; other leaves are untouched.
    pub fn mark_nominal(&mut self, x: ArrayView1<f64>) {
        assert_eq!(x.len(), self.n_features, "feature count differs from the training data");
        let row = x.to_vec();
        let floor = c(self.psi);
        for t in &mut self.trees {
            let mut i = 0usize;
            while !t.is_leaf(i) {
                i = t.step(i, &row);
            }
            t.leaf_value[i] = t.leaf_value[i].max(floor);
        }
    }

    /// How much each feature did to isolate `x`: for every split on the path, the log of how
    /// much it shrank the point's cell (ln parent/child), summed over trees and normalised to
    /// shares that add up to 1. Early, decisive splits weigh most.
    pub fn contributions(&self, x: ArrayView1<f64>) -> Vec<f64> {
        assert_eq!(x.len(), self.n_features, "feature count differs from the training data");
        let mut acc = vec![0.0; self.n_features];
        let row = x.to_vec();
        for t in &self.trees {
            t.walk(&row, |f, parent, child| acc[f] += (f64::from(parent) / f64::from(child.max(1))).ln());
        }
        let total: f64 = acc.iter().sum();
        if total > 0.0 {
            acc.iter_mut().for_each(|v| *v /= total);
        }
        acc
    }
}

/// s(x) = 2^(−E[h(x)]/c(ψ)) for a mean path length.
pub fn score_from_path(mean_path: f64, psi: usize) -> f64 {
    let cn = c(psi);
    if cn == 0.0 { 0.5 } else { 2f64.powf(-mean_path / cn) }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<f64>> for IsolationForest {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<f64>) {
        assert_eq!(x.ncols(), self.n_features, "feature count differs from the training data");
        y.assign(&Array1::from(self.score_rows(&x.view())));
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}

#[cfg(test)]
mod tests;
