//! Stage 3: events to per-entity features over tumbling windows.
//!
//! Windows are aligned to multiples of their length since the Unix epoch and reported as
//! `[start, end)`. The store accepts events in any order (files are read in parallel) and
//! computes features when asked, so first-seen flags mean "not seen for this principal in any
//! earlier window of the data", whatever order the files were read in.

mod compute;
mod context;
mod entity;
mod geo;
mod retain;
mod row;
pub mod rules;
mod runs;
pub mod sensitive;
pub mod vocab;
mod volume;

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use serde::{Deserialize, Serialize};

use crate::parse::{Category, Event};
pub use entity::{EntityBy, entity_text};
pub use retain::Expired;
pub use row::{FEATURE_NAMES, FeatureRow, N_FEATURES, SCHEMA_VERSION, Words, feature_index};
use sensitive::{is_read, is_sensitive};
pub use volume::describe_bytes;

fn hash(s: &str) -> u64 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

/// What an entity-window is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// The tumbling window's length, seconds.
    pub window_secs: i64,
    /// What an entity is.
    pub by: EntityBy,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self { window_secs: 3600, by: EntityBy::default() }
    }
}

/// Running totals of one entity in one window.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Agg {
    entity: Box<str>,
    principal: Box<str>,
    ip: Box<str>,
    events: u32,
    failures: u32,
    access_denied: u32,
    writes: u32,
    sensitive: u32,
    console_no_mfa: u32,
    console_failures: u32,
    hour_sin: f64,
    hour_cos: f64,
    hours: [u32; 24],
    rules: u16,
    sources: FxHashSet<u64>,
    names: FxHashSet<u64>,
    agents: FxHashSet<u64>,
    regions: FxHashSet<u64>,
    ips: FxHashSet<u64>,
    /// Countries of its addresses (with a GeoIP database).
    #[serde(default)]
    countries: FxHashSet<u64>,
    /// Events from AWS's own addresses.
    #[serde(default)]
    aws_events: u32,
    /// Where its first address is (`Budapest, HU`).
    #[serde(default)]
    place: Option<Box<str>>,
    /// That place's country code.
    #[serde(default)]
    country: Option<Box<str>>,
    /// Bytes S3 sent out.
    #[serde(default)]
    bytes_out: u64,
    /// Objects read.
    #[serde(default)]
    object_reads: u32,
    /// Data-plane events.
    #[serde(default)]
    data_events: u32,
    /// Buckets named.
    #[serde(default)]
    buckets: FxHashSet<u64>,
    /// Error codes met.
    #[serde(default)]
    errors: FxHashSet<u64>,
}

/// Keeps a word the vocabulary lacks, copying it first if a snapshot still shares it.
fn note_word(v: &mut std::sync::Arc<vocab::Vocab>, kind: vocab::Kind, h: u64, word: &str) {
    if v.wants(kind, h) {
        std::sync::Arc::make_mut(v).add(kind, h, word);
    }
}

/// When something was first and last seen (first-seen drives novelty, last-seen expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Seen(i64, i64);

/// When a principal first (and last) used each IP, region and user agent, when it first
/// appeared, the windows it was active in and its events by hour of day.
#[derive(Debug, Default, Serialize, Deserialize)]
struct History {
    first: i64,
    ips: FxHashMap<u64, Seen>,
    regions: FxHashMap<u64, Seen>,
    agents: FxHashMap<u64, Seen>,
    windows: FxHashSet<i64>,
    hours: [u32; 24],
    ip_windows: runs::PairWindows,
    /// Rule bits per active window.
    window_rules: FxHashMap<i64, u16>,
    /// Countries it acted from (with a GeoIP database).
    #[serde(default)]
    countries: FxHashMap<u64, Seen>,
    /// The places it acted from, per window, for travel.
    #[serde(default)]
    visits: std::collections::BTreeMap<i64, Vec<geo::Visit>>,
    /// Windows in which it moved impossibly fast.
    #[serde(default)]
    travel_windows: FxHashSet<i64>,
    /// Buckets it named.
    #[serde(default)]
    buckets: FxHashMap<u64, Seen>,
    /// What it moved per window, for the volume baseline.
    #[serde(default)]
    volume: std::collections::BTreeMap<i64, volume::Volume>,
}

