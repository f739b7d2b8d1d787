//! The alert document: what every sink sends, as one JSON object. It is `scan`'s JSON line
//! for the window (so one parser serves both), plus why it alerted, a stable id and a summary
//! line that holds no link (chat tools unfurl links; log content chooses them).

use serde::Serialize;

use crate::headless::scan::RowOut;
use crate::model::ScoredRow;
use crate::parse::sanitize::clean;
use crate::parse::time::{format_utc, rfc3339};
use crate::text::{group, short_principal};

/// Why a window alerted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// Flagged by its rank as its window closed.
    Flagged,
    /// A high or critical rule or signature fired in it (at once, open window or not).
    HighRule,
    /// Its rank score rose past the last alert's by the margin.
    Rose,
    /// A rule or signature fired in it that its last alert did not name.
    NewRule,
}

impl Trigger {
    /// In words, for the summary and the logs.
    pub fn words(self) -> &'static str {
        match self {
            Trigger::Flagged => "flagged as its window closed",
            Trigger::HighRule => "a high-severity rule fired",
            Trigger::Rose => "its rank score rose",
            Trigger::NewRule => "a new rule fired",
        }
    }
}

/// A Sigma rule's hits in the alert's window.
#[derive(Debug, Serialize)]
pub struct SigmaOut<'a> {
    /// The rule's id.
    pub id: &'a str,
    /// Its title, scrubbed.
    pub title: String,
    /// Its level.
    pub level: &'static str,
    /// Records it fired on.
    pub count: u32,
    /// ATT&CK techniques it names.
    pub techniques: &'a [String],
    /// The entity hits it habitually.
    pub habitual: bool,
}

/// An event name and how often the window holds it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NameCount {
    /// The event name, scrubbed.
    pub name: String,
    /// Its count among the records the tail still held.
    pub count: u64,
}

/// One alert. Field names are a stable interface, like `scan`'s.
#[derive(Serialize)]
pub struct AlertDoc<'a> {
    /// Stable per window and alert number: a receiver de-duplicates by it.
    pub alert_id: String,
    /// When it was decided, RFC 3339.
    pub alerted_at: String,
    /// Why.
    pub trigger: Trigger,
    /// `critical`, `high` or `medium`.
    pub severity: &'static str,
    /// Windows of the same entity and rules not sent on their own since the last alert (the
    /// de-duplication period folded them in).
    pub folded: u32,
    /// One line for humans, without links.
    pub summary: String,
    /// The most frequent event names of the window.
    pub top_events: Vec<NameCount>,
    /// `scan`'s row for the window; its `sigma` is replaced by [`SigmaOut`]s, since `scan`
    /// fills it from an index the pipeline does not keep.
    #[serde(flatten)]
    pub row: RowOut<'a>,
}

/// What an alert is made from besides the row.
pub struct Made {
    /// The alert's id.
    pub id: String,
    /// Why.
    pub trigger: Trigger,
    /// Windows folded into it.
    pub folded: u32,
    /// When, Unix seconds.
    pub at: i64,
    /// The window's top event names.
    pub top_events: Vec<NameCount>,
}

/// The severity of an alert on `s`: the model's rule severity (critical for a critical
/// signature, high for a high rule or signature), medium otherwise.
pub fn severity(s: &ScoredRow) -> &'static str {
    crate::model::rule_severity(&s.row, 0).map_or("medium", |l| l.name())
}

/// A text field of an alert document, `""` when absent.
pub fn text<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v.get(key).and_then(serde_json::Value::as_str).unwrap_or("")
}

/// The alert document for `s`, as JSON.
pub fn document(s: &ScoredRow, made: Made) -> serde_json::Value {
    let mut row = RowOut::new(s, None);
    row.techniques = s.signatures.iter().flat_map(|g| g.techniques.iter().map(String::as_str)).collect();
    row.techniques.sort_unstable();
    row.techniques.dedup();
    let sigma: Vec<SigmaOut> = s
        .signatures
        .iter()
        .map(|g| SigmaOut {
            id: &g.id,
            title: clean(&g.title).into_owned(),
            level: g.level.name(),
            count: g.count,
            techniques: &g.techniques,
            habitual: g.habitual,
        })
        .collect();
    let doc = AlertDoc {
        alert_id: made.id,
        alerted_at: rfc3339(made.at),
        trigger: made.trigger,
        severity: severity(s),
        folded: made.folded,
        summary: summary(s, made.trigger, &made.top_events),
        top_events: made.top_events,
        row,
    };
    let mut v = serde_json::to_value(&doc).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.insert("sigma".into(), serde_json::to_value(&sigma).unwrap_or_default());
    }
    v
}

/// "trailtop high: user/alice from 203.0.113.9 (Budapest, HU), 2026-12-03 12:00–13:00 UTC,
/// 14 events (StopLogging ×1, DeleteTrail ×1); logging-tampering; sigma high: CloudTrail
/// Logging Stopped; rank score 0.962 — a high-severity rule fired". Scrubbed, and with every
/// `://` broken so that no chat tool makes a link of it.
pub fn summary(s: &ScoredRow, trigger: Trigger, top: &[NameCount]) -> String {
    let r = &s.row;
    let place = r.place.as_deref().map(|p| format!(" ({p})")).unwrap_or_default();
    let events = if top.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = top.iter().take(3).map(|n| format!("{} ×{}", n.name, group(n.count))).collect();
        format!(" ({})", names.join(", "))
    };
    let mut parts = vec![format!(
        "trailtop {}: {} from {}{place}, {}–{} UTC, {} events{events}",
        severity(s),
        short_principal(&r.principal),
        r.source_ip,
        format_utc(r.window_start, "%Y-%m-%d %H:%M"),
        format_utc(r.window_end, "%H:%M"),
        group(r.events),
    )];
    let active: Vec<&str> = crate::features::rules::rule_ids(r.rules & !r.habitual_rules);
    if !active.is_empty() {
        parts.push(active.join(", "));
    }
    if let Some(g) = s.signatures.iter().find(|g| !g.habitual && g.level >= crate::sigma::Level::Medium) {
        parts.push(format!("sigma {}: {}", g.level.name(), g.title));
    }
    if let Some(t) = &r.travel {
        parts.push(t.clone());
    }
    parts.push(format!("rank score {:.3} — {}", s.rank_score, trigger.words()));
    clean(&parts.join("; ")).replace("://", ":⁄⁄")
}
