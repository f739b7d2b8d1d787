//! Drill-down: an entity-window's records beside the explanation of its score and the
//! entity's recent history; a record's raw JSON, pretty-printed and coloured.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::views::page_start;
use crate::app::state::{AppState, Detail, JsonView};
use crate::config::action::Action;
use crate::config::keymap::Keymap;
use crate::config::theme::{Role, Theme};
use crate::features::rules::fires_on;
use crate::parse::time::format_utc;

/// Below this width the raw JSON takes the whole pane: beside the explanation it would be
/// too narrow to read.
const JSON_BESIDE_MIN_WIDTH: u16 = 160;

pub fn render(f: &mut Frame, area: Rect, s: &AppState, d: &Detail, theme: &Theme, keymap: &Keymap) {
    // On a narrow terminal the records need the room more than the explanation, which scrolls.
    let records = if area.width < 120 { 60 } else { 55 };
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(records), Constraint::Percentage(100 - records)]).areas(area);
    match &d.json {
        Some(j) if area.width < JSON_BESIDE_MIN_WIDTH => return json(f, area, d, j, theme, keymap),
        Some(j) => json(f, left, d, j, theme, keymap),
        None => events(f, left, s, d, theme),
    }
    super::explain::render(f, right, s, d, theme);
}

/// The record list's columns, in the order they give way on a narrow terminal: time and
/// event always, then the error, the address, the service, the agent; what is left holds the
/// rules that fired on the record, then its request parameters.
const COLUMNS: [(&str, usize); 4] = [("error", 16), ("address", 15), ("source", 10), ("agent", 22)];

/// The time's format, its width and the event's, for a list `width` wide: the date goes
/// first when room is short (the explanation beside it dates the window).
fn time_and_event(width: usize) -> (&'static str, usize, usize) {
    if width < 70 { ("%H:%M:%S", 8, 20) } else { ("%m-%d %H:%M:%S", 14, 24) }
}

/// Which optional columns (indices into [`COLUMNS`]) fit in `width` after time and event,
/// leaving `rest` for the rules and parameters; the error column only when a record shown
/// failed.
fn columns_for(width: usize, errors: bool, rest: usize) -> Vec<usize> {
    let (_, time, event) = time_and_event(width);
    let mut used = 1 + time + 1 + event + 1;
    let mut shown = Vec::new();
    for (i, (_, w)) in COLUMNS.iter().enumerate().filter(|(i, _)| *i > 0 || errors) {
        if used + w + 1 + rest > width {
            break;
        }
        used += w + 1;
        shown.push(i);
    }
    shown
}

/// The window's built-in rules that are not habits, to mark the records they fired on. The
/// user-agent rule goes last: it marks every record of a tool's session, and the specific rules
/// say more.
fn marking_rules(d: &Detail) -> Vec<&'static str> {
    d.row.as_ref().map_or_else(Vec::new, |r| {
        let habitual = crate::features::rules::rule_ids(r.row.habitual_rules);
        let mut rules: Vec<&str> = r.rules.iter().copied().filter(|x| !habitual.contains(x)).collect();
        rules.sort_by_key(|r| *r == "offensive-agent");
        rules
    })
}

fn cell(text: &str, width: usize) -> String {
    format!("{:<width$} ", crate::text::truncate(text, width))
}

fn events(f: &mut Frame, area: Rect, s: &AppState, d: &Detail, theme: &Theme) {
    let width = area.width.saturating_sub(2) as usize;
    let height = area.height.saturating_sub(3) as usize;
    let start = page_start(d.sel, height);
    let page = &d.events[start..(start + height).min(d.events.len())];
    let rules = marking_rules(d);
    // The rules that fired are the evidence: when a record shown has one, they keep room.
    let marked = page.iter().any(|e| !e.marks.is_empty() || rules.iter().any(|r| fires_on(r, e)));
    let shown = columns_for(width, page.iter().any(|e| e.error_code.is_some()), if marked { 30 } else { 16 });
    let (time_format, time_width, event_width) = time_and_event(width);
    let time_label = if time_width < 10 { "UTC" } else { "time (UTC)" };
    let mut header = format!(" {}{}", cell(time_label, time_width), cell("event", event_width));
    for &c in &shown {
        header.push_str(&cell(COLUMNS[c].0, COLUMNS[c].1));
    }
    header.push_str("rules · request");
    let mut lines = vec![Line::styled(crate::text::truncate(&header, width).into_owned(), theme.fg(Role::Muted))];
    for (i, e) in page.iter().enumerate() {
        let at = start + i;
        let selected = at == d.sel;
        let style = if selected {
            theme.selection()
        } else if e.error_code.is_some() {
            theme.fg(Role::Error)
        } else {
            theme.fg(Role::Base)
        };
        let hit = d.search.as_ref().is_some_and(|q| q.matches_event(e));
        let mut record = format!("{} {}", format_utc(e.time, time_format), cell(&e.name, event_width));
        let values = [e.error_code.as_deref().unwrap_or(""), &e.ip, e.service(), &e.user_agent];
        for &c in &shown {
            record.push_str(&cell(values[c], COLUMNS[c].1));
        }
        let rest = width.saturating_sub(record.chars().count() + 1);
        let params = d.params.get(at).and_then(|p| p.as_deref()).unwrap_or("");
        let mut spans =
            vec![Span::styled(if hit { "›" } else { " " }, theme.fg(Role::Accent)), Span::styled(record, style)];
        // The records the window's rules fired on, marked with the rules' names (Sigma's
        // scrubbed when the rules were loaded), before the parameters.
        let mut named: Vec<&str> = e.marks.iter().map(|m| &**m).collect();
        named.extend(rules.iter().copied().filter(|r| fires_on(r, e)));
        if !named.is_empty() {
            let mark_style = if selected { style } else { theme.fg(Role::RuleBadge) };
            let marks = format!("⚑ {} ", named.join(", "));
            spans.push(Span::styled(crate::text::truncate(&marks, rest).into_owned(), mark_style));
        }
        let left = rest.saturating_sub(spans.iter().skip(2).map(|s| s.content.chars().count()).sum());
        spans.push(Span::styled(
            crate::text::truncate(params, left).into_owned(),
            if selected { style } else { theme.fg(Role::Muted) },
        ));
        lines.push(Line::from(spans));
    }
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
    if let Some(p) = &d.pivot {
        let title = crate::parse::sanitize::clean(&p.pivot.title()).into_owned();
        let n = if d.events.len() < d.held {
            format!("{} of {} held {} match", d.events.len(), d.held, records(d.held))
        } else {
            crate::text::plural(d.held as u64, "record")
        };
        return format!(" {title}: {n} (enter: raw JSON) ");
    }
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