/// The identity whose history novelty is judged against. A role session's ARN names the
/// session (`assumed-role/ci-deploy/GitHubActions-81723`), which changes every run; the role
/// is what has habits.
pub fn identity_root(principal: &str) -> &str {
    const ROLE: &str = ":assumed-role/";
    let Some(i) = principal.find(ROLE) else { return principal };
    let start = i + ROLE.len();
    let session = principal.get(start..).and_then(|rest| rest.find('/'));
    session.and_then(|j| principal.get(..start + j)).unwrap_or(principal)
}

fn note_seen(map: &mut FxHashMap<u64, Seen>, key: u64, t: i64) {
    map.entry(key).and_modify(|s| *s = Seen(s.0.min(t), s.1.max(t))).or_insert(Seen(t, t));
}

/// The pipeline's feature state. Owned by one task; not shared. It serializes whole (the
/// agent cache aside), so a restarted pipeline computes the same rows as the one that saved it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct FeatureStore {
    cfg: FeatureConfig,
    #[serde(with = "retain::pairs")]
    aggs: FxHashMap<(i64, u64), Agg>,
    history: FxHashMap<u64, History>,
    data_start: Option<i64>,
    insights: u64,
    /// Failed console sign-ins per (window, source IP), for the brute-force rule.
    #[serde(with = "retain::pairs")]
    login_failures: FxHashMap<(i64, u64), u32>,
    /// Per source address: the principals that used it, with when they first and last did.
    ip_users: FxHashMap<u64, FxHashMap<u64, Seen>>,
    /// Offensive-tool verdict per distinct user agent (there are few agents, many events;
    /// cleared past [`retain::AGENT_CACHE`], since agents are the sender's to choose).
    #[serde(skip)]
    offensive_agents: FxHashMap<u64, bool>,
    /// The GeoIP databases and what they said of each address (set again after a restore).
    #[serde(skip)]
    places: geo::Places,
    /// The words behind the windows' hashes, shared with the snapshots (copied on write).
    #[serde(default)]
    vocab: std::sync::Arc<vocab::Vocab>,
}

impl FeatureStore {
    /// An empty store.
    pub fn new(cfg: FeatureConfig) -> Self {
        Self { cfg, ..Default::default() }
    }

    /// Looks addresses up in `geo` from now on (none: the geography features stay zero).
    pub fn set_geo(&mut self, geo: Option<std::sync::Arc<crate::geo::Geo>>) {
        self.places = geo::Places::new(geo);
    }

    /// The words behind the windows' hashes.
    pub fn vocab(&self) -> std::sync::Arc<vocab::Vocab> {
        std::sync::Arc::clone(&self.vocab)
    }

    /// Its windows and entities.
    pub fn config(&self) -> FeatureConfig {
        self.cfg
    }

    /// The start of the window holding time `t`.
    pub fn window_of(&self, t: i64) -> i64 {
        t.div_euclid(self.cfg.window_secs) * self.cfg.window_secs
    }

    /// Entity-windows held.
    pub fn len(&self) -> usize {
        self.aggs.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.aggs.is_empty()
    }

    /// Insight records seen; they describe rates, not calls, so they do not feed features.
    pub fn insights(&self) -> u64 {
        self.insights
    }

