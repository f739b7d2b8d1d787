use std::collections::{HashMap, HashSet};

use super::write::{Layout, write_all};
use super::*;
use crate::parse::{ParseOptions, parse_bytes};
use crate::source::file::load_file;
use crate::source::folder::list_files;

const START: i64 = 1_709_510_400; // 2024-03-04T00:00:00Z, a Monday

fn gen_into(dir: &std::path::Path, seed: u64, layout: Layout) -> write::Summary {
    let mut g = Generator::for_total(seed, START, 3, 20_000, ALL_SCENARIOS);
    write_all(&mut g, START + 3 * 86_400, dir, layout, Some(&dir.join("labels.csv"))).unwrap()
}

fn tree_bytes(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(dir).unwrap().display().to_string(), std::fs::read(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    gen_into(a.path(), 7, Layout::S3);
    gen_into(b.path(), 7, Layout::S3);
    gen_into(c.path(), 8, Layout::S3);
    assert_eq!(tree_bytes(a.path()), tree_bytes(b.path()));
    assert_ne!(tree_bytes(a.path()), tree_bytes(c.path()));
}

#[test]
fn s3_layout_is_what_cloudtrail_writes_and_parses_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let sum = gen_into(dir.path(), 1, Layout::S3);
    assert_eq!(sum.events, 20_000);
    let files = list_files(dir.path());
    let mut events = 0;
    for f in &files {
        let rel = f.strip_prefix(dir.path()).unwrap().display().to_string();
        if rel == "labels.csv" {
            continue;
        }
        let caps = s3_key_parts(&rel).unwrap_or_else(|| panic!("bad key {rel}"));
        assert_eq!(caps[0], caps[4], "region in folder and name: {rel}");
        assert_eq!(format!("{}{}{}", caps[1], caps[2], caps[3]), caps[5][..8], "{rel}");
        let out = load_file(f, &ParseOptions::default());
        assert_eq!(out.stats.skipped(), 0, "{rel}");
        for e in &out.events {
            assert_eq!(&*e.region, &caps[0]);
        }
        events += out.events.len();
    }
    assert_eq!(events as u64, sum.events);
}

/// The parts of a key shaped as CloudTrail writes it,
/// `AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_RANDOM16.json.gz`:
/// [region, year, month, day, region in the name, date in the name]; `None` for any other shape.
fn s3_key_parts(s: &str) -> Option<Vec<String>> {
    let digits = |x: &str, n: usize| x.len() == n && x.bytes().all(|b| b.is_ascii_digit());
    let region =
        |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let parts: Vec<&str> = s.split('/').collect();
    if parts.len() != 8 || parts[..3] != ["AWSLogs", "123456789012", "CloudTrail"] || !region(parts[3]) {
        return None;
    }
    if !digits(parts[4], 4) || !digits(parts[5], 2) || !digits(parts[6], 2) {
        return None;
    }
    let name = parts[7].strip_suffix(".json.gz")?;
    let f: Vec<&str> = name.split('_').collect();
    if f.len() != 5 || f[0] != "123456789012" || f[1] != "CloudTrail" || !region(f[2]) {
        return None;
    }
    if f[4].len() != 16 || !f[4].bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (date, time) = f[3].split_once('T')?;
    if !digits(date, 8) || time.len() != 5 || !digits(&time[..4], 4) || !time.ends_with('Z') {
        return None;
    }
    Some(vec![parts[3].into(), parts[4].into(), parts[5].into(), parts[6].into(), f[2].into(), date.into()])
}

#[test]
fn the_key_matcher_turns_away_other_shapes() {
    let good = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/04/123456789012_CloudTrail_us-east-1_20240304T0105Z_AbCdEfGh12345678.json.gz";
    assert!(s3_key_parts(good).is_some());
    for bad in [
        good.replace("2024/03", "2024/3x"),
        good.replace("T0105Z", "T01a5Z"),
        good.replace("AbCdEfGh12345678", "AbCdEfGh1234567!"),
        good.replace("AbCdEfGh12345678", "short"),
        good.replace("/us-east-1/", "/US-EAST-1/"),
        good.replace(".json.gz", ".json"),
    ] {
        assert!(s3_key_parts(&bad).is_none(), "{bad}");
    }
}

