//! Stage 1: where records come from. Each source runs on its own thread and talks to its
//! consumer over a bounded channel of [`SourceMsg`]; it never touches the terminal.

pub mod demo;
pub mod file;
pub mod folder;

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
}

impl SourceSpec {
    pub fn parse(s: &str) -> anyhow::Result<SourceSpec> {
        if s == "demo" {
            return Ok(SourceSpec::Demo);
        }
        if let Some((scheme, _)) = s.split_once("://") {
            anyhow::bail!(
                "'{s}': {scheme}:// sources are not available in this build; give a local file or folder, or 'demo'"
            );
        }
        let path = PathBuf::from(s);
        anyhow::ensure!(path.exists(), "'{s}': no such file or folder");
        Ok(SourceSpec::Path(path))
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Path(p) => write!(f, "{}", p.display()),
            SourceSpec::Demo => f.write_str("demo"),
        }
    }
}

/// Where a source is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceStatus {
    Backfilling {
        done: u64,
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
    Events { source: usize, events: Vec<Event>, stats: ParseStats, error: Option<String> },
    Status { source: usize, status: SourceStatus },
}
