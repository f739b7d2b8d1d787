//! Isolation Forest benchmark: fit and score 1,000,000 rows × the feature count with 100 trees
//! and ψ = 256, timed separately; and, when Python with scikit-learn is installed, the same on
//! the same matrix with `sklearn.ensemble.IsolationForest`.
//!
//! `cargo bench --bench model`; `TRAILTOP_BENCH_ROWS` sets the row count,
//! `TRAILTOP_BENCH_NO_SKLEARN` skips the comparison.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use ndarray::Array2;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use trailtop::features::N_FEATURES;
use trailtop::model::IsolationForestParams;

const SKLEARN: &str = r#"
import sys, time, numpy as np
from sklearn.ensemble import IsolationForest
x = np.fromfile(sys.argv[1], dtype=np.float64).reshape(-1, int(sys.argv[2]))
t = time.perf_counter(); m = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(x); f = time.perf_counter() - t
ps = []
for _ in range(3):
    t = time.perf_counter(); s = -m.score_samples(x); ps.append(time.perf_counter() - t)
print(f"{f:.3f} {sorted(ps)[1]:.3f}")
"#;

fn main() {
    let rows: usize = std::env::var("TRAILTOP_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let mut rng = SmallRng::seed_from_u64(1);
    // Skewed columns, like log-scaled counts and ratios.
    let x = Array2::from_shape_fn((rows, N_FEATURES), |(_, j)| {
        let u: f64 = rng.r#gen();
        if j % 3 == 0 { (u * 8.0).exp().ln_1p() } else { u.powi(3) }
    });
    let t = Instant::now();
    let model = IsolationForestParams::default().seed(1).fit(&DatasetBase::from(x.view())).expect("fit");
    let fit_s = t.elapsed().as_secs_f64();
    // The machine is noisy: score three times and keep the median.
    let mut times = Vec::new();
    let mut scores = ndarray::Array1::zeros(0);
    for _ in 0..3 {
        let t = Instant::now();
        scores = model.predict(&x);
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let score_s = times[1];
    println!("isolation forest benchmark: {rows} rows x {N_FEATURES} features, 100 trees, psi 256");
    println!("  trailtop fit   {fit_s:>8.3} s");
    println!(
        "  trailtop score {score_s:>8.3} s  (median of 3; min {:.3} s, max {:.3} s; {:.0} rows/s, mean score {:.4})",
        times[0],
        times[2],
        rows as f64 / score_s,
        scores.mean().unwrap_or(0.0)
    );

    if std::env::var_os("TRAILTOP_BENCH_NO_SKLEARN").is_some() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("x.f64");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&data).expect("matrix file"));
    for v in x.iter() {
        f.write_all(&v.to_le_bytes()).expect("write matrix");
    }
    f.flush().expect("write matrix");
    drop(f);
    let script = dir.path().join("sk.py");
    std::fs::write(&script, SKLEARN).expect("script");
    match Command::new("python3").arg(&script).arg(&data).arg(N_FEATURES.to_string()).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let mut it = text.split_whitespace().filter_map(|v| v.parse::<f64>().ok());
            if let (Some(sf), Some(ss)) = (it.next(), it.next()) {
                println!("  sklearn fit    {sf:>8.3} s");
                println!("  sklearn score  {ss:>8.3} s  (median of 3)");
                println!("  score speed-up {:>8.1}x   fit speed-up {:.1}x", ss / score_s, sf / fit_s);
            }
        }
        _ => println!("  scikit-learn not available (pip install scikit-learn) — comparison skipped"),
    }
}
