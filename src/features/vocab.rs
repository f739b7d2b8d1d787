//! The words behind a window's hashed sets: event names, services, user agents, regions and
//! error codes, each kept once for the whole store. A window holds only hashes; the filter
//! (`event:Get*` on the anomaly list) reads them back through this. Bounded per kind, since log
//! content chooses user agents: past [`MAX_WORDS`] new words are not kept, and a term on that
//! field does not match them.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// The most words kept of one kind.
pub const MAX_WORDS: usize = 50_000;

/// What a window's hashes stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `eventName`.
    Name,
    /// `eventSource`.
    Source,
    /// `userAgent`.
    Agent,
    /// `awsRegion`.
    Region,
    /// `errorCode`.
    Error,
}

/// The words, by kind and hash.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vocab {
    names: FxHashMap<u64, Box<str>>,
    sources: FxHashMap<u64, Box<str>>,
    agents: FxHashMap<u64, Box<str>>,
    regions: FxHashMap<u64, Box<str>>,
    errors: FxHashMap<u64, Box<str>>,
}

impl Vocab {
    fn map(&self, kind: Kind) -> &FxHashMap<u64, Box<str>> {
        match kind {
            Kind::Name => &self.names,
            Kind::Source => &self.sources,
            Kind::Agent => &self.agents,
            Kind::Region => &self.regions,
            Kind::Error => &self.errors,
        }
    }

    /// Whether `hash` of `kind` is unknown (and room is left): the caller then adds it.
    pub fn wants(&self, kind: Kind, hash: u64) -> bool {
        let m = self.map(kind);
        m.len() < MAX_WORDS && !m.contains_key(&hash)
    }

    /// Keeps `word` for `hash`.
    pub fn add(&mut self, kind: Kind, hash: u64, word: &str) {
        let m = match kind {
            Kind::Name => &mut self.names,
            Kind::Source => &mut self.sources,
            Kind::Agent => &mut self.agents,
            Kind::Region => &mut self.regions,
            Kind::Error => &mut self.errors,
        };
        if m.len() < MAX_WORDS {
            m.entry(hash).or_insert_with(|| word.into());
        }
    }

    /// The words of `hashes`, those known.
    pub fn words<'a>(&'a self, kind: Kind, hashes: &'a [u64]) -> impl Iterator<Item = &'a str> + 'a {
        let m = self.map(kind);
        hashes.iter().filter_map(move |h| m.get(h).map(|w| &**w))
    }
}
