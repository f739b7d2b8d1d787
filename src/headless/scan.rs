//! Printing ranked entity-windows as a table, JSON lines or CSV.

use std::io::Write;

use serde::Serialize;

use crate::features::{FEATURE_NAMES, FeatureRow};
use crate::model::{Reason, Scored, ScoredRow, Threshold};
use crate::parse::time::{format_utc, rfc3339};
use crate::sigma::{HitOut, Rules, Starts, WindowHits};
use crate::text::{neutralize_csv, short_principal, truncate};

/// Sigma rules and their hits per window, for the output.
pub struct Signatures<'a> {
    /// The rules loaded.
    pub rules: &'a Rules,
    /// Their hits.
    pub hits: &'a WindowHits,
    /// Every entity's windows, for habit.
    pub starts: Starts<'a>,
}

impl<'a> Signatures<'a> {
    /// The hits of `r`'s window, highest level first.
    fn of(&self, r: &FeatureRow) -> Vec<HitOut<'a>> {
        self.hits.out(self.rules, (r.window_start, &r.entity), &self.starts)
    }

    /// The techniques of `r`'s window.
    fn techniques(&self, r: &FeatureRow) -> Vec<&'a str> {
        self.hits.techniques(self.rules, (r.window_start, &r.entity))
    }
}

/// One output row. Field names are a stable interface for scripts and SIEMs.
#[derive(Serialize)]
pub struct RowOut<'a> {
    /// 1 for the most anomalous.
    pub rank: usize,
    /// The forest's score.
    pub score: f64,
    /// The score with rule weights, by which rows are ordered and flagged.
    pub rank_score: f64,
    /// Whether the row is flagged.
    pub flagged: bool,
    /// Rules that lifted the rank.
    pub rules: &'a [&'static str],
    /// Of `rules`, those this principal hits habitually: shown, but they do not lift the rank.
    pub habitual_rules: Vec<&'static str>,
    /// Why it scored as it did.
    pub reasons: &'a [Reason],
    /// The entity.
    pub entity: &'a str,
    /// The principal.
    pub principal: &'a str,
    /// The source address.
    pub source_ip: &'a str,
    /// The window's start, RFC 3339.
    pub window_start: String,
    /// The window's end, RFC 3339.
    pub window_end: String,
    /// Events in the window.
    pub events: u64,
    /// Every feature by name.
    pub features: serde_json::Map<String, serde_json::Value>,
    /// Sigma rules that fired in the window, highest level first (empty without `--sigma`).
    pub sigma: Vec<HitOut<'a>>,
    /// ATT&CK techniques those rules name.
    pub techniques: Vec<&'a str>,
    /// Where the source address is (`Budapest, HU`), with `--geoip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<&'a str>,
    /// The window's impossible travel in words, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub travel: Option<&'a str>,
}

impl<'a> RowOut<'a> {
    /// The row for `s`.
    pub fn new(s: &'a ScoredRow, sig: Option<&Signatures<'a>>) -> Self {
        let r = &s.row;
        let features = FEATURE_NAMES
            .iter()
            .zip(r.features)
            .map(|(n, v)| {
                (n.to_string(), serde_json::Number::from_f64(round(v)).map_or(serde_json::Value::Null, Into::into))
            })
            .collect();
        Self {
            rank: s.rank,
            score: round(s.score),
            rank_score: round(s.rank_score),
            flagged: s.flagged,
            rules: &s.rules,
            habitual_rules: crate::features::rules::rule_ids(r.habitual_rules),
            reasons: &s.reasons,
            entity: &r.entity,
            principal: &r.principal,
            source_ip: &r.source_ip,
            window_start: rfc3339(r.window_start),
            window_end: rfc3339(r.window_end),
            events: r.events,
            features,
            sigma: sig.map_or_else(Vec::new, |g| g.of(r)),
            techniques: sig.map_or_else(Vec::new, |g| g.techniques(r)),
            place: r.place.as_deref(),
            travel: r.travel.as_deref(),
        }
    }
}

