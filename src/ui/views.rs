//! The four list views. Each builds rows for the visible slice only.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use crate::app::state::{AppState, HISTOGRAM_BINS, View};
use crate::config::action::Action;
use crate::config::keymap::Keymap;
use crate::config::theme::{Role, Theme};
use crate::features::FEATURE_NAMES;
use crate::model::ScoredRow;
use crate::model::feedback::Verdict;
use crate::parse::time::format_utc;
use crate::text::{short_principal, truncate};

/// First index of a `height`-row page that keeps `sel` in view.
pub fn page_start(sel: usize, height: usize) -> usize {
    if height == 0 { 0 } else { sel.saturating_sub(height - 1) }
}

fn block<'a>(title: String, theme: &Theme) -> Block<'a> {
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

fn short_window(t: i64) -> String {
    format_utc(t, "%m-%d %H:%M")
}

fn severity(r: &ScoredRow) -> Role {
    if !r.rules.is_empty() && r.flagged {
        Role::SeverityHigh
    } else if r.flagged {
        Role::SeverityMedium
    } else {
        Role::Base
    }
}

pub fn anomalies(f: &mut Frame, area: Rect, s: &AppState, theme: &Theme) {
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
            Row::new(vec![
                Cell::from(format!("{}{}", r.rank, delta(r))),
                // What the list is ordered and cut by: the forest's score plus the rules' weight
                // (the detail view shows the two apart).
                Cell::from(Line::from(vec![
                    Span::styled(score_bar(r.rank_score, 6), theme.fg(Role::ScoreBar)),
                    Span::raw(format!(" {:.2}", r.rank_score)),
                ])),
                // Flag as a glyph as well as a colour, so it reads without colour.
                Cell::from(if r.flagged { "!" } else { " " }),
                Cell::from(short_principal(&r.row.principal).to_owned()),
                Cell::from(address(&r.row)),
                Cell::from(short_window(r.row.window_start)),
                Cell::from(why),
            ])
            .style(style)
        })
        .collect();
    let title =
        format!(" {} ranked entity-windows, cut-off {:.3} ", of_total(s, s.lists.anomalies.len()), s.snap.cutoff);
    let header = Row::new(["#", "rank score", "!", "principal", "source ip", "window", "why"])
        .style(theme.fg(Role::Muted).add_modifier(Modifier::BOLD));
    let widths = [
        Constraint::Length(7),
        Constraint::Length(11),
        Constraint::Length(1),
        Constraint::Percentage(25),
        Constraint::Length(15),
        Constraint::Length(11),
        Constraint::Fill(1),
    ];
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

fn short_feature(name: &str) -> String {
    name.replace("distinct_", "n_").replace("console_login_", "login_").replace("_novelty", "_nov")
}

