//! `trailtop eval`: detection quality against ground truth. An entity-window is positive when
//! it holds at least one event labelled malicious.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::model::ScoredRow;

/// Malicious event ids and their scenario, from `event_id,scenario,principal,source_ip,malicious`.
pub fn read_labels(path: &Path) -> anyhow::Result<FxHashMap<String, String>> {
    let mut rdr = csv::Reader::from_path(path).with_context(|| format!("cannot read labels {}", path.display()))?;
    let headers = rdr.headers()?.clone();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).with_context(|| format!("labels file has no '{name}' column"))
    };
    let (id, scenario, malicious) = (col("event_id")?, col("scenario")?, col("malicious")?);
    let mut out = FxHashMap::default();
    for (line, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: line {}", path.display(), line + 2))?;
        if matches!(rec.get(malicious), Some("true" | "1" | "yes")) {
            out.insert(rec[id].to_owned(), rec[scenario].to_owned());
        }
    }
    Ok(out)
}

/// How one scenario was found.
#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    /// The scenario's id.
    pub scenario: String,
    /// Windows holding its events.
    pub positive_windows: usize,
    /// Of those, windows flagged.
    pub flagged_windows: usize,
    /// The best rank of its windows.
    pub best_rank: usize,
    /// Whether any of its windows was flagged.
    pub detected: bool,
}

/// Detection quality against ground truth.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Entity-windows ranked.
    pub windows: usize,
    /// Windows holding attack events.
    pub positive_windows: usize,
    /// Windows flagged.
    pub flagged: usize,
    /// Area under the ROC curve of the rank score.
    pub roc_auc: f64,
    /// Area under the precision-recall curve.
    pub pr_auc: f64,
    /// Precision of the flagged set.
    pub precision_flagged: f64,
    /// Recall of the flagged set.
    pub recall_flagged: f64,
    /// Each scenario's result.
    pub scenarios: Vec<ScenarioResult>,
}

/// `positives` maps (window start, entity) to the scenarios of its malicious events.
pub fn evaluate(rows: &[ScoredRow], positives: &FxHashMap<(i64, String), FxHashSet<String>>) -> Report {
    let is_pos: Vec<bool> =
        rows.iter().map(|r| positives.contains_key(&(r.row.window_start, r.row.entity.clone()))).collect();
    let n_pos = is_pos.iter().filter(|p| **p).count();
    let n_neg = rows.len() - n_pos;
    // Rows come ordered by rank, so ROC-AUC is the share of (positive, negative) pairs in
    // which the positive is ranked first, and PR-AUC the average precision.
    let (mut negatives_below, mut correct_pairs, mut tp, mut ap) = (n_neg, 0f64, 0usize, 0f64);
    for (i, &p) in is_pos.iter().enumerate() {
        if p {
            correct_pairs += negatives_below as f64;
            tp += 1;
            ap += tp as f64 / (i + 1) as f64;
        } else {
            negatives_below -= 1;
        }
    }
    let flagged = rows.iter().filter(|r| r.flagged).count();
    let tp_flagged = rows.iter().zip(&is_pos).filter(|(r, p)| r.flagged && **p).count();
    let mut per: BTreeMap<String, ScenarioResult> = BTreeMap::new();
    for scenarios in positives.values() {
        for s in scenarios {
            per.entry(s.clone())
                .or_insert_with(|| ScenarioResult {
                    scenario: s.clone(),
                    positive_windows: 0,
                    flagged_windows: 0,
                    best_rank: usize::MAX,
                    detected: false,
                })
                .positive_windows += 1;
        }
    }
    for r in rows {
        if let Some(scenarios) = positives.get(&(r.row.window_start, r.row.entity.clone())) {
            for s in scenarios {
                let e = per.get_mut(s).expect("counted above");
                e.best_rank = e.best_rank.min(r.rank);
                if r.flagged {
                    e.flagged_windows += 1;
                    e.detected = true;
                }
            }
        }
    }
    Report {
        windows: rows.len(),
        positive_windows: n_pos,
        flagged,
        roc_auc: if n_pos == 0 || n_neg == 0 { f64::NAN } else { correct_pairs / (n_pos * n_neg) as f64 },
        pr_auc: if n_pos == 0 { f64::NAN } else { ap / n_pos as f64 },
        precision_flagged: if flagged == 0 { 0.0 } else { tp_flagged as f64 / flagged as f64 },
        recall_flagged: if n_pos == 0 { 0.0 } else { tp_flagged as f64 / n_pos as f64 },
        scenarios: per.into_values().collect(),
    }
}

/// The report as a table.
pub fn write_table(out: &mut dyn std::io::Write, r: &Report) -> std::io::Result<()> {
    writeln!(out, "windows {}  positive {}  flagged {}", r.windows, r.positive_windows, r.flagged)?;
    writeln!(
        out,
        "ROC-AUC {:.4}  PR-AUC {:.4}  precision@flagged {:.3}  recall@flagged {:.3}",
        r.roc_auc, r.pr_auc, r.precision_flagged, r.recall_flagged
    )?;
    writeln!(out, "{:<24} {:>8} {:>8} {:>9} DETECTED", "SCENARIO", "WINDOWS", "FLAGGED", "BEST RANK")?;
    for s in &r.scenarios {
        let detected = if s.detected { "yes" } else { "NO" };
        writeln!(
            out,
            "{:<24} {:>8} {:>8} {:>9} {detected}",
            s.scenario, s.positive_windows, s.flagged_windows, s.best_rank
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FeatureRow;

    fn row(rank: usize, entity: &str, flagged: bool) -> ScoredRow {
        ScoredRow {
            row: FeatureRow { entity: entity.into(), window_end: 3600, events: 1, ..Default::default() },
            score: 0.5,
            rank_score: 1.0 / rank as f64,
            rank,
            flagged,
            ..Default::default()
        }
    }

    #[test]
    fn metrics_on_a_known_ranking() {
        // Ranked: P N P N N; flagged: the top two.
        let rows: Vec<ScoredRow> =
            ["p1", "n1", "p2", "n2", "n3"].iter().enumerate().map(|(i, e)| row(i + 1, e, i < 2)).collect();
        let mut pos = FxHashMap::default();
        pos.insert((0, "p1".to_owned()), FxHashSet::from_iter(["a".to_owned()]));
        pos.insert((0, "p2".to_owned()), FxHashSet::from_iter(["b".to_owned()]));
        let r = evaluate(&rows, &pos);
        // Pairs: p1 beats 3 negatives, p2 beats 2: 5 of 6.
        assert!((r.roc_auc - 5.0 / 6.0).abs() < 1e-12);
        assert!((r.pr_auc - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!((r.precision_flagged, r.recall_flagged), (0.5, 0.5));
        assert!(r.scenarios[0].detected && !r.scenarios[1].detected);
        assert_eq!(r.scenarios[1].best_rank, 3);
    }
}
