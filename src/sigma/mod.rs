//! Sigma rules beside the score: community signatures for CloudTrail, matched per record.
//! Signatures need no baseline, so they see on day one what the forest learns only with
//! history. Rules are the user's (`--sigma DIR`, the config dir's `sigma/`); none are shipped.
//!
//! Loading and matching are [`rsigma_eval`]'s; what is ours is the index by `eventName`
//! ([`index`]), the view of a parsed record ([`view`]) and the report of what did not load.

mod index;
mod load;
mod memo;
mod view;
mod windows;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use rsigma_eval::{CompiledRule, CorrelationConfig, CorrelationEngine, EvaluationResult};
use rustc_hash::{FxHashMap, FxHashSet};

pub use load::LoadReport;
pub use windows::{HitOut, SavedHit, Signature, Starts, Window, WindowHits};

use crate::parse::{CallSet, Event};
use memo::Memo;

/// A rule's level, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// Context, not an alert: becomes a feature, never a badge.
    #[default]
    Informational,
    /// Low.
    Low,
    /// Medium: lifts a window's rank.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl From<Option<rsigma_parser::Level>> for Level {
    fn from(l: Option<rsigma_parser::Level>) -> Self {
        use rsigma_parser::Level as L;
        match l {
            None | Some(L::Informational) => Level::Informational,
            Some(L::Low) => Level::Low,
            Some(L::Medium) => Level::Medium,
            Some(L::High) => Level::High,
            Some(L::Critical) => Level::Critical,
        }
    }
}

impl Level {
    /// What a hit adds to its window's rank: medium and above only (low and informational
    /// hits are shown and counted, not ranked), within the cap the built-in rules share (the
    /// model's rank formula).
    pub fn weight(self) -> f64 {
        match self {
            Level::Informational | Level::Low => 0.0,
            Level::Medium => 0.15,
            Level::High => 0.25,
            Level::Critical => 0.35,
        }
    }

    /// The name Sigma uses.
    pub fn name(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "informational" | "info" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return Err(format!("{s:?} is no Sigma level (informational, low, medium, high, critical)")),
        })
    }
}

/// What an analyst reads about a rule.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    /// The rule's `id` (its title when it has none).
    pub id: String,
    /// `title`.
    pub title: String,
    /// `level`.
    pub level: Level,
    /// `tags`.
    pub tags: Vec<String>,
    /// ATT&CK technique ids from the tags (`T1078.004`).
    pub techniques: Vec<String>,
    /// `high: CloudTrail Logging Stopped`, scrubbed for the terminal: what a record it fired on
    /// is marked with (shared by every such record).
    pub label: Arc<str>,
}

/// Loaded rules, indexed by the call they are about.
pub struct Rules {
    /// Detection rules first (their index is their [`RuleIdx`]), then correlations.
    infos: Vec<RuleInfo>,
    compiled: Vec<CompiledRule>,
    by_key: HashMap<String, RuleIdx>,
    by_call: FxHashMap<Box<str>, Vec<RuleIdx>>,
    /// Rules about every call with a name starting so (`eventName|startswith:`), lower-cased.
    by_prefix: Vec<(Box<str>, Vec<RuleIdx>)>,
    any_call: Vec<RuleIdx>,
    /// The correlations with the rules they count, when there are any.
    correlations: Option<rsigma_parser::SigmaCollection>,
    /// Rules a correlation counts: their matches go to the correlation engine in full.
    counted: FxHashSet<RuleIdx>,
    /// Rules counted only by a correlation (`generate: false`): not hits of their own.
    quiet: FxHashSet<RuleIdx>,
    /// Per detection rule: whether matching it reads fields kept only in the raw record.
    reads_raw: Vec<bool>,
    /// Per detection rule: the fields it reads, when all are typed (its answers can be
    /// remembered by their values).
    fields: Vec<Option<Box<[Box<str>]>>>,
}

/// Which rule fired: an index into [`Rules::info`].
pub type RuleIdx = u32;

