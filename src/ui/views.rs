//! The four list views. Each builds rows for the visible slice only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use crate::app::state::{AppState, View};
use crate::config::action::Action;
use crate::config::keymap::Keymap;
use crate::config::theme::{Role, Theme};
use crate::model::ScoredRow;
use crate::model::feedback::Verdict;
use crate::parse::time::format_utc;
use crate::text::short_principal;

/// First index of a `height`-row page that keeps `sel` in view.
pub fn page_start(sel: usize, height: usize) -> usize {
    if height == 0 { 0 } else { sel.saturating_sub(height - 1) }
}

pub fn block<'a>(title: String, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::TOP)
        .border_style(theme.fg(Role::Border))
        .title(Span::styled(title, theme.fg(Role::Title)))
}

/// A rank score as a bar: empty at 0.3 (the forest's "surely normal"), full at 1.3 (a clear
/// anomaly that also broke rules).
fn score_bar(rank_score: f64, width: usize) -> String {
    let filled = ((rank_score - 0.3).clamp(0.0, 1.0) * width as f64).round() as usize;
    format!("{}{}", "█".repeat(filled.min(width)), "·".repeat(width - filled.min(width)))
}

pub fn short_window(t: i64) -> String {
    format_utc(t, "%m-%d %H:%M")
}

pub fn severity(r: &ScoredRow) -> Role {
    if !r.rules.is_empty() && r.flagged {
        Role::SeverityHigh
    } else if r.flagged {
        Role::SeverityMedium
    } else {
        Role::Base
    }
}

/// The anomaly list's columns for a width: what the analyst reads (principal, WHY) keeps its
/// room, and the score bar, the address and the window's date give way first.
struct AnomalyColumns {
    bar: bool,
    ip: bool,
    date: bool,
    principal: u16,
}

impl AnomalyColumns {
    fn for_width(width: u16) -> Self {
        match width {
            0..100 => Self { bar: false, ip: false, date: false, principal: 24 },
            100..140 => Self { bar: false, ip: true, date: false, principal: 26 },
            _ => Self { bar: true, ip: true, date: true, principal: (width / 4).min(60) },
        }
    }
}

/// A principal in `width` columns, cut in the middle so its session or user name survives.
pub fn principal_cell(p: &str, width: u16) -> String {
    crate::text::shorten_middle(short_principal(p), width as usize).into_owned()
}

pub fn anomalies(f: &mut Frame, area: Rect, s: &AppState, theme: &Theme) {
    let cols = AnomalyColumns::for_width(area.width);
    let height = area.height.saturating_sub(2) as usize;
    let sel = s.cursors[View::Anomalies].row;
    let start = page_start(sel, height);
    let rows = &s.snap.rows;
    let visible: Vec<Row> = s.lists.anomalies[start..(start + height).min(s.lists.anomalies.len())]
        .iter()
        .enumerate()
        .map(|(i, &idx)| {
            let r = &rows[idx];
            let mut why = if r.rules.is_empty() {
                r.reasons.first().map_or(String::new(), |x| x.text.clone())
            } else {
                format!("[{}] {}", r.rules.join(" "), r.reasons.first().map_or("", |x| x.text.as_str()))
            };
            // The strongest signature above informational leads: it is what an analyst acts on
            // (unless the entity hits it habitually).
            if let Some(sig) = r.signatures.iter().find(|g| g.level > crate::sigma::Level::Informational && !g.habitual)
            {
                let more = r.signatures.len() - 1;
                let badge = if more > 0 { format!(" +{more}") } else { String::new() };
                why.insert_str(
                    0,
                    &format!("⚑ sigma {}: {}{badge}; ", sig.level.name(), crate::parse::sanitize::clean(&sig.title)),
                );
            }
            match r.verdict {
                Some(Verdict::FalsePositive) => why.insert_str(0, "[FP] "),
                Some(Verdict::TruePositive) => why.insert_str(0, "[TP] "),
                // Covered by a false positive given to another window (this principal
                // everywhere, this entity in another hour).
                None if r.suppressed => why.insert_str(0, "[FP] "),
                None => {}
            }
            if s.fresh.is_new(r) {
                why.insert_str(0, "NEW ");
            }
            let style = if start + i == sel { theme.selection() } else { theme.fg(severity(r)) };
            // What the list is ordered and cut by: the forest's score plus the rules' weight
            // (the detail view shows the two apart).
            let mut score = vec![Span::raw(format!("{:.2}", r.rank_score))];
            if cols.bar {
                score.insert(0, Span::styled(format!("{} ", score_bar(r.rank_score, 6)), theme.fg(Role::ScoreBar)));
            }
            let mut cells = vec![
                Cell::from(format!("{}{}", r.rank, delta(r))),
                Cell::from(Line::from(score)),
                // Flag as a glyph as well as a colour, so it reads without colour.
                Cell::from(if r.flagged { "!" } else { " " }),
                Cell::from(principal_cell(&r.row.principal, cols.principal)),
            ];
            if cols.ip {
                cells.push(Cell::from(address(&r.row)));
            }
            let when =
                if cols.date { short_window(r.row.window_start) } else { format_utc(r.row.window_start, "%H:%M") };
            cells.extend([Cell::from(when), Cell::from(why)]);
            Row::new(cells).style(style)
        })
        .collect();
    let title =
        format!(" {} ranked entity-windows, cut-off {:.3} ", of_total(s, s.lists.anomalies.len()), s.snap.cutoff);
    let mut names = vec!["#", if cols.bar { "rank score" } else { "rank" }, "!", "principal"];
    let mut widths = vec![
        Constraint::Length(if cols.bar { 7 } else { 6 }),
        Constraint::Length(if cols.bar { 11 } else { 4 }),
        Constraint::Length(1),
        Constraint::Length(cols.principal),
    ];
    if cols.ip {
        names.push("source ip");
        widths.push(Constraint::Length(18));
    }
    names.extend([if cols.date { "window" } else { "from" }, "why"]);
    widths.extend([Constraint::Length(if cols.date { 11 } else { 5 }), Constraint::Fill(1)]);
    let header = Row::new(names).style(theme.fg(Role::Muted).add_modifier(Modifier::BOLD));
    f.render_widget(Table::new(visible, widths).header(header).block(block(title, theme)), area);
}

