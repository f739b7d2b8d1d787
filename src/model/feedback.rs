//! Analyst labels: stored append-only as JSON lines, and turned into training data.
//!
//! Durability: each label is one line appended with `O_APPEND` and synced before the call
//! returns, so a crash can at worst leave a partial *last* line; earlier lines are never
//! rewritten. A partial or corrupt line is reported and skipped on load, and the next append
//! starts on a fresh line.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::features::{FeatureRow, N_FEATURES};

/// The labels' file in the data directory.
pub const LABELS_FILE: &str = "labels.jsonl";

/// An analyst's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Not an attack: learn it as normal.
    FalsePositive,
    /// An attack: keep it flagged.
    TruePositive,
}

/// How far a false positive reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every window of this entity.
    #[default]
    Entity,
    /// Windows of this entity that call nothing beyond this window's event names.
    EntityEvents,
    /// Every window of this principal, from any address.
    Principal,
}

impl Scope {
    /// The next scope, in the dialog's order.
    pub fn next(self) -> Scope {
        match self {
            Scope::Entity => Scope::EntityEvents,
            Scope::EntityEvents => Scope::Principal,
            Scope::Principal => Scope::Entity,
        }
    }
    /// The scope in words, for the dialog and notices.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Entity => "this entity",
            Scope::EntityEvents => "this entity, these event names",
            Scope::Principal => "this principal everywhere",
        }
    }
}

/// One line of the labels file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// Unique id of the line.
    pub id: String,
    /// Set on an undo line: the id of the label it withdraws.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
    /// The verdict; `None` on an undo line.
    #[serde(default)]
    pub verdict: Option<Verdict>,
    /// How far a false positive reaches.
    #[serde(default)]
    pub scope: Scope,
    /// The window's entity.
    pub entity: String,
    /// The window's principal.
    pub principal: String,
    /// The window's source address.
    pub source_ip: String,
    /// The window's start.
    pub window_start: i64,
    /// The window's end.
    pub window_end: i64,
    /// Hashes of the event names the window called (for the entity-with-these-events scope).
    #[serde(default)]
    pub names: Vec<u64>,
    /// Rule bits the window had: a false positive says they are expected here.
    #[serde(default)]
    pub rules: u16,
    /// The analyst's note.
    #[serde(default)]
    pub note: Option<String>,
    /// The window's features when labelled.
    #[serde(default)]
    pub features: Vec<f64>,
    /// The window's score when labelled.
    #[serde(default)]
    pub score: f64,
    /// The model generation it was labelled in.
    #[serde(default)]
    pub generation: u64,
    /// When it was labelled, Unix seconds.
    pub labelled_at: i64,
    /// After this time the label no longer applies.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

impl Label {
    /// Every text field fit for display (see [`crate::parse::sanitize::clean`]).
    pub fn scrubbed(mut self) -> Label {
        use crate::parse::sanitize::clean_owned;
        for field in [&mut self.id, &mut self.entity, &mut self.principal, &mut self.source_ip] {
            *field = clean_owned(field);
        }
        for field in [&mut self.undoes, &mut self.note].into_iter().flatten() {
            *field = clean_owned(field);
        }
        self
    }

    /// A label on `row`'s window.
    pub fn new(row: &crate::model::ScoredRow, verdict: Verdict, scope: Scope, generation: u64, now: i64) -> Label {
        let r = &row.row;
        Label {
            id: format!(
                "{now:x}-{:016x}-{}",
                crate::parse::fnv1a(format!("{}{}{:?}", r.entity, r.window_start, verdict).as_bytes()),
                unique_suffix()
            ),
            undoes: None,
            verdict: Some(verdict),
            scope,
            entity: r.entity.clone(),
            principal: r.principal.clone(),
            source_ip: r.source_ip.clone(),
            window_start: r.window_start,
            window_end: r.window_end,
            names: r.names.clone(),
            rules: r.rules,
            note: None,
            features: r.features.to_vec(),
            score: row.score,
            generation,
            labelled_at: now,
            expires_at: None,
        }
    }

    /// The line that withdraws this label.
    pub fn undo_of(&self, now: i64) -> Label {
        let mut u = self.clone();
        u.undoes = Some(self.id.clone());
        u.id = format!("{now:x}-undo-{}-{}", self.id, unique_suffix());
        u.labelled_at = now;
        u
    }

    fn applies(&self, row: &FeatureRow) -> bool {
        match self.scope {
            Scope::Entity => row.entity == self.entity,
            Scope::EntityEvents => {
                row.entity == self.entity && {
                    let mine: FxHashSet<u64> = self.names.iter().copied().collect();
                    row.names.iter().all(|n| mine.contains(n))
                }
            }
            Scope::Principal => row.principal == self.principal,
        }
    }
}

/// What makes a label id unique beyond its time and window: this process and a counter, so
/// two identical labels in one second (from one console or two) are two labels, and an undo
/// withdraws only the one it names.
fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{:x}.{:x}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The labels in force, after undos and expiry.
#[derive(Debug, Default, Clone)]
pub struct Feedback {
    /// The labels in force, oldest first.
    pub labels: Vec<Label>,
}