impl Rules {
    /// Loads every rule under `dirs` (files or folders, searched recursively) except the ids
    /// listed in `ignore` files and rules below `min`. A rule whose id was loaded already (a
    /// copy, as Suzaku keeps beside its correlations) is loaded once.
    pub fn load(dirs: &[PathBuf], ignore: &[PathBuf], min: Level) -> (Rules, LoadReport) {
        let (all, mut report) = load::collect(dirs, ignore, min);
        let mut rules = Rules {
            infos: Vec::new(),
            compiled: Vec::new(),
            by_key: HashMap::new(),
            by_call: FxHashMap::default(),
            by_prefix: Vec::new(),
            any_call: Vec::new(),
            correlations: None,
            counted: FxHashSet::default(),
            quiet: FxHashSet::default(),
            reads_raw: Vec::new(),
            fields: Vec::new(),
        };
        // How many copies of each rule were read: a rule only a correlation's file holds is
        // quiet when that correlation says `generate: false`.
        let mut copies: HashMap<String, usize> = HashMap::new();
        for r in &all.rules {
            let key = r.id.clone().unwrap_or_else(|| r.title.clone());
            *copies.entry(key.clone()).or_default() += 1;
            if rules.by_key.contains_key(&key) {
                report.rules -= 1;
                report.copies += 1;
                continue;
            }
            let compiled = match rsigma_eval::compile_rule(r) {
                Ok(c) => c,
                Err(e) => {
                    report.problems.push((PathBuf::from(&r.title), format!("rule not compiled: {e}")));
                    report.rules -= 1;
                    continue;
                }
            };
            let idx = rules.infos.len() as RuleIdx;
            match index::calls(r) {
                Some(calls) => calls.into_iter().for_each(|c| rules.file(c, idx)),
                None => rules.any_call.push(idx),
            }
            rules.compiled.push(compiled);
            let fields = index::typed_fields(r);
            rules.reads_raw.push(fields.is_none());
            rules.fields.push(fields.map(|f| f.into_iter().map(Into::into).collect()));
            // Loaded below --sigma-level only because a correlation counts it: it feeds the
            // correlation but is no hit of its own.
            if Level::from(r.level) < min {
                rules.quiet.insert(idx);
            }
            rules.add_info(key, &r.title, r.level, &r.tags);
        }
        if all.correlations.is_empty() {
            return (rules, report);
        }
        // Checked now, so that a bad correlation is reported once, not at every matcher; the
        // rules it would have counted then stay hits of their own.
        if let Err(e) = CorrelationEngine::new(CorrelationConfig::default()).add_collection(&all) {
            report.problems.push((PathBuf::from("correlations"), format!("correlations not loaded: {e}")));
            report.correlations = 0;
            return (rules, report);
        }
        for c in &all.correlations {
            let idxs: Vec<RuleIdx> = c.rules.iter().filter_map(|r| rules.by_key.get(r).copied()).collect();
            rules.counted.extend(&idxs);
            if index::correlation_reads_raw(c) {
                idxs.iter().for_each(|&i| rules.reads_raw[i as usize] = true);
            }
            if !c.generate {
                rules.quiet.extend(idxs.into_iter().filter(|&i| copies.get(&rules.infos[i as usize].id) == Some(&1)));
            }
        }
        for c in &all.correlations {
            rules.add_info(c.id.clone().unwrap_or_else(|| c.title.clone()), &c.title, c.level, &c.tags);
        }
        // The engine is given only the rules the correlations count: it looks each match up
        // among its rules one by one.
        let mut all = all;
        all.rules.retain(|r| {
            let key = r.id.as_deref().unwrap_or(&r.title);
            rules.by_key.get(key).is_some_and(|i| rules.counted.contains(i))
        });
        rules.correlations = Some(all);
        (rules, report)
    }

    /// The rules `folders` hold, or `None` when no folder is given ([`LoadReport::summary`]
    /// says what loaded and what did not).
    pub fn load_given(folders: &[PathBuf], ignore: &[PathBuf], min: Level) -> Option<(Rules, LoadReport)> {
        (!folders.is_empty()).then(|| Rules::load(folders, ignore, min))
    }

    fn file(&mut self, call: index::Call, idx: RuleIdx) {
        match call {
            index::Call::Name(n) => self.by_call.entry(n.into()).or_default().push(idx),
            index::Call::Prefix(p) => match self.by_prefix.iter_mut().find(|(q, _)| **q == *p) {
                Some((_, idxs)) => idxs.push(idx),
                None => self.by_prefix.push((p.into(), vec![idx])),
            },
        }
    }

    fn add_info(&mut self, key: String, title: &str, level: Option<rsigma_parser::Level>, tags: &[String]) {
        let techniques = tags.iter().filter_map(|t| technique(t)).collect();
        self.by_key.insert(key.clone(), self.infos.len() as RuleIdx);
        let level: Level = level.into();
        let label = crate::parse::sanitize::clean_owned(&format!("{}: {title}", level.name())).into();
        self.infos.push(RuleInfo { id: key, title: title.to_owned(), level, tags: tags.to_vec(), techniques, label });
    }

    /// The calls (lower-cased `eventName`) whose records the rules need whole, or `None` when a
    /// rule about every call does: what [`crate::parse::ParseOptions::raw_calls`] takes in a
    /// run with no other use for raw records.
    pub fn raw_calls(&self) -> Option<CallSet> {
        let reads = |idxs: &[RuleIdx]| idxs.iter().any(|&i| self.reads_raw[i as usize]);
        if reads(&self.any_call) {
            return None;
        }
        let mut set = CallSet::default();
        self.by_call.iter().filter(|(_, idxs)| reads(idxs)).for_each(|(call, _)| set.name(call));
        self.by_prefix.iter().filter(|(_, idxs)| reads(idxs)).for_each(|(prefix, _)| set.prefix(prefix));
        Some(set)
    }

