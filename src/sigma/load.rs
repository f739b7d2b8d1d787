//! Reading rule files: folders searched recursively (as a clone of SigmaHQ or Suzaku is laid
//! out), ignore lists in Suzaku's format, a minimum level. Every file that does not load, and
//! every rule left out, is counted with its reason.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rsigma_parser::SigmaCollection;

use super::Level;

/// What loading found.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Rule files read.
    pub files: usize,
    /// Detection rules loaded.
    pub rules: usize,
    /// Correlation rules loaded.
    pub correlations: usize,
    /// Rules left out by an ignore list.
    pub ignored: usize,
    /// Rules below `--sigma-level`.
    pub below_level: usize,
    /// Rules for other logs than CloudTrail.
    pub other_logs: usize,
    /// Copies of a rule (same id) already loaded.
    pub copies: usize,
    /// Files or rules that could not be used, with the reason.
    pub problems: Vec<(PathBuf, String)>,
}

impl LoadReport {
    /// One line: what loaded, what was left out and why, and the first problem.
    pub fn summary(&self) -> String {
        let mut line =
            format!("sigma: {} rules and {} correlations from {} files", self.rules, self.correlations, self.files);
        let left: Vec<String> = [
            (self.ignored, "ignored"),
            (self.below_level, "below --sigma-level"),
            (self.other_logs, "not for CloudTrail"),
            (self.copies, "copies of a rule already loaded"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, why)| format!("{n} {why}"))
        .collect();
        if !left.is_empty() {
            line.push_str(&format!("; left out: {}", left.join(", ")));
        }
        if let Some((path, why)) = self.problems.first() {
            let more = self.problems.len() - 1;
            line.push_str(&format!("; {} not loaded (first: {}: {why})", self.problems.len(), path.display()));
            if more > 0 {
                line.push_str(&format!(", {more} more"));
            }
        }
        crate::parse::sanitize::clean_owned(&line)
    }
}

/// Every rule in `dirs` (files or folders), minus the ids `ignore_files` list and the rules
/// below `min`. A correlation keeps the rules it counts even when those are below `min`.
pub(super) fn collect(dirs: &[PathBuf], ignore_files: &[PathBuf], min: Level) -> (SigmaCollection, LoadReport) {
    let mut report = LoadReport::default();
    let mut ignore = HashSet::new();
    for f in ignore_files {
        match std::fs::read_to_string(f) {
            Ok(text) => ignore.extend(ignore_ids(&text)),
            Err(e) => report.problems.push((f.clone(), format!("ignore list not read: {e}"))),
        }
    }
    let mut all = SigmaCollection::new();
    for dir in dirs {
        for entry in walkdir::WalkDir::new(dir).follow_links(true).sort_by_file_name() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    report.problems.push((dir.clone(), e.to_string()));
                    continue;
                }
            };
            if !entry.file_type().is_file() || !is_rule_file(entry.path()) {
                continue;
            }
            report.files += 1;
            read_file(entry.path(), &mut all, &mut report);
        }
    }
    let cloudtrail = |ls: &rsigma_parser::LogSource| {
        ls.product.as_deref().is_none_or(|p| p.eq_ignore_ascii_case("aws"))
            && ls.service.as_deref().is_none_or(|s| s.eq_ignore_ascii_case("cloudtrail"))
    };
    let before = all.rules.len();
    all.rules.retain(|r| cloudtrail(&r.logsource));
    report.other_logs = before - all.rules.len();
    let ignored = |id: &Option<String>| id.as_deref().is_some_and(|id| ignore.contains(&id.to_ascii_lowercase()));
    let before = all.rules.len() + all.correlations.len();
    all.rules.retain(|r| !ignored(&r.id));
    all.correlations.retain(|c| !ignored(&c.id));
    report.ignored = before - all.rules.len() - all.correlations.len();
    resolve_titles(&mut all);
    // Correlations below the level go; the rules they count stay, whatever their level.
    let before = all.correlations.len();
    all.correlations.retain(|c| Level::from(c.level) >= min);
    report.below_level = before - all.correlations.len();
    let counted: HashSet<&str> = all.correlations.iter().flat_map(|c| c.rules.iter().map(String::as_str)).collect();
    let before = all.rules.len();
    all.rules.retain(|r| {
        Level::from(r.level) >= min
            || [r.id.as_deref(), r.name.as_deref()].into_iter().flatten().any(|k| counted.contains(k))
    });
    report.below_level += before - all.rules.len();
    report.rules = all.rules.len();
    report.correlations = all.correlations.len();
    for (path, why) in &report.problems {
        tracing::warn!("sigma: {}: {why}", path.display());
    }
    (all, report)
}

fn is_rule_file(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

fn read_file(path: &Path, all: &mut SigmaCollection, report: &mut LoadReport) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return report.problems.push((path.to_path_buf(), e.to_string())),
    };
    match rsigma_parser::parse_sigma_yaml(&text) {
        Ok(c) => {
            for e in &c.errors {
                report.problems.push((path.to_path_buf(), e.clone()));
            }
            if !c.filters.is_empty() {
                let n = c.filters.len();
                report.problems.push((path.to_path_buf(), format!("{n} filter rule(s) not applied (not supported)")));
            }
            all.rules.extend(c.rules);
            all.correlations.extend(c.correlations);
        }
        Err(e) => report.problems.push((path.to_path_buf(), e.to_string())),
    }
}

/// The ids of an ignore list: one per line, `#` starts a comment (Suzaku's format).
fn ignore_ids(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|id| !id.is_empty())
        .map(str::to_ascii_lowercase)
}

/// Suzaku's correlations name the rules they count by title; the engine resolves ids and
/// names. A reference that is no id or name but a title stands for every rule of that title.
fn resolve_titles(all: &mut SigmaCollection) {
    let known: HashSet<String> = all.rules.iter().flat_map(|r| [r.id.clone(), r.name.clone()]).flatten().collect();
    let mut by_title: HashMap<&str, Vec<String>> = HashMap::new();
    for r in &all.rules {
        if let Some(id) = r.id.clone().or_else(|| r.name.clone()) {
            let ids = by_title.entry(r.title.as_str()).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    for c in &mut all.correlations {
        let refs = std::mem::take(&mut c.rules);
        for reference in refs {
            match by_title.get(reference.as_str()).filter(|_| !known.contains(&reference)) {
                Some(ids) => c.rules.extend(ids.iter().cloned()),
                None => c.rules.push(reference),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ignore_lists_are_read_as_suzaku_writes_them() {
        let text = "# header\n\nAB-1 # too noisy\n  cd-2\n#ef-3\n";
        assert_eq!(super::ignore_ids(text).collect::<Vec<_>>(), ["ab-1", "cd-2"]);
    }
}
