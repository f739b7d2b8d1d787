//! Stage 1: where records come from. Each source runs on its own thread and talks to its
//! consumer over a bounded channel of [`SourceMsg`]; it never touches the terminal.

pub mod aws;
pub mod budget;
pub mod demo;
pub mod file;
pub mod folder;
pub mod lookup;
pub mod s3;

use std::fmt;
use std::path::PathBuf;

use crate::parse::{Event, ParseStats};

/// A source as the user names it on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A CloudTrail file, or a folder searched recursively and then watched.
    Path(PathBuf),
    /// The built-in generator of realistic traffic with injected attacks.
    Demo,
    /// `s3://BUCKET[/PREFIX]`.
    S3 {
        /// The bucket.
        bucket: String,
        /// The prefix under it (`AWSLogs/...`), possibly empty.
        prefix: String,
    },
    /// `lookup://REGION[,REGION...]`; empty for the default region.
    Lookup {
        /// The regions.
        regions: Vec<String>,
    },
}

impl SourceSpec {
    /// Parses a source as given on the command line.
    pub fn parse(s: &str) -> anyhow::Result<SourceSpec> {
        if s == "demo" {
            return Ok(SourceSpec::Demo);
        }
        if s.starts_with("s3://") {
            let (bucket, prefix) = s3::parse_url(s)
                .ok_or_else(|| anyhow::anyhow!("'{s}': no bucket; give s3://BUCKET or s3://BUCKET/PREFIX"))?;
            return Ok(SourceSpec::S3 { bucket, prefix });
        }
        if let Some(mut regions) = lookup::parse_url(s) {
            if let Some(bad) = regions.iter().find(|r| !is_region_name(r)) {
                anyhow::bail!("'{s}': '{bad}' is not a region name (such as us-east-1)");
            }
            // Polling a region twice would only halve each poller's share of its rate limit.
            let mut seen = std::collections::HashSet::new();
            regions.retain(|r| seen.insert(r.clone()));
            return Ok(SourceSpec::Lookup { regions });
        }
        if let Some((scheme, _)) = s.split_once("://") {
            anyhow::bail!(
                "'{s}': no {scheme}:// source; give s3://BUCKET[/PREFIX], lookup://[REGION,...], a file or folder, or 'demo'"
            );
        }
        let path = PathBuf::from(s);
        anyhow::ensure!(path.exists(), "'{s}': no such file or folder");
        Ok(SourceSpec::Path(path))
    }
}

/// Region names are lower-case letters, digits and dashes (`us-east-1`, `us-gov-west-1`).
fn is_region_name(r: &str) -> bool {
    r.len() <= 32 && r.contains('-') && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Path(p) => write!(f, "{}", p.display()),
            SourceSpec::Demo => f.write_str("demo"),
            SourceSpec::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            SourceSpec::Lookup { regions } => write!(f, "lookup://{}", regions.join(",")),
        }
    }
}

/// Where a source is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceStatus {
    /// Reading what is there.
    Backfilling {
        /// Units (files, folders, hours) read.
        done: u64,
        /// Units to read.
        total: u64,
    },
    /// Back-fill done; following new data.
    Live,
    /// Back-fill done and nothing more will come (`scan`, or a single file).
    Finished,
    /// A problem the source survives; it keeps running.
    Degraded(String),
}

/// What a source sends.
#[derive(Debug)]
pub enum SourceMsg {
    /// Events, with what parsing met and the error that cut a file or object short.
    Events {
        /// The source's id.
        source: usize,
        /// The events.
        events: Vec<Event>,
        /// What parsing met.
        stats: ParseStats,
        /// A problem with the file or object.
        error: Option<String>,
    },
    /// Where the source is in its life.
    Status {
        /// The source's id.
        source: usize,
        /// Its state.
        status: SourceStatus,
    },
    /// Requests an API source made so far, and how many were throttled (for the metrics).
    Requests {
        /// The source's id.
        source: usize,
        /// Requests made.
        requests: u64,
        /// Of those, throttled.
        throttled: u64,
    },
    /// A short line for the header: request budget, position, ...
    Note {
        /// The source's id.
        source: usize,
        /// The line.
        text: String,
    },
    /// Position to save once everything sent before it has been delivered downstream. Sent
    /// by sources that do not follow (`scan`), which saves it after its output is flushed.
    Commit {
        /// The source's id.
        source: usize,
        /// The position to save.
        commit: Commit,
    },
}

