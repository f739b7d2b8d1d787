//! Stage 3: events to per-entity features over tumbling windows.
//!
//! Windows are aligned to multiples of their length since the Unix epoch and reported as
//! `[start, end)`. The store accepts events in any order (files are read in parallel) and
//! computes features when asked, so first-seen flags mean "not seen for this principal in any
//! earlier window of the data", whatever order the files were read in.

mod context;
mod entity;
mod geo;
mod retain;
mod row;
pub mod rules;
mod runs;
pub mod sensitive;

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use serde::{Deserialize, Serialize};

use crate::parse::{Category, Event};
use context::hour_share;
pub use entity::{EntityBy, entity_text};
pub use retain::Expired;
pub use row::{FEATURE_NAMES, FeatureRow, N_FEATURES, SCHEMA_VERSION, feature_index};
use sensitive::{is_read, is_sensitive};

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
        if ev.error_code.is_some() {
            agg.failures += 1;
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
        agg.sources.insert(hash(&ev.source));
        agg.names.insert(hash(&ev.name));
        agg.agents.insert(agent);
        agg.regions.insert(region);
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

    fn row(&self, start: i64, a: &Agg, runs: &runs::RunIndex) -> FeatureRow {
        let w = self.cfg.window_secs;
        let n = f64::from(a.events);
        let root = hash(identity_root(&a.principal));
        let hist = self.history.get(&root);
        // Novelty needs a past: in the data's first window, and for a principal's first
        // window, nothing counts as newly seen (the principal itself is flagged instead).
        let first_window = self.data_start.is_none_or(|d| self.window_of(d) == start);
        let known_before = hist.is_some_and(|h| h.first < start);
        let count_new = |set: &FxHashSet<u64>, pick: fn(&History) -> &FxHashMap<u64, Seen>| -> f64 {
            match hist {
                Some(h) if known_before => {
                    set.iter().filter(|k| pick(h).get(k).is_none_or(|s| s.0 >= start)).count() as f64
                }
                _ => 0.0,
            }
        };
        let travel = hist.and_then(|h| {
            let now = h.visits.get(&start)?;
            let before = h.visits.range(..start).next_back().map_or(&[][..], |(_, v)| v.as_slice());
            geo::fastest(before, now)
        });
        let features = [
            n,
            n / (w as f64 / 60.0),
            a.sources.len() as f64,
            a.names.len() as f64,
            a.agents.len() as f64,
            a.regions.len() as f64,
            a.ips.len() as f64,
            f64::from(a.failures) / n,
            f64::from(a.access_denied),
            f64::from(a.writes) / n,
            f64::from(a.sensitive),
            f64::from(a.console_no_mfa),
            f64::from(a.console_failures),
            a.hour_sin / n,
            a.hour_cos / n,
            count_new(&a.ips, |h| &h.ips),
            count_new(&a.regions, |h| &h.regions),
            count_new(&a.agents, |h| &h.agents),
            if !first_window && !known_before { 1.0 } else { 0.0 },
            0.0,
            0.0,
            0.0,
            hour_share(hist, a),
            0.0,
            a.ips.iter().map(|&ip| runs.excess(root, ip, start)).fold(0.0, f64::max),
            count_new(&a.countries, |h| &h.countries),
            0.0,
            travel.as_ref().map_or(0.0, |t| t.kmh),
            f64::from(a.aws_events) / n,
        ];
        let mut features = features;
        if let Some(h) = hist.filter(|_| known_before) {
            // A new address means little for a CI role that gets one every run, and much for
            // a developer who has used two in a month: weigh by how rarely novelty happened.
            let windows_before = h.windows.iter().filter(|&&w| w < start).count().max(1) as f64;
            let surprise = |new: f64, map: &FxHashMap<u64, Seen>| {
                let seen_before = map.values().filter(|s| s.0 < start).count() as f64;
                new * (1.0 - (seen_before / windows_before).min(1.0))
            };
            // An address colleagues already use (the office egress, a VPN) is no news.
            let shared = self.shared_before(root, a, start);
            features[19] = surprise(features[15], &h.ips) * shared;
            features[20] = surprise(features[17], &h.agents);
            features[21] = surprise(features[16], &h.regions);
            // An address adopted recently, by a principal that rarely adopts new ones: what a
            // slow intruder looks like long after its first (novel) window.
            let tenure = (start - h.first).max(1) as f64;
            let recency = a
                .ips
                .iter()
                .filter_map(|ip| h.ips.get(ip))
                .map(|&Seen(first, _)| 1.0 - ((start - first) as f64 / tenure).clamp(0.0, 1.0))
                .fold(0.0, f64::max);
            features[23] = surprise(recency, &h.ips) * shared;
            features[26] = surprise(features[25], &h.countries);
            // A workload whose runners land anywhere "travels" every run; a person does not.
            let travelled = h.travel_windows.iter().filter(|&&w| w < start).count() as f64;
            features[27] *= 1.0 - (travelled / windows_before).min(1.0);
        }
        FeatureRow {
            entity: a.entity.to_string(),
            principal: a.principal.to_string(),
            source_ip: a.ip.to_string(),
            window_start: start,
            window_end: start + w,
            events: u64::from(a.events),
            features,
            rules: a.rules | self.brute_force(start, a),
            habitual_rules: hist
                .filter(|_| known_before)
                .map_or(0, |h| rules::habitual(a.rules, start, &h.window_rules)),
            names: {
                let mut v: Vec<u64> = a.names.iter().copied().collect();
                v.sort_unstable();
                v
            },
            signature_weight: 0.0,
            place: a.place.as_deref().map(Into::into),
            country: a.country.as_deref().map(Into::into),
            travel: travel.filter(|t| t.kmh > geo::IMPOSSIBLE_KMH).as_ref().map(geo::Travel::describe),
        }
    }
}

#[cfg(test)]
mod tests;
