//! Stage 4: feature rows to ranked, explained anomalies.
//!
//! Rank formula: `rank_score = score + min(0.5, Σ weight(rule) + signatures)` over the rules the
//! window hit (weights in `features::rules::RULES`, 0.10–0.30) and its strongest Sigma hit
//! (`sigma::Level::weight`: medium 0.15, high 0.25, critical 0.35). The Isolation Forest score alone orders
//! windows without rule hits; a rule hit lifts a window by about as much as the difference
//! between an ordinary (≈0.45) and a clearly isolated (≈0.70) score, so a single certain event
//! (a trail stopped) is not buried under merely unusual volume. Flagged: the top
//! `contamination` fraction by rank score (default 1%), or every window whose rank score
//! reaches `--threshold`, or an alert budget's cut; and every window where a rule at the
//! `always_flag` severity fires, whatever the cut. Rules the principal hits habitually, or that
//! an analyst marked as expected for the entity, are shown but do not lift the rank.

pub mod drift;
pub mod explain;
pub mod feedback;
pub mod iforest;
pub mod persist;
pub mod scale;

use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use rayon::prelude::*;

use crate::features::FeatureRow;
use crate::features::rules::{RULES, rule_ids};
pub use explain::Reason;
pub use iforest::{IsolationForest, IsolationForestParams};

/// Where the flagged set is cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// Flag this fraction of windows, highest rank first.
    Contamination(f64),
    /// Flag windows whose rank score is at least this.
    Score(f64),
    /// An alert budget: cut where the windows no rule or signature lifted (the model's own
    /// alerts) come to about this many a day over the history; windows a rule lifted past the
    /// cut are flagged on top, not counted against it.
    Budget(f64),
}

impl Threshold {
    /// In words: "top 1.00%", "rank score ≥ 0.80", "≈5/day model alerts".
    pub fn describe(self) -> String {
        match self {
            Threshold::Contamination(f) => format!("top {:.2}%", f * 100.0),
            Threshold::Score(t) => format!("rank score ≥ {t:.2}"),
            Threshold::Budget(n) => format!("≈{} model alerts/day", crate::text::trim_float(n)),
        }
    }
}

/// The cut-off for an alert budget of `per_day` (see [`Threshold::Budget`]) over `rows`,
/// sorted by rank score.
fn budget_cutoff(rows: &[ScoredRow], per_day: f64) -> f64 {
    let (lo, hi) =
        rows.iter().fold((i64::MAX, i64::MIN), |(lo, hi), r| (lo.min(r.row.window_start), hi.max(r.row.window_end)));
    let days = ((hi - lo) as f64 / 86_400.0).max(1.0 / 24.0);
    let k = (per_day * days).round().max(1.0) as usize;
    // Not lifted: the rank score is the forest's score alone.
    let own: Vec<f64> = rows.iter().filter(|r| r.rank_score - r.score < 1e-9).map(|r| r.rank_score).collect();
    own.get(k - 1).or(own.last()).copied().unwrap_or(f64::INFINITY)
}

/// How to fit and cut.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// Trees in the forest.
    pub n_trees: usize,
    /// Rows each tree is grown on (ψ).
    pub sub_sample: usize,
    /// The forest's seed.
    pub seed: u64,
    /// Where the flagged set is cut.
    pub threshold: Threshold,
    /// Windows where a rule of this severity or above fires (and is neither habitual nor
    /// expected by a label) are flagged whatever the cut; `None` flags by the cut alone.
    pub always_flag: Option<crate::sigma::Level>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            n_trees: 100,
            sub_sample: 256,
            seed: 0x7e41_1709,
            threshold: Threshold::Contamination(0.01),
            always_flag: None,
        }
    }
}

/// The severity of what fired in the window, beyond habits and what `expected` names:
/// critical for a critical Sigma rule; high for a built-in rule of weight 0.25 or more or a high
/// Sigma rule; medium for any other built-in rule or a medium Sigma rule.
pub fn rule_severity(row: &FeatureRow, expected: u16) -> Option<crate::sigma::Level> {
    use crate::sigma::Level;
    let active = row.rules & !(row.habitual_rules | expected);
    if row.signature_weight >= Level::Critical.weight() {
        Some(Level::Critical)
    } else if high_rule(row, expected) {
        Some(Level::High)
    } else if active != 0 || row.signature_weight >= Level::Medium.weight() {
        Some(Level::Medium)
    } else {
        None
    }
}

