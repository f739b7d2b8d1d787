//! Which windows alert, and how often. A window alerts when it is flagged as it closes, and at
//! once when a high or critical rule or signature fires in it; again only when its rank score
//! rises past its last alert's by a margin or a rule fires that the last one did not name.
//! Alerts of one entity with one set of rules within the de-duplication period fold into the
//! first. Windows a false positive covers are suppressed.
//!
//! The ledger of what was decided is saved in the data dir after the alerts are spooled: a
//! crash between the two decides them again, with the same ids (at least once, never lost).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::doc::Trigger;
use crate::model::ScoredRow;
use crate::pipeline::Snapshot;
use crate::source::SourceStatus;

/// How alerts are decided.
#[derive(Debug, Clone, Copy)]
pub struct DecideConfig {
    /// Alerts of one entity with one set of rules within this many seconds fold into one.
    pub dedupe_secs: i64,
    /// How far a window's rank score must rise past its last alert's to alert again.
    pub margin: f64,
    /// Windows older than this (seconds of event time before the newest) are forgotten.
    pub retain_secs: i64,
    /// Windows that ended longer than this before the newest event do not alert: a first
    /// start on weeks of history alerts on its last day, not on every week (the console shows
    /// the rest).
    pub max_age_secs: i64,
}

impl Default for DecideConfig {
    fn default() -> Self {
        Self { dedupe_secs: 3600, margin: 0.1, retain_secs: 14 * 86_400, max_age_secs: 86_400 }
    }
}

/// What the last alert on a window said.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Sent {
    start: i64,
    entity: String,
    rank_score: f64,
    rules: Vec<String>,
    /// Alerts decided on it so far (the next one's number).
    count: u32,
}

/// The last alert of an entity with a set of rules.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Group {
    key: String,
    /// Wall-clock seconds of its last alert.
    at: i64,
    /// Windows folded in since.
    folded: u32,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Ledger {
    windows: Vec<Sent>,
    groups: Vec<Group>,
}

/// One alert to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Index of the window in the snapshot's rows.
    pub row: usize,
    /// Why.
    pub trigger: Trigger,
    /// Stable for this window and alert number.
    pub id: String,
    /// Windows folded into it.
    pub folded: u32,
}

/// The decisions and their memory.
pub struct Decider {
    cfg: DecideConfig,
    path: Option<PathBuf>,
    windows: BTreeMap<(i64, String), Sent>,
    groups: BTreeMap<String, Group>,
    changed: bool,
}

/// The rules and signatures (medium and above) that fired in the window and are not habits,
/// sorted: what "a new rule" and the de-duplication group are judged by.
fn rule_set(s: &ScoredRow) -> Vec<String> {
    let mut set: Vec<String> =
        crate::features::rules::rule_ids(s.row.rules & !s.row.habitual_rules).into_iter().map(String::from).collect();
    set.extend(
        s.signatures
            .iter()
            .filter(|g| !g.habitual && g.level >= crate::sigma::Level::Medium)
            .map(|g| format!("sigma:{}", g.id)),
    );
    set.sort_unstable();
    set.dedup();
    set
}

/// The alert id: a hash of the window and the alert's number, in hex.
fn alert_id(start: i64, entity: &str, n: u32) -> String {
    format!("{:016x}", crate::parse::fnv1a(format!("{start}\0{entity}\0{n}").as_bytes()))
}

impl Decider {
    /// A decider remembering in `path` (none keeps it in memory). A damaged ledger is set
    /// aside with a warning: the windows it held may alert again, which loses nothing.
    pub fn open(cfg: DecideConfig, path: Option<PathBuf>) -> Self {
        let ledger: Ledger = path
            .as_ref()
            .and_then(|p| match std::fs::read(p) {
                Ok(bytes) => match serde_json::from_slice(&bytes) {
                    Ok(l) => Some(l),
                    Err(e) => {
                        tracing::warn!("{}: not an alert ledger ({e}); starting a new one", p.display());
                        None
                    }
                },
                Err(_) => None,
            })
            .unwrap_or_default();
        Self {
            cfg,
            path,
            windows: ledger.windows.into_iter().map(|s| ((s.start, s.entity.clone()), s)).collect(),
            groups: ledger.groups.into_iter().map(|g| (g.key.clone(), g)).collect(),
            changed: false,
        }
    }