    /// How many rules (correlations included) are loaded.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// Whether no rule is loaded.
    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// The rule whose id (or title, for a rule without one) is `id`.
    pub fn index_of(&self, id: &str) -> Option<RuleIdx> {
        self.by_key.get(id).copied()
    }

    /// The rule `idx` names.
    pub fn info(&self, idx: RuleIdx) -> &RuleInfo {
        &self.infos[idx as usize]
    }

    /// The detection rules `view` matches (correlations need a [`Matcher`]), ascending. Only
    /// the rules for its call are tried, and only whether they match is asked: the engine's
    /// full result (matched fields, copies of title and tags) is built for nothing else; a
    /// rule on typed fields alone answers from `memo` when their values were seen before.
    fn detect(&self, ev: &Event, view: &view::View, memo: &mut Memo) -> Vec<RuleIdx> {
        let mut buf = [0; 64];
        let name = crate::text::ascii_lower(&ev.name, &mut buf);
        let bucket = name.and_then(|n| self.by_call.get(n));
        let prefixed = self.by_prefix.iter().filter(|(p, _)| name.is_some_and(|n| n.starts_with(&**p)));
        let mut out: Vec<RuleIdx> = self
            .any_call
            .iter()
            .chain(bucket.into_iter().flatten())
            .chain(prefixed.flat_map(|(_, idxs)| idxs))
            .copied()
            .filter(|&i| match &self.fields[i as usize] {
                Some(fields) => memo.answer(i, fields, view, || self.matches(i, view)),
                None => self.matches(i, view),
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    fn matches(&self, idx: RuleIdx, view: &view::View) -> bool {
        let rule = &self.compiled[idx as usize];
        let mut selections = Vec::new();
        rule.conditions
            .iter()
            .any(|c| rsigma_eval::compiler::eval_condition(c, &rule.detections, view, &mut selections))
    }

    fn indexes<'a>(&self, results: impl IntoIterator<Item = &'a EvaluationResult>) -> Vec<RuleIdx> {
        let key = |r: &'a EvaluationResult| r.header.rule_id.as_deref().unwrap_or(&r.header.rule_title);
        let mut out: Vec<RuleIdx> = results.into_iter().filter_map(|r| self.by_key.get(key(r)).copied()).collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rules({})", self.len())
    }
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Matcher({} rules)", self.rules.len())
    }
}

/// Matches records in event-time order, keeping the state correlations count in.
pub struct Matcher {
    rules: Arc<Rules>,
    correlations: Option<CorrelationEngine>,
    memo: Memo,
}

impl Matcher {
    /// A matcher with no correlation state yet.
    pub fn new(rules: Arc<Rules>) -> Self {
        let correlations = rules.correlations.as_ref().and_then(|all| {
            let mut engine = CorrelationEngine::new(CorrelationConfig::default());
            engine.add_collection(all).ok().map(|_| engine)
        });
        Matcher { rules, correlations, memo: Memo::default() }
    }

    /// The rules it matches.
    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }

    /// The rules `ev` fired, correlations included (a correlation fires on the record that
    /// completes it). Sorted, each once.
    pub fn hits(&mut self, ev: &Event) -> Vec<RuleIdx> {
        let view = view::View::new(ev);
        let mut hits = self.rules.detect(ev, &view, &mut self.memo);
        // The correlation engine takes the engine's results: built only for the rules it
        // counts.
        let fired = match &mut self.correlations {
            Some(c) => {
                let results: Vec<EvaluationResult> = hits
                    .iter()
                    .filter(|i| self.rules.counted.contains(i))
                    .filter_map(|&i| rsigma_eval::evaluate_rule(&self.rules.compiled[i as usize], &view))
                    .collect();
                if results.is_empty() {
                    Vec::new()
                } else {
                    let out = c.process_with_detections(&view, results, ev.time);
                    self.rules.indexes(out.iter().filter(|r| r.is_correlation()))
                }
            }
            None => Vec::new(),
        };
        hits.retain(|i| !self.rules.quiet.contains(i));
        if !fired.is_empty() {
            hits.extend(fired);
            hits.sort_unstable();
            hits.dedup();
        }
        hits
    }
}

/// `attack.t1078.004` → `T1078.004`.
fn technique(tag: &str) -> Option<String> {
    let t = tag.strip_prefix("attack.")?;
    let digits = t.strip_prefix('t').or_else(|| t.strip_prefix('T'))?;
    let ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.as_bytes()[0].is_ascii_digit();
    ok.then(|| format!("T{digits}"))
}

#[cfg(test)]
mod tests;
