//! One entity-window's feature row, computed from its totals and its principal's history.

use rustc_hash::{FxHashMap, FxHashSet};

use super::context::hour_share;
use super::{Agg, FeatureRow, FeatureStore, History, Seen, geo, hash, identity_root, rules, runs, volume};

impl FeatureStore {
    pub(super) fn row(&self, start: i64, a: &Agg, runs: &runs::RunIndex) -> FeatureRow {
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
        let [bytes_out, object_reads, buckets, data_share] = volume::raw(a);
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
            bytes_out,
            object_reads,
            buckets,
            data_share,
            count_new(&a.buckets, |h| &h.buckets),
            0.0,
            0.0,
            0.0,
            0.0,
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
            if volume::has_baseline(h.first, start) {
                features[34] = surprise(features[33], &h.buckets);
                features[35..38].copy_from_slice(&volume::excess(a, h, start));
            }
        }
        FeatureRow {
            entity: a.entity.to_string(),
            principal: a.principal.to_string(),
            source_ip: a.ip.to_string(),
            window_start: start,
            window_end: start + w,
            events: u64::from(a.events),
            features,
            rules: a.rules | self.brute_force(start, a) | volume::egress(features[35]),
            habitual_rules: hist
                .filter(|_| known_before)
                .map_or(0, |h| rules::habitual(a.rules, start, &h.window_rules)),
            names: sorted(&a.names),
            words: super::row::Words {
                sources: sorted(&a.sources),
                agents: sorted(&a.agents),
                regions: sorted(&a.regions),
                errors: sorted(&a.errors),
            },
            signature_weight: 0.0,
            place: a.place.as_deref().map(Into::into),
            country: a.country.as_deref().map(Into::into),
            travel: travel.filter(|t| t.kmh > geo::IMPOSSIBLE_KMH).as_ref().map(geo::Travel::describe),
        }
    }
}

fn sorted(set: &rustc_hash::FxHashSet<u64>) -> Vec<u64> {
    let mut v: Vec<u64> = set.iter().copied().collect();
    v.sort_unstable();
    v
}