/// An entity-window, scored, ranked and explained.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoredRow {
    /// Its features.
    pub row: FeatureRow,
    /// The forest's anomaly score, 0 to 1.
    pub score: f64,
    /// The score plus the weights of its non-habitual rules (what ranks and flags).
    pub rank_score: f64,
    /// 1 is the most anomalous.
    pub rank: usize,
    /// Whether it is in the flagged set.
    pub flagged: bool,
    /// The ids of the rules it hit.
    pub rules: Vec<&'static str>,
    /// Why it scored as it did, strongest first.
    pub reasons: Vec<Reason>,
    /// The analyst's verdict on this window, if any.
    pub verdict: Option<feedback::Verdict>,
    /// Rank in the previous generation, to show what moved after a retrain.
    pub prev_rank: Option<usize>,
    /// The Sigma rules that fired in the window, highest level first (set by the pipeline).
    pub signatures: Vec<crate::sigma::Signature>,
    /// A false positive in force covers it (its scope and expiry), and nothing high that the
    /// label did not expect fires in it: alerts leave it alone, as suppression rules do.
    pub suppressed: bool,
}

/// A ranking: the rows, the cut-off, the model and the population.
#[derive(Debug, Default)]
pub struct Scored {
    /// Ordered by rank.
    pub rows: Vec<ScoredRow>,
    /// The rank score at and above which rows are flagged.
    pub cutoff: f64,
    /// The fitted forest (saved by the console).
    pub model: Option<IsolationForest>,
    /// Every feature's values over the population, sorted (for percentiles in the console).
    pub population: Vec<Vec<f64>>,
}

/// The rank formula (see the module doc).
pub fn rank_score(score: f64, rules: u16, signatures: f64) -> f64 {
    let bonus: f64 = RULES.iter().enumerate().filter(|(i, _)| rules & (1 << i) != 0).map(|(_, (_, w))| w).sum();
    score + (bonus + signatures).min(0.5)
}

/// Whether a high-level built-in rule (weight of 0.25 or more) that is neither habitual nor
/// expected by a label, or a high or critical Sigma rule, fired in the window.
fn high_alarm(row: &FeatureRow, fb: &feedback::Feedback) -> bool {
    high_rule(row, fb.expected_rules(row))
}

/// Whether a high-level built-in rule (weight of 0.25 or more) that is neither habitual nor
/// among the `expected` bits, or a non-habitual high or critical Sigma rule, fired in the
/// window: what flags a window whatever a label says, and alerts at once.
pub fn high_rule(row: &FeatureRow, expected: u16) -> bool {
    let active = row.rules & !(row.habitual_rules | expected);
    let rule = RULES.iter().enumerate().any(|(i, (_, w))| active & (1 << i) != 0 && *w >= 0.25);
    rule || row.signature_weight >= crate::sigma::Level::High.weight()
}

/// Fits a forest on `rows` (the history the sources hold) and scores, explains and ranks them.
pub fn score_rows(rows: Vec<FeatureRow>, cfg: &ModelConfig) -> Result<Scored, iforest::IsolationError> {
    score_rows_with(rows, cfg, &feedback::Feedback::default())
}

/// Like [`score_rows`], with analyst labels: windows covered by a false positive join the
/// training set [`feedback::REPLICAS`] times over, so the forest learns them as normal; a
/// window confirmed as a true positive stays flagged whatever it scores.
pub fn score_rows_with(
    rows: Vec<FeatureRow>,
    cfg: &ModelConfig,
    fb: &feedback::Feedback,
) -> Result<Scored, iforest::IsolationError> {
    score_rows_using(rows, cfg, fb, None)
}

