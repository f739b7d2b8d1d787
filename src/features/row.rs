//! The feature table's schema: the columns, in order, and one entity-window's row.

/// Feature names, in column order. Adding one bumps [`SCHEMA_VERSION`].
pub const FEATURE_NAMES: [&str; 38] = [
    "events",
    "rate_per_min",
    "distinct_sources",
    "distinct_events",
    "distinct_user_agents",
    "distinct_regions",
    "distinct_ips",
    "failure_ratio",
    "access_denied",
    "write_ratio",
    "sensitive_apis",
    "console_login_no_mfa",
    "console_login_failures",
    "hour_sin",
    "hour_cos",
    "new_ips",
    "new_regions",
    "new_user_agents",
    "new_principal",
    "ip_novelty",
    "agent_novelty",
    "region_novelty",
    "hour_share",
    "ip_recency",
    "run_excess",
    "new_countries",
    "country_novelty",
    "travel_kmh",
    "aws_ip_share",
    "bytes_out",
    "object_reads",
    "distinct_buckets",
    "data_share",
    "new_buckets",
    "bucket_novelty",
    "bytes_excess",
    "reads_excess",
    "data_share_excess",
];
/// How many features a window has.
pub const N_FEATURES: usize = FEATURE_NAMES.len();
/// Bumped when the features change: a model saved for another schema is not loaded.
pub const SCHEMA_VERSION: u32 = 6;

/// The column of a feature by name.
pub fn feature_index(name: &str) -> Option<usize> {
    FEATURE_NAMES.iter().position(|n| *n == name)
}

/// One row of the feature table.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRow {
    /// The grouping key (see [`entity_text`](super::entity_text)).
    pub entity: String,
    /// The principal of the entity's first event in the window.
    pub principal: String,
    /// The source IP of the entity's first event in the window.
    pub source_ip: String,
    /// The window's start, Unix seconds (a multiple of its length).
    pub window_start: i64,
    /// The window's end, exclusive.
    pub window_end: i64,
    /// Events in the window.
    pub events: u64,
    /// Every feature, in [`FEATURE_NAMES`] order.
    pub features: [f64; N_FEATURES],
    /// Bits of [`rules::RULES`](super::rules::RULES) that this window set: by its events, or as
    /// a whole (brute force, data egress).
    pub rules: u16,
    /// Of those, the rules this principal hits habitually (see [`rules::habitual`](super::rules::habitual)): still
    /// shown, but they do not lift the rank.
    pub habitual_rules: u16,
    /// Hashes of the event names in the window, sorted (for feedback scopes and the filter).
    pub names: Vec<u64>,
    /// Hashes of its services, user agents, regions and error codes (for the filter; the
    /// words are in the store's [`Vocab`](super::vocab::Vocab)).
    pub words: Words,
    /// What Sigma hits of medium level and above add to the rank (set by the pipeline from
    /// `sigma::Level::weight`); 0 without rules.
    pub signature_weight: f64,
    /// Where the window's first address is (`Budapest, HU`), with a GeoIP database.
    pub place: Option<String>,
    /// That place's country code.
    pub country: Option<String>,
    /// The impossible travel in the window, in words, if any.
    pub travel: Option<String>,
}

// By hand: `Default` is derived for arrays of at most 32.
impl Default for FeatureRow {
    fn default() -> Self {
        FeatureRow {
            entity: String::new(),
            principal: String::new(),
            source_ip: String::new(),
            window_start: 0,
            window_end: 0,
            events: 0,
            features: [0.0; N_FEATURES],
            rules: 0,
            habitual_rules: 0,
            names: Vec::new(),
            words: Words::default(),
            signature_weight: 0.0,
            place: None,
            country: None,
            travel: None,
        }
    }
}

/// Hashes of a window's values, by field, for the filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Words {
    /// `eventSource`s.
    pub sources: Vec<u64>,
    /// `userAgent`s.
    pub agents: Vec<u64>,
    /// `awsRegion`s.
    pub regions: Vec<u64>,
    /// `errorCode`s.
    pub errors: Vec<u64>,
}

impl FeatureRow {
    /// A feature by name (NaN for an unknown name).
    pub fn get(&self, name: &str) -> f64 {
        feature_index(name).map_or(f64::NAN, |i| self.features[i])
    }
}
