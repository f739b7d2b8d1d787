//! Sigma hits gathered per entity-window, the unit trailtop ranks: which rules fired in it and
//! how often, what that adds to its rank, and what `scan` prints of it.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use serde::Serialize;

use super::{Level, RuleIdx, Rules};

/// Hits by window start, then entity.
#[derive(Debug, Default)]
pub struct WindowHits {
    by_window: FxHashMap<i64, FxHashMap<String, BTreeMap<RuleIdx, u32>>>,
}

/// An entity-window: its start and its entity.
pub type Window<'a> = (i64, &'a str);

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
    /// The entity hits it habitually: listed, not ranked.
    pub habitual: bool,
    #[serde(skip)]
    idx: RuleIdx,
}

/// Each entity's window starts, and when it hit each rule, sorted: what habit is judged over,
/// built once for a whole ranking (judging each window by walking its entity's history made
/// a long-lived entity's windows cost the square of their number).
#[derive(Debug, Default)]
pub struct Starts<'a> {
    windows: FxHashMap<&'a str, Vec<i64>>,
    hit_at: FxHashMap<(&'a str, RuleIdx), Vec<i64>>,
}

impl<'a> Starts<'a> {
    /// The starts of `windows`, by entity, and of the windows in which `hits` has each rule.
    pub fn new(windows: impl Iterator<Item = Window<'a>>, hits: &'a WindowHits) -> Starts<'a> {
        let mut by_entity: FxHashMap<&str, Vec<i64>> = FxHashMap::default();
        for (start, entity) in windows {
            by_entity.entry(entity).or_default().push(start);
        }
        let mut hit_at: FxHashMap<(&str, RuleIdx), Vec<i64>> = FxHashMap::default();
        for (&start, entities) in &hits.by_window {
            for (entity, counts) in entities {
                for &rule in counts.keys() {
                    hit_at.entry((entity.as_str(), rule)).or_default().push(start);
                }
            }
        }
        for starts in by_entity.values_mut().chain(hit_at.values_mut()) {
            starts.sort_unstable();
        }
        Starts { windows: by_entity, hit_at }
    }

    /// The starts of `entity`'s windows before `start`.
    pub fn before(&self, entity: &str, start: i64) -> &[i64] {
        self.windows.get(entity).map_or(&[], |s| &s[..s.partition_point(|&w| w < start)])
    }

    /// Whether `entity` hit `rule` in at least [`HABIT_WINDOWS`] and [`HABIT_SHARE`] of its
    /// windows before `start`.
    fn habitual(&self, rule: RuleIdx, entity: &str, start: i64) -> bool {
        let earlier = self.before(entity, start).len();
        let hits = self.hit_at.get(&(entity, rule)).map_or(0, |s| s.partition_point(|&w| w < start));
        hits >= HABIT_WINDOWS && hits as f64 >= HABIT_SHARE * earlier as f64
    }
}

/// One rule's hits in a window, as the console shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// The rule's id.
    pub id: String,
    /// The rule's title.
    pub title: String,
    /// Its level.
    pub level: Level,
    /// Records of the window it fired on.
    pub count: u32,
    /// The ATT&CK techniques it names.
    pub techniques: Vec<String>,
    /// The entity hits it habitually (see [`WindowHits::weight`]): shown, not ranked.
    pub habitual: bool,
}

/// A rule is habitual for an entity that hit it in at least this many of its earlier windows…
const HABIT_WINDOWS: usize = 3;
/// …making up at least this share of them: a service that assumes roles every hour, an admin
/// whose daily work a rule describes. As the built-in rules are demoted.
const HABIT_SHARE: f64 = 0.1;

/// One rule's hits in one window as saved: window start, entity, rule id, count. By id, so
/// that a restart with other rules keeps the hits of the rules still loaded.
pub type SavedHit = (i64, String, String, u32);

