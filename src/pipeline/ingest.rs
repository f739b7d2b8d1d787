//! Accepting events: de-duplication by event id, then the feature store, with what is older
//! than the retention period expired. The console's pipeline and `scan`/`eval` take events in
//! through this one path.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::features::{FeatureConfig, FeatureRow, FeatureStore};
use crate::model::ScoredRow;
use crate::parse::Event;
use crate::sigma::{Matcher, Rules, Starts, WindowHits};

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// New: counted into the features.
    New,
    /// Already taken in this run (overlapping files, sources or polls).
    Duplicate,
    /// Taken in by the run whose state was restored: its features are already counted, but
    /// this run has not held the record itself (a folder read again after a restart).
    Restored,
    /// Older than the retention period: not counted.
    Expired,
}

/// De-duplication and the feature store, fed one event at a time.
#[derive(Debug)]
pub struct Ingest {
    /// The per-entity-window features of everything accepted.
    pub store: FeatureStore,
    dedup: Dedup,
    /// How long windows and event ids are kept, seconds; `None` keeps everything.
    retain: Option<i64>,
    /// The newest event time seen (not ahead of the clock): the retention's clock, so that an
    /// archive is judged by its own time, not today's.
    newest: Option<i64>,
    /// The cutoff of the last expiry.
    cutoff: i64,
    /// Events turned away as older than the retention period.
    pub too_old: u64,
    /// Entity-windows expired so far.
    pub windows_expired: u64,
    /// Sigma rules, when loaded: every new event is matched.
    matcher: Option<Matcher>,
    /// Their hits per entity-window, expired with the windows.
    pub signatures: WindowHits,
}

impl Ingest {
    /// Nothing accepted yet; nothing expires.
    pub fn new(cfg: FeatureConfig) -> Ingest {
        Ingest::restored(FeatureStore::new(cfg), Dedup::default(), None, None)
    }

    /// Continues from a saved store and de-duplication state, keeping `retain` seconds.
    pub fn restored(store: FeatureStore, dedup: Dedup, newest: Option<i64>, retain: Option<i64>) -> Ingest {
        Ingest {
            store,
            dedup,
            retain,
            newest,
            cutoff: i64::MIN,
            too_old: 0,
            windows_expired: 0,
            matcher: None,
            signatures: WindowHits::default(),
        }
    }

    /// Matches every new event against `rules` too.
    pub fn with_rules(mut self, rules: Option<Arc<Rules>>) -> Ingest {
        self.matcher = rules.map(Matcher::new);
        self
    }

    /// The rules events are matched against.
    pub fn rules(&self) -> Option<&Arc<Rules>> {
        self.matcher.as_ref().map(Matcher::rules)
    }

    /// The feature rows, each with what its Sigma hits add to its rank.
    pub fn rows(&self) -> Vec<FeatureRow> {
        let mut rows = self.store.rows();
        if let Some(rules) = self.rules() {
            let habits = Starts::new(rows.iter().map(|r| (r.window_start, r.entity.as_str())), &self.signatures);
            let weights: Vec<f64> =
                rows.iter().map(|r| self.signatures.weight(rules, (r.window_start, &r.entity), &habits)).collect();
            for (r, w) in rows.iter_mut().zip(weights) {
                r.signature_weight = w;
            }
        }
        rows
    }

    /// Gives ranked rows the Sigma hits of their windows, to show.
    pub fn attach_signatures(&self, rows: &mut [ScoredRow]) {
        if let Some(rules) = self.rules() {
            let habits =
                Starts::new(rows.iter().map(|r| (r.row.window_start, r.row.entity.as_str())), &self.signatures);
            let lists: Vec<_> = rows
                .iter()
                .map(|r| self.signatures.list(rules, (r.row.window_start, &r.row.entity), &habits))
                .collect();
            for (r, list) in rows.iter_mut().zip(lists) {
                r.signatures = list;
            }
        }
    }

    /// Adds `ev` unless its id was seen; true when it was new.
    pub fn add(&mut self, ev: &Event) -> bool {
        self.admit(ev, i64::MAX) == Admit::New
    }

    /// Takes `ev` in. `latest` is the latest plausible event time (this machine's clock plus
    /// the skew allowed): a record stamped later does not move the retention's clock.
    pub fn admit(&mut self, ev: &Event, latest: i64) -> Admit {
        self.take_in(ev, latest).0
    }

    /// [`Ingest::admit`], marking `ev` with the rules that fired on it (for the drill-down).
    pub fn admit_marking(&mut self, ev: &mut Event, latest: i64) -> Admit {
        let (admit, hits) = self.take_in(ev, latest);
        if let (false, Some(rules)) = (hits.is_empty(), self.rules()) {
            ev.marks = hits.iter().map(|&i| Arc::clone(&rules.info(i).label)).collect();
        }
        admit
    }

    /// Takes `ev` in, and says which rules fired on it.
    fn take_in(&mut self, ev: &Event, latest: i64) -> (Admit, Vec<crate::sigma::RuleIdx>) {
        if let Some(retain) = self.retain {
            if ev.time <= latest && self.newest.is_none_or(|n| ev.time > n) {
                self.newest = Some(ev.time);
                let cutoff = self.store.window_of(ev.time.saturating_sub(retain));
                if cutoff > self.cutoff {
                    self.cutoff = cutoff;
                    self.windows_expired += self.store.expire(cutoff).windows as u64;
                    self.dedup.expire(cutoff);
                    self.signatures.expire(cutoff);
                }
            }
            if ev.time < self.cutoff {
                self.too_old += 1;
                return (Admit::Expired, Vec::new());
            }
        }
        let admit = self.dedup.offer(&ev.id, ev.time);
        let mut fired = Vec::new();
        if admit == Admit::New {
            let by = self.store.config().by;
            let window = self.store.add(ev);
            if let Some(m) = &mut self.matcher {
                let hits = m.hits(ev);
                if !hits.is_empty() {
                    match window {
                        Some((start, entity)) => self.signatures.add(start, entity, &hits),
                        None => {
                            let entity = crate::features::entity_text(by, ev);
                            self.signatures.add(self.store.window_of(ev.time), &entity, &hits)
                        }
                    }
                }
                fired = hits;
            }
        }
        (admit, fired)
    }

