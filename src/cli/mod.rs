//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::features::EntityBy;

mod detect;
mod run;
mod values;
pub use detect::{GeoArgs, SigmaArgs};
pub use run::{AlertArgs, ConsoleArgs, RunArgs, WatchArgs};
pub use values::{MAX_DURATION, parse_budget, parse_duration, parse_size, parse_time};

#[derive(Parser, Debug)]
#[command(
    name = "trailtop",
    version,
    about = "top for AWS CloudTrail: live event rates, per-entity behaviour and ranked anomalies"
)]
/// The command line.
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand; none runs the console.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The console's arguments (used when no subcommand is given).
    #[command(flatten)]
    pub console: ConsoleArgs,
}

/// Options of the AWS sources (s3:// and lookup://).
#[derive(Args, Debug, Clone)]
pub struct AwsArgs {
    /// Named profile from the AWS config files (SSO profiles included).
    #[arg(long)]
    pub profile: Option<String>,
    /// Region for S3 requests (LookupEvents regions come from the source URL).
    #[arg(long)]
    pub region: Option<String>,
    /// S3-compatible endpoint (path-style addressing), or a test endpoint.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// How often to poll for new data.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub poll: i64,
    /// Ignore the S3 checkpoint and read the whole range again.
    #[arg(long)]
    pub from_scratch: bool,
}

impl AwsArgs {
    /// The sources' AWS options, with checkpoints kept in `state_dir`.
    pub fn options(&self, state_dir: Option<PathBuf>) -> crate::source::aws::AwsOptions {
        crate::source::aws::AwsOptions {
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            poll: std::time::Duration::from_secs(self.poll as u64),
            from_scratch: self.from_scratch,
            state_dir,
            ..Default::default()
        }
    }
}

/// What an entity-window is.
#[derive(Args, Debug, Clone)]
pub struct FeatureArgs {
    /// Window length for per-entity features, e.g. 1h, 15m, 1d.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub window: i64,
    /// What an entity is: principal, ip, principal+ip or access-key.
    #[arg(long, default_value = "principal+ip", value_parser = |s: &str| s.parse::<EntityBy>())]
    pub by: EntityBy,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read what the sources hold now and print one row per entity-window.
    Scan(Box<ScanArgs>),
    /// Write realistic synthetic CloudTrail with labelled attacks.
    Gen(GenArgs),
    /// Measure detection quality against ground-truth labels.
    Eval(EvalArgs),
    /// List or export the analyst labels kept in the data directory.
    Labels(LabelsArgs),
    /// Run unattended: the console's pipeline without a terminal, alerts out, until SIGTERM.
    Watch(Box<WatchArgs>),
    /// Print a shell completion script (e.g. `trailtop completions bash > /etc/bash_completion.d/trailtop`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `trailtop man > trailtop.1`.
    Man,
}

/// `trailtop gen`: write a generated account.
#[derive(Args, Debug)]
pub struct GenArgs {
    /// Folder to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Number of events in total, attacks included.
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    /// Length of the period in days.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Start of the period: RFC 3339 or an age such as 7d. Fixed by default so that a seed
    /// always gives the same bytes.
    #[arg(long, default_value = "2024-03-04T00:00:00Z", value_parser = parse_time)]
    pub start: i64,
    /// Attack scenarios: a comma-separated list of ids, `all` or `none`.
    #[arg(long, default_value = "all", value_parser = |s: &str| crate::generate::Scenario::parse_list(s).map(Scenarios))]
    pub attacks: Scenarios,
    /// How the files are laid out.
    #[arg(long, default_value = "s3", value_parser = |s: &str| s.parse::<crate::generate::write::Layout>())]
    pub layout: crate::generate::write::Layout,
    /// Write ground truth as CSV: event_id,scenario,principal,source_ip,malicious.
    #[arg(long)]
    pub labels: Option<PathBuf>,
}

/// `trailtop scan`: rank what the sources hold, headless.
#[derive(Args, Debug)]
pub struct ScanArgs {
    /// CloudTrail files or folders, s3://BUCKET[/PREFIX], lookup://[REGION,...], or `demo` for a
    /// generated day.
    #[arg(required = true)]
    pub sources: Vec<String>,
    /// Windows and entities.
    #[command(flatten)]
    pub features: FeatureArgs,
    /// Only events at or after this time: RFC 3339, or an age such as 24h or 7d.
    #[arg(long, value_parser = parse_time)]
    pub since: Option<i64>,
    /// Only events before this time: RFC 3339, or an age such as 1h.
    #[arg(long, value_parser = parse_time)]
    pub until: Option<i64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The forest and the threshold.
    #[command(flatten)]
    pub model: ModelArgs,
    /// How many rows to print, highest rank first.
    #[arg(long, default_value_t = 20, conflicts_with = "all")]
    pub top: usize,
    /// Print every entity-window.
    #[arg(long)]
    pub all: bool,
    /// Only the windows matching this query, in the console's filter language (e.g.
    /// 'event:Stop* -principal:*ci* around:2024-03-05T13:10Z±30m'; `@name` for a query saved
    /// in the console); ranks stay those of the whole ranking.
    #[arg(long, value_parser = parse_query)]
    pub query: Option<crate::app::filter::Filter>,
    /// AWS credentials, region and endpoint.
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Use the analyst labels in this directory (default: the data directory; `none` for none).
    #[arg(long)]
    pub labels_dir: Option<String>,
    /// Print ingest statistics and peak memory on stderr at the end.
    #[arg(long)]
    pub stats: bool,
    /// Write the output here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Sigma rules beside the score.
    #[command(flatten)]
    pub sigma: SigmaArgs,
    /// GeoIP databases for the geography features.
    #[command(flatten)]
    pub geo: GeoArgs,
}