pub fn entities(f: &mut Frame, area: Rect, s: &AppState, theme: &Theme, keymap: &Keymap) {
    let height = area.height.saturating_sub(2) as usize;
    let sel = s.cursors[View::Entities].row;
    let start = page_start(sel, height);
    let fixed = 22 + 15 + 11 + 12 + 4;
    let col_w = 9u16;
    let shown: Vec<usize> = (0..FEATURE_NAMES.len()).filter(|c| !s.hidden.contains(c)).collect();
    let n_cols = ((area.width.saturating_sub(fixed) / (col_w + 1)) as usize).clamp(1, shown.len().max(1));
    // Keep the sort column in view.
    let at = shown.iter().position(|&c| c == s.sort_col).unwrap_or(0);
    let first = at.saturating_sub(n_cols.saturating_sub(1)).min(shown.len().saturating_sub(n_cols));
    let cols: Vec<usize> = shown.iter().skip(first).take(n_cols).copied().collect();
    let mut header: Vec<String> = vec!["principal".into(), "source ip".into(), "window".into(), "activity".into()];
    header.extend(cols.iter().map(|&c| {
        let mark = if c == s.sort_col { if s.sort_desc { "▼" } else { "▲" } } else { "" };
        format!("{}{mark}", truncate(&short_feature(FEATURE_NAMES[c]), 8))
    }));
    let rows = &s.snap.rows;
    let visible: Vec<Row> = s.lists.entities[start..(start + height).min(s.lists.entities.len())]
        .iter()
        .enumerate()
        .map(|(i, &idx)| {
            let r = &rows[idx];
            let mut cells = vec![
                Cell::from(short_principal(&r.row.principal).to_owned()),
                Cell::from(address(&r.row)),
                Cell::from(short_window(r.row.window_start)),
                Cell::from(s.lists.sparks.get(&r.row.entity).cloned().unwrap_or_default()),
            ];
            cells.extend(cols.iter().map(|&c| Cell::from(fmt_num(r.row.features[c]))));
            let style = if start + i == sel { theme.selection() } else { theme.fg(severity(r)) };
            Row::new(cells).style(style)
        })
        .collect();
    let mut widths =
        vec![Constraint::Length(22), Constraint::Length(15), Constraint::Length(11), Constraint::Length(12)];
    widths.extend(cols.iter().map(|_| Constraint::Length(col_w)));
    let key = |a| keymap.key_for(a);
    let hidden = if s.hidden.is_empty() {
        String::new()
    } else {
        format!(", {} hidden ({} shows)", s.hidden.len(), key(Action::ShowColumns))
    };
    let title = format!(
        " {} entity-windows, sorted by {} ({} {} column, {} reverse, {} hide{hidden}) ",
        of_total(s, s.lists.entities.len()),
        FEATURE_NAMES[s.sort_col],
        key(Action::SortPrev),
        key(Action::SortNext),
        key(Action::SortReverse),
        key(Action::HideColumn)
    );
    f.render_widget(
        Table::new(visible, widths)
            .header(Row::new(header).style(theme.fg(Role::Muted).add_modifier(Modifier::BOLD)))
            .block(block(title, theme)),
        area,
    );
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
                Cell::from(short_principal(&e.principal).to_owned()),
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
            Constraint::Fill(1),
            Constraint::Length(20),
            Constraint::Length(15),
            Constraint::Length(12),
        ]
    } else {
        vec![
            Constraint::Length(8),
            Constraint::Percentage(22),
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

/// Rank-score histogram with the cut-off marked, and the selected window's features against the
/// population.
pub fn model(f: &mut Frame, area: Rect, s: &AppState, theme: &Theme) {
    let (hist, bins) = (&s.lists.histogram, HISTOGRAM_BINS);
    let max = hist.iter().max().copied().unwrap_or(1).max(1);
    let bar_w = (area.width as usize / 2).saturating_sub(18).max(5);
    let cut_bin = ((s.snap.cutoff.min(1.0) * bins as f64) as usize).min(bins - 1);
    let mut lines = vec![Line::from(Span::styled(
        " rank score histogram (score + rules; +/- moves the threshold)",
        theme.fg(Role::Title),
    ))];
    for (i, &n) in hist.iter().enumerate().rev() {
        if n == 0 && i < 6 {
            continue;
        }
        // Counts on a log scale: the interesting tail is a handful against thousands.
        let len = ((n as f64).ln_1p() / (max as f64).ln_1p() * bar_w as f64).round() as usize;
        let marker = if i == cut_bin { "◀ cut-off" } else { "" };
        // The top bin holds everything above it: rules lift a rank score past 1.
        let label = if i + 1 == bins {
            format!("≥{:.2}", i as f64 / bins as f64)
        } else {
            format!(" {:.2}", i as f64 / bins as f64)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{label} "), theme.fg(Role::Muted)),
            Span::styled("█".repeat(len), theme.fg(if i >= cut_bin { Role::SeverityHigh } else { Role::Chart })),
            Span::styled(format!(" {n} {marker}"), theme.fg(Role::Muted)),
        ]));
    }
    let left = Rect { width: area.width / 2, ..area };
    let right = Rect { x: area.x + area.width / 2, width: area.width - area.width / 2, ..area };
    // The forest's life under the histogram, wrapped, in at most a third of the height.
    let life = model_life(s, theme);
    let life_h = if life.is_empty() { 0 } else { (left.height / 3).clamp(1, 6) };
    let hist = Rect { height: left.height - life_h, ..left };
    let below = Rect { y: left.y + hist.height, height: life_h, ..left };
    f.render_widget(Paragraph::new(lines), hist);
    f.render_widget(Paragraph::new(life).wrap(ratatui::widgets::Wrap { trim: true }), below);
    let Some(sel) = s.selected_row() else { return };
    let mut lines = vec![Line::from(Span::styled(
        format!(
            " {} @ {}: value vs population",
            short_principal(&sel.row.principal),
            short_window(sel.row.window_start)
        ),
        theme.fg(Role::Title),
    ))];
    for (i, name) in FEATURE_NAMES.iter().enumerate() {
        let v = sel.row.features[i];
        let pct = s.snap.population.get(i).map_or(0.5, |col| crate::model::explain::percentile_in(col, v));
        let pos = (pct * 10.0).round() as usize;
        let gauge: String = (0..=10).map(|k| if k == pos { '●' } else { '─' }).collect();
        lines.push(Line::from(vec![
            Span::styled(format!(" {name:<22} "), theme.fg(Role::Base)),
            Span::styled(gauge, theme.fg(if pct >= 0.99 { Role::SeverityHigh } else { Role::Muted })),
            Span::styled(format!(" {} (p{:.0})", fmt_num(v), pct * 100.0), theme.fg(Role::Base)),
        ]));
    }
    f.render_widget(Paragraph::new(lines), right);
}

