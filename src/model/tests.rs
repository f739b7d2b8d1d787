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

/// On 40 windows a 1% cut flags one, and left a window that stopped a trail below it. A rule
/// at the level the user sets flags its window whatever the cut.
#[test]
fn a_rule_at_the_set_severity_is_flagged_whatever_the_cut() {
    use crate::features::rules::{LOGGING_TAMPERING, OFFENSIVE_AGENT};
    let rows: Vec<FeatureRow> = (0..40)
        .map(|i| {
            let mut f = [1.0 + f64::from(i) * 0.01; N_FEATURES];
            // One window far out, so that it is the one the cut takes.
            if i == 0 {
                f = [50.0; N_FEATURES];
            }
            FeatureRow {
                entity: format!("e{i}"),
                window_start: 1_709_251_200,
                features: f,
                rules: match i {
                    7 => LOGGING_TAMPERING,
                    8 => OFFENSIVE_AGENT,
                    _ => 0,
                },
                ..Default::default()
            }
        })
        .collect();
    let flagged = |level| -> Vec<String> {
        let cfg = ModelConfig { always_flag: level, ..Default::default() };
        let mut v: Vec<String> = score_rows(rows.clone(), &cfg)
            .unwrap()
            .rows
            .into_iter()
            .filter(|r| r.flagged)
            .map(|r| r.row.entity)
            .collect();
        v.sort();
        v
    };
    use crate::sigma::Level;
    assert_eq!(flagged(None), ["e0"], "the cut alone: one window of 40");
    assert_eq!(flagged(Some(Level::High)), ["e0", "e7"], "the trail stopped, whatever the cut");
    assert_eq!(flagged(Some(Level::Medium)), ["e0", "e7", "e8"], "and the offensive agent at medium");
    assert_eq!(flagged(Some(Level::Critical)), ["e0"]);
    assert_eq!(rule_severity(&rows[7], 0), Some(Level::High));
    assert_eq!(rule_severity(&rows[7], LOGGING_TAMPERING), None, "expected by a label");
}
