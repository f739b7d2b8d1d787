//! Drift: how far the last day's windows have moved from those the forest was fitted on.
//! Each modelled feature is binned at the training windows' deciles; the population
//! stability index (PSI, Σ (a − e)·ln(a / e) over the bins) compares the recent windows' share
//! per bin (a) with the training share (e). The forest's scores get the same comparison.
//! Under 0.1 is the usual "no change", 0.1–0.25 "some", above 0.25 "significant": past
//! [`PSI_RETRAIN`] on any feature, the pipeline fits a new forest.

use crate::features::{FEATURE_NAMES, N_FEATURES};

/// The PSI past which a feature's drift retrains the model.
pub const PSI_RETRAIN: f64 = 0.25;
/// Recent windows needed before drift is judged (fewer give noise, not drift).
pub const MIN_RECENT: usize = 50;
const BINS: usize = 10;
/// Half a window added to every bin (additive smoothing): an empty bin then has a share and
/// ln never sees 0, and a rare value that merely did not occur today (the first windows'
/// novelty, 4% of the training) does not weigh as if it had become impossible.
const SMOOTH: f64 = 0.5;

/// One distribution: the bins' upper edges and the training share in each bin.
#[derive(Debug, Clone, Default, PartialEq)]
struct Binned {
    edges: Vec<f64>,
    shares: Vec<f64>,
}

impl Binned {
    fn new(values: &mut [f64]) -> Binned {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let mut edges: Vec<f64> = (1..BINS).filter_map(|i| values.get(i * n / BINS).copied()).collect();
        edges.dedup();
        let shares = shares(&edges, values.iter().copied());
        Binned { edges, shares }
    }

    fn psi(&self, values: impl Iterator<Item = f64>) -> f64 {
        shares(&self.edges, values).iter().zip(&self.shares).map(|(a, e)| (a - e) * (a / e).ln()).sum()
    }
}

/// The smoothed share of `values` in each bin. Bins are (−∞, e₀], (e₀, e₁], …, (eₙ, ∞): a
/// feature that was always 0 in training has the one edge 0, and any value above it lands in
/// a bin of its own.
fn shares(edges: &[f64], values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut counts = vec![0usize; edges.len() + 1];
    let mut n = 0usize;
    for v in values {
        counts[edges.partition_point(|e| *e < v)] += 1;
        n += 1;
    }
    let total = n as f64 + SMOOTH * counts.len() as f64;
    counts.iter().map(|c| (*c as f64 + SMOOTH) / total).collect()
}

/// The training windows' distributions, kept with the forest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reference {
    features: Vec<(usize, Binned)>,
    scores: Binned,
}

/// How far the recent windows moved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drift {
    /// Each modelled feature's PSI, largest first.
    pub features: Vec<(&'static str, f64)>,
    /// The forest scores' PSI.
    pub scores: f64,
    /// The recent windows it was judged on.
    pub windows: usize,
}

impl Drift {
    /// The feature that moved most, with its PSI.
    pub fn worst(&self) -> Option<(&'static str, f64)> {
        self.features.first().copied()
    }

    /// Whether it is past [`PSI_RETRAIN`] on enough windows to mean it.
    pub fn significant(&self) -> bool {
        self.windows >= MIN_RECENT && self.worst().is_some_and(|(_, p)| p > PSI_RETRAIN)
    }
}

impl Reference {
    /// From the training windows' features and their scores.
    pub fn new(rows: &[&[f64; N_FEATURES]], scores: &[f64]) -> Reference {
        let features = (0..N_FEATURES)
            .filter(|i| !super::scale::is_display_only(*i))
            .map(|i| (i, Binned::new(&mut rows.iter().map(|r| r[i]).collect::<Vec<_>>())))
            .collect();
        Reference { features, scores: Binned::new(&mut scores.to_vec()) }
    }

    /// The drift of `rows` (the recent windows) and their `scores` from the reference.
    pub fn drift(&self, rows: &[&[f64; N_FEATURES]], scores: &[f64]) -> Drift {
        if rows.is_empty() {
            return Drift::default();
        }
        let mut features: Vec<(&'static str, f64)> =
            self.features.iter().map(|(i, b)| (FEATURE_NAMES[*i], b.psi(rows.iter().map(|r| r[*i])))).collect();
        features.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        Drift { features, scores: self.scores.psi(scores.iter().copied()), windows: rows.len() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(f: impl Fn(usize) -> f64, n: usize) -> Vec<[f64; N_FEATURES]> {
        (0..n)
            .map(|k| {
                let mut r = [0.0; N_FEATURES];
                r[0] = f(k);
                r
            })
            .collect()
    }

    #[test]
    fn the_same_distribution_does_not_drift_and_a_shifted_one_does() {
        let train = rows(|k| (k % 100) as f64, 1000);
        let refs: Vec<&[f64; N_FEATURES]> = train.iter().collect();
        let reference = Reference::new(&refs, &vec![0.5; 1000]);
        let same = rows(|k| ((k * 7) % 100) as f64, 200);
        let d = reference.drift(&same.iter().collect::<Vec<_>>(), &vec![0.5; 200]);
        assert!(d.worst().unwrap().1 < 0.02, "{d:?}");
        assert!(!d.significant());
        // Every recent window ten times as busy.
        let busy = rows(|k| 1000.0 + k as f64, 200);
        let d = reference.drift(&busy.iter().collect::<Vec<_>>(), &vec![0.5; 200]);
        assert_eq!(d.worst().unwrap().0, FEATURE_NAMES[0]);
        assert!(d.worst().unwrap().1 > 1.0, "{d:?}");
        assert!(d.significant());
        // Too few windows to judge.
        let few = rows(|k| 1000.0 + k as f64, 10);
        assert!(!reference.drift(&few.iter().collect::<Vec<_>>(), &[0.5; 10]).significant());
    }

    /// A feature that was 0 in every training window put every later value in its one bin
    /// (a value equal to an edge went above it): a new behaviour drifted by nothing.
    #[test]
    fn a_feature_always_zero_in_training_drifts_when_it_is_not() {
        let train = rows(|_| 0.0, 500);
        let reference = Reference::new(&train.iter().collect::<Vec<_>>(), &vec![0.4; 500]);
        let some = rows(|k| if k % 5 == 0 { 1.0 } else { 0.0 }, 100);
        let d = reference.drift(&some.iter().collect::<Vec<_>>(), &vec![0.4; 100]);
        assert!(d.significant(), "{d:?}");
    }

    #[test]
    fn a_feature_that_is_mostly_zero_drifts_when_it_stops_being_zero() {
        let train = rows(|k| if k % 10 == 0 { 1.0 } else { 0.0 }, 1000);
        let reference = Reference::new(&train.iter().collect::<Vec<_>>(), &vec![0.4; 1000]);
        let quiet = rows(|k| if k % 10 == 0 { 1.0 } else { 0.0 }, 100);
        assert!(reference.drift(&quiet.iter().collect::<Vec<_>>(), &vec![0.4; 100]).worst().unwrap().1 < 0.05);
        let loud = rows(|k| if k % 2 == 0 { 1.0 } else { 0.0 }, 100);
        let d = reference.drift(&loud.iter().collect::<Vec<_>>(), &vec![0.4; 100]);
        assert!(d.significant(), "{d:?}");
        // The scores moved too.
        let d = reference.drift(&quiet.iter().collect::<Vec<_>>(), &vec![0.7; 100]);
        assert!(d.scores > 1.0, "{d:?}");
    }
}