/// Like [`score_rows_with`], scoring with `forest` when one is given (a restored model, fitted
/// on these rows and labels) instead of fitting anew.
pub fn score_rows_using(
    rows: Vec<FeatureRow>,
    cfg: &ModelConfig,
    fb: &feedback::Feedback,
    forest: Option<IsolationForest>,
) -> Result<Scored, iforest::IsolationError> {
    if rows.is_empty() {
        return Ok(Scored::default());
    }
    let x = scale::matrix(&rows);
    let extra = fb.normal_rows(&rows);
    // Without labels the forest trains on `x` itself; only feedback needs a larger matrix.
    let with_feedback = (!extra.is_empty()).then(|| {
        let mut t = x.clone();
        for f in extra {
            let scaled: Vec<f64> = f.iter().enumerate().map(|(i, v)| scale::transform(i, *v)).collect();
            t.push_row(ndarray::ArrayView1::from(&scaled)).expect("same width");
        }
        t
    });
    let train = with_feedback.as_ref().map_or_else(|| x.view(), |t| t.view());
    let mut model = match forest {
        Some(f) => f,
        None => IsolationForestParams::default()
            .n_trees(cfg.n_trees)
            .sub_sample(cfg.sub_sample)
            .seed(cfg.seed)
            .fit(&DatasetBase::from(train))?,
    };
    for (r, row) in rows.iter().enumerate() {
        if fb.verdict_for(row) == Some(feedback::Verdict::FalsePositive) {
            model.mark_nominal(x.row(r));
        }
    }
    let scores = model.predict(&x);
    let ctx = explain::Context::new(&rows);
    let explained: Vec<Vec<Reason>> = (0..rows.len())
        .into_par_iter()
        .map(|r| explain::reasons(&ctx, &rows[r], &model.contributions(x.row(r))))
        .collect();
    let mut out: Vec<ScoredRow> = rows
        .into_iter()
        .zip(scores)
        .zip(explained)
        .map(|((row, score), reasons)| {
            let verdict = fb.verdict_for(&row);
            let suppressed = fb.covers_as_normal(&row) && !high_alarm(&row, fb);
            // A confirmed attack is pinned above everything unconfirmed.
            let pin = if verdict == Some(feedback::Verdict::TruePositive) { 1.0 } else { 0.0 };
            ScoredRow {
                rank_score: rank_score(
                    score,
                    row.rules & !(row.habitual_rules | fb.expected_rules(&row)),
                    row.signature_weight,
                ) + pin,
                rules: rule_ids(row.rules),
                row,
                score,
                rank: 0,
                flagged: false,
                reasons,
                verdict,
                prev_rank: None,
                signatures: Vec::new(),
                suppressed,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.rank_score
            .total_cmp(&a.rank_score)
            .then(b.row.window_start.cmp(&a.row.window_start))
            .then_with(|| a.row.entity.cmp(&b.row.entity))
    });
    // A contamination flags exactly its share, in rank order: windows tied with the last one
    // flagged are not flagged with it (a small file of equal windows was flagged whole).
    let (cutoff, top) = match cfg.threshold {
        Threshold::Contamination(f) => {
            let k = ((out.len() as f64 * f).ceil() as usize).clamp(1, out.len());
            (out[k - 1].rank_score, k)
        }
        Threshold::Score(t) => (t, usize::MAX),
        Threshold::Budget(n) => (budget_cutoff(&out, n), usize::MAX),
    };
    for (i, r) in out.iter_mut().enumerate() {
        r.rank = i + 1;
        // A window the analyst called a false positive leaves the flagged set, unless something
        // high fires in it that the label did not expect.
        let dismissed = r.verdict == Some(feedback::Verdict::FalsePositive) && !high_alarm(&r.row, fb);
        // A rule at the level the user set flags its window however small the cut (on 40
        // windows a 1% cut is one window, and left a trail stopped below it).
        let by_rule = cfg.always_flag.is_some_and(|l| rule_severity(&r.row, fb.expected_rules(&r.row)) >= Some(l));
        r.flagged = ((r.rank <= top && r.rank_score >= cutoff) || by_rule) && !dismissed
            || r.verdict == Some(feedback::Verdict::TruePositive);
    }
    Ok(Scored { rows: out, cutoff, model: Some(model), population: ctx.into_sorted() })
}

#[cfg(test)]
mod tests;