    /// Counts one event into its entity-window and the principal's history, and says which
    /// window that was (an Insight record counts into none).
    pub fn add(&mut self, ev: &Event) -> Option<(i64, &str)> {
        if ev.category == Category::Insight {
            self.insights += 1;
            return None;
        }
        let start = self.window_of(ev.time);
        let entity = entity_text(self.cfg.by, ev);
        let key = (start, hash(&entity));
        let agg = self.aggs.entry(key).or_insert_with(|| Agg {
            entity: entity.as_str().into(),
            principal: ev.principal.clone(),
            ip: ev.ip.clone(),
            ..Default::default()
        });
        agg.events += 1;
        if let Some(code) = &ev.error_code {
            agg.failures += 1;
            let h = hash(code);
            if agg.errors.insert(h) {
                note_word(&mut self.vocab, vocab::Kind::Error, h, code);
            }
        }
        if ev.is_access_denied() {
            agg.access_denied += 1;
        }
        if !is_read(ev.read_only, &ev.name) {
            agg.writes += 1;
        }
        if is_sensitive(ev.service(), &ev.name) {
            agg.sensitive += 1;
        }
        let agent_hash = hash(&ev.user_agent);
        if self.offensive_agents.len() >= retain::AGENT_CACHE {
            self.offensive_agents.clear();
        }
        let offensive =
            *self.offensive_agents.entry(agent_hash).or_insert_with(|| rules::is_offensive_agent(&ev.user_agent));
        let event_rules = rules::event_rules(ev) | if offensive { rules::OFFENSIVE_AGENT } else { 0 };
        agg.rules |= event_rules;
        if &*ev.name == "ConsoleLogin" {
            if ev.mfa == Some(false) && ev.login_ok != Some(false) {
                agg.console_no_mfa += 1;
            }
            if ev.login_ok == Some(false) {
                agg.console_failures += 1;
                *self.login_failures.entry((start, hash(&ev.ip))).or_default() += 1;
            }
        }
        let hour = (ev.time.rem_euclid(86_400) / 3600) as usize;
        agg.hours[hour] += 1;
        let angle = (ev.time.rem_euclid(86_400) as f64 / 86_400.0) * std::f64::consts::TAU;
        agg.hour_sin += angle.sin();
        agg.hour_cos += angle.cos();
        let (ip, region, agent) = (hash(&ev.ip), hash(&ev.region), agent_hash);
        let (source, name) = (hash(&ev.source), hash(&ev.name));
        // A word goes to the vocabulary when a window first holds it: once per window and
        // value, not once per event (this runs for every record `scan` reads).
        for (new, kind, h, word) in [
            (agg.sources.insert(source), vocab::Kind::Source, source, &ev.source),
            (agg.names.insert(name), vocab::Kind::Name, name, &ev.name),
            (agg.agents.insert(agent), vocab::Kind::Agent, agent, &ev.user_agent),
            (agg.regions.insert(region), vocab::Kind::Region, region, &ev.region),
        ] {
            if new {
                note_word(&mut self.vocab, kind, h, word);
            }
        }
        agg.ips.insert(ip);

        let root = hash(identity_root(&ev.principal));
        note_seen(self.ip_users.entry(ip).or_default(), root, ev.time);
        let hist = self.history.entry(root).or_insert_with(|| History { first: ev.time, ..Default::default() });
        hist.first = hist.first.min(ev.time);
        hist.windows.insert(start);
        hist.ip_windows.entry(ip).or_default().insert(start);
        *hist.window_rules.entry(start).or_default() |= event_rules;
        hist.hours[hour] += 1;
        note_seen(&mut hist.ips, ip, ev.time);
        note_seen(&mut hist.regions, region, ev.time);
        note_seen(&mut hist.agents, agent, ev.time);
        geo::note(&mut self.places, &ev.ip, ev.time, start, agg, hist);
        volume::note(ev, start, agg, hist);
        self.data_start = Some(self.data_start.map_or(ev.time, |d| d.min(ev.time)));
        self.aggs.get(&key).map(|a| (start, &*a.entity))
    }

    /// Every entity-window as a feature row, ordered by window then entity.
    pub fn rows(&self) -> Vec<FeatureRow> {
        let runs = runs::RunIndex::new(self.cfg.window_secs, self.history.iter().map(|(k, h)| (*k, &h.ip_windows)));
        let mut rows: Vec<FeatureRow> =
            self.aggs.iter().map(|(&(start, _), agg)| self.row(start, agg, &runs)).collect();
        rows.sort_by(|a, b| (a.window_start, &a.entity).cmp(&(b.window_start, &b.entity)));
        rows
    }
}

#[cfg(test)]
mod tests;
