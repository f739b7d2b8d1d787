//! Drill-down: an entity-window's records beside the explanation of its score and the
//! entity's recent history; a record's raw JSON, pretty-printed and coloured.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::views::{fmt_num, page_start};
use crate::app::state::{AppState, Detail, JsonView};
use crate::config::action::Action;
use crate::config::keymap::Keymap;
use crate::config::theme::{Role, Theme};
use crate::parse::time::format_utc;
use crate::text::short_principal;

/// Below this width the raw JSON takes the whole pane: beside the explanation it would be
/// too narrow to read.
const JSON_BESIDE_MIN_WIDTH: u16 = 160;

pub fn render(f: &mut Frame, area: Rect, s: &AppState, d: &Detail, theme: &Theme, keymap: &Keymap) {
    let [left, right] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    match &d.json {
        Some(j) if area.width < JSON_BESIDE_MIN_WIDTH => return json(f, area, d, j, theme, keymap),
        Some(j) => json(f, left, d, j, theme, keymap),
        None => events(f, left, s, d, theme),
    }
    explanation(f, right, s, d, theme);
}

fn events(f: &mut Frame, area: Rect, s: &AppState, d: &Detail, theme: &Theme) {
    let height = area.height.saturating_sub(2) as usize;
    let start = page_start(d.sel, height);
    let lines: Vec<Line> = d.events[start..(start + height).min(d.events.len())]
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let selected = start + i == d.sel;
            let style = if selected {
                theme.selection()
            } else if e.error_code.is_some() {
                theme.fg(Role::Error)
            } else {
                theme.fg(Role::Base)
            };
            let record = format!(
                "{}  {:<28} {:<10} {}",
                &format_utc(e.time, "%H:%M:%S"),
                e.name,
                e.service(),
                e.error_code.as_deref().unwrap_or("")
            );
            if e.marks.is_empty() {
                return Line::styled(record, style);
            }
            // The records the window's rules fired on, marked with the rules' names (scrubbed
            // when the rules were loaded).
            let mark_style = if selected { style } else { theme.fg(Role::RuleBadge) };
            Line::from(vec![
                Span::styled(record, style),
                Span::styled(format!(" ⚑ {}", e.marks.join(", ")), mark_style),
            ])
        })
        .collect();
    let title = records_title(s, d);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.fg(Role::Border))
        .title(Span::styled(title, theme.fg(Role::Title)));
    f.render_widget(Paragraph::new(lines).block(block), area);
}

/// The record list's title: how many of the window's records are held, and, when some are not,
/// why (the memory budget dropped them, or they were read before a restart, which keeps the
/// windows' features but not raw records).
fn records_title(s: &AppState, d: &Detail) -> String {
    let records = |n: usize| if n == 1 { "record" } else { "records" };
    if d.events.len() < d.held {
        return format!(
            " {} of {} held {} match /{} (enter: raw JSON) ",
            d.events.len(),
            d.held,
            records(d.held),
            crate::text::truncate(&crate::parse::sanitize::clean(&s.filter.text), 30)
        );
    }
    let (held, total) = (d.events.len(), d.row.as_ref().map_or(0, |r| r.row.events as usize));
    if held >= total {
        return format!(" {held} {} (enter: raw JSON) ", records(held));
    }
    let start = d.row.as_ref().map_or(i64::MIN, |r| r.row.window_start);
    let why = match (s.snap.evicted_until, &s.snap.restored) {
        (Some(t), _) if t >= start => "the rest aged out of memory (--memory)",
        (_, Some(_)) => "the rest were read before the restart (raw records are not kept)",
        _ => "the rest are no longer held",
    };
    match held {
        0 => format!(" 0 of {total} {}: {why} ", records(total)),
        _ => format!(" {held} of {total} {}, {why} (enter: raw JSON) ", records(total)),
    }
}

/// Pretty JSON with keys, strings and numbers coloured, long values wrapped. Scrolling moves
/// by JSON lines; a value longer than the pane can show is cut with an ellipsis (`y` copies
/// the whole record).
fn json(f: &mut Frame, area: Rect, d: &Detail, j: &JsonView, theme: &Theme, keymap: &Keymap) {
    let Some(e) = d.events.get(d.sel) else { return };
    let (width, height) = (area.width.saturating_sub(2) as usize, area.height.saturating_sub(2) as usize);
    let fits = width * height;
    let lines: Vec<Line> = j
        .lines
        .iter()
        .skip(j.scroll as usize)
        .take(height)
        .map(|l| match l.char_indices().nth(fits) {
            Some((cut, _)) => colour_json_line(&format!("{}…", l.get(..cut).unwrap_or(l)), theme),
            None => colour_json_line(l, theme),
        })
        .collect();
    let total = j.lines.len();
    let title = format!(
        " {} — line {}/{} ({}/{} scroll, {} copy, {} back) ",
        e.name,
        (j.scroll as usize + 1).min(total),
        total,
        keymap.key_for(Action::Down),
        keymap.key_for(Action::Up),
        keymap.key_for(Action::Copy),
        keymap.key_for(Action::Back)
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.fg(Role::Border))
        .title(Span::styled(title, theme.fg(Role::Title)));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), area);
}

fn colour_json_line<'a>(line: &str, theme: &Theme) -> Line<'a> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let mut spans = vec![Span::raw(" ".repeat(indent))];
    let (key, rest) = match trimmed.strip_prefix('"').and_then(|t| t.split_once("\": ")) {
        Some((k, r)) => (Some(k), r),
        None => (None, trimmed),
    };
    if let Some(k) = key {
        spans.push(Span::styled(format!("\"{k}\": "), theme.fg(Role::JsonKey)));
    }
    let role = if rest.starts_with('"') {
        Role::JsonString
    } else if rest.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        Role::JsonNumber
    } else {
        Role::Base
    };
    spans.push(Span::styled(rest.to_owned(), theme.fg(role)));
    Line::from(spans)
}

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

fn explanation(f: &mut Frame, area: Rect, s: &AppState, d: &Detail, theme: &Theme) {
    let mut lines = Vec::new();
    match &d.row {
        Some(r) => {
            lines.push(Line::from(Span::styled(
                short_principal(&r.row.principal).to_owned(),
                theme.fg(Role::Title).add_modifier(Modifier::BOLD),
            )));
            lines.push(Line::from(format!(
                "{}{}  window {} – {}",
                r.row.source_ip,
                r.row.place.as_deref().map_or_else(String::new, |p| format!(" ({p})")),
                &format_utc(r.row.window_start, "%Y-%m-%dT%H:%M"),
                &format_utc(r.row.window_end, "%H:%M")
            )));
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
            let habitual = crate::features::rules::rule_ids(r.row.habitual_rules);
            for rule in &r.rules {
                lines.push(if habitual.contains(rule) {
                    Line::from(Span::styled(
                        format!("⚑ rule: {rule} (habitual for this principal)"),
                        theme.fg(Role::Muted),
                    ))
                } else {
                    Line::from(Span::styled(format!("⚑ rule: {rule}"), theme.fg(Role::RuleBadge)))
                });
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
            lines.push(Line::from(Span::styled("why:", theme.fg(Role::Muted))));
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
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), area);
}
