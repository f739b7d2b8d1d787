//! What happened in a window, in the analyst's words, before the model's view of it:
//! "logging-tampering: StopLogging, DeleteTrail 05:05–05:08 UTC, agent kali; first time from
//! this address for this principal". Built from the records the console holds.

use std::sync::Arc;

use crate::features::rules::{fires_on, offensive_tool, rule_ids};
use crate::model::ScoredRow;
use crate::parse::Event;
use crate::parse::sanitize::clean;
use crate::parse::time::format_utc;
use crate::text::{plural, truncate};

/// Event names named in a line at most.
const NAMES: usize = 4;

/// The calls, the minutes and the agent of `records`: "StopLogging, DeleteTrail 05:05–05:08
/// UTC, agent kali-linux/2024.1 (3 records)".
fn what(records: &[&Arc<Event>]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for e in records.iter().rev() {
        if !names.contains(&&*e.name) {
            names.push(&e.name);
        }
    }
    let more = names.len().saturating_sub(NAMES);
    let mut calls = names.iter().take(NAMES).copied().collect::<Vec<_>>().join(", ");
    if more > 0 {
        calls.push_str(&format!(" and {more} more"));
    }
    let (first, last) = records.iter().fold((i64::MAX, i64::MIN), |(a, b), e| (a.min(e.time), b.max(e.time)));
    let when = if first / 60 == last / 60 {
        format!("{} UTC", format_utc(first, "%H:%M"))
    } else {
        format!("{}–{} UTC", format_utc(first, "%H:%M"), format_utc(last, "%H:%M"))
    };
    let mut agents: Vec<&str> = records.iter().map(|e| &*e.user_agent).collect();
    agents.sort_unstable();
    agents.dedup();
    // The tool an offensive agent names may sit at its end, past what is shown of it.
    let agent = match agents[..] {
        [one] if !one.is_empty() => {
            let shown = truncate(one, 40);
            match offensive_tool(one) {
                Some(t) if !shown.to_ascii_lowercase().contains(t) => format!(", agent {shown} (names {t})"),
                _ => format!(", agent {shown}"),
            }
        }
        _ => String::new(),
    };
    format!("{calls} {when}{agent} ({})", plural(records.len() as u64, "record"))
}

/// What the reasons say in words, for the novelties an analyst acts on.
fn novelties(row: &ScoredRow) -> Vec<String> {
    let mut out = Vec::new();
    for r in &row.reasons {
        let phrase = match (r.feature, r.label) {
            ("ip_novelty", "UNSEEN") => "first time from this address for this principal".to_owned(),
            ("agent_novelty", "UNSEEN") => "first time with this user agent for this principal".to_owned(),
            ("region_novelty", "UNSEEN") => "first time in these regions for this principal".to_owned(),
            ("country_novelty", _) if row.row.country.is_some() => {
                format!("first time from {} for this principal", row.row.country.as_deref().unwrap_or(""))
            }
            ("bucket_novelty", "UNSEEN") => "buckets this principal never read before".to_owned(),
            _ => continue,
        };
        out.push(phrase);
    }
    if row.row.get("new_principal") > 0.0 {
        out.insert(0, "a principal never seen before".into());
    }
    if let Some(t) = &row.row.travel {
        out.push(format!("impossible travel: {t}"));
    }
    out
}

/// The window's evidence, a line per rule or signature that fired (habits left out), the
/// first also saying what was new. Empty when nothing fired and nothing was new.
pub fn evidence(row: &ScoredRow, events: &[Arc<Event>]) -> Vec<String> {
    let habitual = rule_ids(row.row.habitual_rules);
    let mut lines = Vec::new();
    for rule in row.rules.iter().filter(|r| !habitual.contains(r)) {
        let records: Vec<&Arc<Event>> = events.iter().filter(|e| fires_on(rule, e)).collect();
        lines.push(match records.is_empty() {
            true => format!("{rule} (its records are no longer held)"),
            false => format!("{rule}: {}", what(&records)),
        });
    }
    for sig in row.signatures.iter().filter(|g| g.level >= crate::sigma::Level::Medium && !g.habitual) {
        let label = clean(&format!("{}: {}", sig.level.name(), sig.title)).into_owned();
        let records: Vec<&Arc<Event>> = events.iter().filter(|e| e.marks.iter().any(|m| **m == *label)).collect();
        lines.push(match records.is_empty() {
            true => format!("sigma {label} ×{}", sig.count),
            false => format!("sigma {label} — {}", what(&records)),
        });
    }
    let new = novelties(row);
    match (lines.first_mut(), new.is_empty()) {
        (Some(first), false) => first.push_str(&format!("; {}", new.join("; "))),
        (None, false) => lines.push(new.join("; ")),
        _ => {}
    }
    lines
}
