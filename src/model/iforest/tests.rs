use super::*;
use linfa::traits::Predict;
use ndarray::{Array2, array};
use rand_distr_free::normal;

/// Box–Muller, so the tests need no extra crate.
mod rand_distr_free {
    use rand::Rng;
    pub fn normal(rng: &mut impl Rng) -> f64 {
        let (u, v): (f64, f64) = (rng.r#gen::<f64>().max(1e-12), rng.r#gen());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn cloud(n: usize, seed: u64) -> Array2<f64> {
    let mut rng = SmallRng::seed_from_u64(seed);
    Array2::from_shape_fn((n, 2), |_| normal(&mut rng))
}

fn fit(x: &Array2<f64>, seed: u64) -> IsolationForest {
    IsolationForestParams::default().seed(seed).fit(&DatasetBase::from(x.clone())).unwrap()
}

#[test]
fn c_matches_the_paper() {
    assert_eq!(c(1), 0.0);
    assert_eq!(c(2), 1.0);
    assert!((c(256) - 10.2448).abs() < 1e-3, "{}", c(256));
}

#[test]
fn outlier_scores_high_inliers_low() {
    let x = cloud(2000, 1);
    let m = fit(&x, 7);
    let probe = array![[0.0, 0.0], [0.5, -0.5], [6.0, 6.0], [-8.0, 0.0]];
    let s = m.predict(&probe);
    assert!(s[0] < 0.5 && s[1] < 0.5, "{s}");
    assert!(s[2] > 0.6 && s[3] > 0.6, "{s}");
    let mean = m.predict(&x).mean().unwrap();
    assert!((0.4..0.5).contains(&mean), "{mean}");
}

#[test]
fn same_seed_same_scores() {
    let x = cloud(500, 2);
    assert_eq!(fit(&x, 3).predict(&x), fit(&x, 3).predict(&x));
    assert_ne!(fit(&x, 3).predict(&x), fit(&x, 4).predict(&x));
}

#[test]
fn batch_scoring_matches_the_per_row_walk() {
    // 1,029 rows: several blocks, a short last lane group, and outliers whose leaves sit
    // above the bottom of the complete layout.
    let mut x = cloud(1029, 5);
    for r in 0..20 {
        x[[r * 50, r % 2]] = 40.0 + r as f64;
    }
    let m = fit(&x, 6);
    let batch = m.predict(&x);
    for (r, s) in batch.iter().enumerate() {
        assert_eq!(*s, m.score(x.row(r)), "row {r}");
    }
    // A forest of leaves only (one row) still scores.
    let one = array![[1.0, 2.0]];
    assert_eq!(fit(&one, 1).predict(&one)[0], fit(&one, 1).score(one.row(0)));
}

#[test]
fn score_is_monotone_in_isolation_depth() {
    let mut prev = f64::INFINITY;
    for h in [0.0, 1.0, 2.5, 5.0, 8.0, 12.0] {
        let s = score_from_path(h, 256);
        assert!(s < prev && s > 0.0 && s <= 1.0);
        prev = s;
    }
    assert_eq!(score_from_path(0.0, 256), 1.0);
    assert!((score_from_path(c(256), 256) - 0.5).abs() < 1e-12);
}

#[test]
fn degenerate_inputs_do_not_crash() {
    let same = Array2::from_elem((50, 3), 1.0);
    let m = fit(&same, 1);
    assert!(m.predict(&same).iter().all(|s| s.is_finite()));
    let one = array![[1.0, 2.0]];
    let m = fit(&one, 1);
    assert!(m.predict(&one)[0].is_finite());
    let mut x = cloud(300, 5);
    x.column_mut(1).fill(4.0);
    let m = fit(&x, 1);
    let contrib = m.contributions(array![9.0, 4.0].view());
    assert!(contrib[1] == 0.0 && (contrib[0] - 1.0).abs() < 1e-9, "{contrib:?}");
    let empty = Array2::<f64>::zeros((0, 2));
    assert!(IsolationForestParams::default().fit(&DatasetBase::from(empty)).is_err());
    assert!(IsolationForestParams::default().n_trees(0).fit(&DatasetBase::from(cloud(10, 1))).is_err());
}

#[test]
fn contributions_name_the_feature_that_isolates() {
    let x = cloud(1000, 9);
    let m = fit(&x, 2);
    let c = m.contributions(array![0.0, 9.0].view());
    assert!(c[1] > 0.7, "{c:?}");
}
