//! The measured effect of analyst feedback, on generated data with fixed seeds: mark every
//! benign window among the top 50 a false positive, retrain, and compare; then apply the same
//! labels to a second seed whose windows were never labelled.

use std::collections::{BTreeMap, HashSet};

use trailtop::features::{FeatureConfig, FeatureStore, entity_text};
use trailtop::generate::{ALL_SCENARIOS, Generator};
use trailtop::model::feedback::{Feedback, Label, Scope, Verdict};
use trailtop::model::{ModelConfig, ScoredRow, score_rows_with};
use trailtop::parse::{ParseOptions, parse_bytes};

const START: i64 = 1_709_510_400;
const TOP: usize = 50;

/// Per positive (window start, entity): its scenarios.
type Positives = BTreeMap<(i64, String), HashSet<&'static str>>;

/// Rows plus the positive windows.
fn dataset(seed: u64) -> (Vec<trailtop::features::FeatureRow>, Positives) {
    let days = 7;
    // The ten scenarios before the data-volume ones, which the README's figures are about. A
    // slow exfiltration (25 windows an instance) fills the top 50 with attack windows by itself
    // and leaves feedback nothing to clear.
    let scenarios: Vec<_> =
        ALL_SCENARIOS.iter().copied().filter(|s| !matches!(s.id(), "slow-exfiltration" | "bulk-download")).collect();
    let mut g = Generator::for_total(seed, START, days, 60_000, &scenarios);
    // One more instance of every scenario.
    for rep in 1..2u64 {
        for (i, s) in scenarios.iter().enumerate() {
            let t = START + 86_400 + ((rep * 10 + i as u64) * 7919 % (5 * 86_400)) as i64;
            g.schedule(*s, t, rep * 100 + i as u64);
        }
    }
    let cfg = FeatureConfig::default();
    let mut store = FeatureStore::new(cfg);
    let mut positives = Positives::new();
    while g.clock() < START + i64::from(days) * 86_400 {
        for e in g.next_hour() {
            let json = serde_json::to_vec(&e.record).unwrap();
            let ev = parse_bytes(&json, &ParseOptions::default()).0.remove(0);
            store.add(&ev);
            if let Some(l) = &e.label {
                positives.entry((store.window_of(ev.time), entity_text(cfg.by, &ev))).or_default().insert(l.scenario);
            }
        }
    }
    (store.rows(), positives)
}

fn is_pos(r: &ScoredRow, p: &Positives) -> bool {
    p.contains_key(&(r.row.window_start, r.row.entity.clone()))
}

/// Precision in the top `k` rows.
fn precision_top(rows: &[ScoredRow], p: &Positives, k: usize) -> f64 {
    rows.iter().take(k).filter(|r| is_pos(r, p)).count() as f64 / k as f64
}

/// Best rank and flagged state per scenario.
fn scenarios(rows: &[ScoredRow], p: &Positives) -> BTreeMap<&'static str, (usize, bool)> {
    let mut out: BTreeMap<&'static str, (usize, bool)> = BTreeMap::new();
    for r in rows {
        for s in p.get(&(r.row.window_start, r.row.entity.clone())).into_iter().flatten() {
            let e = out.entry(s).or_insert((usize::MAX, false));
            e.0 = e.0.min(r.rank);
            e.1 |= r.flagged;
        }
    }
    out
}

#[test]
fn false_positive_feedback_raises_precision_and_generalises() {
    let cfg = ModelConfig { threshold: trailtop::model::Threshold::Contamination(0.02), ..Default::default() };
    let (rows, pos) = dataset(11);
    let before = score_rows_with(rows.clone(), &cfg, &Feedback::default()).unwrap();
    let labels: Vec<Label> = before
        .rows
        .iter()
        .take(TOP)
        .filter(|r| !is_pos(r, &pos))
        .map(|r| Label::new(r, Verdict::FalsePositive, Scope::Entity, 1, 0))
        .collect();
    let fb = Feedback::from_lines(labels, 0);
    let after = score_rows_with(rows, &cfg, &fb).unwrap();
    // The analyst reviewed the top 50: feedback should clear benign windows out of it. Its cap
    // is what the positives allow (every attack window in it); R-precision (precision in the
    // top |positives|) is printed for scale.
    let cap = pos.len().min(TOP) as f64 / TOP as f64;
    println!("seed 11: {} false-positive labels on the top {TOP}", fb.labels.len());
    let (p0, p1) = report("seed 11", &before.rows, &after.rows, &pos);
    let (s0, s1) = (scenarios(&before.rows, &pos), scenarios(&after.rows, &pos));
    for (s, (_, flagged)) in &s0 {
        if *flagged {
            assert!(s1[s].1, "{s} left the flagged set");
        }
    }
    assert!(p1 - p0 >= (cap - p0) / 2.0, "precision@50 {p0:.2} -> {p1:.2} closes less than half the gap to {cap:.2}");
    // The README's figures (0.74 -> 1.00), with a little room: the data is seeded, so only
    // a change to the model or the features moves them.
    assert!(p1 >= 0.90 && p1 - p0 >= 0.15, "precision@50 {p0:.2} -> {p1:.2}; the README says 0.74 -> 1.00");

    // Same labels, new data: the benign behaviour was learnt, not the windows.
    let (rows2, pos2) = dataset(12);
    let before2 = score_rows_with(rows2.clone(), &cfg, &Feedback::default()).unwrap();
    let after2 = score_rows_with(rows2, &cfg, &fb).unwrap();
    let (q0, q1) = report("seed 12 (never labelled)", &before2.rows, &after2.rows, &pos2);
    assert!(q1 > q0, "labels from another period should help: {q0:.2} -> {q1:.2}");
    assert!(q1 >= 0.94 && q1 - q0 >= 0.12, "never-labelled seed {q0:.2} -> {q1:.2}; the README says 0.82 -> 0.98");
}

/// Prints precision@50, R-precision and each scenario's best rank before and after the
/// labels; returns precision@50 before and after.
fn report(name: &str, before: &[ScoredRow], after: &[ScoredRow], pos: &Positives) -> (f64, f64) {
    let k = pos.len();
    let (p0, p1) = (precision_top(before, pos, TOP), precision_top(after, pos, TOP));
    println!("{name}: precision@50 {p0:.2} -> {p1:.2}");
    println!(
        "{name}: R-precision (top {k}) {:.2} -> {:.2}",
        precision_top(before, pos, k),
        precision_top(after, pos, k)
    );
    let s1 = scenarios(after, pos);
    for (s, (rank, flagged)) in &scenarios(before, pos) {
        let (r1, f1) = s1[s];
        println!("  {s:<24} best rank {rank:>4} -> {r1:>4}  flagged {flagged} -> {f1}");
    }
    (p0, p1)
}