/// A source's position, serialized, and where it goes.
#[derive(Debug, Clone)]
pub struct Commit {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl Commit {
    /// A position: `state` serialized, to be written to `path`.
    pub fn new(path: PathBuf, state: &impl serde::Serialize) -> Commit {
        Commit { path, bytes: serde_json::to_vec(state).unwrap_or_default() }
    }

    /// Where it goes (a later commit to the same place supersedes an earlier one).
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Written atomically (see [`crate::sys::write_atomic`]).
    pub fn save(&self) -> anyhow::Result<()> {
        crate::sys::write_atomic(&self.path, |w| w.write_all(&self.bytes))
    }
}

/// How to start sources.
#[derive(Debug, Clone)]
pub struct SpawnOptions {
    /// How records are parsed.
    pub parse: crate::parse::ParseOptions,
    /// Keep following after the back-fill (the console); `scan` reads what is there and stops.
    pub follow: bool,
    /// Demo seconds per real second.
    pub demo_speed: f64,
    /// Options for the AWS sources.
    pub aws: aws::AwsOptions,
    /// Back-fill range for AWS sources, seconds; `None` for each source's default
    /// (24 h for S3, 1 h for LookupEvents).
    pub since: Option<i64>,
}

/// Ends a back-fill: `Finished` when the source does not follow, `Live` when it does. True
/// when the source should go on tailing (it follows and the consumer is still there).
fn backfill_done(tx: &crossbeam_channel::Sender<SourceMsg>, source: usize, follow: bool) -> bool {
    if !follow {
        let _ = tx.send(SourceMsg::Status { source, status: SourceStatus::Finished });
        return false;
    }
    tx.send(SourceMsg::Status { source, status: SourceStatus::Live }).is_ok()
}

/// Starts `spec` on its own thread, sending to `tx`.
pub fn spawn(id: usize, spec: &SourceSpec, o: &SpawnOptions, tx: crossbeam_channel::Sender<SourceMsg>) {
    let mut aws = o.aws.clone();
    match spec {
        SourceSpec::Path(root) => {
            let src = folder::FolderSource { id, root: root.clone(), opts: o.parse.clone(), follow: o.follow };
            std::thread::spawn(move || src.run(tx));
        }
        SourceSpec::Demo => {
            let src = demo::DemoSource::new(id, o.demo_speed, o.follow, o.parse.clone());
            std::thread::spawn(move || src.run(tx));
        }
        SourceSpec::S3 { bucket, prefix } => {
            aws.since = o.since.unwrap_or(24 * 3600);
            let src = s3::S3Source {
                id,
                bucket: bucket.clone(),
                prefix: prefix.clone(),
                opts: aws,
                parse: o.parse.clone(),
                follow: o.follow,
                sdk: None,
            };
            std::thread::spawn(move || src.run(tx));
        }
        SourceSpec::Lookup { regions } => {
            aws.since = o.since.unwrap_or(3600);
            let src = lookup::LookupSource {
                id,
                regions: regions.clone(),
                opts: aws,
                parse: o.parse.clone(),
                follow: o.follow,
                clients: None,
            };
            std::thread::spawn(move || src.run(tx));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SourceSpec;

    #[test]
    fn every_source_form_parses() {
        assert_eq!(SourceSpec::parse("demo").unwrap(), SourceSpec::Demo);
        assert_eq!(
            SourceSpec::parse("s3://trail/AWSLogs/o-abc/").unwrap(),
            SourceSpec::S3 { bucket: "trail".into(), prefix: "AWSLogs/o-abc/".into() }
        );
        assert_eq!(
            SourceSpec::parse("s3://trail").unwrap(),
            SourceSpec::S3 { bucket: "trail".into(), prefix: "".into() }
        );
        assert_eq!(
            SourceSpec::parse("lookup://us-east-1,eu-west-1,us-east-1").unwrap(),
            SourceSpec::Lookup { regions: vec!["us-east-1".into(), "eu-west-1".into()] }
        );
        assert_eq!(SourceSpec::parse("lookup://").unwrap(), SourceSpec::Lookup { regions: vec![] });
        assert_eq!(SourceSpec::parse(".").unwrap(), SourceSpec::Path(".".into()));
    }

    #[test]
    fn bad_sources_say_what_is_wrong() {
        let err = |s: &str| SourceSpec::parse(s).unwrap_err().to_string();
        assert!(err("s3:///AWSLogs").contains("no bucket"), "{}", err("s3:///AWSLogs"));
        assert!(err("lookup://us-east-1;rm").contains("not a region name"), "{}", err("lookup://us-east-1;rm"));
        assert!(err("gs://bucket").contains("no gs:// source"), "{}", err("gs://bucket"));
        assert!(err("/no/such/folder").contains("no such file or folder"));
    }
}
