//! Printing entity-window rows as a table, JSON lines or CSV.

use std::io::Write;

use serde::Serialize;

use crate::features::{FEATURE_NAMES, FeatureRow};
use crate::parse::time::rfc3339;
use crate::text::{neutralize_csv, short_principal, truncate};

/// One output row. Field names are a stable interface for scripts and SIEMs.
#[derive(Serialize)]
pub struct RowOut<'a> {
    pub entity: &'a str,
    pub principal: &'a str,
    pub source_ip: &'a str,
    pub window_start: String,
    pub window_end: String,
    pub events: u64,
    pub features: serde_json::Map<String, serde_json::Value>,
}

impl<'a> RowOut<'a> {
    pub fn new(r: &'a FeatureRow) -> Self {
        let features = FEATURE_NAMES
            .iter()
            .zip(r.features)
            .map(|(n, v)| {
                (n.to_string(), serde_json::Number::from_f64(round(v)).map_or(serde_json::Value::Null, Into::into))
            })
            .collect();
        Self {
            entity: &r.entity,
            principal: &r.principal,
            source_ip: &r.source_ip,
            window_start: rfc3339(r.window_start),
            window_end: rfc3339(r.window_end),
            events: r.events,
            features,
        }
    }
}

/// Six decimals is plenty for ratios and keeps lines short.
fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

pub fn write_jsonl(out: &mut dyn Write, rows: &[FeatureRow]) -> std::io::Result<()> {
    for r in rows {
        serde_json::to_writer(&mut *out, &RowOut::new(r))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

pub fn write_csv(out: &mut dyn Write, rows: &[FeatureRow]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec!["principal", "source_ip", "window_start", "window_end", "events"];
    header.extend(FEATURE_NAMES);
    w.write_record(&header)?;
    for r in rows {
        let mut rec = vec![
            neutralize_csv(&r.principal),
            neutralize_csv(&r.source_ip),
            rfc3339(r.window_start),
            rfc3339(r.window_end),
            r.events.to_string(),
        ];
        rec.extend(r.features.iter().map(|v| round(*v).to_string()));
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// A table for a 100-column terminal.
pub fn write_table(out: &mut dyn Write, rows: &[FeatureRow]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<17} {:<30} {:<15} {:>6} {:>4} {:>5} {:>5} {:>4} {:>3}",
        "WINDOW (UTC)", "PRINCIPAL", "SOURCE IP", "EVENTS", "SVC", "CALLS", "FAIL%", "SENS", "NEW"
    )?;
    for r in rows {
        let new = r.get("new_ips") + r.get("new_regions") + r.get("new_user_agents") + r.get("new_principal");
        writeln!(
            out,
            "{:<17} {:<30} {:<15} {:>6} {:>4} {:>5} {:>5.0} {:>4} {:>3}",
            &rfc3339(r.window_start)[..16],
            truncate(short_principal(&r.principal), 30),
            truncate(&r.source_ip, 15),
            r.events,
            r.get("distinct_sources"),
            r.get("distinct_events"),
            r.get("failure_ratio") * 100.0,
            r.get("sensitive_apis"),
            new,
        )?;
    }
    Ok(())
}
