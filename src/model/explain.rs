//! Why a row scored high: the forest's per-feature path contributions, set against where the
//! value sits in the population and in the entity's own history, worded in GuardDuty's
//! vocabulary where it fits (UNSEEN / RARE / INFREQUENT). A value that is not unusual is not
//! a reason, however much isolation it did.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::features::{FEATURE_NAMES, FeatureRow, N_FEATURES};

/// Why a window scored high: one feature's part in it, in the analyst's words.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reason {
    /// The feature's name.
    pub feature: &'static str,
    /// Its value in the window.
    pub value: f64,
    /// Share of the isolation this feature did, 0..1.
    pub contribution: f64,
    /// Fraction of the population at or below this value.
    pub percentile: f64,
    /// The population's 99th percentile of it.
    pub population_p99: f64,
    /// Mean of the entity's other windows, when it has any.
    pub entity_usual: Option<f64>,
    /// UNSEEN, RARE or INFREQUENT, as GuardDuty says it (a FREQUENT value is no reason).
    pub label: &'static str,
    /// The sentence shown.
    pub text: String,
}

/// Population and per-entity statistics of one feature table.
pub struct Context {
    sorted: Vec<Vec<f64>>,
    entity_sums: FxHashMap<String, ([f64; N_FEATURES], u32)>,
}

impl Context {
    /// The population of `rows`, sorted per feature.
    pub fn new(rows: &[FeatureRow]) -> Self {
        let sorted = (0..N_FEATURES)
            .map(|i| {
                let mut col: Vec<f64> = rows.iter().map(|r| r.features[i]).filter(|v| v.is_finite()).collect();
                col.sort_by(f64::total_cmp);
                col
            })
            .collect();
        let mut entity_sums: FxHashMap<String, ([f64; N_FEATURES], u32)> = FxHashMap::default();
        for r in rows {
            let e = entity_sums.entry(r.entity.clone()).or_insert(([0.0; N_FEATURES], 0));
            for i in 0..N_FEATURES {
                e.0[i] += r.features[i];
            }
            e.1 += 1;
        }
        Self { sorted, entity_sums }
    }

    /// The share of the population at or below `v` for feature `i`.
    pub fn percentile(&self, i: usize, v: f64) -> f64 {
        percentile_in(&self.sorted[i], v)
    }

    /// The sorted columns, for whoever needs percentiles later.
    pub fn into_sorted(self) -> Vec<Vec<f64>> {
        self.sorted
    }

    /// Feature `i`'s `q`-quantile over the population.
    pub fn quantile(&self, i: usize, q: f64) -> f64 {
        let col = &self.sorted[i];
        if col.is_empty() {
            return 0.0;
        }
        col[((col.len() - 1) as f64 * q).round() as usize]
    }

    fn entity_usual(&self, row: &FeatureRow, i: usize) -> Option<f64> {
        let (sums, n) = self.entity_sums.get(&row.entity)?;
        (*n > 1).then(|| (sums[i] - row.features[i]) / f64::from(n - 1))
    }
}

/// The mid-rank percentile of `v` in a sorted column: the fraction below it plus half the
/// fraction equal to it (0.5 for an empty column). Ties share the middle, so a value that
/// half the population has is p50 and a value everyone has is not "p100, extreme".
pub fn percentile_in(sorted: &[f64], v: f64) -> f64 {
    if sorted.is_empty() {
        return 0.5;
    }
    let below = sorted.partition_point(|x| *x < v);
    let at_or_below = sorted.partition_point(|x| *x <= v);
    (below + at_or_below) as f64 / 2.0 / sorted.len() as f64
}

/// Features where the unusual side is "low", not "high".
fn low_is_unusual(name: &str) -> bool {
    name == "hour_share"
}

fn is_novelty(name: &str) -> bool {
    name.starts_with("new_") || name.ends_with("_novelty")
}

/// A plain-words gloss for features whose names need one.
fn gloss(name: &str) -> &'static str {
    match name {
        "ip_recency" => " (address adopted recently by a principal that rarely adopts new ones)",
        "hour_share" => " (share of the principal's activity at these hours)",
        "travel_kmh" => " (fastest move between the principal's located events)",
        "aws_ip_share" => " (share of calls from AWS's own addresses)",
        "bucket_novelty" => " (S3 buckets this principal never named before)",
        "data_share_excess" => {
            " (rise in the share of data-plane calls over the principal's highest a day or more before)"
        }
        _ => "",
    }
}