/// Six decimals is plenty for ratios and keeps lines short.
fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// One JSON object per row.
pub fn write_jsonl(out: &mut dyn Write, rows: &[ScoredRow], sig: Option<&Signatures>) -> std::io::Result<()> {
    for r in rows {
        serde_json::to_writer(&mut *out, &RowOut::new(r, sig))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// CSV, with every feature a column and cells guarded against formulas.
pub fn write_csv(out: &mut dyn Write, rows: &[ScoredRow], sig: Option<&Signatures>) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec![
        "rank",
        "score",
        "rank_score",
        "flagged",
        "rules",
        "principal",
        "source_ip",
        "window_start",
        "window_end",
        "events",
    ];
    // The `events` feature is the column above: each name once.
    header.extend(FEATURE_NAMES.iter().filter(|n| **n != "events"));
    header.push("top_reason");
    header.extend(["sigma", "techniques", "place", "travel"]);
    w.write_record(&header)?;
    for s in rows {
        let r = &s.row;
        let mut rec = vec![
            s.rank.to_string(),
            format!("{:.4}", s.score),
            format!("{:.4}", s.rank_score),
            s.flagged.to_string(),
            s.rules.join(" "),
            neutralize_csv(&r.principal),
            neutralize_csv(&r.source_ip),
            rfc3339(r.window_start),
            rfc3339(r.window_end),
            r.events.to_string(),
        ];
        rec.extend(
            FEATURE_NAMES.iter().zip(&r.features).filter(|(n, _)| **n != "events").map(|(_, v)| round(*v).to_string()),
        );
        rec.push(neutralize_csv(s.reasons.first().map_or("", |x| x.text.as_str())));
        let (hits, techniques) = sig.map_or_else(Default::default, |g| (g.of(r), g.techniques(r)));
        rec.push(neutralize_csv(
            &hits
                .iter()
                .map(|h| {
                    format!("{}: {} ({}{})", h.level, h.title, h.count, if h.habitual { ", habitual" } else { "" })
                })
                .collect::<Vec<_>>()
                .join("; "),
        ));
        rec.push(techniques.join(" "));
        rec.push(neutralize_csv(r.place.as_deref().unwrap_or("")));
        rec.push(neutralize_csv(r.travel.as_deref().unwrap_or("")));
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// The line that says what is flagged and why, for humans.
pub fn threshold_line(scored: &Scored, cfg: &crate::model::ModelConfig) -> String {
    let flagged = scored.rows.iter().filter(|r| r.flagged).count();
    let mut how = match cfg.threshold {
        Threshold::Contamination(f) => format!("top {:.2}% by rank score", f * 100.0),
        Threshold::Score(t) => format!("rank score >= {t}"),
        Threshold::Budget(n) => format!("alert budget {} model alerts/day", crate::text::trim_float(n)),
    };
    if let Some(level) = cfg.always_flag {
        how.push_str(&format!(", and {} rules whatever the cut", level.name()));
    }
    format!("{flagged} of {} entity-windows flagged ({how}; cut-off {:.3})", scored.rows.len(), scored.cutoff)
}

/// Columns before WHY in the table.
const TABLE_FIXED: usize = 83;

/// A table. It shows the rank score, by which rows are ordered and cut (the forest's score
/// alone is in the JSON lines and CSV). With `width` (a terminal's), WHY is cut to fit it
/// (to 17 characters at least); without (a pipe or a file), it is whole.
pub fn write_table(
    out: &mut dyn Write,
    rows: &[ScoredRow],
    width: Option<usize>,
    sig: Option<&Signatures>,
) -> std::io::Result<()> {
    let why_width = width.map_or(usize::MAX, |w| w.saturating_sub(TABLE_FIXED).max(17));
    writeln!(
        out,
        "{:>4} {:>10} {:1} {:<16} {:<24} {:<15} {:>6} WHY",
        "#", "RANK SCORE", "!", "WINDOW (UTC)", "PRINCIPAL", "SOURCE IP", "EVENTS"
    )?;
    for s in rows {
        let r = &s.row;
        let mut why = if s.rules.is_empty() {
            s.reasons.first().map_or(String::new(), |x| x.text.clone())
        } else {
            format!("[{}] {}", s.rules.join(","), s.reasons.first().map_or("", |x| x.feature))
        };
        // The strongest signature first: it is what an analyst acts on.
        if let Some(top) = sig.and_then(|g| g.of(r).into_iter().find(|h| h.level != "informational" && !h.habitual)) {
            why = format!("sigma {}: {}; {why}", top.level, crate::parse::sanitize::clean(top.title));
        }
        writeln!(
            out,
            "{:>4} {:>10.3} {:1} {:<16} {:<24} {:<15} {:>6} {}",
            s.rank,
            s.rank_score,
            if s.flagged { "!" } else { " " },
            &format_utc(r.window_start, "%Y-%m-%dT%H:%M"),
            truncate(short_principal(&r.principal), 24),
            truncate(&r.source_ip, 15),
            r.events,
            truncate(&why, why_width),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FeatureRow;

    /// Two windows where the rules lift the one with the lower forest score to the top.
    fn ranked() -> Vec<ScoredRow> {
        let row = |rank, principal: &str, score, rank_score, rules| ScoredRow {
            row: FeatureRow { principal: principal.into(), entity: principal.into(), ..Default::default() },
            score,
            rank_score,
            rank,
            flagged: rank == 1,
            rules,
            ..Default::default()
        };
        vec![
            row(1, "user/low-score", 0.46, 0.96, vec!["logging-tampering"]),
            row(2, "user/high-score", 0.70, 0.70, vec![]),
        ]
    }

    #[test]
    fn the_table_shows_the_rank_score_the_rows_are_ordered_by() {
        let mut out = Vec::new();
        write_table(&mut out, &ranked(), Some(100), None).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("RANK SCORE"), "{text}");
        assert!(lines[1].contains(" 0.960 ! ") && lines[1].contains("user/low-score"), "{text}");
        assert!(lines[2].contains(" 0.700   ") && !text.contains("0.460"), "{text}");
        assert!(lines.iter().all(|l| l.chars().count() <= 100), "{text}");
        assert!(lines[1].ends_with("[logging-tamperi…"), "{text}");
    }

    #[test]
    fn a_table_for_a_pipe_keeps_the_whole_reason() {
        let mut out = Vec::new();
        write_table(&mut out, &ranked(), None, None).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.lines().nth(1).unwrap().ends_with("[logging-tampering] "), "{text}");
    }

    #[test]
    fn csv_carries_score_and_rank_score() {
        let mut out = Vec::new();
        write_csv(&mut out, &ranked(), None).unwrap();
        let mut r = csv::Reader::from_reader(out.as_slice());
        let header = r.headers().unwrap().clone();
        let col = |name| header.iter().position(|h| h == name).unwrap();
        let first = r.records().next().unwrap().unwrap();
        assert_eq!((&first[col("score")], &first[col("rank_score")]), ("0.4600", "0.9600"));
        assert_eq!(&first[col("rules")], "logging-tampering");
        // Each column once (`events` was there twice), and every row as wide as the header.
        let names: std::collections::HashSet<&str> = header.iter().collect();
        assert_eq!(names.len(), header.len(), "{header:?}");
        assert_eq!(first.len(), header.len());
    }
}
