//! Sigma hits gathered per entity-window, the unit trailtop ranks: which rules fired in it and
//! how often, what that adds to its rank, and what `scan` prints of it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{Level, RuleIdx, Rules};
use crate::features::FeatureRow;

/// Hits by window start, then entity.
#[derive(Debug, Default)]
pub struct WindowHits {
    by_window: HashMap<i64, HashMap<String, BTreeMap<RuleIdx, u32>>>,
}

/// One rule's hits in a window, as `scan` prints them.
#[derive(Debug, Serialize, PartialEq)]
pub struct HitOut<'r> {
    /// The rule's id.
    pub id: &'r str,
    /// Its title.
    pub title: &'r str,
    /// Its level.
    pub level: &'static str,
    /// Its tags.
    pub tags: &'r [String],
    /// Records of the window it fired on.
    pub count: u32,
}

impl WindowHits {
    /// Counts `hits` (from one record) for the window starting at `start` of `entity`.
    pub fn add(&mut self, start: i64, entity: &str, hits: &[RuleIdx]) {
        if hits.is_empty() {
            return;
        }
        let windows = self.by_window.entry(start).or_default();
        let counts = match windows.get_mut(entity) {
            Some(c) => c,
            None => windows.entry(entity.to_owned()).or_default(),
        };
        for &h in hits {
            *counts.entry(h).or_default() += 1;
        }
    }

    fn of(&self, row: &FeatureRow) -> Option<&BTreeMap<RuleIdx, u32>> {
        self.by_window.get(&row.window_start)?.get(&row.entity)
    }

    /// What the window's strongest hit adds to its rank.
    pub fn weight(&self, rules: &Rules, row: &FeatureRow) -> f64 {
        self.of(row).map_or(0.0, |c| c.keys().map(|&i| rules.info(i).level.weight()).fold(0.0, f64::max))
    }

    /// The window's hits, highest level first, then the most frequent.
    pub fn out<'r>(&self, rules: &'r Rules, row: &FeatureRow) -> Vec<HitOut<'r>> {
        let mut out: Vec<(Level, HitOut<'r>)> = self
            .of(row)
            .into_iter()
            .flatten()
            .map(|(&i, &count)| {
                let r = rules.info(i);
                (r.level, HitOut { id: &r.id, title: &r.title, level: r.level.name(), tags: &r.tags, count })
            })
            .collect();
        out.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.count.cmp(&a.1.count)).then(a.1.title.cmp(b.1.title)));
        out.into_iter().map(|(_, h)| h).collect()
    }

    /// The ATT&CK techniques of the window's hits, each once, sorted.
    pub fn techniques<'r>(&self, rules: &'r Rules, row: &FeatureRow) -> Vec<&'r str> {
        let mut t: Vec<&str> = self
            .of(row)
            .into_iter()
            .flatten()
            .flat_map(|(&i, _)| rules.info(i).techniques.iter().map(String::as_str))
            .collect();
        t.sort_unstable();
        t.dedup();
        t
    }
}
