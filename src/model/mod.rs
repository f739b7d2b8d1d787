//! Stage 4: feature rows to ranked, explained anomalies.
//!
//! Rank formula: `rank_score = score + min(0.5, Σ weight(rule) + signatures)` over the rules the
//! window hit (weights in `features::rules::RULES`, 0.10–0.30) and its strongest Sigma hit
//! (`sigma::Level::weight`: medium 0.15, high 0.25, critical 0.35). The Isolation Forest score alone orders
//! windows without rule hits; a rule hit lifts a window by about as much as the difference
//! between an ordinary (≈0.45) and a clearly isolated (≈0.70) score, so a single certain event
//! (a trail stopped) is not buried under merely unusual volume. Flagged: the top
//! `contamination` fraction by rank score (default 1%), or every window whose rank score
//! reaches `--threshold`. Rules the principal hits habitually, or that an analyst marked as
//! expected for the entity, are shown but do not lift the rank.

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
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self { n_trees: 100, sub_sample: 256, seed: 0x7e41_1709, threshold: Threshold::Contamination(0.01) }
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
        r.flagged = (r.rank <= top && r.rank_score >= cutoff && !dismissed)
            || r.verdict == Some(feedback::Verdict::TruePositive);
    }
    Ok(Scored { rows: out, cutoff, model: Some(model), population: ctx.into_sorted() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::N_FEATURES;

    /// "6 of 6 entity-windows flagged (top 1.00%)": every window tied with the cut-off was
    /// flagged. A contamination flags its share and no more.
    #[test]
    fn a_contamination_flags_its_share_even_among_ties() {
        let rows: Vec<FeatureRow> = (0..6)
            .map(|i| FeatureRow {
                entity: format!("e{i}"),
                window_start: 1_709_251_200,
                features: [1.0; N_FEATURES],
                ..Default::default()
            })
            .collect();
        let scored = score_rows(rows.clone(), &ModelConfig::default()).unwrap();
        assert_eq!(scored.rows.iter().filter(|r| r.flagged).count(), 1);
        assert!(scored.rows[0].flagged, "the first in rank order");
        let half = ModelConfig { threshold: Threshold::Contamination(0.5), ..Default::default() };
        let scored = score_rows(rows.clone(), &half).unwrap();
        assert_eq!(scored.rows.iter().map(|r| r.flagged).collect::<Vec<_>>(), [true, true, true, false, false, false]);
        // A score threshold still flags every row at or above it.
        let all = ModelConfig { threshold: Threshold::Score(0.0), ..Default::default() };
        assert!(score_rows(rows, &all).unwrap().rows.iter().all(|r| r.flagged));
    }

    /// `--alert-budget 2/day` over four days flags the eight best windows no rule lifted, and a
    /// window a rule lifted past the cut on top of them.
    #[test]
    fn an_alert_budget_flags_about_n_model_windows_a_day_and_rules_on_top() {
        let day = 86_400;
        let rows: Vec<FeatureRow> = (0..96)
            .map(|i| {
                let mut f = [0.0; N_FEATURES];
                // A spread of behaviour, so that scores differ.
                f[0] = (i * i % 97) as f64;
                f[1] = (i % 7) as f64;
                FeatureRow {
                    entity: format!("e{i}"),
                    window_start: 1_709_251_200 + i64::from(i) * day / 24,
                    window_end: 1_709_251_200 + i64::from(i + 1) * day / 24,
                    features: f,
                    rules: if i == 5 { crate::features::rules::LOGGING_TAMPERING } else { 0 },
                    ..Default::default()
                }
            })
            .collect();
        let cfg = ModelConfig { threshold: Threshold::Budget(2.0), ..Default::default() };
        let scored = score_rows(rows, &cfg).unwrap();
        let own = scored.rows.iter().filter(|r| r.flagged && r.rank_score == r.score).count();
        assert_eq!(own, 8, "2 a day over 4 days");
        let lifted = scored.rows.iter().find(|r| r.row.entity == "e5").unwrap();
        assert!(lifted.flagged && lifted.rank_score > lifted.score, "the rule's window comes on top");
        assert_eq!(scored.rows.iter().filter(|r| r.flagged).count(), 9);
        assert_eq!(Threshold::Budget(2.0).describe(), "≈2 model alerts/day");
    }

    /// A window marked false positive stayed flagged whenever it still ranked above the cut.
    #[test]
    fn a_false_positive_leaves_the_flagged_set_unless_a_high_rule_fires() {
        use feedback::{Feedback, Label, Scope, Verdict};
        let rows = |weight: f64| -> Vec<FeatureRow> {
            (0..12)
                .map(|i| FeatureRow {
                    entity: format!("e{i}"),
                    window_start: 1_709_251_200,
                    features: [if i == 0 { 40.0 } else { 1.0 + f64::from(i) * 0.01 }; N_FEATURES],
                    signature_weight: if i == 0 { weight } else { 0.0 },
                    ..Default::default()
                })
                .collect()
        };
        let all = ModelConfig { threshold: Threshold::Score(0.0), ..Default::default() };
        let first = score_rows(rows(0.0), &all).unwrap();
        let odd = first.rows.iter().find(|r| r.row.entity == "e0").unwrap();
        let fb = Feedback::from_lines(vec![Label::new(odd, Verdict::FalsePositive, Scope::Entity, 1, 100)], 100);
        let flagged = |weight: f64| {
            let scored = score_rows_with(rows(weight), &all, &fb).unwrap();
            let e0 = scored.rows.iter().find(|r| r.row.entity == "e0").unwrap();
            assert_eq!(e0.verdict, Some(Verdict::FalsePositive));
            (e0.flagged, scored.rows.iter().filter(|r| r.row.entity != "e0").all(|r| r.flagged))
        };
        assert_eq!(flagged(0.0), (false, true), "dismissed; the others stay");
        assert_eq!(flagged(crate::sigma::Level::Medium.weight()), (false, true), "a medium hit does not hold it");
        assert_eq!(flagged(crate::sigma::Level::High.weight()), (true, true), "a high hit holds it");
    }

    /// Alerts leave alone what a false positive covers, by its scope and while it is in force,
    /// as suppression rules do; a high hit the label did not expect still alerts.
    #[test]
    fn windows_a_false_positive_covers_are_suppressed_by_scope_and_expiry() {
        use feedback::{Feedback, Label, Scope, Verdict};
        let row = |entity: &str, principal: &str, start: i64, weight: f64| FeatureRow {
            entity: entity.into(),
            principal: principal.into(),
            window_start: start,
            window_end: start + 3600,
            features: [1.0; N_FEATURES],
            signature_weight: weight,
            ..Default::default()
        };
        let rows = |weight| {
            vec![
                row("alice|1.1.1.1", "alice", 0, 0.0),
                row("alice|2.2.2.2", "alice", 3600, weight),
                row("bob|1.1.1.1", "bob", 0, 0.0),
            ]
        };
        let cfg = ModelConfig::default();
        let first = score_rows(rows(0.0), &cfg).unwrap();
        let alice = first.rows.iter().find(|r| r.row.entity == "alice|1.1.1.1").unwrap();
        let label = |scope, expires: Option<i64>| {
            let mut l = Label::new(alice, Verdict::FalsePositive, scope, 1, 100);
            l.expires_at = expires;
            Feedback::from_lines(vec![l], 200)
        };
        let suppressed = |fb: &Feedback, weight| -> Vec<(String, bool)> {
            let mut v: Vec<(String, bool)> = score_rows_with(rows(weight), &cfg, fb)
                .unwrap()
                .rows
                .into_iter()
                .map(|r| (r.row.entity.clone(), r.suppressed))
                .collect();
            v.sort();
            v
        };
        let s = |a, b, c| vec![("alice|1.1.1.1".into(), a), ("alice|2.2.2.2".into(), b), ("bob|1.1.1.1".into(), c)];
        assert_eq!(suppressed(&label(Scope::Entity, None), 0.0), s(true, false, false), "this entity only");
        assert_eq!(suppressed(&label(Scope::Principal, None), 0.0), s(true, true, false), "the principal everywhere");
        assert_eq!(suppressed(&label(Scope::Principal, Some(150)), 0.0), s(false, false, false), "expired");
        let high = crate::sigma::Level::High.weight();
        assert_eq!(suppressed(&label(Scope::Principal, None), high), s(true, false, false), "a high hit alerts");
    }
}
