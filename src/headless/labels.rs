//! `trailtop labels list|export` and loading labels for headless runs.

use std::io::Write;
use std::path::Path;

use crate::model::feedback::{Feedback, LabelStore, Verdict};
use crate::parse::time::rfc3339;
use crate::text::neutralize_csv;

/// The labels in force in `dir`, with a warning line for corrupt entries.
pub fn load(dir: &Path) -> anyhow::Result<Feedback> {
    let store = LabelStore::new(dir);
    let (lines, report) = store.load()?;
    if report.corrupt > 0 {
        eprintln!("trailtop: {}: {} corrupt line(s) skipped", store.path().display(), report.corrupt);
    }
    Ok(Feedback::from_lines(lines, chrono::Utc::now().timestamp()))
}

fn verdict(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::FalsePositive) => "false_positive",
        Some(Verdict::TruePositive) => "true_positive",
        None => "",
    }
}

/// One line per label in force, scrubbed.
pub fn list(out: &mut dyn Write, fb: &Feedback) -> std::io::Result<()> {
    for l in &fb.labels {
        writeln!(
            out,
            "{:<15} {:<16} {}  {}  {}  {}",
            verdict(l.verdict),
            format!("{:?}", l.scope).to_lowercase(),
            rfc3339(l.window_start),
            l.principal,
            l.source_ip,
            l.note.as_deref().unwrap_or("")
        )?;
    }
    Ok(())
}

/// Every label in force as JSON lines.
pub fn export_jsonl(out: &mut dyn Write, fb: &Feedback) -> std::io::Result<()> {
    for l in &fb.labels {
        serde_json::to_writer(&mut *out, l)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// CSV for spreadsheets; every text cell is neutralised against formula injection.
pub fn export_csv(out: &mut dyn Write, fb: &Feedback) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "id",
        "verdict",
        "scope",
        "entity",
        "principal",
        "source_ip",
        "window_start",
        "window_end",
        "score",
        "note",
        "labelled_at",
        "expires_at",
    ])?;
    for l in &fb.labels {
        w.write_record([
            neutralize_csv(&l.id),
            verdict(l.verdict).to_owned(),
            format!("{:?}", l.scope).to_lowercase(),
            neutralize_csv(&l.entity),
            neutralize_csv(&l.principal),
            neutralize_csv(&l.source_ip),
            rfc3339(l.window_start),
            rfc3339(l.window_end),
            format!("{:.4}", l.score),
            neutralize_csv(l.note.as_deref().unwrap_or("")),
            rfc3339(l.labelled_at),
            l.expires_at.map(rfc3339).unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FeatureRow;
    use crate::model::ScoredRow;
    use crate::model::feedback::{Label, Scope};

    #[test]
    fn csv_export_neutralises_formulas() {
        let row = ScoredRow {
            row: FeatureRow {
                entity: "=cmd|' /C calc'!A0".into(),
                principal: "@SUM(1)".into(),
                source_ip: "+1".into(),
                window_end: 3600,
                events: 1,
                ..Default::default()
            },
            score: 0.5,
            rank_score: 0.5,
            rank: 1,
            ..Default::default()
        };
        let mut l = Label::new(&row, Verdict::FalsePositive, Scope::Entity, 1, 0);
        l.note = Some("-2+3".into());
        let fb = Feedback { labels: vec![l] };
        let mut out = Vec::new();
        export_csv(&mut out, &fb).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        let rec = rdr.records().next().unwrap().unwrap();
        for cell in rec.iter() {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell} in {text}");
        }
        assert_eq!(&rec[3], "'=cmd|' /C calc'!A0");
    }

    /// `labels list` printed what the file held: an edited labels.jsonl could repaint the
    /// analyst's terminal or reorder the line with a bidi override.
    #[test]
    fn labels_from_the_file_are_listed_and_exported_scrubbed() {
        let dir = tempfile::tempdir().unwrap();
        let line = r#"{"id":"x\u001b]0;pwned\u0007","verdict":"false_positive","scope":"entity","entity":"e\u202e","principal":"arn:aws:iam::1:user/a\u200b","source_ip":"1.2.3.4","window_start":1709251200,"window_end":1709254800,"note":"ok\u001b[2J\u2066","labelled_at":1709251300}"#;
        std::fs::write(dir.path().join("labels.jsonl"), format!("{line}\n")).unwrap();
        let fb = load(dir.path()).unwrap();
        assert_eq!(fb.labels.len(), 1);
        let mut out = Vec::new();
        list(&mut out, &fb).unwrap();
        let mut csv_out = Vec::new();
        export_csv(&mut csv_out, &fb).unwrap();
        let mut jsonl = Vec::new();
        export_jsonl(&mut jsonl, &fb).unwrap();
        for text in
            [String::from_utf8(out).unwrap(), String::from_utf8(csv_out).unwrap(), String::from_utf8(jsonl).unwrap()]
        {
            assert!(!text.contains(['\x1b', '\x07', '\u{202e}', '\u{2066}', '\u{200b}']), "{text:?}");
            assert!(!text.contains("\\u001b") && !text.contains("\\u202e"), "{text}");
        }
    }
}