    /// The alerts `snap` calls for at wall-clock time `now`, in rank order. The memory moves
    /// on at once; [`Decider::save`] keeps it, to be called once the alerts are spooled.
    pub fn decide(&mut self, snap: &Snapshot, now: i64) -> Vec<Decision> {
        let newest = snap.sources.iter().filter_map(|s| s.newest_event).max();
        let backfilling = snap.sources.iter().any(|s| matches!(s.status, SourceStatus::Backfilling { .. }));
        let finished = !snap.sources.is_empty() && snap.sources.iter().all(|s| s.status == SourceStatus::Finished);
        let mut out = Vec::new();
        for (i, s) in snap.rows.iter().enumerate() {
            if s.suppressed || newest.is_some_and(|n| n - s.row.window_end > self.cfg.max_age_secs) {
                continue;
            }
            let high = crate::model::high_rule(&s.row, 0);
            let closed = finished || newest.is_some_and(|n| s.row.window_end <= n);
            // While a source still reads its back-fill the ranking moves with every file: the
            // model's flags wait for it, the rules do not.
            let flagged = s.flagged && closed && !backfilling;
            if !(high || flagged) {
                continue;
            }
            let rules = rule_set(s);
            let key = (s.row.window_start, s.row.entity.clone());
            let trigger = match self.windows.get(&key) {
                None if high => Trigger::HighRule,
                None => Trigger::Flagged,
                Some(last) if rules.iter().any(|r| !last.rules.contains(r)) => Trigger::NewRule,
                Some(last) if flagged && s.rank_score >= last.rank_score + self.cfg.margin => Trigger::Rose,
                Some(_) => continue,
            };
            let sent = self.windows.entry(key).or_insert_with(|| Sent {
                start: s.row.window_start,
                entity: s.row.entity.clone(),
                rank_score: s.rank_score,
                rules: Vec::new(),
                count: 0,
            });
            let n = sent.count;
            sent.count += 1;
            sent.rank_score = s.rank_score;
            sent.rules = rules.clone();
            self.changed = true;
            let gkey = format!("{}\0{}", s.row.entity, rules.join(","));
            let group = self.groups.entry(gkey.clone()).or_insert(Group { key: gkey, at: i64::MIN, folded: 0 });
            if trigger != Trigger::NewRule && group.at.saturating_add(self.cfg.dedupe_secs) > now {
                group.folded += 1;
                continue;
            }
            out.push(Decision {
                row: i,
                trigger,
                id: alert_id(s.row.window_start, &s.row.entity, n),
                folded: group.folded,
            });
            group.at = now;
            group.folded = 0;
        }
        if let Some(n) = newest {
            let before = self.windows.len();
            self.windows.retain(|(start, _), _| *start >= n - self.cfg.retain_secs);
            self.changed |= before != self.windows.len();
        }
        let before = self.groups.len();
        // A group with folded windows waits for its next alert to report them, within reason.
        let (dedupe, retain) = (self.cfg.dedupe_secs, self.cfg.retain_secs);
        self.groups.retain(|_, g| g.at.saturating_add(if g.folded > 0 { retain.max(dedupe) } else { dedupe }) > now);
        self.changed |= before != self.groups.len();
        out
    }

    /// How it decides.
    pub fn config(&self) -> DecideConfig {
        self.cfg
    }

    /// Keeps the memory, atomically, when it changed.
    pub fn save(&mut self) -> anyhow::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        if !self.changed {
            return Ok(());
        }
        let ledger = Ledger {
            windows: self.windows.values().cloned().collect(),
            groups: self.groups.values().cloned().collect(),
        };
        crate::sys::write_atomic(path, |w| serde_json::to_writer(w, &ledger).map_err(std::io::Error::other))?;
        self.changed = false;
        Ok(())
    }
}
