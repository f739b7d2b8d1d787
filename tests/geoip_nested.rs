//! GeoLite2/GeoIP2 and DB-IP's nested layout (`country.iso_code`, `city.names.en`,
//! `location.*`, and the ASN database's `autonomous_system_*`), read through the real
//! `maxminddb` reader from databases this test writes in the MaxMind DB format (spec 2.0):
//! `../shared/geoip` holds only the flat layouts.

use std::path::Path;

use trailtop::geo::Geo;

/// A value of the MaxMind DB data section.
enum V {
    Str(&'static str),
    F64(f64),
    U16(u16),
    U32(u32),
    U64(u64),
    Arr(Vec<V>),
    Map(Vec<(&'static str, V)>),
}

/// The control byte(s) of a field of `kind` (1–15) and `size`.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    assert!(size < 285, "fields up to 284 bytes");
    // Sizes from 29 are 29 in the control byte and the rest in the byte after the type.
    let (low, extra) = if size < 29 { (size as u8, None) } else { (29, Some((size - 29) as u8)) };
    if kind <= 7 {
        out.push(kind << 5 | low);
    } else {
        out.extend([low, kind - 7]);
    }
    out.extend(extra);
}

/// An unsigned integer of `kind` in as few bytes as it needs, big-endian.
fn unsigned(out: &mut Vec<u8>, kind: u8, be: &[u8]) {
    let bytes: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    control(out, kind, bytes.len());
    out.extend(bytes);
}

fn encode(v: &V, out: &mut Vec<u8>) {
    match v {
        V::Str(s) => {
            control(out, 2, s.len());
            out.extend(s.as_bytes());
        }
        V::F64(f) => {
            control(out, 3, 8);
            out.extend(f.to_be_bytes());
        }
        V::U16(n) => unsigned(out, 5, &n.to_be_bytes()),
        V::U32(n) => unsigned(out, 6, &n.to_be_bytes()),
        V::U64(n) => unsigned(out, 9, &n.to_be_bytes()),
        V::Arr(items) => {
            control(out, 11, items.len());
            for v in items {
                encode(v, out);
            }
        }
        V::Map(pairs) => {
            control(out, 7, pairs.len());
            for (k, v) in pairs {
                encode(&V::Str(k), out);
                encode(v, out);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// An IPv4 database with 24-bit records holding `networks` (address, prefix length, record).
fn write_db(path: &Path, kind: &'static str, networks: Vec<([u8; 4], u32, V)>) {
    let mut data = Vec::new();
    let mut nodes: Vec<[Rec; 2]> = vec![[Rec::Empty; 2]];
    for (addr, len, value) in networks {
        let offset = data.len();
        encode(&value, &mut data);
        let bits = u32::from_be_bytes(addr);
        let mut node = 0;
        for depth in 0..len {
            let bit = ((bits >> (31 - depth)) & 1) as usize;
            if depth + 1 == len {
                nodes[node][bit] = Rec::Data(offset);
            } else {
                node = match nodes[node][bit] {
                    Rec::Node(n) => n,
                    _ => {
                        nodes.push([Rec::Empty; 2]);
                        nodes[node][bit] = Rec::Node(nodes.len() - 1);
                        nodes.len() - 1
                    }
                };
            }
        }
    }
    let count = nodes.len();
    let mut out = Vec::new();
    for n in &nodes {
        for r in n {
            let v = match *r {
                Rec::Empty => count,
                Rec::Node(i) => i,
                Rec::Data(off) => count + 16 + off,
            } as u32;
            out.extend(&v.to_be_bytes()[1..]);
        }
    }
    out.extend([0u8; 16]);
    out.extend(&data);
    out.extend(b"\xAB\xCD\xEFMaxMind.com");
    let meta = V::Map(vec![
        ("node_count", V::U32(count as u32)),
        ("record_size", V::U16(24)),
        ("ip_version", V::U16(4)),
        ("database_type", V::Str(kind)),
        ("languages", V::Arr(vec![V::Str("en")])),
        ("binary_format_major_version", V::U16(2)),
        ("binary_format_minor_version", V::U16(0)),
        ("build_epoch", V::U64(1_764_720_000)),
        ("description", V::Map(vec![("en", V::Str("trailtop test database"))])),
    ]);
    encode(&meta, &mut out);
    std::fs::write(path, out).unwrap();
}

#[test]
fn the_nested_layout_of_geolite2_city_and_asn_databases_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let (city, asn) = (dir.path().join("GeoLite2-City.mmdb"), dir.path().join("GeoLite2-ASN.mmdb"));
    write_db(
        &city,
        "GeoLite2-City",
        vec![
            (
                [91, 219, 236, 0],
                24,
                V::Map(vec![
                    (
                        "city",
                        V::Map(vec![
                            ("geoname_id", V::U32(3_054_643)),
                            ("names", V::Map(vec![("en", V::Str("Budapest"))])),
                        ]),
                    ),
                    (
                        "country",
                        V::Map(vec![("iso_code", V::Str("HU")), ("names", V::Map(vec![("en", V::Str("Hungary"))]))]),
                    ),
                    ("location", V::Map(vec![("latitude", V::F64(47.4984)), ("longitude", V::F64(19.0404))])),
                ]),
            ),
            // An anycast network with only the country that registered it.
            ([198, 51, 100, 0], 24, V::Map(vec![("registered_country", V::Map(vec![("iso_code", V::Str("us"))]))])),
        ],
    );
    write_db(
        &asn,
        "GeoLite2-ASN",
        vec![(
            [91, 219, 236, 0],
            22,
            V::Map(vec![
                ("autonomous_system_number", V::U32(50_673)),
                ("autonomous_system_organization", V::Str("Serverius\u{202e} Holding")),
            ]),
        )],
    );
    let geo = Geo::open(&[city, asn]).unwrap();
    let p = geo.lookup("91.219.236.166").expect("placed");
    assert_eq!(p.country.as_deref(), Some("HU"));
    assert_eq!(p.city.as_deref(), Some("Budapest"));
    assert_eq!(p.coords, Some((47.4984, 19.0404)));
    assert_eq!(p.asn, Some(50_673), "from the ASN database, the city one having none");
    assert_eq!(p.network.as_deref(), Some("Serverius Holding"), "scrubbed");
    assert_eq!(p.label().as_deref(), Some("Budapest, HU"));
    // The /22 of the ASN database covers an address the city database does not.
    let edge = geo.lookup("91.219.239.1").expect("in the /22");
    assert_eq!((edge.country.as_deref(), edge.asn), (None, Some(50_673)));
    assert_eq!(edge.label().as_deref(), Some("AS50673 Serverius Holding"));
    let anycast = geo.lookup("198.51.100.7").unwrap();
    assert_eq!(anycast.country.as_deref(), Some("US"), "registered_country, upper-cased");
    assert_eq!(geo.lookup("203.0.113.9"), None);
    assert!(geo.summary().contains("GeoLite2-City.mmdb (GeoLite2-City, built 2025-12-03)"), "{}", geo.summary());
}
