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

    /// Whether a database is loaded.
    pub fn has_geo(&self) -> bool {
        self.geo.is_some()
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

/// Where and when a principal last acted from a located address.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Fix {
    time: i64,
    lat: f64,
    lon: f64,
    label: Box<str>,
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
}

impl Travel {
    /// "10,260 km from São Paulo, BR 40 minutes earlier".
    pub fn describe(&self) -> String {
        format!(
            "{} km from {} {} minutes earlier",
            crate::text::group(self.km.round() as u64),
            self.from,
            self.minutes.round() as u64
        )
    }
}

/// Counts one event at `time` from `ip` into its window and the principal's history.
pub(super) fn note(places: &mut Places, ip: &str, time: i64, agg: &mut super::Agg, hist: &mut super::History) {
    let place = places.of(ip);
    agg.aws_events += u32::from(place.aws);
    if let Some(p) = place.place.filter(|_| !place.aws) {
        if agg.events == 1 {
            agg.place = p.label().map(Into::into);
            agg.country = p.country.clone();
        }
        if let Some(cc) = &p.country {
            agg.countries.insert(hash(cc));
            note_seen(&mut hist.countries, hash(cc), time);
        }
        let (travel, fix) = step(hist.last_fix.as_ref(), time, &p);
        if let Some(t) = travel.filter(|t| agg.travel.as_ref().is_none_or(|a| t.kmh > a.kmh)) {
            agg.travel = Some(t);
        }
        if fix.is_some() {
            hist.last_fix = fix;
        }
    }
}

/// The move from `last` to an event at `time` from `place`, and the fix to remember next.
/// Relays and VPN exits are not places one travels between.
pub fn step(last: Option<&Fix>, time: i64, place: &Place) -> (Option<Travel>, Option<Fix>) {
    let Some((lat, lon)) = place.coords else { return (None, None) };
    let relay = place.network.as_deref().is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        RELAYS.iter().any(|r| n.contains(r))
    });
    if relay {
        return (None, None);
    }
    let fix = Fix { time, lat, lon, label: place.label().unwrap_or_default().into() };
    let travel = last.and_then(|l| {
        let km = distance_km((l.lat, l.lon), (lat, lon));
        let secs = (time - l.time).abs();
        if km < NEAR_KM && secs <= NEAR_SECS {
            return None;
        }
        // Events a minute apart are "at once": a floor keeps one second from meaning
        // thousands of km/h for a short hop.
        let hours = secs.max(60) as f64 / 3600.0;
        Some(Travel { kmh: km / hours, km, minutes: secs as f64 / 60.0, from: l.label.clone() })
    });
    (travel, Some(fix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64, label: &str) -> Place {
        Place { country: Some("XX".into()), city: Some(label.into()), coords: Some((lat, lon)), ..Default::default() }
    }

    #[test]
    fn travel_is_measured_between_places_and_noise_and_relays_are_not_travel() {
        let sp = at(-23.55, -46.63, "São Paulo");
        let (none, fix) = step(None, 0, &sp);
        assert!(none.is_none());
        let bp = at(47.50, 19.04, "Budapest");
        let (t, _) = step(fix.as_ref(), 40 * 60, &bp);
        let t = t.unwrap();
        assert!(t.kmh > 15_000.0, "{}", t.kmh);
        assert_eq!(t.describe(), "10,259 km from São Paulo, XX 40 minutes earlier");
        // 20 km within five minutes: the database's imprecision.
        let near = at(-23.45, -46.55, "Guarulhos");
        assert!(step(fix.as_ref(), 300, &near).0.is_none());
        // A relay's exit is no place.
        let relay = Place { network: Some("Cloudflare, Inc.".into()), ..bp.clone() };
        assert_eq!(step(fix.as_ref(), 60, &relay), (None, None));
    }
}
