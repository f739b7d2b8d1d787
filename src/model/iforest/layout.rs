//! The forest laid out for scoring: every tree as a complete binary tree of one height, in
//! breadth-first order, so a walk computes its next node (`2i + 1` or `2i + 2`) instead of
//! loading it. A leaf above the bottom is copied to every bottom slot below it, so every walk
//! takes the same number of steps and lands on its leaf's value. Built per scoring call from
//! the fitted trees (microseconds), so feedback that changes leaf values is always seen.

use super::Tree;

pub struct Layout {
    height: usize,
    /// Per tree: 2^height − 1 split thresholds, and the split features' offsets in the
    /// transposed rows (feature × lanes, so a walk does no multiplication).
    thresholds: Vec<f64>,
    offsets: Vec<u32>,
    /// Per tree: 2^height path lengths.
    leaves: Vec<f64>,
}

impl Layout {
    pub fn new(trees: &[Tree], lanes: usize) -> Self {
        let height = trees.iter().map(|t| t.height).max().unwrap_or(0);
        let (inner, bottom) = ((1usize << height) - 1, 1usize << height);
        let mut l = Layout {
            height,
            thresholds: vec![f64::NAN; inner * trees.len()],
            offsets: vec![0; inner * trees.len()],
            leaves: vec![0.0; bottom * trees.len()],
        };
        for (t, tree) in trees.iter().enumerate() {
            let th = &mut l.thresholds[t * inner..(t + 1) * inner];
            let fe = &mut l.offsets[t * inner..(t + 1) * inner];
            let lv = &mut l.leaves[t * bottom..(t + 1) * bottom];
            // (node in the fitted tree, slot in the complete tree, depth)
            let mut stack = vec![(0usize, 0usize, 0usize)];
            while let Some((node, slot, depth)) = stack.pop() {
                if tree.is_leaf(node) {
                    // The bottom slots under `slot`: a contiguous run at the last level.
                    let span = 1usize << (height - depth);
                    let first = (slot + 1) * span - 1 - inner;
                    lv[first..first + span].fill(tree.leaf_value[node]);
                    continue;
                }
                let n = &tree.nodes[node];
                th[slot] = n.threshold;
                fe[slot] = u32::from(n.feature) * lanes as u32;
                stack.push((usize::from(n.left), 2 * slot + 1, depth + 1));
                stack.push((usize::from(n.right), 2 * slot + 2, depth + 1));
            }
        }
        l
    }

    /// Each tree's part of the layout, in order.
    pub fn trees(&self) -> impl Iterator<Item = Flat<'_>> {
        let inner = (1usize << self.height) - 1;
        self.leaves.chunks_exact(inner + 1).enumerate().map(move |(t, leaves)| Flat {
            height: self.height,
            thresholds: &self.thresholds[t * inner..(t + 1) * inner],
            offsets: &self.offsets[t * inner..(t + 1) * inner],
            leaves,
        })
    }
}

/// One tree of a [`Layout`].
pub struct Flat<'a> {
    height: usize,
    thresholds: &'a [f64],
    offsets: &'a [u32],
    leaves: &'a [f64],
}

impl Flat<'_> {
    /// Adds the path lengths of `LANES` rows to `acc`. `cols` holds the rows transposed,
    /// feature `f` of row `k` at `f * LANES + k`, with every column the trees were fitted on,
    /// and `LANES` is the `lanes` the layout was built for: each lane then finds its value at
    /// a fixed offset from one base, and eight walks fit in the CPU's registers together.
    #[inline(always)]
    pub fn add_paths<const LANES: usize>(&self, cols: &[f64], acc: &mut [f64]) {
        let inner = self.thresholds.len();
        let mut idx = [0usize; LANES];
        for _ in 0..self.height {
            for (k, slot) in idx.iter_mut().enumerate() {
                let i = *slot;
                // SAFETY: before each of the `height` steps `i` is a slot of the first `height`
                // levels, i.e. below `inner`; offsets come from the fitted trees and `cols` has
                // all fitted columns (see the doc). Bounds checks here cost a measured third
                // of scoring time.
                let (t, f) = unsafe { (*self.thresholds.get_unchecked(i), *self.offsets.get_unchecked(i) as usize) };
                let v = unsafe { *cols.get_unchecked(f + k) };
                // NaN thresholds (pass-through above copied leaves) go right; either side holds
                // the same leaf.
                *slot = 2 * i + 2 - usize::from(v < t);
            }
        }
        for (a, i) in acc.iter_mut().zip(idx) {
            *a += self.leaves[i - inner];
        }
    }
}
