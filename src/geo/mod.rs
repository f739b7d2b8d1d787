//! Where an address is, offline. The user brings MaxMind-format databases (`--geoip FILE`, or
//! `*.mmdb` in the config dir's `geoip/`): GeoLite2/GeoIP2 and DB-IP in the nested layout,
//! IPinfo Lite and ip-location-db in flat ones; each lookup takes every field from the first
//! database that has it. Whether an address is AWS's own comes from AWS's published ranges,
//! compiled in. Nothing is downloaded.

mod aws;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use maxminddb::{LookupResult, PathElement, Reader};

pub use aws::{aws_ranges_date, is_aws};

/// What the databases say of one address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    /// ISO 3166 country code (`HU`).
    pub country: Option<Box<str>>,
    /// City name.
    pub city: Option<Box<str>>,
    /// Latitude and longitude, degrees.
    pub coords: Option<(f64, f64)>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// The autonomous system's organisation.
    pub network: Option<Box<str>>,
}

impl Place {
    /// `Budapest, HU`, `HU`, or `AS15169 Google LLC` when that is all there is.
    pub fn label(&self) -> Option<String> {
        match (&self.city, &self.country) {
            (Some(city), Some(cc)) => Some(format!("{city}, {cc}")),
            (None, Some(cc)) => Some(cc.to_string()),
            _ => self.asn.map(|n| format!("AS{n} {}", self.network.as_deref().unwrap_or("")).trim_end().to_owned()),
        }
    }

    fn fill(&mut self, other: Place) {
        self.country = self.country.take().or(other.country);
        self.city = self.city.take().or(other.city);
        self.coords = self.coords.or(other.coords);
        self.asn = self.asn.or(other.asn);
        self.network = self.network.take().or(other.network);
    }
}

struct Db {
    path: PathBuf,
    reader: Reader<Vec<u8>>,
}

/// Open databases.
pub struct Geo {
    dbs: Vec<Db>,
}

impl std::fmt::Debug for Geo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Geo({:?})", self.dbs.iter().map(|d| &d.path).collect::<Vec<_>>())
    }
}

impl Geo {
    /// Opens every file; the first that cannot be read is the error, named.
    pub fn open(paths: &[PathBuf]) -> anyhow::Result<Geo> {
        let dbs = paths
            .iter()
            .map(|p| {
                let reader = Reader::open_readfile(p)
                    .with_context(|| format!("GeoIP database {} could not be read", p.display()))?;
                Ok(Db { path: p.clone(), reader })
            })
            .collect::<anyhow::Result<Vec<Db>>>()?;
        Ok(Geo { dbs })
    }

    /// The databases given, or `None` when there are none.
    pub fn open_given(paths: &[PathBuf]) -> anyhow::Result<Option<Geo>> {
        if paths.is_empty() { Ok(None) } else { Geo::open(paths).map(Some) }
    }

    /// One line on what is loaded: file names, each database's type and build date.
    pub fn summary(&self) -> String {
        let dbs: Vec<String> = self
            .dbs
            .iter()
            .map(|d| {
                let m = d.reader.metadata();
                let built = chrono::DateTime::from_timestamp(m.build_epoch as i64, 0)
                    .map_or_else(String::new, |t| t.format(", built %Y-%m-%d").to_string());
                let name =
                    d.path.file_name().map_or_else(|| d.path.display().to_string(), |n| n.to_string_lossy().into());
                format!("{name} ({}{built})", crate::parse::sanitize::clean(&m.database_type))
            })
            .collect();
        format!("geoip: {}", dbs.join(", "))
    }

    /// Where `ip` is; `None` for what is not an address (CloudTrail puts a service's name
    /// there for calls AWS makes) and for addresses no database knows.
    pub fn lookup(&self, ip: &str) -> Option<Place> {
        let addr: IpAddr = ip.parse().ok()?;
        let mut place = Place::default();
        let mut found = false;
        for db in &self.dbs {
            if let Ok(r) = db.reader.lookup(addr)
                && r.has_data()
            {
                place.fill(read(&r));
                found = true;
            }
        }
        found.then_some(place)
    }
}

use PathElement::Key;

fn text<S: AsRef<[u8]>>(r: &LookupResult<'_, S>, path: &[PathElement]) -> Option<Box<str>> {
    let s: String = r.decode_path(path).ok().flatten()?;
    let s = crate::parse::sanitize::clean(s.trim()).into_owned();
    (!s.is_empty()).then(|| s.into())
}

fn number<S: AsRef<[u8]>>(r: &LookupResult<'_, S>, path: &[PathElement]) -> Option<f64> {
    r.decode_path::<f64>(path)
        .ok()
        .flatten()
        .or_else(|| r.decode_path::<f32>(path).ok().flatten().map(f64::from))
        .filter(|v| v.is_finite())
}

/// One database's record in any of the three layouts.
fn read<S: AsRef<[u8]>>(r: &LookupResult<'_, S>) -> Place {
    let country = text(r, &[Key("country"), Key("iso_code")])
        .or_else(|| text(r, &[Key("country_code")]))
        .or_else(|| text(r, &[Key("registered_country"), Key("iso_code")]));
    let city = text(r, &[Key("city"), Key("names"), Key("en")]).or_else(|| text(r, &[Key("city")]));
    let lat = number(r, &[Key("location"), Key("latitude")]).or_else(|| number(r, &[Key("latitude")]));
    let lon = number(r, &[Key("location"), Key("longitude")]).or_else(|| number(r, &[Key("longitude")]));
    let coords = lat.zip(lon).filter(|(a, o)| a.abs() <= 90.0 && o.abs() <= 180.0 && (*a, *o) != (0.0, 0.0));
    // IPinfo writes `"asn": "AS15169"`; MaxMind a number.
    let asn = r
        .decode_path::<u32>(&[Key("autonomous_system_number")])
        .ok()
        .flatten()
        .or_else(|| r.decode_path::<u32>(&[Key("asn")]).ok().flatten())
        .or_else(|| text(r, &[Key("asn")]).and_then(|s| s.trim_start_matches("AS").parse().ok()));
    let network = text(r, &[Key("autonomous_system_organization")]).or_else(|| text(r, &[Key("as_name")]));
    Place { country: country.map(|c| c.to_ascii_uppercase().into()), city, coords, asn, network }
}

/// Great-circle distance between two places, km (haversine).
pub fn distance_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let (dp, dl) = ((lat2 - lat1).to_radians(), (lon2 - lon1).to_radians());
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().min(1.0).asin()
}

/// The `*.mmdb` files in `dir`, sorted (none when it does not exist).
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("mmdb")))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests;