/// What a window moved, set against the principal's past: "22.0 GB out of S3, at least 220×
/// its most in one window a day or more before (bytes_excess 7.78)". "At least": the excess is
/// measured over the baseline or a floor, whichever is larger.
fn volume_words(row: &FeatureRow, name: &str, v: f64) -> String {
    let what = if name == "bytes_excess" {
        format!("{} out of S3", crate::features::describe_bytes(row.get("bytes_out")))
    } else {
        format!("{} object reads", crate::text::group(row.get("object_reads") as u64))
    };
    let times = crate::text::group(v.exp2().floor() as u64);
    format!("{what}, at least {times}× its most in one window a day or more before ({name} {})", fmt(v))
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The reasons for one row, strongest first: features that did at least a tenth of the
/// isolation and whose value is unusual, in the population and for the entity.
pub fn reasons(ctx: &Context, row: &FeatureRow, contributions: &[f64]) -> Vec<Reason> {
    let mut out: Vec<Reason> = (0..N_FEATURES)
        .filter(|&i| contributions[i] >= 0.1)
        .filter_map(|i| {
            let name = FEATURE_NAMES[i];
            let v = row.features[i];
            let pct = ctx.percentile(i, v);
            // A reason is a value that is unusual: in the population's outer 5% (a first-time
            // novelty in its outer 10%), and not what the entity itself usually does.
            let novel = is_novelty(name) && v > 0.0;
            let edge = if novel { 0.9 } else { 0.95 };
            let unusual =
                if low_is_unusual(name) { pct <= 1.0 - edge } else { pct >= edge && v > ctx.quantile(i, 0.5) };
            let usual = ctx.entity_usual(row, i);
            let its_habit = !novel && usual.is_some_and(|u| if low_is_unusual(name) { v >= u } else { v <= u });
            if !unusual || its_habit || name == "hour_sin" || name == "hour_cos" {
                return None;
            }
            let label = if novel {
                "UNSEEN"
            } else if (low_is_unusual(name) && pct <= 0.01) || pct >= 0.99 {
                "RARE"
            } else {
                "INFREQUENT"
            };
            let p99 = if low_is_unusual(name) { ctx.quantile(i, 0.01) } else { ctx.quantile(i, 0.99) };
            let mut text = if is_novelty(name) && v > 0.0 {
                format!("{name} {} ({label}: never before for this principal)", fmt(v))
            } else if low_is_unusual(name) {
                format!("{name} {} ({label}; p1 of population {})", fmt(v), fmt(p99))
            } else {
                format!("{name} {} ({label}; p99 of population {})", fmt(v), fmt(p99))
            };
            text.push_str(gloss(name));
            // Where, in words an analyst can paste into a ticket.
            match (name, &row.country, &row.travel) {
                ("country_novelty", Some(cc), _) if v > 0.0 => {
                    text = format!("first time from {cc} for this principal ({name} {})", fmt(v));
                }
                ("travel_kmh", _, Some(travel)) => text.push_str(&format!(": {travel}")),
                ("bytes_excess" | "reads_excess", _, _) => text = volume_words(row, name, v),
                _ => {}
            }
            if let Some(u) = usual.filter(|_| !is_novelty(name)) {
                text.push_str(&format!("; entity's usual {}", fmt(u)));
            }
            Some(Reason {
                feature: name,
                value: v,
                contribution: contributions[i],
                percentile: pct,
                population_p99: p99,
                entity_usual: usual,
                label,
                text,
            })
        })
        .collect();
    out.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    out.truncate(4);
    out
}

#[cfg(test)]
mod tests {
    use super::{Context, percentile_in, reasons};
    use crate::features::{FeatureRow, feature_index};

    fn row(entity: &str, events: f64) -> FeatureRow {
        let mut r = FeatureRow { entity: entity.into(), ..Default::default() };
        r.features[feature_index("events").unwrap()] = events;
        r
    }

    /// Reasons whose values were not unusual were shown as reasons ("FREQUENT", or the
    /// entity's own usual value).
    #[test]
    fn values_that_are_not_unusual_are_not_reasons() {
        // 100 windows of 1..=100 events; a busy entity whose usual is 200.
        let mut rows: Vec<FeatureRow> = (1..=100).map(|n| row(&format!("e{n}"), n as f64)).collect();
        rows.extend([row("busy", 200.0), row("busy", 200.0), row("busy", 190.0)]);
        let ctx = Context::new(&rows);
        let mut contributions = vec![0.0; crate::features::N_FEATURES];
        contributions[feature_index("events").unwrap()] = 0.5;
        let named = |r: &FeatureRow| reasons(&ctx, r, &contributions).iter().map(|x| x.feature).collect::<Vec<_>>();
        // p92: in the top tenth, not the top twentieth.
        assert!(named(&rows[91]).is_empty(), "a value at p92 is no reason");
        assert_eq!(named(&rows[98]), ["events"], "a value at p96 is");
        // 190 is the top of the population, but below what this entity usually does.
        assert!(named(&rows[102]).is_empty(), "the entity's own habit is no reason");
        assert_eq!(reasons(&ctx, &rows[98], &contributions)[0].label, "INFREQUENT");
    }

    #[test]
    fn ties_share_the_middle_rank() {
        // Everyone at 0: the value is typical, not extreme.
        assert_eq!(percentile_in(&[0.0; 10], 0.0), 0.5);
        // A value 1 in 10 rows have, at the top: p95, not p100.
        let col = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        assert_eq!(percentile_in(&col, 1.0), 0.95);
        assert_eq!(percentile_in(&col, 0.0), 0.45);
        // Values not in the column sit between their neighbours.
        assert_eq!(percentile_in(&col, 0.5), 0.9);
        assert_eq!(percentile_in(&col, 2.0), 1.0);
        assert_eq!(percentile_in(&col, -1.0), 0.0);
        assert_eq!(percentile_in(&[], 3.0), 0.5);
    }
}