/// `gen --events N` writes N events, attacks included (it wrote 299,999 for 300,000).
#[test]
fn the_total_is_exact() {
    for (events, days) in [(20_000, 3), (7_777, 2), (12_345, 5), (4_001, 1)] {
        let mut g = Generator::for_total(9, START, days, events, ALL_SCENARIOS);
        let end = START + i64::from(days) * 86_400;
        let mut n = 0;
        while g.clock() < end {
            n += g.next_hour().iter().filter(|e| e.time < end).count() as u64;
        }
        assert_eq!(n, events, "{days} days");
    }
}

#[test]
fn records_have_the_real_schema() {
    let mut g = Generator::for_total(3, START, 2, 5_000, ALL_SCENARIOS);
    let mut kinds = HashSet::new();
    let mut n = 0;
    while g.clock() < START + 2 * 86_400 {
        for e in g.next_hour() {
            let v = serde_json::to_value(&e.record).unwrap();
            for key in [
                "eventVersion",
                "userIdentity",
                "eventTime",
                "eventSource",
                "eventName",
                "awsRegion",
                "sourceIPAddress",
                "userAgent",
                "requestID",
                "eventID",
                "readOnly",
                "eventType",
                "managementEvent",
                "recipientAccountId",
                "eventCategory",
            ] {
                assert!(v.get(key).is_some(), "{key} missing in {v}");
            }
            kinds.insert(v["userIdentity"]["type"].as_str().unwrap().to_owned());
            let (parsed, st) = parse_bytes(v.to_string().as_bytes(), &ParseOptions::default());
            assert_eq!(st.records, 1);
            assert_eq!(parsed[0].time, e.time);
            n += 1;
        }
    }
    assert!(n > 4_900);
    for k in ["IAMUser", "AssumedRole", "Root", "AWSService", "FederatedUser"] {
        assert!(kinds.contains(k), "no {k} identity in {kinds:?}");
    }
}

#[test]
fn labels_match_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let sum = gen_into(dir.path(), 5, Layout::Ndjson);
    let text = std::fs::read(dir.path().join("cloudtrail.ndjson")).unwrap();
    let (events, _) = parse_bytes(&text, &ParseOptions::default());
    let by_id: HashMap<&str, &crate::parse::Event> = events.iter().map(|e| (&*e.id, e)).collect();
    let mut rdr = csv::Reader::from_path(dir.path().join("labels.csv")).unwrap();
    assert_eq!(rdr.headers().unwrap(), vec!["event_id", "scenario", "principal", "source_ip", "malicious"]);
    let mut scenarios = HashSet::new();
    let mut rows = 0;
    for row in rdr.records() {
        let row = row.unwrap();
        let ev = by_id.get(&row[0]).unwrap_or_else(|| panic!("label for unknown event {}", &row[0]));
        assert_eq!(&*ev.principal, &row[2]);
        assert_eq!(&*ev.ip, &row[3]);
        assert_eq!(&row[4], "true");
        scenarios.insert(row[1].to_owned());
        rows += 1;
    }
    assert_eq!(rows, sum.malicious);
    assert_eq!(scenarios.len(), ALL_SCENARIOS.len(), "{scenarios:?}");
}

#[test]
fn lookup_pages_chain_and_parse() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::for_total(2, START, 1, 300, &[]);
    let sum = write_all(&mut g, START + 86_400, dir.path(), Layout::Lookup, None).unwrap();
    let first: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("lookup-00001.json")).unwrap()).unwrap();
    assert_eq!(first["Events"].as_array().unwrap().len(), 50);
    assert_eq!(first["NextToken"], "page-2");
    let out = load_file(&dir.path().join("lookup-00001.json"), &ParseOptions::default());
    assert_eq!(out.events.len(), 50);
    assert!(out.events.windows(2).all(|w| w[0].time >= w[1].time), "newest first");
    assert_eq!(sum.files, sum.events.div_ceil(50));
}
