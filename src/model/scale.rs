//! From feature rows to the model's matrix.
//!
//! Counts are heavy-tailed (one window has 3 events, another 3,000): `log1p` spreads the
//! low range where most behaviour lives, so uniform splits land where they separate
//! something. Ratios, the cyclical hour and novelty weights are already in [−1, 1] and stay as
//! they are; so does `run_excess`, whose telling values (a run 2–5 times the principal's
//! longest) sit in a short linear range that uniform splits reach directly. `hour_share` is
//! log-scaled because "rarely at this hour" spans orders of magnitude. Some features are for
//! the analyst only and not modelled (see [`is_display_only`]).

use ndarray::Array2;

use crate::features::{FEATURE_NAMES, FeatureRow, N_FEATURES};

/// Whether feature `i` is a count (log1p-scaled).
pub fn is_count(i: usize) -> bool {
    !matches!(
        FEATURE_NAMES[i],
        "failure_ratio"
            | "write_ratio"
            | "hour_sin"
            | "hour_cos"
            | "new_principal"
            | "ip_novelty"
            | "agent_novelty"
            | "region_novelty"
            | "hour_share"
            | "ip_recency"
            | "run_excess"
            | "country_novelty"
            | "aws_ip_share"
            | "data_share"
            | "bucket_novelty"
            | "bytes_excess"
            | "reads_excess"
            | "data_share_excess"
    )
}

/// Whether feature `i` is for the analyst only. Raw first-seen counts make every CI run (a
/// new runner address each time) look like an intrusion; their habit-weighted twins
/// (`ip_novelty`, ...) carry what matters. `rate_per_min` is `events` rescaled, and a
/// duplicate column would double the chance of splitting on volume. `aws_ip_share` says what
/// kind of caller an entity is (a workload on EC2 always calls from AWS), not what changed:
/// shown until it is weighed by the principal's habit. The raw data volume (`bytes_out`,
/// `object_reads`, `distinct_buckets`, `data_share`) says what a workload is (a backup moves terabytes every
/// night); what it moved beyond its own habit (`bytes_excess`, `bucket_novelty`, ...) is
/// modelled.
pub fn is_display_only(i: usize) -> bool {
    matches!(
        FEATURE_NAMES[i],
        "rate_per_min"
            | "new_ips"
            | "new_regions"
            | "new_user_agents"
            | "new_countries"
            | "aws_ip_share"
            | "bytes_out"
            | "object_reads"
            | "distinct_buckets"
            | "data_share"
            | "new_buckets"
    )
}

/// The model's value of feature `i`. Display-only features become a constant column, which
/// the forest never splits on.
pub fn transform(i: usize, v: f64) -> f64 {
    if is_display_only(i) {
        0.0
    } else if FEATURE_NAMES[i] == "hour_share" {
        (v * 24.0 + 0.01).log10()
    } else if is_count(i) {
        v.max(0.0).ln_1p()
    } else {
        v
    }
}

/// The rows as the forest's input: one row each, features scaled.
pub fn matrix(rows: &[FeatureRow]) -> Array2<f64> {
    Array2::from_shape_fn((rows.len(), N_FEATURES), |(r, i)| {
        let v = transform(i, rows[r].features[i]);
        if v.is_finite() { v } else { 0.0 }
    })
}
