//! Writing generated events in the layouts trailtop reads: CloudTrail's S3 key layout,
//! NDJSON, and LookupEvents-shaped pages; plus the labels CSV.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::DateTime;
use flate2::Compression;
use flate2::write::GzEncoder;
use rayon::prelude::*;

use super::build::ACCOUNT;
use super::{GenEvent, Generator};

/// How generated files are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// CloudTrail's S3 keys, gzipped, a file per region and five minutes.
    S3,
    /// One NDJSON file.
    Ndjson,
    /// LookupEvents pages.
    Lookup,
}

impl std::str::FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "s3" => Ok(Layout::S3),
            "ndjson" => Ok(Layout::Ndjson),
            "lookup" => Ok(Layout::Lookup),
            other => Err(format!("'{other}' is not one of s3, ndjson, lookup")),
        }
    }
}

/// What was written.
#[derive(Debug, Default)]
pub struct Summary {
    /// Events in all.
    pub events: u64,
    /// Of those, attack events.
    pub malicious: u64,
    /// Files written.
    pub files: u64,
    /// Bytes on disk.
    pub bytes: u64,
}

/// CloudTrail delivers a file per region about every five minutes.
const DELIVERY: i64 = 300;

/// Runs `gen` until `end` and writes everything below `out`.
pub fn write_all(
    g: &mut Generator,
    end: i64,
    out: &Path,
    layout: Layout,
    labels: Option<&Path>,
) -> anyhow::Result<Summary> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut labels = match labels {
        Some(p) => {
            let mut w = csv::Writer::from_path(p).with_context(|| format!("cannot create {}", p.display()))?;
            w.write_record(["event_id", "scenario", "principal", "source_ip", "malicious"])?;
            Some(w)
        }
        None => None,
    };
    let mut sum = Summary::default();
    let mut ndjson = match layout {
        Layout::Ndjson => Some(BufWriter::new(File::create(out.join("cloudtrail.ndjson"))?)),
        _ => None,
    };
    let mut lookup_buf = Vec::new();
    while g.clock() < end {
        let first = g.clock();
        let batch = (((end - first) / 3600) as usize).clamp(1, 4);
        for (i, hour_events) in g.next_hours(batch).into_iter().enumerate() {
            let hour = first + 3600 * i as i64;
            let events: Vec<GenEvent> = hour_events.into_iter().filter(|e| e.time < end).collect();
            sum.events += events.len() as u64;
            if let Some(w) = labels.as_mut() {
                for e in &events {
                    if let Some(l) = &e.label {
                        w.write_record([e.record.event_id.as_str(), l.scenario, &l.principal, &l.source_ip, "true"])?;
                    }
                }
            }
            sum.malicious += events.iter().filter(|e| e.label.is_some()).count() as u64;
            match layout {
                Layout::S3 => {
                    let (files, bytes) = write_s3_hour(out, hour, &events)?;
                    sum.files += files;
                    sum.bytes += bytes;
                }
                Layout::Ndjson => {
                    let w = ndjson.as_mut().expect("opened above");
                    for e in &events {
                        serde_json::to_writer(&mut *w, &e.record)?;
                        w.write_all(b"\n")?;
                    }
                }
                Layout::Lookup => lookup_buf.extend(events),
            }
        }
    }
    if let Some(mut w) = ndjson {
        w.flush()?;
        sum.files = 1;
    }
    if layout == Layout::Lookup {
        sum.files = write_lookup(out, lookup_buf)?;
    }
    if layout != Layout::S3 {
        // Plain files: their size on disk is what was written.
        sum.bytes = walkdir::WalkDir::new(out)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum();
    }
    if let Some(mut w) = labels {
        w.flush()?;
    }
    Ok(sum)
}

/// The S3 key of a file delivered for `region` at the end of the interval starting `slot`.
pub fn s3_key(region: &str, slot: i64, suffix: &str) -> PathBuf {
    let delivered = DateTime::from_timestamp(slot + DELIVERY, 0).unwrap_or_default();
    PathBuf::from(format!(
        "AWSLogs/{ACCOUNT}/CloudTrail/{region}/{}/{ACCOUNT}_CloudTrail_{region}_{}_{suffix}.json.gz",
        delivered.format("%Y/%m/%d"),
        delivered.format("%Y%m%dT%H%MZ"),
    ))
}

fn write_s3_hour(out: &Path, hour: i64, events: &[GenEvent]) -> anyhow::Result<(u64, u64)> {
    let mut groups: std::collections::BTreeMap<(&str, i64), Vec<&GenEvent>> = Default::default();
    for e in events {
        groups.entry((&e.record.aws_region, e.time.div_euclid(DELIVERY) * DELIVERY)).or_default().push(e);
    }
    let groups: Vec<_> = groups.into_iter().collect();
    let bytes = groups
        .par_iter()
        .map(|((region, slot), evs)| -> anyhow::Result<u64> {
            let suffix = suffix_for(hour, region, *slot);
            let path = out.join(s3_key(region, *slot, &suffix));
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            let mut doc = Vec::with_capacity(evs.len() * 1200);
            doc.extend_from_slice(b"{\"Records\":[");
            for (i, e) in evs.iter().enumerate() {
                if i > 0 {
                    doc.push(b',');
                }
                serde_json::to_writer(&mut doc, &e.record)?;
            }
            doc.extend_from_slice(b"]}");
            let mut gz = GzEncoder::new(Vec::with_capacity(doc.len() / 8), Compression::fast());
            gz.write_all(&doc)?;
            let packed = gz.finish()?;
            fs::write(&path, &packed).with_context(|| format!("cannot write {}", path.display()))?;
            Ok(packed.len() as u64)
        })
        .collect::<anyhow::Result<Vec<u64>>>()?;
    Ok((bytes.len() as u64, bytes.iter().sum()))
}

/// CloudTrail's 16-character random file suffix, derived so the output is deterministic.
fn suffix_for(hour: i64, region: &str, slot: i64) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = crate::parse::fnv1a(format!("{hour}{region}{slot}").as_bytes()) | 1;
    (0..16)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            A[(x % A.len() as u64) as usize] as char
        })
        .collect()
}

/// LookupEvents returns newest first, 50 a page, each event's record as a JSON string.
fn write_lookup(out: &Path, mut events: Vec<GenEvent>) -> anyhow::Result<u64> {
    events.sort_by_key(|e| std::cmp::Reverse(e.time));
    let pages: Vec<_> = events.chunks(50).collect();
    for (i, page) in pages.iter().enumerate() {
        let items: Vec<serde_json::Value> = page
            .iter()
            .map(|e| {
                let r = &e.record;
                Ok(serde_json::json!({
                    "EventId": r.event_id, "EventName": r.event_name, "ReadOnly": r.read_only.to_string(),
                    "AccessKeyId": r.user_identity.access_key_id, "EventTime": e.time, "EventSource": r.event_source,
                    "Username": r.user_identity.user_name.clone().or_else(|| r.user_identity.arn.as_ref().and_then(|a| a.rsplit('/').next().map(str::to_owned))),
                    "Resources": [], "CloudTrailEvent": serde_json::to_string(r)?,
                }))
            })
            .collect::<serde_json::Result<_>>()?;
        let mut page_doc = serde_json::json!({ "Events": items });
        if i + 1 < pages.len() {
            page_doc["NextToken"] = format!("page-{}", i + 2).into();
        }
        fs::write(out.join(format!("lookup-{:05}.json", i + 1)), serde_json::to_vec(&page_doc)?)?;
    }
    Ok(pages.len() as u64)
}