/// When and why the forest in use was fitted, and how far the last day drifted from it.
fn model_life(s: &AppState, theme: &Theme) -> Vec<Line<'static>> {
    let Some(m) = &s.snap.model else { return Vec::new() };
    let mut lines = vec![Line::from(Span::styled(
        format!(
            " forest fitted {} on {} windows ({}); {} fitted since start",
            crate::parse::time::format_utc(m.fitted_at, "%m-%d %H:%M"),
            crate::text::group(m.windows as u64),
            m.reason,
            m.fits
        ),
        theme.fg(Role::Base),
    ))];
    let worst: Vec<String> = m.drift.features.iter().take(3).map(|(n, p)| format!("{n} {p:.2}")).collect();
    let (text, role) = if m.drift.windows == 0 {
        (" drift: no windows in the last day".to_owned(), Role::Muted)
    } else {
        let role = if m.drift.significant() { Role::Warn } else { Role::Muted };
        (
            format!(
                " drift (PSI), last day's {} windows: {}; scores {:.2} (a feature past {:.2} refits)",
                crate::text::group(m.drift.windows as u64),
                worst.join(", "),
                m.drift.scores,
                crate::model::drift::PSI_RETRAIN
            ),
            role,
        )
    };
    lines.push(Line::from(Span::styled(text, theme.fg(role))));
    let every = m.every.map_or("when labels change, history grows by a quarter, or it drifts".to_owned(), |e| {
        format!(
            "every {}, and when labels change, history grows by a quarter, or it drifts",
            crate::text::human_secs(e)
        )
    });
    lines.push(Line::from(Span::styled(format!(" refits: {every}"), theme.fg(Role::Muted))));
    if let crate::model::Threshold::Budget(_) = s.threshold {
        lines.push(Line::from(Span::styled(
            format!(" alert budget {} → cut-off {:.3}", s.threshold.describe(), s.snap.cutoff),
            theme.fg(Role::Base),
        )));
    }
    lines
}

/// "537", or "12 of 537" when the filter hides some.
fn of_total(s: &AppState, shown: usize) -> String {
    let total = s.snap.rows.len();
    if shown < total {
        format!("{} of {}", crate::text::group(shown as u64), crate::text::group(total as u64))
    } else {
        crate::text::group(shown as u64)
    }
}

/// The window's address, with its country when a GeoIP database knows it (`203.0.113.9 HU`).
fn address(r: &crate::features::FeatureRow) -> String {
    match &r.country {
        Some(cc) => format!("{} {cc}", r.source_ip),
        None => r.source_ip.clone(),
    }
}