/// Copies of each window a false positive covers that join the training set. Replication
/// alone barely moves an isolated point (measured: 26 copies in 2,600 rows left labelled
/// windows at 0.60–0.66), so the fitted forest also re-weights the leaves these windows
/// fall in (see `IsolationForest::mark_nominal`).
pub const REPLICAS: usize = 4;

impl Feedback {
    /// The labels in force as of `now`: expired ones and withdrawn ones dropped.
    pub fn from_lines(lines: Vec<Label>, now: i64) -> Feedback {
        let undone: FxHashSet<String> = lines.iter().filter_map(|l| l.undoes.clone()).collect();
        let labels = lines
            .into_iter()
            .filter(|l| l.undoes.is_none() && !undone.contains(&l.id) && l.expires_at.is_none_or(|t| t > now))
            .collect();
        Feedback { labels }
    }

    /// Whether no label is in force.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Extra training rows: every window covered by a false positive, replicated.
    pub fn normal_rows<'a>(&self, rows: &'a [FeatureRow]) -> Vec<&'a [f64; N_FEATURES]> {
        let fps: Vec<&Label> = self.labels.iter().filter(|l| l.verdict == Some(Verdict::FalsePositive)).collect();
        if fps.is_empty() {
            return Vec::new();
        }
        rows.iter()
            .filter(|r| fps.iter().any(|l| l.applies(r)))
            .flat_map(|r| std::iter::repeat_n(&r.features, REPLICAS))
            .collect()
    }

    /// Whether a false positive covers `row`.
    pub fn covers_as_normal(&self, row: &FeatureRow) -> bool {
        self.labels.iter().any(|l| l.verdict == Some(Verdict::FalsePositive) && l.applies(row))
    }

    /// Rule bits that false positives covering `row` declared expected.
    pub fn expected_rules(&self, row: &FeatureRow) -> u16 {
        self.labels
            .iter()
            .filter(|l| l.verdict == Some(Verdict::FalsePositive) && l.applies(row))
            .fold(0, |bits, l| bits | l.rules)
    }

    /// The verdict an analyst gave this very window, if any (the latest wins).
    pub fn verdict_for(&self, row: &FeatureRow) -> Option<Verdict> {
        self.labels
            .iter()
            .rev()
            .find(|l| l.window_start == row.window_start && l.entity == row.entity)
            .and_then(|l| l.verdict)
    }
}

/// The labels file in a data directory.
pub struct LabelStore {
    path: PathBuf,
}

/// What loading found besides the labels.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Label lines read.
    pub lines: usize,
    /// Lines that were not a label.
    pub corrupt: usize,
    /// The first such line's number.
    pub first_corrupt_line: Option<usize>,
}

impl LabelStore {
    /// The labels file in `dir`.
    pub fn new(dir: &Path) -> LabelStore {
        LabelStore { path: dir.join(LABELS_FILE) }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every well-formed line; corrupt lines are counted, not fatal.
    pub fn load(&self) -> anyhow::Result<(Vec<Label>, LoadReport)> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), LoadReport::default())),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.path.display())),
        };
        let path = self.path.display().to_string();
        read_lines(BufReader::new(file), &path)
    }

    /// Appends one label durably.
    pub fn append(&self, label: &Label) -> anyhow::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&self.path)
            .with_context(|| format!("cannot open {}", self.path.display()))?;
        let mut line = serde_json::to_vec(label)?;
        line.push(b'\n');
        // A torn last line from a crash must not swallow this one.
        if f.metadata()?.len() > 0 {
            f.seek(SeekFrom::End(-1))?;
            let mut last = [0u8; 1];
            f.read_exact(&mut last)?;
            if last[0] != b'\n' {
                line.insert(0, b'\n');
            }
        }
        f.write_all(&line).with_context(|| format!("cannot write {}", self.path.display()))?;
        f.sync_data().with_context(|| format!("cannot sync {}", self.path.display()))?;
        Ok(())
    }

    /// Appends an undo of `of`.
    pub fn undo(&self, of: &Label, now: i64) -> anyhow::Result<()> {
        self.append(&of.undo_of(now))
    }
}

/// Every well-formed label line of `r` (a labels file named `path` in messages); corrupt
/// lines are counted, not fatal. Text fields are scrubbed.
pub fn read_lines(r: impl BufRead, path: &str) -> anyhow::Result<(Vec<Label>, LoadReport)> {
    let mut report = LoadReport::default();
    let mut out = Vec::new();
    for (i, line) in r.split(b'\n').enumerate() {
        let line = line.with_context(|| format!("cannot read {path}"))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        report.lines += 1;
        match serde_json::from_slice::<Label>(&line) {
            // The file can be edited by hand or by anyone who can write the data dir:
            // its text reaches the terminal and CSV cells, so it is scrubbed as logs are.
            Ok(l) => out.push(l.scrubbed()),
            Err(e) => {
                report.corrupt += 1;
                report.first_corrupt_line.get_or_insert(i + 1);
                tracing::warn!("{path}: line {} skipped: {e}", i + 1);
            }
        }
    }
    Ok((out, report))
}

#[cfg(test)]
mod tests;