/// The forest and the threshold, as `scan` and `eval` take them.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Flag this fraction of entity-windows, highest rank first.
    #[arg(long, default_value_t = 0.01, value_parser = parse_fraction)]
    pub contamination: f64,
    /// Flag entity-windows whose rank score is at least this (instead of --contamination).
    #[arg(long, conflicts_with = "contamination")]
    pub threshold: Option<f64>,
    /// Cut where the model's own flags (windows no rule lifted) come to about N a day over the
    /// history, e.g. 5/day; rule hits come on top (instead of --contamination).
    #[arg(long, value_name = "N/day", value_parser = parse_budget, conflicts_with_all = ["contamination", "threshold"])]
    pub alert_budget: Option<f64>,
    /// Trees in the Isolation Forest.
    #[arg(long, default_value_t = 100)]
    pub trees: usize,
    /// Rows each tree is grown on (ψ).
    #[arg(long, default_value_t = 256)]
    pub sub_sample: usize,
    /// Seed of the forest: the same seed and data give the same scores.
    #[arg(long, default_value_t = 0x7e41_1709)]
    pub model_seed: u64,
    /// Flag every window where a rule of this severity or above fires, whatever the cut:
    /// medium, high, critical or none.
    #[arg(long, value_name = "LEVEL", default_value = "high", value_parser = parse_flag_level)]
    pub always_flag: FlagLevel,
}

/// A severity that always flags, or none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlagLevel(pub Option<crate::sigma::Level>);

/// `medium`, `high`, `critical` or `none`.
pub fn parse_flag_level(s: &str) -> Result<FlagLevel, String> {
    use crate::sigma::Level;
    match s.parse::<Level>() {
        _ if s.eq_ignore_ascii_case("none") => Ok(FlagLevel(None)),
        Ok(l) if l >= Level::Medium => Ok(FlagLevel(Some(l))),
        _ => Err(format!("'{s}' is not one of medium, high, critical, none")),
    }
}

impl ModelArgs {
    /// The model configuration these arguments give.
    pub fn config(&self) -> crate::model::ModelConfig {
        use crate::model::Threshold;
        crate::model::ModelConfig {
            n_trees: self.trees,
            sub_sample: self.sub_sample,
            seed: self.model_seed,
            threshold: match (self.alert_budget, self.threshold) {
                (Some(n), _) => Threshold::Budget(n),
                (None, Some(t)) => Threshold::Score(t),
                (None, None) => Threshold::Contamination(self.contamination),
            },
            always_flag: self.always_flag.0,
        }
    }
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if v > 0.0 && v <= 0.5 { Ok(v) } else { Err(format!("'{s}' must be in (0, 0.5]")) }
}

/// `trailtop eval`: detection quality against ground-truth labels.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// CloudTrail files or folders (as written by `trailtop gen`).
    #[arg(required = true)]
    pub sources: Vec<String>,
    /// Ground truth CSV: event_id,scenario,principal,source_ip,malicious.
    #[arg(long)]
    pub labels: PathBuf,
    /// Windows and entities.
    #[command(flatten)]
    pub features: FeatureArgs,
    /// The forest and the threshold.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = EvalFormat::Table)]
    pub format: EvalFormat,
    /// GeoIP databases for the geography features.
    #[command(flatten)]
    pub geo: GeoArgs,
}

/// `eval`'s output formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalFormat {
    /// A table for people.
    Table,
    /// One JSON document.
    Json,
}

/// `trailtop labels`: read the analyst's labels.
#[derive(Args, Debug)]
pub struct LabelsArgs {
    /// List or export.
    #[command(subcommand)]
    pub action: LabelsAction,
    /// The directory holding labels.jsonl (default: the data directory).
    #[arg(long, global = true)]
    pub labels_dir: Option<PathBuf>,
}

/// What `labels` does.
#[derive(Subcommand, Debug)]
pub enum LabelsAction {
    /// One line per label in force: id, verdict, scope, window, expiry, principal, note.
    List,
    /// Every label in force, as JSON lines or CSV.
    Export {
        /// JSON lines or CSV.
        #[arg(long, value_enum, default_value_t = LabelFormat::Jsonl)]
        format: LabelFormat,
    },
    /// Withdraw a label (its id from `labels list`, or a unique start of it).
    Withdraw {
        /// The label's id.
        id: String,
    },
}

/// Label export formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFormat {
    /// One JSON object per line.
    Jsonl,
    /// CSV, cells guarded against formulas.
    Csv,
}

/// A list of attack scenarios given as one argument.
#[derive(Debug, Clone)]
pub struct Scenarios(pub Vec<crate::generate::Scenario>);

/// `scan`'s output formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A table for people.
    Table,
    /// One JSON object per entity-window.
    Jsonl,
    /// CSV, cells guarded against formulas.
    Csv,
}

/// `--query`: the console's language, with the queries saved in the console (`@name`).
fn parse_query(s: &str) -> Result<crate::app::filter::Filter, String> {
    let path = crate::config::paths::config_dir().map(|d| d.join("queries.toml"));
    let (queries, _) = crate::config::queries::Queries::load(path.as_deref());
    let resolved = queries.resolve(s)?;
    let mut f = crate::app::filter::Filter::parse(&resolved.text)?;
    f.text = s.to_owned();
    Ok(f)
}
