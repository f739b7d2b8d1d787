//! Geography: the countries a principal acts from, travel faster than a plane between its
//! consecutive events (Panther's impossible-travel rule), and calls from AWS's own addresses.
//! Without a GeoIP database only the last is known; the others stay zero.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{hash, note_seen};
use crate::geo::{Geo, Place, distance_km, is_aws};

/// Faster than this between two places is impossible travel.
pub const IMPOSSIBLE_KMH: f64 = 900.0;
/// A jump shorter than this within [`NEAR_SECS`] is the database's imprecision, not travel.
const NEAR_KM: f64 = 50.0;
const NEAR_SECS: i64 = 600;
/// Networks whose exits are spread over the world (relays, VPNs, CDN-fronted proxies): a jump
/// between their addresses is not travel.
const RELAYS: &[&str] = &["cloudflare", "apple", "akamai", "fastly", "zscaler", "nordvpn", "mullvad", "proton"];
/// Addresses remembered at most; the cache is emptied past this.
const CACHE: usize = 200_000;

/// What is known of one address.
#[derive(Debug, Clone, Default)]
pub struct Where {
    /// From the databases, when there are any and they know it.
    pub place: Option<Arc<Place>>,
    /// In one of AWS's published ranges.
    pub aws: bool,
}

/// The databases and a cache of their answers.
#[derive(Default)]
pub struct Places {
    geo: Option<Arc<Geo>>,
    cache: FxHashMap<Box<str>, Where>,
}

impl std::fmt::Debug for Places {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Places({:?}, {} cached)", self.geo, self.cache.len())
    }
}

impl Places {
    /// Looks addresses up in `geo`, when given.
    pub fn new(geo: Option<Arc<Geo>>) -> Places {
        Places { geo, cache: FxHashMap::default() }
    }

    /// What is known of `ip`.
    pub fn of(&mut self, ip: &str) -> Where {
        if let Some(w) = self.cache.get(ip) {
            return w.clone();
        }
        if self.cache.len() >= CACHE {
            self.cache.clear();
        }
        let w = Where { place: self.geo.as_ref().and_then(|g| g.lookup(ip)).map(Arc::new), aws: is_aws(ip) };
        self.cache.insert(ip.into(), w.clone());
        w
    }
}

/// A place a principal acted from in one window, with its first and last time there.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Visit {
    lat: f64,
    lon: f64,
    label: Box<str>,
    first: i64,
    last: i64,
}

/// The fastest move in a window.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Travel {
    /// Speed, km/h.
    pub kmh: f64,
    /// Distance, km.
    pub km: f64,
    /// Time between the two events, minutes.
    pub minutes: f64,
    /// Where the principal was before.
    pub from: Box<str>,
    /// Where it was next.
    #[serde(default)]
    pub to: Box<str>,
}

impl Travel {
    /// "10,260 km from São Paulo, BR to Budapest, HU in 40 minutes": both ends, since the
    /// window's own place (its first address) may be either.
    pub fn describe(&self) -> String {
        let when = match self.minutes.round() as u64 {
            0 => "under a minute".to_owned(),
            1 => "1 minute".to_owned(),
            m => format!("{m} minutes"),
        };
        format!("{} km from {} to {} in {when}", crate::text::group(self.km.round() as u64), self.from, self.to)
    }
}

/// Counts one event at `time` from `ip` into its window (starting at `start`) and the
/// principal's history. Only the places visited and when are kept, so that travel does not
/// depend on the order records arrive in.
pub(super) fn note(
    places: &mut Places,
    ip: &str,
    time: i64,
    start: i64,
    agg: &mut super::Agg,
    hist: &mut super::History,
) {
    let place = places.of(ip);
    agg.aws_events += u32::from(place.aws);
    let Some(p) = place.place.filter(|_| !place.aws) else { return };
    if agg.events == 1 {
        agg.place = p.label().map(Into::into);
        agg.country = p.country.clone();
    }
    if let Some(cc) = &p.country {
        agg.countries.insert(hash(cc));
        note_seen(&mut hist.countries, hash(cc), time);
    }
    let visits = hist.visits.entry(start).or_default();
    if visit(visits, &p, time) {
        hist.travel_windows.insert(start);
    }
}

