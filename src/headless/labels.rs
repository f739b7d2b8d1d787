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

/// One line per label in force under a header, scrubbed: the id (`labels withdraw` takes it,
/// or a unique start of it), verdict, scope, window, expiry, principal, address and note.
pub fn list(out: &mut dyn Write, fb: &Feedback) -> std::io::Result<()> {
    use crate::parse::sanitize::clean;
    writeln!(
        out,
        "{:<40} {:<15} {:<13} {:<20} {:<20} {:<40} {:<15} NOTE",
        "ID", "VERDICT", "SCOPE", "WINDOW (UTC)", "EXPIRES", "PRINCIPAL", "SOURCE IP"
    )?;
    for l in &fb.labels {
        writeln!(
            out,
            "{:<40} {:<15} {:<13} {:<20} {:<20} {:<40} {:<15} {}",
            clean(&l.id),
            verdict(l.verdict),
            format!("{:?}", l.scope).to_lowercase(),
            rfc3339(l.window_start),
            l.expires_at.map_or("never".to_owned(), rfc3339),
            clean(&l.principal),
            clean(&l.source_ip),
            clean(l.note.as_deref().unwrap_or(""))
        )?;
    }
    if fb.labels.is_empty() {
        writeln!(out, "(no labels in force)")?;
    }
    Ok(())
}

/// Withdraws the label in force whose id is `id` or starts with it (one only), by appending
/// its undo to `dir`'s labels; returns what was withdrawn, in words.
pub fn withdraw(dir: &Path, fb: &Feedback, id: &str) -> anyhow::Result<String> {
    let hits: Vec<_> = fb.labels.iter().filter(|l| !id.is_empty() && l.id.starts_with(id)).collect();
    let label = match hits[..] {
        [l] => l,
        [] => anyhow::bail!(
            "no label in force has an id starting with '{}' (see `trailtop labels list`)",
            crate::parse::sanitize::clean(id)
        ),
        _ => anyhow::bail!(
            "{} labels have ids starting with '{}': give more of it",
            hits.len(),
            crate::parse::sanitize::clean(id)
        ),
    };
    LabelStore::new(dir).append(&label.undo_of(chrono::Utc::now().timestamp()))?;
    Ok(format!(
        "withdrew the {} label on {} at {} ({})",
        verdict(label.verdict).replace('_', " "),
        crate::parse::sanitize::clean(&label.principal),
        rfc3339(label.window_start),
        crate::parse::sanitize::clean(&label.id)
    ))
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

    /// `labels list` had no header, no id and no expiry; nothing could withdraw a label
    /// outside the console.
    #[test]
    fn list_has_a_header_ids_and_expiry_and_withdraw_takes_an_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = LabelStore::new(dir.path());
        let row = |p: &str| ScoredRow {
            row: FeatureRow {
                entity: p.into(),
                principal: p.into(),
                window_start: 1_709_251_200,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut a = Label::new(&row("user/alice"), Verdict::FalsePositive, Scope::Principal, 1, 100);
        let expires = chrono::Utc::now().timestamp() + 30 * 86_400;
        a.expires_at = Some(expires);
        let b = Label::new(&row("user/bob"), Verdict::TruePositive, Scope::Entity, 1, 100);
        store.append(&a).unwrap();
        store.append(&b).unwrap();
        let fb = load(dir.path()).unwrap();
        let mut out = Vec::new();
        list(&mut out, &fb).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ID ") && lines[0].contains("EXPIRES") && lines[0].ends_with("NOTE"), "{text}");
        assert!(
            lines[1].starts_with(&a.id) && lines[1].contains(&rfc3339(expires)) && lines[1].contains("principal"),
            "{text}"
        );
        assert!(lines[2].contains("never") && lines[2].contains("true_positive"), "{text}");
        // Ids share their start (the time): a prefix that is not unique is refused.
        assert!(withdraw(dir.path(), &fb, "").is_err());
        assert!(withdraw(dir.path(), &fb, "nope").unwrap_err().to_string().contains("no label"));
        let said = withdraw(dir.path(), &fb, &a.id).unwrap();
        assert!(said.contains("false positive label on user/alice"), "{said}");
        let left = load(dir.path()).unwrap();
        let ids: Vec<&str> = left.labels.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, [b.id.as_str()]);
    }

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
