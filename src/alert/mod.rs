//! Alerts out: beside the app state, a consumer of the pipeline's snapshots. [`Alerts`]
//! decides which windows alert ([`decide`]), makes each alert's document ([`doc`]), appends it
//! to every sink's spool in the data dir ([`spool`]), and one thread per sink delivers it
//! ([`deliver`]): a generic webhook, Slack, SNS, syslog or a file.

pub mod decide;
pub mod deliver;
pub mod doc;
pub mod http;
pub mod sns;
pub mod spool;
pub mod syslog;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

pub use decide::{DecideConfig, Decider, Decision};
pub use deliver::{Failure, Sink, SinkState, SinkView};

use crate::pipeline::Snapshot;

/// Where alerts go, as given on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkSpec {
    /// `https://…`, or `http://` to a loopback address: the document as a POST body.
    Webhook(String),
    /// `slack+https://hooks.slack.com/…`: a Block Kit message.
    Slack(String),
    /// `sns://arn:aws:sns:REGION:ACCOUNT:TOPIC`.
    Sns(String),
    /// `syslog+udp://`, `syslog+tcp://`, `syslog+unix://`.
    Syslog(syslog::Transport),
    /// `file://PATH`: JSON lines, appended and synced.
    File(PathBuf),
}

/// The host (and port) of what follows a URL's `://`, without the user info.
fn host_of(rest: &str) -> &str {
    let host = rest.split(['/', '?']).next().unwrap_or("");
    host.rsplit_once('@').map_or(host, |(_, h)| h)
}

/// Whether a URL's host is this machine (plain HTTP is for loopback only: alerts name
/// people and addresses).
fn loopback(url: &str) -> bool {
    let host = host_of(url.split_once("://").map_or("", |(_, r)| r));
    // Without the port: `[::1]:8080`, `127.0.0.1:8080`, `localhost`.
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl SinkSpec {
    /// Parses one `--alert` value.
    pub fn parse(s: &str) -> anyhow::Result<SinkSpec> {
        let http_ok = |url: &str| url.starts_with("https://") || (url.starts_with("http://") && loopback(url));
        if let Some(url) = s.strip_prefix("slack+") {
            anyhow::ensure!(
                http_ok(url),
                "{}: a Slack webhook is slack+https://… (plain http only to 127.0.0.1)",
                shown(s)
            );
            return Ok(SinkSpec::Slack(url.to_owned()));
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            anyhow::ensure!(http_ok(s), "{}: plain http only to 127.0.0.1 or localhost; use https", shown(s));
            return Ok(SinkSpec::Webhook(s.to_owned()));
        }
        if let Some(arn) = s.strip_prefix("sns://") {
            anyhow::ensure!(sns::topic_region(arn).is_some(), "{s}: expected sns://arn:aws:sns:REGION:ACCOUNT:TOPIC");
            return Ok(SinkSpec::Sns(arn.to_owned()));
        }
        let host_port = |a: &str| -> anyhow::Result<String> {
            anyhow::ensure!(
                a.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()),
                "{s}: expected HOST:PORT"
            );
            Ok(a.trim_end_matches('/').to_owned())
        };
        if let Some(a) = s.strip_prefix("syslog+udp://") {
            return Ok(SinkSpec::Syslog(syslog::Transport::Udp(host_port(a)?)));
        }
        if let Some(a) = s.strip_prefix("syslog+tcp://") {
            return Ok(SinkSpec::Syslog(syslog::Transport::Tcp(host_port(a)?)));
        }
        if let Some(p) = s.strip_prefix("syslog+unix://") {
            anyhow::ensure!(p.starts_with('/'), "{s}: expected syslog+unix:///PATH");
            return Ok(SinkSpec::Syslog(syslog::Transport::Unix(p.into())));
        }
        if let Some(p) = s.strip_prefix("file://") {
            anyhow::ensure!(!p.is_empty(), "{s}: expected file://PATH");
            return Ok(SinkSpec::File(p.into()));
        }
        anyhow::bail!(
            "{}: not an alert sink (https://…, slack+https://…, sns://ARN, syslog+udp|tcp|unix://…, file://PATH)",
            shown(s)
        )
    }

    /// The sink as shown in the header, metrics and logs: a webhook's path and query (where
    /// Slack and others keep the secret) left out.
    pub fn shown(&self) -> String {
        match self {
            SinkSpec::Webhook(u) => shown(u),
            SinkSpec::Slack(u) => format!("slack+{}", shown(u)),
            SinkSpec::Sns(a) => format!("sns://{a}"),
            SinkSpec::Syslog(syslog::Transport::Udp(a)) => format!("syslog+udp://{a}"),
            SinkSpec::Syslog(syslog::Transport::Tcp(a)) => format!("syslog+tcp://{a}"),
            SinkSpec::Syslog(syslog::Transport::Unix(p)) => format!("syslog+unix://{}", p.display()),
            SinkSpec::File(p) => format!("file://{}", p.display()),
        }
    }

    /// Its spool's folder name: the kind and a hash of the whole spec (secrets included, so
    /// two webhooks on one host keep two spools; the name does not show them).
    fn slug(&self) -> String {
        let kind = match self {
            SinkSpec::Webhook(_) => "webhook",
            SinkSpec::Slack(_) => "slack",
            SinkSpec::Sns(_) => "sns",
            SinkSpec::Syslog(_) => "syslog",
            SinkSpec::File(_) => "file",
        };
        format!("{kind}-{:016x}", crate::parse::fnv1a(format!("{self:?}").as_bytes()))
    }

    fn open(&self, profile: Option<&str>) -> anyhow::Result<Box<dyn Sink>> {
        Ok(match self {
            SinkSpec::Webhook(u) => Box::new(http::Webhook(http::Post::new(u)?)),
            SinkSpec::Slack(u) => Box::new(http::Slack(http::Post::new(u)?)),
            SinkSpec::Sns(a) => Box::new(sns::Sns::new(a, profile)?),
            SinkSpec::Syslog(t) => Box::new(syslog::Syslog::new(t.clone())),
            SinkSpec::File(p) => Box::new(FileSink(p.clone())),
        })
    }
}

