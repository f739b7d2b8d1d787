//! How long the store remembers: windows, habits and first sightings older than the retention
//! period expire, so a console left running for weeks holds weeks, not everything it ever saw.

use rustc_hash::FxHashMap;

use super::{FeatureStore, Seen};

/// Distinct user agents whose offensive-tool verdict is cached before the cache is cleared.
pub(super) const AGENT_CACHE: usize = 65_536;

/// What one expiry removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    /// Entity-windows dropped.
    pub windows: usize,
    /// Principals forgotten (no window of theirs left).
    pub principals: usize,
}

impl FeatureStore {
    /// Forgets everything that happened only before the window holding `cutoff`: its
    /// entity-windows, each principal's active windows, rule history and the addresses, regions
    /// and agents it has not used since, and principals with nothing left. A principal keeps the
    /// time it was first seen and its hours of day, so habits outlive the detail.
    pub fn expire(&mut self, cutoff: i64) -> Expired {
        let cutoff = self.window_of(cutoff);
        let (windows, principals) = (self.aggs.len(), self.history.len());
        self.aggs.retain(|&(start, _), _| start >= cutoff);
        self.login_failures.retain(|&(start, _), _| start >= cutoff);
        let recent = |map: &mut FxHashMap<u64, Seen>| map.retain(|_, s| s.1 >= cutoff);
        for users in self.ip_users.values_mut() {
            recent(users);
        }
        self.ip_users.retain(|_, users| !users.is_empty());
        self.history.retain(|_, h| {
            h.windows.retain(|&w| w >= cutoff);
            h.window_rules.retain(|&w, _| w >= cutoff);
            h.travel_windows.retain(|&w| w >= cutoff);
            h.visits.retain(|&w, _| w >= cutoff);
            h.volume.retain(|&w, _| w >= cutoff);
            for windows in h.ip_windows.values_mut() {
                windows.retain(|&w| w >= cutoff);
            }
            h.ip_windows.retain(|_, w| !w.is_empty());
            recent(&mut h.ips);
            recent(&mut h.regions);
            recent(&mut h.agents);
            recent(&mut h.countries);
            recent(&mut h.buckets);
            !h.windows.is_empty()
        });
        Expired { windows: windows - self.aggs.len(), principals: principals - self.history.len() }
    }

    /// Principals with history.
    pub fn principals(&self) -> usize {
        self.history.len()
    }

    /// The oldest window held, if any.
    pub fn oldest_window(&self) -> Option<i64> {
        self.aggs.keys().map(|k| k.0).min()
    }

    /// Whether a store read from disk could have been built by [`FeatureStore::add`]: windows
    /// aligned to the configured length, no empty window, and every window's principal known.
    pub fn is_consistent(&self) -> bool {
        let w = self.cfg.window_secs;
        w > 0
            && self.aggs.iter().all(|(&(start, _), a)| {
                start.rem_euclid(w) == 0 && a.events > 0 && a.hours.iter().sum::<u32>() == a.events
            })
            && self.history.values().all(|h| h.windows.iter().all(|s| s.rem_euclid(w) == 0))
    }
}

/// Serde for maps whose keys JSON cannot hold (tuples): a list of `[key, value]` pairs.
pub(super) mod pairs {
    use std::hash::Hash;

    use rustc_hash::FxHashMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &FxHashMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<FxHashMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}