impl WindowHits {
    /// The hits, to save.
    pub fn to_saved(&self, rules: &Rules) -> Vec<SavedHit> {
        let mut out = Vec::new();
        for (&start, entities) in &self.by_window {
            for (entity, counts) in entities {
                for (&i, &n) in counts {
                    out.push((start, entity.clone(), rules.info(i).id.clone(), n));
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Saved hits back, for the rules loaded now (a rule no longer loaded is dropped).
    pub fn from_saved(rules: &Rules, saved: &[SavedHit]) -> WindowHits {
        let mut hits = WindowHits::default();
        for (start, entity, id, n) in saved {
            if let Some(i) = rules.index_of(id) {
                *hits.counts(*start, entity).entry(i).or_default() += n;
            }
        }
        hits
    }

    /// Forgets the windows that start before `cutoff`.
    pub fn expire(&mut self, cutoff: i64) {
        self.by_window.retain(|&start, _| start >= cutoff);
    }

    /// The window's hits, highest level first, then the most frequent; `habits` says which the
    /// entity hits habitually.
    pub fn list(&self, rules: &Rules, at: Window, habits: &Starts) -> Vec<Signature> {
        self.out(rules, at, habits)
            .into_iter()
            .map(|h| {
                let info = rules.info(h.idx);
                Signature {
                    id: info.id.clone(),
                    title: info.title.clone(),
                    level: info.level,
                    count: h.count,
                    techniques: info.techniques.clone(),
                    habitual: h.habitual,
                }
            })
            .collect()
    }

    /// Counts `hits` (from one record) for the window starting at `start` of `entity`.
    pub fn add(&mut self, start: i64, entity: &str, hits: &[RuleIdx]) {
        if hits.is_empty() {
            return;
        }
        let counts = self.counts(start, entity);
        for &h in hits {
            *counts.entry(h).or_default() += 1;
        }
    }

    /// The window's counts, made when new (the entity is copied only then).
    fn counts(&mut self, start: i64, entity: &str) -> &mut BTreeMap<RuleIdx, u32> {
        let windows = self.by_window.entry(start).or_default();
        if !windows.contains_key(entity) {
            windows.insert(entity.to_owned(), BTreeMap::new());
        }
        windows.get_mut(entity).expect("inserted above")
    }

    fn of(&self, (start, entity): Window) -> Option<&BTreeMap<RuleIdx, u32>> {
        self.by_window.get(&start)?.get(entity)
    }

    /// What the window's strongest hit adds to its rank, leaving out the rules the entity hits
    /// habitually.
    pub fn weight(&self, rules: &Rules, at: Window, habits: &Starts) -> f64 {
        self.of(at).map_or(0.0, |c| {
            c.keys()
                .filter(|&&i| !habits.habitual(i, at.1, at.0))
                .map(|&i| rules.info(i).level.weight())
                .fold(0.0, f64::max)
        })
    }

    /// The window's hits, highest level first, then the most frequent; `habits` says which the
    /// entity hits habitually.
    pub fn out<'r>(&self, rules: &'r Rules, at: Window, habits: &Starts) -> Vec<HitOut<'r>> {
        let mut out: Vec<(Level, HitOut<'r>)> = self
            .of(at)
            .into_iter()
            .flatten()
            .map(|(&i, &count)| {
                let r = rules.info(i);
                let habitual = habits.habitual(i, at.1, at.0);
                (
                    r.level,
                    HitOut {
                        id: &r.id,
                        title: &r.title,
                        level: r.level.name(),
                        tags: &r.tags,
                        count,
                        habitual,
                        idx: i,
                    },
                )
            })
            .collect();
        out.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.count.cmp(&a.1.count)).then(a.1.title.cmp(b.1.title)));
        out.into_iter().map(|(_, h)| h).collect()
    }

    /// The ATT&CK techniques of the window's hits, each once, sorted.
    pub fn techniques<'r>(&self, rules: &'r Rules, at: Window) -> Vec<&'r str> {
        let mut t: Vec<&str> = self
            .of(at)
            .into_iter()
            .flatten()
            .flat_map(|(&i, _)| rules.info(i).techniques.iter().map(String::as_str))
            .collect();
        t.sort_unstable();
        t.dedup();
        t
    }
}