/// Records a visit to `place` at `time`; true when the window now holds two places farther
/// apart than [`NEAR_KM`]. Relays and VPN exits are not places one travels between.
fn visit(visits: &mut Vec<Visit>, place: &Place, time: i64) -> bool {
    let Some((lat, lon)) = place.coords else { return false };
    let relay = place.network.as_deref().is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        RELAYS.iter().any(|r| n.contains(r))
    });
    if relay {
        return false;
    }
    let label: Box<str> = place.label().unwrap_or_default().into();
    let held = visits.len();
    match visits.iter_mut().find(|v| v.label == label) {
        Some(v) => {
            v.first = v.first.min(time);
            v.last = v.last.max(time);
        }
        // A window holds a few places; a flood of them is capped, not stored.
        None if held < 32 => visits.push(Visit { lat, lon, label, first: time, last: time }),
        None => {}
    }
    // Whichever of two far places comes second finds the first: the answer does not depend on
    // the order, and each event costs one pass.
    visits.iter().any(|v| distance_km((v.lat, v.lon), (lat, lon)) >= NEAR_KM)
}

/// The fastest move between two places of one window (`now`), or from a place of the
/// principal's previous active window (`before`) into it.
pub fn fastest(before: &[Visit], now: &[Visit]) -> Option<Travel> {
    let mut best: Option<Travel> = None;
    for (i, a) in now.iter().enumerate() {
        for b in now[i + 1..].iter().chain(before) {
            if let Some(t) = between(a, b).filter(|t| best.as_ref().is_none_or(|x| t.kmh > x.kmh)) {
                best = Some(t);
            }
        }
    }
    best
}

fn between(a: &Visit, b: &Visit) -> Option<Travel> {
    let km = distance_km((a.lat, a.lon), (b.lat, b.lon));
    // The time between the two stays (none when they overlap), and which came first.
    let (gap, from, to) = if a.first >= b.last {
        (a.first - b.last, b, a)
    } else if b.first >= a.last {
        (b.first - a.last, a, b)
    } else if a.first <= b.first {
        (0, a, b)
    } else {
        (0, b, a)
    };
    if km < NEAR_KM && gap <= NEAR_SECS {
        return None;
    }
    // Events a minute apart are "at once": a floor keeps one second from meaning thousands
    // of km/h for a short hop.
    let hours = gap.max(60) as f64 / 3600.0;
    Some(Travel { kmh: km / hours, km, minutes: gap as f64 / 60.0, from: from.label.clone(), to: to.label.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64, label: &str) -> Place {
        Place { country: Some("XX".into()), city: Some(label.into()), coords: Some((lat, lon)), ..Default::default() }
    }

    #[test]
    fn travel_is_measured_between_places_in_any_order_and_noise_and_relays_are_not_travel() {
        let sp = at(-23.55, -46.63, "São Paulo");
        let bp = at(47.50, 19.04, "Budapest");
        // The same two calls, in either order of arrival.
        for order in [[(0, &sp), (2400, &bp)], [(2400, &bp), (0, &sp)]] {
            let mut now = Vec::new();
            let far = order.iter().map(|(t, p)| visit(&mut now, p, *t)).last().unwrap();
            assert!(far);
            let t = fastest(&[], &now).unwrap();
            assert!(t.kmh > 15_000.0, "{}", t.kmh);
            assert_eq!(t.describe(), "10,259 km from São Paulo, XX to Budapest, XX in 40 minutes");
        }
        // 20 km within five minutes: the database's imprecision.
        let mut now = Vec::new();
        visit(&mut now, &sp, 0);
        assert!(!visit(&mut now, &at(-23.45, -46.55, "Guarulhos"), 300));
        assert!(fastest(&[], &now).is_none());
        // From the previous window.
        let mut before = Vec::new();
        visit(&mut before, &sp, 0);
        let mut now = Vec::new();
        visit(&mut now, &bp, 3600);
        assert_eq!(fastest(&before, &now).unwrap().minutes, 60.0);
        // Two places at once: the earlier first, both named (the window's own place, its
        // first address, can be either end).
        let mut now = Vec::new();
        visit(&mut now, &bp, 30);
        visit(&mut now, &sp, 10);
        visit(&mut now, &sp, 40);
        assert_eq!(
            fastest(&[], &now).unwrap().describe(),
            "10,259 km from São Paulo, XX to Budapest, XX in under a minute"
        );
        // A relay's exit is no place.
        let relay = Place { network: Some("Cloudflare, Inc.".into()), ..bp.clone() };
        let mut now = Vec::new();
        visit(&mut now, &sp, 0);
        assert!(!visit(&mut now, &relay, 60));
        assert_eq!(now.len(), 1);
    }
}