/// A URL without its path and query.
fn shown(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = host_of(rest);
            let more = if rest.len() > host.len() { "/…" } else { "" };
            format!("{scheme}://{host}{more}")
        }
        None => crate::text::truncate(url, 40).into_owned(),
    }
}

/// `file://PATH`: one JSON line per alert, appended and synced; made readable by its owner
/// only, since alerts name people and addresses.
struct FileSink(PathBuf);

impl Sink for FileSink {
    fn send(&mut self, doc: &str) -> Result<(), Failure> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.0)
            .map_err(|e| Failure::retry(format!("{}: {e}", self.0.display())))?;
        writeln!(f, "{doc}")
            .and_then(|_| f.sync_data())
            .map_err(|e| Failure::retry(format!("{}: {e}", self.0.display())))
    }
}

/// How alerts run.
#[derive(Debug, Clone, Default)]
pub struct AlertConfig {
    /// The sinks.
    pub sinks: Vec<SinkSpec>,
    /// How alerts are decided.
    pub decide: DecideConfig,
    /// The AWS profile, for SNS.
    pub profile: Option<String>,
}

/// Deciding, spooling and delivering alerts.
pub struct Alerts {
    decider: Decider,
    workers: Vec<deliver::Worker>,
    dir: PathBuf,
    /// Alerts decided since start.
    pub decided: u64,
}

impl Alerts {
    /// Opens the spools under `data_dir/alerts` and starts one delivery thread per sink. A
    /// sink that cannot be set up is an error now, not at the first alert.
    pub fn start(cfg: AlertConfig, data_dir: &Path) -> anyhow::Result<Alerts> {
        let dir = data_dir.join("alerts");
        crate::sys::private_dir(&dir)?;
        let mut workers = Vec::new();
        for spec in &cfg.sinks {
            let sink = spec.open(cfg.profile.as_deref()).with_context(|| format!("alert sink {}", spec.shown()))?;
            let spool = Arc::new(spool::Spool::open(&dir.join(spec.slug()))?);
            if spool.pending() > 0 {
                tracing::info!("alert sink {}: {} alerts spooled from before", spec.shown(), spool.pending());
            }
            workers.push(deliver::Worker::start(spec.shown(), sink, spool));
        }
        let decider = Decider::open(cfg.decide, Some(dir.join("ledger.json")));
        Ok(Alerts { decider, workers, dir, decided: 0 })
    }

    /// Decides the alerts `snap` calls for and spools them to every sink; returns how many.
    /// When a spool cannot take them, the decisions are forgotten (the ledger is read back)
    /// and made again from the next snapshot.
    pub fn observe(&mut self, snap: &Snapshot) -> usize {
        let now = chrono::Utc::now().timestamp();
        let decisions = self.decider.decide(snap, now);
        if decisions.is_empty() {
            let _ = self.decider.save();
            return 0;
        }
        let lines: Vec<String> = decisions.iter().map(|d| document(snap, d, now).to_string()).collect();
        for d in &decisions {
            let r = &snap.rows[d.row].row;
            tracing::info!(
                alert_id = %d.id,
                trigger = d.trigger.words(),
                "alert: {} from {} at {}",
                crate::parse::sanitize::clean(&r.principal),
                crate::parse::sanitize::clean(&r.source_ip),
                crate::parse::time::rfc3339(r.window_start)
            );
        }
        let mut ok = true;
        for w in &self.workers {
            if let Err(e) = w.spool.push(&lines) {
                tracing::error!("{e:#}");
                ok = false;
            }
        }
        if ok {
            if let Err(e) = self.decider.save() {
                tracing::error!("alerts: cannot save the ledger: {e:#}");
            }
            self.decided += decisions.len() as u64;
            decisions.len()
        } else {
            self.decider = Decider::open(self.decider.config(), Some(self.dir.join("ledger.json")));
            0
        }
    }

    /// Each sink's state.
    pub fn views(&self) -> Vec<SinkView> {
        self.workers
            .iter()
            .map(|w| {
                let mut v = w.view.lock().map(|v| v.clone()).unwrap_or_default();
                v.spooled = w.spool.pending();
                v
            })
            .collect()
    }

    /// Stops delivery, giving sends in flight up to `grace`; what is left stays spooled.
    pub fn stop(self, grace: Duration) {
        for w in self.workers {
            w.stop(grace);
        }
    }
}

/// The document for decision `d`: the top event names come from the records the tail holds.
fn document(snap: &Snapshot, d: &Decision, now: i64) -> serde_json::Value {
    let s = &snap.rows[d.row];
    let mut counts: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    let events = snap.window_events(s);
    for e in &events {
        *counts.entry(&e.name).or_default() += 1;
    }
    let mut top: Vec<doc::NameCount> = counts
        .into_iter()
        .map(|(n, c)| doc::NameCount { name: crate::parse::sanitize::clean_owned(n), count: c })
        .collect();
    top.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    top.truncate(10);
    doc::document(s, doc::Made { id: d.id.clone(), trigger: d.trigger, folded: d.folded, at: now, top_events: top })
}

#[cfg(test)]
mod tests;
