//! Accepting events: de-duplication by event id, then the feature store. The console's
//! pipeline and `scan`/`eval` take events in through this one path.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashSet, FxHasher};

use crate::features::{FeatureConfig, FeatureStore};
use crate::parse::Event;

/// De-duplication and the feature store, fed one event at a time.
#[derive(Debug)]
pub struct Ingest {
    /// The per-entity-window features of everything accepted.
    pub store: FeatureStore,
    dedup: Dedup,
}

impl Ingest {
    /// Nothing accepted yet.
    pub fn new(cfg: FeatureConfig) -> Ingest {
        Ingest { store: FeatureStore::new(cfg), dedup: Dedup::default() }
    }

    /// Adds `ev` unless its id was seen; true when it was new.
    pub fn add(&mut self, ev: &Event) -> bool {
        if !self.dedup.first(&ev.id) {
            return false;
        }
        self.store.add(ev);
        true
    }

    /// Events turned away as duplicates so far.
    pub fn duplicates(&self) -> u64 {
        self.dedup.duplicates
    }
}

/// Remembers event ids so a record delivered twice (overlapping files, sources or polls) is
/// counted once.
#[derive(Debug, Default)]
pub struct Dedup {
    seen: FxHashSet<u64>,
    /// Ids offered again after the first time.
    pub duplicates: u64,
}

impl Dedup {
    /// True the first time an id is offered.
    pub fn first(&mut self, id: &str) -> bool {
        let new = self.seen.insert({
            let mut h = FxHasher::default();
            id.hash(&mut h);
            h.finish()
        });
        if !new {
            self.duplicates += 1;
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::Dedup;

    #[test]
    fn dedup_counts_repeats() {
        let mut d = Dedup::default();
        assert!(d.first("x") && !d.first("x") && d.first("y"));
        assert_eq!(d.duplicates, 1);
    }
}
