//! The arguments of the long-running commands: the console and `watch` share the sources,
//! the pipeline's settings and the alerts.

use clap::Args;

use super::{
    AwsArgs, FeatureArgs, FlagLevel, GeoArgs, SigmaArgs, parse_budget, parse_duration, parse_flag_level, parse_size,
    parse_time,
};

/// What the console and `watch` run: sources and the pipeline's settings.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Sources: a CloudTrail file or folder (watched for new files), s3://BUCKET[/PREFIX],
    /// lookup://[REGION,...] (the LookupEvents API), or `demo` (the default).
    pub sources: Vec<String>,
    /// Windows and entities.
    #[command(flatten)]
    pub features: FeatureArgs,
    /// Demo source: how many times faster than real time the live traffic runs.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Back-fill from this time for S3 and LookupEvents sources (default 24h and 1h).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<i64>,
    /// Memory for the records held for drill-down (raw JSON included), e.g. 256MiB or 1GiB;
    /// the oldest are dropped past it.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub memory: usize,
    /// How long windows, each principal's history and event ids are kept, in event time
    /// (e.g. 14d); older ones expire.
    #[arg(long, default_value = "14d", value_parser = parse_duration)]
    pub retain: i64,
    /// Flag where the model's own flags (windows no rule lifted) come to about N a day, e.g.
    /// 5/day; rule and signature hits come on top. Without it, the top 1% is flagged.
    #[arg(long, value_name = "N/day", value_parser = parse_budget)]
    pub alert_budget: Option<f64>,
    /// Flag every window where a rule of this severity or above fires, whatever the cut:
    /// medium, high, critical or none.
    #[arg(long, value_name = "LEVEL", default_value = "high", value_parser = parse_flag_level)]
    pub always_flag: FlagLevel,
    /// Fit a new forest at least this often (e.g. 24h). Without it, a forest is fitted when
    /// the labels change, the history grows by a quarter, or the last day's windows drift.
    #[arg(long, value_parser = parse_duration)]
    pub retrain: Option<i64>,
    /// AWS credentials, region and endpoint.
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Sigma rules beside the score.
    #[command(flatten)]
    pub sigma: SigmaArgs,
    /// GeoIP databases for the geography features.
    #[command(flatten)]
    pub geo: GeoArgs,
}

/// Where alerts go and how often.
#[derive(Args, Debug, Clone, Default)]
pub struct AlertArgs {
    /// Send alerts to: https://… (a webhook: the alert as JSON), slack+https://hooks.slack.com/…,
    /// sns://arn:aws:sns:REGION:ACCOUNT:TOPIC, syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT,
    /// syslog+unix:///dev/log or file://PATH.jsonl; repeatable. Plain http:// only to 127.0.0.1.
    #[arg(long = "alert", value_name = "SINK", value_parser = |s: &str| crate::alert::SinkSpec::parse(s).map_err(|e| e.to_string()))]
    pub sinks: Vec<crate::alert::SinkSpec>,
    /// Alerts of one entity with the same rules within this period fold into the first.
    #[arg(long = "alert-dedupe", default_value = "60m", value_parser = parse_duration)]
    pub dedupe: i64,
}

impl AlertArgs {
    /// The alerts' configuration, with windows forgotten after `retain`.
    pub fn config(&self, retain: i64, profile: Option<String>) -> crate::alert::AlertConfig {
        crate::alert::AlertConfig {
            sinks: self.sinks.clone(),
            decide: crate::alert::DecideConfig { dedupe_secs: self.dedupe, retain_secs: retain, ..Default::default() },
            profile,
        }
    }
}

/// `trailtop [SOURCE...]`: the console.
#[derive(Args, Debug, Clone)]
pub struct ConsoleArgs {
    /// Sources and the pipeline.
    #[command(flatten)]
    pub run: RunArgs,
    /// Theme: dark, light, high-contrast, or the path of a theme TOML file.
    #[arg(long, default_value = "dark")]
    pub theme: String,
    /// Ring the terminal's bell when windows newly enter the flagged set.
    #[arg(long)]
    pub bell: bool,
    /// Alerts, as `watch` sends them; the header shows each sink's state.
    #[command(flatten)]
    pub alerts: AlertArgs,
}

/// `trailtop watch SOURCE...`: unattended.
#[derive(Args, Debug, Clone)]
pub struct WatchArgs {
    /// Sources and the pipeline.
    #[command(flatten)]
    pub run: RunArgs,
    /// Alerts.
    #[command(flatten)]
    pub alerts: AlertArgs,
    /// Serve Prometheus metrics at this address (e.g. 127.0.0.1:9898).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Allow --metrics on an address other than loopback.
    #[arg(long)]
    pub metrics_public: bool,
}