    /// Events turned away as duplicates so far.
    pub fn duplicates(&self) -> u64 {
        self.dedup.duplicates
    }

    /// The de-duplication state, to save.
    pub fn dedup(&self) -> &Dedup {
        &self.dedup
    }

    /// The newest event time taken in.
    pub fn newest(&self) -> Option<i64> {
        self.newest
    }
}

fn id_hash(id: &str) -> u64 {
    let mut h = FxHasher::default();
    id.hash(&mut h);
    h.finish()
}

/// Ids are kept per hour of event time: a record delivered twice carries the same time, so one
/// hour's set is all a lookup reads, and expiry drops whole hours.
const BUCKET: i64 = 3600;

type Buckets = FxHashMap<i64, FxHashSet<u64>>;

/// Remembers event ids (by 64-bit hash, by hour of event time, so that they can expire) so a
/// record delivered twice is counted once. Saved as a list of `[hour, [hashes]]`; a restored
/// list is kept apart until each id is offered again.
#[derive(Debug, Default)]
pub struct Dedup {
    seen: Buckets,
    before: Buckets,
    /// Ids offered again after the first time.
    pub duplicates: u64,
}

impl Dedup {
    /// True the first time an id is offered.
    pub fn first(&mut self, id: &str) -> bool {
        self.offer(id, 0) == Admit::New
    }

    fn offer(&mut self, id: &str, time: i64) -> Admit {
        let (h, hour) = (id_hash(id), time.div_euclid(BUCKET));
        if self.before.get_mut(&hour).is_some_and(|b| b.remove(&h)) {
            self.seen.entry(hour).or_default().insert(h);
            return Admit::Restored;
        }
        if !self.seen.entry(hour).or_default().insert(h) {
            self.duplicates += 1;
            return Admit::Duplicate;
        }
        Admit::New
    }

    fn expire(&mut self, cutoff: i64) {
        let hour = cutoff.div_euclid(BUCKET);
        self.seen.retain(|&t, _| t >= hour);
        self.before.retain(|&t, b| t >= hour && !b.is_empty());
    }

    /// Ids remembered.
    pub fn len(&self) -> usize {
        self.seen.values().chain(self.before.values()).map(FxHashSet::len).sum()
    }

    /// Whether it remembers none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Serialize for Dedup {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut hours: FxHashMap<i64, Vec<u64>> = FxHashMap::default();
        for (t, ids) in self.seen.iter().chain(self.before.iter()) {
            hours.entry(*t).or_default().extend(ids.iter().copied());
        }
        s.collect_seq(hours)
    }
}

impl<'de> Deserialize<'de> for Dedup {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Dedup, D::Error> {
        let hours = Vec::<(i64, Vec<u64>)>::deserialize(d)?;
        let before = hours.into_iter().map(|(t, ids)| (t, ids.into_iter().collect())).collect();
        Ok(Dedup { before, ..Default::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, time: i64) -> Event {
        let doc = format!(
            r#"{{"eventTime":"{}","eventName":"E","eventID":"{id}","userIdentity":{{"arn":"arn:aws:iam::1:user/u"}}}}"#,
            crate::parse::time::rfc3339(1_699_999_200 + time)
        );
        let opts = crate::parse::ParseOptions::default();
        crate::parse::parse_bytes(doc.as_bytes(), &opts).0.pop().expect("one event")
    }

    #[test]
    fn dedup_counts_repeats() {
        let mut d = Dedup::default();
        assert!(d.first("x") && !d.first("x") && d.first("y"));
        assert_eq!(d.duplicates, 1);
    }

    #[test]
    fn a_restored_id_is_known_once_then_a_duplicate() {
        let mut d = Dedup::default();
        d.offer("x", 5);
        let mut back: Dedup = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back.offer("x", 5), Admit::Restored);
        assert_eq!(back.offer("x", 5), Admit::Duplicate);
        assert_eq!(back.offer("y", 5), Admit::New);
    }

    #[test]
    fn windows_and_ids_older_than_the_retention_expire() {
        let (day, t0) = (86_400, 1_699_999_200);
        let mut ing = Ingest::restored(FeatureStore::new(FeatureConfig::default()), Dedup::default(), None, Some(day));
        assert_eq!(ing.admit(&ev("a", 10 * day), i64::MAX), Admit::New);
        assert_eq!(ing.admit(&ev("b", 10 * day + 3600), i64::MAX), Admit::New);
        // A record stamped ahead of the clock does not move the retention's clock.
        assert_eq!(ing.admit(&ev("future", 30 * day), t0 + 12 * day), Admit::New);
        assert_eq!(ing.store.len(), 3);
        assert_eq!(ing.admit(&ev("c", 11 * day + 3600), t0 + 12 * day), Admit::New);
        assert_eq!((ing.store.len(), ing.windows_expired), (3, 1), "day 10's first hour expired");
        assert_eq!(ing.admit(&ev("old", 10 * day), t0 + 12 * day), Admit::Expired);
        assert_eq!(ing.too_old, 1);
        // Expired ids are forgotten with their windows; kept ones are still duplicates.
        assert_eq!(ing.dedup.len(), 3);
        assert_eq!(ing.admit(&ev("b", 10 * day + 3600), t0 + 12 * day), Admit::Duplicate);
    }
}
