//! Every record in `../shared/datasets` (real public CloudTrail) goes through the parser.
//! The expected counts come from an independent reading with `serde_json::Value`.
//! The folder is not part of a user's clone: these tests say so and pass when it is absent,
//! except in CI (`CI=true`), where an absent fixture fails the run.

use std::path::{Path, PathBuf};

use serde_json::Value;
use trailtop::parse::ParseOptions;
use trailtop::source::file::{MAX_DECOMPRESSED, load_file, read_bytes};
use trailtop::source::folder::list_files;

fn datasets() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets");
    if p.is_dir() {
        Some(p)
    } else {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{} is absent: CI must have it", p.display());
        eprintln!("skipped: {} is absent (it exists on the team's machines and in CI)", p.display());
        None
    }
}

/// Reference reading: (usable records, broken or unusable values, digests).
fn reference(bytes: &[u8]) -> (u64, u64, u64) {
    let text = String::from_utf8_lossy(bytes);
    let mut values = Vec::new();
    let mut bad = 0;
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => values.push(v),
        Err(_) => {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => values.push(v),
                    Err(_) => bad += 1,
                }
            }
        }
    }
    let mut records = Vec::new();
    let mut digests = 0;
    for v in values {
        match v {
            Value::Array(a) => records.extend(a),
            Value::Object(ref o) if o.contains_key("digestStartTime") => digests += 1,
            Value::Object(mut o) if o.contains_key("Records") => {
                records.extend(o.remove("Records").and_then(|r| r.as_array().cloned()).unwrap_or_default())
            }
            Value::Object(mut o) if o.contains_key("Events") => {
                for item in o.remove("Events").and_then(|r| r.as_array().cloned()).unwrap_or_default() {
                    match item.get("CloudTrailEvent").and_then(Value::as_str) {
                        Some(s) => match serde_json::from_str(s) {
                            Ok(r) => records.push(r),
                            Err(_) => bad += 1,
                        },
                        None => records.push(item),
                    }
                }
            }
            other => records.push(other),
        }
    }
    let has = |r: &Value, keys: &[&str]| keys.iter().any(|k| r.get(*k).is_some_and(|v| !v.is_null()));
    let usable = records
        .iter()
        .filter(|r| {
            ["eventTime", "eventtime", "@timestamp", "p_event_time"].iter().any(|k| match r.get(*k) {
                Some(Value::String(t)) => t.starts_with(|c: char| c.is_ascii_digit()),
                Some(Value::Number(_)) => true,
                _ => false,
            }) && (has(r, &["eventName", "eventname"]) || r.pointer("/insightDetails/eventName").is_some())
        })
        .count() as u64;
    (usable, bad + records.len() as u64 - usable, digests)
}

#[test]
fn every_dataset_record_parses_like_the_reference() {
    let Some(root) = datasets() else { return };
    let files = list_files(&root);
    assert!(files.len() > 250, "expected the shared datasets, found {} files", files.len());
    let mut total = 0;
    for f in files {
        let (bytes, err) = read_bytes(&f, MAX_DECOMPRESSED);
        assert!(err.is_none(), "{}: {err:?}", f.display());
        let (want_ok, want_bad, want_digests) = reference(&bytes);
        let out = load_file(&f, &ParseOptions::default());
        let st = &out.stats;
        assert_eq!(st.records, want_ok, "{}: {st:?}", f.display());
        assert_eq!(st.digests, want_digests, "{}", f.display());
        assert_eq!(st.invalid + st.truncated > 0, want_bad > 0, "{}: {st:?}", f.display());
        total += st.records;
    }
    assert!(total > 3700, "{total}");
}

#[test]
fn invictus_stream_has_every_record_and_known_actors() {
    let Some(root) = datasets() else { return };
    let mut events = Vec::new();
    for f in list_files(&root.join("invictus-sigma-aws")) {
        let out = load_file(&f, &ParseOptions::default());
        assert_eq!(out.stats.skipped(), 0, "{}", f.display());
        events.extend(out.events);
    }
    assert_eq!(events.len(), 2900);
    assert!(events.iter().any(|e| &*e.name == "StopLogging"));
    assert!(events.iter().all(|e| !e.principal.is_empty() && e.time > 1_688_900_000));
}

/// Generated records use only keys that real CloudTrail records use, at the top level and in
/// `userIdentity` / `sessionContext`.
#[test]
fn generated_records_have_the_shapes_of_real_ones() {
    let Some(root) = datasets() else { return };
    let mut real = std::collections::HashSet::new();
    let collect = |prefix: &str, v: &Value, into: &mut std::collections::HashSet<String>| {
        if let Some(o) = v.as_object() {
            for k in o.keys() {
                into.insert(format!("{prefix}{k}"));
            }
        }
    };
    for dir in ["invictus-sigma-aws", "stratus-red-team", "otrf-security-datasets"] {
        for f in list_files(&root.join(dir)) {
            let (bytes, _) = read_bytes(&f, MAX_DECOMPRESSED);
            let text = String::from_utf8_lossy(&bytes);
            let docs: Vec<Value> = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(mut o)) if o.contains_key("Records") => {
                    o.remove("Records").unwrap().as_array().cloned().unwrap()
                }
                Ok(Value::Array(a)) => a,
                _ => text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect(),
            };
            for r in docs {
                collect("", &r, &mut real);
                collect("userIdentity.", &r["userIdentity"], &mut real);
                collect("sessionContext.", &r["userIdentity"]["sessionContext"], &mut real);
            }
        }
    }
    let mut g = trailtop::generate::Generator::for_total(9, 1_709_510_400, 2, 3000, trailtop::generate::ALL_SCENARIOS);
    let mut generated = std::collections::HashSet::new();
    for _ in 0..48 {
        for e in g.next_hour() {
            let v = serde_json::to_value(&e.record).unwrap();
            collect("", &v, &mut generated);
            collect("userIdentity.", &v["userIdentity"], &mut generated);
            collect("sessionContext.", &v["userIdentity"]["sessionContext"], &mut generated);
        }
    }
    let unknown: Vec<_> = generated.difference(&real).collect();
    assert!(unknown.is_empty(), "keys real records never use: {unknown:?}");
    assert!(generated.len() > 30, "{generated:?}");
}