/// Rank movement since the previous ranking: ▲3, ▼12, or nothing.
fn delta(r: &ScoredRow) -> String {
    match r.prev_rank {
        Some(p) if p > r.rank => format!("▲{}", p - r.rank),
        Some(p) if p < r.rank => format!("▼{}", r.rank - p),
        _ => String::new(),
    }
}

pub fn short_feature(name: &str) -> String {
    name.replace("distinct_", "n_").replace("console_login_", "login_").replace("_novelty", "_nov")
}

pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e7 { format!("{v:.0}") } else { format!("{v:.3}") }
}

/// The tail's columns at under 120 columns: time, principal, event, source ip, error.
fn keep_narrow<T>(cols: &mut Vec<T>) {
    let mut i = 0;
    cols.retain(|_| {
        i += 1;
        [1, 2, 3, 6, 7].contains(&i)
    });
}

pub fn tail(f: &mut Frame, area: Rect, s: &AppState, theme: &Theme, keymap: &Keymap) {
    let narrow = area.width < 120;
    let inner = area.width.saturating_sub(2);
    // Narrow: what the other four columns and their gaps leave; wide: a fifth of the width.
    let principal_w = if narrow { inner.saturating_sub(8 + 20 + 15 + 12 + 4).max(8) } else { inner * 22 / 100 };
    let height = area.height.saturating_sub(2) as usize;
    let sel = s.cursors[View::Tail].row;
    let start = page_start(sel, height);
    let tail = &s.tail_snap().tail;
    let visible: Vec<Row> = s.lists.tail[start..(start + height).min(s.lists.tail.len())]
        .iter()
        .enumerate()
        .map(|(i, &idx)| {
            let e = &tail[idx];
            let style = if start + i == sel {
                theme.selection()
            } else if e.error_code.is_some() {
                theme.fg(Role::Error)
            } else {
                theme.fg(Role::Base)
            };
            let mut cells = vec![
                Cell::from(format_utc(e.time, "%H:%M:%S")),
                Cell::from(principal_cell(&e.principal, principal_w)),
                Cell::from(e.name.to_string()),
                Cell::from(e.service().to_owned()),
                Cell::from(e.region.to_string()),
                Cell::from(e.ip.to_string()),
                Cell::from(e.error_code.as_deref().unwrap_or("").to_owned()),
                Cell::from(e.user_agent.to_string()),
            ];
            if narrow {
                keep_narrow(&mut cells);
            }
            Row::new(cells).style(style)
        })
        .collect();
    let p = keymap.key_for(Action::Follow);
    let mode = if s.frozen.is_some() { format!("PAUSED ({p} to follow)") } else { format!("following ({p} to pause)") };
    let title = format!(" {}, newest first, {mode} ", crate::text::plural(s.lists.tail.len() as u64, "event"));
    let mut names = vec!["time", "principal", "event", "service", "region", "source ip", "error", "user agent"];
    // Below 120 columns, region, service and agent give way, so that principal and event
    // (cut to 7 characters at 80 columns) can be read.
    let widths: Vec<Constraint> = if narrow {
        keep_narrow(&mut names);
        vec![
            Constraint::Length(8),
            Constraint::Length(principal_w),
            Constraint::Length(20),
            Constraint::Length(15),
            Constraint::Length(12),
        ]
    } else {
        vec![
            Constraint::Length(8),
            Constraint::Length(principal_w),
            Constraint::Percentage(18),
            Constraint::Length(10),
            Constraint::Length(12),
            Constraint::Length(15),
            Constraint::Length(14),
            Constraint::Fill(1),
        ]
    };
    let header = Row::new(names).style(theme.fg(Role::Muted).add_modifier(Modifier::BOLD));
    f.render_widget(Table::new(visible, widths).header(header).block(block(title, theme)), area);
}

/// "537", or "12 of 537" when the filter hides some.
pub fn of_total(s: &AppState, shown: usize) -> String {
    let total = s.snap.rows.len();
    if shown < total {
        format!("{} of {}", crate::text::group(shown as u64), crate::text::group(total as u64))
    } else {
        crate::text::group(shown as u64)
    }
}

/// The window's address, with its country when a GeoIP database knows it (`203.0.113.9 HU`).
pub fn address(r: &crate::features::FeatureRow) -> String {
    match &r.country {
        Some(cc) => format!("{} {cc}", r.source_ip),
        None => r.source_ip.clone(),
    }
}
