//! The pane beside a drill-down's records: what happened in the window and why it ranked
//! where it did, the entity's windows around it; for a pivot, what the pivot found.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::views::fmt_num;
use crate::app::state::{AppState, Detail};
use crate::config::theme::{Role, Theme};
use crate::parse::time::format_utc;
use crate::text::short_principal;

/// What the window moved through S3, when it moved anything: "S3: 22.0 GB out, 1,000 object
/// reads, 2 buckets (2 new)".
fn volume_line(row: &crate::features::FeatureRow) -> Option<String> {
    let (bytes, reads, buckets) = (row.get("bytes_out"), row.get("object_reads"), row.get("distinct_buckets"));
    if bytes <= 0.0 && reads <= 0.0 {
        return None;
    }
    let new = row.get("new_buckets");
    let new = if new > 0.0 { format!(" ({} new)", new as u64) } else { String::new() };
    Some(format!(
        "S3: {} out, {} object reads, {} bucket{}{new}",
        crate::features::describe_bytes(bytes),
        crate::text::group(reads as u64),
        buckets as u64,
        if buckets == 1.0 { "" } else { "s" }
    ))
}

/// Windows of the entity listed under the explanation.
const HISTORY_ROWS: usize = 6;

pub fn render(f: &mut Frame, area: Rect, s: &AppState, d: &Detail, theme: &Theme) {
    let mut lines = Vec::new();
    match &d.row {
        Some(r) => {
            lines.push(Line::from(Span::styled(
                short_principal(&r.row.principal).to_owned(),
                theme.fg(Role::Title).add_modifier(Modifier::BOLD),
            )));
            lines.push(Line::from(format!(
                "{}{}  window {} – {} UTC",
                r.row.source_ip,
                r.row.place.as_deref().map_or_else(String::new, |p| format!(" ({p})")),
                &format_utc(r.row.window_start, "%Y-%m-%d %H:%M"),
                &format_utc(r.row.window_end, "%H:%M")
            )));
            if !d.evidence.is_empty() {
                lines.push(Line::from(Span::styled("what happened:", theme.fg(Role::Muted))));
            }
            for e in &d.evidence {
                lines.push(Line::from(Span::styled(format!("⚑ {e}"), theme.fg(Role::RuleBadge))));
            }
            if let Some(volume) = volume_line(&r.row) {
                lines.push(Line::from(Span::styled(volume, theme.fg(Role::Base))));
            }
            if let Some(travel) = &r.row.travel {
                lines.push(Line::from(Span::styled(
                    format!("⚑ impossible travel: {travel}"),
                    theme.fg(Role::RuleBadge),
                )));
            }
            lines.push(Line::from(vec![
                Span::styled(
                    format!("rank {}  score {:.3}  rank score {:.3}", r.rank, r.score, r.rank_score),
                    theme.fg(Role::Base),
                ),
                Span::styled(
                    if r.flagged { "  FLAGGED" } else { "" },
                    theme.fg(Role::SeverityHigh).add_modifier(Modifier::BOLD),
                ),
            ]));
            // The rules that fired are in the evidence above; habits are said here, muted.
            let habitual = crate::features::rules::rule_ids(r.row.habitual_rules);
            for rule in r.rules.iter().filter(|r| habitual.contains(r)) {
                lines.push(Line::from(Span::styled(
                    format!("rule {rule} (habitual for this principal)"),
                    theme.fg(Role::Muted),
                )));
            }
            for sig in &r.signatures {
                let techniques =
                    if sig.techniques.is_empty() { String::new() } else { format!(" [{}]", sig.techniques.join(" ")) };
                let loud = sig.level >= crate::sigma::Level::Medium && !sig.habitual;
                let role = if loud { Role::RuleBadge } else { Role::Muted };
                let habit = if sig.habitual { " (habitual for this entity)" } else { "" };
                let text = format!("⚑ sigma {}: {} ×{}{techniques}{habit}", sig.level.name(), sig.title, sig.count);
                lines.push(Line::from(Span::styled(crate::parse::sanitize::clean_owned(&text), theme.fg(role))));
            }
            lines.push(Line::from(Span::styled("why the model ranked it (features):", theme.fg(Role::Muted))));
            if r.reasons.is_empty() {
                lines.push(Line::from("  no single feature stands out"));
            }
            for reason in &r.reasons {
                lines.push(Line::from(format!("  • {} [{:.0}%]", reason.text, reason.contribution * 100.0)));
            }
            lines.push(Line::from(Span::styled("this entity around this window:", theme.fg(Role::Muted))));
            lines.push(Line::from(Span::styled("   window       events calls fail% score", theme.fg(Role::Muted))));
            let history: Vec<&crate::model::ScoredRow> = s
                .lists
                .windows_of
                .get(&r.row.entity)
                .map_or_else(Vec::new, |w| w.iter().filter_map(|&i| s.snap.rows.get(i)).collect());
            // Two later windows (did it go on?) and the earlier ones (what was usual?).
            let at = history.iter().position(|h| h.row.window_start == r.row.window_start).unwrap_or(0);
            let from = at.saturating_sub(2).min(history.len().saturating_sub(HISTORY_ROWS));
            for h in history.iter().skip(from).take(HISTORY_ROWS) {
                let this = h.row.window_start == r.row.window_start;
                let line = Line::from(format!(
                    " {} {} {:>6} {:>5} {:>4}% {:.2}",
                    if this { "▶" } else { " " },
                    format_utc(h.row.window_start, "%m-%d %H:%M"),
                    h.row.events,
                    fmt_num(h.row.get("distinct_events")),
                    (h.row.get("failure_ratio") * 100.0).round(),
                    h.score
                ));
                lines.push(if this { line.style(theme.fg(Role::Title)) } else { line });
            }
        }
        None if d.pivot.is_some() => {
            for l in d.pivot.iter().flat_map(|p| &p.summary) {
                lines.push(Line::from(l.clone()));
            }
        }
        None => {
            if let Some(e) = d.events.get(d.sel) {
                lines.push(Line::from(Span::styled(e.principal.to_string(), theme.fg(Role::Title))));
                lines.push(Line::from(format!("{} {} from {}", e.name, e.region, e.ip)));
                lines.push(Line::from(format!("agent: {}", e.user_agent)));
                if let Some(m) = &e.error_message {
                    lines.push(Line::from(Span::styled(format!("error: {m}"), theme.fg(Role::Error))));
                }
            }
        }
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.fg(Role::Border))
        .title(Span::styled(" explanation ", theme.fg(Role::Title)));
    let para = Paragraph::new(lines).wrap(Wrap { trim: false });
    // Scrolled no further than its last line (ratatui counts wrapped lines).
    let inner = area.width.saturating_sub(2);
    let last = (para.line_count(inner) as u16).saturating_sub(area.height.saturating_sub(2));
    f.render_widget(para.scroll((d.explain_scroll.min(last), 0)).block(block), area);
}
