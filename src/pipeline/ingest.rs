//! Accepting events: de-duplication by event id, then the feature store. The console's
//! pipeline and `scan`/`eval` take events in through this one path.

use crate::features::{Dedup, FeatureConfig, FeatureStore};
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
